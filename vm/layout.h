/* layout.h - the files of one VM in its state directory, named once.
 *
 *   console.sock  the guest console (hvc0), served by QEMU; the supervisor relays it
 *   serial.sock   the serial port (early kernel messages), with verbose only
 *   ctl.sock      the control port (common/vmproto.h), served by QEMU, one client at a time
 *   stdout.sock   the workload's stdout and stderr ports (without a terminal)
 *   stderr.sock
 *   status.sock   the status port, served by QEMU (waits for the client), read by the relay
 *   execport.sock the exec port, served by QEMU (waits), multiplexed by the supervisor
 *   exec.sock     where `oci2vm exec` clients connect (the supervisor listens; execmux.h)
 *   qmp.sock      QEMU's monitor, only while a VM is being saved as a snapshot (snapshot.h)
 *   qemu.log      QEMU's own stdout and stderr
 *   console.log   a detached VM's console output (written by the CLI's supervisor)
 *   initrd        the per-run initramfs (image + run configuration)
 *   helpers.log   the output of the launch's helper processes (virtiofsd, passt)
 *   state         key=value lines of the CLI's VM record (state.c)
 *   health        the healthcheck's verdict (oci2vm/health.c), rewritten after each check
 *   runargs       the `run` command line a container was created with (`start` runs it again)
 *   stop-requested  made by `stop`/`kill`: the supervisor does not restart the VM
 *   lock          flock()ed by the VM's supervisor for its whole life (state.c)
 *
 * Socket paths must fit sun_path (108 bytes): state directories are kept short.
 */
#ifndef O2V_VM_LAYOUT_H
#define O2V_VM_LAYOUT_H

#include "../common/error.h"

enum o2v_vm_file {
	O2V_VM_CONSOLE_SOCK,
	O2V_VM_SERIAL_SOCK,
	O2V_VM_CTL_SOCK,
	O2V_VM_STDOUT_SOCK,
	O2V_VM_STDERR_SOCK,
	O2V_VM_STATUS_SOCK,
	O2V_VM_EXEC_PORT_SOCK,
	O2V_VM_EXEC_SOCK,
	O2V_VM_QMP_SOCK,
	O2V_VM_QEMU_LOG,
	O2V_VM_CONSOLE_LOG,
	O2V_VM_INITRD,
	O2V_VM_HELPERS_LOG,
	O2V_VM_STATE,
	O2V_VM_RUNARGS,
	O2V_VM_HEALTH,
	O2V_VM_STOP_MARK,
	O2V_VM_LOCK,
	O2V_VM_FILE_COUNT,
};

/* "DIR/NAME", malloc'ed; NULL on allocation failure. */
char *o2v_vm_file(const char *state_dir, enum o2v_vm_file which);

/* Every file of the layout at once; free with o2v_vm_files_release(). -ENOMEM. */
struct o2v_vm_files {
	char *path[O2V_VM_FILE_COUNT];
};
int o2v_vm_files_init(struct o2v_vm_files *f, const char *state_dir, struct o2v_error *err);
void o2v_vm_files_release(struct o2v_vm_files *f);

#endif
