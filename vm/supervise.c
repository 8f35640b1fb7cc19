/* supervise.c - start QEMU, connect to what it serves, relay until it ends, and say how
 * the VM ended; see supervise.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>

#include "execmux.h"
#include "relay.h"
#include "snapshot.h"
#include "supervise.h"

#define CONNECT_TIMEOUT_MS 30000 /* QEMU start-up under TCG on a loaded machine */
/* A restored VM says `started` (or why not) within a fraction of a second; one that is
 * silent this long did not restore. Generous: TCG on a loaded machine. */
#define RESTORE_SILENCE_MS 30000
#define GUARD_ACK_MS	   10000 /* the guard speaks before QEMU's main(): exec + loading */

/* What the relay loop reads from its signalfd (relay.c says what each does). */
static const int handled_signals[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};

/* Why QEMU ended before serving its sockets. */
static int qemu_start_error(const struct relay *r, const char *qemu, struct o2v_error *err)
{
	char tail[O2V_VM_MESSAGE_MAX] = "";

	o2v_qemu_log_tail(r->files->path[O2V_VM_QEMU_LOG], tail, sizeof(tail));
	if (WIFEXITED(r->qemu_status) && WEXITSTATUS(r->qemu_status) == 127)
		return o2v_error_set(err, -ENOENT,
				     "QEMU '%s' not found: install the Debian package "
				     "qemu-system-x86",
				     qemu);
	return o2v_error_set(err, -EPROTO, "QEMU failed to start: %s",
			     tail[0] ? tail : "no message");
}

/* Connect to a socket QEMU serves with wait=on (it starts the guest only once every
 * such socket has its client). Returns the fd. */
static int connect_socket(struct relay *r, const char *qemu, enum o2v_vm_file which,
			  struct o2v_error *err)
{
	int64_t deadline = o2v_now_ms() + CONNECT_TIMEOUT_MS;

	for (;;) {
		int fd = o2v_unix_connect(r->files->path[which]);
		if (fd >= 0)
			return fd;
		o2v_relay_reap(r);
		if (r->qemu_done)
			return qemu_start_error(r, qemu, err);
		if (o2v_now_ms() > deadline) {
			kill(r->qemu, SIGKILL);
			return o2v_error_set(err, -ETIMEDOUT,
					     "QEMU did not open its console within %d s",
					     CONNECT_TIMEOUT_MS / 1000);
		}
		usleep(2000);
	}
}

/* Every socket QEMU waits for, in QEMU's order: it waits for each wait=on socket in turn. */
static int connect_all(struct relay *r, const struct o2v_supervise *s, struct o2v_error *err)
{
	const char *qemu = s->qemu.argv[0];
	int fd;

	if ((fd = connect_socket(r, qemu, O2V_VM_CONSOLE_SOCK, err)) < 0)
		return fd;
	r->con = fd;
	/* Our writes of stdin must not block (feed_console); reads already cope with EAGAIN. */
	fcntl(r->con, F_SETFL, fcntl(r->con, F_GETFL) | O_NONBLOCK);
	if (s->serial) {
		if ((fd = connect_socket(r, qemu, O2V_VM_SERIAL_SOCK, err)) < 0)
			return fd;
		r->sercon = fd;
	}
	if ((fd = connect_socket(r, qemu, O2V_VM_STATUS_SOCK, err)) < 0)
		return fd;
	r->stcon = fd;
	if (s->stdio_ports) {
		if ((fd = connect_socket(r, qemu, O2V_VM_STDOUT_SOCK, err)) < 0)
			return fd;
		r->outcon = fd;
		if ((fd = connect_socket(r, qemu, O2V_VM_STDERR_SOCK, err)) < 0)
			return fd;
		r->errcon = fd;
	}
	if (s->exec_port) {
		if ((fd = connect_socket(r, qemu, O2V_VM_EXEC_PORT_SOCK, err)) < 0)
			return fd;
		int e = o2v_execmux_new(fd, s->files->path[O2V_VM_EXEC_SOCK], &r->mux, err);
		if (e < 0)
			return e;
	}
	return 0;
}

/* QEMU's network guard said it is in place. QEMU waits for our console connection before
 * it starts the guest, so nothing has run yet. A QEMU that exits first is left to
 * connect_all() to report. */
