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

/* The host's TSC rate in kHz, measured (about 10 ms, once per host boot); 0 where it cannot
 * be known (no invariant TSC, not x86-64). Under TCG the guest reads the host's TSC, and a
 * kernel told its rate (tsc_early_khz=) skips the PIT-based calibrations that are slow and
 * flaky under TCG. */
unsigned long o2v_host_tsc_khz(void);

/* Find the kernel: explicit_path (--kernel) if not NULL, else $OCI2VM_KERNEL if set (each
 * must exist and be an ELF or a bzImage; the error names the path), else the cached `make
 * kernel` build for this oci2vm's fragment, else -ENOENT telling the user to run 'make
 * kernel'. ret_path is malloc'ed. */
int o2v_kernel_find(const char *explicit_path, char **ret_path, struct o2v_error *err);

/* Check that path is a bootable x86 kernel image (ELF or bzImage). */
int o2v_kernel_check(const char *path, struct o2v_error *err);

#endif
