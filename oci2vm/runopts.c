/* runopts.c - `oci2vm run` option parsing; see runopts.h. */
#include "../common/o2v.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../common/strv.h"
#include "qemu.h"
#include "runopts.h"

enum opt_id {
	OPT_PUBLISH, OPT_ENV, OPT_ENV_FILE, OPT_VOLUME, OPT_WORKDIR, OPT_USER, OPT_ENTRYPOINT,
	OPT_HOSTNAME, OPT_MEMORY, OPT_CPUS, OPT_RM, OPT_DETACH, OPT_NAME, OPT_INTERACTIVE,
	OPT_TTY, OPT_ACCEL, OPT_KERNEL, OPT_PLATFORM, OPT_PULL, OPT_VERBOSE, OPT_QUIET,
	OPT_FORMAT, OPT_DISK_SIZE, OPT_STOP_TIMEOUT, OPT_INSECURE, OPT_SHELL, OPT_NETWORK,
	OPT_DNS, OPT_ADD_HOST,
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
	{ "cpus", 0, true, OPT_CPUS },
	{ "detach", 'd', false, OPT_DETACH },
	{ "disk-size", 0, true, OPT_DISK_SIZE },
	{ "dns", 0, true, OPT_DNS },
	{ "entrypoint", 0, true, OPT_ENTRYPOINT },
	{ "env", 'e', true, OPT_ENV },
	{ "env-file", 0, true, OPT_ENV_FILE },
	{ "format", 0, true, OPT_FORMAT },
	{ "hostname", 'h', true, OPT_HOSTNAME },
	{ "insecure-registry", 0, true, OPT_INSECURE },
	{ "interactive", 'i', false, OPT_INTERACTIVE },
	{ "kernel", 0, true, OPT_KERNEL },
	{ "memory", 'm', true, OPT_MEMORY },
	{ "name", 0, true, OPT_NAME },
	{ "net", 0, true, OPT_NETWORK }, /* Docker's older spelling */
	{ "network", 0, true, OPT_NETWORK },
	{ "platform", 0, true, OPT_PLATFORM },
	{ "publish", 'p', true, OPT_PUBLISH },
	{ "pull", 0, true, OPT_PULL },
	{ "quiet", 'q', false, OPT_QUIET },
	{ "rm", 0, false, OPT_RM },
	{ "shell", 0, false, OPT_SHELL },
	{ "stop-timeout", 0, true, OPT_STOP_TIMEOUT },
	{ "tty", 't', false, OPT_TTY },
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
	o->stop_timeout = 10;
	o->accel = O2V_ACCEL_AUTO;
	o->pull = O2V_WHEN_MISSING;
}

