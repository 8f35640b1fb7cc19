/* stdin.c - the workload's stdin with -i and no terminal.
 *
 * The host's stdin travels over the console (hvc0), a serial line: its end
 * cannot, so a workload reading the console itself would wait forever
 * (`echo x | oci2vm run -i IMAGE cat`). Instead the workload reads a pipe
 * that init fills from the console, and the host, when its stdin ends,
 * sends `eof N` on the control port, N being all the bytes it sent. The
 * control port and the console are separate queues, so `eof` may overtake
 * data still on its way: the pipe is closed only once N bytes went into
 * it. A workload that closes its end (`head -n 1`) makes init drop the rest.
 */
#include "init.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../common/fsutil.h"

int init_stdin_open(struct init_stdin *in, int *ret_child_fd, struct o2v_error *err)
{
	int p[2];

	*in = (struct init_stdin){.con_fd = -1, .pipe_fd = -1, .eof_at = UINT64_MAX};
	if (pipe2(p, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "create the workload's stdin pipe");
	in->con_fd = open(O2V_GUEST_CONSOLE, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (in->con_fd < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return o2v_error_sys(err, e, "open '%s' for stdin", O2V_GUEST_CONSOLE);
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	in->pipe_fd = p[1];
	*ret_child_fd = p[0];
	return 0;
}

int init_stdin_open_to(struct init_stdin *in, int sink, struct o2v_error *err)
{
	*in = (struct init_stdin){.con_fd = -1, .pipe_fd = -1, .eof_at = UINT64_MAX};
	in->con_fd = open(O2V_GUEST_CONSOLE, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (in->con_fd < 0) {
		int e = -errno;
		close(sink);
		return o2v_error_sys(err, e, "open '%s' for the terminal", O2V_GUEST_CONSOLE);
	}
	fcntl(sink, F_SETFL, fcntl(sink, F_GETFL) | O_NONBLOCK);
	in->pipe_fd = sink;
	return 0;
}

static void close_pipe(struct init_stdin *in)
{
	if (in->pipe_fd >= 0) {
		close(in->pipe_fd);
		in->pipe_fd = -1;
	}
}

void init_stdin_poll(const struct init_stdin *in, struct pollfd *con, struct pollfd *pipe)
{
	/* Read the console only with room to forward: the rest waits in the virtio queue,
	 * which holds the host back. Once the pipe is gone, read and drop. */
	bool want_input = in->con_fd >= 0 && (in->pipe_fd < 0 || in->len == 0);
	*con = (struct pollfd){.fd = want_input ? in->con_fd : -1, .events = POLLIN};
	*pipe = (struct pollfd){.fd = in->pipe_fd >= 0 && in->len ? in->pipe_fd : -1,
				.events = POLLOUT};
}

static void flush(struct init_stdin *in)
{
	if (in->pipe_fd < 0)
		return;
	/* PID 1 gets no SIGPIPE it does not handle: a closed reader is EPIPE. */
	ssize_t n = o2v_write_some(in->pipe_fd, in->buf + in->off, in->len - in->off);
	if (n < 0) {
		close_pipe(in); /* the workload closed its stdin */
		return;
	}
	in->off += (size_t)n;
	in->forwarded += (uint64_t)n;
	if (in->off < in->len)
		return; /* the pipe is full: POLLOUT brings us back */
	in->off = in->len = 0;
	if (in->forwarded >= in->eof_at)
		close_pipe(in);
}

void init_stdin_events(struct init_stdin *in, short con_revents, short pipe_revents)
{
	if (pipe_revents & (POLLOUT | POLLERR | POLLHUP))
		flush(in);
	if (!(con_revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	ssize_t n = read(in->con_fd, in->buf, sizeof(in->buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* The raw console never ends by itself: this is a hang-up (a session leader in
		 * the workload made hvc0 its terminal and exited). Polling on would spin. */
		close(in->con_fd);
		in->con_fd = -1;
		return;
	}
	if (n < 0)
		return; /* nothing yet */
	if (in->pipe_fd < 0)
		return; /* nobody reads: dropped */
	in->len = (size_t)n;
	in->off = 0;
	flush(in);
}

void init_stdin_eof(struct init_stdin *in, uint64_t total)
{
	in->eof_at = total;
	/* A hung-up console will not bring the rest: end the workload's stdin now. */
	if ((in->len == 0 && in->forwarded >= total) || in->con_fd < 0)
		close_pipe(in);
}
