/* ports.c - find a virtio-serial port by the name the host gave it.
 *
 * QEMU's `virtserialport,name=X` shows up as /dev/vportNpM, with X in
 * /sys/class/virtio-ports/vportNpM/name. N is the virtio device's index and
 * M the port's number, both in QEMU command-line order. vm/qemu_argv.c (and
 * docs/vm-contract.md) put the virtio-serial device first, then the console
 * (port 0), the status port (1), the control port (2) and, without a
 * terminal, the workload's stdout (3) and stderr (4) ports: that name is
 * tried first, which costs one small sysfs read instead of a directory
 * scan (code that runs once is slow under TCG). The name is still checked,
 * and any other layout (an image booted by hand) falls back to the scan.
 */
#include "init.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PORTS_DIR     "/sys/class/virtio-ports"
#define PORT_NAME_MAX 64
#define NAME_WAIT_US	 5000
#define NAME_WAIT_TRIES 40 /* 200 ms */

/* 1: the port has that name; 0: another or none; -1: the port has no name yet. */
static int port_name_is(const char *port, const char *name)
{
	char path[sizeof(PORTS_DIR) + 2 * 256 + 8], buf[PORT_NAME_MAX + 2];
	size_t want = strlen(name);

	snprintf(path, sizeof(path), PORTS_DIR "/%s/name", port);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = O2V_RETRY(read(fd, buf, sizeof(buf)));
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n <= 0)
		return -1;
	return (size_t)n == want && !memcmp(buf, name, want);
}

static bool port_has_name(const char *port, const char *name)
{
	return port_name_is(port, name) == 1;
}

static int port_open(const char *port, int flags)
{
	char dev[sizeof("/dev/") + 256];

	snprintf(dev, sizeof(dev), "/dev/%s", port);
	int fd = open(dev, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

int init_port_open(const char *name, const char *guess, int flags)
{
	struct dirent *de;
	int fd = -ENOENT;

	/* The host names a port in a message the driver handles after creating it: a port
	 * that exists without a name yet gets a moment. */
	for (int waited = 0; guess; waited++) {
		int is = port_name_is(guess, name);
		if (is == 1)
			return port_open(guess, flags);
		if (is == 0 || waited >= NAME_WAIT_TRIES)
			break;
		usleep(NAME_WAIT_US);
	}
	DIR *d = opendir(PORTS_DIR);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vport", 5) || !port_has_name(de->d_name, name))
			continue;
		fd = port_open(de->d_name, flags);
		break;
	}
	closedir(d);
	return fd;
}
