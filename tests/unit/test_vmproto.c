/* test_vmproto.c - the host <-> guest protocol (common/vmproto.c): parsing each control
 * command, reassembling lines from reads that split or join them, and every message
 * formatted by one side and parsed back by the other. */
#include "../../common/o2v.h"

#include <inttypes.h>
#include <string.h>

#include "../../common/vmproto.h"
#include "tap.h"

/* ---- o2v_ctl_parse ---- */

struct parse_case {
	const char *line;
	int ret;
	enum o2v_ctl_kind cmd;
	uint64_t a, b;
};

static const struct parse_case parse_cases[] = {
    {"stop", 0, O2V_CTL_STOP, 0, 0},
    {"signal 15", 0, O2V_CTL_SIGNAL, 15, 0},
    {"signal 1", 0, O2V_CTL_SIGNAL, 1, 0},
    {"signal 64", 0, O2V_CTL_SIGNAL, 64, 0},
    {"signal 010", 0, O2V_CTL_SIGNAL, 10, 0},
    {"winsize 24 80", 0, O2V_CTL_WINSIZE, 24, 80},
    {"winsize 0 0", 0, O2V_CTL_WINSIZE, 0, 0},
    {"winsize 65535 65535", 0, O2V_CTL_WINSIZE, 65535, 65535},
    {"eof 0", 0, O2V_CTL_EOF, 0, 0},
    {"eof 4294967296", 0, O2V_CTL_EOF, 4294967296ULL, 0},
    {"eof 9223372036854775807", 0, O2V_CTL_EOF, 9223372036854775807ULL, 0},
    {"start", 0, O2V_CTL_START, 0, 0},
    {"start 1", -EINVAL, 0, 0, 0},
    {"start ", -EINVAL, 0, 0, 0},
    /* garbage */
    {"", -EINVAL, 0, 0, 0},
    {"stop ", -EINVAL, 0, 0, 0},
    {" stop", -EINVAL, 0, 0, 0},
    {"STOP", -EINVAL, 0, 0, 0},
    {"stop\r", -EINVAL, 0, 0, 0},
    {"stopp", -EINVAL, 0, 0, 0},
    {"reboot", -EINVAL, 0, 0, 0},
    {"\x01\x02\xff", -EINVAL, 0, 0, 0},
    {"signal", -EINVAL, 0, 0, 0},
    {"signal ", -EINVAL, 0, 0, 0},
    {"signal 0", -EINVAL, 0, 0, 0},
    {"signal 65", -EINVAL, 0, 0, 0},
    {"signal -9", -EINVAL, 0, 0, 0},
    {"signal +9", -EINVAL, 0, 0, 0},
    {"signal 9 ", -EINVAL, 0, 0, 0},
    {"signal  9", -EINVAL, 0, 0, 0},
    {"signal 9x", -EINVAL, 0, 0, 0},
    {"signal TERM", -EINVAL, 0, 0, 0},
    {"signal 99999999999999999999", -EINVAL, 0, 0, 0},
    {"winsize", -EINVAL, 0, 0, 0},
    {"winsize 24", -EINVAL, 0, 0, 0},
    {"winsize 24 ", -EINVAL, 0, 0, 0},
    {"winsize 24  80", -EINVAL, 0, 0, 0},
    {"winsize 24 80 1", -EINVAL, 0, 0, 0},
    {"winsize 65536 80", -EINVAL, 0, 0, 0},
    {"winsize 24 65536", -EINVAL, 0, 0, 0},
    {"winsize 24x80", -EINVAL, 0, 0, 0},
    {"eof", -EINVAL, 0, 0, 0},
    {"eof ", -EINVAL, 0, 0, 0},
    {"eof -1", -EINVAL, 0, 0, 0},
    {"eof 1 2", -EINVAL, 0, 0, 0},
    {"eof 9223372036854775808", -EINVAL, 0, 0, 0},
    {"eof 99999999999999999999999", -EINVAL, 0, 0, 0},
    {"winsize -1 80", -EINVAL, 0, 0, 0},
    /* a restored VM's messages (resume.c) */
    {"time 1796540400 0", 0, O2V_CTL_TIME, 1796540400, 0},
    {"time 0 999999999", 0, O2V_CTL_TIME, 0, 999999999},
    {"time 1099511627776 1", 0, O2V_CTL_TIME, 1099511627776ULL, 1},
    {"time 1099511627777 1", -EINVAL, 0, 0, 0},
    {"time 1 1000000000", -EINVAL, 0, 0, 0},
    {"time 1", -EINVAL, 0, 0, 0},
    {"time 1 2 3", -EINVAL, 0, 0, 0},
    {"time -1 0", -EINVAL, 0, 0, 0},
    {"config 0", 0, O2V_CTL_CONFIG, 0, 0},
    {"config 1048576", 0, O2V_CTL_CONFIG, 1048576, 0},
    {"config 1048577", -EINVAL, 0, 0, 0},
    {"config", -EINVAL, 0, 0, 0},
    {"config x", -EINVAL, 0, 0, 0},
    {"disk 163840", 0, O2V_CTL_DISK, 163840, 0},
    {"disk 1125899906842624", 0, O2V_CTL_DISK, 1125899906842624ULL, 0},
    {"disk 1125899906842625", -EINVAL, 0, 0, 0},
    {"disk", -EINVAL, 0, 0, 0},
    {"disk -1", -EINVAL, 0, 0, 0},
    {"entropy 00", 0, O2V_CTL_ENTROPY, 1, 0},
    {"entropy ", -EINVAL, 0, 0, 0},
    {"entropy 0", -EINVAL, 0, 0, 0},
    {"entropy 0g", -EINVAL, 0, 0, 0},
    {"entropy AB", -EINVAL, 0, 0, 0},
    {"entropy 00 ", -EINVAL, 0, 0, 0},
    {"entropy " /* 96 digits: 48 bytes */
     "000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000",
     0, O2V_CTL_ENTROPY, 48, 0},
    {"entropy " /* 98 digits: 49 bytes */
     "000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000",
     -EINVAL, 0, 0, 0},
};

