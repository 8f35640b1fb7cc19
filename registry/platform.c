/* platform.c - see platform.h. */
#include "../common/o2v.h"

#include <ctype.h>
#include <string.h>
#include <sys/utsname.h>

#include "platform.h"

static void set_field(char *dst, const char *src)
{
	snprintf(dst, O2V_PLATFORM_FIELD_MAX, "%s", src);
}

void o2v_platform_normalize(struct o2v_platform *p)
{
	for (char *c = p->os; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (char *c = p->arch; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (char *c = p->variant; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!strcmp(p->os, "macos"))
		set_field(p->os, "darwin");

	const char *a = p->arch, *v = p->variant;
	if (!strcmp(a, "i386")) {
		set_field(p->arch, "386");
		p->variant[0] = '\0';
	} else if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64")) {
		set_field(p->arch, "amd64");
		if (!strcmp(v, "v1"))
			p->variant[0] = '\0';
	} else if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
		set_field(p->arch, "arm64");
		if (!strcmp(v, "8") || !strcmp(v, "v8") || !strcmp(v, "v8.0"))
			p->variant[0] = '\0';
		else if (!strcmp(v, "9") || !strcmp(v, "9.0") || !strcmp(v, "v9.0"))
			set_field(p->variant, "v9");
	} else if (!strcmp(a, "armhf")) {
		set_field(p->arch, "arm");
		set_field(p->variant, "v7");
	} else if (!strcmp(a, "armel")) {
		set_field(p->arch, "arm");
		set_field(p->variant, "v6");
	} else if (!strcmp(a, "arm")) {
		if (!*v || !strcmp(v, "7"))
			set_field(p->variant, "v7");
		else if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "8")) {
			char nv[4] = {'v', v[0], 0, 0};
			set_field(p->variant, nv);
		}
	}
}

int o2v_platform_set(struct o2v_platform *p, const char *os, const char *arch, const char *variant)
{
	memset(p, 0, sizeof(*p));
	if (!os || !arch || !*os || !*arch || strlen(os) >= O2V_PLATFORM_FIELD_MAX ||
	    strlen(arch) >= O2V_PLATFORM_FIELD_MAX ||
	    (variant && strlen(variant) >= O2V_PLATFORM_FIELD_MAX))
		return -EINVAL;
	set_field(p->os, os);
	set_field(p->arch, arch);
	if (variant)
		set_field(p->variant, variant);
	o2v_platform_normalize(p);
	return 0;
}

static bool valid_field(const char *s, size_t n)
{
	if (n == 0 || n >= O2V_PLATFORM_FIELD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

int o2v_platform_parse(const char *text, struct o2v_platform *ret, struct o2v_error *err)
{
	char f[3][O2V_PLATFORM_FIELD_MAX] = {{0}};
	const char *p = text;
	int n = 0;

	for (;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (n == 3 || !valid_field(p, len))
			return o2v_error_set(err, -EINVAL,
					     "invalid platform '%s': expected OS/ARCH[/VARIANT], "
					     "e.g. linux/amd64 or linux/arm64/v8",
					     text);
		memcpy(f[n++], p, len);
		if (!e)
			break;
		p = e + 1;
	}
	if (n == 1) /* containerd accepts a bare architecture as linux/ARCH */
		return o2v_platform_set(ret, "linux", f[0], NULL);
	o2v_platform_set(ret, f[0], f[1], n == 3 ? f[2] : NULL);
	return 0;
}

void o2v_platform_host(struct o2v_platform *ret)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.machine, sizeof(u.machine), "x86_64");
	o2v_platform_set(ret, "linux", u.machine, NULL);
	if (!strcmp(ret->arch, "arm") && !ret->variant[0])
		set_field(ret->variant, "v7");
}

void o2v_platform_format(const struct o2v_platform *p, char *buf, size_t size)
{
	const char *v = p->variant;

	if (!*v && !strcmp(p->arch, "arm64"))
		v = "v8";
	snprintf(buf, size, "%s/%s%s%s", p->os, p->arch, *v ? "/" : "", v);
}

/* "v8.2" -> 82, "v7" -> 70, "" -> dflt; -1 if not a vN[.M] variant. */
static int variant_level(const char *v, int dflt)
{
	int major = 0, minor = 0;
	char c;

	if (!*v)
		return dflt;
	if (v[0] != 'v')
		return -1;
	int n = sscanf(v + 1, "%d.%d%c", &major, &minor, &c);
	if (n == 1 || n == 2)
		return major * 10 + (n == 2 ? minor : 0);
	return -1;
}

int o2v_platform_match(const struct o2v_platform *want, const struct o2v_platform *have)
{
	if (!strcmp(have->os, "unknown") || !strcmp(have->arch, "unknown"))
		return -1;
	if (strcmp(want->os, have->os) || strcmp(want->arch, have->arch))
		return -1;
	if (!strcmp(want->variant, have->variant))
		return 0;
	int dflt = !strcmp(want->arch, "arm64") ? 80 : !strcmp(want->arch, "amd64") ? 10 : 0;
	int w = variant_level(want->variant, dflt), h = variant_level(have->variant, dflt);
	if (!strcmp(want->arch, "arm64") || !strcmp(want->arch, "amd64") ||
	    !strcmp(want->arch, "arm")) {
		/* a lower variant runs on a newer CPU; a higher one does not */
		if (w < 0 || h < 0 || h > w)
			return -1;
		return 1 + (w - h);
	}
	return -1;
}
