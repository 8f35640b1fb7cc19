/* qemu.h - QEMU's command line for an oci2vm microVM (inside the VM library).
 *
 * The argv follows docs/vm-contract.md: QEMU microvm, no firmware tables, every device a
 * virtio-mmio "-device" that the kernel finds on its command line, the virtio-serial ports
 * in the order common/vmproto.h names. The builder is pure (it looks at nothing but the
 * spec), so the unit test states the exact expected arguments; what inspects the machine
 * is in host.h.
 */
#ifndef O2V_QEMU_H
#define O2V_QEMU_H

#include <stdint.h>

#include "../common/error.h"
#include "vm.h"

#define O2V_QEMU_BINARY "qemu-system-x86_64"
/* QEMU's seccomp filter for every VM (qemu_argv.c says why). */
#define O2V_QEMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
/* Debian package that ships O2V_QEMU_BINARY, named in the "not found" error. */
#define O2V_QEMU_PACKAGE "qemu-system-x86"

/* Everything the argv depends on. Strings are borrowed; NULL means "absent". */
struct o2v_vm_spec {
	const char *qemu;	   /* binary; NULL: O2V_QEMU_BINARY */
	struct o2v_vm_resources r; /* accel: O2V_ACCEL_KVM or O2V_ACCEL_TCG, resolve AUTO first */
	unsigned long tsc_khz;	   /* TCG: o2v_host_tsc_khz(), 0 if unknown */
	/* The guest console (hvc0) is a unix socket QEMU serves and waits on before starting
	 * the guest, so no output is lost; the supervisor relays it to the terminal, a pipe or
	 * a log file, which makes QEMU itself independent of our stdio. */
	const char *console_sock;
	/* verbose: the serial port (early boot messages) has a socket of its own. Not QEMU's
	 * mux on the console's: the mux corrupts what the host sends the console. */
	const char *serial_sock;
	const char *status_sock;  /* unix socket QEMU serves for the status port (waits) */
	const char *control_path; /* unix socket QEMU serves for the control port */
	const char *stdout_sock;  /* unix sockets for the stdout and stderr ports: both or */
	const char *stderr_sock;  /* neither (then the console carries the workload's stdio) */
	const char *exec_sock;	  /* the exec port's socket (QEMU serves, waits); NULL: none */
	/* QEMU's monitor (QMP) on a socket it serves without waiting: only for a VM that is
	 * to be saved as a snapshot (snapshot.h). Not part of the VM's shape: monitors are
	 * not saved. NULL: none. */
	const char *qmp_sock;
	/* Guest RAM in this file instead of anonymous memory (snapshot.h): shared (a VM to be
	 * saved: its RAM is then the snapshot's, and the saved state leaves it out, QEMU's
	 * x-ignore-shared) or private (a restored VM maps the snapshot's RAM copy-on-write and
	 * faults in only what it touches; the file never changes). NULL: anonymous RAM. */
	const char *ram_file;
	bool ram_shared;
};

void o2v_vm_spec_init(struct o2v_vm_spec *spec);

/* Build QEMU's argv (NULL-terminated, every string owned; free with o2v_strv_free).
 * -EINVAL for a spec that cannot be expressed (no kernel, AUTO accel, bad disk format). */
int o2v_qemu_argv(const struct o2v_vm_spec *spec, char ***ret_argv, struct o2v_error *err);

/* The kernel command line the argv passes with -append; caller frees. */
char *o2v_qemu_cmdline(const struct o2v_vm_spec *spec);

/* Resolve want (o2v_accel_resolve) into spec->accel and, for TCG, measure spec->tsc_khz. */
void o2v_vm_spec_set_accel(struct o2v_vm_spec *spec, enum o2v_accel want);

#endif
