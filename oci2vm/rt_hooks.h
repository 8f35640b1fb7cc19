/* rt_hooks.h - the OCI hooks of a bundle, run on the host (runtime.c).
 *
 * config.json's hooks.{prestart, createRuntime, createContainer, startContainer,
 * poststart, poststop}: each {path, args, env, timeout}, run with the container's state
 * JSON on stdin at the point the runtime specification names. The container is a VM, so
 * the hooks the specification places in the container's namespaces (createContainer,
 * startContainer) run on the host too, like the others. A hook that exits non-zero or
 * outlives its timeout is an error naming it.
 */
#ifndef O2V_RT_HOOKS_H
#define O2V_RT_HOOKS_H

#include "../common/error.h"

/* Run the hooks of kind ("createRuntime", ...) in hooks_json (config.json's "hooks"
 * object as text; NULL or "{}": none), each given state_json on stdin. */
int o2v_rt_hooks_run(const char *hooks_json, const char *kind, const char *state_json,
		     struct o2v_error *err);

#endif