static void test_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct o2v_ctl_msg m = {.kind = (enum o2v_ctl_kind) - 1, .a = 7, .b = 7};
		int r = o2v_ctl_parse(c->line, &m);
		enum o2v_ctl_kind cmd = m.kind;
		uint64_t a = m.a, b = m.b;

		if (c->ret < 0) {
			TAP_IS_INT(r, c->ret, "parse '%s': rejected", c->line);
			continue;
		}
		TAP_OK(r == 0 && cmd == c->cmd && a == c->a && b == c->b,
		       "parse '%s': cmd %d a %" PRIu64 " b %" PRIu64 " (got r %d cmd %d a %" PRIu64
		       " b %" PRIu64 ")",
		       c->line, (int)c->cmd, c->a, c->b, r, (int)cmd, a, b);
	}
}

/* ---- o2v_line_feed ---- */

#define GOT_MAX 16

struct got {
	char lines[GOT_MAX][O2V_CTL_LINE_MAX + 16];
	size_t n;
};

/* Over-long lines come as NULL: recorded as "<long>". */
static void record(const char *line, void *ud)
{
	struct got *g = ud;

	if (g->n < GOT_MAX)
		snprintf(g->lines[g->n], sizeof(g->lines[0]), "%s", line ? line : "<long>");
	g->n++;
}

/* Feed text in pieces of the given sizes (the rest in one piece), joined lines with '|'. */
static void feed_pieces(struct o2v_line_reader *r, struct got *g, const char *text,
			const size_t *sizes, size_t n_sizes)
{
	size_t len = strlen(text), off = 0;

	for (size_t i = 0; i < n_sizes && off < len; i++) {
		size_t n = sizes[i] < len - off ? sizes[i] : len - off;
		o2v_line_feed(r, text + off, n, record, g);
		off += n;
	}
	if (off < len)
		o2v_line_feed(r, text + off, len - off, record, g);
}

