/* cmd_info.c - `oci2vm info`: what this oci2vm will use, and where it keeps things.
 *
 * One "name: value" line each, so a user (or a bug report) sees at once which kernel, init,
 * QEMU and BusyBox a run would take and why, which accelerator `--accel auto` picks and
 * why, and the cache and runtime directories. A part that is missing is shown with the
 * error a run would give, and the exit status is 1 then.
 */
#include "../common/o2v.h"

#include <string.h>

#include "../common/paths.h"
#include "../vm/host.h"
#include "assets.h"
#include "cli.h"
#include "commands.h"

static bool show(const char *name, int r, const char *path, const char *how,
		 const struct o2v_error *err)
{
	if (r < 0)
		printf("%-9s missing: %s\n", name, err->msg);
	else if (!path)
		printf("%-9s none (%s)\n", name, how);
	else
		printf("%-9s %s (%s)\n", name, path, how);
	return r >= 0;
}

/* What a run's --accel auto gets: with a kernel and QEMU, including the KVM test boot. */
static void show_accel(const char *qemu, const char *kernel)
{
	enum o2v_accel a = o2v_accel_resolve(O2V_ACCEL_AUTO);
	const char *note = NULL;
	struct o2v_error err = {0};

	if (a == O2V_ACCEL_KVM && qemu && kernel &&
	    o2v_accel_pick(O2V_ACCEL_AUTO, qemu, kernel, &a, &note, &err) < 0)
		a = O2V_ACCEL_TCG;
	printf("%-9s --accel auto picks %s: %s\n", "accel:", o2v_accel_name(a),
	       note ? note : o2v_accel_why());
}

int cmd_info(int argc, char **argv)
{
	_cleanup_free_ char *kernel = NULL, *init = NULL, *busybox = NULL, *qemu = NULL,
			    *cache = NULL, *runtime = NULL, *preload = o2v_find_qemu_net_preload();
	struct o2v_error err = {0};
	const char *how = NULL, *bb_env = getenv("OCI2VM_BUSYBOX");
	bool ok = true;
	int r;

	(void)argv;
	if (argc > 1)
		return o2v_cli_usage_error("info", "takes no arguments");
	printf("%-9s %s\n", "oci2vm", O2V_VERSION);
	r = o2v_kernel_locate(NULL, &kernel, &how, &err);
	ok &= show("kernel:", r, kernel, how, &err);
	r = o2v_find_init(&init, &err);
	ok &= show("init:", r, init, getenv("OCI2VM_INIT") ? "OCI2VM_INIT" : "beside oci2vm", &err);
	r = o2v_qemu_find(NULL, &qemu, &err);
	ok &= show("qemu:", r, qemu, "PATH", &err);
	r = o2v_find_busybox(&busybox, &err);
	show("busybox:", r, busybox,
	     busybox ? (bb_env && *bb_env ? "OCI2VM_BUSYBOX" : "the --shell shim")
		     : "no static BusyBox: --shell is unavailable (apt-get install busybox-static)",
	     &err);
	printf("%-9s %s\n", "preload:",
	       preload ? preload
		       : "none: VMs with a network need --host-loopback (reinstall oci2vm)");
	show_accel(qemu, kernel);
	r = o2v_cache_dir(&cache, &err);
	ok &= show("cache:", r, cache,
		   "OCI2VM_CACHE, else XDG_CACHE_HOME/oci2vm or ~/.cache/oci2vm", &err);
	r = o2v_runtime_dir(&runtime, &err);
	ok &= show("runtime:", r, runtime,
		   "OCI2VM_RUNTIME_DIR, else XDG_RUNTIME_DIR/oci2vm or /tmp/oci2vm-UID", &err);
	return ok ? O2V_EXIT_OK : O2V_EXIT_FAILURE;
}
