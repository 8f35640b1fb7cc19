/* runopts.c - `oci2vm run` option parsing; see runopts.h. */
#include "../common/o2v.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../common/runconfig.h"
#include "../common/strv.h"
#include "../vm/host.h"
#include "../common/caps.h"
#include "../common/ulimit.h"
#include "runopts.h"

enum opt_id {
	OPT_PUBLISH, OPT_ENV, OPT_ENV_FILE, OPT_VOLUME, OPT_WORKDIR, OPT_USER, OPT_ENTRYPOINT,
	OPT_HOSTNAME, OPT_MEMORY, OPT_CPUS, OPT_RM, OPT_DETACH, OPT_NAME, OPT_INTERACTIVE,
	OPT_TTY, OPT_ACCEL, OPT_KERNEL, OPT_PLATFORM, OPT_PULL, OPT_VERBOSE, OPT_QUIET,
	OPT_FORMAT, OPT_DISK_SIZE, OPT_STOP_TIMEOUT, OPT_INSECURE, OPT_SHELL, OPT_NETWORK,
	OPT_DNS, OPT_ADD_HOST, OPT_LOG_OPT, OPT_HOST_LOOPBACK, OPT_CAP_ADD, OPT_CAP_DROP,
	OPT_READ_ONLY, OPT_TMPFS, OPT_ULIMIT, OPT_SECURITY_OPT, OPT_RESTART, OPT_HEALTH_CMD,
	OPT_HEALTH_INTERVAL, OPT_HEALTH_TIMEOUT, OPT_HEALTH_RETRIES, OPT_HEALTH_START, OPT_NO_HEALTH,
	OPT_STOP_SIGNAL, OPT_PUBLISH_ALL, OPT_SHM_SIZE, OPT_LABEL, OPT_NO_SNAPSHOT,
};

struct opt_def {
	const char *long_name;
	char short_name; /* 0: none */
	bool has_arg;
	enum opt_id id;
};

/* Sorted by long name for the reader; looked up linearly. */
static const struct opt_def opt_defs[] = {
	{ "accel", 0, true, OPT_ACCEL },
	{ "add-host", 0, true, OPT_ADD_HOST },
	{ "cap-add", 0, true, OPT_CAP_ADD },
	{ "cap-drop", 0, true, OPT_CAP_DROP },
	{ "cpus", 0, true, OPT_CPUS },
	{ "detach", 'd', false, OPT_DETACH },
	{ "disk-size", 0, true, OPT_DISK_SIZE },
	{ "dns", 0, true, OPT_DNS },
	{ "entrypoint", 0, true, OPT_ENTRYPOINT },
	{ "env", 'e', true, OPT_ENV },
	{ "env-file", 0, true, OPT_ENV_FILE },
	{ "format", 0, true, OPT_FORMAT },
	{ "host-loopback", 0, false, OPT_HOST_LOOPBACK },
	{ "health-cmd", 0, true, OPT_HEALTH_CMD },
	{ "health-interval", 0, true, OPT_HEALTH_INTERVAL },
	{ "health-retries", 0, true, OPT_HEALTH_RETRIES },
	{ "health-start-period", 0, true, OPT_HEALTH_START },
	{ "health-timeout", 0, true, OPT_HEALTH_TIMEOUT },
	{ "hostname", 'h', true, OPT_HOSTNAME },
	{ "insecure-registry", 0, true, OPT_INSECURE },
	{ "interactive", 'i', false, OPT_INTERACTIVE },
	{ "kernel", 0, true, OPT_KERNEL },
	{ "label", 'l', true, OPT_LABEL },
	{ "log-opt", 0, true, OPT_LOG_OPT },
	{ "memory", 'm', true, OPT_MEMORY },
	{ "name", 0, true, OPT_NAME },
	{ "net", 0, true, OPT_NETWORK }, /* Docker's older spelling */
	{ "network", 0, true, OPT_NETWORK },
	{ "no-healthcheck", 0, false, OPT_NO_HEALTH },
	{ "no-snapshot", 0, false, OPT_NO_SNAPSHOT },
	{ "platform", 0, true, OPT_PLATFORM },
	{ "publish", 'p', true, OPT_PUBLISH },
	{ "publish-all", 'P', false, OPT_PUBLISH_ALL },
	{ "pull", 0, true, OPT_PULL },
	{ "quiet", 'q', false, OPT_QUIET },
	{ "read-only", 0, false, OPT_READ_ONLY },
	{ "restart", 0, true, OPT_RESTART },
	{ "rm", 0, false, OPT_RM },
	{ "security-opt", 0, true, OPT_SECURITY_OPT },
	{ "shell", 0, false, OPT_SHELL },
	{ "shm-size", 0, true, OPT_SHM_SIZE },
	{ "stop-signal", 0, true, OPT_STOP_SIGNAL },
	{ "stop-timeout", 0, true, OPT_STOP_TIMEOUT },
	{ "tmpfs", 0, true, OPT_TMPFS },
	{ "tty", 't', false, OPT_TTY },
	{ "ulimit", 0, true, OPT_ULIMIT },
	{ "user", 'u', true, OPT_USER },
	{ "verbose", 0, false, OPT_VERBOSE },
	{ "volume", 'v', true, OPT_VOLUME },
	{ "workdir", 'w', true, OPT_WORKDIR },
};

