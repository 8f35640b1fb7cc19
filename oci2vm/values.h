/* values.h - the one option/value layer: every value a command line carries (port,
 * volume, size, memory, CPUs, timeouts, signals, names) parsed once, with one set of limits
 * (vm/vm.h), and every bad option reported once.
 *
 * Each parser returns 0, or -EINVAL with a one-line message naming the value and what was
 * expected; callers prefix the option's name where the message does not already have it.
 */
#ifndef O2V_VALUES_H
#define O2V_VALUES_H

#include <stdint.h>

#include "../common/error.h"
#include "../vm/vm.h"

/* [IP:]HOST:GUEST[/tcp|/udp]; IP defaults to 127.0.0.1, an IPv6 one is written [::1]. */
int o2v_parse_port(const char *spec, struct o2v_port *ret, struct o2v_error *err);

/* HOST:GUEST[:ro|:rw]: HOST an existing directory (made absolute and canonical), GUEST an
 * absolute path in the container. Every command that shares a directory uses this. */
struct o2v_volspec {
	char *host;
	char *guest;
	bool readonly;
};
int o2v_parse_volume(const char *spec, struct o2v_volspec *ret, struct o2v_error *err);
void o2v_volspec_release(struct o2v_volspec *v);

/* "512M", "2g", "1024" (MiB when no suffix, as QEMU -m does) → bytes. */
int o2v_parse_size(const char *spec, uint64_t *ret_bytes, struct o2v_error *err);

/* The next three name the option (opt, e.g. "--memory") in their messages. */
/* A memory size between O2V_MEMORY_MIN_MIB and O2V_MEMORY_MAX_MIB → MiB. */
int o2v_parse_memory(const char *opt, const char *spec, uint64_t *ret_mib, struct o2v_error *err);

/* A CPU count, 1..O2V_CPUS_MAX. */
int o2v_parse_cpus(const char *opt, const char *spec, unsigned *ret, struct o2v_error *err);

/* A stop timeout in whole seconds, 0..O2V_STOP_TIMEOUT_MAX (run, stop, runconfig). */
int o2v_parse_seconds(const char *opt, const char *spec, unsigned *ret, struct o2v_error *err);

/* A Go duration as Docker takes it ("30s", "1m30s", "500ms", "1h"; a unit is required)
 * → milliseconds (rounded up), at least 1 ms, at most a day. */
int o2v_parse_duration(const char *opt, const char *spec, uint64_t *ret_ms, struct o2v_error *err);

/* logs --since: an RFC 3339 time or date (local time without a zone), a Unix time, or a
 * Go duration before now → seconds since the epoch. */
int o2v_parse_since(const char *opt, const char *spec, int64_t now, int64_t *ret,
		    struct o2v_error *err);

/* A signal: a number 1..64 or a name with or without "SIG" (TERM, SIGKILL, ...). */
int o2v_parse_signal(const char *spec, int *ret, struct o2v_error *err);

/* --log-opt max-size=SIZE (at least 4 KiB) or max-file=N (1..100), Docker's spelling. */
int o2v_parse_log_opt(const char *spec, uint64_t *max_size, unsigned *max_files,
		      struct o2v_error *err);

/* ROWSxCOLS, each 0..65535. */
int o2v_parse_winsize(const char *spec, unsigned *ret_rows, unsigned *ret_cols,
		      struct o2v_error *err);

/* --add-host NAME:ADDR or NAME=ADDR (ADDR an IP address, [IPv6] too, or host-gateway: the
 * host as the VM reaches it) → the /etc/hosts line "ADDR\tNAME" (malloc'ed); host-gateway
 * stays a word until o2v_hosts_resolve(). */
#define O2V_HOST_GATEWAY_NAME "host-gateway"
int o2v_parse_add_host(const char *spec, char **ret_line, struct o2v_error *err);

/* Put the host's address for a VM with or without a network (o2v_net_host_gateway()) into
 * every host-gateway line of hosts; an error (no network, no address) only if one asks. */
int o2v_hosts_resolve(char **hosts, bool net, bool host_loopback, struct o2v_error *err);

/* One of a fixed set of words → its value; -EINVAL listing the words otherwise. */
struct o2v_choice {
	const char *name; /* NULL ends the list */
	int value;
};
int o2v_parse_choice(const char *what, const char *spec, const struct o2v_choice *choices, int *ret,
		     struct o2v_error *err);

/* Docker's container-name rule, [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}. */
bool o2v_valid_name(const char *s);
/* A hostname: letters, digits, '-' and '.', at most 64, not starting with '-' or '.'. */
bool o2v_valid_hostname(const char *s);
/* An IPv4 or IPv6 address literal. */
bool o2v_ip_literal(const char *s);

#endif
