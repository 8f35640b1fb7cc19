/* control.c - the host's end of the control port, and QEMU's log. The messages themselves
 * are common/vmproto.c's; the status port is read by the relay (relay.c). */
#include "../common/o2v.h"

#include <poll.h>
#include <sys/random.h>
#include <time.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../common/fsutil.h"
#include "relay.h"
#include "supervise.h"

#define CONTROL_CONNECT_MS 2000 /* QEMU serves one client at a time: wait for a turn */
#define CONTROL_DRAIN_MS   2000 /* for QEMU to take a control line before we hang up */
#define CONFIGURE_DRAIN_MS 10000 /* ... a run configuration (up to 1 MiB) */
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
static void drain_and_close(int fd, int drain_ms)
{
	int64_t deadline = o2v_now_ms() + drain_ms;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[256];

	shutdown(fd, SHUT_WR);
	for (int64_t left; (left = deadline - o2v_now_ms()) > 0;)
		if (poll(&p, 1, (int)left) <= 0 || read(fd, buf, sizeof(buf)) <= 0)
			break;
	close(fd);
}

/* QEMU serves the control socket to one client at a time: wait for our turn. */
static int connect_control(const char *ctl_sock)
{
	int64_t deadline = o2v_now_ms() + CONTROL_CONNECT_MS;
	int fd;

	while ((fd = o2v_unix_connect(ctl_sock)) < 0) {
		if (o2v_now_ms() > deadline || (fd != -ECONNREFUSED && fd != -EAGAIN))
			return fd;
		usleep(20000);
	}
	return fd;
}

int o2v_vm_control(const char *ctl_sock, const struct o2v_ctl_msg *msg, struct o2v_error *err)
{
	char line[O2V_CTL_LINE_MAX];
	int n = o2v_ctl_format(msg, line, sizeof(line)), fd, r;

	if (n < 0)
		return o2v_error_set(err, -EINVAL, "control message out of range");
	if ((fd = connect_control(ctl_sock)) < 0)
		return o2v_error_sys(err, fd, "send '%.*s' to the VM", n - 1, line);
	r = o2v_write_all(fd, line, (size_t)n);
	if (r < 0) {
		close(fd);
		return o2v_error_sys(err, r, "send '%.*s' to the VM", n - 1, line);
	}
	drain_and_close(fd, CONTROL_DRAIN_MS);
	return 0;
}

static int send_msg(int fd, const struct o2v_ctl_msg *m)
{
	char line[O2V_CTL_LINE_MAX];
	int n = o2v_ctl_format(m, line, sizeof(line));

	return n < 0 ? n : o2v_write_all(fd, line, (size_t)n);
}

int o2v_vm_configure(const char *ctl_sock, const char *config, size_t len,
		     uint64_t disk_sectors, struct o2v_error *err)
{
	struct o2v_ctl_msg m = {.kind = O2V_CTL_ENTROPY, .a = O2V_CTL_ENTROPY_MAX};
	struct timespec now;
	int fd, r;

	if (getrandom(m.data, O2V_CTL_ENTROPY_MAX, 0) != O2V_CTL_ENTROPY_MAX)
		return o2v_error_sys(err, -errno, "get entropy for the VM");
	if ((fd = connect_control(ctl_sock)) < 0)
		return o2v_error_sys(err, fd, "send the run configuration to the VM");
	r = send_msg(fd, &m);
	/* The time last before the configuration: what the guest sets is at most a write old. */
	clock_gettime(CLOCK_REALTIME, &now);
	m = (struct o2v_ctl_msg){.kind = O2V_CTL_TIME, .a = (uint64_t)now.tv_sec,
				 .b = (uint64_t)now.tv_nsec};
	if (r == 0)
		r = send_msg(fd, &m);
	m = (struct o2v_ctl_msg){.kind = O2V_CTL_DISK, .a = disk_sectors};
	if (r == 0 && disk_sectors)
		r = send_msg(fd, &m);
	m = (struct o2v_ctl_msg){.kind = O2V_CTL_CONFIG, .a = len};
	if (r == 0)
		r = send_msg(fd, &m);
	if (r == 0)
		r = o2v_write_all(fd, config, len);
	if (r < 0) {
		close(fd);
		return o2v_error_sys(err, r, "send the run configuration to the VM");
	}
	drain_and_close(fd, CONFIGURE_DRAIN_MS);
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
