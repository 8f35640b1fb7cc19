/* relay.c - the supervisor's loop while QEMU runs; see relay.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

#include "../common/fsutil.h"
#include "logfile.h"
#include "relay.h"

#define KILL_MARGIN_MS 3000 /* after the guest's grace period, before SIGKILL */

void o2v_relay_reap(struct relay *r)
{
	int st;

	if (!r->qemu_done && waitpid(r->qemu, &st, WNOHANG) == r->qemu) {
		r->qemu_done = true;
		r->qemu_status = st;
	}
	for (size_t i = 0; r->sup && i < r->sup->n_helpers; i++)
		if (r->sup->helpers[i] > 0 && waitpid(r->sup->helpers[i], &st, WNOHANG) > 0) {
			r->sup->helpers[i] = -1;
			if (!r->qemu_done)
				kill(r->qemu, SIGKILL);
		}
}

static void send_winsize(struct relay *r)
{
	struct winsize ws;

	if (!r->io->tty || ioctl(r->io->in_fd, TIOCGWINSZ, &ws) < 0)
		return;
	struct o2v_ctl_msg m = {.kind = O2V_CTL_WINSIZE, .a = ws.ws_row, .b = ws.ws_col};
	o2v_vm_control(r->files->path[O2V_VM_CTL_SOCK], &m, NULL);
}

static void request_stop(struct relay *r, bool force)
{
	if (force || r->stops++ > 0) {
		/* Second Ctrl-C, or SIGQUIT: the user wants it gone now. */
		kill(r->qemu, SIGKILL);
		return;
	}
	if (o2v_vm_control(r->files->path[O2V_VM_CTL_SOCK],
			   &(struct o2v_ctl_msg){.kind = O2V_CTL_STOP}, NULL) < 0) {
		kill(r->qemu, SIGKILL);
		return;
	}
	r->kill_at = o2v_now_ms() + (int64_t)r->io->stop_grace * 1000 + KILL_MARGIN_MS;
}

static void handle_signal(struct relay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			o2v_relay_reap(r);
			break;
		case SIGWINCH:
			send_winsize(r);
			break;
		case SIGQUIT:
			request_stop(r, true);
			break;
		default: /* SIGINT, SIGTERM, SIGHUP */
			request_stop(r, false);
			break;
		}
	}
}

#define QUEUE_MAX (64u << 20) /* past this a stalled terminal stalls the guest's console */

/* The log (O2V_OUT_LOG) or a descriptor. */
static int write_to(struct relay *r, int to, const char *buf, size_t n)
{
	if (to == O2V_OUT_LOG)
		return r->io->log ? o2v_logfile_write(r->io->log, buf, n) : -EBADF;
	return o2v_write_all(to, buf, n);
}

/* Write n bytes to `to`, or queue them when `to` is the terminal the console feeds (with a
 * terminal the console carries the workload's output, and a console loses what the host
 * does not read in time: so it is read whenever it has data, and what the terminal cannot
 * take yet waits in the queue, written as the terminal drains through an opening of our
 * own with O_NONBLOCK, the shell's sharing the terminal's other one). */
static void deliver(struct relay *r, int to, bool *to_open, const char *buf, size_t n)
{
	if (!*to_open)
		return;
	if (to == r->q_to) {
		char *q = r->q_len + n <= QUEUE_MAX ? realloc(r->q, r->q_len + n) : NULL;
		if (q) {
			memcpy(q + r->q_len, buf, n);
			r->q = q;
			r->q_len += n;
			return;
		}
		/* Beyond reason (or memory): wait for the terminal, as a plain copy would. */
		if (o2v_write_all(to, r->q, r->q_len) < 0)
			*to_open = false;
		r->q_len = 0;
		if (!*to_open)
			return;
	}
	if (write_to(r, to, buf, n) < 0)
		*to_open = false; /* the reader went away (closed pipe): keep draining */
}

/* Copy what is readable from `from` to `to`; false on EOF or error of `from`. */
static bool pump(struct relay *r, int from, int to, bool *to_open)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	deliver(r, to, to_open, buf, (size_t)n);
	return true;
}

static void drain_queue(struct relay *r, bool *to_open)
{
	ssize_t n = o2v_write_some(r->q_fd, r->q, r->q_len);

	if (n < 0) {
		*to_open = false; /* the terminal went away */
		r->q_len = 0;
		return;
	}
	memmove(r->q, r->q + n, r->q_len - (size_t)n);
	r->q_len -= (size_t)n;
}

/* Our stdin ended: tell init how many bytes it will have seen, so it ends the workload's
 * stdin after the last of them (the console itself cannot carry an end). */
static void send_eof(struct relay *r)
{
	if (!r->io->stdin_eof)
		return;
	struct o2v_ctl_msg m = {.kind = O2V_CTL_EOF, .a = r->in_bytes};
	o2v_vm_control(r->files->path[O2V_VM_CTL_SOCK], &m, NULL);
}

/* One line of the status port: `held` and `started` are told to whoever waits for them. */
static void status_line(const char *line, void *ud)
{
	struct relay *r = ud;

	o2v_status_note(&r->st, line);
	r->restore_deadline = 0; /* it speaks */
	if (r->st.ready && !r->ready_seen) {
		r->ready_seen = true;
		o2v_supervise_ready(r);
	}
	if (r->st.held && !r->held_seen) {
		r->held_seen = true;
		if (r->io->held)
			r->io->held(r->io->userdata);
	}
	if (r->st.started && !r->running_seen) {
		r->running_seen = true;
		if (r->io->running)
			r->io->running(r->io->userdata);
	}
}

