/* supervise.c - see supervise.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "../common/fsutil.h"
#include "supervise.h"

#define CONNECT_TIMEOUT_MS 30000 /* QEMU start-up under TCG on a loaded machine */
#define KILL_MARGIN_MS 3000	 /* after the guest's grace period, before SIGKILL */
#define STATUS_MAX (64 * 1024)
#define CONTROL_DRAIN_MS 2000	 /* for QEMU to take a control line before we hang up */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int o2v_vm_control(const char *ctl_sock, const char *line, struct o2v_error *err)
{
	/* QEMU serves one client at a time: retry briefly if another is connected. */
	int64_t deadline = now_ms() + 2000;
	int fd;

	while ((fd = unix_connect(ctl_sock)) < 0) {
		if (now_ms() > deadline || (fd != -ECONNREFUSED && fd != -EAGAIN))
			return o2v_error_sys(err, fd, "send '%s' to the VM", line);
		usleep(20000);
	}
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	int r = o2v_write_all(fd, buf, (size_t)n);
	if (r == 0) {
		/* QEMU's socket chardev drops what it has not read yet when it sees the client
		 * hang up, and a close() right after the write races its read. Half-close
		 * instead: QEMU reads the line, then the end, and closes its side; we wait for
		 * that (bounded: a guest that never opened the port leaves QEMU not reading). */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		shutdown(fd, SHUT_WR);
		while (poll(&p, 1, CONTROL_DRAIN_MS) > 0 && read(fd, buf, sizeof(buf)) > 0)
			;
	}
	close(fd);
	if (r < 0)
		return o2v_error_sys(err, r, "send '%s' to the VM", line);
	return 0;
}

void o2v_status_read(const char *status_path, struct o2v_vm_exit *ret)
{
	_cleanup_free_ char *text = NULL;

	ret->reported = false;
	if (o2v_read_file(status_path, STATUS_MAX, &text, NULL, NULL) < 0)
		return;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		int code;
		char extra;
		if (sscanf(line, "exit %d%c", &code, &extra) == 1 && code >= 0 && code <= 255) {
			ret->code = code;
			ret->reported = true;
		} else if (!strncmp(line, "error ", 6)) {
			snprintf(ret->message, sizeof(ret->message), "%s", line + 6);
		}
	}
}

/* The last non-empty line of QEMU's log: its reason for refusing to start. */
static void qemu_log_tail(const char *path, char *out, size_t outlen)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (o2v_read_file(path, STATUS_MAX, &text, &len, NULL) < 0 || len == 0)
		return;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	char *start = strrchr(text, '\n');
	snprintf(out, outlen, "%s", start ? start + 1 : text);
}

/* QEMU's environment: ours, with lib first in LD_PRELOAD. Built before fork(): the child
 * only execs. NULL on allocation failure. */
static char **env_with_preload(const char *lib)
{
	extern char **environ;
	const char *old = getenv("LD_PRELOAD");
	size_t n = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof(*env))))
		return NULL;
	if (asprintf(&env[0], "LD_PRELOAD=%s%s%s", lib, old && *old ? ":" : "",
		     old ? old : "") < 0) {
		free(env);
		return NULL;
	}
	for (size_t i = 0, j = 1; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[j++] = environ[i];
	return env;
}

static void env_free(char **env)
{
	extern char **environ;

	if (env != environ) {
		free(env[0]);
		free(env);
	}
}

static pid_t spawn_qemu(const struct o2v_supervise *s, const sigset_t *oldmask,
			struct o2v_error *err)
{
	extern char **environ;
	char **env = environ;

