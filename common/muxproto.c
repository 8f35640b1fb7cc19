/* muxproto.c - exec stream frames; see muxproto.h. */
#include "o2v.h"

#include <string.h>

#include "muxproto.h"

void o2v_mux_hdr_put(uint8_t out[O2V_MUX_HDR], const struct o2v_mux_hdr *h)
{
	out[0] = h->type;
	out[1] = h->chan;
	out[2] = out[3] = 0;
	o2v_mux_u32_put(out + 4, h->stream);
	o2v_mux_u32_put(out + 8, h->len);
}

int o2v_mux_hdr_get(const uint8_t in[O2V_MUX_HDR], struct o2v_mux_hdr *h)
{
	h->type = in[0];
	h->chan = in[1];
	h->stream = o2v_mux_u32_get(in + 4);
	h->len = o2v_mux_u32_get(in + 8);
	if (h->type < O2V_MUX_OPEN || h->type > O2V_MUX_TYPE_MAX || h->chan >= O2V_MUX_CHANS ||
	    in[2] || in[3] || h->len > O2V_MUX_PAYLOAD_MAX)
		return -EBADMSG;
	switch (h->type) {
	case O2V_MUX_STARTED:
	case O2V_MUX_CREDIT:
	case O2V_MUX_SIGNAL:
	case O2V_MUX_WINSIZE:
		return h->len == 4 ? 0 : -EBADMSG;
	case O2V_MUX_EOF:
	case O2V_MUX_CLOSE:
		return h->len == 0 ? 0 : -EBADMSG;
	case O2V_MUX_EXIT:
		return h->len >= 4 ? 0 : -EBADMSG;
	default:
		return 0;
	}
}

int o2v_mux_read(struct o2v_mux_reader *r, int fd)
{
	ssize_t n;

	if (!r->payload && !(r->payload = malloc(O2V_MUX_PAYLOAD_MAX + 1)))
		return -ENOMEM;
	for (;;) {
		if (r->hdr_len < O2V_MUX_HDR) {
			n = read(fd, r->hdr + r->hdr_len, O2V_MUX_HDR - r->hdr_len);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return -EPIPE;
			if (n < 0)
				return 0;
			if ((r->hdr_len += (size_t)n) < O2V_MUX_HDR)
				continue;
			r->payload_len = 0;
			if (o2v_mux_hdr_get(r->hdr, &r->h) < 0) {
				r->hdr_len = 0;
				return -EBADMSG;
			}
		}
		if (r->payload_len < r->h.len) {
			n = read(fd, r->payload + r->payload_len, r->h.len - r->payload_len);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return -EPIPE;
			if (n < 0)
				return 0;
			if ((r->payload_len += (size_t)n) < r->h.len)
				continue;
		}
		r->payload[r->h.len] = '\0';
		r->hdr_len = 0;
		return 1;
	}
}

void o2v_mux_reader_release(struct o2v_mux_reader *r)
{
	free(r->payload);
	*r = (struct o2v_mux_reader){0};
}

