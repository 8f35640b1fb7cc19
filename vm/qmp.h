/* qmp.h - just enough of QEMU's machine protocol (QMP) to save a running VM (inside the VM
 * library; snapshot.c is its user).
 *
 * QMP is JSON over a unix socket QEMU serves: a greeting, `qmp_capabilities`, then one
 * command at a time, each answered by {"return": ...} or {"error": ...}, with events
 * ({"event": ...}) in between that we skip. QEMU is the VM's process and the guest can
 * steer parts of it, so its answers are bounded and parsed like anything else from it.
 */
#ifndef O2V_VM_QMP_H
#define O2V_VM_QMP_H

#include <json-c/json.h>

#include "../common/error.h"

#define O2V_QMP_LINE_MAX 65536

struct o2v_qmp {
	int fd;
	int64_t deadline_ms; /* every read gives up then (o2v_now_ms()) */
	char buf[O2V_QMP_LINE_MAX];
	size_t len;
};

/* Connect to path (retrying until the deadline: QEMU creates it as it starts), read the
 * greeting and leave negotiation mode. Every later call is bounded by the same deadline. */
int o2v_qmp_open(struct o2v_qmp *q, const char *path, int timeout_ms, struct o2v_error *err);

/* Run one command (a JSON object text) and wait for its answer: 0 and *ret (the "return"
 * value, a reference the caller puts; may be NULL), or an error naming QEMU's description.
 * pass_fd >= 0 travels with the command (SCM_RIGHTS), as `getfd` wants. */
int o2v_qmp_call(struct o2v_qmp *q, const char *command, int pass_fd, json_object **ret,
		 struct o2v_error *err);

/* Wait for the event name (skipping other messages). */
int o2v_qmp_wait_event(struct o2v_qmp *q, const char *name, struct o2v_error *err);

void o2v_qmp_close(struct o2v_qmp *q);

#endif
