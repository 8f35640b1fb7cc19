/* spawn.h - start a process the VM library owns (QEMU, a helper) with exactly the
 * environment it needs: its own process group, killed with its parent, no inherited
 * descriptors but the ones passed, in a given network namespace.
 */
#ifndef O2V_VM_SPAWN_H
#define O2V_VM_SPAWN_H

#include <signal.h>
#include <sys/types.h>

#include "../common/error.h"

struct o2v_spawn {
	char *const *argv;    /* argv[0] looked up in PATH */
	const char *preload;  /* put first in LD_PRELOAD; NULL: environment unchanged */
	char *const *setenv;  /* "NAME=VALUE"s for the child (replacing inherited NAMEs); NULL */
	const char *log_path; /* stdout and stderr go here (created, truncated); NULL: /dev/null */
	bool log_append;      /* ... appended to instead of truncated */
	const int *pass_fds;  /* kept open (without FD_CLOEXEC) under the same numbers */
	size_t n_pass_fds;
	const char *netns;	 /* setns() into this network namespace file first; NULL: ours */
	const sigset_t *sigmask; /* the mask the child runs with; NULL: the caller's */
};

/* Fork and exec. Returns the pid, or a negative errno with err set (nothing left running).
 * An exec failure in the child shows as exit 127 (not found) or 126, with the reason in
 * the log; a netns that cannot be entered as exit 125. */
pid_t o2v_spawn(const struct o2v_spawn *s, struct o2v_error *err);

/* Exit codes of the child when it could not become the program. */
#define O2V_SPAWN_SETUP_FAILED 125

#endif
