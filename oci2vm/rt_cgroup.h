/* rt_cgroup.h - the VM's host processes in the cgroup the engine names (runtime.c, rt_vm.c).
 *
 * config.json's linux.cgroupsPath, as runc reads it: a path ("/libpod_parent/libpod-ID",
 * "/docker/ID") under every cgroup hierarchy, or systemd's "SLICE:PREFIX:NAME" (with
 * --systemd-cgroup), which is the path SLICE's nesting + "/PREFIX-NAME.scope" (runc asks
 * systemd to make that scope; here it is made directly, as under cgroupfs). The supervisor
 * joins it before QEMU starts, so QEMU and its helpers are in it too: the engine's
 * statistics (`podman stats`), its freezer (`podman pause`) and its OOM accounting see the
 * VM, and `pause` freezes it. The only limit written is the CPU quota (cpu.cfs_quota_us / cpu.max),
 * which means the same for a VM; the memory limit is the VM's memory size instead (a cgroup limit
 * at that size would kill QEMU, whose own overhead comes on top). Cgroup v1 (each hierarchy, the
 * hybrid unified one included) and v2. Removed at delete once empty.
 */
#ifndef O2V_RT_CGROUP_H
#define O2V_RT_CGROUP_H

#include <stdint.h>

#include "../common/error.h"

#define O2V_CGROUP_PATH_MAX 1024

/* The cgroup path (starting with '/') for spec (cgroupsPath), or an error naming it. */
int o2v_rt_cgroup_path(const char *spec, char out[O2V_CGROUP_PATH_MAX], struct o2v_error *err);

/* Create path in every hierarchy, set the CPU quota (quota/period in microseconds; 0:
 * none) and move the calling process there. */
int o2v_rt_cgroup_enter(const char *path, int64_t quota, uint64_t period, struct o2v_error *err);

/* SIGKILL every process in path (QEMU and virtiofsd left behind by a killed supervisor). */
void o2v_rt_cgroup_kill(const char *path);
/* Remove path from every hierarchy; false while some of it is still in use. */
bool o2v_rt_cgroup_remove(const char *path);
/* pause and resume: the freezer (v1 freezer.state, v2 cgroup.freeze) stops every process
 * of the VM, QEMU's vCPUs with them; returns once the kernel says it is done. */
int o2v_rt_cgroup_freeze(const char *path, bool freeze, struct o2v_error *err);
bool o2v_rt_cgroup_frozen(const char *path);

#endif
