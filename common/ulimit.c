/* ulimit.c - resource limits by name; see ulimit.h. */
#include "o2v.h"

#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>

#include "ulimit.h"

static const struct {
	const char *name;
	int resource;
} names[] = {
    {"as", RLIMIT_AS},		 {"core", RLIMIT_CORE},		{"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},	 {"fsize", RLIMIT_FSIZE},	{"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},	 {"nproc", RLIMIT_NPROC},	{"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},	 {"rttime", RLIMIT_RTTIME},	{"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static int resource_of(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i].name) == n && !strncmp(names[i].name, name, n))
			return names[i].resource;
	return -1;
}

static const char *name_of(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].resource == resource)
			return names[i].name;
	return NULL;
}

/* A value: decimal, or -1 / "unlimited". */
static int value(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if ((n == 2 && !strncmp(s, "-1", 2)) || (n == 9 && !strncmp(s, "unlimited", 9))) {
		*ret = O2V_ULIMIT_UNLIMITED;
		return 0;
	}
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

int o2v_ulimit_parse(const char *spec, struct o2v_ulimit *ret, struct o2v_error *err)
{
	size_t n = strcspn(spec, "=");
	const char *soft, *colon;

	if (!spec[n])
		return o2v_error_set(err, -EINVAL, "--ulimit '%s': expected NAME=SOFT[:HARD]",
				     spec);
	if ((ret->resource = resource_of(spec, n)) < 0)
		return o2v_error_set(err, -EINVAL,
				     "--ulimit '%s': unknown limit '%.*s' (nofile, nproc, core, "
				     "memlock, stack, ...)",
				     spec, (int)n, spec);
	soft = spec + n + 1;
	colon = strchr(soft, ':');
	if (value(soft, colon ? (size_t)(colon - soft) : strlen(soft), &ret->soft) < 0 ||
	    (colon && value(colon + 1, strlen(colon + 1), &ret->hard) < 0))
		return o2v_error_set(err, -EINVAL, "--ulimit '%s': expected numbers (or -1)", spec);
	if (!colon)
		ret->hard = ret->soft;
	if (ret->soft > ret->hard)
		return o2v_error_set(err, -EINVAL,
				     "--ulimit '%s': the soft limit is above the hard one", spec);
	return 0;
}

int o2v_ulimit_parse_line(const char *line, struct o2v_ulimit *ret)
{
	const char *a = strchr(line, ' '), *b = a ? strchr(a + 1, ' ') : NULL;

	if (!a || !b || (ret->resource = resource_of(line, (size_t)(a - line))) < 0 ||
	    value(a + 1, (size_t)(b - a - 1), &ret->soft) < 0 ||
	    value(b + 1, strlen(b + 1), &ret->hard) < 0 || ret->soft > ret->hard)
		return -EBADMSG;
	return 0;
}

static void put_value(char *buf, size_t len, uint64_t v)
{
	if (v == O2V_ULIMIT_UNLIMITED)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%" PRIu64, v);
}

void o2v_ulimit_format_line(const struct o2v_ulimit *u, char buf[80])
{
	char soft[24], hard[24];

	put_value(soft, sizeof(soft), u->soft);
	put_value(hard, sizeof(hard), u->hard);
	snprintf(buf, 80, "%s %s %s", name_of(u->resource) ? name_of(u->resource) : "?", soft,
		 hard);
}
