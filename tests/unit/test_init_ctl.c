/* test_init_ctl.c - the control port's line protocol (bootstrap-init/ctl.c): parsing each
 * command, and reassembling lines from reads that split or join them. */
#include "../../common/o2v.h"

#include <inttypes.h>
#include <string.h>

#include "../../bootstrap-init/init.h"
#include "tap.h"

/* ---- init_ctl_parse ---- */

struct parse_case {
	const char *line;
	int ret;
	enum init_ctl cmd;
	uint64_t a, b;
};

static const struct parse_case parse_cases[] = {
    {"stop", 0, INIT_CTL_STOP, 0, 0},
    {"signal 15", 0, INIT_CTL_SIGNAL, 15, 0},
    {"signal 1", 0, INIT_CTL_SIGNAL, 1, 0},
    {"signal 64", 0, INIT_CTL_SIGNAL, 64, 0},
    {"signal 010", 0, INIT_CTL_SIGNAL, 10, 0},
    {"winsize 24 80", 0, INIT_CTL_WINSIZE, 24, 80},
    {"winsize 0 0", 0, INIT_CTL_WINSIZE, 0, 0},
    {"winsize 65535 65535", 0, INIT_CTL_WINSIZE, 65535, 65535},
    {"eof 0", 0, INIT_CTL_EOF, 0, 0},
    {"eof 4294967296", 0, INIT_CTL_EOF, 4294967296ULL, 0},
    {"eof 9223372036854775807", 0, INIT_CTL_EOF, 9223372036854775807ULL, 0},
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
};

static void test_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		enum init_ctl cmd = (enum init_ctl) - 1;
		uint64_t a = 7, b = 7;
		int r = init_ctl_parse(c->line, &cmd, &a, &b);

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

/* ---- init_ctl_feed ---- */

#define GOT_MAX 16

struct got {
	char lines[GOT_MAX][INIT_CTL_LINE_MAX + 16];
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
static void feed_pieces(struct init_ctl_reader *r, struct got *g, const char *text,
			const size_t *sizes, size_t n_sizes)
{
	size_t len = strlen(text), off = 0;

	for (size_t i = 0; i < n_sizes && off < len; i++) {
		size_t n = sizes[i] < len - off ? sizes[i] : len - off;
		init_ctl_feed(r, text + off, n, record, g);
		off += n;
	}
	if (off < len)
		init_ctl_feed(r, text + off, len - off, record, g);
}

static const char *joined(const struct got *g)
{
	static char out[GOT_MAX * (INIT_CTL_LINE_MAX + 17)];
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
		struct init_ctl_reader r = {0};
		struct got g = {0};
		feed_pieces(&r, &g, text, ways[i].sizes, ways[i].n);
		TAP_IS_STR(joined(&g), "stop|signal 10|winsize 24 80", "feed, %s: three lines",
			   ways[i].name);
	}
}

static void test_feed_partial(void)
{
	struct init_ctl_reader r = {0};
	struct got g = {0};

	init_ctl_feed(&r, "sig", 3, record, &g);
	TAP_IS_INT((int)g.n, 0, "feed: a partial line is not a command yet");
	init_ctl_feed(&r, "nal 2", 5, record, &g);
	TAP_IS_INT((int)g.n, 0, "feed: still no newline, still nothing");
	init_ctl_feed(&r, "\nsto", 4, record, &g);
	TAP_IS_STR(joined(&g), "signal 2", "feed: the line completes across three reads");
	init_ctl_feed(&r, "p\n", 2, record, &g);
	TAP_IS_STR(joined(&g), "signal 2|stop", "feed: the next line continues where it was");

	struct init_ctl_reader r2 = {0};
	struct got g2 = {0};
	init_ctl_feed(&r2, "\n\n", 2, record, &g2);
	TAP_IS_STR(joined(&g2), "|", "feed: empty lines are passed on (and parse as garbage)");
	init_ctl_feed(&r2, "stop\0junk\n", 10, record, &g2);
	TAP_IS_STR(g2.lines[2], "stop?junk", "feed: a NUL inside a line does not end it");
	TAP_OK(init_ctl_parse(g2.lines[2], &(enum init_ctl){0}, &(uint64_t){0}, &(uint64_t){0}) < 0,
	       "feed: 'stop', a NUL and more is not a stop");
}

static void test_feed_long(void)
{
	char longline[3 * INIT_CTL_LINE_MAX + 2];
	struct init_ctl_reader r = {0};
	struct got g = {0};

	/* "stop" padded far beyond the buffer must not come out as "stop...": dropped whole. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "stop", 4);
	longline[sizeof(longline) - 1] = '\n';
	init_ctl_feed(&r, longline, sizeof(longline), record, &g);
	init_ctl_feed(&r, "stop\n", 5, record, &g);
	TAP_IS_STR(joined(&g), "<long>|stop", "feed: an over-long line is dropped, the next kept");

	/* The longest line that fits, and one byte more, fed a byte at a time. */
	struct init_ctl_reader r2 = {0};
	struct got g2 = {0};
	char fit[INIT_CTL_LINE_MAX];
	memset(fit, '7', sizeof(fit));
	memcpy(fit, "signal ", 7);
	fit[sizeof(fit) - 1] = '\n'; /* INIT_CTL_LINE_MAX - 1 bytes of line */
	for (size_t i = 0; i < sizeof(fit); i++)
		init_ctl_feed(&r2, &fit[i], 1, record, &g2);
	TAP_IS_INT((int)g2.n, 1, "feed: a line of %d bytes fits", INIT_CTL_LINE_MAX - 1);
	TAP_IS_INT((int)strlen(g2.lines[0]), INIT_CTL_LINE_MAX - 1,
		   "feed: ... and comes out whole");
	char over[INIT_CTL_LINE_MAX + 1];
	memset(over, 'y', sizeof(over));
	over[sizeof(over) - 1] = '\n'; /* INIT_CTL_LINE_MAX bytes of line */
	for (size_t i = 0; i < sizeof(over); i++)
		init_ctl_feed(&r2, &over[i], 1, record, &g2);
	TAP_IS_STR(g2.lines[1], "<long>", "feed: a line of %d bytes is over-long",
		   INIT_CTL_LINE_MAX);
	init_ctl_feed(&r2, "winsize 1 2\n", 12, record, &g2);
	TAP_IS_STR(g2.lines[2], "winsize 1 2", "feed: the reader recovers after it");

	/* An over-long line split across reads, ending in a later read with a command. */
	struct init_ctl_reader r3 = {0};
	struct got g3 = {0};
	char chunk[INIT_CTL_LINE_MAX];
	memset(chunk, 'z', sizeof(chunk));
	init_ctl_feed(&r3, chunk, sizeof(chunk), record, &g3);
	init_ctl_feed(&r3, chunk, sizeof(chunk), record, &g3);
	TAP_IS_INT((int)g3.n, 0, "feed: nothing comes out of an over-long line before its end");
	init_ctl_feed(&r3, "zz\nstop\n", 8, record, &g3);
	TAP_IS_STR(joined(&g3), "<long>|stop", "feed: reported once at its end; the next kept");
}

int main(void)
{
	test_parse();
	test_feed_pieces();
	test_feed_partial();
	test_feed_long();
	return tap_done();
}