	if (s->qemu_preload && !(env = env_with_preload(s->qemu_preload)))
		return o2v_error_sys(err, -ENOMEM, "start QEMU");
	int logfd = open(s->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		pid_t r = o2v_error_sys(err, -errno, "create '%s'", s->qemu_log);
		env_free(env);
		return r;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	int e = errno;
	if (pid == 0) {
		/* QEMU gets no terminal: Ctrl-C goes to us (its own process group),
		 * and it dies with us if we are killed. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* No transparent huge pages for QEMU (kept across exec): the guest touches its
		 * RAM sparsely, and a 2 MiB host page for each touched 4 KiB cost ~5 MB of
		 * resident memory for a Redis VM, for no measurable speed. */
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		if (getppid() != parent)
			_exit(125);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(125);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvpe(s->qemu_argv[0], s->qemu_argv, env);
		dprintf(2, "cannot execute '%s': %s\n", s->qemu_argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(logfd);
	env_free(env);
	if (pid < 0)
		return o2v_error_sys(err, -e, "start QEMU");
	return pid;
}

struct relay {
	const struct o2v_supervise *s;
	pid_t qemu;
	int con;	   /* console socket */
	int sercon;	   /* serial port socket (verbose), or -1 */
	int outcon;	   /* stdout port socket, or -1 */
	int errcon;	   /* stderr port socket, or -1 */
	bool err_open;	   /* err_fd still takes writes */
	int sfd;	   /* signalfd */
	bool qemu_done;
	int qemu_status;
	bool in_open;
	uint64_t in_bytes; /* sent from in_fd to the console */
	/* stdin read but not yet taken by the console: written without blocking, so a guest
	 * that does not read its stdin cannot stop us relaying its output */
	char in_buf[16384];
	size_t in_len, in_off;
	/* Console output for a terminal that falls behind (see deliver()): QEMU drops what
	 * a console writes while its socket is full, so the console is read on regardless. */
	int q_to;	   /* the fd whose output is queued (deliver()); -1: none */
	int q_fd;	   /* our own non-blocking opening of it */
	char *q;
	size_t q_len;
	bool out_open;
	int64_t kill_at;   /* 0: no deadline */
	bool running_seen; /* the status port said "started" (or nobody asked) */
	int stops;	   /* stop requests seen */
};

static void reap(struct relay *r)
{
	int st;

	if (!r->qemu_done && waitpid(r->qemu, &st, WNOHANG) == r->qemu) {
		r->qemu_done = true;
		r->qemu_status = st;
	}
}

/* Connect to a socket QEMU serves with wait=on (it starts the guest only once every
 * such socket has its client). Returns the fd. */
static int connect_console(struct relay *r, const char *path, struct o2v_error *err)
{
	int64_t deadline = now_ms() + CONNECT_TIMEOUT_MS;

	for (;;) {
		int fd = unix_connect(path);
		if (fd >= 0)
			return fd;
		reap(r);
		if (r->qemu_done) {
			char tail[O2V_VM_MESSAGE_MAX] = "";
			qemu_log_tail(r->s->qemu_log, tail, sizeof(tail));
			if (WIFEXITED(r->qemu_status) && WEXITSTATUS(r->qemu_status) == 127)
				return o2v_error_set(err, -ENOENT,
						     "QEMU '%s' not found: install the Debian package "
						     "qemu-system-x86",
						     r->s->qemu_argv[0]);
			return o2v_error_set(err, -EPROTO, "QEMU failed to start: %s",
					     tail[0] ? tail : "no message");
		}
		if (now_ms() > deadline) {
			kill(r->qemu, SIGKILL);
			return o2v_error_set(err, -ETIMEDOUT,
					     "QEMU did not open its console within %d s",
					     CONNECT_TIMEOUT_MS / 1000);
		}
		usleep(2000);
	}
}

static void send_winsize(struct relay *r)
{
	struct winsize ws;
	char line[64];

	if (!r->s->tty || ioctl(r->s->in_fd, TIOCGWINSZ, &ws) < 0)
		return;
	snprintf(line, sizeof(line), "winsize %u %u", ws.ws_row, ws.ws_col);
	o2v_vm_control(r->s->ctl_sock, line, NULL);
}

static void request_stop(struct relay *r, bool force)
{
	if (force || r->stops++ > 0) {
		/* Second Ctrl-C, or SIGQUIT: the user wants it gone now. */
		kill(r->qemu, SIGKILL);
		return;
	}
	if (o2v_vm_control(r->s->ctl_sock, "stop", NULL) < 0) {
		kill(r->qemu, SIGKILL);
		return;
	}
	r->kill_at = now_ms() + (int64_t)r->s->stop_grace * 1000 + KILL_MARGIN_MS;
}

static void handle_signal(struct relay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(r);
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
	if (o2v_write_all(to, buf, n) < 0)
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
	char line[64];

	if (!r->s->stdin_eof)
		return;
	snprintf(line, sizeof(line), "eof %" PRIu64, r->in_bytes);
	o2v_vm_control(r->s->ctl_sock, line, NULL);
}

/* Has init written "started" on the status port yet? (QEMU writes it to a file.) */
static void check_running(struct relay *r)
{
	_cleanup_free_ char *text = NULL;

	if (r->running_seen || o2v_read_file(r->s->status_path, STATUS_MAX, &text, NULL, NULL) < 0)
		return;
	if (!strncmp(text, "started\n", 8) || strstr(text, "\nstarted\n")) {
		r->running_seen = true;
		if (r->s->running)
			r->s->running(r->s->userdata);
	}
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
	ssize_t n = read(r->s->in_fd, r->in_buf, sizeof(r->in_buf));

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

static void relay_loop(struct relay *r)
{
	bool con_open = true, outcon_open = r->outcon >= 0, errcon_open = r->errcon >= 0;
	bool sercon_open = r->sercon >= 0;
	/* With stdio ports the console carries only kernel and init messages: diagnostics. */
	int con_to = r->outcon >= 0 ? r->s->err_fd : r->s->out_fd;
	bool *con_to_open = r->outcon >= 0 ? &r->err_open : &r->out_open;

	if (r->outcon < 0 && isatty(con_to)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", con_to);
		r->q_fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (r->q_fd >= 0)
			r->q_to = con_to;
	}

	while (!r->qemu_done || con_open || outcon_open || errcon_open || sercon_open) {
		struct pollfd p[7] = {
			{ .fd = r->sfd, .events = POLLIN },
			{ .fd = con_open ? r->con : -1,
			  .events = POLLIN | (r->in_len ? POLLOUT : 0) },
			/* stdin only once the workload runs: before that the guest's console is
			 * not yet raw, and its line discipline would echo what we send. */
			{ .fd = r->in_open && r->running_seen && !r->in_len ? r->s->in_fd : -1,
			  .events = POLLIN },
			{ .fd = outcon_open ? r->outcon : -1, .events = POLLIN },
			{ .fd = errcon_open ? r->errcon : -1, .events = POLLIN },
			{ .fd = sercon_open ? r->sercon : -1, .events = POLLIN },
			{ .fd = r->q_len ? r->q_fd : -1, .events = POLLOUT },
		};
		int timeout = -1;
		if (r->kill_at) {
			int64_t left = r->kill_at - now_ms();
			if (left <= 0) {
				kill(r->qemu, SIGKILL);
				r->kill_at = 0;
				continue;
			}
			timeout = (int)left;
		}
		if (!r->running_seen && (timeout < 0 || timeout > 10))
			timeout = 10; /* watching the status file for "started" */
		if (r->qemu_done)
			timeout = 200; /* drain what the sockets still hold, then stop */
		int n = poll(p, ARRAY_SIZE(p), timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && r->qemu_done)
			break;
		check_running(r);
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
			outcon_open = pump(r, r->outcon, r->s->out_fd, &r->out_open);
		if (p[4].revents & (POLLIN | POLLHUP | POLLERR))
			errcon_open = pump(r, r->errcon, r->s->err_fd, &r->err_open);
		if (p[5].revents & (POLLIN | POLLHUP | POLLERR))
			sercon_open = pump(r, r->sercon, con_to, con_to_open); /* with the console's */
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			read_stdin(r);
		reap(r);
	}
	/* What the terminal has not taken yet: now we can wait for it. */
	if (r->q_len && *con_to_open && o2v_write_all(con_to, r->q, r->q_len) < 0)
		*con_to_open = false;
	r->q_len = 0;
}

int o2v_supervise_run(const struct o2v_supervise *s, struct o2v_vm_exit *ret,
		      struct o2v_error *err)
{
	sigset_t mask, oldmask;
	struct termios saved_tio;
	bool raw = false;
	int rc;
	struct relay r = { .s = s,
			   .con = -1,
			   .q_to = -1,
			   .q_fd = -1,
			   .sercon = -1,
			   .outcon = -1,
			   .errcon = -1,
			   .in_open = s->in_fd >= 0,
			   .out_open = true,
			   .err_open = true,
			   .running_seen = !s->running && !(s->in_fd >= 0 && s->stdin_after_start) };

	memset(ret, 0, sizeof(*ret));
	ret->code = 125;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	signal(SIGPIPE, SIG_IGN);
	r.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.sfd < 0) {
		rc = o2v_error_sys(err, -errno, "supervise QEMU");
		goto out_mask;
	}
	unlink(s->status_path);
	r.qemu = spawn_qemu(s, &oldmask, err);
	if (r.qemu < 0) {
		rc = r.qemu;
		goto out_sfd;
	}
	if ((rc = connect_console(&r, s->console_sock, err)) < 0)
		goto out_reap;
	r.con = rc;
	/* Our writes of stdin must not block (feed_console); reads already cope with EAGAIN. */
	fcntl(r.con, F_SETFL, fcntl(r.con, F_GETFL) | O_NONBLOCK);
	/* In QEMU's order: it waits for each wait=on socket in turn. */
	if (s->serial_sock) {
		if ((rc = connect_console(&r, s->serial_sock, err)) < 0)
			goto out_reap;
		r.sercon = rc;
	}
	if (s->stdout_sock) {
		if ((rc = connect_console(&r, s->stdout_sock, err)) < 0)
			goto out_reap;
		r.outcon = rc;
	}
	if (s->stderr_sock) {
		if ((rc = connect_console(&r, s->stderr_sock, err)) < 0)
			goto out_reap;
		r.errcon = rc;
	}
	if (s->started)
		s->started(r.qemu, s->userdata);
	if (s->tty && tcgetattr(s->in_fd, &saved_tio) == 0) {
		struct termios t = saved_tio;
		cfmakeraw(&t);
		/* No "winsize" now: the run configuration carries the size at start, and QEMU
		 * would hold the line (and us) until the guest opens its control port. */
		raw = tcsetattr(s->in_fd, TCSANOW, &t) == 0;
	}
	relay_loop(&r);
	rc = 0;
out_reap:
	if (!r.qemu_done) {
		kill(r.qemu, SIGKILL);
		while (waitpid(r.qemu, &r.qemu_status, 0) < 0 && errno == EINTR)
			;
	}
	if (raw)
		tcsetattr(s->in_fd, TCSANOW, &saved_tio);
	if (r.con >= 0)
		close(r.con);
	if (r.sercon >= 0)
		close(r.sercon);
	if (r.q_fd >= 0)
		close(r.q_fd);
	free(r.q);
	if (r.outcon >= 0)
		close(r.outcon);
	if (r.errcon >= 0)
		close(r.errcon);
	if (rc == 0) {
		o2v_status_read(s->status_path, ret);
		if (!ret->reported && !ret->message[0]) {
			char tail[O2V_VM_MESSAGE_MAX - 64] = "";
			qemu_log_tail(s->qemu_log, tail, sizeof(tail));
			if (WIFSIGNALED(r.qemu_status))
				snprintf(ret->message, sizeof(ret->message),
					 "QEMU was killed by signal %d%s%s", WTERMSIG(r.qemu_status),
					 tail[0] ? ": " : "", tail);
			else
				snprintf(ret->message, sizeof(ret->message),
					 "the VM ended without reporting an exit status%s%s",
					 tail[0] ? ": " : "", tail);
		}
		if (WIFSIGNALED(r.qemu_status))
			ret->signal = WTERMSIG(r.qemu_status);
		if (!ret->reported)
			ret->code = ret->signal ? 128 + ret->signal : 125;
	}
out_sfd:
	close(r.sfd);
out_mask:
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return rc;
}
