/* values.c - parsing the values of command-line options, once; see values.h. */
#include "../common/o2v.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "../vm/host.h"
#include "../vm/logfile.h"
#include "values.h"

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
		return o2v_error_set(err, -EINVAL, "invalid port mapping '%.40s...': too long",
				     spec);
	strcpy(buf, spec);
	if ((proto = strchr(buf, '/'))) {
		*proto++ = '\0';
		if (!strcmp(proto, "udp"))
			ret->udp = true;
		else if (strcmp(proto, "tcp"))
			return o2v_error_set(
			    err, -EINVAL,
			    "invalid port mapping '%s': protocol '%s' is not tcp or udp", spec,
			    proto);
	}
	/* [IP:]HOST:GUEST; an IPv6 bind address is written in brackets. */
	if (!(guest = strrchr(buf, ':')))
		return o2v_error_set(err, -EINVAL,
				     "invalid port mapping '%s': expected [IP:]HOSTPORT:GUESTPORT",
				     spec);
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
					     "invalid port mapping '%s': '%s' is not an IP address",
					     spec, bind);
	}
	if (parse_uint(host, 65535, &h) < 0 || h == 0)
		return o2v_error_set(err, -EINVAL,
				     "invalid port mapping '%s': host port '%s' is not 1-65535",
				     spec, host);
	if (parse_uint(guest, 65535, &g) < 0 || g == 0)
		return o2v_error_set(
		    err, -EINVAL, "invalid port mapping '%s': container port '%s' is not 1-65535",
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
		return o2v_error_set(
		    err, -EINVAL, "invalid volume '%s': expected HOSTDIR:GUESTDIR[:ro|rw]", spec);
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
		return o2v_error_set(
		    err, -EINVAL, "invalid volume '%s': expected HOSTDIR:GUESTDIR[:ro|rw]", spec);
	if (guest[0] != '/')
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': container path '%s' must be absolute",
				     spec, guest);
	if (!realpath(host, real) || stat(real, &st) < 0)
		return o2v_error_set(err, -EINVAL,
				     "invalid volume '%s': host directory '%s' does not exist",
				     spec, host);
	if (!S_ISDIR(st.st_mode))
		return o2v_error_set(
		    err, -EINVAL,
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
		case 'b':
		case 'B':
			mult = 1;
			break;
		case 'k':
		case 'K':
			mult = 1ULL << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ULL << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ULL << 30;
			break;
		case 't':
		case 'T':
			mult = 1ULL << 40;
			break;
		default:
			goto bad;
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

bool o2v_valid_name(const char *s)
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

bool o2v_valid_hostname(const char *s)
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

bool o2v_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A Go duration ("1h30m", "500ms"; a unit is required) → milliseconds; false if not one. */
static bool go_duration(const char *spec, double *ret_ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1}, {"s", 1000},
		     {"m", 60000}, {"h", 3600000}};
	double total = 0;
	const char *p = spec;

	if (!*p)
		return false;
	while (*p) {
		char *end;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return false;
		double v = strtod(p, &end);
		size_t best = 0, best_len = 0;
		if (end == p)
			return false;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].unit);
			if (!strncmp(end, units[i].unit, n) && n > best_len) {
				best = i;
				best_len = n;
			}
		}
		if (!best_len)
			return false;
		total += v * units[best].ms;
		p = end + best_len;
	}
	*ret_ms = total;
	return true;
}

int o2v_parse_duration(const char *opt, const char *spec, uint64_t *ret_ms, struct o2v_error *err)
{
	double total;

	if (!go_duration(spec, &total))
		return o2v_error_set(err, -EINVAL,
				     "%s '%s': expected a duration such as 30s, 1m30s or 500ms", opt,
				     spec);
	if (total > 86400000.0 || total <= 0)
		return o2v_error_set(err, -ERANGE, "%s '%s': expected more than 0 and at most 24h",
				     opt, spec);
	*ret_ms = (uint64_t)total + ((double)(uint64_t)total < total);
	return 0;
}

/* "2013-01-02", "2013-01-02T13:23:37", with ".123" and "Z" or "+01:00" after it; without a
 * zone, local time (as Docker reads it). */
