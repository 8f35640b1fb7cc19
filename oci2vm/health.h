/* health.h - Docker's healthchecks for a running VM: the image's Healthcheck or --health-*,
 * run through `exec` (vm.h) by a monitor process beside the VM's supervisor.
 *
 * The verdict is Docker's: "starting" until the first check passes; a pass makes it
 * "healthy"; `retries` failures in a row make it "unhealthy", failures within the start
 * period excepted; a check that outlives its timeout fails. It is written to the state
 * directory's "health" file for `ps`. An unhealthy container is not restarted (as Docker).
 */
#ifndef O2V_HEALTH_H
#define O2V_HEALTH_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../registry/registry.h"
#include "../vm/state.h"
#include "runopts.h"

struct o2v_health {
	char **argv; /* what runs in the VM; NULL: no healthcheck */
	uint64_t interval_ms, timeout_ms, start_period_ms;
	unsigned retries;
};

/* The image's Healthcheck under the command line's (--health-*, --no-healthcheck). */
int o2v_health_resolve(const struct o2v_image_config *img, const struct o2v_run_opts *o,
		       struct o2v_health *ret, struct o2v_error *err);
void o2v_health_release(struct o2v_health *h);

/* Fork the monitor for vm (it dies with its parent); -1 when there is nothing to check. */
pid_t o2v_health_start(const struct o2v_vm *vm, const struct o2v_health *h);
/* End it (SIGKILL) and reap it; pid becomes -1. */
void o2v_health_stop(pid_t *pid);

/* The verdict for `ps`: "healthy", "unhealthy", "health: starting"; "" without one. */
void o2v_health_status(const struct o2v_vm *vm, char *buf, size_t len);

#endif
