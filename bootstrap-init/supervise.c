/* supervise.c - PID 1's loop while the workload runs.
 *
 * One poll() over a signalfd, the control port and a stop timer:
 *  - SIGCHLD: reap every child (orphans are re-parented to PID 1); the
 *    workload's status decides the exit code (128+N for signal N);
 *  - SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH sent to
 *    PID 1 are passed on to the workload (the kernel drops them for PID 1
 *    otherwise);
 *  - `stop`: SIGTERM now, SIGKILL after stop_grace seconds (Docker's stop);
 *    `signal N`: deliver N; `winsize R C`: resize the console (the kernel
 *    then sends SIGWINCH to the terminal's foreground group); `eof N`: the
 *    host's stdin ended (stdin.c);
 *  - without a terminal, the console's input goes into the workload's stdin
 *    pipe (-i, stdin.c) and its stdout and stderr pipes go to the host's
 *    ports (outrelay.c).
 * When the workload is gone, everything left is SIGKILLed and reaped, as
 * when a container's PID 1 exits.
 *
 * The control port reads EOF and polls POLLHUP while no host is connected
 * (the host's socket has no client between `oci2vm stop`s). Polling it then
 * would spin, so it is dropped from the poll set until SIGIO, which the
 * virtio console driver raises when the host connects or sends data.
 */
#include "init.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#define REAP_TIMEOUT_MS 2000

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void handled_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGIO);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

void init_signals_block(void)
{
	sigset_t set;

	handled_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void init_signals_unblock(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

struct sup {
	pid_t pid;
	bool alive;
	int status;
	int ctl_fd;
	bool ctl_poll;
	struct o2v_line_reader ctl;
	int timer_fd;
	unsigned grace;
	int stop_signal;
	bool stopping;
	struct init_stdio *io;
};

static void reap(struct sup *s)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == s->pid) {
			s->alive = false;
			s->status = st;
		} else {
			init_execd_reaped(p, st);
		}
}

static void stop(struct sup *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	init_debug("stop: signal %d, SIGKILL after %u s", s->stop_signal, s->grace);
	kill(s->pid, s->stop_signal);
	struct itimerspec its = {.it_value = {.tv_sec = s->grace, .tv_nsec = s->grace ? 0 : 1}};
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void ctl_line(const char *line, void *ud)
{
	struct sup *s = ud;
	struct o2v_ctl_msg m;

	if (!line) {
		init_log("ignoring a control line longer than %d bytes", O2V_CTL_LINE_MAX - 1);
		return;
	}
	if (o2v_ctl_parse(line, &m) < 0) {
		init_log("ignoring unknown control command '%.40s'", line);
		return;
	}
	switch (m.kind) {
	case O2V_CTL_STOP:
		stop(s);
		break;
	case O2V_CTL_SIGNAL:
		kill(s->pid, (int)m.a);
		break;
	case O2V_CTL_WINSIZE:
		init_console_winsize(s->io->tty_fd >= 0 ? s->io->tty_fd : STDIN_FILENO,
				     (unsigned)m.a, (unsigned)m.b);
		break;
	case O2V_CTL_EOF:
		if (s->io->in)
			init_stdin_eof(s->io->in, m.a);
		break;
	case O2V_CTL_START:
		break; /* the workload runs already (a repeated start is harmless) */
	case O2V_CTL_ENTROPY:
	case O2V_CTL_TIME:
	case O2V_CTL_CONFIG:
	case O2V_CTL_DISK:
		init_log("ignoring a restore message: the workload runs already");
		break;
	}
}

static void ctl_read(struct sup *s)
{
	char buf[256];
	ssize_t n = read(s->ctl_fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			s->ctl_poll = false; /* no host connected: wait for SIGIO */
		return;
	}
	o2v_line_feed(&s->ctl, buf, (size_t)n, ctl_line, s);
}

static void on_signal(struct sup *s, int sig)
{
	if (sig == SIGCHLD) {
		reap(s);
	} else if (sig == SIGIO) {
		s->ctl_poll = s->ctl_fd >= 0;
	} else if (s->alive) {
		kill(s->pid, sig);
	}
}

static int sigfd_open(void)
{
	sigset_t set;

	handled_set(&set);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* After the workload: nothing else may outlive it. */
static void kill_rest(int sfd)
{
	double deadline = init_now_ms() + REAP_TIMEOUT_MS;

	kill(-1, SIGKILL);
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p > 0)
			continue;
		if (p < 0 && errno == ECHILD)
			return;
		double left = deadline - init_now_ms();
		if (left <= 0) {
			init_log("processes still running after SIGKILL; shutting down anyway");
			return;
		}
		struct pollfd pfd = {.fd = sfd, .events = POLLIN};
		if (poll(&pfd, 1, (int)left + 1) > 0) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
		}
	}
}

