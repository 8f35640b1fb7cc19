/* vmcli.h - what the VM lifecycle commands (ps, logs, stop, kill, rm) share. */
#ifndef O2V_VMCLI_H
#define O2V_VMCLI_H

#include "../vm/state.h"

/* The runtime directory, or print the error and return NULL. Caller frees. */
char *o2v_vmcli_runtime_dir(void);

/* Load a VM by name or id; prints the error and returns an exit code on failure. */
int o2v_vmcli_load(const char *runtime_dir, const char *name, struct o2v_vm *ret);

/* Wait up to timeout_ms for the VM's supervisor to finish; true if it did. */
bool o2v_vmcli_wait_stopped(const struct o2v_vm *vm, int timeout_ms);

/* SIGKILL the VM's QEMU if that pid is still a QEMU process (pid reuse safe). */
void o2v_vmcli_kill_qemu(const struct o2v_vm *vm);

/* End a running VM at once (SIGKILL to QEMU) and wait for its supervisor. */
void o2v_vmcli_kill_now(const struct o2v_vm *vm);

/* For each NAME in argv[first..argc): load the VM and call fn, which returns
 * an exit code (0 = success; fn prints NAME itself when it succeeds). Prints
 * load errors. Returns the last non-zero code, or 0. */
int o2v_vmcli_each(int argc, char **argv, int first,
		   int (*fn)(struct o2v_vm *vm, const char *name, void *userdata), void *userdata);

/* `stop` or `kill` asked for this end: the supervisor does not restart the VM (--restart). */
void o2v_vmcli_mark_stopped(const struct o2v_vm *vm);

/* `stop`: mark it, ask its init (SIGTERM or the stop signal, SIGKILL after its grace), wait
 * timeout seconds and a margin, then kill it. */
void o2v_vmcli_stop(const struct o2v_vm *vm, unsigned timeout);

/* Load a VM that must be running (exec, cp): 0, or the exit code with the error printed. */
int o2v_vmcli_load_running(const char *name, struct o2v_vm *ret);

/* A published port as the record's text holds it ("127.0.0.1:2229->6379/tcp, ..."). */
struct o2v_vmcli_port {
	char bind[64], host[8], guest[8], proto[8];
};
/* Parse up to max of them into out; how many. */
size_t o2v_vmcli_ports(const char *text, struct o2v_vmcli_port *out, size_t max);

/* Record a VM that ended without its supervisor as exited; remove it if --rm. */
void o2v_vmcli_reconcile(struct o2v_vm *vm);

#endif