int o2v_mux_queue_frame(struct o2v_mux_queue *q, size_t max, uint8_t type, uint8_t chan,
			uint32_t stream, const void *payload, size_t len)
{
	struct o2v_mux_hdr h = {.type = type, .chan = chan, .stream = stream, .len = (uint32_t)len};
	size_t need = O2V_MUX_HDR + len;

	if (q->off == q->len)
		q->off = q->len = 0;
	if (q->len - q->off + need > max)
		return -ENOBUFS;
	if (q->cap < max) {
		char *np = realloc(q->p, max);
		if (!np)
			return -ENOMEM;
		q->p = np;
		q->cap = max;
	}
	if (q->len + need > q->cap) {
		memmove(q->p, q->p + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	o2v_mux_hdr_put((uint8_t *)q->p + q->len, &h);
	if (len)
		memcpy(q->p + q->len + O2V_MUX_HDR, payload, len);
	q->len += need;
	return 0;
}

bool o2v_mux_queue_flush(struct o2v_mux_queue *q, int fd)
{
	while (q->off < q->len) {
		ssize_t n = write(fd, q->p + q->off, q->len - q->off);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		q->off += (size_t)n;
	}
	return true;
}

void o2v_mux_queue_release(struct o2v_mux_queue *q)
{
	free(q->p);
	*q = (struct o2v_mux_queue){0};
}

static void put(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s=%s", key, value);
	fputc('\0', f);
}

int o2v_mux_exec_format(const struct o2v_mux_exec *e, char **ret, size_t *ret_len,
			struct o2v_error *err)
{
	char *buf = NULL, num[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return o2v_error_sys(err, -ENOMEM, "exec request");
	put(f, "tty", e->tty ? "1" : "0");
	put(f, "stdin", e->stdin_open ? "1" : "0");
	put(f, "detach", e->detach ? "1" : "0");
	snprintf(num, sizeof(num), "%u", e->rows);
	put(f, "rows", num);
	snprintf(num, sizeof(num), "%u", e->cols);
	put(f, "cols", num);
	if (e->user)
		put(f, "user", e->user);
	if (e->workdir)
		put(f, "workdir", e->workdir);
	for (size_t i = 0; e->env[i]; i++)
		put(f, "env", e->env[i]);
	for (size_t i = 0; e->argv[i]; i++)
		put(f, "arg", e->argv[i]);
	if (fclose(f) != 0) {
		free(buf);
		return o2v_error_sys(err, -ENOMEM, "exec request");
	}
	if (len > O2V_MUX_PAYLOAD_MAX) {
		free(buf);
		return o2v_error_set(err, -E2BIG,
				     "the command and environment take more than %d "
				     "bytes",
				     O2V_MUX_PAYLOAD_MAX);
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int parse_uint(const char *v, unsigned max, unsigned *ret)
{
	unsigned long n = 0;

	if (!*v || strlen(v) > 5)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (unsigned long)(*v - '0');
	}
	if (n > max)
		return -1;
	*ret = (unsigned)n;
	return 0;
}

static int parse_field(struct o2v_mux_exec *e, const char *key, const char *v, size_t *na,
		       size_t *ne)
{
	if (!strcmp(key, "arg")) {
		if (*na >= O2V_MUX_ARGS_MAX)
			return -1;
		e->argv[(*na)++] = v;
	} else if (!strcmp(key, "env")) {
		if (*ne >= O2V_MUX_ENV_MAX || !strchr(v, '=') || v[0] == '=')
			return -1;
		e->env[(*ne)++] = v;
	} else if (!strcmp(key, "user")) {
		e->user = v;
	} else if (!strcmp(key, "workdir")) {
		if (v[0] != '/')
			return -1;
		e->workdir = v;
	} else if (!strcmp(key, "tty") || !strcmp(key, "stdin") || !strcmp(key, "detach")) {
		bool *b = key[0] == 't' ? &e->tty : key[0] == 's' ? &e->stdin_open : &e->detach;
		if (strcmp(v, "0") && strcmp(v, "1"))
			return -1;
		*b = v[0] == '1';
	} else if (!strcmp(key, "rows") || !strcmp(key, "cols")) {
		return parse_uint(v, 65535, key[0] == 'r' ? &e->rows : &e->cols);
	}
	/* Unknown keys are skipped: a newer host may say more than this guest honours. */
	return 0;
}

int o2v_mux_exec_parse(char *payload, size_t len, struct o2v_mux_exec *e, struct o2v_error *err)
{
	size_t na = 0, ne = 0;

	memset(e, 0, sizeof(*e));
	if (len == 0 || payload[len - 1] != '\0')
		return o2v_error_set(err, -EBADMSG, "exec request: not NUL-terminated");
	for (size_t off = 0; off < len;) {
		char *field = payload + off;
		size_t n = strlen(field);
		char *eq = strchr(field, '=');
		off += n + 1;
		if (!eq)
			return o2v_error_set(err, -EBADMSG, "exec request: a field without '='");
		*eq = '\0';
		if (parse_field(e, field, eq + 1, &na, &ne) < 0)
			return o2v_error_set(err, -EBADMSG, "exec request: bad '%.20s'", field);
	}
	if (na == 0 || !e->argv[0][0])
		return o2v_error_set(err, -EBADMSG, "exec request: no command");
	return 0;
}
