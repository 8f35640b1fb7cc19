/* state.h - per-VM state under the runtime directory (ps, logs, stop, rm).
 *
 * RUNTIME/vms/ID/ is the VM's state directory (its files: layout.h). This module owns
 * "state" (key=value lines) and "lock", flock()ed by the supervising oci2vm process for the
 * VM's whole life: "running" means "someone holds this lock", which, unlike a pid, cannot
 * be fooled by pid reuse or a crash. RUNTIME/names/NAME is a symlink to ../vms/ID: creating
 * it is the atomic "this name is taken" step.
 */
#ifndef O2V_VM_STATE_H
#define O2V_VM_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "layout.h"

#define O2V_VM_ID_LEN 12

struct o2v_vm {
	char id[O2V_VM_ID_LEN + 1];
	char *name;
	char *image;
	char *ports;	  /* human-readable "127.0.0.1:2229->6379/tcp, ..." */
	char *dir;	  /* RUNTIME/vms/ID */
	int64_t created;  /* unix seconds */
	int64_t started;  /* unix seconds of the current (or last) start; 0: created */
	int64_t finished; /* unix seconds, 0 while running */
	pid_t qemu_pid;
	pid_t supervisor_pid;
	int exit_code; /* -1 while running or unknown */
	bool remove_on_exit;
	bool detached;
	unsigned restarts; /* times its restart policy started it again */
};

void o2v_vm_release(struct o2v_vm *vm);

/* Create a new VM state directory; name NULL = generate one. Fails with
 * -EEXIST and a clear message when the name is taken by a VM that still exists. */
int o2v_vm_create(const char *runtime_dir, const char *name, struct o2v_vm *ret,
		  struct o2v_error *err);

/* Write vm's fields to its state file (atomically). */
int o2v_vm_save(const struct o2v_vm *vm, struct o2v_error *err);

/* Find a VM by name, full ID or unique ID prefix. -ENOENT if none. */
int o2v_vm_load(const char *runtime_dir, const char *name_or_id, struct o2v_vm *ret,
		struct o2v_error *err);

/* All VMs, oldest first. */
int o2v_vm_list(const char *runtime_dir, struct o2v_vm **ret, size_t *ret_n, struct o2v_error *err);

/* Take the VM's life lock (the supervisor does, once). Returns the fd. */
int o2v_vm_lock(const struct o2v_vm *vm, struct o2v_error *err);

/* True while a supervisor holds the lock. */
bool o2v_vm_is_running(const struct o2v_vm *vm);

/* Block until the VM's supervisor has ended (at once if it has). */
void o2v_vm_wait_stopped(const struct o2v_vm *vm);

/* Remove the state directory and the name link. The VM must not be running. */
int o2v_vm_remove(const struct o2v_vm *vm, struct o2v_error *err);

/* Path of a file in the VM's directory (malloc'ed; NULL on allocation failure). */
char *o2v_vm_path(const struct o2v_vm *vm, enum o2v_vm_file which);

#endif
