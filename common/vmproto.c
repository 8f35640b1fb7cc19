/* vmproto.c - formatting and parsing every host <-> guest message; see vmproto.h. */
#include "vmproto.h"

#include <inttypes.h>
#include <string.h>

#define STATUS_STARTED "started"
#define STATUS_HELD    "held"
#define CTL_START      "start"
#define STATUS_EXIT    "exit "
#define STATUS_ERROR   "error "
#define CTL_STOP       "stop"
#define CTL_SIGNAL     "signal "
#define CTL_WINSIZE    "winsize "
#define CTL_EOF	       "eof "
#define CTL_ENTROPY    "entropy "
#define CTL_TIME       "time "
#define CTL_CONFIG     "config "
#define CTL_DISK       "disk "
#define STATUS_READY   "ready"
#define SIGNAL_MAX     64
#define WINSIZE_MAX    65535

void o2v_proto_volume_tag(size_t index, char buf[O2V_VOLUME_TAG_MAX])
{
	snprintf(buf, O2V_VOLUME_TAG_MAX, "o2v_v%zu", index);
}

void o2v_proto_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* Decimal digits only, no sign, at most max; advances *s past them. */
static bool parse_num(const char **s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*s = p;
	*ret = v;
	return true;
}

/* "PREFIX" followed by exactly one number in [lo, max] and nothing else. */
static bool parse_prefixed(const char *line, const char *prefix, uint64_t lo, uint64_t max,
			   uint64_t *ret)
{
	size_t n = strlen(prefix);
	const char *p = line + n;

	return !strncmp(line, prefix, n) && parse_num(&p, max, ret) && !*p && *ret >= lo;
}

int o2v_ctl_parse(const char *line, struct o2v_ctl_msg *ret)
{
	const char *p;

	memset(ret, 0, sizeof(*ret));
	if (!strcmp(line, CTL_STOP)) {
		ret->kind = O2V_CTL_STOP;
		return 0;
	}
	if (!strcmp(line, CTL_START)) {
		ret->kind = O2V_CTL_START;
		return 0;
	}
	if (parse_prefixed(line, CTL_SIGNAL, 1, SIGNAL_MAX, &ret->a)) {
		ret->kind = O2V_CTL_SIGNAL;
		return 0;
	}
	if (parse_prefixed(line, CTL_EOF, 0, INT64_MAX, &ret->a)) {
		ret->kind = O2V_CTL_EOF;
		return 0;
	}
	if (parse_prefixed(line, CTL_CONFIG, 0, O2V_CTL_CONFIG_MAX, &ret->a)) {
		ret->kind = O2V_CTL_CONFIG;
		return 0;
	}
	if (parse_prefixed(line, CTL_DISK, 0, O2V_CTL_DISK_MAX, &ret->a)) {
		ret->kind = O2V_CTL_DISK;
		return 0;
	}
	if (!strncmp(line, CTL_TIME, strlen(CTL_TIME))) {
		p = line + strlen(CTL_TIME);
		if (parse_num(&p, O2V_CTL_TIME_MAX, &ret->a) && *p++ == ' ' &&
		    parse_num(&p, 999999999, &ret->b) && !*p) {
			ret->kind = O2V_CTL_TIME;
			return 0;
		}
	}
	if (!strncmp(line, CTL_ENTROPY, strlen(CTL_ENTROPY))) {
		p = line + strlen(CTL_ENTROPY);
		size_t n = strlen(p);
		bool ok = n >= 2 && n % 2 == 0 && n <= 2 * O2V_CTL_ENTROPY_MAX;
		for (size_t i = 0; ok && i < n; i++) {
			int c = p[i];
			int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (v < 0)
				ok = false;
			else
				ret->data[i / 2] = (uint8_t)(ret->data[i / 2] << 4 | v);
		}
		if (ok) {
			ret->kind = O2V_CTL_ENTROPY;
			ret->a = n / 2;
			return 0;
		}
	}
	if (!strncmp(line, CTL_WINSIZE, strlen(CTL_WINSIZE))) {
		p = line + strlen(CTL_WINSIZE);
		if (parse_num(&p, WINSIZE_MAX, &ret->a) && *p++ == ' ' &&
		    parse_num(&p, WINSIZE_MAX, &ret->b) && !*p) {
			ret->kind = O2V_CTL_WINSIZE;
			return 0;
		}
	}
	memset(ret, 0, sizeof(*ret));
	return -EINVAL;
}

static int fit(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? -EINVAL : n;
}