void o2v_run_opts_init(struct o2v_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->memory_mib = O2V_MEMORY_DEFAULT_MIB;
	o->cpus = 1;
	o->stop_timeout = O2V_STOP_GRACE_DEFAULT;
	o->accel = O2V_ACCEL_AUTO;
	o->pull = O2V_WHEN_MISSING;
	o->caps = O2V_CAPS_DEFAULT;
}

void o2v_run_opts_release(struct o2v_run_opts *o)
{
	free(o->ref);
	free(o->health_cmd);
	o2v_strv_free(o->command);
	free(o->ports);
	o2v_strv_free(o->env);
	o2v_strv_free(o->env_files);
	for (size_t i = 0; i < o->n_volumes; i++)
		o2v_volspec_release(&o->volumes[i]);
	free(o->volumes);
	free(o->workdir);
	free(o->user);
	free(o->hostname);
	free(o->name);
	free(o->kernel);
	free(o->platform);
	free(o->entrypoint);
	o2v_strv_free(o->insecure_registries);
	o2v_strv_free(o->dns);
	o2v_strv_free(o->hosts);
	o2v_strv_free(o->tmpfs);
	o2v_strv_free(o->labels);
	o2v_strv_free(o->ulimits);
	memset(o, 0, sizeof(*o));
}

static int strv_push(char ***v, const char *s, struct o2v_error *err)
{
	return o2v_strv_push(v, s) < 0 ? o2v_error_sys(err, -ENOMEM, "parse options") : 0;
}

static int set_str(char **dst, const char *s, struct o2v_error *err)
{
	free(*dst);
	if (!(*dst = strdup(s)))
		return o2v_error_sys(err, -ENOMEM, "parse options");
	return 0;
}

static int add_port(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	struct o2v_port p;
	int r;

	if ((r = o2v_parse_port(val, &p, err)) < 0)
		return r;
	for (size_t i = 0; i < o->n_ports; i++)
		if (o->ports[i].host == p.host && o->ports[i].udp == p.udp)
			return o2v_error_set(err, -EINVAL, "host port %u/%s is published twice (-p %s)",
					     p.host, p.udp ? "udp" : "tcp", val);
	struct o2v_port *np = realloc(o->ports, (o->n_ports + 1) * sizeof(*np));
	if (!np)
		return o2v_error_sys(err, -ENOMEM, "parse options");
	o->ports = np;
	o->ports[o->n_ports++] = p;
	return 0;
}

static int add_volume(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	struct o2v_volspec v;
	int r;

	if ((r = o2v_parse_volume(val, &v, err)) < 0)
		return r;
	struct o2v_volspec *nv = realloc(o->volumes, (o->n_volumes + 1) * sizeof(*nv));
	if (!nv) {
		o2v_volspec_release(&v);
		return o2v_error_sys(err, -ENOMEM, "parse options");
	}
	o->volumes = nv;
	o->volumes[o->n_volumes++] = v;
	return 0;
}

static int add_host(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	_cleanup_free_ char *line = NULL;
	int r = o2v_parse_add_host(val, &line, err);

	return r < 0 ? r : strv_push(&o->hosts, line, err);
}

/* Docker's network names: its default bridge network is, like QEMU's user network with our
 * guard (vm/netguard.h), a private NAT'ed subnet whose ports are published with -p and from
 * which the host's loopback is not reachable. */
