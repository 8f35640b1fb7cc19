/* fuzz_vmproto.c - the host <-> guest protocol (common/vmproto.c): the guest init's
 * control parser, the host's status parser and summary, and line reassembly.
 *
 * Input: byte 0 = line reader maximum, byte 1 = chunking seed, the rest is a byte stream
 * as it arrives on a port. Checks:
 *  - o2v_line_feed gives the same lines whether the stream comes whole or in chunks, one
 *    per '\n': all the bytes before it (a NUL never shortens a line), or NULL once for a
 *    line longer than the maximum;
 *  - every line through o2v_ctl_parse and o2v_status_parse: a parsed message formats to
 *    a line that parses back to the same message, within the protocol's lengths;
 *  - no parsed or summarized error text holds a byte < 0x20 or 0x7f (it is printed). */
#include "fuzz.h"

#include "../../common/vmproto.h"

struct lines {
	char **v;
	size_t n, cap;
	size_t max;
};

static void collect(const char *line, void *ud)
{
	struct lines *l = ud;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		FUZZ_CHECK(l->v, "oom");
	}
	if (line) {
		FUZZ_CHECK(strlen(line) < l->max && !strchr(line, '\n'), "line of %zu (max %zu)",
			   strlen(line), l->max);
		l->v[l->n] = strdup(line);
		FUZZ_CHECK(l->v[l->n], "oom");
	} else {
		l->v[l->n] = NULL;
	}
	l->n++;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void text_ok(const char *s)
{
	for (; *s; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && (unsigned char)*s != 0x7f,
			   "error text holds byte 0x%02x", (unsigned char)*s);
}

static void check_ctl(const char *line)
{
	struct o2v_ctl_msg m, m2;
	char buf[O2V_CTL_LINE_MAX + 1];

	if (o2v_ctl_parse(line, &m) < 0)
		return;
	int n = o2v_ctl_format(&m, buf, sizeof(buf));
	FUZZ_CHECK(n > 0 && (size_t)n < O2V_CTL_LINE_MAX && buf[n - 1] == '\n',
		   "'%s' formats to %d bytes", line, n);
	buf[n - 1] = '\0';
	FUZZ_CHECK(o2v_ctl_parse(buf, &m2) == 0, "'%s' -> '%s' does not parse", line, buf);
	FUZZ_CHECK(m.kind == m2.kind && m.a == m2.a && m.b == m2.b, "'%s' -> '%s' differs", line,
		   buf);
}

static void check_status(const char *line)
{
	struct o2v_status_msg m, m2;
	char buf[O2V_STATUS_LINE_MAX + 1];

	if (o2v_status_parse(line, &m) < 0)
		return;
	if (m.kind == O2V_STATUS_ERROR) {
		FUZZ_CHECK(m.text[0], "empty error text");
		text_ok(m.text);
	}
	int n = o2v_status_format(&m, buf, sizeof(buf));
	FUZZ_CHECK(n > 0 && n <= O2V_STATUS_LINE_MAX && buf[n - 1] == '\n',
		   "'%s' formats to %d bytes", line, n);
	buf[n - 1] = '\0';
	FUZZ_CHECK(o2v_status_parse(buf, &m2) == 0, "'%s' -> '%s' does not parse", line, buf);
	FUZZ_CHECK(m.kind == m2.kind && m.code == m2.code && !strcmp(m.text, m2.text),
		   "'%s' -> '%s' differs", line, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 256 << 10)
		return 0;
	size_t max = data[0] ? (size_t)data[0] * 2 + 1 : 0; /* 0 = the buffer's size */
	unsigned seed = data[1];
	const char *stream = (const char *)data + 2;
	size_t len = size - 2;
	size_t eff = max && max <= O2V_STATUS_LINE_MAX ? max : O2V_STATUS_LINE_MAX;

	/* whole */
	struct lines whole = {.max = eff}, parts = {.max = eff};
	struct o2v_line_reader r1 = {.max = max}, r2 = {.max = max};
	o2v_line_feed(&r1, stream, len, collect, &whole);
	/* in chunks of 0..seed bytes */
	for (size_t off = 0, k = 0; off < len; k++) {
		size_t c = (seed ? (k * 7 + seed) % (seed + 1u) : 1);
		if (c > len - off)
			c = len - off;
		o2v_line_feed(&r2, stream + off, c, collect, &parts);
		off += c;
	}
	FUZZ_CHECK(whole.n == parts.n, "%zu lines whole, %zu in chunks", whole.n, parts.n);
	/* one report per '\n'; a line is every byte up to it (a NUL never cuts it short),
	 * unless it is longer than max - 1 bytes: then it is reported as NULL */
	const char *p = stream, *end = stream + len;
	for (size_t i = 0; i < whole.n; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl, "line %zu reported without its newline", i);
		size_t l = (size_t)(nl - p);
		if (whole.v[i])
			FUZZ_CHECK(strlen(whole.v[i]) == l && l <= eff - 1,
				   "line %zu: %zu bytes in, %zu out (max %zu)", i, l,
				   strlen(whole.v[i]), eff);
		else
			FUZZ_CHECK(l >= eff, "line %zu of %zu bytes dropped (max %zu)", i, l, eff);
		p = nl + 1;
	}
	FUZZ_CHECK(!memchr(p, '\n', (size_t)(end - p)), "a newline without a report");
	for (size_t i = 0; i < whole.n; i++) {
		FUZZ_CHECK(!whole.v[i] == !parts.v[i] &&
			       (!whole.v[i] || !strcmp(whole.v[i], parts.v[i])),
			   "line %zu differs", i);
		if (!whole.v[i])
			continue;
		check_ctl(whole.v[i]);
		check_status(whole.v[i]);
	}
	FUZZ_CHECK(r1.len == r2.len && r1.skip == r2.skip && !memcmp(r1.buf, r2.buf, r1.len),
		   "pending partial line differs");

	/* the host reading a whole status port */
	struct o2v_status_summary s;
	o2v_status_summarize(stream, len, &s);
	text_ok(s.error);
	FUZZ_CHECK(!s.exited || (s.code >= 0 && s.code <= 255), "exit code %d", s.code);

	lines_free(&whole);
	lines_free(&parts);
	return 0;
}