static bool read_status(struct relay *r)
{
	char buf[4096];
	ssize_t n = read(r->stcon, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	o2v_line_feed(&r->st_reader, buf, (size_t)n, status_line, r);
	return true;
}

/* Move what the console takes of the pending stdin. */
static void feed_console(struct relay *r)
{
	ssize_t n = o2v_write_some(r->con, r->in_buf + r->in_off, r->in_len - r->in_off);

	if (n < 0) {
		r->in_off = r->in_len; /* the console is gone: drop it */
	} else {
		r->in_off += (size_t)n;
		r->in_bytes += (uint64_t)n;
	}
	if (r->in_off >= r->in_len)
		r->in_off = r->in_len = 0;
}

static void read_stdin(struct relay *r)
{
	ssize_t n = read(r->io->in_fd, r->in_buf, sizeof(r->in_buf));

	if (n < 0) {
		if (errno != EINTR && errno != EAGAIN)
			r->in_open = false;
	} else if (n == 0) {
		r->in_open = false;
	} else {
		r->in_len = (size_t)n;
		r->in_off = 0;
		feed_console(r);
	}
	if (!r->in_open)
		send_eof(r); /* nothing is pending: we read only with an empty buffer */
}

void o2v_relay_loop(struct relay *r)
{
	bool con_open = true, outcon_open = r->outcon >= 0, errcon_open = r->errcon >= 0;
	bool sercon_open = r->sercon >= 0, stcon_open = true;
	/* With stdio ports the console carries only kernel and init messages: diagnostics. */
	int con_to = r->outcon >= 0 ? r->io->err_fd : r->io->out_fd;
	bool *con_to_open = r->outcon >= 0 ? &r->err_open : &r->out_open;

	if (r->outcon < 0 && isatty(con_to)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", con_to);
		r->q_fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (r->q_fd >= 0)
			r->q_to = con_to;
	}

	while (!r->qemu_done || con_open || outcon_open || errcon_open || sercon_open ||
	       stcon_open) {
		struct pollfd p[8 + O2V_EXECMUX_POLL_MAX] = {
		    {.fd = r->sfd, .events = POLLIN},
		    {.fd = con_open ? r->con : -1, .events = POLLIN | (r->in_len ? POLLOUT : 0)},
		    /* stdin only once the workload runs: before that the guest's console is
		     * not yet raw, and its line discipline would echo what we send. */
		    {.fd = r->in_open && r->running_seen && !r->in_len ? r->io->in_fd : -1,
		     .events = POLLIN},
		    {.fd = outcon_open ? r->outcon : -1, .events = POLLIN},
		    {.fd = errcon_open ? r->errcon : -1, .events = POLLIN},
		    {.fd = sercon_open ? r->sercon : -1, .events = POLLIN},
		    {.fd = r->q_len ? r->q_fd : -1, .events = POLLOUT},
		    {.fd = stcon_open ? r->stcon : -1, .events = POLLIN},
		};
		int timeout = -1;
		if (r->kill_at || r->restore_deadline) {
			bool restore = !r->kill_at || (r->restore_deadline &&
						       r->restore_deadline < r->kill_at);
			int64_t left = (restore ? r->restore_deadline : r->kill_at) - o2v_now_ms();
			if (left <= 0) {
				kill(r->qemu, SIGKILL);
				if (restore)
					r->restore_timed_out = true;
				r->kill_at = r->restore_deadline = 0;
				continue;
			}
			timeout = (int)left;
		}
		if (r->qemu_done)
			timeout = 200; /* drain what the sockets still hold, then stop */
		size_t n_mux = o2v_execmux_poll(r->mux, &p[8], O2V_EXECMUX_POLL_MAX);
		int n = poll(p, 8 + n_mux, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && r->qemu_done)
			break;
		if (p[7].revents & (POLLIN | POLLHUP | POLLERR))
			stcon_open = read_status(r);
		if (p[0].revents & POLLIN)
			handle_signal(r);
		if (p[1].revents & POLLOUT)
			feed_console(r);
		if (p[6].revents & (POLLOUT | POLLERR | POLLHUP))
			drain_queue(r, con_to_open);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			con_open = pump(r, r->con, con_to, con_to_open);
			if (!con_open)
				r->in_len = r->in_off = 0; /* nowhere to send the rest */
		}
		if (p[3].revents & (POLLIN | POLLHUP | POLLERR))
			outcon_open = pump(r, r->outcon, r->io->out_fd, &r->out_open);
		if (p[4].revents & (POLLIN | POLLHUP | POLLERR))
			errcon_open = pump(r, r->errcon, r->io->err_fd, &r->err_open);
		if (p[5].revents & (POLLIN | POLLHUP | POLLERR))
			sercon_open =
			    pump(r, r->sercon, con_to, con_to_open); /* with the console's */
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			read_stdin(r);
		o2v_execmux_events(r->mux, &p[8], n_mux);
		o2v_relay_reap(r);
	}
	/* What the terminal has not taken yet: now we can wait for it. */
	if (r->q_len && *con_to_open && o2v_write_all(con_to, r->q, r->q_len) < 0)
		*con_to_open = false;
	r->q_len = 0;
}
