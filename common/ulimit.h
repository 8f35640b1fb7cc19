/* ulimit.h - resource limits by Docker's names (--ulimit NAME=SOFT[:HARD]).
 *
 * Applied inside the guest before the workload's exec, where raising a hard limit works
 * (init is root in its own kernel): the host's limits do not bound the container's.
 */
#ifndef O2V_ULIMIT_H
#define O2V_ULIMIT_H

#include <stdint.h>

#include "error.h"

#define O2V_ULIMIT_UNLIMITED UINT64_MAX

struct o2v_ulimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

/* Docker's "nofile=1024:2048", "nproc=512" (hard = soft), -1 or "unlimited" for no limit;
 * -EINVAL naming what is wrong (unknown name, not a number, soft above hard). */
int o2v_ulimit_parse(const char *spec, struct o2v_ulimit *ret, struct o2v_error *err);

/* The run configuration's form: "NAME SOFT HARD" (numbers, "unlimited"). */
int o2v_ulimit_parse_line(const char *line, struct o2v_ulimit *ret);
void o2v_ulimit_format_line(const struct o2v_ulimit *u, char buf[80]);

#endif
