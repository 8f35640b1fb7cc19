/* hold.c - a VM that is set up but waits for `start` before its workload runs.
 *
 * An OCI runtime's `create` boots the VM so that `start` is fast: everything up to the
 * exec (mounts, network, user, ports) is done, the host learns it from `held` on the
 * status port, and the workload is exec'd when `start` arrives on the control port. No
 * host connected reads as EOF on the port, so the wait polls at a low rate then: nothing
 * is running but init, and a start costs at most one period more. The control traffic
 * while held is a few short lines, so it is read a byte at a time.
 */
#include "init.h"

#include <poll.h>
#include <signal.h>
#include <string.h>

#define HOLD_IDLE_MS 20 /* between reads while no host is connected */

struct hold {
	struct o2v_line_reader reader;
	bool started;
	int tty_fd; /* the workload's pty (-t with a stdout port), else -1: the console */
};

static void hold_line(const char *line, void *ud)
{
	struct hold *h = ud;
	struct o2v_ctl_msg m;

	if (!line || o2v_ctl_parse(line, &m) < 0) {
		init_log("ignoring a control line while held");
		return;
	}
	switch (m.kind) {
	case O2V_CTL_START:
		h->started = true;
		break;
	case O2V_CTL_STOP:
		init_debug("stopped before start");
		init_shutdown(O2V_EXIT_SIGNAL_BASE + SIGTERM);
	case O2V_CTL_SIGNAL:
		init_debug("signal %u before start", (unsigned)m.a);
		init_shutdown(O2V_EXIT_SIGNAL_BASE + (int)m.a);
	case O2V_CTL_WINSIZE:
		init_console_winsize(h->tty_fd >= 0 ? h->tty_fd : STDIN_FILENO, (unsigned)m.a,
				     (unsigned)m.b);
		break;
	case O2V_CTL_EOF:
		break; /* nothing reads stdin yet: the supervisor's relay has it once running */
	case O2V_CTL_ENTROPY:
	case O2V_CTL_TIME:
	case O2V_CTL_CONFIG:
	case O2V_CTL_DISK:
		init_log("ignoring a restore message while held");
		break;
	}
}

void init_hold(int ctl_fd, int tty_fd)
{
	struct hold h = {.reader = {.max = O2V_CTL_LINE_MAX}, .tty_fd = tty_fd};
	char c;

	init_status(&(struct o2v_status_msg){.kind = O2V_STATUS_HELD});
	if (ctl_fd < 0) {
		struct o2v_error err;
		o2v_error_set(&err, -ENOENT, "held, but there is no control port to start from");
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	}
	/* A byte at a time, so nothing after `start` is taken from the port: what the host sends
	 * next (a signal, a window size) is the running supervisor's to read. */
	while (!h.started) {
		struct pollfd p = {.fd = ctl_fd, .events = POLLIN};
		ssize_t n = poll(&p, 1, -1) > 0 ? read(ctl_fd, &c, 1) : -1;
		if (n > 0)
			o2v_line_feed(&h.reader, &c, 1, hold_line, &h);
		else if (n == 0 || errno != EINTR)
			poll(NULL, 0, HOLD_IDLE_MS); /* no host connected right now, or an error */
	}
	init_debug("started by the host");
}
