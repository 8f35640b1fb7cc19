/* execmux.c - the supervisor's exec streams; see execmux.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../common/muxproto.h"
#include "execmux.h"

#define CLIENTS_MAX   O2V_MUX_STREAMS_MAX
#define QUEUE_MAX     (4 * O2V_MUX_WINDOW + 4 * (O2V_MUX_PAYLOAD_MAX + O2V_MUX_HDR))
#define PORT_QUEUE_HI (1024 * 1024) /* stop reading clients above this */

struct client {
	int fd;
	uint32_t stream;
	bool opened; /* its OPEN went to the guest */
	bool exited; /* the guest sent EXIT: our side ends once the queue is out */
	bool ended;  /* ... and did (shut down): what the client still sends is dropped */
	struct o2v_mux_reader rd;
	struct o2v_mux_queue out;
};

struct o2v_execmux {
	int port, listener;
	char *listen_path;
	struct o2v_mux_reader rd;
	struct o2v_mux_queue out;
	struct client c[CLIENTS_MAX];
	uint32_t next_stream;
};

static int listen_on(const char *path, struct o2v_error *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return o2v_error_set(err, -ENAMETOOLONG, "exec socket path too long: '%s'", path);
	strcpy(a.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return o2v_error_sys(err, -errno, "exec socket");
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = o2v_error_sys(err, -errno, "listen on '%s'", path);
		close(fd);
		return r;
	}
	return fd;
}

int o2v_execmux_new(int port, const char *listen_path, struct o2v_execmux **ret,
		    struct o2v_error *err)
{
	struct o2v_execmux *m = calloc(1, sizeof(*m));

