/* runconfig.h - what bootstrap-init must start, and how.
 *
 * The host (oci2vm run/export) fills a struct o2v_runconfig and serializes
 * it with o2v_runconfig_write(); the guest's init reads it from
 * /.oci2vm/run.conf with o2v_runconfig_parse(). The text format is
 * versioned and documented in runconfig.c; the parser treats its input as
 * untrusted (caps below) and rejects anything it does not understand.
 *
 * Ownership: every pointer in the struct is owned by it and released by
 * o2v_runconfig_release(). Lists are NULL-terminated string vectors.
 */
#ifndef O2V_RUNCONFIG_H
#define O2V_RUNCONFIG_H

#include <stdint.h>

#include "error.h"

#define O2V_RUNCONFIG_VERSION 1
#define O2V_RUNCONFIG_MAX (1024 * 1024) /* whole file */
#define O2V_RUNCONFIG_LINE_MAX (128 * 1024)
#define O2V_RUNCONFIG_LIST_MAX 4096 /* args, env entries, volumes */
#define O2V_RUNCONFIG_PATH "/.oci2vm/run.conf"
#define O2V_STOP_GRACE_DEFAULT 10 /* seconds, Docker's default */

struct o2v_volume {
	char *tag;	   /* virtio-9p mount tag */
	char *guest_path;  /* absolute path inside the container */
	bool readonly;
	char *entry;	   /* NULL: the whole share; else one file or directory at its top */
	bool virtiofs;	   /* the share is virtio-fs (virtiofsd on the host), not 9p */
};

struct o2v_runconfig {
	char **argv;	   /* final argv, Entrypoint+Cmd already merged; argv[0] non-empty */
	char **env;	   /* final "K=V" list (image Env + run-time overrides) */
	char *workdir;	   /* absolute; "" or NULL = "/" */
	char *user;	   /* "", "name", "uid", "uid:gid", "name:group"; resolved in the guest */
	char *hostname;	   /* NULL = none set */
	bool network;	   /* configure eth0 (user-mode net addresses); lo always */
	struct o2v_volume *volumes;
	size_t n_volumes;
	bool terminal;	   /* the workload gets a controlling terminal on the console */
	bool stdin_open;   /* -i: the workload reads the console; else /dev/null, as Docker */
	unsigned rows, cols; /* initial window size when terminal */
	unsigned stop_grace; /* seconds between SIGTERM and SIGKILL on "stop" */
	unsigned stop_signal; /* what "stop" sends first (default SIGTERM, 15) */
	bool verbose;	   /* init prints what it does */
	bool shell;	   /* start /bin/busybox sh (outside /app_root) instead of argv */
	char *rootdisk;	   /* NULL: the root is /app_root in the initramfs; else e.g. "/dev/vda" */
	bool ephemeral;	   /* rootdisk's writes are discarded at exit: no sync, no unmount */
	bool hold;	   /* set everything up, report `held`, start the workload on `start` */
	uint64_t caps;	   /* the workload's bounding set (caps.h); default O2V_CAPS_DEFAULT */
	bool read_only;	   /* the container root read-only; /tmp, /run, /var/tmp tmpfs */
	uint64_t shm_size; /* /dev/shm's size in bytes; 0: Docker's 64 MiB */
	bool no_new_privs; /* PR_SET_NO_NEW_PRIVS for the workload (and exec) */
	bool proc_unconfined; /* no read-only or masked /proc paths (systempaths=unconfined) */
	bool root_volume;     /* volumes[0] is the container's root (an OCI bundle's rootfs) */
	char *net_static;     /* "ADDR/PREFIX GATEWAY|- MTU" for eth0; NULL: user-net defaults */
	int umask;	      /* the workload's umask; -1: 022 */
	bool oom_set;	      /* oom_score_adj given: the workload's */
	int oom_score_adj;    /* -1000..1000 */
	char **tmpfs;	   /* "PATH[:OPTIONS]": a tmpfs each (--tmpfs) */
	char **ulimits;	   /* "NAME SOFT HARD" (ulimit.h), set in the guest */
	/* Extensions (format version 1 keys "dns" and "host"): */
	char **dns;	   /* nameservers for /etc/resolv.conf; NULL = the user-net DNS 10.0.2.3 */
	char **hosts;	   /* extra /etc/hosts lines "ADDR NAME...", like --add-host */
};

void o2v_runconfig_init(struct o2v_runconfig *rc);
void o2v_runconfig_release(struct o2v_runconfig *rc);

/* Parse text of length len (need not be NUL-terminated). */
int o2v_runconfig_parse(struct o2v_runconfig *rc, const char *text, size_t len,
			struct o2v_error *err);

/* Serialize to a malloc'ed NUL-terminated string; caller frees. */
int o2v_runconfig_write(const struct o2v_runconfig *rc, char **ret_text, size_t *ret_len,
			struct o2v_error *err);

#endif
