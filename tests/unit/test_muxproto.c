/* test_muxproto.c - the exec stream frames (common/muxproto.c): headers both ways, what a
 * peer must not get away with, and the exec request's round trip. */
#include "../../common/o2v.h"

#include <string.h>
#include <sys/socket.h>

#include "../../common/muxproto.h"
#include "tap.h"

static int hdr(uint8_t type, uint8_t chan, uint32_t len, uint8_t reserved)
{
	uint8_t b[O2V_MUX_HDR];
	struct o2v_mux_hdr h = {.type = type, .chan = chan, .stream = 7, .len = len}, back;

	o2v_mux_hdr_put(b, &h);
	b[2] = reserved;
	return o2v_mux_hdr_get(b, &back);
}

static void test_headers(void)
{
	uint8_t b[O2V_MUX_HDR];
	struct o2v_mux_hdr h = {.type = O2V_MUX_DATA,
				.chan = O2V_MUX_STDERR,
				.stream = 0x01020304,
				.len = 65536},
			   back;

	o2v_mux_hdr_put(b, &h);
	TAP_IS_INT(o2v_mux_hdr_get(b, &back), 0, "a DATA header round-trips");
	TAP_OK(back.type == h.type && back.chan == h.chan && back.stream == h.stream &&
		   back.len == h.len,
	       "... every field");
	TAP_OK(b[4] == 4 && b[7] == 1, "stream id little endian");
	TAP_IS_INT(hdr(0, 0, 0, 0), -EBADMSG, "type 0: refused");
	TAP_IS_INT(hdr(O2V_MUX_TYPE_MAX + 1, 0, 0, 0), -EBADMSG, "an unknown type: refused");
	TAP_IS_INT(hdr(O2V_MUX_DATA, O2V_MUX_CHANS, 1, 0), -EBADMSG, "an unknown channel: refused");
	TAP_IS_INT(hdr(O2V_MUX_DATA, 0, O2V_MUX_PAYLOAD_MAX + 1, 0), -EBADMSG,
		   "a payload past the maximum: refused");
	TAP_IS_INT(hdr(O2V_MUX_DATA, 0, 1, 1), -EBADMSG, "reserved bytes set: refused");
	TAP_IS_INT(hdr(O2V_MUX_CREDIT, 1, 3, 0), -EBADMSG, "CREDIT of 3 bytes: refused");
	TAP_IS_INT(hdr(O2V_MUX_CREDIT, 1, 4, 0), 0, "CREDIT of 4 bytes");
	TAP_IS_INT(hdr(O2V_MUX_EOF, 1, 1, 0), -EBADMSG, "EOF with a payload: refused");
	TAP_IS_INT(hdr(O2V_MUX_EXIT, 0, 3, 0), -EBADMSG, "EXIT shorter than its status: refused");
	TAP_IS_INT(hdr(O2V_MUX_EXIT, 0, 40, 0), 0, "EXIT with a message");
	TAP_IS_INT(hdr(O2V_MUX_WINSIZE, 0, 4, 0), 0, "WINSIZE");
}

static int parse_text(const char *text, size_t len, struct o2v_mux_exec *e, char *buf)
{
	struct o2v_error err = {0};

	memcpy(buf, text, len);
	return o2v_mux_exec_parse(buf, len, e, &err);
}