int init_supervise(pid_t pid, int ctl_fd, unsigned stop_grace, int stop_signal,
		   struct init_stdio *io)
{
	struct sup s = {.pid = pid,
			.alive = true,
			.ctl_fd = ctl_fd,
			.ctl = {.max = O2V_CTL_LINE_MAX},
			.grace = stop_grace,
			.stop_signal = stop_signal,
			.io = io};
	struct init_stdin *in = io->in;
	_cleanup_close_ int sfd = sigfd_open();
	_cleanup_close_ int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	s.timer_fd = tfd;
	if (sfd < 0)
		init_log("cannot watch signals (%s): zombies and stop requests are not handled",
			 strerror(errno));
	if (ctl_fd >= 0) {
		/* SIGIO when a host connects or writes (see the top of this file). */
		fcntl(ctl_fd, F_SETOWN, getpid());
		fcntl(ctl_fd, F_SETFL, fcntl(ctl_fd, F_GETFL) | O_ASYNC | O_NONBLOCK);
		s.ctl_poll = true;
	}
	reap(&s);
	while (s.alive) {
		struct pollfd pfd[9 + INIT_EXECD_POLL_MAX] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = tfd, .events = POLLIN},
		    {.fd = s.ctl_poll ? ctl_fd : -1, .events = POLLIN},
		    {.fd = -1},
		    {.fd = -1},
		};
		if (in)
			init_stdin_poll(in, &pfd[3], &pfd[4]);
		for (int i = 0; i < 2; i++)
			init_outrelay_poll(&io->out[i], &pfd[5 + 2 * i], &pfd[6 + 2 * i]);
		size_t n_exec = init_execd_poll(&pfd[9], INIT_EXECD_POLL_MAX);
		if (sfd < 0) {
			/* Degraded: block on the workload alone. */
			int st;
			if (waitpid(pid, &st, 0) == pid) {
				s.alive = false;
				s.status = st;
			}
			continue;
		}
		if (poll(pfd, 9 + n_exec, -1) < 0) {
			if (errno != EINTR)
				init_log("poll: %s", strerror(errno));
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				on_signal(&s, (int)si.ssi_signo);
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof(ticks)) > 0 && s.alive) {
				init_debug("stop: grace period over, SIGKILL");
				kill(pid, SIGKILL);
			}
		}
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			ctl_read(&s);
		if (in)
			init_stdin_events(in, pfd[3].revents, pfd[4].revents);
		for (int i = 0; i < 2; i++)
			init_outrelay_events(&io->out[i], pfd[5 + 2 * i].revents,
					     pfd[6 + 2 * i].revents);
		reap(&s); /* SIGCHLD is coalesced: never rely on one per child */
		init_execd_events(&pfd[9], n_exec);
	}
	init_execd_kill_all();
	kill_rest(sfd);
	for (int i = 0; i < 2; i++)
		init_outrelay_finish(&io->out[i]);
	if (WIFEXITED(s.status))
		return WEXITSTATUS(s.status);
	if (WIFSIGNALED(s.status))
		return O2V_EXIT_SIGNAL_BASE + WTERMSIG(s.status);
	return O2V_EXIT_INIT_FAILED;
}
