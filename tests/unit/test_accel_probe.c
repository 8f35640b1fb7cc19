/* test_accel_probe.c - the KVM probe (vm/accel_probe.c): a QEMU that ends in time is a yes,
 * one that hangs is killed at the deadline and is a no; with the build's kernel under TCG
 * the probe's guest really boots, panics without a root and ends QEMU. */
#include "../../common/o2v.h"

#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../../common/fsutil.h"
#include "../../vm/host.h"
#include "tap.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *script(const char *dir, const char *name, const char *body)
{
	char *path = o2v_path_join(dir, name);
	char text[256];
	int n = snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);

	if (path && o2v_write_file_atomic(path, text, (size_t)n, 0755, NULL) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

static void test_fake_qemu(const char *dir)
{
	_cleanup_free_ char *hangs = script(dir, "qemu-hangs", "exec sleep 30");
	_cleanup_free_ char *ends = script(dir, "qemu-ends", "exit 0");
	_cleanup_free_ char *fails = script(dir, "qemu-fails", "exit 1");

	double t0 = now_s();
	TAP_IS_INT(o2v_accel_probe(hangs, "/nonexistent", O2V_ACCEL_KVM, 300), 0,
		   "probe: a guest that never ends is a no");
	TAP_OK(now_s() - t0 < 10, "probe: ... given up at the deadline, not waited for");
	TAP_IS_INT(o2v_accel_probe(ends, "/nonexistent", O2V_ACCEL_KVM, 2000), 1,
		   "probe: QEMU ending cleanly in time is a yes");
	TAP_IS_INT(o2v_accel_probe(fails, "/nonexistent", O2V_ACCEL_KVM, 2000), 0,
		   "probe: QEMU failing is a no");
	TAP_IS_INT(o2v_accel_probe("/nonexistent/qemu", "/nonexistent", O2V_ACCEL_KVM, 2000), 0,
		   "probe: no QEMU is a no");
}

/* The build's kernel (BUILD/vmlinux, `make kernel`): its test guest ends under TCG too. */
static void test_real_guest(void)
{
	char exe[PATH_MAX], kernel[PATH_MAX + 16];
	_cleanup_free_ char *qemu = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (n <= 0) {
		tap_ok(1, "probe, real guest # SKIP no /proc/self/exe");
		return;
	}
	exe[n] = '\0';
	snprintf(kernel, sizeof(kernel), "%s/../vmlinux", dirname(exe));
	if (stat(kernel, &st) < 0 || o2v_qemu_find(NULL, &qemu, NULL) < 0) {
		tap_ok(1, "probe, real guest # SKIP no kernel built or no QEMU");
		return;
	}
	TAP_IS_INT(o2v_accel_probe(qemu, kernel, O2V_ACCEL_TCG, 60000), 1,
		   "probe: our kernel's test guest boots, panics without a root and ends QEMU");
}

int main(void)
{
	char dir[] = "/tmp/test_accel_probe.XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	test_fake_qemu(dir);
	test_real_guest();
	o2v_rm_rf(dir, NULL);
	return tap_done();
}
