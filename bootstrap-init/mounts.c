/* mounts.c - the file systems of init and of the container.
 *
 * Init's own /dev (devtmpfs, in the initramfs) comes first: the console,
 * the root disk's device node and the ports live there; then its /sys, where
 * the ports' names are (the workload's stdout and stderr ports are found
 * before it starts). Init's /proc serves only what happens once the workload
 * runs (the console log level, unmounting at the end), so it is mounted then
 * (init_mount_late), not on the way to the workload's first instruction.
 * The container gets its own set inside its root, as runc would set them up:
 * /proc, /sys and /sys/fs/cgroup (cgroup2) read-only as Docker mounts them,
 * /dev (a tmpfs with Docker's nodes: null zero full random urandom tty, the
 * fd links, ptmx; console with a terminal - the VM's own devices stay out of
 * it, and confine.c denies them even to a workload that makes the nodes),
 * /dev/pts (a private devpts instance), /dev/shm, /dev/mqueue, plus /run and
 * /tmp as tmpfs only where the image has them as empty directories.
 *
 * Mount points are resolved inside the container root (rootfs.c) and
 * reached through their fds: a directory by fchdir() and ".", a file by
 * open_tree() + move_mount(). Not through /proc/self/fd/N: the first use of
 * proc's magic links costs about 2 ms under TCG, and nothing else needs them.
 *
 * Why /run and /tmp that way: Docker mounts neither; the container sees the
 * image's directories on its writable layer. Here the root is already
 * writable (the initramfs's RAM, or the VM's own disk), so a tmpfs would add
 * nothing but could hide what the image put there (Debian ships /run/lock,
 * some images ship files in /tmp). Over an empty directory a tmpfs hides
 * nothing and gives what a fresh container has: a clean /tmp and /run on
 * every boot, not left-overs from the last run on a reused disk, and no
 * disk writes for temporary files. A missing /run or /tmp is not created,
 * as Docker does not create it either.
 */