static const char *joined(const struct got *g)
{
	static char out[GOT_MAX * (O2V_CTL_LINE_MAX + 17)];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < g->n && i < GOT_MAX; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "|" : "", g->lines[i]);
	return out;
}

static void test_feed_pieces(void)
{
	static const char text[] = "stop\nsignal 10\nwinsize 24 80\n";
	static const size_t one[] = {SIZE_MAX};
	static const size_t bytes[64] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	static const size_t split_mid[] = {2, 9, 3};
	static const size_t split_at_nl[] = {4, 1, 10};

	const struct {
		const char *name;
		const size_t *sizes;
		size_t n;
	} ways[] = {
	    {"one read", one, 1},
	    {"one byte per read", bytes, ARRAY_SIZE(bytes)},
	    {"split mid-word", split_mid, ARRAY_SIZE(split_mid)},
	    {"split at the newline", split_at_nl, ARRAY_SIZE(split_at_nl)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ways); i++) {
		struct o2v_line_reader r = {.max = O2V_CTL_LINE_MAX};
		struct got g = {0};
		feed_pieces(&r, &g, text, ways[i].sizes, ways[i].n);
		TAP_IS_STR(joined(&g), "stop|signal 10|winsize 24 80", "feed, %s: three lines",
			   ways[i].name);
	}
}

static void test_feed_partial(void)
{
	struct o2v_line_reader r = {.max = O2V_CTL_LINE_MAX};
	struct got g = {0};

	o2v_line_feed(&r, "sig", 3, record, &g);
	TAP_IS_INT((int)g.n, 0, "feed: a partial line is not a command yet");
	o2v_line_feed(&r, "nal 2", 5, record, &g);
	TAP_IS_INT((int)g.n, 0, "feed: still no newline, still nothing");
	o2v_line_feed(&r, "\nsto", 4, record, &g);
	TAP_IS_STR(joined(&g), "signal 2", "feed: the line completes across three reads");
	o2v_line_feed(&r, "p\n", 2, record, &g);
	TAP_IS_STR(joined(&g), "signal 2|stop", "feed: the next line continues where it was");

	struct o2v_line_reader r2 = {.max = O2V_CTL_LINE_MAX};
	struct got g2 = {0};
	o2v_line_feed(&r2, "\n\n", 2, record, &g2);
	TAP_IS_STR(joined(&g2), "|", "feed: empty lines are passed on (and parse as garbage)");
	o2v_line_feed(&r2, "stop\0junk\n", 10, record, &g2);
	TAP_IS_STR(g2.lines[2], "stop?junk", "feed: a NUL inside a line does not end it");
	TAP_OK(o2v_ctl_parse(g2.lines[2], &(struct o2v_ctl_msg){0}) < 0,
	       "feed: 'stop', a NUL and more is not a stop");
}

