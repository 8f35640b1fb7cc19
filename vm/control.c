/* control.c - the host's end of the control port, and QEMU's log. The messages themselves
 * are common/vmproto.c's; the status port is read by the relay (relay.c). */
#include "../common/o2v.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../common/fsutil.h"
#include "relay.h"
#include "supervise.h"

#define CONTROL_CONNECT_MS 2000 /* QEMU serves one client at a time: wait for a turn */
#define CONTROL_DRAIN_MS   2000 /* for QEMU to take a control line before we hang up */
#define QEMU_LOG_MAX	   (64 * 1024)

int o2v_unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
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

/* QEMU's socket chardev drops what it has not read yet when it sees the client hang up,
 * and a close() right after the write races its read. Half-close instead: QEMU reads the
 * line, then the end, and closes its side; we wait for that, bounded in total (a guest
 * that never opened the port leaves QEMU not reading, a hostile one may keep writing). */
static void drain_and_close(int fd)
{
	int64_t deadline = o2v_now_ms() + CONTROL_DRAIN_MS;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];

	shutdown(fd, SHUT_WR);
	for (int64_t left; (left = deadline - o2v_now_ms()) > 0;)
		if (poll(&p, 1, (int)left) <= 0 || read(fd, buf, sizeof(buf)) <= 0)
			break;
	close(fd);
}

int o2v_vm_control(const char *ctl_sock, const struct o2v_ctl_msg *msg, struct o2v_error *err)
{
	int64_t deadline = o2v_now_ms() + CONTROL_CONNECT_MS;
	char line[O2V_CTL_LINE_MAX];
	int n = o2v_ctl_format(msg, line, sizeof(line)), fd, r;

	if (n < 0)
		return o2v_error_set(err, -EINVAL, "control message out of range");
	while ((fd = o2v_unix_connect(ctl_sock)) < 0) {
		if (o2v_now_ms() > deadline || (fd != -ECONNREFUSED && fd != -EAGAIN))
			return o2v_error_sys(err, fd, "send '%.*s' to the VM", n - 1, line);
		usleep(20000);
	}
	r = o2v_write_all(fd, line, (size_t)n);
	if (r < 0) {
		close(fd);
		return o2v_error_sys(err, r, "send '%.*s' to the VM", n - 1, line);
	}
	drain_and_close(fd);
	return 0;
}

int o2v_vm_send(const char *state_dir, const struct o2v_ctl_msg *msg, struct o2v_error *err)
{
	_cleanup_free_ char *ctl = o2v_vm_file(state_dir, O2V_VM_CTL_SOCK);

	if (!ctl)
		return o2v_error_sys(err, -ENOMEM, "send to the VM");
	return o2v_vm_control(ctl, msg, err);
}

void o2v_qemu_log_tail(const char *path, char *out, size_t outlen)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (o2v_read_file(path, QEMU_LOG_MAX, &text, &len, NULL) < 0 || len == 0)
		return;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	char *start = strrchr(text, '\n');
	snprintf(out, outlen, "%s", start ? start + 1 : text);
	o2v_proto_sanitize(out);
}