static const struct o2v_choice network_choices[] = {
    {"bridge", 0}, {"default", 0}, {"none", 1}, {NULL, 0}};
static const struct o2v_choice pull_choices[] = {{"missing", O2V_WHEN_MISSING},
						 {"always", O2V_WHEN_ALWAYS},
						 {"never", O2V_WHEN_NEVER},
						 {NULL, 0}};
static const struct o2v_choice format_choices[] = {{"ext4", 0}, {"cpio", 1}, {NULL, 0}};

/* --cap-add / --cap-drop NAME[,NAME...], NAME a capability with or without CAP_, or ALL. */
static int add_caps(struct o2v_run_opts *o, bool add, const char *val, struct o2v_error *err)
{
	const char *opt = add ? "--cap-add" : "--cap-drop";
	_cleanup_free_ char *copy = strdup(val);
	char *save = NULL;

	if (!copy)
		return o2v_error_sys(err, -ENOMEM, "parse options");
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int cap = o2v_cap_from_name(w);
		if (!strcasecmp(w, "ALL"))
			*(add ? &o->cap_add_all : &o->cap_drop_all) = true;
		else if (cap < 0)
			return o2v_error_set(err, -EINVAL,
					     "%s '%s': not a capability (e.g. NET_ADMIN, SYS_PTRACE, "
					     "ALL)",
					     opt, w);
		else
			*(add ? &o->cap_add : &o->cap_drop) |= O2V_CAP(cap);
	}
	o->caps_set = true;
	return 0;
}

/* Docker's order: --cap-drop ALL empties the default set, --cap-add ALL fills it, then
 * the named ones are added and dropped. */
static void finish_caps(struct o2v_run_opts *o)
{
	uint64_t caps = o->cap_drop_all ? 0 : O2V_CAPS_DEFAULT;

	if (o->cap_add_all)
		caps = O2V_CAPS_ALL;
	o->caps = (caps | o->cap_add) & ~o->cap_drop;
}

/* --restart no|on-failure[:N]|always|unless-stopped, Docker's. */
static int restart_policy(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	static const struct o2v_choice policies[] = {{"no", O2V_RESTART_NO},
						     {"on-failure", O2V_RESTART_ON_FAILURE},
						     {"always", O2V_RESTART_ALWAYS},
						     {"unless-stopped", O2V_RESTART_UNLESS_STOPPED},
						     {NULL, 0}};
	_cleanup_free_ char *name = strndup(val, strcspn(val, ":"));
	const char *max = strchr(val, ':');
	int v;

	if (!name)
		return o2v_error_sys(err, -ENOMEM, "parse options");
	o->restart_max = 0;
	if (o2v_parse_choice("--restart", name, policies, &v, err) < 0 ||
	    (max && v != O2V_RESTART_ON_FAILURE))
		return o2v_error_set(err, -EINVAL,
				     "--restart '%s': expected no, on-failure[:N], always or "
				     "unless-stopped",
				     val);
	if (max) {
		char *end;
		unsigned long n = strtoul(max + 1, &end, 10);
		if (!max[1] || *end || max[1] == '-' || n < 1 || n > 1000000)
			return o2v_error_set(err, -EINVAL,
					     "--restart '%s': the retry count must be a positive "
					     "number",
					     val);
		o->restart_max = (unsigned)n;
	}
	o->restart = (enum o2v_restart)v;
	return 0;
}

/* --tmpfs PATH[:OPTIONS], Docker's. */
static int add_tmpfs(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	size_t n = strcspn(val, ":");

	if (val[0] != '/' || n == 1 || strstr(val, "/../") || !strncmp(val, "/..", 3) ||
	    (n >= 3 && !strncmp(val + n - 3, "/..", 3)))
		return o2v_error_set(err, -EINVAL, "--tmpfs '%s': expected an absolute path other "
						   "than '/' (PATH[:OPTIONS])",
				     val);
	return strv_push(&o->tmpfs, val, err);
}

/* --ulimit NAME=SOFT[:HARD] → the run configuration's "NAME SOFT HARD". */
static int add_ulimit(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	struct o2v_ulimit u;
	char line[80];
	int r = o2v_ulimit_parse(val, &u, err);

	if (r < 0)
		return r;
	o2v_ulimit_format_line(&u, line);
	return strv_push(&o->ulimits, line, err);
}