static bool rfc3339_time(const char *spec, int64_t *ret)
{
	struct tm tm = {0};
	const char *p = strptime(spec, "%Y-%m-%d", &tm);
	bool zone = false;
	long offset = 0;

	if (!p)
		return false;
	if (*p == 'T' && !(p = strptime(p + 1, "%H:%M:%S", &tm)))
		return false;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z') {
		zone = true;
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		unsigned hh, mm;
		if (sscanf(p + 1, "%2u:%2u", &hh, &mm) != 2 || hh > 23 || mm > 59)
			return false;
		offset = (long)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		zone = true;
		p += 6;
	}
	if (*p)
		return false;
	tm.tm_isdst = -1;
	time_t t = zone ? timegm(&tm) - offset : mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*ret = (int64_t)t;
	return true;
}

int o2v_parse_since(const char *opt, const char *spec, int64_t now, int64_t *ret,
		    struct o2v_error *err)
{
	double ms;
	char *end;

	if (go_duration(spec, &ms) && ms >= 0) {
		*ret = now - (int64_t)(ms / 1000);
		return 0;
	}
	if (rfc3339_time(spec, ret))
		return 0;
	/* a Unix time, seconds with an optional fraction */
	size_t digits = strspn(spec, "0123456789");
	if (digits > 0 && digits <= 12 &&
	    (!spec[digits] || (spec[digits] == '.' && !spec[digits + 1 + strspn(spec + digits + 1,
									   "0123456789")]))) {
		*ret = (int64_t)strtoll(spec, &end, 10);
		return 0;
	}
	return o2v_error_set(err, -EINVAL,
			     "%s '%s': expected a time such as 2026-01-02T13:23:37Z, 2026-01-02, a "
			     "Unix time, or a duration before now such as 10m",
			     opt, spec);
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
	if (!addr || !o2v_valid_hostname(name))
		return o2v_error_set(err, -EINVAL,
				     "--add-host '%s': expected NAME:ADDRESS (an IP address or "
				     "host-gateway)",
				     spec);
	if (!strcmp(addr, O2V_HOST_GATEWAY_NAME)) {
		/* Where the host is depends on the VM's network: o2v_hosts_resolve(). */
		if (asprintf(ret_line, "%s\t%s", addr, name) < 0)
			return o2v_error_sys(err, -ENOMEM, "parse --add-host");
		return 0;
	}
	size_t an = strlen(addr);
	if (an > 2 && addr[0] == '[' && addr[an - 1] == ']') {
		if (!(bare = strndup(addr + 1, an - 2)))
			return o2v_error_sys(err, -ENOMEM, "parse --add-host");
		addr = bare;
	}
	if (!o2v_ip_literal(addr))
		return o2v_error_set(err, -EINVAL,
				     "--add-host '%s': '%s' is not an IP address (or host-gateway)",
				     spec, addr);
	if (asprintf(ret_line, "%s\t%s", addr, name) < 0)
		return o2v_error_sys(err, -ENOMEM, "parse --add-host");
	return 0;
}

int o2v_hosts_resolve(char **hosts, bool net, bool host_loopback, struct o2v_error *err)
{
	const size_t plen = strlen(O2V_HOST_GATEWAY_NAME "\t");
	char addr[64];
	int r;
	bool resolved = false;

	for (char **h = hosts; h && *h; h++) {
		char *line;
		if (strncmp(*h, O2V_HOST_GATEWAY_NAME "\t", plen))
			continue;
		/* Asked once, and only when used: it may be an error (no network). */
		if (!resolved &&
		    (r = o2v_net_host_gateway(net, host_loopback, addr, sizeof(addr), err)) < 0)
			return r;
		resolved = true;
		if (asprintf(&line, "%s\t%s", addr, *h + plen) < 0)
			return o2v_error_sys(err, -ENOMEM, "resolve host-gateway");
		free(*h);
		*h = line;
	}
	return 0;
}

void o2v_volspec_release(struct o2v_volspec *v)
{
	free(v->host);
	free(v->guest);
	v->host = v->guest = NULL;
}

