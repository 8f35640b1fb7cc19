/* test_platform.c - containerd-style normalisation and matching. */
#include "../../common/o2v.h"

#include <string.h>

#include "../../registry/platform.h"
#include "tap.h"

static void norm(const char *os, const char *arch, const char *var, const char *want)
{
	struct o2v_platform p;
	char buf[O2V_PLATFORM_STR_MAX];

	o2v_platform_set(&p, os, arch, var);
	snprintf(buf, sizeof(buf), "%s/%s%s%s", p.os, p.arch, p.variant[0] ? "/" : "", p.variant);
	TAP_IS_STR(buf, want, "normalise %s/%s/%s", os, arch, var ? var : "");
}

static int match(const char *want, const char *have)
{
	struct o2v_platform w, h;

	if (o2v_platform_parse(want, &w, NULL) < 0 || o2v_platform_parse(have, &h, NULL) < 0)
		return -2;
	return o2v_platform_match(&w, &h);
}

int main(void)
{
	norm("linux", "x86_64", NULL, "linux/amd64");
	norm("Linux", "x86-64", "v1", "linux/amd64");
	norm("linux", "aarch64", NULL, "linux/arm64");
	norm("linux", "arm64", "v8", "linux/arm64");
	norm("linux", "arm64", "8", "linux/arm64");
	norm("linux", "arm64", "9.0", "linux/arm64/v9");
	norm("linux", "armhf", NULL, "linux/arm/v7");
	norm("linux", "armel", NULL, "linux/arm/v6");
	norm("linux", "arm", NULL, "linux/arm/v7");
	norm("linux", "arm", "6", "linux/arm/v6");
	norm("linux", "i386", NULL, "linux/386");
	norm("macos", "amd64", NULL, "darwin/amd64");

	TAP_IS_INT(match("linux/amd64", "linux/amd64"), 0, "exact");
	TAP_IS_INT(match("linux/arm64/v8", "linux/arm64"), 0, "arm64/v8 == arm64 (item 18)");
	TAP_IS_INT(match("linux/arm64", "linux/arm64/v8"), 0, "arm64 == arm64/v8");
	TAP_OK(match("linux/arm/v7", "linux/arm/v6") > 0, "arm/v7 falls back to v6 (item 19)");
	TAP_IS_INT(match("linux/arm/v6", "linux/arm/v7"), -1, "arm/v6 cannot run v7");
	TAP_OK(match("linux/arm64/v8.2", "linux/arm64") > 0, "arm64/v8.2 takes v8");
	TAP_IS_INT(match("linux/amd64", "linux/arm64"), -1, "different arch");
	TAP_IS_INT(match("linux/amd64", "windows/amd64"), -1, "different os");
	TAP_IS_INT(match("linux/amd64", "unknown/unknown"), -1, "attestations never match");
	TAP_IS_INT(match("amd64", "linux/amd64"), 0, "bare architecture means linux/ARCH");
	TAP_OK(match("linux/amd64/v3", "linux/amd64/v2") > 0, "amd64/v3 takes v2");
	TAP_IS_INT(match("linux/amd64", "linux/amd64/v3"), -1, "amd64 (v1) cannot run v3");

	struct o2v_platform p;
	struct o2v_error err = {0};
	TAP_IS_INT(o2v_platform_parse("linux/amd64/v2/x", &p, &err), -EINVAL,
		   "four fields refused");
	TAP_OK(strstr(err.msg, "linux/amd64/v2/x") != NULL, "message quotes the input");
	TAP_IS_INT(o2v_platform_parse("linux//amd64", &p, &err), -EINVAL, "empty field refused");
	TAP_IS_INT(o2v_platform_parse("", &p, &err), -EINVAL, "empty refused");
	TAP_IS_INT(o2v_platform_parse("linux/am d64", &p, &err), -EINVAL, "space refused");

	char buf[O2V_PLATFORM_STR_MAX];
	o2v_platform_parse("linux/aarch64", &p, NULL);
	o2v_platform_format(&p, buf, sizeof(buf));
	TAP_IS_STR(buf, "linux/arm64/v8", "arm64 shown with v8");
	o2v_platform_host(&p);
	TAP_OK(p.os[0] && p.arch[0], "host platform is %s/%s", p.os, p.arch);
	return tap_done();
}
