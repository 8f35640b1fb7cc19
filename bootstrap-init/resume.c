/* resume.c - init booted without a run configuration: the template of pre-booted VMs.
 *
 * When the host means to save a VM as a snapshot (vm/snapshot.h) it boots init with no
 * run.conf in the initramfs. init then mounts nothing of any image: it reports `ready`
 * on the status port and waits on the control port. The host saves the VM at that point,
 * and every VM restored from the snapshot wakes up in this wait, to be sent, in order:
 *   entropy HEX   VMs restored from one snapshot share the kernel's random state until
 *                 it is reseeded: the bytes are credited to the input pool, and the CRNG
 *                 reseeded before anything else runs;
 *   time S NS     the clock stopped when the snapshot was saved;
 *   disk N        the root disk's size (see disk_settle());
 *   config N      then N bytes: the run configuration, as run.conf would hold it.
 * A `stop` or a signal before the configuration ends the VM as it would end a workload.
 *
 * No host connected reads as EOF on a virtio port. A restored VM must not lose its first
 * milliseconds to a polling period, so the port raises SIGIO (O_ASYNC) when the host
 * connects or data arrives, and the wait is sigtimedwait() on it; a slow poll is only the
 * fallback. Lines are read a byte at a time, so nothing after `config N` is taken as a
 * line.
 */
#include "init.h"

#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "../common/fsutil.h"

/* <linux/random.h>, which the static (musl) build has no copy of. */
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#define RNDRESEEDCRNG _IO('R', 0x07)

#define RESUME_IDLE_MS 20 /* the fallback when no SIGIO comes */

struct resume {
	struct o2v_line_reader reader;
	bool have_config;
	size_t config_len;
	uint64_t disk_sectors; /* 0: no `disk N` (booted, not restored) */
};

static void wait_for_port(void)
{
	sigset_t sigio;
	struct timespec ts = {0, RESUME_IDLE_MS * 1000000L};

	sigemptyset(&sigio);
	sigaddset(&sigio, SIGIO);
	sigtimedwait(&sigio, NULL, &ts);
}

/* Some bytes: > 0, or a negative errno other than "nothing yet". */
static ssize_t read_waiting(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r > 0)
			return r;
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		wait_for_port(); /* 0: no host connected; EAGAIN: connected, nothing sent */
	}
}

static void add_entropy(const uint8_t *data, size_t n)
{
	struct { /* struct rand_pool_info and its buffer */
		int entropy_count, buf_size;
		uint8_t buf[O2V_CTL_ENTROPY_MAX];
	} req = {.entropy_count = (int)(n * 8), .buf_size = (int)n};
	_cleanup_close_ int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);

	memcpy(req.buf, data, n);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &req) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		init_log("could not reseed the random number generator: %s", strerror(errno));
}

static void resume_line(const char *line, void *ud)
{
	struct resume *s = ud;
	struct o2v_ctl_msg m;

	if (!line || o2v_ctl_parse(line, &m) < 0) {
		init_log("ignoring a control line while waiting for a run configuration");
		return;
	}
	switch (m.kind) {
	case O2V_CTL_ENTROPY:
		add_entropy(m.data, m.a);
		break;
	case O2V_CTL_TIME: {
		struct timespec ts = {.tv_sec = (time_t)m.a, .tv_nsec = (long)m.b};
		if (clock_settime(CLOCK_REALTIME, &ts) < 0)
			init_log("could not set the clock: %s", strerror(errno));
		break;
	}
	case O2V_CTL_CONFIG:
		s->have_config = true;
		s->config_len = m.a;
		break;
	case O2V_CTL_DISK:
		s->disk_sectors = m.a;
		break;
	case O2V_CTL_STOP:
		init_shutdown(O2V_EXIT_SIGNAL_BASE + SIGTERM);
	case O2V_CTL_SIGNAL:
		init_shutdown(O2V_EXIT_SIGNAL_BASE + (int)m.a);
	case O2V_CTL_WINSIZE:
	case O2V_CTL_EOF:
	case O2V_CTL_START:
		break; /* nothing runs yet */
	}
}

