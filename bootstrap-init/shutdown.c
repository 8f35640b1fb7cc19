/* shutdown.c - the only way out of PID 1: report, clean up, reboot.
 *
 * Order matters: the exit line goes to the status port last, after the disk
 * is unmounted (or read-only), so a host that sees `exit N` may reuse the
 * disk at once. With `reboot=t` and QEMU's -no-reboot, the reboot ends QEMU.
 * If reboot() itself fails there is nothing left to do but wait: returning
 * from PID 1 would panic the kernel.
 *
 * The workload's stdout and stderr ports were drained before (outrelay.c).
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

void init_shutdown_configure(const struct o2v_runconfig *rc)
{
	ephemeral_root = rc->ephemeral || !rc->rootdisk;
	have_volumes = rc->n_volumes > 0;
}

void init_shutdown(int code)
{
	if (code < 0 || code > 255)
		code = O2V_EXIT_INIT_FAILED;
	init_trace_dump();
	init_debug("shutting down, exit %d", code);
	init_status_open(); /* before /sys and /dev go */
	if (!ephemeral_root) {
		sync();
		init_unmount_all();
		sync();
	} else if (have_volumes) {
		sync();
	}
	init_status(&(struct o2v_status_msg){.kind = O2V_STATUS_EXIT, .code = code});
	/* Whatever the workload printed must reach the host before QEMU exits. */
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

void init_fail(int code, const struct o2v_error *err)
{
	struct o2v_status_msg m = {.kind = O2V_STATUS_ERROR};

	/* Cut to what one status line carries (the console line below has it whole). */
	snprintf(m.text, sizeof(m.text), "%.*s", (int)sizeof(m.text) - 1,
		 err && err->msg[0] ? err->msg : "unknown failure");
	init_log("%s", err && err->msg[0] ? err->msg : "unknown failure");
	init_status(&m);
	init_shutdown(code);
}