static void test_exec_request(void)
{
	struct o2v_mux_exec e = {.argv = {"sh", "-c", "echo a=b", NULL},
				 .env = {"A=1", "PATH=/x:/y", NULL},
				 .user = "1000:1000",
				 .workdir = "/srv",
				 .tty = true,
				 .stdin_open = true,
				 .rows = 33,
				 .cols = 101},
			    back;
	struct o2v_error err = {0};
	_cleanup_free_ char *text = NULL;
	char buf[512];
	size_t len;

	TAP_IS_INT(o2v_mux_exec_format(&e, &text, &len, &err), 0, "format an exec request");
	memcpy(buf, text, len);
	TAP_IS_INT(o2v_mux_exec_parse(buf, len, &back, &err), 0, "parse it back");
	TAP_IS_STR(back.argv[2], "echo a=b", "an argument with '=' kept whole");
	TAP_OK(back.argv[3] == NULL && !strcmp(back.env[1], "PATH=/x:/y") && !back.env[2],
	       "argv and env");
	TAP_OK(!strcmp(back.user, "1000:1000") && !strcmp(back.workdir, "/srv"), "user, workdir");
	TAP_OK(back.tty && back.stdin_open && !back.detach && back.rows == 33 && back.cols == 101,
	       "flags and window size");

	static const struct {
		const char *name, *text;
		size_t len;
	} bad[] = {
	    {"no command", "tty=0\0", 6},
	    {"an empty command", "arg=\0", 5},
	    {"not NUL-terminated", "arg=ls", 6},
	    {"a field without '='", "arg=ls\0junk\0", 12},
	    {"a relative workdir", "arg=ls\0workdir=tmp\0", 19},
	    {"a bad flag", "arg=ls\0tty=yes\0", 15},
	    {"rows past 65535", "arg=ls\0rows=65536\0", 18},
	    {"env without '='", "arg=ls\0env=FOO\0", 15},
	    {"empty", "", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		TAP_IS_INT(parse_text(bad[i].text, bad[i].len, &back, buf), -EBADMSG, "refused: %s",
			   bad[i].name);
	TAP_IS_INT(parse_text("arg=ls\0future=1\0", 16, &back, buf), 0,
		   "an unknown key from a newer host is skipped");

	/* More arguments than a request holds. */
	char many[8192];
	size_t n = 0;
	for (int i = 0; i <= O2V_MUX_ARGS_MAX; i++) {
		memcpy(many + n, "arg=x", 6);
		n += 6;
	}
	TAP_IS_INT(o2v_mux_exec_parse(many, n, &back, &err), -EBADMSG, "refused: too many args");
}

/* The shared reader and queue over a non-blocking socket pair: a frame in pieces, a bad
 * header skipped, EOF; a bounded queue that compacts and flushes. */
static void test_reader_queue(void)
{
	struct o2v_mux_queue q = {0};
	struct o2v_mux_reader rd = {0};
	int sv[2];

	if (!TAP_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair"))
		return;
	TAP_IS_INT(o2v_mux_queue_frame(&q, 64, O2V_MUX_DATA, O2V_MUX_STDOUT, 9, "hello", 5), 0,
		   "queue a frame");
	TAP_IS_INT(o2v_mux_queue_frame(&q, 64, O2V_MUX_DATA, 1, 9,
				       "0123456789012345678901234567890123456789012345678901", 52),
		   -ENOBUFS, "a frame past the queue's bound is refused");
	TAP_IS_INT((int)o2v_mux_queued(&q), O2V_MUX_HDR + 5, "... and nothing of it queued");
	/* write the first 7 bytes by hand, then the rest: the reader waits for the whole */
	TAP_OK(write(sv[0], q.p, 7) == 7, "part of a header sent");
	TAP_IS_INT(o2v_mux_read(&rd, sv[1]), 0, "reader: a partial header waits");
	q.off = 7;
	TAP_OK(o2v_mux_queue_flush(&q, sv[0]) && !o2v_mux_queued(&q), "flush the rest");
	TAP_IS_INT(o2v_mux_read(&rd, sv[1]), 1, "reader: the frame, whole");
	TAP_OK(rd.h.type == O2V_MUX_DATA && rd.h.stream == 9 && rd.h.len == 5 &&
		   !strcmp((char *)rd.payload, "hello"),
	       "... its header and NUL-terminated payload");
	TAP_OK(write(sv[0], "\xff\0\0\0\0\0\0\0\0\0\0\0", 12) == 12, "a bad header sent");
	TAP_IS_INT(o2v_mux_read(&rd, sv[1]), -EBADMSG, "reader: a bad header is reported");
	close(sv[0]);
	TAP_IS_INT(o2v_mux_read(&rd, sv[1]), -EPIPE, "reader: EOF");
	close(sv[1]);
	o2v_mux_reader_release(&rd);
	o2v_mux_queue_release(&q);
}

int main(void)
{
	test_headers();
	test_reader_queue();
	test_exec_request();
	return tap_done();
}
