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
 * Everything is validated here, before anything starts: a bad port, a
 * missing host directory or an absurd memory size is a usage error (-EINVAL)
 * naming the offending value.
 */
#ifndef O2V_RUNOPTS_H
#define O2V_RUNOPTS_H

#include <stdint.h>

#include "../common/error.h"

#define O2V_MEMORY_MIN_MIB 64
#define O2V_MEMORY_DEFAULT_MIB 512
#define O2V_CPUS_MAX 64

struct o2v_port {
	char bind[64];	/* host address to listen on; default 127.0.0.1 */
	uint16_t host;
	uint16_t guest;
	bool udp;
};

struct o2v_volspec {
	char *host;  /* absolute, canonical, an existing directory */
	char *guest; /* absolute path in the container */
	bool readonly;
};

enum o2v_accel { O2V_ACCEL_AUTO, O2V_ACCEL_KVM, O2V_ACCEL_TCG };
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
	char **dns;	     /* --dns: nameservers (default: the user network's 10.0.2.3) */
	char **hosts;	     /* --add-host, as /etc/hosts lines "ADDR\tNAME" */
	uint64_t memory_mib;
	unsigned cpus;
	unsigned stop_timeout; /* seconds between SIGTERM and SIGKILL */
	uint64_t disk_size;    /* bytes, 0 = automatic */
	bool rm, detach, interactive, tty, verbose, quiet, shell;
	bool cpio;	       /* --format cpio: initramfs only, no root disk */
	bool no_network;       /* --network none: no eth0, only lo */
	enum o2v_accel accel;
	enum o2v_pull_when pull;
};

void o2v_run_opts_init(struct o2v_run_opts *o);
void o2v_run_opts_release(struct o2v_run_opts *o);

/* Parse argv (argv[0] is "run"). */
int o2v_run_opts_parse(struct o2v_run_opts *o, int argc, char **argv, struct o2v_error *err);

/* Single-value parsers, exposed for other commands and for tests. */
int o2v_parse_port(const char *spec, struct o2v_port *ret, struct o2v_error *err);
int o2v_parse_volume(const char *spec, struct o2v_volspec *ret, struct o2v_error *err);
/* --add-host NAME:ADDR or NAME=ADDR (ADDR an IP address, [IPv6] too, or host-gateway: the
 * host as the VM reaches it) → the /etc/hosts line "ADDR\tNAME" (malloc'ed). */
int o2v_parse_add_host(const char *spec, char **ret_line, struct o2v_error *err);
/* "512M", "2g", "1024" (MiB when no suffix, as QEMU -m does) → bytes. */
int o2v_parse_size(const char *spec, uint64_t *ret_bytes, struct o2v_error *err);

/* Fail (-EADDRINUSE) if a forwarded host port cannot be bound right now. */
int o2v_ports_check_free(const struct o2v_port *ports, size_t n, struct o2v_error *err);

#endif
