/* helpers.h - processes a launch owns besides QEMU (inside the VM library). */
#ifndef O2V_VM_HELPERS_H
#define O2V_VM_HELPERS_H

#include <sys/types.h>

#include "spawn.h"
#include "vm.h"

/* Start the n helpers in order, each in netns (NULL: ours) with its output in log_path,
 * waiting for each one's ready_path. On failure every helper started is stopped again. */
int o2v_helpers_start(const struct o2v_vm_helper *h, size_t n, const char *netns,
		      const char *log_path, pid_t *ret_pids, struct o2v_error *err);

/* SIGTERM every helper still running, SIGKILL what is left after 2 s, reap all; pids
 * become -1. */
void o2v_helpers_stop(pid_t *pids, size_t n);

#endif
