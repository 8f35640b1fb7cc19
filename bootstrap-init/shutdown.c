/* shutdown.c - the only way out of PID 1: report, clean up, reboot.
 *
 * Order matters: the exit line goes to the status port last, after the disk
 * is unmounted (or read-only), so a host that sees "exit N" may reuse the
 * disk at once. With `reboot=t` and QEMU's -no-reboot, the reboot ends QEMU.
 * If reboot() itself fails there is nothing left to do but wait: returning
 * from PID 1 would panic the kernel.
 *
 * The workload's stdout and stderr ports are drained first (below).
 * A root disk whose writes QEMU throws away (`run`'s snapshot) is neither
 * synced nor unmounted (~20 ms under TCG); only shared volumes are synced,
 * since their writes are the host's files.
 */
#include "init.h"

#include <signal.h>
#include <sys/reboot.h>
#include <termios.h>

static bool ephemeral_root;
static bool have_volumes;
static int drain_fds[2] = {-1, -1};

void init_shutdown_drain(int fd)
{
	for (size_t i = 0; i < ARRAY_SIZE(drain_fds); i++)
		if (drain_fds[i] < 0 || drain_fds[i] == fd) {
			drain_fds[i] = fd;
			return;
		}
}

void init_shutdown_configure(const struct o2v_runconfig *rc)
{
	ephemeral_root = rc->ephemeral || !rc->rootdisk;
	have_volumes = rc->n_volumes > 0;
}

void init_shutdown(int code)
{
	if (code < 0 || code > 255)
		code = INIT_EXIT_FAILED;
	init_trace_dump();
	init_debug("shutting down, exit %d", code);
	/* The workload's output ports: a write returns once queued, and QEMU takes the queue
	 * only as fast as the host reads; what it has not taken is lost at power-off. Our
	 * kernel's fsync() on a port waits for that (kernel/patches/0004). */
	for (size_t i = 0; i < ARRAY_SIZE(drain_fds); i++)
		if (drain_fds[i] >= 0)
			fsync(drain_fds[i]);
	init_status_open(); /* before /sys and /dev go */
	if (!ephemeral_root) {
		sync();
		init_unmount_all();
		sync();
	} else if (have_volumes) {
		sync();
	}
	init_status("exit %d", code);
	/* Whatever the workload printed must reach the host before QEMU exits. */
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

void init_fail(int code, const struct o2v_error *err)
{
	const char *msg = err && err->msg[0] ? err->msg : "unknown failure";

	init_log("%s", msg);
	init_status("error %s", msg);
	init_shutdown(code);
}