static int wait_guard(struct relay *r, const struct o2v_supervise *s, struct o2v_error *err)
{
	int64_t deadline = o2v_now_ms() + GUARD_ACK_MS;
	char c = 0;

	if (s->guard_ack < 0)
		return 0;
	/* QEMU has its copy: EOF once QEMU closed it or exited. */
	o2v_closep(s->guard_ack_wr);
	*s->guard_ack_wr = -1;
	for (;;) {
		struct pollfd p = {.fd = s->guard_ack, .events = POLLIN};
		if (poll(&p, 1, 50) > 0) {
			if (read(s->guard_ack, &c, 1) == 1 && c == '1')
				return 0;
			break; /* EOF: QEMU exited, or exec'd without the guard */
		}
		o2v_relay_reap(r);
		if (r->qemu_done || o2v_now_ms() > deadline)
			break;
	}
	o2v_relay_reap(r);
	if (r->qemu_done)
		return qemu_start_error(r, s->qemu.argv[0], err);
	return o2v_error_set(err, -ENOEXEC,
			     "QEMU ('%s') did not load the network guard (oci2vm-qemu-net.so), so "
			     "its VM could reach the host's loopback: use a dynamically linked QEMU "
			     "(Debian's), or run with --host-loopback",
			     s->qemu.argv[0]);
}

