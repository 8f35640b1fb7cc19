/* The /init of bench/boot: the smallest useful workload. It reports the kernel's own clock at
 * the moment userspace started (so the benchmark can split kernel boot from QEMU overhead),
 * writes `exit 0` on the status port when there is one, and reboots, which with `reboot=t`
 * and QEMU's -no-reboot ends QEMU. */
#include <stdio.h>
#include <sys/reboot.h>

#include "../tests/kernel/guest.h"

int main(void)
{
	char up[64] = "?\n";
	int fd;

	guest_setup_console();
	mkdir("/proc", 0555);
	mount("proc", "/proc", "proc", 0, NULL);
	fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, up, sizeof(up) - 1);

		up[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	printf("bench-init: uptime %s", up);
	/* bench/boot reuses oci2vm's kernel command line for the kernel it compares against. */
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char cmdline[4096];
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);

		cmdline[n > 0 ? n : 0] = '\0';
		printf("bench-init: cmdline %s", cmdline);
		close(fd);
	}
	mkdir("/sys", 0555);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	guest_report_status(0);
	reboot(RB_AUTOBOOT);
	return 1;
}
