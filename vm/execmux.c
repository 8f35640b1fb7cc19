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

/* Bytes waiting for a descriptor that takes them when it can. */
struct queue {
	char *p;
	size_t len, off;
};

/* Frames arriving in pieces. */
struct reader {
	uint8_t hdr[O2V_MUX_HDR];
	size_t hdr_len;
	struct o2v_mux_hdr h;
	uint8_t *payload;
	size_t payload_len;
};

struct client {
	int fd;
	uint32_t stream;
	bool opened; /* its OPEN went to the guest */
	bool exited; /* the guest sent EXIT: our side ends once the queue is out */
	bool ended;  /* ... and did (shut down): what the client still sends is dropped */
	struct reader rd;
	struct queue out;
};

struct o2v_execmux {
	int port, listener;
	char *listen_path;
	struct reader rd;
	struct queue out;
	struct client c[CLIENTS_MAX];
	uint32_t next_stream;
};

static int queue_frame(struct queue *q, size_t max, uint8_t type, uint8_t chan, uint32_t stream,
		       const void *payload, size_t len)
{
	struct o2v_mux_hdr h = {.type = type, .chan = chan, .stream = stream, .len = (uint32_t)len};

	size_t need = O2V_MUX_HDR + len;

	if (q->off == q->len)
		q->off = q->len = 0;
	if (q->len - q->off + need > max)
		return -ENOBUFS;
	if (!q->p && !(q->p = malloc(max)))
		return -ENOMEM;
	if (q->len + need > max) {
		memmove(q->p, q->p + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	o2v_mux_hdr_put((uint8_t *)q->p + q->len, &h);
	if (len)
		memcpy(q->p + q->len + O2V_MUX_HDR, payload, len);
	q->len += O2V_MUX_HDR + len;
	return 0;
}

/* false: the descriptor failed (EPIPE, ...). */
static bool queue_flush(struct queue *q, int fd)
{
	while (q->off < q->len) {
		ssize_t n = send(fd, q->p + q->off, q->len - q->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		q->off += (size_t)n;
	}
	return true;
}

/* Read one frame when complete: 1 with rd->h and rd->payload set, 0 if more is needed,
 * -EBADMSG for a bad header, -EPIPE at EOF or an error. */
static int reader_step(struct reader *rd, int fd)
{
	ssize_t n;

	if (!rd->payload && !(rd->payload = malloc(O2V_MUX_PAYLOAD_MAX + 1)))
		return -ENOMEM;
	if (rd->hdr_len < O2V_MUX_HDR) {
		n = recv(fd, rd->hdr + rd->hdr_len, O2V_MUX_HDR - rd->hdr_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -EPIPE;
		if (n < 0)
			return 0;
		rd->hdr_len += (size_t)n;
		if (rd->hdr_len < O2V_MUX_HDR)
			return 0;
		rd->payload_len = 0;
		if (o2v_mux_hdr_get(rd->hdr, &rd->h) < 0) {
			rd->hdr_len = 0;
			return -EBADMSG;
		}
	}
	if (rd->payload_len < rd->h.len) {
		n = recv(fd, rd->payload + rd->payload_len, rd->h.len - rd->payload_len,
			 MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -EPIPE;
		if (n < 0)
			return 0;
		rd->payload_len += (size_t)n;
		if (rd->payload_len < rd->h.len)
			return 0;
	}
	rd->hdr_len = 0;
	return 1;
}

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
		queue_frame(&m->out, QUEUE_MAX + PORT_QUEUE_HI, O2V_MUX_CLOSE, 0, c->stream, NULL,
			    0);
	close(c->fd);
	free(c->rd.payload);
	free(c->out.p);
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
			struct queue q = {0};
			o2v_mux_u32_put(b, 125);
			memcpy(b + 4, busy, sizeof(busy) - 1);
			if (queue_frame(&q, 256, O2V_MUX_EXIT, 0, 0, b, 4 + sizeof(busy) - 1) == 0)
				queue_flush(&q, fd);
			free(q.p);
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
	if (ok && queue_frame(&m->out, QUEUE_MAX + PORT_QUEUE_HI, h->type, h->chan, c->stream,
			      c->rd.payload, h->len) < 0)
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
	if (queue_frame(&c->out, QUEUE_MAX, h->type, h->chan, h->stream, m->rd.payload, h->len) <
	    0) {
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
	bool port_busy = m->out.len - m->out.off > PORT_QUEUE_HI;
	p[n++] = (struct pollfd){.fd = m->port,
				 .events = POLLIN | (m->out.len > m->out.off ? POLLOUT : 0)};
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
		queue_flush(&m->out, m->port);
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		/* Bounded per round, so a chatty guest cannot starve the rest of the loop. */
		for (int i = 0; i < 64 && (r = reader_step(&m->rd, m->port)) != 0; i++) {
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
		if ((ev & POLLOUT) && !queue_flush(&c->out, c->fd)) {
			client_drop(m, c);
			continue;
		}
		if (c->exited && !c->ended && c->out.off == c->out.len) {
			/* All said: the client reads EOF after EXIT. Closing now would reset the
			 * connection under credits it is still sending: wait for its close. */
			shutdown(c->fd, SHUT_WR);
			c->ended = true;
		}
		if (ev & (POLLIN | POLLHUP | POLLERR)) {
			for (int k = 0; k < 16 && (r = reader_step(&c->rd, c->fd)) != 0; k++) {
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
	free(m->rd.payload);
	free(m->out.p);
	free(m->listen_path);
	free(m);
}