	if (!m || !(m->listen_path = strdup(listen_path))) {
		free(m);
		close(port);
		return o2v_error_sys(err, -ENOMEM, "exec streams");
	}
	m->port = port;
	m->next_stream = 1;
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		m->c[i].fd = -1;
	fcntl(port, F_SETFL, fcntl(port, F_GETFL) | O_NONBLOCK);
	if ((m->listener = listen_on(listen_path, err)) < 0) {
		int r = m->listener;
		m->listener = -1;
		o2v_execmux_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

static void client_drop(struct o2v_execmux *m, struct client *c)
{
	/* The guest kills what the client ran (a stream it never opened is nothing there). */
	if (c->opened && !c->exited)
		o2v_mux_queue_frame(&m->out, QUEUE_MAX + PORT_QUEUE_HI, O2V_MUX_CLOSE, 0, c->stream,
				    NULL, 0);
	close(c->fd);
	o2v_mux_reader_release(&c->rd);
	o2v_mux_queue_release(&c->out);
	*c = (struct client){.fd = -1};
}

static struct client *by_stream(struct o2v_execmux *m, uint32_t stream)
{
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (m->c[i].fd >= 0 && m->c[i].stream == stream)
			return &m->c[i];
	return NULL;
}

static void accept_clients(struct o2v_execmux *m)
{
	for (;;) {
		int fd = accept4(m->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct client *free_slot = NULL;
		if (fd < 0)
			return;
		for (size_t i = 0; i < CLIENTS_MAX && !free_slot; i++)
			if (m->c[i].fd < 0)
				free_slot = &m->c[i];
		if (!free_slot) {
			static const char busy[] = "too many execs at once";
			uint8_t b[4 + sizeof(busy)];
			struct o2v_mux_queue q = {0};
			o2v_mux_u32_put(b, 125);
			memcpy(b + 4, busy, sizeof(busy) - 1);
			if (o2v_mux_queue_frame(&q, 256, O2V_MUX_EXIT, 0, 0, b,
						4 + sizeof(busy) - 1) == 0)
				o2v_mux_queue_flush(&q, fd);
			o2v_mux_queue_release(&q);
			close(fd);
			continue;
		}
		*free_slot = (struct client){.fd = fd, .stream = m->next_stream++};
		if (m->next_stream == 0)
			m->next_stream = 1;
	}
}

/* A client's frame: only what a client may say, on its own stream, OPEN first. */
static void from_client(struct o2v_execmux *m, struct client *c)
{
	const struct o2v_mux_hdr *h = &c->rd.h;
	bool ok;

	switch (h->type) {
	case O2V_MUX_OPEN:
		ok = !c->opened;
		c->opened = true;
		break;
	case O2V_MUX_DATA:
	case O2V_MUX_EOF:
		ok = c->opened && h->chan == O2V_MUX_STDIN;
		break;
	case O2V_MUX_CREDIT:
		ok = c->opened && h->chan != O2V_MUX_STDIN;
		break;
	case O2V_MUX_SIGNAL:
	case O2V_MUX_WINSIZE:
		ok = c->opened;
		break;
	default:
		ok = false;
	}
	/* The port's queue is bounded: a client outrunning it loses its stream, not bytes. */
	if (ok && o2v_mux_queue_frame(&m->out, QUEUE_MAX + PORT_QUEUE_HI, h->type, h->chan,
				      c->stream, c->rd.payload, h->len) < 0)
		client_drop(m, c);
}

/* A guest's frame: only what a guest may say, for a stream that exists. */
static void from_guest(struct o2v_execmux *m)
{
	const struct o2v_mux_hdr *h = &m->rd.h;
	struct client *c = by_stream(m, h->stream);
	bool ok;

	if (!c)
		return; /* gone (CLOSEd): its late frames are dropped */
	switch (h->type) {
	case O2V_MUX_STARTED:
	case O2V_MUX_EXIT:
		ok = true;
		break;
	case O2V_MUX_DATA:
		ok = h->chan != O2V_MUX_STDIN;
		break;
	case O2V_MUX_EOF:
		ok = h->chan != O2V_MUX_STDIN;
		break;
	case O2V_MUX_CREDIT:
		ok = h->chan == O2V_MUX_STDIN;
		break;
	default:
		ok = false;
	}
	if (!ok)
		return;
	/* Past the client's window the guest ignored its credit: that stream ends. */
	if (o2v_mux_queue_frame(&c->out, QUEUE_MAX, h->type, h->chan, h->stream, m->rd.payload,
				h->len) < 0) {
		client_drop(m, c);
		return;
	}
	if (h->type == O2V_MUX_EXIT)
		c->exited = true;
}

size_t o2v_execmux_poll(struct o2v_execmux *m, struct pollfd *p, size_t max)
{
	size_t n = 0;

	if (!m || max < 2)
		return 0;
	bool port_busy = o2v_mux_queued(&m->out) > PORT_QUEUE_HI;
	p[n++] = (struct pollfd){.fd = m->port,
				 .events = POLLIN | (o2v_mux_queued(&m->out) ? POLLOUT : 0)};
	p[n++] = (struct pollfd){.fd = m->listener, .events = POLLIN};
	for (size_t i = 0; i < CLIENTS_MAX && n < max; i++) {
		struct client *c = &m->c[i];
		p[n++] = (struct pollfd){.fd = c->fd,
					 .events = (port_busy && !c->ended ? 0 : POLLIN) |
						   (c->out.len > c->out.off ? POLLOUT : 0)};
	}
	return n;
}

void o2v_execmux_events(struct o2v_execmux *m, const struct pollfd *p, size_t n)
{
	int r;

	if (!m || n < 2)
		return;
	if (p[0].revents & POLLOUT)
		o2v_mux_queue_flush(&m->out, m->port);
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		/* Bounded per round, so a chatty guest cannot starve the rest of the loop. */
		for (int i = 0; i < 64 && (r = o2v_mux_read(&m->rd, m->port)) != 0; i++) {
			if (r == 1)
				from_guest(m);
			else if (r == -EPIPE)
				break;
			/* -EBADMSG: skip it; the frames after may line up again */
		}
	}
	if (p[1].revents & POLLIN)
		accept_clients(m);
	for (size_t i = 0; i < CLIENTS_MAX && i + 2 < n; i++) {
		struct client *c = &m->c[i];
		short ev = p[i + 2].revents;
		if (c->fd < 0 || p[i + 2].fd != c->fd)
			continue;
		if ((ev & POLLOUT) && !o2v_mux_queue_flush(&c->out, c->fd)) {
			client_drop(m, c);
			continue;
		}
		if (c->exited && !c->ended && !o2v_mux_queued(&c->out)) {
			/* All said: the client reads EOF after EXIT. Closing now would reset the
			 * connection under credits it is still sending: wait for its close. */
			shutdown(c->fd, SHUT_WR);
			c->ended = true;
		}
		if (ev & (POLLIN | POLLHUP | POLLERR)) {
			for (int k = 0; k < 16 && (r = o2v_mux_read(&c->rd, c->fd)) != 0; k++) {
				if (r == 1 && !c->ended)
					from_client(m, c);
				if (c->fd < 0)
					break;
				if (r < 0) {
					client_drop(m, c);
					break;
				}
			}
		}
	}
}

void o2v_execmux_free(struct o2v_execmux *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		if (m->c[i].fd >= 0) {
			m->c[i].opened = false; /* the VM is gone: nothing to CLOSE */
			client_drop(m, &m->c[i]);
		}
	if (m->listener >= 0) {
		close(m->listener);
		unlink(m->listen_path);
	}
	if (m->port >= 0)
		close(m->port);
	o2v_mux_reader_release(&m->rd);
	o2v_mux_queue_release(&m->out);
	free(m->listen_path);
	free(m);
}