/* --security-opt: no-new-privileges[=true|false] or no-new-privileges:true|false, and
 * systempaths=unconfined (Docker's: /proc/sys writable, nothing in /proc masked). */
static int security_opt(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	static const char nnp[] = "no-new-privileges";
	size_t n = strlen(nnp);

	if (!strcmp(val, "systempaths=unconfined")) {
		o->proc_unconfined = true;
		return 0;
	}
	if (!strncmp(val, nnp, n) &&
	    (!val[n] || ((val[n] == '=' || val[n] == ':') &&
			 (!strcmp(val + n + 1, "true") || !strcmp(val + n + 1, "false"))))) {
		o->no_new_privs = !val[n] || !strcmp(val + n + 1, "true");
		return 0;
	}
	return o2v_error_set(err, -EINVAL,
			     "--security-opt '%s': oci2vm knows no-new-privileges[=true|false] and "
			     "systempaths=unconfined "
			     "(the VM is the sandbox: no seccomp, AppArmor or SELinux profiles)",
			     val);
}

/* The network: 0 if id was one of its options, 1 if not, or an error. */
static int apply_network(struct o2v_run_opts *o, enum opt_id id, const char *val,
			 struct o2v_error *err)
{
	int v, r;

	switch (id) {
	case OPT_PUBLISH:
		return add_port(o, val, err);
	case OPT_DNS:
		if (!o2v_ip_literal(val))
			return o2v_error_set(err, -EINVAL, "--dns '%s': expected an IP address", val);
		return strv_push(&o->dns, val, err);
	case OPT_ADD_HOST:
		return add_host(o, val, err);
	case OPT_NETWORK:
		if ((r = o2v_parse_choice("--network", val, network_choices, &v, err)) < 0)
			return o2v_error_set(err, -EINVAL,
					     "--network '%s': expected bridge (QEMU's user network, "
					     "the default) or none",
					     val);
		o->no_network = v;
		return 0;
	case OPT_HOST_LOOPBACK:
		o->host_loopback = true;
		return 0;
	case OPT_CAP_ADD:
	case OPT_CAP_DROP:
		return add_caps(o, id == OPT_CAP_ADD, val, err);
	case OPT_READ_ONLY:
		o->read_only = true;
		return 0;
	case OPT_RESTART:
		return restart_policy(o, val, err);
	case OPT_HEALTH_CMD:
		if (!*val)
			return o2v_error_set(err, -EINVAL, "--health-cmd: an empty command");
		return set_str(&o->health_cmd, val, err);
	case OPT_HEALTH_INTERVAL:
		return o2v_parse_duration("--health-interval", val, &o->health_interval_ms, err);
	case OPT_HEALTH_TIMEOUT:
		return o2v_parse_duration("--health-timeout", val, &o->health_timeout_ms, err);
	case OPT_HEALTH_START:
		return o2v_parse_duration("--health-start-period", val, &o->health_start_ms, err);
	case OPT_HEALTH_RETRIES: {
		char *end;
		unsigned long n = strtoul(val, &end, 10);
		if (!*val || *end || val[0] == '-' || n < 1 || n > 1000000)
			return o2v_error_set(err, -EINVAL,
					     "--health-retries '%s': expected a positive number", val);
		o->health_retries = (unsigned)n;
		return 0;
	}
	case OPT_NO_HEALTH:
		o->no_healthcheck = true;
		return 0;
	case OPT_PUBLISH_ALL:
		o->publish_all = true;
		return 0;
	case OPT_SHM_SIZE: {
		/* Docker's: a bare number is bytes (o2v_parse_size would read MiB) */
		int e = *val && strspn(val, "0123456789") == strlen(val) && strlen(val) < 19
			    ? (o->shm_size = strtoull(val, NULL, 10), 0)
			    : o2v_parse_size(val, &o->shm_size, err);
		if (e < 0)
			o2v_error_prefix(err, "--shm-size");
		else if (o->shm_size < 4096)
			e = o2v_error_set(err, -EINVAL, "--shm-size '%s': at least 4k", val);
		return e;
	}
	case OPT_LABEL:
		if (!*val || val[0] == '=')
			return o2v_error_set(err, -EINVAL, "--label '%s': expected KEY=VALUE or KEY",
					     val);
		return strv_push(&o->labels, val, err);
	case OPT_STOP_SIGNAL: {
		int sig, e = o2v_parse_signal(val, &sig, err);
		if (e < 0) {
			o2v_error_prefix(err, "--stop-signal");
			return e;
		}
		o->stop_signal = (unsigned)sig;
		return 0;
	}
	case OPT_TMPFS:
		return add_tmpfs(o, val, err);
	case OPT_ULIMIT:
		return add_ulimit(o, val, err);
	case OPT_SECURITY_OPT:
		return security_opt(o, val, err);
	default:
		return 1;
	}
}

