/* accel_probe.c - does KVM really run a guest here? See host.h.
 *
 * On nested-virtualisation hosts /dev/kvm can open fine, and even a trivial KVM_RUN of a few
 * real-mode instructions succeeds, while a real guest hangs right after the firmware. So
 * the probe boots a real guest: our kernel, with no root and panic=-1 reboot=t, which
 * panics at the end of its boot and reboots, which ends QEMU (-no-reboot). A QEMU still
 * running at the deadline is killed and the verdict is "no". The verdict holds until the
 * host reboots (bootcache.h), so runs do not pay for it.
 */
#include "../common/o2v.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "bootcache.h"
#include "host.h"
#include "relay.h"
#include "spawn.h"

#define PROBE_FILE "kvm-probe"

int o2v_accel_probe(const char *qemu, const char *kernel, enum o2v_accel accel, int timeout_ms)
{
	char *argv[] = {(char *)qemu,
			(char *)"-M",
			(char *)"microvm,x-option-roms=off,isa-serial=off,rtc=on,acpi=off",
			(char *)"-accel",
			(char *)(accel == O2V_ACCEL_KVM ? "kvm" : "tcg"),
			(char *)"-cpu",
			(char *)(accel == O2V_ACCEL_KVM ? "host" : "max"),
			(char *)"-m",
			(char *)"64M",
			(char *)"-no-reboot",
			(char *)"-nodefaults",
			(char *)"-no-user-config",
			(char *)"-display",
			(char *)"none",
			(char *)"-kernel",
			(char *)kernel,
			(char *)"-append",
			(char *)"console=none quiet panic=-1 reboot=t noreplace-smp",
			NULL};
	struct o2v_spawn sp = {.argv = argv};
	int64_t deadline = o2v_now_ms() + timeout_ms;
	int status;
	pid_t pid = o2v_spawn(&sp, NULL);

	if (pid < 0)
		return 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (w < 0 && errno != EINTR)
			return 0;
		if (o2v_now_ms() > deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		usleep(10000);
	}
}

bool o2v_kvm_works(const char *qemu, const char *kernel)
{
	char verdict[8];
	bool v;

	if (o2v_boot_cache_get(PROBE_FILE, verdict, sizeof(verdict)) &&
	    (!strcmp(verdict, "yes") || !strcmp(verdict, "no")))
		return !strcmp(verdict, "yes");
	v = o2v_accel_probe(qemu, kernel, O2V_ACCEL_KVM, O2V_KVM_PROBE_MS);
	o2v_boot_cache_put(PROBE_FILE, v ? "yes" : "no");
	return v;
}

int o2v_accel_pick(enum o2v_accel want, const char *qemu, const char *kernel, enum o2v_accel *ret,
		   const char **ret_note, struct o2v_error *err)
{
	enum o2v_accel a = o2v_accel_resolve(want);

	*ret_note = NULL;
	if (want == O2V_ACCEL_TCG)
		goto out;
	/* No usable /dev/kvm, or a CPU without vmx/svm (where guests hang): say so at once. */
	if (want == O2V_ACCEL_KVM && o2v_accel_resolve(O2V_ACCEL_AUTO) != O2V_ACCEL_KVM)
		return o2v_error_set(err, -ENODEV, "--accel kvm: %s: use --accel tcg or auto",
				     o2v_accel_why());
	if (want == O2V_ACCEL_AUTO && a == O2V_ACCEL_TCG) {
		if (access("/dev/kvm", F_OK) == 0 && access("/dev/kvm", R_OK | W_OK) < 0)
			*ret_note =
			    "running under TCG (slow): /dev/kvm is not usable by this user; "
			    "add it to the device's group (usually 'kvm') for KVM";
		goto out;
	}
	if (!o2v_kvm_works(qemu, kernel)) {
		if (want == O2V_ACCEL_KVM)
			return o2v_error_set(
			    err, -ENODEV,
			    "--accel kvm: KVM cannot run a guest on this host (a "
			    "test guest did not boot within %d s): use --accel tcg "
			    "or auto",
			    O2V_KVM_PROBE_MS / 1000);
		*ret_note = "KVM is present but a test guest did not boot with it: running under "
			    "TCG (slow)";
		a = O2V_ACCEL_TCG;
	}
out:
	*ret = a;
	return 0;
}
