/* exec.c - o2v_vm_exec(): a process in a running VM, its stdio relayed; see vm.h.
 *
 * The client's side of the exec streams (common/muxproto.h): connect to the supervisor's
 * exec.sock, send OPEN, then relay. Output is written to the caller's descriptors before
 * its credit is granted back, so a slow reader holds back only this process. SIGINT,
 * SIGTERM and SIGHUP go to the process; SIGWINCH resizes its terminal. Going away closes
 * the stream: the guest kills the process.
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/fsutil.h"
#include "../common/muxproto.h"
#include "layout.h"
#include "supervise.h"
#include "vm.h"

struct client {
	int sock;
	const struct o2v_exec_io *io;
	uint32_t in_credit; /* what we may still send of stdin */
	bool in_open, started, exited;
	int code;
	char msg[O2V_VM_MESSAGE_MAX];
	struct o2v_mux_reader rd;
};

static int send_all(int sock, const void *p, size_t len)
{
	const char *b = p;

	while (len) {
		ssize_t n = send(sock, b, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			/* the socket is non-blocking for the reader: wait for room */
			struct pollfd room = {.fd = sock, .events = POLLOUT};
			poll(&room, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int sock, uint8_t type, uint8_t chan, const void *p, size_t len)
{
	uint8_t hdr[O2V_MUX_HDR];
	struct o2v_mux_hdr h = {.type = type, .chan = chan, .len = (uint32_t)len};

	o2v_mux_hdr_put(hdr, &h);
	/* MSG_NOSIGNAL: a supervisor that is gone is an error here, not our death. */
	if (send_all(sock, hdr, sizeof(hdr)) < 0 || (len && send_all(sock, p, len) < 0))
		return -EPIPE;
	return 0;
}

static int send_u32(int sock, uint8_t type, uint8_t chan, uint32_t v)
{
	uint8_t b[4];

	o2v_mux_u32_put(b, v);
	return send_frame(sock, type, chan, b, 4);
}

static void send_winsize(struct client *c)
{
	struct winsize ws;
	uint8_t b[4];

	if (ioctl(c->io->in_fd, TIOCGWINSZ, &ws) < 0)
		return;
	b[0] = (uint8_t)ws.ws_row;
	b[1] = (uint8_t)(ws.ws_row >> 8);
	b[2] = (uint8_t)ws.ws_col;
	b[3] = (uint8_t)(ws.ws_col >> 8);
	send_frame(c->sock, O2V_MUX_WINSIZE, 0, b, 4);
}

/* One frame from the supervisor. */
static void on_frame(struct client *c)
{
	const uint8_t *p = c->rd.payload;

	switch (c->rd.h.type) {
	case O2V_MUX_STARTED:
		c->started = true;
		break;
	case O2V_MUX_DATA: {
		int fd = c->rd.h.chan == O2V_MUX_STDERR ? c->io->err_fd : c->io->out_fd;
		if (fd >= 0)
			o2v_write_all(fd, p, c->rd.h.len); /* blocking: that is the backpressure */
		send_u32(c->sock, O2V_MUX_CREDIT, c->rd.h.chan, c->rd.h.len);
		break;
	}
	case O2V_MUX_CREDIT:
		if (c->rd.h.chan == O2V_MUX_STDIN)
			c->in_credit += o2v_mux_u32_get(p);
		break;
	case O2V_MUX_EXIT: {
		size_t n =
		    c->rd.h.len - 4 < sizeof(c->msg) - 1 ? c->rd.h.len - 4 : sizeof(c->msg) - 1;
		c->exited = true;
		c->code = (int)(o2v_mux_u32_get(p) & 0xff);
		memcpy(c->msg, p + 4, n);
		c->msg[n] = '\0';
		o2v_proto_sanitize(c->msg);
		break;
	}
	default:
		break;
	}
}

/* Frames as they come: false at EOF or a protocol error. */
static bool read_frames(struct client *c)
{
	int r;

	while ((r = o2v_mux_read(&c->rd, c->sock)) == 1)
		on_frame(c);
	return r == 0;
}

static void read_stdin(struct client *c)
{
	char buf[O2V_MUX_PAYLOAD_MAX];
	size_t want = c->in_credit < sizeof(buf) ? c->in_credit : sizeof(buf);
	ssize_t n = read(c->io->in_fd, buf, want);

	if (n > 0) {
		c->in_credit -= (uint32_t)n;
		send_frame(c->sock, O2V_MUX_DATA, O2V_MUX_STDIN, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		c->in_open = false;
		send_frame(c->sock, O2V_MUX_EOF, O2V_MUX_STDIN, NULL, 0);
	}
}

static void on_signals(struct client *c, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			send_winsize(c);
		else
			send_u32(c->sock, O2V_MUX_SIGNAL, 0, si.ssi_signo);
	}
}

/* false: the timeout passed first. */
static bool relay(struct client *c, int sfd)
{
	int64_t deadline = c->io->timeout_ms > 0 ? o2v_now_ms() + c->io->timeout_ms : 0;
	bool sock_open = true;

	while (sock_open && !c->exited && !(c->io->detach && c->started)) {
		int wait = -1;
		if (deadline) {
			int64_t left = deadline - o2v_now_ms();
			if (left <= 0)
				return false;
			wait = (int)left;
		}
		struct pollfd p[3] = {
		    {.fd = c->sock, .events = POLLIN},
		    {.fd = c->in_open && c->in_credit ? c->io->in_fd : -1, .events = POLLIN},
		    {.fd = sfd, .events = POLLIN},
		};
		if (poll(p, ARRAY_SIZE(p), wait) < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		if (p[2].revents & POLLIN)
			on_signals(c, sfd);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			sock_open = read_frames(c);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_stdin(c);
	}
	return true;
}

int o2v_vm_exec(const char *state_dir, const struct o2v_mux_exec *req, const struct o2v_exec_io *io,
		struct o2v_exec_result *ret, struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_vm_file(state_dir, O2V_VM_EXEC_SOCK);
	_cleanup_free_ char *open_req = NULL;
	struct client c = {.io = io, .in_credit = O2V_MUX_WINDOW, .in_open = io->in_fd >= 0};
	size_t len;
	sigset_t mask, old;
	int r;

	if (!path)
		return o2v_error_sys(err, -ENOMEM, "exec");
	if ((r = o2v_mux_exec_format(req, &open_req, &len, err)) < 0)
		return r;
	if ((c.sock = o2v_unix_connect(path)) < 0)
		return o2v_error_sys(err, c.sock,
				     "connect to the VM's exec socket (a VM started before oci2vm "
				     "had exec cannot run it)");
	fcntl(c.sock, F_SETFL, fcntl(c.sock, F_GETFL) | O_NONBLOCK); /* o2v_mux_read */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	struct termios saved;
	bool raw = false;
	if (req->tty && io->in_fd >= 0 && tcgetattr(io->in_fd, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(io->in_fd, TCSANOW, &t) == 0;
	}
	bool in_time = true;
	if (send_frame(c.sock, O2V_MUX_OPEN, 0, open_req, len) == 0) {
		if (req->tty)
			send_winsize(&c);
		in_time = relay(&c, sfd);
	}
	if (raw)
		tcsetattr(io->in_fd, TCSANOW, &saved);
	close(c.sock);
	o2v_mux_reader_release(&c.rd);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	memset(ret, 0, sizeof(*ret));
	if (!in_time)
		return o2v_error_set(err, -ETIMEDOUT, "the command did not end within %d ms",
				     io->timeout_ms);
	if (io->detach && c.started && !c.exited)
		return 0;
	if (!c.exited)
		return o2v_error_set(err, -ECONNRESET, "the VM stopped before the command ended");
	ret->code = c.code;
	memcpy(ret->message, c.msg, sizeof(ret->message));
	return 0;
}