static int check_network(const struct o2v_run_opts *o, struct o2v_error *err)
{
	if (o->no_network && o->n_ports)
		return o2v_error_set(err, -EINVAL, "-p publishes a port of the VM's network: it "
						   "cannot be combined with --network none");
	if (o->no_network && o->dns)
		return o2v_error_set(err, -EINVAL, "--dns needs a network: it cannot be combined "
						   "with --network none");
	if (o->no_network && o->host_loopback)
		return o2v_error_set(err, -EINVAL, "--host-loopback needs a network: it cannot be "
						   "combined with --network none");
	return 0;
}

/* The workload's process: 0 if id was one of its options, 1 if not, or an error. */
static int apply_process(struct o2v_run_opts *o, enum opt_id id, const char *val,
			 struct o2v_error *err)
{
	switch (id) {
	case OPT_ENV:
		if (!*val || val[0] == '=')
			return o2v_error_set(err, -EINVAL, "invalid environment variable '-e %s'",
					     val);
		return strv_push(&o->env, val, err);
	case OPT_ENV_FILE:
		return strv_push(&o->env_files, val, err);
	case OPT_WORKDIR:
		if (val[0] != '/')
			return o2v_error_set(err, -EINVAL, "-w '%s': the working directory must be "
							   "an absolute path", val);
		return set_str(&o->workdir, val, err);
	case OPT_USER:
		if (!*val)
			return o2v_error_set(err, -EINVAL, "-u: empty user");
		return set_str(&o->user, val, err);
	case OPT_ENTRYPOINT:
		return set_str(&o->entrypoint, val, err);
	case OPT_HOSTNAME:
		if (!o2v_valid_hostname(val))
			return o2v_error_set(err, -EINVAL, "invalid hostname '%s'", val);
		return set_str(&o->hostname, val, err);
	case OPT_NAME:
		if (!o2v_valid_name(val))
			return o2v_error_set(err, -EINVAL,
					     "invalid name '%s': use letters, digits and _.- "
					     "(starting with a letter or digit)", val);
		return set_str(&o->name, val, err);
	default:
		return 1;
	}
}

/* The machine and the image: 0 if id was one of its options, 1 if not, or an error. */
static int apply_machine(struct o2v_run_opts *o, enum opt_id id, const char *val,
			 struct o2v_error *err)
{
	int v, r = 0;

	switch (id) {
	case OPT_VOLUME:
		return add_volume(o, val, err);
	case OPT_MEMORY:
		return o2v_parse_memory("--memory", val, &o->memory_mib, err);
	case OPT_CPUS:
		return o2v_parse_cpus("--cpus", val, &o->cpus, err);
	case OPT_STOP_TIMEOUT:
		return o2v_parse_seconds("--stop-timeout", val, &o->stop_timeout, err);
	case OPT_DISK_SIZE:
		r = o2v_parse_size(val, &o->disk_size, err);
		return r < 0 ? o2v_error_prefix(err, "--disk-size") : 0;
	case OPT_FORMAT:
		if ((r = o2v_parse_choice("--format", val, format_choices, &v, err)) == 0)
			o->cpio = v;
		return r;
	case OPT_PULL:
		if ((r = o2v_parse_choice("--pull", val, pull_choices, &v, err)) == 0)
			o->pull = (enum o2v_pull_when)v;
		return r;
	case OPT_ACCEL:
		return o2v_accel_parse(val, &o->accel, err);
	case OPT_KERNEL:
		return set_str(&o->kernel, val, err);
	case OPT_PLATFORM:
		return set_str(&o->platform, val, err);
	case OPT_INSECURE:
		return strv_push(&o->insecure_registries, val, err);
	case OPT_LOG_OPT:
		return o2v_parse_log_opt(val, &o->log_max_size, &o->log_max_files, err);
	default:
		return 1;
	}
}