void o2v_run_opts_release(struct o2v_run_opts *o)
{
	free(o->ref);
	o2v_strv_free(o->command);
	free(o->ports);
	o2v_strv_free(o->env);
	o2v_strv_free(o->env_files);
	for (size_t i = 0; i < o->n_volumes; i++) {
		free(o->volumes[i].host);
		free(o->volumes[i].guest);
	}
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

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool valid_bind_address(const char *s)
{
	struct in_addr a4;
	struct in6_addr a6;

	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

int o2v_parse_port(const char *spec, struct o2v_port *ret, struct o2v_error *err)
{
	char buf[128];
	char *proto, *guest, *host, *bind = NULL;
	unsigned long long h, g;

	memset(ret, 0, sizeof(*ret));
	if (strlen(spec) >= sizeof(buf))
		return o2v_error_set(err, -EINVAL, "invalid port mapping '%.40s...': too long", spec);
	strcpy(buf, spec);
	if ((proto = strchr(buf, '/'))) {
		*proto++ = '\0';
		if (!strcmp(proto, "udp"))
			ret->udp = true;
		else if (strcmp(proto, "tcp"))
			return o2v_error_set(err, -EINVAL,
					     "invalid port mapping '%s': protocol '%s' is not tcp or udp",
					     spec, proto);
	}
	/* [IP:]HOST:GUEST; an IPv6 bind address is written in brackets. */
	if (!(guest = strrchr(buf, ':')))
		return o2v_error_set(err, -EINVAL,
				     "invalid port mapping '%s': expected [IP:]HOSTPORT:GUESTPORT", spec);
	*guest++ = '\0';
	host = buf;
	char *colon = strrchr(buf, ':');
	if (colon) {
		*colon = '\0';
		bind = buf;
		host = colon + 1;
		size_t bl = strlen(bind);
		if (bl >= 2 && bind[0] == '[' && bind[bl - 1] == ']') {
			bind[bl - 1] = '\0';
			bind++;
		}
		if (!valid_bind_address(bind))
			return o2v_error_set(err, -EINVAL,
					     "invalid port mapping '%s': '%s' is not an IP address", spec,
					     bind);
	}
	if (parse_uint(host, 65535, &h) < 0 || h == 0)
		return o2v_error_set(err, -EINVAL,
				     "invalid port mapping '%s': host port '%s' is not 1-65535", spec,
				     host);
	if (parse_uint(guest, 65535, &g) < 0 || g == 0)
		return o2v_error_set(err, -EINVAL,
				     "invalid port mapping '%s': container port '%s' is not 1-65535",
				     spec, guest);
	/* A valid IPv6 text address is at most 45 bytes, so this always fits. */
	memcpy(ret->bind, bind ? bind : "127.0.0.1", strnlen(bind ? bind : "127.0.0.1", 63));
	ret->host = (uint16_t)h;
	ret->guest = (uint16_t)g;
	return 0;
}

int o2v_parse_volume(const char *spec, struct o2v_volspec *ret, struct o2v_error *err)
{
	_cleanup_free_ char *buf = strdup(spec);
	char *host, *guest, *mode;
	char real[PATH_MAX];
	struct stat st;

	memset(ret, 0, sizeof(*ret));
	if (!buf)
		return o2v_error_sys(err, -ENOMEM, "parse volume");
	host = buf;
	if (!(guest = strchr(buf, ':')))
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': expected HOSTDIR:GUESTDIR[:ro|rw]", spec);
	*guest++ = '\0';
	if ((mode = strchr(guest, ':'))) {
		*mode++ = '\0';
		if (!strcmp(mode, "ro"))
			ret->readonly = true;
		else if (strcmp(mode, "rw"))
			return o2v_error_set(err, -EINVAL,
					     "invalid volume '%s': mode '%s' is not ro or rw", spec,
					     mode);
	}
	if (!*host || !*guest)
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': expected HOSTDIR:GUESTDIR[:ro|rw]", spec);
	if (guest[0] != '/')
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': container path '%s' must be absolute", spec,
				     guest);
	if (!realpath(host, real) || stat(real, &st) < 0)
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': host directory '%s' does not exist", spec,
				     host);
	if (!S_ISDIR(st.st_mode))
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': '%s' is not a directory (only directories "
				     "can be shared)",
				     spec, host);
	ret->host = strdup(real);
	ret->guest = strdup(guest);
	if (!ret->host || !ret->guest) {
		free(ret->host);
		free(ret->guest);
		return o2v_error_sys(err, -ENOMEM, "parse volume");
	}
	return 0;
}