/* The root disk of a restored VM is not the one the kernel probed before the save, and
 * QEMU says nothing of it on restore. The host resizes the disk to its own size right after
 * the restore (QMP block_resize), which makes QEMU raise virtio's configuration-change
 * interrupt: the driver re-reads the capacity in a kernel worker. The host's `disk N` says
 * what that capacity must be; once it is, the blocks cached of the old disk are dropped
 * (BLKFLSBUF), so the mount reads the new one. (Unbinding and probing the device again
 * would do the same at ~37 ms under TCG; this costs ~1.) */
#define DISK_SIZE_WAIT_MS 2000
#define BLKFLSBUF	  _IO(0x12, 97) /* <linux/fs.h> */

static int disk_settle(const char *dev, uint64_t sectors, struct o2v_error *err)
{
	const char *name = strrchr(dev, '/');
	char path[128], buf[32];
	uint64_t now = 0;

	snprintf(path, sizeof(path), "/sys/block/%s/size", name ? name + 1 : dev);
	for (int waited = 0;; waited++) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			now = strtoull(buf, NULL, 10);
			if (now == sectors)
				break;
		}
		if (waited >= DISK_SIZE_WAIT_MS)
			return o2v_error_set(err, -ETIMEDOUT,
					     "the root disk '%s' still has %" PRIu64
					     " sectors, not %" PRIu64 ", after the restore",
					     dev, now, sectors);
		usleep(1000);
	}
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKFLSBUF, 0) < 0)
		return o2v_error_sys(err, -errno, "drop the cached blocks of '%s'", dev);
	return 0;
}

int init_resume_wait(int ctl_fd, char **ret_text, size_t *ret_len, struct o2v_error *err)
{
	struct resume s = {.reader = {.max = O2V_CTL_LINE_MAX}};
	sigset_t sigio, old;
	_cleanup_free_ char *text = NULL;
	size_t got = 0;
	int flags = fcntl(ctl_fd, F_GETFL), r;
	char c;

	sigemptyset(&sigio);
	sigaddset(&sigio, SIGIO);
	sigprocmask(SIG_BLOCK, &sigio, &old);
	if (fcntl(ctl_fd, F_SETOWN, getpid()) < 0 || fcntl(ctl_fd, F_SETFL, flags | O_ASYNC) < 0)
		init_debug("no SIGIO from the control port: polling it");
	/* What every run of this shape does the same way is done once, here, and saved: the
	 * network's fixed addresses (a VM has eth0 exactly when its run has a network). */
	struct o2v_error net_err;
	if (init_net_setup(if_nametoindex("eth0") != 0, NULL, &net_err) < 0)
		init_debug("network not set up before the snapshot: %s", net_err.msg);
	/* ... and the workload's cgroup with its device rule (loading the BPF program costs
	 * ~10 ms under TCG): a run without a terminal on the console gets this one. */
	static struct init_confine confine;
	if (init_confine_prepare(&confine, false, &net_err) < 0)
		init_debug("workload cgroup not prepared before the snapshot: %s", net_err.msg);
	init_status(&(struct o2v_status_msg){.kind = O2V_STATUS_READY});
	init_trace("ready");
	while (!s.have_config) {
		ssize_t n = read_waiting(ctl_fd, &c, 1);
		if (n < 0)
			return o2v_error_sys(err, (int)n, "read the control port");
		o2v_line_feed(&s.reader, &c, 1, resume_line, &s);
	}
	init_trace("resumed");
	if (!(text = malloc(s.config_len + 1)))
		return o2v_error_sys(err, -ENOMEM, "read the run configuration");
	while (got < s.config_len) {
		ssize_t n = read_waiting(ctl_fd, text + got, s.config_len - got);
		if (n < 0)
			return o2v_error_sys(err, (int)n, "read the run configuration");
		got += (size_t)n;
	}
	text[got] = '\0';
	fcntl(ctl_fd, F_SETFL, flags);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (s.disk_sectors && (r = disk_settle("/dev/vda", s.disk_sectors, err)) < 0)
		return r;
	*ret_text = TAKE_PTR(text);
	*ret_len = got;
	return 0;
}
