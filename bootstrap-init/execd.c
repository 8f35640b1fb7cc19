/* execd.c - `oci2vm exec` inside the guest: processes started in the running container on
 * request, their stdio carried as frames on the exec port (common/muxproto.h).
 *
 * PID 1's loop (supervise.c) polls what execd asks for. Each stream is one process, started
 * as the workload was (init_spawn: the container root, its cgroup and capabilities, the
 * user, the working directory, the container's environment under the request's), with
 * pipes, or a pty of the container's devpts instance with a terminal. Output is read only
 * while the host has granted credit for it and the port's queue has room, so a slow client
 * holds back its own process and nothing else; stdin the host sends is within the credit
 * this side granted, so its buffer is bounded by the window.
 *
 * The end: the process is reaped (supervise.c hands execd every pid that is not the
 * workload's), its output drained, then EOF per channel and EXIT with its status. CLOSE (the
 * client went away) kills the process's group: nothing outlives its client but a detached
 * exec (-d), whose output goes nowhere.
 */
#include "init.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "../common/muxproto.h"

#define OUTQ_MAX (512 * 1024) /* frames waiting for the port: output is read below this */
#define OUTQ_CAP (OUTQ_MAX + 2 * (O2V_MUX_PAYLOAD_MAX + 64)) /* ... and stored below this */

struct stream {
	bool used, reaped, closed, tty;
	uint32_t id;
	pid_t pid;
	int status;
	int in_fd;	    /* stdin pipe or pty master; -1: none or closed */
	int out_fd[2];	    /* stdout, stderr read ends (tty: [0] the master) */
	bool out_done[2];   /* EOF sent */
	uint32_t credit[2]; /* what the host lets us send on stdout, stderr */
	char *in_buf;	    /* stdin from the host not yet in the pipe */
	size_t in_len;
	bool in_eof; /* the host's stdin ended: close in_fd once in_buf is out */
};

static struct {
	int port;
	const struct init_execd_ctx *ctx;
	struct stream s[O2V_MUX_STREAMS_MAX];
	struct o2v_mux_reader rd; /* frames from the host */
	struct o2v_mux_queue out; /* frames for the host */
} d = {.port = -1};

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void queue(uint8_t type, uint8_t chan, uint32_t stream, const void *p, size_t len)
{
	if (o2v_mux_queue_frame(&d.out, OUTQ_CAP, type, chan, stream, p, len) < 0)
		init_log("exec: the port's queue is full; dropping a frame");
}

static void queue_u32(uint8_t type, uint8_t chan, uint32_t stream, uint32_t v)
{
	uint8_t b[4];

	o2v_mux_u32_put(b, v);
	queue(type, chan, stream, b, 4);
}

static struct stream *find(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(d.s); i++)
		if (d.s[i].used && d.s[i].id == id)
			return &d.s[i];
	return NULL;
}

static void release(struct stream *s)
{
	closefd(&s->in_fd);
	closefd(&s->out_fd[0]);
	closefd(&s->out_fd[1]);
	free(s->in_buf);
	*s = (struct stream){.in_fd = -1, .out_fd = {-1, -1}};
}

static void fail_open(uint32_t id, int code, const char *msg)
{
	uint8_t b[4 + 256];
	size_t n = strlen(msg) < 256 ? strlen(msg) : 256;

	o2v_mux_u32_put(b, (uint32_t)code);
	memcpy(b + 4, msg, n);
	queue(O2V_MUX_EXIT, 0, id, b, 4 + n);
}

/* The container's environment with the request's variables over it. */
static char **merged_env(const struct o2v_mux_exec *e)
{
	size_t n = 0, m = 0;
	char *const *base = d.ctx->env;

	while (base && base[n])
		n++;
	while (e->env[m])
		m++;
	char **env = calloc(n + m + 1, sizeof(*env));
	size_t k = 0;
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strcspn(base[i], "=") + 1;
		bool over = false;
		for (size_t j = 0; j < m && !over; j++)
			over = !strncmp(e->env[j], base[i], kl);
		if (!over)
			env[k++] = base[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)e->env[j];
	return env;
}

