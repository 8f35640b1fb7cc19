/* layout.c - file names of a VM's state directory; see layout.h. */
#include "../common/o2v.h"

#include <string.h>

#include "layout.h"

static const char *const names[O2V_VM_FILE_COUNT] = {
    [O2V_VM_CONSOLE_SOCK] = "console.sock",
    [O2V_VM_SERIAL_SOCK] = "serial.sock",
    [O2V_VM_CTL_SOCK] = "ctl.sock",
    [O2V_VM_STDOUT_SOCK] = "stdout.sock",
    [O2V_VM_STDERR_SOCK] = "stderr.sock",
    [O2V_VM_STATUS_SOCK] = "status.sock",
    [O2V_VM_EXEC_PORT_SOCK] = "execport.sock",
    [O2V_VM_EXEC_SOCK] = "exec.sock",
    [O2V_VM_QMP_SOCK] = "qmp.sock",
    [O2V_VM_QEMU_LOG] = "qemu.log",
    [O2V_VM_CONSOLE_LOG] = "console.log",
    [O2V_VM_INITRD] = "initrd",
    [O2V_VM_HELPERS_LOG] = "helpers.log",
    [O2V_VM_STATE] = "state",
    [O2V_VM_RUNARGS] = "runargs",
    [O2V_VM_HEALTH] = "health",
    [O2V_VM_STOP_MARK] = "stop-requested",
    [O2V_VM_LOCK] = "lock",
};

char *o2v_vm_file(const char *state_dir, enum o2v_vm_file which)
{
	char *s;

	if ((unsigned)which >= O2V_VM_FILE_COUNT ||
	    asprintf(&s, "%s/%s", state_dir, names[which]) < 0)
		return NULL;
	return s;
}

int o2v_vm_files_init(struct o2v_vm_files *f, const char *state_dir, struct o2v_error *err)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < O2V_VM_FILE_COUNT; i++)
		if (!(f->path[i] = o2v_vm_file(state_dir, (enum o2v_vm_file)i))) {
			o2v_vm_files_release(f);
			return o2v_error_sys(err, -ENOMEM, "name the VM's files");
		}
	return 0;
}

void o2v_vm_files_release(struct o2v_vm_files *f)
{
	for (int i = 0; i < O2V_VM_FILE_COUNT; i++) {
		free(f->path[i]);
		f->path[i] = NULL;
	}
}
