/* ports.c - find a virtio-serial port by the name the host gave it.
 *
 * QEMU's `virtserialport,name=X` shows up as /dev/vportNpM, with X in
 * /sys/class/virtio-ports/vportNpM/name; the N and M depend on device order,
 * so the name is the only stable handle.
 */
#include "init.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>

#define PORTS_DIR     "/sys/class/virtio-ports"
#define PORT_NAME_MAX 64

static bool port_has_name(const char *port, const char *name)
{
	char path[sizeof(PORTS_DIR) + 2 * 256 + 8], buf[PORT_NAME_MAX + 2];
	size_t want = strlen(name);

	snprintf(path, sizeof(path), PORTS_DIR "/%s/name", port);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = O2V_RETRY(read(fd, buf, sizeof(buf)));
	if (n <= 0)
		return false;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	return (size_t)n == want && !memcmp(buf, name, want);
}

int init_port_open(const char *name, int flags)
{
	DIR *d = opendir(PORTS_DIR);
	struct dirent *de;
	int fd = -ENOENT;

	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vport", 5) || !port_has_name(de->d_name, name))
			continue;
		char dev[sizeof("/dev/") + 256];
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		fd = open(dev, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			fd = -errno;
		break;
	}
	closedir(d);
	return fd;
}
