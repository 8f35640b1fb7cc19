/* rt_bundle.h - an OCI bundle's config.json, as oci2vm-runtime runs it (runtime.c).
 *
 * The runtime specification's process, root, hostname, mounts, annotations and the parts
 * of linux that mean something to a VM, read with json-c into what the run configuration
 * (common/runbuild.h) and the VM library (vm/vm.h) take. Everything is checked here, once:
 * a missing or malformed file, an unsupported ociVersion, a missing rootfs or an unknown
 * capability is an error naming it. Library code: never prints.
 */
#ifndef O2V_RT_BUNDLE_H
#define O2V_RT_BUNDLE_H

#include <stdint.h>

#include "../common/error.h"

#define O2V_BUNDLE_CONFIG_MAX (4 * 1024 * 1024)

/* A host directory or file bind-mounted into the container (all of them ride on one 9p
 * share: runtime.c). */
struct o2v_bundle_bind {
	char *source; /* absolute host path */
	char *dest;   /* absolute container path */
	bool readonly;
};

struct o2v_bundle {
	char *dir;	     /* the bundle, absolute */
	char *rootfs;	     /* root.path, absolute */
	bool readonly;	     /* root.readonly */
	char **args;	     /* process.args (NULL-terminated) */
	char **env;	     /* process.env */
	char *cwd;	     /* process.cwd */
	char user[1024];     /* "UID:GID[:G1,G2...]": process.user with additionalGids */
	bool terminal;	     /* process.terminal */
	unsigned rows, cols; /* process.consoleSize (default 24x80) */
	char **ulimits;	     /* process.rlimits as "NAME SOFT HARD" (common/ulimit.h) */
	bool no_new_privs;   /* process.noNewPrivileges */
	bool umask_set;	     /* process.user.umask */
	unsigned umask;
	bool oom_set;	     /* process.oomScoreAdj */
	int oom_score_adj;
	bool proc_unconfined; /* linux.maskedPaths and readonlyPaths both empty (privileged) */
	bool caps_set;	     /* process.capabilities.bounding was given */
	uint64_t caps;
	char *hostname;
	struct o2v_bundle_bind *binds; /* bind mounts of directories and files */
	size_t n_binds;
	char **tmpfs;	     /* tmpfs mounts outside what init mounts itself: "PATH:OPTIONS" */
	size_t n_skipped;    /* binds not carried (sockets, device nodes: see the README) */
	char *annotations;   /* the annotations object as JSON text ("{}" when none) */
	char *hooks;	     /* the hooks object as JSON text; NULL: none (rt_hooks.h) */
	uint64_t shm_size;   /* the /dev/shm tmpfs's size= (bytes); 0: init's default */
	uint64_t memory_mib; /* linux.resources.memory.limit or org.oci2vm.memory; 0: default */
	unsigned cpus;	     /* linux.resources.cpu quota/period or org.oci2vm.cpus; 0: default */
	char *cgroup;	     /* linux.cgroupsPath as a path (rt_cgroup.h); NULL: none */
	int64_t cpu_quota;   /* linux.resources.cpu quota and period (microseconds) */
	uint64_t cpu_period;
	char *share;	     /* annotation org.oci2vm.share: "9p", "virtiofs"; NULL: either */
	char *kernel;	     /* annotation org.oci2vm.kernel (root's file); NULL: ours */
	char *netns;	     /* linux.namespaces network path; NULL: see netns_new */
	bool netns_new;	     /* a network namespace without a path: a new one, which the
			      * prestart hooks may fill (Docker's libnetwork); else the host's */
};

/* Read DIR/config.json (dir: the bundle) into b (released with o2v_bundle_release, also on
 * failure). */
int o2v_bundle_load(struct o2v_bundle *b, const char *dir, struct o2v_error *err);
/* An exec's process file (runc exec --process FILE): only the process part of b is set. */
int o2v_bundle_load_process(struct o2v_bundle *b, const char *file, struct o2v_error *err);
void o2v_bundle_release(struct o2v_bundle *b);

#endif
