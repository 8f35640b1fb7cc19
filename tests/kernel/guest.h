/* guest.h - the two things a test /init needs from the host <-> guest contract
 * (docs/vm-contract.md), shared by tests/kernel/probe.c and bench/boot-init.c.
 * Static inline, libc only: both are built alone with musl-gcc -static. */
#ifndef O2V_TEST_GUEST_H
#define O2V_TEST_GUEST_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The initramfs is built without root, so it holds no /dev/console node: mount devtmpfs and
 * make the console our stdio. */
static inline void guest_setup_console(void)
{
	int fd;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Write "exit CODE" to the virtio-serial port named oci2vm.status (needs /sys mounted). */
static inline int guest_report_status(int code)
{
	char path[128], name[64];

	for (int dev = 0; dev < 4; dev++)
		for (int port = 0; port < 8; port++) {
			int fd;
			ssize_t n;

			snprintf(path, sizeof(path), "/sys/class/virtio-ports/vport%dp%d/name", dev,
				 port);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, name, sizeof(name) - 1);
			close(fd);
			if (n <= 0 || strncmp(name, "oci2vm.status\n", 14))
				continue;
			snprintf(path, sizeof(path), "/dev/vport%dp%d", dev, port);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0)
				return -1;
			dprintf(fd, "exit %d\n", code);
			close(fd);
			return 0;
		}
	return -1;
}

#endif