static int apply_opt(struct o2v_run_opts *o, enum opt_id id, const char *val, struct o2v_error *err)
{
	int r;

	if ((r = apply_network(o, id, val, err)) <= 0 || (r = apply_process(o, id, val, err)) <= 0 ||
	    (r = apply_machine(o, id, val, err)) <= 0)
		return r;
	switch (id) {
	case OPT_RM: o->rm = true; return 0;
	case OPT_DETACH: o->detach = true; return 0;
	case OPT_INTERACTIVE: o->interactive = true; return 0;
	case OPT_TTY: o->tty = true; return 0;
	case OPT_VERBOSE: o->verbose = true; return 0;
	case OPT_QUIET: o->quiet = true; return 0;
	case OPT_SHELL: o->shell = true; return 0;
	case OPT_NO_SNAPSHOT: o->no_snapshot = true; return 0;
	default:
		return o2v_error_set(err, -EINVAL, "internal: unknown option id");
	}
}

static const struct opt_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (strlen(opt_defs[i].long_name) == len && !strncmp(opt_defs[i].long_name, name, len))
			return &opt_defs[i];
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (opt_defs[i].short_name == c)
			return &opt_defs[i];
	return NULL;
}

/* After IMAGE an unknown option is most likely the container command's own
 * (`run IMAGE sh -c ...` works, `run --entrypoint sh IMAGE -c ...` does not): say how. */
static int unknown_option(const struct o2v_run_opts *o, const char *opt, const char *w,
			  struct o2v_error *err)
{
	if (o->ref)
		return o2v_error_set(err, -EINVAL,
				     "unknown option '%s' after the image: if it is for the "
				     "container command, put '--' before that command",
				     opt);
	if (strcmp(opt, w))
		return o2v_error_set(err, -EINVAL, "unknown option '%s' in '%s'", opt, w);
	return o2v_error_set(err, -EINVAL, "unknown option '%s'", w);
}

/* Parse one option word at argv[*i] (which starts with '-'); advances *i. */
static int parse_option(struct o2v_run_opts *o, int argc, char **argv, int *i,
			struct o2v_error *err)
{
	const char *w = argv[*i];

	if (w[1] == '-') {
		const char *name = w + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt_def *d = find_long(name, len);
		if (!d)
			return unknown_option(o, w, w, err);
		const char *val = NULL;
		if (d->has_arg) {
			if (eq)
				val = eq + 1;
			else if (*i + 1 < argc)
				val = argv[++*i];
			else
				return o2v_error_set(err, -EINVAL, "option '--%s' needs a value",
						     d->long_name);
		} else if (eq) {
			return o2v_error_set(err, -EINVAL, "option '--%s' takes no value",
					     d->long_name);
		}
		(*i)++;
		return apply_opt(o, d->id, val, err);
	}
	/* Bundled short options: -it, -dp 80:80, -p80:80. */
	for (const char *c = w + 1; *c; c++) {
		const struct opt_def *d = find_short(*c);
		if (!d) {
			char opt[3] = { '-', *c, '\0' };
			return unknown_option(o, opt, w, err);
		}
		if (!d->has_arg) {
			int r = apply_opt(o, d->id, NULL, err);
			if (r < 0)
				return r;
			continue;
		}
		const char *val;
		if (c[1])
			val = c + 1;
		else if (*i + 1 < argc)
			val = argv[*i + 1];
		else if (d->id == OPT_VOLUME)
			val = "";
		else
			return o2v_error_set(err, -EINVAL, "option '-%c' needs a value", *c);
		/* -v without a HOST:GUEST value is --verbose (see runopts.h). */
		if (d->id == OPT_VOLUME && !strchr(val, ':')) {
			if (c[1])
				return o2v_error_set(err, -EINVAL,
						     "invalid volume '%s': expected "
						     "HOSTDIR:GUESTDIR[:ro|rw]", val);
			o->verbose = true;
			continue;
		}
		if (!c[1])
			++*i;
		(*i)++;
		return apply_opt(o, d->id, val, err);
	}
	(*i)++;
	return 0;
}