#include "init.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* From <linux/mount.h>, which musl-gcc does not see (glibc's <sys/mount.h> has them). */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE		1
#define MOVE_MOUNT_F_EMPTY_PATH 0x04
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#endif
#ifndef SYS_open_tree
#define SYS_open_tree  428
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV  0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
struct o2v_mount_attr { /* struct mount_attr, <linux/mount.h> */
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define MOUNTS_MAX    4096 /* entries of /proc/self/mounts we unmount */
#define MOUNTINFO_MAX (1024 * 1024)
#define DISK_WAIT_MS  2000
#define NINEP_OPTS    "trans=virtio,version=9p2000.L,msize=262144,cache=mmap"
/* A share's file system type and mount options. */
#define SHARE_TYPE(v) ((v)->virtiofs ? "virtiofs" : "9p")
#define SHARE_OPTS(v) ((v)->virtiofs ? NULL : NINEP_OPTS)

#include "../common/fsutil.h"

static int mount_at(const char *src, const char *target, const char *type, unsigned long flags,
		    const char *data, struct o2v_error *err)
{
	if (mount(src, target, type, flags, data) < 0)
		return o2v_error_sys(err, -errno, "mount %s on '%s'", type ? type : src, target);
	return 0;
}

static int mount_fs(const char *type, const char *dir, struct o2v_error *err)
{
	mkdir(dir, 0755);
	return mount_at(type, dir, type, MS_NOSUID | MS_NOEXEC, NULL, err);
}

int init_mount_early(struct o2v_error *err)
{
	int r = mount_fs("devtmpfs", "/dev", err);

	/* The kernel may already have mounted devtmpfs (DEVTMPFS_MOUNT). */
	if (r < 0 && r != -EBUSY)
		return r;
	return mount_fs("sysfs", "/sys", err);
}

void init_mount_late(void)
{
	static bool done;
	struct o2v_error err;

	if (done)
		return;
	done = true;
	if (mount_fs("proc", "/proc", &err) < 0)
		init_log("%s", err.msg);
}

/* The superblock's RECOVER flag (EXT4_FEATURE_INCOMPAT_RECOVER in s_feature_incompat, a
 * little-endian word at 1024 + 0x60): the journal holds transactions to replay. The read
 * fills the page cache the mount reads the superblock from. Unreadable: assume it does. */
static bool journal_needs_recovery(const char *dev)
{
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	unsigned char incompat[4];

	if (fd < 0 || pread(fd, incompat, sizeof(incompat), 1024 + 0x60) != sizeof(incompat))
		return true;
	return incompat[0] & 0x4;
}

int init_mount_rootdisk(const char *dev, bool ephemeral, struct o2v_error *err)
{
	struct stat st;
	int r;

	/* Built-in drivers have probed before /init runs, but the node is made
	 * by devtmpfs's kernel thread: allow it a moment. */
	for (int waited = 0; stat(dev, &st) < 0; waited += 10) {
		if (errno != ENOENT || waited >= DISK_WAIT_MS)
			return o2v_error_sys(err, -errno, "find root disk '%s'", dev);
		usleep(10 * 1000);
	}
	if ((r = o2v_mkdir_p(INIT_DISK_MNT, 0755, err)) < 0)
		return r;
	/* Nothing in the background while the workload starts: mke2fs leaves the inode tables
	 * to be zeroed lazily (under `run` the disk is a throw-away snapshot, so that would only
	 * burn CPU and fill QEMU's temporary overlay), and ext4 would read every group's block
	 * bitmap ahead of need. Both run in the ext4lazyinit thread.
	 * An ephemeral disk (run's throw-away snapshot) is mounted without its journal: what is
	 * written is discarded at exit, so there is nothing to make crash-safe, and loading the
	 * journal (a read, the jbd2 thread) costs ~2 ms on the way to the workload. Not when the
	 * journal holds something to replay (an image somebody booted writable by hand), which
	 * ext4 would refuse, loudly. */
	bool noload = ephemeral && !journal_needs_recovery(dev);
	r = mount_at(dev, INIT_DISK_MNT, "ext4", MS_NOATIME,
		     noload ? "noinit_itable,no_prefetch_block_bitmaps,noload"
			    : "noinit_itable,no_prefetch_block_bitmaps",
		     err);
	return r < 0 ? o2v_error_prefix(err, "mount root disk") : 0;
}

struct cmount {
	const char *type, *path;
	unsigned long flags;
	const char *data;
	bool only_empty_dir; /* /run and /tmp: see the top of this file */
};

static const struct cmount container_mounts[] = {
    {"proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false},
    {"sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, false},
    {"cgroup2", "/sys/fs/cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, false},
    {"tmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536", false},
    {"devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5",
     false},
    {"tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777", false},
    {"mqueue", "/dev/mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false},
    {"tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755", true},
    {"tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777", true},
};

/* getdents64 on a buffer of our own: opendir() would add an fstat() and an fcntl(). */
static bool empty_dir(int root_fd, const char *path)
{
	_cleanup_close_ int pfd = init_root_open(root_fd, path, INIT_ROOT_EXISTING, NULL);
	_cleanup_close_ int fd = -1;
	_Alignas(8) char buf[512];
	long n;

	if (pfd < 0 || (fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			const struct linux_dirent64 {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *de = (const void *)(buf + off);
			if (strcmp(de->name, ".") && strcmp(de->name, ".."))
				return false;
			off += de->reclen;
		}
	}
	return n == 0;
}

/* Read-only for the mount just made on the current directory alone: sysfs and cgroup2
 * share their superblock with init's own mounts, which stay writable (the workload's cgroup
 * is made after the container's mounts). The current directory is the one mounted over:
 * its parent and name again reach the new mount's root. */
static int remount_readonly(const char *path, unsigned long flags)
{
	const char *name = strrchr(path, '/');

	if (chdir("..") < 0 || chdir(name ? name + 1 : path) < 0)
		return -1;
	return mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | flags, NULL);
}

/* Mount on path resolved inside the container root, creating it if asked. */
static int mount_in_root(int root_fd, const char *src, const char *path, const char *type,
			 unsigned long flags, const char *data, enum init_root_how how,
			 struct o2v_error *err)
{
	_cleanup_close_ int fd = init_root_open(root_fd, path, how, err);
	int r = 0;

	if (fd < 0)
		return fd;
	if (fchdir(fd) < 0 || mount(src, ".", type, flags & ~MS_RDONLY, data) < 0 ||
	    ((flags & MS_RDONLY) && remount_readonly(path, flags) < 0))
		r = o2v_error_sys(err, -errno, "mount %s on '%s' in the container",
				  type ? type : src, path);
	if (chdir("/") < 0 && r == 0)
		r = o2v_error_sys(err, -errno, "change back to '/'");
	return r;
}

/* Docker's /dev: its character devices, the fd links, the private pty multiplexer, and with
 * a terminal the console (the VM's hvc0, which the workload gets as its terminal). */
static void dev_populate(int root_fd, bool terminal)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {{"null", 1, 3},	{"zero", 1, 5}, {"full", 1, 7},
		     {"random", 1, 8},	{"urandom", 1, 9}, {"tty", 5, 0}};
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},
	    {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"},
	    {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},
	};
	/* The mounted /dev: an O_PATH fd serves as the *at() calls' directory. */
	_cleanup_close_ int dfd = init_root_open(root_fd, "/dev", INIT_ROOT_EXISTING, NULL);
	struct stat con;

	if (dfd < 0)
		return;
	/* 0666 whatever init's umask: a user's workload opens them too. */
	mode_t old = umask(0);
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		if (mknodat(dfd, nodes[i].name, S_IFCHR | 0666,
			    makedev(nodes[i].major, nodes[i].minor)) < 0)
			init_debug("/dev/%s: %s", nodes[i].name, strerror(errno));
	if (terminal && stat(O2V_GUEST_CONSOLE, &con) == 0 &&
	    mknodat(dfd, "console", S_IFCHR | 0620, con.st_rdev) < 0)
		init_debug("/dev/console: %s", strerror(errno));
	umask(old);
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST)
			init_debug("/dev/%s: %s", links[i][1], strerror(errno));
}

/* Docker's read-only and masked paths (moby's oci.DefaultSpec, runc applies them): the VM's
 * kernel is the workload's own, but a workload should find /proc/sys as under Docker
 * (read-only: sysctls are not the container's to change) and the timer and kernel-memory
 * files hidden. Paths this kernel does not have are skipped. */
static const char *const proc_readonly[] = {"/proc/asound", "/proc/bus", "/proc/fs",
					    "/proc/irq",    "/proc/sys", "/proc/sysrq-trigger"};
static const char *const masked_paths[] = {"/proc/acpi",	"/proc/kcore",
					   "/proc/keys",	"/proc/latency_stats",
					   "/proc/timer_list",	"/proc/timer_stats",
					   "/proc/sched_debug", "/proc/scsi",
					   "/sys/firmware",	"/sys/devices/virtual/powercap"};

/* Put a clone of the mount at src (detached, given attrs first) over target. */
static int attach_clone(int src_fd, const char *src_path, int target_fd, uint64_t attrs)
{
	struct o2v_mount_attr attr = {.attr_set = attrs};
	unsigned flags = OPEN_TREE_CLONE | O_CLOEXEC | (src_path[0] ? 0 : AT_EMPTY_PATH);
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, src_fd, src_path, flags);

	if (tree < 0 ||
	    (attrs && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			      sizeof(attr)) < 0) ||
	    syscall(SYS_move_mount, tree, "", target_fd, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

#define ATTR_READONLY (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

int init_bind_in_root(int root_fd, const char *src, const char *path, bool readonly,
		      struct o2v_error *err)
{
	_cleanup_close_ int fd = init_root_open(root_fd, path, INIT_ROOT_FILE, err);
	int r;

	if (fd < 0)
		return fd;
	if ((r = attach_clone(AT_FDCWD, src, fd, readonly ? ATTR_READONLY : 0)) < 0)
		return o2v_error_sys(err, r, "bind-mount '%s' in the container", path);
	return 0;
}

static int confine_proc(int root_fd, struct o2v_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
		_cleanup_close_ int fd =
		    init_root_open(root_fd, proc_readonly[i], INIT_ROOT_EXISTING, NULL);
		int r;
		if (fd < 0)
			continue;
		if ((r = attach_clone(fd, "", fd, ATTR_READONLY)) < 0)
			return o2v_error_sys(err, r, "make '%s' read-only in the container",
					     proc_readonly[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
		_cleanup_close_ int fd =
		    init_root_open(root_fd, masked_paths[i], INIT_ROOT_EXISTING, NULL);
		struct stat st;
		int r;
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		/* a file: init's /dev/null over it (not nodev: reads find it empty, as runc's
		 * mask); a directory: an empty read-only tmpfs */
		if (S_ISDIR(st.st_mode))
			r = mount_in_root(root_fd, "tmpfs", masked_paths[i], "tmpfs",
					  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0",
					  INIT_ROOT_EXISTING, err);
		else if ((r = attach_clone(AT_FDCWD, "/dev/null", fd,
					   ATTR_READONLY & ~MOUNT_ATTR_NODEV)) < 0)
			r = o2v_error_sys(err, r, "mask '%s' in the container", masked_paths[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int init_mount_container(int root_fd, bool terminal, uint64_t shm_size, bool proc_unconfined,
			 struct o2v_error *err)
{
	char shm_data[64];

	/* Docker's /dev/shm: 64 MiB unless --shm-size */
	snprintf(shm_data, sizeof(shm_data), "mode=1777,size=%" PRIu64,
		 shm_size ? shm_size : (uint64_t)64 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(container_mounts); i++) {
		struct cmount mm = container_mounts[i];
		const struct cmount *m = &mm;
		if (!strcmp(mm.path, "/dev/shm"))
			mm.data = shm_data;
		if (m->only_empty_dir && !empty_dir(root_fd, m->path)) {
			init_debug("not mounting tmpfs on %s: missing or not empty in the image",
				   m->path);
			continue;
		}
		int r = mount_in_root(root_fd, m->type, m->path, m->type, m->flags, m->data,
				      INIT_ROOT_MKDIR, err);
		if (r < 0)
			return r;
		if (!strcmp(m->path, "/dev"))
			dev_populate(root_fd, terminal);
	}
	return proc_unconfined ? 0 : confine_proc(root_fd, err);
}

int init_mount_root_volume(const char *root, const struct o2v_volume *v, size_t n,
			   struct o2v_error *err)
{
	if (n < 1 || v[0].entry || strcmp(v[0].guest_path, "/"))
		return o2v_error_set(err, -EINVAL,
				     "the run configuration's root volume must be the first, at /");
	/* The container's own files, setuid bits and device nodes included (the host's
	 * directory is the engine's rootfs, as runc would use it). */
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return o2v_error_sys(err, -errno, "create '%s'", root);
	int r = mount_at(v[0].tag, root, SHARE_TYPE(&v[0]), v[0].readonly ? MS_RDONLY : 0,
			 SHARE_OPTS(&v[0]), err);
	if (r < 0)
		return o2v_error_prefix(err, "mount the container's root '%s'", v[0].tag);
	init_debug("root volume %s on %s", v[0].tag, root);
	return 0;
}

/* A share whose entries are bound one by one: mounted once, outside the container, at
 * INIT_SHARES_DIR/TAG. */
static int share_mount(const struct o2v_volume *v, char *path, size_t size, struct o2v_error *err)
{
	snprintf(path, size, INIT_SHARES_DIR "/%s", v->tag);
	if (mkdir(INIT_SHARES_DIR, 0700) < 0 && errno != EEXIST)
		return o2v_error_sys(err, -errno, "create '%s'", INIT_SHARES_DIR);
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST)
			return 0; /* mounted for an earlier entry */
		return o2v_error_sys(err, -errno, "create '%s'", path);
	}
	return mount_at(v->tag, path, SHARE_TYPE(v), MS_NOSUID | MS_NODEV, SHARE_OPTS(v), err);
}

/* Entry v->entry of its share, a file or a directory, on v->guest_path. */
static int bind_entry(int root_fd, const struct o2v_volume *v, struct o2v_error *err)
{
	char share[sizeof(INIT_SHARES_DIR) + 256], src[sizeof(share) + 256];
	struct stat st;
	int r;

	if (strlen(v->tag) > 200 || strlen(v->entry) > 200)
		return o2v_error_set(err, -ENAMETOOLONG, "share entry name too long");
	if ((r = share_mount(v, share, sizeof(share), err)) < 0)
		return r;
	snprintf(src, sizeof(src), "%s/%s", share, v->entry);
	if (lstat(src, &st) < 0)
		return o2v_error_sys(err, -errno, "entry '%s' of share '%s'", v->entry, v->tag);
	_cleanup_close_ int fd = init_root_open(
	    root_fd, v->guest_path, S_ISDIR(st.st_mode) ? INIT_ROOT_MKDIR : INIT_ROOT_FILE, err);
	if (fd < 0)
		return fd;
	/* (A host directory's own submounts are already inside: 9p crosses them.) */
	if ((r = attach_clone(AT_FDCWD, src, fd, v->readonly ? MOUNT_ATTR_RDONLY : 0)) < 0)
		return o2v_error_sys(err, r, "bind-mount '%s' in the container", v->guest_path);
	return 0;
}

int init_mount_volumes(int root_fd, const struct o2v_volume *v, size_t n, struct o2v_error *err)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long flags = MS_NOSUID | MS_NODEV | (v[i].readonly ? MS_RDONLY : 0);
		int r = v[i].entry ? bind_entry(root_fd, &v[i], err)
				   : mount_in_root(root_fd, v[i].tag, v[i].guest_path,
						   SHARE_TYPE(&v[i]), flags, SHARE_OPTS(&v[i]),
						   INIT_ROOT_MKDIR, err);
		if (r < 0)
			return o2v_error_prefix(err, "volume '%s'", v[i].tag);
		init_debug("volume %s%s%s on %s%s", v[i].tag, v[i].entry ? "/" : "",
			   v[i].entry ? v[i].entry : "", v[i].guest_path,
			   v[i].readonly ? " (read-only)" : "");
	}
	return 0;
}

/* /proc/self/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

void init_unmount_all(void)
{
	_cleanup_free_ char *buf = NULL;
	char *targets[MOUNTS_MAX];
	size_t n = 0;

	if (o2v_read_file("/proc/self/mounts", MOUNTINFO_MAX, &buf, NULL, NULL) < 0)
		return;
	for (char *line = buf, *next; line && *line && n < MOUNTS_MAX; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *sp1 = strchr(line, ' ');
		char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (!sp2)
			continue;
		*sp2 = '\0';
		targets[n] = sp1 + 1;
		unescape_octal(targets[n]);
		if (strcmp(targets[n], "/"))
			n++;
	}
	/* Innermost first; a busy one is detached so its parent can still go. */
	while (n-- > 0) {
		if (umount2(targets[n], 0) == 0)
			continue;
		if (!strcmp(targets[n], INIT_DISK_MNT)) {
			/* Read-only is what matters: the journal is clean for the next boot. */
			if (mount(NULL, INIT_DISK_MNT, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
				init_log("cannot unmount or remount read-only the root disk: %s",
					 strerror(errno));
			continue;
		}
		umount2(targets[n], MNT_DETACH);
	}
}

/* Docker's --tmpfs options: the mount flags by name, the rest is tmpfs's data (size=,
 * mode=, uid=, gid=, nr_inodes=...; tmpfs refuses what it does not know). */
static void tmpfs_options(char *opts, unsigned long *flags, char *data, size_t len)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} words[] = {
	    {"ro", MS_RDONLY, 0},	{"rw", 0, MS_RDONLY},	    {"nosuid", MS_NOSUID, 0},
	    {"suid", 0, MS_NOSUID},	{"nodev", MS_NODEV, 0},	    {"dev", 0, MS_NODEV},
	    {"noexec", MS_NOEXEC, 0},	{"exec", 0, MS_NOEXEC},	    {"sync", MS_SYNCHRONOUS, 0},
	    {"async", 0, MS_SYNCHRONOUS}, {"noatime", MS_NOATIME, 0}, {"relatime", MS_RELATIME, 0},
	    {"nodiratime", MS_NODIRATIME, 0},
	};
	char *save = NULL;

	data[0] = '\0';
	for (char *w = strtok_r(opts, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(words) && !known; i++)
			if (!strcmp(w, words[i].name)) {
				*flags = (*flags | words[i].set) & ~words[i].clear;
				known = true;
			}
		if (!known && *w) {
			size_t used = strlen(data);
			snprintf(data + used, len - used, "%s%s", used ? "," : "", w);
		}
	}
}

int init_mount_tmpfs(int root_fd, char *const *specs, struct o2v_error *err)
{
	for (size_t i = 0; specs && specs[i]; i++) {
		char path[4096], opts[1024] = "", data[1024];
		unsigned long flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
		size_t n = strcspn(specs[i], ":");
		int r;

		snprintf(path, sizeof(path), "%.*s", (int)n, specs[i]);
		if (specs[i][n])
			snprintf(opts, sizeof(opts), "%s", specs[i] + n + 1);
		tmpfs_options(opts, &flags, data, sizeof(data));
		if ((r = mount_in_root(root_fd, "tmpfs", path, "tmpfs", flags, data[0] ? data : NULL,
				       INIT_ROOT_MKDIR, err)) < 0) {
			o2v_error_prefix(err, "--tmpfs '%s'", specs[i]);
			return r;
		}
	}
	return 0;
}

int init_root_bind_self(const char *root, struct o2v_error *err)
{
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return o2v_error_sys(err, -errno, "make the container root a mount of its own");
	return 0;
}

int init_root_writable(int root_fd, struct o2v_error *err)
{
	static const char *const writable[] = {"/tmp", "/run", "/var/tmp"};
	int r;

	/* What a read-only container still writes to, as podman arranges it. */
	for (size_t i = 0; i < ARRAY_SIZE(writable); i++) {
		unsigned long fl = MS_NOSUID | MS_NODEV;
		if ((r = mount_in_root(root_fd, "tmpfs", writable[i], "tmpfs", fl,
				       i == 1 ? "mode=0755" : "mode=1777", INIT_ROOT_MKDIR, err)) < 0)
			return r;
	}
	return 0;
}

int init_root_readonly(const char *root, struct o2v_error *err)
{
	if (mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return o2v_error_sys(err, -errno, "make the container root read-only");
	return 0;
}