static void test_feed_long(void)
{
	char longline[3 * O2V_CTL_LINE_MAX + 2];
	struct o2v_line_reader r = {.max = O2V_CTL_LINE_MAX};
	struct got g = {0};

	/* "stop" padded far beyond the buffer must not come out as "stop...": dropped whole. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "stop", 4);
	longline[sizeof(longline) - 1] = '\n';
	o2v_line_feed(&r, longline, sizeof(longline), record, &g);
	o2v_line_feed(&r, "stop\n", 5, record, &g);
	TAP_IS_STR(joined(&g), "<long>|stop", "feed: an over-long line is dropped, the next kept");

	/* The longest line that fits, and one byte more, fed a byte at a time. */
	struct o2v_line_reader r2 = {.max = O2V_CTL_LINE_MAX};
	struct got g2 = {0};
	char fit[O2V_CTL_LINE_MAX];
	memset(fit, '7', sizeof(fit));
	memcpy(fit, "signal ", 7);
	fit[sizeof(fit) - 1] = '\n'; /* O2V_CTL_LINE_MAX - 1 bytes of line */
	for (size_t i = 0; i < sizeof(fit); i++)
		o2v_line_feed(&r2, &fit[i], 1, record, &g2);
	TAP_IS_INT((int)g2.n, 1, "feed: a line of %d bytes fits", O2V_CTL_LINE_MAX - 1);
	TAP_IS_INT((int)strlen(g2.lines[0]), O2V_CTL_LINE_MAX - 1, "feed: ... and comes out whole");
	char over[O2V_CTL_LINE_MAX + 1];
	memset(over, 'y', sizeof(over));
	over[sizeof(over) - 1] = '\n'; /* O2V_CTL_LINE_MAX bytes of line */
	for (size_t i = 0; i < sizeof(over); i++)
		o2v_line_feed(&r2, &over[i], 1, record, &g2);
	TAP_IS_STR(g2.lines[1], "<long>", "feed: a line of %d bytes is over-long",
		   O2V_CTL_LINE_MAX);
	o2v_line_feed(&r2, "winsize 1 2\n", 12, record, &g2);
	TAP_IS_STR(g2.lines[2], "winsize 1 2", "feed: the reader recovers after it");

	/* An over-long line split across reads, ending in a later read with a command. */
	struct o2v_line_reader r3 = {.max = O2V_CTL_LINE_MAX};
	struct got g3 = {0};
	char chunk[O2V_CTL_LINE_MAX];
	memset(chunk, 'z', sizeof(chunk));
	o2v_line_feed(&r3, chunk, sizeof(chunk), record, &g3);
	o2v_line_feed(&r3, chunk, sizeof(chunk), record, &g3);
	TAP_IS_INT((int)g3.n, 0, "feed: nothing comes out of an over-long line before its end");
	o2v_line_feed(&r3, "zz\nstop\n", 8, record, &g3);
	TAP_IS_STR(joined(&g3), "<long>|stop", "feed: reported once at its end; the next kept");
}

/* ---- every message: formatted by one side, parsed by the other ---- */