/* After QEMU exited: the workload's code from the status port, else why the VM ended. */
static void exit_status(const struct relay *r, struct o2v_vm_exit *ret)
{
	if (r->st.exited) {
		ret->code = r->st.code;
		ret->reported = true;
	}
	if (r->st.error[0])
		snprintf(ret->message, sizeof(ret->message), "%s", r->st.error);
	if (WIFSIGNALED(r->qemu_status))
		ret->signal = WTERMSIG(r->qemu_status);
	if (ret->reported)
		return;
	ret->code = ret->signal ? O2V_EXIT_SIGNAL_BASE + ret->signal : O2V_EXIT_INIT_FAILED;
	if (ret->message[0])
		return;
	char tail[O2V_VM_MESSAGE_MAX - 64] = "";
	o2v_qemu_log_tail(r->files->path[O2V_VM_QEMU_LOG], tail, sizeof(tail));
	if (ret->signal)
		snprintf(ret->message, sizeof(ret->message), "QEMU was killed by signal %d%s%s",
			 ret->signal, tail[0] ? ": " : "", tail);
	else
		snprintf(ret->message, sizeof(ret->message),
			 "the VM ended without reporting an exit status%s%s", tail[0] ? ": " : "",
			 tail);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void warn(const struct o2v_launch *io, const char *fmt, ...) O2V_PRINTF(2, 3);
static void warn(const struct o2v_launch *io, const char *fmt, ...)
{
	char msg[O2V_VM_MESSAGE_MAX];
	va_list ap;

	if (!io->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	io->warn(msg, io->userdata);
}

/* The run configuration to an init that waits for it; a VM that cannot get it is ended
 * (it would wait for ever). */
static void configure(struct relay *r, uint64_t disk_sectors)
{
	const struct o2v_supervise *s = r->sup;
	struct o2v_error err = {0};

	if (o2v_vm_configure(s->files->path[O2V_VM_CTL_SOCK], s->runconfig, s->runconfig_len,
			     disk_sectors, &err) < 0) {
		o2v_relay_reap(r);
		if (!r->qemu_done) {
			snprintf(r->st.error, sizeof(r->st.error), "%.*s",
				 (int)sizeof(r->st.error) - 1, err.msg);
			kill(r->qemu, SIGKILL);
		}
	}
}

void o2v_supervise_ready(struct relay *r)
{
	const struct o2v_supervise *s = r->sup;
	struct o2v_snapshot *snap = s->snapshot;
	struct o2v_error err = {0};

	if (!s->runconfig)
		return;
	if (snap && snap->mode == O2V_SNAPSHOT_MAKE) {
		bool ended = false;
		if (o2v_snapshot_save(snap, s->files->path[O2V_VM_QMP_SOCK], &ended, &err) < 0)
			warn(r->io, "could not save a snapshot of this VM (%s): booting cold",
			     err.msg);
		if (ended) {
			*s->saved = true; /* the launch restores it now */
			return;
		}
	}
	configure(r, 0);
}

/* QEMU is up and its sockets connected: relay (our terminal raw while it lasts). */
static void run_relay(struct relay *r, const struct o2v_launch *io)
{
	struct termios saved, t;
	bool raw = false;

	if (io->started)
		io->started(r->qemu, io->userdata);
	if (io->tty && tcgetattr(io->in_fd, &saved) == 0) {
		t = saved;
		cfmakeraw(&t);
		/* No "winsize" now: the run configuration carries the size at start, and QEMU
		 * would hold the line (and us) until the guest opens its control port. */
		raw = tcsetattr(io->in_fd, TCSANOW, &t) == 0;
	}
	o2v_relay_loop(r);
	if (raw)
		tcsetattr(io->in_fd, TCSANOW, &saved);
}

static void end_qemu(struct relay *r)
{
	if (!r->qemu_done) {
		kill(r->qemu, SIGKILL);
		while (waitpid(r->qemu, &r->qemu_status, 0) < 0 && errno == EINTR)
			;
		r->qemu_done = true;
	}
	close_fd(&r->con);
	close_fd(&r->sercon);
	close_fd(&r->outcon);
	close_fd(&r->errcon);
	close_fd(&r->stcon);
	close_fd(&r->q_fd);
	free(r->q);
	r->q = NULL;
	o2v_execmux_free(r->mux);
	r->mux = NULL;
}

int o2v_supervise_run(const struct o2v_supervise *s, struct o2v_vm_exit *ret, struct o2v_error *err)
{
	const struct o2v_launch *io = s->io;
	struct o2v_spawn qemu = s->qemu;
	sigset_t mask, oldmask;
	int rc;
	struct relay r = {
	    .io = io,
	    .sup = s,
	    .files = s->files,
	    .con = -1,
	    .q_to = -1,
	    .q_fd = -1,
	    .sercon = -1,
	    .outcon = -1,
	    .errcon = -1,
	    .stcon = -1,
	    .st_reader = {.max = O2V_STATUS_LINE_MAX},
	    .in_open = io->in_fd >= 0,
	    .out_open = true,
	    .err_open = true,
	    .running_seen = !io->running && !(io->in_fd >= 0 && io->stdin_after_start),
	};

	memset(ret, 0, sizeof(*ret));
	ret->code = O2V_EXIT_INIT_FAILED;
	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(handled_signals); i++)
		sigaddset(&mask, handled_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	signal(SIGPIPE, SIG_IGN);
	r.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.sfd < 0) {
		rc = o2v_error_sys(err, -errno, "supervise QEMU");
		goto out_mask;
	}
	qemu.sigmask = &oldmask;
	qemu.log_path = s->files->path[O2V_VM_QEMU_LOG];
	if ((r.qemu = o2v_spawn(&qemu, err)) < 0) {
		rc = r.qemu;
		goto out_sfd;
	}
	bool restoring = s->snapshot && s->snapshot->mode == O2V_SNAPSHOT_RESTORE;
	if ((rc = wait_guard(&r, s, err)) == 0 && (rc = connect_all(&r, s, err)) == 0) {
		if (restoring) {
			struct o2v_error e = {0};
			uint64_t sectors = 0;
			if (o2v_snapshot_incoming(s->snapshot, s->files->path[O2V_VM_QMP_SOCK],
						  &sectors, &e) < 0) {
				snprintf(r.st.error, sizeof(r.st.error), "%.*s",
					 (int)sizeof(r.st.error) - 1, e.msg);
				kill(r.qemu, SIGKILL);
			} else {
				configure(&r, sectors);
			}
			r.restore_deadline = o2v_now_ms() + RESTORE_SILENCE_MS;
		}
		run_relay(&r, io);
	}
	end_qemu(&r);
	/* Nothing from the guest, and nobody stopped it: the snapshot did not restore. */
	if (s->saved && *s->saved)
		rc = 0; /* QEMU ended after the save, as asked */
	else if (restoring && s->restore_failed && rc == 0 &&
	    (r.restore_timed_out || (!r.st.started && !r.st.exited && !r.st.held && r.stops == 0)))
		*s->restore_failed = true;
	if (rc == 0)
		exit_status(&r, ret);
out_sfd:
	close(r.sfd);
out_mask:
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return rc;
}