int o2v_parse_memory(const char *opt, const char *spec, uint64_t *ret_mib, struct o2v_error *err)
{
	uint64_t bytes;

	if (o2v_parse_size(spec, &bytes, err) < 0)
		return o2v_error_prefix(err, "%s", opt);
	if (bytes < (uint64_t)O2V_MEMORY_MIN_MIB << 20)
		return o2v_error_set(err, -EINVAL, "%s %s is too small: a VM needs at least %uM",
				     opt, spec, O2V_MEMORY_MIN_MIB);
	if (bytes > (uint64_t)O2V_MEMORY_MAX_MIB << 20)
		return o2v_error_set(err, -EINVAL, "%s %s is too large: at most %uM", opt, spec,
				     O2V_MEMORY_MAX_MIB);
	*ret_mib = bytes >> 20;
	return 0;
}

int o2v_parse_cpus(const char *opt, const char *spec, unsigned *ret, struct o2v_error *err)
{
	unsigned long long n;

	if (parse_uint(spec, O2V_CPUS_MAX, &n) < 0 || n == 0)
		return o2v_error_set(err, -EINVAL, "%s '%s': expected 1-%u", opt, spec,
				     O2V_CPUS_MAX);
	*ret = (unsigned)n;
	return 0;
}

int o2v_parse_seconds(const char *opt, const char *spec, unsigned *ret, struct o2v_error *err)
{
	unsigned long long n;

	if (parse_uint(spec, O2V_STOP_TIMEOUT_MAX, &n) < 0)
		return o2v_error_set(err, -EINVAL, "%s '%s': expected seconds (0-%u)", opt, spec,
				     O2V_STOP_TIMEOUT_MAX);
	*ret = (unsigned)n;
	return 0;
}

int o2v_parse_signal(const char *spec, int *ret, struct o2v_error *err)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT},   {"HUP", SIGHUP},
		     {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}};
	unsigned long long n;
	const char *s = spec;

	if (parse_uint(spec, 64, &n) == 0 && n > 0) {
		*ret = (int)n;
		return 0;
	}
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name)) {
			*ret = names[i].sig;
			return 0;
		}
	return o2v_error_set(err, -EINVAL, "unknown signal '%s'", spec);
}

int o2v_parse_winsize(const char *spec, unsigned *ret_rows, unsigned *ret_cols,
		      struct o2v_error *err)
{
	unsigned long long r, c;
	const char *x = strchr(spec, 'x');
	char rows[8];

	if (!x || (size_t)(x - spec) >= sizeof(rows))
		goto bad;
	memcpy(rows, spec, (size_t)(x - spec));
	rows[x - spec] = '\0';
	if (parse_uint(rows, 65535, &r) < 0 || parse_uint(x + 1, 65535, &c) < 0)
		goto bad;
	*ret_rows = (unsigned)r;
	*ret_cols = (unsigned)c;
	return 0;
bad:
	return o2v_error_set(err, -EINVAL, "window size '%s': expected ROWSxCOLS (0-65535 each)",
			     spec);
}

int o2v_parse_choice(const char *what, const char *spec, const struct o2v_choice *choices, int *ret,
		     struct o2v_error *err)
{
	char words[256] = "";
	size_t n = 0;

	for (const struct o2v_choice *c = choices; c->name; c++) {
		if (!strcmp(spec, c->name)) {
			*ret = c->value;
			return 0;
		}
		n += (size_t)snprintf(words + n, n < sizeof(words) ? sizeof(words) - n : 0, "%s%s",
				      c == choices ? ""
				      : c[1].name  ? ", "
						   : " or ",
				      c->name);
	}
	return o2v_error_set(err, -EINVAL, "%s '%s': expected %s", what, spec, words);
}

int o2v_parse_log_opt(const char *spec, uint64_t *max_size, unsigned *max_files,
		      struct o2v_error *err)
{
	unsigned long long n;

	if (!strncmp(spec, "max-size=", 9)) {
		if (o2v_parse_size(spec + 9, max_size, err) < 0 || *max_size < 4096)
			return o2v_error_set(
			    err, -EINVAL, "--log-opt %s: expected a size of at least 4k (e.g. 10m)",
			    spec);
		return 0;
	}
	if (!strncmp(spec, "max-file=", 9)) {
		if (parse_uint(spec + 9, O2V_LOG_MAX_FILES, &n) < 0 || n == 0)
			return o2v_error_set(err, -EINVAL, "--log-opt %s: expected 1-%d files",
					     spec, O2V_LOG_MAX_FILES);
		*max_files = (unsigned)n;
		return 0;
	}
	return o2v_error_set(err, -EINVAL, "--log-opt '%s': expected max-size=SIZE or max-file=N",
			     spec);
}
