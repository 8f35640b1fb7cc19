/* runbuild.h - the one builder of a run configuration: an image's defaults plus what the
 * user asked for → struct o2v_runconfig (what the guest's init starts, and how).
 *
 * `oci2vm run`, `oci2vm export` (the image's own defaults, nothing asked) and `oci2vm
 * runconfig` (plumbing for tests) all build through o2v_runconfig_build(), so Docker's
 * merge rules (runmerge.h) and the defaults are applied in one place. Libc only.
 */
#ifndef O2V_RUNBUILD_H
#define O2V_RUNBUILD_H

#include "runconfig.h"
#include "runmerge.h"

/* What the image's config says (any field may be NULL). Borrowed. */
struct o2v_image_defaults {
	char *const *entrypoint;
	char *const *cmd;
	char *const *env;
	const char *workdir;
	const char *user;
};

/* A directory shared into the guest: the i-th gets the tag o2v_proto_volume_tag(i). Or,
 * with entry, the file or directory entry at the top of share number share, bound at
 * guest (several such binds ride on one share). */
struct o2v_run_volume {
	const char *guest; /* absolute path in the container */
	bool readonly;
	const char *entry; /* NULL: the whole share */
	size_t share;	   /* with entry: the share's index */
	bool virtiofs;	   /* the share is virtio-fs, not 9p */
};

/* What the user asked for. Borrowed; NULL and zero mean "not asked". */
struct o2v_run_request {
	const char *entrypoint;	  /* NULL: the image's; "": none (runmerge.h) */
	char *const *args;	  /* the command after the image; NULL: the image's Cmd */
	char *const *env;	  /* overrides in order: --env-file entries, then -e */
	o2v_env_lookup_fn lookup; /* for "-e NAME" without a value; NULL: unset */
	const char *workdir;	  /* NULL: the image's, else "/" */
	const char *user;	  /* NULL: the image's, else root */
	const char *hostname;	  /* NULL: none (no HOSTNAME, no /etc/hostname) */
	bool network;
	char *const *dns;
	char *const *hosts; /* /etc/hosts lines */
	const struct o2v_run_volume *volumes;
	size_t n_volumes;
	bool terminal, stdin_open;
	unsigned rows, cols;
	unsigned stop_grace;
	unsigned stop_signal; /* 0: the default (SIGTERM) */
	bool verbose;
	bool shell;	      /* BusyBox's sh instead of the command (which may then be empty) */
	const char *rootdisk; /* NULL: the root is in the initramfs */
	bool ephemeral;
	bool hold; /* init waits for `start` before the workload (docs/vm-contract.md) */
	bool caps_set; /* caps replaces Docker's default bounding set (common/caps.h) */
	uint64_t caps;
	bool read_only, no_new_privs;
	bool proc_unconfined; /* --security-opt systempaths=unconfined */
	bool root_volume;     /* volumes[0] (guest path "/") is the container's root */
	const char *net_static; /* runconfig.h's net_static; NULL: user-net defaults */
	int umask;		/* the workload's; 0 with umask_set false: 022 */
	bool umask_set;
	bool oom_set;		/* oom_score_adj for the workload */
	int oom_score_adj;
	uint64_t shm_size; /* 0: Docker's 64 MiB */
	char *const *tmpfs;   /* "PATH[:OPTIONS]" */
	char *const *ulimits; /* "NAME SOFT HARD" (common/ulimit.h) */
};

/* Build ret (initialized here; release with o2v_runconfig_release, also on failure).
 * -EINVAL when no command results (and not shell), or an override is malformed. */
int o2v_runconfig_build(const struct o2v_image_defaults *img, const struct o2v_run_request *req,
			struct o2v_runconfig *ret, struct o2v_error *err);

/* The same, serialized (malloc'ed text). */
int o2v_runconfig_build_text(const struct o2v_image_defaults *img,
			     const struct o2v_run_request *req, char **ret_text, size_t *ret_len,
			     struct o2v_error *err);

#endif
