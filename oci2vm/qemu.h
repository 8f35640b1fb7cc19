/* qemu.h - how oci2vm starts a microVM: accelerator choice, kernel lookup, QEMU's argv.
 *
 * The argv follows notes/vm-contract.md: QEMU microvm, no firmware tables, every device a
 * virtio-mmio "-device" that the kernel finds on its command line. The builder is pure (it
 * looks at nothing but the spec), so the unit test states the exact expected arguments;
 * everything that inspects the machine (/dev/kvm, the kernel file, QEMU's presence) is in
 * the functions below it.
 */
#ifndef O2V_QEMU_H
#define O2V_QEMU_H

#include <stdint.h>

#include "../common/error.h"
#include "runopts.h"

#define O2V_QEMU_BINARY "qemu-system-x86_64"
/* The platform of the images our x86-64 kernel runs. */
#define O2V_VM_PLATFORM "linux/amd64"
/* Debian package that ships O2V_QEMU_BINARY, named in the "not found" error. */
#define O2V_QEMU_PACKAGE "qemu-system-x86"

/* Guest-side names of the virtio-serial ports (the guest init looks them up by name). */
#define O2V_PORT_STATUS	 "oci2vm.status"
#define O2V_PORT_CONTROL "oci2vm.ctl"
/* Without a terminal the workload's stdout and stderr have ports of their own, so the host
 * keeps them apart as Docker does. Ports, not consoles: QEMU drops what a console writes
 * while the host falls behind reading it, where a port makes the guest wait. With -t the
 * terminal (the console, hvc0) carries both. */
#define O2V_PORT_STDOUT "oci2vm.stdout"
#define O2V_PORT_STDERR "oci2vm.stderr"

struct o2v_qemu_volume {
	const char *host; /* directory exported over 9p */
	const char *tag;  /* 9p mount tag the guest mounts */
	bool readonly;
};

/* Everything the argv depends on. Strings are borrowed; NULL means "absent". */
/* QEMU's user network: the host as the guest reaches it (Docker's "host-gateway"). */
#define O2V_HOST_GATEWAY "10.0.2.2"

struct o2v_vm_spec {
	const char *qemu;	 /* binary; NULL: O2V_QEMU_BINARY from PATH */
	const char *kernel;	 /* uncompressed PVH vmlinux (bzImage also boots, slower) */
	const char *initrd;	 /* one cpio(.gz) file */
	const char *disk;	 /* root disk image → /dev/vda */
	const char *disk_format; /* "raw" or "qcow2"; NULL: raw */
	bool disk_snapshot; /* guest writes go to a throw-away overlay; the file never changes */
	uint64_t memory_mib;
	unsigned cpus;
	enum o2v_accel accel;  /* O2V_ACCEL_KVM or O2V_ACCEL_TCG; resolve AUTO first */
	unsigned long tsc_khz; /* TCG: o2v_host_tsc_khz(), 0 if unknown */
	const char *append;    /* extra kernel arguments, appended last */
	bool verbose;	       /* kernel messages on the console, early ones on the serial port */
	/* The guest console (hvc0) is a unix socket QEMU serves and waits on before starting
	 * the guest, so no output is lost; the supervisor (supervise.h) relays it to the
	 * terminal, a pipe or a log file, which makes QEMU itself independent of our stdio. */
	const char *console_sock;
	/* verbose: the serial port (early boot messages) has a socket of its own. Not QEMU's
	 * mux on the console's: the mux corrupts what the host sends the console. */
	const char *serial_sock;
	const char *status_path;  /* host file receiving the status port's lines */
	const char *control_path; /* unix socket QEMU serves for the control port */
	const char *stdout_sock;  /* unix sockets for the stdout and stderr ports: both or */
	const char *stderr_sock;  /* neither (then the console carries the workload's stdio) */
	bool net;		  /* virtio-net with user-mode networking (implied by ports) */
	const struct o2v_port *ports;
	size_t n_ports;
	const struct o2v_qemu_volume *volumes;
	size_t n_volumes;
};

void o2v_vm_spec_init(struct o2v_vm_spec *spec);

/* Build QEMU's argv (NULL-terminated, every string owned; free with o2v_strv_free).
 * -EINVAL for a spec that cannot be expressed (no kernel, AUTO accel, bad disk format). */
int o2v_qemu_argv(const struct o2v_vm_spec *spec, char ***ret_argv, struct o2v_error *err);

/* The kernel command line the argv passes with -append; caller frees. */
char *o2v_qemu_cmdline(const struct o2v_vm_spec *spec);

/* Find QEMU: an explicit path, else O2V_QEMU_BINARY in $PATH. -ENOENT names the Debian
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

/* The host's TSC rate in kHz, measured (about 10 ms); 0 where it cannot be known (no
 * invariant TSC, not x86-64). Under TCG the guest reads the host's TSC, and a kernel told its
 * rate (tsc_early_khz=) skips the PIT-based calibrations that are slow and flaky under TCG. */
unsigned long o2v_host_tsc_khz(void);

/* Resolve want (o2v_accel_resolve) into spec->accel and, for TCG, measure spec->tsc_khz. */
void o2v_vm_spec_set_accel(struct o2v_vm_spec *spec, enum o2v_accel want);

/* Find the kernel: explicit_path (--kernel) if not NULL, else $OCI2VM_KERNEL if set (each
 * must exist and be an ELF or a bzImage; the error names the path), else the cached `make kernel` build for this oci2vm's fragment, else
 * -ENOENT telling the user to run 'make kernel'. ret_path is malloc'ed. */
int o2v_kernel_find(const char *explicit_path, char **ret_path, struct o2v_error *err);

/* Check that path is a bootable x86 kernel image (ELF or bzImage). */
int o2v_kernel_check(const char *path, struct o2v_error *err);

#endif