int o2v_ctl_format(const struct o2v_ctl_msg *m, char *buf, size_t size)
{
	switch (m->kind) {
	case O2V_CTL_STOP:
		return fit(snprintf(buf, size, CTL_STOP "\n"), size);
	case O2V_CTL_START:
		return fit(snprintf(buf, size, CTL_START "\n"), size);
	case O2V_CTL_SIGNAL:
		if (m->a < 1 || m->a > SIGNAL_MAX)
			return -EINVAL;
		return fit(snprintf(buf, size, CTL_SIGNAL "%" PRIu64 "\n", m->a), size);
	case O2V_CTL_WINSIZE:
		if (m->a > WINSIZE_MAX || m->b > WINSIZE_MAX)
			return -EINVAL;
		return fit(snprintf(buf, size, CTL_WINSIZE "%" PRIu64 " %" PRIu64 "\n", m->a, m->b),
			   size);
	case O2V_CTL_EOF:
		if (m->a > INT64_MAX)
			return -EINVAL;
		return fit(snprintf(buf, size, CTL_EOF "%" PRIu64 "\n", m->a), size);
	case O2V_CTL_CONFIG:
		if (m->a > O2V_CTL_CONFIG_MAX)
			return -EINVAL;
		return fit(snprintf(buf, size, CTL_CONFIG "%" PRIu64 "\n", m->a), size);
	case O2V_CTL_DISK:
		if (m->a > O2V_CTL_DISK_MAX)
			return -EINVAL;
		return fit(snprintf(buf, size, CTL_DISK "%" PRIu64 "\n", m->a), size);
	case O2V_CTL_TIME:
		if (m->a > O2V_CTL_TIME_MAX || m->b > 999999999)
			return -EINVAL;
		return fit(snprintf(buf, size, CTL_TIME "%" PRIu64 " %" PRIu64 "\n", m->a, m->b),
			   size);
	case O2V_CTL_ENTROPY: {
		static const char hex[] = "0123456789abcdef";
		size_t n = strlen(CTL_ENTROPY);
		if (m->a < 1 || m->a > O2V_CTL_ENTROPY_MAX || size < n + 2 * m->a + 2)
			return -EINVAL;
		memcpy(buf, CTL_ENTROPY, n);
		for (size_t i = 0; i < m->a; i++) {
			buf[n++] = hex[m->data[i] >> 4];
			buf[n++] = hex[m->data[i] & 15];
		}
		buf[n++] = '\n';
		buf[n] = '\0';
		return (int)n;
	}
	}
	return -EINVAL;
}

int o2v_status_parse(const char *line, struct o2v_status_msg *ret)
{
	uint64_t code;

	memset(ret, 0, sizeof(*ret));
	if (!strcmp(line, STATUS_STARTED)) {
		ret->kind = O2V_STATUS_STARTED;
		return 0;
	}
	if (!strcmp(line, STATUS_HELD)) {
		ret->kind = O2V_STATUS_HELD;
		return 0;
	}
	if (!strcmp(line, STATUS_READY)) {
		ret->kind = O2V_STATUS_READY;
		return 0;
	}
	if (parse_prefixed(line, STATUS_EXIT, 0, 255, &code)) {
		ret->kind = O2V_STATUS_EXIT;
		ret->code = (int)code;
		return 0;
	}
	if (!strncmp(line, STATUS_ERROR, strlen(STATUS_ERROR)) && line[strlen(STATUS_ERROR)]) {
		ret->kind = O2V_STATUS_ERROR;
		snprintf(ret->text, sizeof(ret->text), "%s", line + strlen(STATUS_ERROR));
		o2v_proto_sanitize(ret->text);
		return 0;
	}
	return -EINVAL;
}

int o2v_status_format(const struct o2v_status_msg *m, char *buf, size_t size)
{
	char text[sizeof(m->text)];

	switch (m->kind) {
	case O2V_STATUS_STARTED:
		return fit(snprintf(buf, size, STATUS_STARTED "\n"), size);
	case O2V_STATUS_HELD:
		return fit(snprintf(buf, size, STATUS_HELD "\n"), size);
	case O2V_STATUS_READY:
		return fit(snprintf(buf, size, STATUS_READY "\n"), size);
	case O2V_STATUS_EXIT:
		if (m->code < 0 || m->code > 255)
			return -EINVAL;
		return fit(snprintf(buf, size, STATUS_EXIT "%d\n", m->code), size);
	case O2V_STATUS_ERROR:
		snprintf(text, sizeof(text), "%s", m->text[0] ? m->text : "unknown failure");
		o2v_proto_sanitize(text);
		return fit(snprintf(buf, size, STATUS_ERROR "%s\n", text), size);
	}
	return -EINVAL;
}

void o2v_status_note(struct o2v_status_summary *s, const char *line)
{
	struct o2v_status_msg m;

	if (!line || o2v_status_parse(line, &m) < 0)
		return; /* noise from a hostile or broken guest: ignored, never printed */
	switch (m.kind) {
	case O2V_STATUS_STARTED:
		s->started = true;
		break;
	case O2V_STATUS_HELD:
		s->held = true;
		break;
	case O2V_STATUS_READY:
		s->ready = true;
		break;
	case O2V_STATUS_EXIT:
		s->exited = true;
		s->code = m.code;
		break;
	case O2V_STATUS_ERROR:
		snprintf(s->error, sizeof(s->error), "%s", m.text);
		break;
	}
}

static void summarize_line(const char *line, void *ud)
{
	o2v_status_note(ud, line);
}

void o2v_status_summarize(const char *text, size_t len, struct o2v_status_summary *ret)
{
	struct o2v_line_reader r = {.max = O2V_STATUS_LINE_MAX};

	memset(ret, 0, sizeof(*ret));
	o2v_line_feed(&r, text, len, summarize_line, ret);
}

void o2v_line_feed(struct o2v_line_reader *r, const char *data, size_t n,
		   void (*fn)(const char *line, void *ud), void *ud)
{
	size_t max = r->max && r->max <= sizeof(r->buf) ? r->max : sizeof(r->buf);

	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\n') {
			r->buf[r->len] = '\0';
			fn(r->skip ? NULL : r->buf, ud);
			r->len = 0;
			r->skip = false;
		} else if (r->skip) {
			continue;
		} else if (r->len + 1 < max) {
			/* A NUL would end the string early: "stop\0junk" is not "stop". */
			r->buf[r->len++] = c ? c : '?';
		} else {
			r->skip = true;
		}
	}
}