static void test_ctl_round_trip(void)
{
	static const struct o2v_ctl_msg msgs[] = {
	    {O2V_CTL_STOP, 0, 0},	 {O2V_CTL_SIGNAL, 1, 0},      {O2V_CTL_SIGNAL, 64, 0},
	    {O2V_CTL_WINSIZE, 0, 0},	 {O2V_CTL_WINSIZE, 65535, 1}, {O2V_CTL_EOF, 0, 0},
	    {O2V_CTL_EOF, INT64_MAX, 0}, {O2V_CTL_START, 0, 0},
	    {O2V_CTL_TIME, 1796540400, 123456789}, {O2V_CTL_CONFIG, 4096, 0},
	    {O2V_CTL_DISK, 466944, 0},
	};
	static const struct o2v_ctl_msg bad[] = {
	    {O2V_CTL_SIGNAL, 0, 0},
	    {O2V_CTL_SIGNAL, 65, 0},
	    {O2V_CTL_WINSIZE, 65536, 1},
	    {O2V_CTL_WINSIZE, 1, 65536},
	    {O2V_CTL_EOF, (uint64_t)INT64_MAX + 1, 0},
	};
	char line[O2V_CTL_LINE_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
		struct o2v_ctl_msg back;
		int n = o2v_ctl_format(&msgs[i], line, sizeof(line));
		bool shaped = n > 0 && line[n - 1] == '\n' && (size_t)n < O2V_CTL_LINE_MAX;
		if (shaped)
			line[n - 1] = '\0';
		TAP_OK(shaped && o2v_ctl_parse(line, &back) == 0 && back.kind == msgs[i].kind &&
			   back.a == msgs[i].a && back.b == msgs[i].b,
		       "control round trip: kind %d a %" PRIu64 " b %" PRIu64 " as '%s'",
		       (int)msgs[i].kind, msgs[i].a, msgs[i].b, shaped ? line : "?");
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		TAP_IS_INT(o2v_ctl_format(&bad[i], line, sizeof(line)), -EINVAL,
			   "control format refuses kind %d a %" PRIu64 " b %" PRIu64,
			   (int)bad[i].kind, bad[i].a, bad[i].b);
	TAP_IS_INT(o2v_ctl_format(&msgs[6], line, 5), -EINVAL,
		   "control format: a buffer too small is an error, not a cut line");
}

/* entropy carries bytes: every value survives, and an over-long one is refused. */
static void test_entropy(void)
{
	struct o2v_ctl_msg m = {.kind = O2V_CTL_ENTROPY, .a = O2V_CTL_ENTROPY_MAX}, back;
	char line[O2V_CTL_LINE_MAX];
	int n;

	for (size_t i = 0; i < O2V_CTL_ENTROPY_MAX; i++)
		m.data[i] = (uint8_t)(i * 37 + 255 - i);
	n = o2v_ctl_format(&m, line, sizeof(line));
	TAP_OK(n > 0 && line[n - 1] == '\n', "entropy: 48 bytes fit a control line (%d)", n);
	line[n > 0 ? n - 1 : 0] = '\0';
	TAP_OK(o2v_ctl_parse(line, &back) == 0 && back.kind == O2V_CTL_ENTROPY &&
		   back.a == O2V_CTL_ENTROPY_MAX && !memcmp(back.data, m.data, O2V_CTL_ENTROPY_MAX),
	       "entropy round trip: the same bytes");
	m.a = O2V_CTL_ENTROPY_MAX + 1;
	TAP_IS_INT(o2v_ctl_format(&m, line, sizeof(line)), -EINVAL, "entropy: 49 bytes refused");
	m.a = 0;
	TAP_IS_INT(o2v_ctl_format(&m, line, sizeof(line)), -EINVAL, "entropy: none refused");
	m = (struct o2v_ctl_msg){.kind = O2V_CTL_CONFIG, .a = O2V_CTL_CONFIG_MAX + 1};
	TAP_IS_INT(o2v_ctl_format(&m, line, sizeof(line)), -EINVAL,
		   "config: more than the run configuration's maximum refused");
	m = (struct o2v_ctl_msg){.kind = O2V_CTL_TIME, .a = 1, .b = 1000000000};
	TAP_IS_INT(o2v_ctl_format(&m, line, sizeof(line)), -EINVAL, "time: 1e9 ns refused");
}

static void test_status_round_trip(void)
{
	struct o2v_status_msg m = {.kind = O2V_STATUS_EXIT}, back;
	char line[O2V_STATUS_LINE_MAX + 1];
	int n;

	for (int code = 0; code <= 255; code += 51) {
		m.code = code;
		n = o2v_status_format(&m, line, sizeof(line));
		line[n > 0 ? n - 1 : 0] = '\0';
		TAP_OK(n > 0 && o2v_status_parse(line, &back) == 0 &&
			   back.kind == O2V_STATUS_EXIT && back.code == code,
		       "status round trip: exit %d as '%s'", code, line);
	}
	m.code = 256;
	TAP_IS_INT(o2v_status_format(&m, line, sizeof(line)), -EINVAL, "status: exit 256 refused");
	m = (struct o2v_status_msg){.kind = O2V_STATUS_STARTED};
	n = o2v_status_format(&m, line, sizeof(line));
	line[n > 0 ? n - 1 : 0] = '\0';
	TAP_OK(o2v_status_parse(line, &back) == 0 && back.kind == O2V_STATUS_STARTED,
	       "status round trip: started");
	m = (struct o2v_status_msg){.kind = O2V_STATUS_HELD};
	n = o2v_status_format(&m, line, sizeof(line));
	line[n > 0 ? n - 1 : 0] = '\0';
	TAP_OK(o2v_status_parse(line, &back) == 0 && back.kind == O2V_STATUS_HELD,
	       "status round trip: held");
	m = (struct o2v_status_msg){.kind = O2V_STATUS_READY};
	n = o2v_status_format(&m, line, sizeof(line));
	line[n > 0 ? n - 1 : 0] = '\0';
	TAP_OK(o2v_status_parse(line, &back) == 0 && back.kind == O2V_STATUS_READY,
	       "status round trip: ready");

	/* An error text with a newline and an escape sequence stays one harmless line. */
	m = (struct o2v_status_msg){.kind = O2V_STATUS_ERROR};
	snprintf(m.text, sizeof(m.text), "mount /x: no\nexit 0\x1b[2J");
	n = o2v_status_format(&m, line, sizeof(line));
	TAP_OK(n > 0 && memchr(line, '\n', (size_t)n - 1) == NULL,
	       "status: error text is one line");
	line[n > 0 ? n - 1 : 0] = '\0';
	TAP_OK(o2v_status_parse(line, &back) == 0 && back.kind == O2V_STATUS_ERROR,
	       "status round trip: error");
	TAP_IS_STR(back.text, "mount /x: no?exit 0?[2J", "status: control bytes made '?'");

	/* A long error is cut to the line maximum, never split into a second message. */
	memset(m.text, 'e', sizeof(m.text) - 1);
	m.text[sizeof(m.text) - 1] = '\0';
	n = o2v_status_format(&m, line, sizeof(line));
	TAP_OK(n > 0 && n <= O2V_STATUS_LINE_MAX && line[n - 1] == '\n',
	       "status: the longest error fits one line of at most %d bytes (%d)",
	       O2V_STATUS_LINE_MAX, n);
}

static void test_status_parse_hostile(void)
{
	static const char *const bad[] = {
	    "",	       "exit",	   "exit ",   "exit 256", "exit -1",
	    "exit +1", "exit 1 ",  "exit 1x", " exit 1",  "exit 99999999999999999999",
	    "EXIT 1",  "started ", "error",   "error ",	  "errors x", "held ", "Held",
	};
	struct o2v_status_msg m;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		TAP_IS_INT(o2v_status_parse(bad[i], &m), -EINVAL, "status parse rejects '%s'",
			   bad[i]);
}

static void test_status_summary(void)
{
	static const char text[] = "held\nstarted\nnoise \x1b]0;x\x07\nerror first\nexit 3\n"
				   "error \x1b[31mred\nexit 300\npartial exit 9";
	struct o2v_status_summary s;
	char big[O2V_STATUS_LINE_MAX * 3];

	o2v_status_summarize(text, sizeof(text) - 1, &s);
	TAP_OK(s.held && s.started && s.exited && s.code == 3,
	       "summary: started, exit 3 (exit 300 and an unterminated line ignored)");
	TAP_IS_STR(s.error, "?[31mred", "summary: the last error, sanitized");

	/* An over-long line cannot smuggle an "exit" in at its end. */
	memset(big, 'x', sizeof(big));
	memcpy(big + sizeof(big) - 8, "\nexit 4", 7);
	memcpy(big + O2V_STATUS_LINE_MAX + 10, "exit 7\n", 7);
	big[sizeof(big) - 1] = '\n';
	o2v_status_summarize(big, sizeof(big), &s);
	TAP_OK(s.exited && s.code == 4, "summary: an over-long line is dropped whole (%d)", s.code);
	o2v_status_summarize("", 0, &s);
	TAP_OK(!s.started && !s.exited && !s.error[0], "summary: an empty port says nothing");
}

static void test_volume_tag(void)
{
	char tag[O2V_VOLUME_TAG_MAX];

	o2v_proto_volume_tag(0, tag);
	TAP_IS_STR(tag, "o2v_v0", "volume 0 has tag o2v_v0");
	o2v_proto_volume_tag(15, tag);
	TAP_IS_STR(tag, "o2v_v15", "volume 15 has tag o2v_v15");
}

int main(void)
{
	test_parse();
	test_feed_pieces();
	test_feed_partial();
	test_feed_long();
	test_ctl_round_trip();
	test_entropy();
	test_status_round_trip();
	test_status_parse_hostile();
	test_status_summary();
	test_volume_tag();
	return tap_done();
}