static int start(struct stream *s, const struct o2v_mux_exec *e, struct o2v_error *err)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, slave = -1, code = 0;
	_cleanup_free_ char **env = merged_env(e);
	struct init_spawn sp = {
	    .root = d.ctx->root,
	    .workdir = e->workdir ? e->workdir : d.ctx->workdir,
	    .argv = (char *const *)e->argv,
	    .env = env,
	    .user = e->user ? e->user : d.ctx->user,
	    .stdin_open = e->stdin_open,
	    .stdin_fd = -1,
	    .stdout_fd = -1,
	    .stderr_fd = -1,
	    .tty_fd = -1,
	    .confine = d.ctx->confine,
	    .caps = d.ctx->caps,
	    .ulimits = d.ctx->ulimits,
	    .n_ulimits = d.ctx->n_ulimits,
	    .no_new_privs = d.ctx->no_new_privs,
	};

	if (!env)
		return o2v_error_sys(err, -ENOMEM, "exec");
	if (e->detach) {
		sp.stdin_open = false; /* /dev/null in, and out: a detached exec's output is lost */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		sp.stdout_fd = sp.stderr_fd = null;
	} else if (e->tty) {
		if ((s->in_fd = init_pty_open(d.ctx->root, e->rows, e->cols, &slave, NULL)) < 0)
			return o2v_error_sys(err, s->in_fd, "exec: a terminal");
		s->out_fd[0] = fcntl(s->in_fd, F_DUPFD_CLOEXEC, 3);
		s->out_done[1] = true;
		s->tty = true;
		sp.tty_fd = slave;
	} else {
		if ((e->stdin_open && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
		    pipe2(errp, O_CLOEXEC) < 0)
			return o2v_error_sys(err, -errno, "exec: pipes");
		sp.stdin_fd = in[0];
		sp.stdout_fd = out[1];
		sp.stderr_fd = errp[1];
		s->in_fd = in[1];
		s->out_fd[0] = out[0];
		s->out_fd[1] = errp[0];
	}
	s->pid = init_spawn(&sp, &code, err);
	int child_ends[] = {in[0], out[1], errp[1], slave, sp.stdout_fd};
	for (size_t i = 0; i < ARRAY_SIZE(child_ends); i++)
		if (child_ends[i] >= 0 && (i < 4 || e->detach))
			close(child_ends[i]);
	if (s->pid < 0)
		return code ? -code : -EINVAL;
	for (int i = 0; i < 3; i++) {
		int fd = i == 0 ? s->in_fd : s->out_fd[i - 1];
		if (fd >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	return 0;
}

static void on_open(uint32_t id)
{
	struct o2v_mux_exec e;
	struct o2v_error err = {0};
	struct stream *s = NULL;
	int r;

	if (find(id))
		return fail_open(id, O2V_EXIT_INIT_FAILED, "exec: stream id in use");
	for (size_t i = 0; i < ARRAY_SIZE(d.s) && !s; i++)
		if (!d.s[i].used)
			s = &d.s[i];
	if (!s)
		return fail_open(id, O2V_EXIT_INIT_FAILED, "exec: too many execs at once");
	if (o2v_mux_exec_parse((char *)d.rd.payload, d.rd.h.len, &e, &err) < 0)
		return fail_open(id, O2V_EXIT_INIT_FAILED, err.msg);
	*s = (struct stream){.used = true,
			     .id = id,
			     .in_fd = -1,
			     .out_fd = {-1, -1},
			     .credit = {O2V_MUX_WINDOW, O2V_MUX_WINDOW}};
	if ((r = start(s, &e, &err)) < 0) {
		release(s);
		return fail_open(id, -r >= 1 && -r <= 255 ? -r : O2V_EXIT_INIT_FAILED, err.msg);
	}
	queue_u32(O2V_MUX_STARTED, 0, id, (uint32_t)s->pid);
	if (e.detach) {
		release(s); /* reaped like any orphan; nothing to report */
		return;
	}
	if (!e.stdin_open && !e.tty)
		s->in_eof = true;
	init_debug("exec %u: pid %d", id, (int)s->pid);
}

static void on_frame(void)
{
	const struct o2v_mux_hdr *h = &d.rd.h;
	struct stream *s = h->type == O2V_MUX_OPEN ? NULL : find(h->stream);
	const uint8_t *p = d.rd.payload;

	if (h->type == O2V_MUX_OPEN)
		return on_open(h->stream);
	if (!s)
		return; /* an old stream's late frame */
	switch (h->type) {
	case O2V_MUX_DATA:
		if (h->chan != O2V_MUX_STDIN || s->in_fd < 0 || s->in_eof)
			return;
		if (s->in_len + h->len > O2V_MUX_WINDOW) {
			init_log("exec %u: stdin past its credit; dropped", s->id);
			return;
		}
		if (!s->in_buf && !(s->in_buf = malloc(O2V_MUX_WINDOW)))
			return;
		memcpy(s->in_buf + s->in_len, p, h->len);
		s->in_len += h->len;
		return;
	case O2V_MUX_EOF:
		s->in_eof = true;
		return;
	case O2V_MUX_CREDIT:
		if (h->chan == O2V_MUX_STDOUT || h->chan == O2V_MUX_STDERR) {
			uint32_t *c = &s->credit[h->chan - 1];
			uint32_t add = o2v_mux_u32_get(p);
			*c = *c + add > O2V_MUX_WINDOW * 4u ? O2V_MUX_WINDOW * 4u : *c + add;
		}
		return;
	case O2V_MUX_SIGNAL:
		if (!s->reaped && o2v_mux_u32_get(p) > 0 && o2v_mux_u32_get(p) < 65)
			kill(s->pid, (int)o2v_mux_u32_get(p));
		return;
	case O2V_MUX_WINSIZE:
		if (s->tty && s->in_fd >= 0)
			init_console_winsize(s->in_fd, (unsigned)(p[0] | p[1] << 8),
					     (unsigned)(p[2] | p[3] << 8));
		return;
	case O2V_MUX_CLOSE:
		s->closed = true;
		if (!s->reaped) {
			kill(-s->pid, SIGKILL); /* its session: setsid() made it the group leader */
			kill(s->pid, SIGKILL);
		} else {
			release(s);
		}
		return;
	}
}

/* Frames from the port; a bad header is dropped and the next bytes are read as a header
 * (the host end is trusted, but not blindly). */
static void port_read(void)
{
	int r;

	while ((r = o2v_mux_read(&d.rd, d.port)) != 0) {
		if (r == 1)
			on_frame();
		else if (r == -EBADMSG)
			init_log("exec: a bad frame header; ignored");
		else
			return; /* no host (EOF), or out of memory: try again on the next event */
	}
}

int init_execd_open(const struct init_execd_ctx *ctx)
{
	d.ctx = ctx;
	for (size_t i = 0; i < ARRAY_SIZE(d.s); i++)
		d.s[i] = (struct stream){.in_fd = -1, .out_fd = {-1, -1}};
	d.port = init_port_open(O2V_PORT_EXEC, NULL, O_RDWR);
	if (d.port < 0)
		return d.port; /* a VM booted without it: no exec */
	return 0;
}

size_t init_execd_poll(struct pollfd *p, size_t max)
{
	size_t n = 0;

	if (d.port < 0 || max < 1)
		return 0;
	p[n++] = (struct pollfd){.fd = d.port,
				 .events = POLLIN | (o2v_mux_queued(&d.out) ? POLLOUT : 0)};
	for (size_t i = 0; i < ARRAY_SIZE(d.s) && n + 3 <= max; i++) {
		struct stream *s = &d.s[i];
		bool room = o2v_mux_queued(&d.out) < OUTQ_MAX;
		p[n++] =
		    (struct pollfd){.fd = s->used && s->in_len ? s->in_fd : -1, .events = POLLOUT};
		for (int c = 0; c < 2; c++)
			p[n++] = (struct pollfd){
			    .fd = s->used && room && s->credit[c] && !s->out_done[c] ? s->out_fd[c]
										     : -1,
			    .events = POLLIN};
	}
	return n;
}

/* Read what the channel has (within credit and room); EOF (or, once the process is gone,
 * nothing more) ends it. */
static void pump_out(struct stream *s, int c)
{
	char buf[O2V_MUX_PAYLOAD_MAX];

	while (!s->out_done[c] && s->credit[c] && o2v_mux_queued(&d.out) < OUTQ_MAX) {
		size_t want = s->credit[c] < sizeof(buf) ? s->credit[c] : sizeof(buf);
		ssize_t n = read(s->out_fd[c], buf, want);
		if (n > 0) {
			queue(O2V_MUX_DATA, (uint8_t)(c + 1), s->id, buf, (size_t)n);
			s->credit[c] -= (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN && !s->reaped)
			return;
		/* EOF, EIO (a pty whose last writer is gone), or drained after the exit */
		s->out_done[c] = true;
		queue(O2V_MUX_EOF, (uint8_t)(c + 1), s->id, NULL, 0);
	}
}

static void pump_in(struct stream *s)
{
	if (s->in_len && s->in_fd >= 0) {
		ssize_t n = write(s->in_fd, s->in_buf, s->in_len);
		if (n > 0) {
			memmove(s->in_buf, s->in_buf + n, s->in_len - (size_t)n);
			s->in_len -= (size_t)n;
			queue_u32(O2V_MUX_CREDIT, O2V_MUX_STDIN, s->id, (uint32_t)n);
		} else if (n < 0 && errno != EAGAIN) {
			s->in_len = 0; /* the process closed its stdin */
			s->in_eof = true;
		}
	}
	/* The host's stdin ended: the pipe's end tells the process. A pty's master is its
	 * output too, and stays. */
	if (s->in_eof && !s->in_len && !s->tty)
		closefd(&s->in_fd);
}

static void finish(struct stream *s)
{
	if (!s->reaped || !s->out_done[0] || !s->out_done[1])
		return;
	if (!s->closed) {
		uint8_t b[4];
		int st = s->status;
		o2v_mux_u32_put(b, WIFEXITED(st) ? (uint32_t)WEXITSTATUS(st)
				   : WIFSIGNALED(st)
				       ? (uint32_t)(O2V_EXIT_SIGNAL_BASE + WTERMSIG(st))
				       : O2V_EXIT_INIT_FAILED);
		queue(O2V_MUX_EXIT, 0, s->id, b, 4);
	}
	release(s);
}

void init_execd_events(const struct pollfd *p, size_t n)
{
	if (d.port < 0 || n < 1)
		return;
	if (p[0].revents & POLLOUT)
		o2v_mux_queue_flush(&d.out, d.port);
	if (p[0].revents & POLLIN)
		port_read();
	for (size_t i = 0, k = 1; i < ARRAY_SIZE(d.s) && k + 3 <= n; i++, k += 3) {
		struct stream *s = &d.s[i];
		if (!s->used)
			continue;
		if (p[k].revents || s->in_len || s->in_eof)
			pump_in(s);
		for (int c = 0; c < 2; c++)
			if ((p[k + 1 + c].revents || s->reaped) && !s->out_done[c] &&
			    s->out_fd[c] >= 0)
				pump_out(s, c);
			else if (s->out_fd[c] < 0 && !s->out_done[c])
				s->out_done[c] = true;
		finish(s);
	}
}

bool init_execd_reaped(pid_t pid, int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(d.s); i++) {
		struct stream *s = &d.s[i];
		if (s->used && s->pid == pid && !s->reaped) {
			s->reaped = true;
			s->status = status;
			if (s->closed)
				release(s);
			return true;
		}
	}
	return false;
}

void init_execd_kill_all(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(d.s); i++)
		if (d.s[i].used && !d.s[i].reaped)
			kill(-d.s[i].pid, SIGKILL);
}
