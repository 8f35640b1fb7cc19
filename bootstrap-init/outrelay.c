/* outrelay.c - the workload's stdout and stderr without a terminal.
 *
 * The host gives each a virtio-serial port (common/vmproto.h says why ports), but
 * the workload cannot hold the port itself: the driver allows one open per
 * port, and programs reopen their output by name (/dev/stdout, /dev/stderr,
 * /proc/self/fd/2: nginx's error log is a link to /dev/stderr). So the
 * workload writes into a pipe, as under Docker, and init moves the bytes on
 * to the port. Writes to the port never block init: what the host has not
 * taken yet waits in the buffer, and the pipe holds the writers back.
 */
#include "init.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/fsutil.h"

int init_outrelay_open(struct init_outrelay *o, const char *name, const char *guess,
		       int *ret_child_fd)
{
	int p[2];

	*o = (struct init_outrelay){.pipe_fd = -1, .port_fd = -1};
	int port = init_port_open(name, guess, O_WRONLY);
	if (port < 0)
		return port;
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = -errno;
		close(port);
		return e;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	o->pipe_fd = p[0];
	o->port_fd = port;
	*ret_child_fd = p[1];
	return 0;
}

int init_outrelay_open_from(struct init_outrelay *o, const char *name, const char *guess,
			    int source)
{
	*o = (struct init_outrelay){.pipe_fd = -1, .port_fd = -1};
	int port = init_port_open(name, guess, O_WRONLY);
	if (port < 0) {
		close(source);
		return port;
	}
	fcntl(source, F_SETFL, fcntl(source, F_GETFL) | O_NONBLOCK);
	o->pipe_fd = source;
	o->port_fd = port;
	return 0;
}

void init_outrelay_poll(const struct init_outrelay *o, struct pollfd *pipe, struct pollfd *port)
{
	*pipe = (struct pollfd){.fd = o->pipe_fd >= 0 && !o->len ? o->pipe_fd : -1,
				.events = POLLIN};
	*port = (struct pollfd){.fd = o->port_fd >= 0 && o->len ? o->port_fd : -1,
				.events = POLLOUT};
}

static void flush(struct init_outrelay *o)
{
	ssize_t n = o2v_write_some(o->port_fd, o->buf + o->off, o->len - o->off);

	/* An error: the port is gone, and there is nothing to deliver to. */
	o->off = n < 0 ? o->len : o->off + (size_t)n;
	if (o->off >= o->len)
		o->off = o->len = 0;
}

void init_outrelay_events(struct init_outrelay *o, short pipe_revents, short port_revents)
{
	if (port_revents & (POLLERR | POLLHUP))
		o->off = o->len = 0; /* no host on the port: nobody to deliver to */
	else if (port_revents & POLLOUT)
		flush(o);
	if (!(pipe_revents & (POLLIN | POLLHUP | POLLERR)) || o->len)
		return;
	ssize_t n = read(o->pipe_fd, o->buf, sizeof(o->buf));
	if (n == 0 || (n < 0 && errno == EIO)) {
		close(o->pipe_fd); /* every writer is gone (a pty: EIO) */
		o->pipe_fd = -1;
	} else if (n > 0) {
		o->len = (size_t)n;
		o->off = 0;
		flush(o);
	}
}

void init_outrelay_finish(struct init_outrelay *o)
{
	if (o->port_fd < 0)
		return;
	/* The writers are dead: blocking on the port now only waits for the host. The pipe
	 * stays non-blocking, in case something survived the SIGKILL with it open. */
	fcntl(o->port_fd, F_SETFL, fcntl(o->port_fd, F_GETFL) & ~O_NONBLOCK);
	for (;;) {
		flush(o);
		if (o->len || o->pipe_fd < 0)
			break;
		ssize_t n = O2V_RETRY(read(o->pipe_fd, o->buf, sizeof(o->buf)));
		if (n <= 0)
			break;
		o->len = (size_t)n;
		o->off = 0;
	}
	if (o->pipe_fd >= 0) {
		close(o->pipe_fd);
		o->pipe_fd = -1;
	}
	/* The write returned once queued: our kernel's fsync() on a port waits until the host
	 * took it (kernel/patches/0004), so nothing is lost at power-off. */
	fsync(o->port_fd);
}
