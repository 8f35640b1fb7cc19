/* runopts.h - `oci2vm run` command line: parsing and validation.
 *
 * Docker's spelling where Docker has one. Options may stand before REF or
 * right after it (`oci2vm run IMAGE -p 2229:6379`); the container command
 * starts at `--` or at the first non-option word after REF.
 *
 * `-v` is both Docker's volume flag and our verbose flag: `-v X` is a
 * volume when X contains a ':' (HOSTDIR:GUESTDIR[:ro|rw]); otherwise `-v`
 * means --verbose and X is left for the next parse step.
 *
 * Everything is validated here (with values.h), before anything starts: a
 * bad port, a missing host directory or an absurd memory size is a usage
 * error (-EINVAL) naming the offending value.
 */
#ifndef O2V_RUNOPTS_H
#define O2V_RUNOPTS_H

#include <stdint.h>

#include "../common/error.h"
#include "../vm/vm.h"
#include "values.h"

enum o2v_pull_when { O2V_WHEN_MISSING, O2V_WHEN_ALWAYS, O2V_WHEN_NEVER };

struct o2v_run_opts {
	char *ref;
	char **command;	     /* NULL: the image's Cmd */
	struct o2v_port *ports;
	size_t n_ports;
	char **env;	     /* -e values in order ("K=V" or "K") */
	char **env_files;
	struct o2v_volspec *volumes;
	size_t n_volumes;
	char *workdir, *user, *hostname, *name, *kernel, *platform;
	char *entrypoint;    /* NULL: the image's; "": none */
	char **insecure_registries;
	char **dns;	     /* --dns: nameservers (default: O2V_NET_DNS, the host's resolvers) */
	char **hosts;	     /* --add-host, as /etc/hosts lines "ADDR\tNAME" (host-gateway
			      * unresolved: o2v_hosts_resolve()) */
	uint64_t memory_mib;
	unsigned cpus;
	unsigned stop_timeout; /* seconds between SIGTERM and SIGKILL */
	unsigned stop_signal;  /* --stop-signal; 0: the image's StopSignal, else SIGTERM */
	uint64_t disk_size;    /* bytes, 0 = automatic */
	uint64_t log_max_size; /* --log-opt max-size (bytes); 0: the default */
	unsigned log_max_files; /* --log-opt max-file; 0: the default */
	bool rm, detach, interactive, tty, verbose, quiet, shell;
	bool cpio;	       /* --format cpio: initramfs only, no root disk */
	bool no_network;       /* --network none: no eth0, only lo */
	bool host_loopback;    /* --host-loopback: the VM may reach the host's loopback */
	uint64_t caps;	       /* the workload's bounding set (common/caps.h), after parsing */
	bool caps_set;	       /* --cap-add or --cap-drop given */
	uint64_t cap_add, cap_drop;
	bool cap_add_all, cap_drop_all;
	enum o2v_restart { O2V_RESTART_NO, O2V_RESTART_ON_FAILURE, O2V_RESTART_ALWAYS,
			   O2V_RESTART_UNLESS_STOPPED } restart;
	unsigned restart_max;  /* on-failure:N; 0: no limit */
	/* --health-*: override the image's Healthcheck (health.h); 0 / NULL: the image's */
	char *health_cmd;
	uint64_t health_interval_ms, health_timeout_ms, health_start_ms;
	unsigned health_retries;
	bool no_healthcheck;
	bool publish_all;      /* -P: the image's ExposedPorts on free host ports */
	uint64_t shm_size;     /* --shm-size, bytes; 0: Docker's 64 MiB */
	char **labels;	       /* --label KEY=VALUE (inspect shows them) */
	bool read_only;	       /* --read-only */
	bool no_new_privs;     /* --security-opt no-new-privileges */
	bool proc_unconfined;  /* --security-opt systempaths=unconfined */
	bool no_snapshot;      /* --no-snapshot: boot, never restore a pre-booted VM */
	char **tmpfs;	       /* --tmpfs PATH[:OPTIONS] */
	char **ulimits;	       /* --ulimit, as "NAME SOFT HARD" */
	enum o2v_accel accel;
	enum o2v_pull_when pull;
};

void o2v_run_opts_init(struct o2v_run_opts *o);
void o2v_run_opts_release(struct o2v_run_opts *o);

/* Parse argv (argv[0] is "run"). */
int o2v_run_opts_parse(struct o2v_run_opts *o, int argc, char **argv, struct o2v_error *err);

/* -P: add each of the image's exposed ports ("6379/tcp") that -p did not publish, on a free
 * port of 127.0.0.1 (as -p's default address). */
int o2v_ports_publish_all(struct o2v_run_opts *o, char *const *exposed, struct o2v_error *err);

/* Fail (-EADDRINUSE) if a forwarded host port cannot be bound right now. */
int o2v_ports_check_free(const struct o2v_port *ports, size_t n, struct o2v_error *err);

#endif