int o2v_parse_size(const char *spec, uint64_t *ret_bytes, struct o2v_error *err)
{
	char *end;
	uint64_t mult = 1024 * 1024; /* QEMU's -m default unit */

	if (!*spec || *spec == '-' || *spec == '+')
		goto bad;
	errno = 0;
	unsigned long long v = strtoull(spec, &end, 10);
	if (errno || end == spec)
		goto bad;
	if (*end) {
		switch (*end) {
		case 'b': case 'B': mult = 1; break;
		case 'k': case 'K': mult = 1ULL << 10; break;
		case 'm': case 'M': mult = 1ULL << 20; break;
		case 'g': case 'G': mult = 1ULL << 30; break;
		case 't': case 'T': mult = 1ULL << 40; break;
		default: goto bad;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			goto bad;
	}
	if (v > UINT64_MAX / mult)
		goto bad;
	*ret_bytes = v * mult;
	return 0;
bad:
	return o2v_error_set(err, -EINVAL, "invalid size '%s': expected a number with K, M or G",
			     spec);
}

static bool valid_name(const char *s)
{
	/* Docker's container-name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	if (!*s || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9');
		if (!alnum && (p == s || !strchr("_.-", *p)))
			return false;
	}
	return true;
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return s[0] != '-' && s[0] != '.';
}

static bool ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int o2v_parse_add_host(const char *spec, char **ret_line, struct o2v_error *err)
{
	/* Docker's NAME:ADDR, or its newer NAME=ADDR (a name never holds either). */
	size_t n = strcspn(spec, ":=");
	_cleanup_free_ char *name = strndup(spec, n);
	const char *addr = spec[n] ? spec + n + 1 : NULL;
	_cleanup_free_ char *bare = NULL;

	if (!name)
		return o2v_error_sys(err, -ENOMEM, "parse --add-host");
	if (!addr || !valid_hostname(name))
		return o2v_error_set(err, -EINVAL,
				     "--add-host '%s': expected NAME:ADDRESS (an IP address or "
				     "host-gateway)",
				     spec);
	if (!strcmp(addr, "host-gateway"))
		addr = O2V_HOST_GATEWAY; /* Docker's name for the host as the guest reaches it */
	size_t an = strlen(addr);
	if (an > 2 && addr[0] == '[' && addr[an - 1] == ']') {
		if (!(bare = strndup(addr + 1, an - 2)))
			return o2v_error_sys(err, -ENOMEM, "parse --add-host");
		addr = bare;
	}
	if (!ip_literal(addr))
		return o2v_error_set(err, -EINVAL,
				     "--add-host '%s': '%s' is not an IP address (or host-gateway)",
				     spec, addr);
	if (asprintf(ret_line, "%s\t%s", addr, name) < 0)
		return o2v_error_sys(err, -ENOMEM, "parse --add-host");
	return 0;
}

static int apply_memory(struct o2v_run_opts *o, const char *val, struct o2v_error *err)
{
	uint64_t bytes;
	int r = o2v_parse_size(val, &bytes, err);

	if (r < 0)
		return o2v_error_prefix(err, "--memory");
	if (bytes < (uint64_t)O2V_MEMORY_MIN_MIB << 20)
		return o2v_error_set(err, -EINVAL,
				     "--memory %s is too small: a VM needs at least %uM", val,
				     O2V_MEMORY_MIN_MIB);
	if (bytes > (1ULL << 40))
		return o2v_error_set(err, -EINVAL, "--memory %s is too large: at most 1T", val);
	o->memory_mib = bytes >> 20;
	return 0;
}

static int apply_opt(struct o2v_run_opts *o, enum opt_id id, const char *val, struct o2v_error *err)
{
	unsigned long long n;
	int r;

	switch (id) {
	case OPT_PUBLISH: {
		struct o2v_port p;
		if ((r = o2v_parse_port(val, &p, err)) < 0)
			return r;
		for (size_t i = 0; i < o->n_ports; i++)
			if (o->ports[i].host == p.host && o->ports[i].udp == p.udp)
				return o2v_error_set(err, -EINVAL,
						     "host port %u/%s is published twice (-p %s)",
						     p.host, p.udp ? "udp" : "tcp", val);
		struct o2v_port *np = realloc(o->ports, (o->n_ports + 1) * sizeof(*np));
		if (!np)
			return o2v_error_sys(err, -ENOMEM, "parse options");
		o->ports = np;
		o->ports[o->n_ports++] = p;
		return 0;
	}
	case OPT_ENV:
		if (!*val || val[0] == '=')
			return o2v_error_set(err, -EINVAL, "invalid environment variable '-e %s'",
					     val);
		return strv_push(&o->env, val, err);
	case OPT_ENV_FILE:
		return strv_push(&o->env_files, val, err);
	case OPT_VOLUME: {
		struct o2v_volspec v;
		if ((r = o2v_parse_volume(val, &v, err)) < 0)
			return r;
		struct o2v_volspec *nv = realloc(o->volumes, (o->n_volumes + 1) * sizeof(*nv));
		if (!nv) {
			free(v.host);
			free(v.guest);
			return o2v_error_sys(err, -ENOMEM, "parse options");
		}
		o->volumes = nv;
		o->volumes[o->n_volumes++] = v;
		return 0;
	}
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
		if (!valid_hostname(val))
			return o2v_error_set(err, -EINVAL, "invalid hostname '%s'", val);
		return set_str(&o->hostname, val, err);
	case OPT_MEMORY:
		return apply_memory(o, val, err);
	case OPT_CPUS:
		if (parse_uint(val, O2V_CPUS_MAX, &n) < 0 || n == 0)
			return o2v_error_set(err, -EINVAL, "--cpus '%s': expected 1-%u", val,
					     O2V_CPUS_MAX);
		o->cpus = (unsigned)n;
		return 0;
	case OPT_NAME:
		if (!valid_name(val))
			return o2v_error_set(err, -EINVAL,
					     "invalid name '%s': use letters, digits and _.- "
					     "(starting with a letter or digit)", val);
		return set_str(&o->name, val, err);
	case OPT_ACCEL:
		return o2v_accel_parse(val, &o->accel, err);
	case OPT_KERNEL:
		return set_str(&o->kernel, val, err);
	case OPT_PLATFORM:
		return set_str(&o->platform, val, err);
	case OPT_PULL:
		if (!strcmp(val, "missing"))
			o->pull = O2V_WHEN_MISSING;
		else if (!strcmp(val, "always"))
			o->pull = O2V_WHEN_ALWAYS;
		else if (!strcmp(val, "never"))
			o->pull = O2V_WHEN_NEVER;
		else
			return o2v_error_set(err, -EINVAL,
					     "--pull '%s': expected always, missing or never", val);
		return 0;
	case OPT_DNS:
		if (!ip_literal(val))
			return o2v_error_set(err, -EINVAL, "--dns '%s': expected an IP address", val);
		return strv_push(&o->dns, val, err);
	case OPT_ADD_HOST: {
		_cleanup_free_ char *line = NULL;
		if ((r = o2v_parse_add_host(val, &line, err)) < 0)
			return r;
		return strv_push(&o->hosts, line, err);
	}
	case OPT_NETWORK:
		/* Docker's names: its default bridge network is, like QEMU's user network, a
		 * private NAT'ed subnet whose ports are published with -p. */
		if (!strcmp(val, "none"))
			o->no_network = true;
		else if (!strcmp(val, "bridge") || !strcmp(val, "default"))
			o->no_network = false;
		else
			return o2v_error_set(err, -EINVAL,
					     "--network '%s': expected bridge (QEMU's user network, "
					     "the default) or none",
					     val);
		return 0;
	case OPT_FORMAT:
		if (!strcmp(val, "cpio"))
			o->cpio = true;
		else if (!strcmp(val, "ext4"))
			o->cpio = false;
		else
			return o2v_error_set(err, -EINVAL, "--format '%s': expected ext4 or cpio",
					     val);
		return 0;
	case OPT_DISK_SIZE:
		if ((r = o2v_parse_size(val, &o->disk_size, err)) < 0)
			return o2v_error_prefix(err, "--disk-size");
		return 0;
	case OPT_STOP_TIMEOUT:
		if (parse_uint(val, 3600, &n) < 0)
			return o2v_error_set(err, -EINVAL, "--stop-timeout '%s': expected seconds "
							   "(0-3600)", val);
		o->stop_timeout = (unsigned)n;
		return 0;
	case OPT_INSECURE:
		return strv_push(&o->insecure_registries, val, err);
	case OPT_RM: o->rm = true; return 0;
	case OPT_DETACH: o->detach = true; return 0;
	case OPT_INTERACTIVE: o->interactive = true; return 0;
	case OPT_TTY: o->tty = true; return 0;
	case OPT_VERBOSE: o->verbose = true; return 0;
	case OPT_QUIET: o->quiet = true; return 0;
	case OPT_SHELL: o->shell = true; return 0;
	}
	return o2v_error_set(err, -EINVAL, "internal: unknown option id");
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
	if (o->no_network && o->n_ports)
		return o2v_error_set(err, -EINVAL, "-p publishes a port of the VM's network: it "
						   "cannot be combined with --network none");
	if (o->no_network && o->dns)
		return o2v_error_set(err, -EINVAL, "--dns needs a network: it cannot be combined "
						   "with --network none");
	/* -d with --rm is allowed: the supervisor removes the VM when it exits. */
	if (o->tty && o->detach)
		return o2v_error_set(err, -EINVAL, "-t needs a terminal: it cannot be combined "
						   "with -d");
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
