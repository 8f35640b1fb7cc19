/* rt_vm.h - a container's VM, run by its supervisor (oci2vm-runtime's create: runtime.c).
 *
 * create forks the supervisor, the process the pid file names, and this is all it does:
 *  1. join the engine's cgroup (rt_cgroup.h), so QEMU is in it too; enter the container's
 *     network namespace: the one config.json names, or a new one
 *     (which Docker's prestart hook then fills with the container's interface);
 *  2. say 'N' on notify, and wait for create's 'G' on go: create runs the creation hooks
 *     meanwhile, with this process's pid in the state, as runc runs them once the
 *     namespaces exist;
 *  3. take over the namespace's interface (rt_net.h), write the run configuration into
 *     the VM's initrd;
 *  4. share every bind mount (directories and single files such as the engine's
 *     /etc/hosts) through one 9p share: a directory of mount points, bound in a mount
 *     namespace of the supervisor's own, so the host sees none of them and QEMU serves
 *     only what the config names, whatever the number of mounts (microvm has 8 device
 *     slots); read-only binds are read-only on the host side too;
 *  5. launch the VM (vm/vm.h) with create's stdio, say 'H' once init holds the workload,
 *     and exit with the workload's status (125 if the VM failed).
 * Any failure before 'H' is 'E' and one line on notify, then exit 125.
 */
#ifndef O2V_RT_VM_H
#define O2V_RT_VM_H

#include "rt_bundle.h"

struct o2v_rt_vm {
	const struct o2v_bundle *bundle;
	const char *dir; /* the container's state directory: the VM's files go there */
	const char *kernel, *init;
	int notify, go;
};

_Noreturn void o2v_rt_vm_supervise(const struct o2v_rt_vm *v);

/* We are root of the machine, not of a user namespace (a rootless engine's). */
bool o2v_rt_real_root(void);

#endif
