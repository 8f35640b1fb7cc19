/* accel.c - choosing between KVM and TCG; see host.h.
 *
 * On nested-virtualisation hosts /dev/kvm can exist and open fine while the CPU flags lack
 * vmx/svm; a KVM guest then hangs right after the firmware with no error. Requiring both
 * signals avoids that trap; TCG is always available and merely slower.
 */
#include "../common/o2v.h"

#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "../common/fsutil.h"
#include "bootcache.h"
#include "host.h"
#include "qemu.h"

/* /proc/cpuinfo of a many-core host is large; the first "flags" line is all we need and
 * is within the first processor's block. */
#define O2V_CPUINFO_MAX (4u << 20)
/* 10 ms of TSC against CLOCK_MONOTONIC_RAW: ~1e-5 relative error, under a second a day. */
#define O2V_TSC_MEASURE_NS 10000000u

int o2v_accel_parse(const char *s, enum o2v_accel *ret, struct o2v_error *err)
{
	static const struct {
		const char *name;
		enum o2v_accel accel;
	} names[] = {{"auto", O2V_ACCEL_AUTO}, {"kvm", O2V_ACCEL_KVM}, {"tcg", O2V_ACCEL_TCG}};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name)) {
			*ret = names[i].accel;
			return 0;
		}
	return o2v_error_set(err, -EINVAL, "unknown accelerator '%s': expected auto, kvm or tcg",
			     s);
}

const char *o2v_accel_name(enum o2v_accel a)
{
	switch (a) {
	case O2V_ACCEL_KVM:
		return "kvm";
	case O2V_ACCEL_TCG:
		return "tcg";
	case O2V_ACCEL_AUTO:
		break;
	}
	return "auto";
}

/* Is word one of the space-separated words of the first "flags" line? */
static bool cpu_has_flag(const char *cpuinfo, const char *word)
{
	const char *line = cpuinfo;
	size_t wlen = strlen(word);

	while (line && *line) {
		const char *end = strchrnul(line, '\n');

		if (!strncmp(line, "flags", 5)) {
			const char *p = memchr(line, ':', (size_t)(end - line));

			while (p && p < end) {
				p += strspn(p, ": \t");
				size_t n = strcspn(p, " \t\n");
				if (n == wlen && !strncmp(p, word, wlen))
					return true;
				p += n;
			}
			return false;
		}
		line = *end ? end + 1 : NULL;
	}
	return false;
}

enum o2v_accel o2v_accel_choose(enum o2v_accel want, bool kvm_rw, const char *cpuinfo)
{
	if (want != O2V_ACCEL_AUTO)
		return want;
	if (kvm_rw && cpuinfo && (cpu_has_flag(cpuinfo, "vmx") || cpu_has_flag(cpuinfo, "svm")))
		return O2V_ACCEL_KVM;
	return O2V_ACCEL_TCG;
}

const char *o2v_accel_why(void)
{
	_cleanup_free_ char *cpuinfo = NULL;

	if (access("/dev/kvm", F_OK) < 0)
		return "no /dev/kvm on this host";
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return "/dev/kvm is not usable by this user (not in its group, usually 'kvm')";
	if (o2v_read_file("/proc/cpuinfo", O2V_CPUINFO_MAX, &cpuinfo, NULL, NULL) < 0)
		return "/proc/cpuinfo is unreadable";
	if (!cpu_has_flag(cpuinfo, "vmx") && !cpu_has_flag(cpuinfo, "svm"))
		return "the CPU shows neither vmx nor svm (a nested guest would hang)";
	return "/dev/kvm is usable and the CPU has hardware virtualization";
}

enum o2v_accel o2v_accel_resolve(enum o2v_accel want)
{
	_cleanup_free_ char *cpuinfo = NULL;
	struct o2v_error err = {0};

	if (want != O2V_ACCEL_AUTO)
		return want;
	if (o2v_read_file("/proc/cpuinfo", O2V_CPUINFO_MAX, &cpuinfo, NULL, &err) < 0)
		cpuinfo = NULL;
	return o2v_accel_choose(want, access("/dev/kvm", R_OK | W_OK) == 0, cpuinfo);
}

#if defined(__x86_64__)
static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sample the TSC and the clock back to back; retry when something (preemption) got between
 * the two reads, which would skew the pair. */
static bool tsc_sample(uint64_t *ret_tsc, uint64_t *ret_ns)
{
	for (int i = 0; i < 5; i++) {
		uint64_t a = __rdtsc();
		*ret_ns = monotonic_ns();
		uint64_t b = __rdtsc();
		*ret_tsc = a + (b - a) / 2;
		if (b - a < 20000)
			return true;
	}
	return false; /* kept being interrupted: usable, but not worth remembering */
}

/* Any x86-64 TSC of this century runs between these (kHz). */
#define TSC_KHZ_MIN 100000ul
#define TSC_KHZ_MAX 10000000ul

/* 0 when there is nothing to measure; *clean: both samples were undisturbed. */
static unsigned long measure_tsc_khz(bool *clean)
{
	_cleanup_free_ char *cpuinfo = NULL;
	uint64_t t0, n0, t1, n1;
	bool ok;

	*clean = false;
	/* Without an invariant TSC the rate changes with the CPU clock: nothing to measure. */
	if (o2v_read_file("/proc/cpuinfo", O2V_CPUINFO_MAX, &cpuinfo, NULL, NULL) < 0 ||
	    !cpu_has_flag(cpuinfo, "constant_tsc"))
		return 0;
	ok = tsc_sample(&t0, &n0);
	do
		*clean = tsc_sample(&t1, &n1) && ok;
	while (n1 - n0 < O2V_TSC_MEASURE_NS);
	unsigned long khz = (unsigned long)((t1 - t0) * 1000000u / (n1 - n0));
	return khz >= TSC_KHZ_MIN && khz <= TSC_KHZ_MAX ? khz : 0;
}

/* The rate is fixed until the host reboots, so one measurement serves every VM started
 * until then (bootcache.h). */
#define TSC_CACHE "host-tsc-khz"
unsigned long o2v_host_tsc_khz(void)
{
	char text[32];
	unsigned long khz;
	bool clean;

	if (o2v_boot_cache_get(TSC_CACHE, text, sizeof(text)) && sscanf(text, "%lu", &khz) == 1 &&
	    khz >= TSC_KHZ_MIN && khz <= TSC_KHZ_MAX)
		return khz;
	khz = measure_tsc_khz(&clean);
	if (khz > 0 && clean) {
		snprintf(text, sizeof(text), "%lu", khz);
		o2v_boot_cache_put(TSC_CACHE, text);
	}
	return khz;
}
#else
unsigned long o2v_host_tsc_khz(void)
{
	return 0;
}
#endif

void o2v_vm_spec_set_accel(struct o2v_vm_spec *spec, enum o2v_accel want)
{
	spec->r.accel = o2v_accel_resolve(want);
	spec->tsc_khz = spec->r.accel == O2V_ACCEL_TCG ? o2v_host_tsc_khz() : 0;
}
