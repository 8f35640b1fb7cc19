/* host.h - what the VM library finds out about this machine: QEMU, the kernel, the
 * accelerator and the TSC rate. Everything that inspects the machine is here, so the argv
 * builder (qemu.h) stays pure.
 */
#ifndef O2V_VM_HOST_H
#define O2V_VM_HOST_H

#include "../common/error.h"
#include "vm.h"

/* Find QEMU: an explicit path, else qemu-system-x86_64 in $PATH. -ENOENT names the Debian
 * package to install. ret_path is malloc'ed. */
int o2v_qemu_find(const char *explicit_path, char **ret_path, struct o2v_error *err);

/* The first executable regular file called name in $PATH (malloc'ed), or NULL. */
char *o2v_find_in_path(const char *name);

/* "auto", "kvm", "tcg" → enum; anything else is -EINVAL naming the value. */
int o2v_accel_parse(const char *s, enum o2v_accel *ret, struct o2v_error *err);

/* Resolve AUTO: KVM only when /dev/kvm is readable and writable and the CPU flags in
 * /proc/cpuinfo show vmx or svm (a nested guest without them hangs after the firmware);
 * otherwise TCG. KVM and TCG are returned unchanged (an explicit choice is obeyed). */
enum o2v_accel o2v_accel_resolve(enum o2v_accel want);

/* The same decision from explicit inputs, for tests: kvm_rw = /dev/kvm is usable,
 * cpuinfo = the text of /proc/cpuinfo (NULL: unreadable). */
enum o2v_accel o2v_accel_choose(enum o2v_accel want, bool kvm_rw, const char *cpuinfo);

const char *o2v_accel_name(enum o2v_accel a);

/* Why AUTO resolves the way it does on this host, one line (a static string). */
const char *o2v_accel_why(void);

/* Boot kernel with QEMU under accel and no root: it panics at the end of its boot and
 * reboots, which ends QEMU. True when that happened within timeout_ms (a QEMU still
 * running then is killed). */
/* Our kernel's test boot takes ~0.2 s under KVM on hardware, 2-4 s in a nested guest whose
 * own KVM runs under TCG (measured): 10 s leaves room, and a hang costs it once per boot. */
#define O2V_KVM_PROBE_MS 10000
int o2v_accel_probe(const char *qemu, const char *kernel, enum o2v_accel accel, int timeout_ms);

/* o2v_accel_probe() with KVM, its verdict remembered until the host reboots. */
bool o2v_kvm_works(const char *qemu, const char *kernel);

/* The accelerator a VM gets: TCG as asked; KVM only where the probe boots a guest with it
 * (else --accel kvm is -ENODEV saying why, within O2V_KVM_PROBE_MS); AUTO is KVM where
 * /dev/kvm, the CPU flags and the probe agree, else TCG, with *ret_note a one-line hint for
 * the user when KVM exists but is not used (a static string; NULL: nothing to say). */
int o2v_accel_pick(enum o2v_accel want, const char *qemu, const char *kernel, enum o2v_accel *ret,
		   const char **ret_note, struct o2v_error *err);

/* The host's TSC rate in kHz, measured (about 10 ms, once per host boot); 0 where it cannot
 * be known (no invariant TSC, not x86-64). Under TCG the guest reads the host's TSC, and a
 * kernel told its rate (tsc_early_khz=) skips the PIT-based calibrations that are slow and
 * flaky under TCG. */
unsigned long o2v_host_tsc_khz(void);

/* The 9p model for dir when asked for O2V_9P_AUTO: mapped-xattr, or mapped-file where dir
 * takes no user xattrs (volumes.c). */
enum o2v_9p_model o2v_volume_model(const char *dir);

/* Docker's "host-gateway" for a VM (net_host.c): an address of the host at which services
 * bound to a non-loopback address or to 0.0.0.0 answer - its IPv4 address on the default
 * route's interface (else another one that is up), or with host_loopback and none of those,
 * the gateway. -ENETUNREACH (no network) / -EADDRNOTAVAIL saying why. */
int o2v_net_host_gateway(bool net, bool host_loopback, char *buf, size_t len,
			 struct o2v_error *err);

/* Where an installed kernel lives relative to the oci2vm binary, and the build tree's link. */
#define O2V_KERNEL_INSTALLED "../lib/oci2vm/vmlinux"
#define O2V_KERNEL_FILE	     "vmlinux"

/* Find the kernel, in this order: explicit_path (--kernel), $OCI2VM_KERNEL (each must be an
 * x86-64 ELF or a bzImage; the error names the path), then for an installed binary the
 * kernel installed with it (missing or damaged: an error saying to reinstall), for a binary
 * in its build tree the build's kernel (none: an error saying 'make kernel'). ret_path is
 * malloc'ed; ret_how (may be NULL) says which of these it was. */
int o2v_kernel_locate(const char *explicit_path, char **ret_path, const char **ret_how,
		      struct o2v_error *err);
int o2v_kernel_find(const char *explicit_path, char **ret_path, struct o2v_error *err);

/* Check that path is a bootable x86 kernel image (ELF or bzImage). */
int o2v_kernel_check(const char *path, struct o2v_error *err);

#endif