int o2v_run_opts_parse(struct o2v_run_opts *o, int argc, char **argv, struct o2v_error *err)
{
	int i = 1, r;

	while (i < argc) {
		const char *w = argv[i];
		if (!strcmp(w, "--")) {
			i++;
			if (!o->ref) {
				if (i >= argc)
					break;
				if ((r = set_str(&o->ref, argv[i++], err)) < 0)
					return r;
			}
			break;
		}
		if (w[0] == '-' && w[1]) {
			if ((r = parse_option(o, argc, argv, &i, err)) < 0)
				return r;
			continue;
		}
		if (o->ref)
			break; /* first non-option word after REF: the command */
		if ((r = set_str(&o->ref, w, err)) < 0)
			return r;
		i++;
	}
	if (!o->ref)
		return o2v_error_set(err, -EINVAL, "missing image reference: oci2vm run [OPTIONS] "
						   "IMAGE [COMMAND [ARG...]]");
	for (; i < argc; i++)
		if ((r = strv_push(&o->command, argv[i], err)) < 0)
			return r;
	if ((r = check_network(o, err)) < 0)
		return r;
	finish_caps(o);
	if (o->no_healthcheck && o->health_cmd)
		return o2v_error_set(err, -EINVAL, "--no-healthcheck conflicts with --health-cmd");
	if (o->restart != O2V_RESTART_NO && o->rm)
		return o2v_error_set(err, -EINVAL, "--restart keeps a container for its next start: "
						   "it cannot be combined with --rm");
	if (o->restart != O2V_RESTART_NO && !o->detach)
		return o2v_error_set(err, -EINVAL, "--restart needs -d: the VM's background "
						   "supervisor restarts it");
	/* -d with --rm is allowed: the supervisor removes the VM when it exits. */
	if (o->tty && o->detach)
		return o2v_error_set(err, -EINVAL, "-t needs a terminal: it cannot be combined "
						   "with -d");
	return 0;
}

int o2v_ports_publish_all(struct o2v_run_opts *o, char *const *exposed, struct o2v_error *err)
{
	for (size_t i = 0; o->publish_all && exposed && exposed[i]; i++) {
		char *end;
		unsigned long guest = strtoul(exposed[i], &end, 10);
		bool udp = !strcmp(end, "/udp");
		bool taken = false;

		if (!guest || guest > 65535 || (*end && strcmp(end, "/tcp") && !udp))
			continue; /* a range or a protocol we do not forward: Docker skips it too */
		for (size_t k = 0; k < o->n_ports && !taken; k++)
			taken = o->ports[k].guest == guest && o->ports[k].udp == udp;
		if (taken)
			continue; /* -p said where */
		/* A free port now: the kernel's pick among the ephemeral ones, as Docker's. */
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(a);
		_cleanup_close_ int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
						0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			return o2v_error_sys(err, -errno, "-P: find a free port");
		struct o2v_port *np = realloc(o->ports, (o->n_ports + 1) * sizeof(*np));
		if (!np)
			return o2v_error_sys(err, -ENOMEM, "-P");
		o->ports = np;
		o->ports[o->n_ports] = (struct o2v_port){.host = ntohs(a.sin_port),
							 .guest = (uint16_t)guest,
							 .udp = udp};
		snprintf(o->ports[o->n_ports].bind, sizeof(o->ports[0].bind), "127.0.0.1");
		o->n_ports++;
	}
	return 0;
}

int o2v_ports_check_free(const struct o2v_port *ports, size_t n, struct o2v_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct o2v_port *p = &ports[i];
		struct sockaddr_storage ss;
		socklen_t len;
		int family = strchr(p->bind, ':') ? AF_INET6 : AF_INET;

		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons(p->host);
			inet_pton(AF_INET, p->bind, &a->sin_addr);
			len = sizeof(*a);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons(p->host);
			inet_pton(AF_INET6, p->bind, &a->sin6_addr);
			len = sizeof(*a);
		}
		_cleanup_close_ int fd = socket(family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) |
								SOCK_CLOEXEC, 0);
		if (fd < 0)
			return o2v_error_sys(err, -errno, "check port %u", p->host);
		/* QEMU's slirp sets SO_REUSEADDR too, so TIME_WAIT leftovers don't count. */
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
			int e = errno;
			if (e == EADDRINUSE)
				return o2v_error_set(err, -EADDRINUSE,
						     "port %s:%u/%s is already in use: choose another "
						     "host port with -p",
						     p->bind, p->host, p->udp ? "udp" : "tcp");
			return o2v_error_sys(err, -e, "cannot listen on %s:%u", p->bind, p->host);
		}
	}
	return 0;
}
