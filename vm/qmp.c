/* qmp.c - a bounded QMP client; see qmp.h. */
#include "../common/o2v.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/clock.h"
#include "../common/vmproto.h"
#include "qmp.h"
#include "supervise.h"

/* The next line QEMU sends, NUL-terminated in q->buf (its length returned); a line longer
 * than the buffer is an error, not a reason to grow. */
static int read_line(struct o2v_qmp *q, struct o2v_error *err)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		if (nl)
			return (int)(nl - q->buf);
		if (q->len >= sizeof(q->buf) - 1)
			return o2v_error_set(err, -EMSGSIZE,
					     "QEMU's monitor sent an over-long line");
		int64_t left = q->deadline_ms - o2v_now_ms();
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return o2v_error_set(err, -ETIMEDOUT,
					     "QEMU's monitor did not answer in time");
		ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return o2v_error_sys(err, n < 0 ? -errno : -ECONNRESET,
					     "read QEMU's monitor");
		q->len += (size_t)n;
	}
}

/* Drop the line read_line() returned (n bytes and its '\n'). */
static void consume(struct o2v_qmp *q, int n)
{
	q->len -= (size_t)n + 1;
	memmove(q->buf, q->buf + n + 1, q->len);
}

/* The next message that is not an event (want == NULL), or the event want. */
static int read_message(struct o2v_qmp *q, const char *want, json_object **ret,
			struct o2v_error *err)
{
	for (;;) {
		int n = read_line(q, err);
		if (n < 0)
			return n;
		q->buf[n] = '\0';
		json_object *o = json_tokener_parse(q->buf);
		consume(q, n);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			return o2v_error_set(err, -EPROTO,
					     "QEMU's monitor sent something not JSON");
		}
		json_object *event = NULL;
		bool is_event = json_object_object_get_ex(o, "event", &event);
		const char *name = is_event ? json_object_get_string(event) : NULL;
		if (is_event != !!want || (want && (!name || strcmp(name, want)))) {
			json_object_put(o);
			continue;
		}
		*ret = o;
		return 0;
	}
}

static int read_reply(struct o2v_qmp *q, json_object **ret, struct o2v_error *err)
{
	return read_message(q, NULL, ret, err);
}

int o2v_qmp_wait_event(struct o2v_qmp *q, const char *name, struct o2v_error *err)
{
	json_object *o = NULL;
	int r = read_message(q, name, &o, err);

	json_object_put(o);
	return r;
}

static int send_command(struct o2v_qmp *q, const char *command, int pass_fd, struct o2v_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	size_t len = strlen(command), off = 0;

	while (off < len) {
		struct iovec iov = {.iov_base = (char *)command + off, .iov_len = len - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (pass_fd >= 0 && off == 0) {
			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof(u.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		ssize_t n = sendmsg(q->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return o2v_error_sys(err, -errno, "write QEMU's monitor");
		off += (size_t)n;
	}
	return 0;
}

int o2v_qmp_call(struct o2v_qmp *q, const char *command, int pass_fd, json_object **ret,
		 struct o2v_error *err)
{
	json_object *reply = NULL, *v;
	int r;

	if (ret)
		*ret = NULL;
	if ((r = send_command(q, command, pass_fd, err)) < 0 ||
	    (r = read_reply(q, &reply, err)) < 0)
		return r;
	if (json_object_object_get_ex(reply, "error", &v)) {
		json_object *desc = NULL;
		char msg[256];
		json_object_object_get_ex(v, "desc", &desc);
		snprintf(msg, sizeof(msg), "%s", desc ? json_object_get_string(desc) : "no reason");
		o2v_proto_sanitize(msg);
		json_object_put(reply);
		return o2v_error_set(err, -EIO, "QEMU refused: %s", msg);
	}
	if (!json_object_object_get_ex(reply, "return", &v)) {
		json_object_put(reply);
		return o2v_error_set(err, -EPROTO, "QEMU's monitor answered without a result");
	}
	if (ret)
		*ret = json_object_get(v);
	json_object_put(reply);
	return 0;
}

int o2v_qmp_open(struct o2v_qmp *q, const char *path, int timeout_ms, struct o2v_error *err)
{
	json_object *greeting = NULL;
	int r;

	q->len = 0;
	q->deadline_ms = o2v_now_ms() + timeout_ms;
	while ((q->fd = o2v_unix_connect(path)) < 0) {
		if (o2v_now_ms() > q->deadline_ms || (q->fd != -ENOENT && q->fd != -ECONNREFUSED))
			return o2v_error_sys(err, q->fd, "connect to QEMU's monitor");
		usleep(2000);
	}
	if ((r = read_reply(q, &greeting, err)) < 0 ||
	    (r = json_object_object_get_ex(greeting, "QMP", NULL)
		     ? 0
		     : o2v_error_set(err, -EPROTO, "QEMU's monitor did not greet")) < 0 ||
	    (r = o2v_qmp_call(q, "{\"execute\":\"qmp_capabilities\"}", -1, NULL, err)) < 0) {
		json_object_put(greeting);
		o2v_qmp_close(q);
		return r;
	}
	json_object_put(greeting);
	return 0;
}

void o2v_qmp_close(struct o2v_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}
