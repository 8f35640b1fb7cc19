/* rootfs.c - resolve paths inside the container root the way the container will.
 *
 * The image is data from outside: its /etc/resolv.conf or /tmp may be a
 * symlink (absolute, or full of ".."), and init runs outside the chroot, so a
 * plain open() would follow it into init's own tree. openat2() with
 * RESOLVE_IN_ROOT resolves exactly as the chrooted workload will; mounts.c
 * mounts on the resulting fds.
 */
#include "init.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* From <linux/openat2.h>, which musl-gcc does not see. */
struct how {
	uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT	      0x10
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int open_flags(int root_fd, const char *path, int flags)
{
	struct how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .mode = flags & O_CREAT ? 0644 : 0,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

static int open_in_root(int root_fd, const char *path, bool dir)
{
	return open_flags(root_fd, path, O_PATH | (dir ? O_DIRECTORY : 0));
}

static int mkdir_in_root(int root_fd, const char *path, struct o2v_error *err);

int init_root_open(int root_fd, const char *path, enum init_root_how how, struct o2v_error *err)
{
	int fd = open_in_root(root_fd, path, false);

	if (fd >= 0)
		return fd;
	if (fd != -ENOENT || how == INIT_ROOT_EXISTING)
		return o2v_error_sys(err, fd, "open '%s' in the container", path);
	if (how == INIT_ROOT_MKDIR)
		return mkdir_in_root(root_fd, path, err);

	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!dir)
		return o2v_error_sys(err, -ENOMEM, "create '%s'", path);
	if (slash && slash > dir) {
		*slash = '\0';
		int dfd = mkdir_in_root(root_fd, dir, err);
		if (dfd < 0)
			return dfd;
		close(dfd);
	}
	fd = open_flags(root_fd, path, O_WRONLY | O_CREAT | O_NOCTTY);
	return fd >= 0 ? fd : o2v_error_sys(err, fd, "create '%s' in the container", path);
}

static int mkdir_in_root(int root_fd, const char *path, struct o2v_error *err)
{
	int fd;

	/* Create the missing tail one component at a time, each parent
	 * resolved inside the root again. */
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return o2v_error_sys(err, -ENOMEM, "create '%s'", path);
	for (char *p = copy; *p;) {
		while (*p == '/')
			p++;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		int pfd = open_in_root(root_fd, copy, true);
		if (pfd == -ENOENT) {
			char *base = strrchr(copy, '/');
			_cleanup_close_ int parent = -1;
			if (base && base > copy) {
				*base = '\0';
				parent = open_in_root(root_fd, copy, true);
				*base = '/';
			} else {
				parent = open_in_root(root_fd, "/", true);
			}
			if (parent < 0)
				return o2v_error_sys(err, parent, "create '%s' in the container",
						     path);
			if (mkdirat(parent, base ? base + 1 : copy, 0755) < 0 && errno != EEXIST)
				return o2v_error_sys(err, -errno, "create '%s' in the container",
						     copy);
			pfd = open_in_root(root_fd, copy, true);
		}
		if (pfd < 0)
			return o2v_error_sys(err, pfd, "create '%s' in the container", copy);
		close(pfd);
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
	}
	fd = open_in_root(root_fd, path, true);
	return fd >= 0 ? fd : o2v_error_sys(err, fd, "open '%s' in the container", path);
}
