/* ctl.c - the control port's line protocol (vm-contract.md), host -> guest.
 *
 *	stop                SIGTERM the workload, SIGKILL after the grace period
 *	signal N            deliver signal N (1..64)
 *	winsize ROWS COLS   resize the console (0..65535 each)
 *	eof N               the host's stdin ended after N bytes in all (0..2^63-1):
 *	                    end the workload's stdin once N bytes reached it (-i, no -t)
 *
 * One command per '\n'-terminated line, exactly as above: no other spaces,
 * no sign, no CR. The host's bytes arrive in arbitrary pieces (a read may
 * end mid-line or hold several lines), so init_ctl_feed() reassembles
 * lines across reads; a line longer than the buffer is dropped whole and
 * reported once, never cut into a command, and a NUL byte cannot shorten a
 * line into one. supervise.c acts on the lines.
 */
#include "init.h"

#include <string.h>

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

int init_ctl_parse(const char *line, enum init_ctl *ret_cmd, uint64_t *ret_a, uint64_t *ret_b)
{
	const char *p;

	*ret_a = *ret_b = 0;
	if (!strcmp(line, "stop")) {
		*ret_cmd = INIT_CTL_STOP;
		return 0;
	}
	if (!strncmp(line, "signal ", 7)) {
		p = line + 7;
		if (!parse_num(&p, 64, ret_a) || *p || *ret_a == 0)
			return -EINVAL;
		*ret_cmd = INIT_CTL_SIGNAL;
		return 0;
	}
	if (!strncmp(line, "winsize ", 8)) {
		p = line + 8;
		if (!parse_num(&p, 65535, ret_a) || *p++ != ' ' || !parse_num(&p, 65535, ret_b) ||
		    *p)
			return -EINVAL;
		*ret_cmd = INIT_CTL_WINSIZE;
		return 0;
	}
	if (!strncmp(line, "eof ", 4)) {
		p = line + 4;
		if (!parse_num(&p, INT64_MAX, ret_a) || *p)
			return -EINVAL;
		*ret_cmd = INIT_CTL_EOF;
		return 0;
	}
	return -EINVAL;
}

void init_ctl_feed(struct init_ctl_reader *r, const char *data, size_t n,
		   void (*fn)(const char *line, void *ud), void *ud)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\n') {
			r->buf[r->len] = '\0';
			fn(r->skip ? NULL : r->buf, ud);
			r->len = 0;
			r->skip = false;
		} else if (r->skip) {
			continue;
		} else if (r->len + 1 < sizeof(r->buf)) {
			/* A NUL would end the string early: "stop\0junk" is not "stop". */
			r->buf[r->len++] = c ? c : '?';
		} else {
			r->skip = true;
		}
	}
}
