/* rt_vm.c - a container's VM under its supervisor; see rt_vm.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/mount.h>

#include "../common/fsutil.h"
#include "../common/paths.h"
#include "../common/runbuild.h"
#include "../rootfs/initrd.h"
#include "../vm/host.h"
#include "../vm/layout.h"
#include "../vm/vm.h"
#include "rt_cgroup.h"
#include "rt_net.h"
#include "rt_vm.h"

#define BINDS_DIR     "binds"	 /* in the state directory: the share of bind mounts */
#define VIRTIOFS_SOCK "vfs.sock" /* ... and virtiofsd's socket */
#define BINDS_MAX     (O2V_RUNCONFIG_LIST_MAX - 1) /* the root is the first volume */
#define STOP_GRACE    10

struct supervisor {
	const char *dir;
	int notify; /* 'H' once held, or 'E' and a message */
};

static void on_held(void *userdata)
{
	struct supervisor *s = userdata;

	if (s->notify >= 0) {
		o2v_write_all(s->notify, "H", 1);
		close(s->notify);
		s->notify = -1;
	}
}

static void on_running(void *userdata)
{
	struct supervisor *s = userdata;
	_cleanup_free_ char *path = o2v_path_join(s->dir, "started");

	if (path)
		close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

/* The run configuration: the root (volume 0), then each bind as entry "I" of share 1. */
static int build_config(const struct o2v_bundle *b, const struct o2v_rt_net *net, bool virtiofs,
			char **ret, struct o2v_error *err)
{
	char(*names)[24] = NULL;
	_cleanup_free_ struct o2v_run_volume *vols = NULL;
	struct o2v_image_defaults img = {0};

	if (b->n_binds > BINDS_MAX)
		return o2v_error_set(err, -E2BIG, "more than %d bind mounts", BINDS_MAX);
	if (!(vols = calloc(b->n_binds + 1, sizeof(*vols))) ||
	    !(names = calloc(b->n_binds + 1, sizeof(*names))))
		return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	/* Writable to init, which makes the mount points it needs and then remounts the root
	 * read-only for root.readonly (as runc does before pivot_root). */
	vols[0] = (struct o2v_run_volume){.guest = "/", .virtiofs = virtiofs};
	for (size_t i = 0; i < b->n_binds; i++) {
		snprintf(names[i], sizeof(names[i]), "%zu", i);
		vols[i + 1] = (struct o2v_run_volume){.guest = b->binds[i].dest,
						      .readonly = b->binds[i].readonly,
						      .entry = names[i],
						      .share = 1};
	}
	struct o2v_run_request req = {
	    .entrypoint = "",
	    .args = b->args,
	    .env = b->env,
	    .workdir = b->cwd,
	    .user = b->user,
	    .hostname = b->hostname,
	    .volumes = vols,
	    .n_volumes = b->n_binds + 1,
	    .root_volume = true,
	    .network = net->tap_fd >= 0,
	    .net_static = net->tap_fd >= 0 ? net->net_static : NULL,
	    .stop_grace = STOP_GRACE,
	    .hold = true,
	    .terminal = b->terminal,
	    .stdin_open = true, /* create's stdin is the container's: /dev/null or a pipe */
	    .read_only = b->readonly,
	    .shm_size = b->shm_size,
	    .rows = b->rows,
	    .cols = b->cols,
	    .caps_set = b->caps_set,
	    .caps = b->caps,
	    .no_new_privs = b->no_new_privs,
	    .tmpfs = b->tmpfs,
	    .ulimits = b->ulimits,
	    .umask = (int)b->umask,
	    .umask_set = b->umask_set,
	    .oom_set = b->oom_set,
	    .oom_score_adj = b->oom_score_adj,
	    .proc_unconfined = b->proc_unconfined,
	};
	/* No dns or hosts: the engine's /etc/resolv.conf and /etc/hosts are among the binds,
	 * mounted over whatever init writes. */
	int r = o2v_runconfig_build_text(&img, &req, ret, NULL, err);
	free(names);
	return r;
}

static int write_initrd(const struct o2v_rt_vm *v, const struct o2v_rt_net *net, bool virtiofs,
			struct o2v_error *err)
{
	_cleanup_free_ char *config = NULL, *path = o2v_vm_file(v->dir, O2V_VM_INITRD);
	_cleanup_close_ int fd = -1;
	int r;

	if (!path)
		return o2v_error_sys(err, -ENOMEM, "write the VM's initrd");
	if ((r = build_config(v->bundle, net, virtiofs, &config, err)) < 0)
		return r;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return o2v_error_sys(err, -errno, "create '%s'", path);
	return o2v_initrd_write(fd, v->init, config, err);
}

/* We run as root of the machine, not of a user namespace (a rootless engine's): only then
 * can virtiofsd serve every owner's files. */
bool o2v_rt_real_root(void)
{
	char map[128] = "";
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, map, sizeof(map) - 1);
	unsigned inside, outside, count;

	map[n > 0 ? n : 0] = '\0';
	return geteuid() == 0 && sscanf(map, "%u %u %u", &inside, &outside, &count) == 3 &&
	       inside == 0 && outside == 0 && count == 4294967295u;
}

/* virtiofsd for the root where it can run: OCI2VM_VIRTIOFSD (a path; empty: never), else
 * QEMU's (Debian 12's qemu-system-common) or one in PATH; root only. NULL: 9p. The
 * annotation org.oci2vm.share chooses; "virtiofs" without a virtiofsd is an error. */
static int find_virtiofsd(const struct o2v_bundle *b, char **ret, struct o2v_error *err)
{
	static const char *const known[] = {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"};
	const char *env = getenv("OCI2VM_VIRTIOFSD");
	bool want = b->share && !strcmp(b->share, "virtiofs");

	*ret = NULL;
	if (b->share && !strcmp(b->share, "9p"))
		return 0;
	if (env)
		*ret = *env && access(env, X_OK) == 0 ? strdup(env) : NULL;
	for (size_t i = 0; !env && !*ret && i < ARRAY_SIZE(known); i++)
		if (access(known[i], X_OK) == 0)
			*ret = strdup(known[i]);
	if (!env && !*ret)
		*ret = o2v_find_in_path("virtiofsd");
	if (*ret && !o2v_rt_real_root()) {
		free(*ret);
		*ret = NULL;
	}
	if (want && !*ret)
		return o2v_error_set(
		    err, -ENOENT,
		    "annotation org.oci2vm.share=virtiofs: no virtiofsd to run (it "
		    "needs root and Debian's qemu-system-common, or "
		    "OCI2VM_VIRTIOFSD)");
	return 0;
}

/* "-o source=PATH" for virtiofsd, whose option parser (FUSE's) splits at commas: a comma
 * or a backslash in the path is escaped with a backslash. */
static char *virtiofsd_source(const char *path)
{
	char *out = malloc(sizeof("source=") + 2 * strlen(path)), *o;

	if (!out)
		return NULL;
	o = stpcpy(out, "source=");
	for (const char *p = path; *p; p++) {
		if (*p == ',' || *p == '\\')
			*o++ = '\\';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* Step 1: the network namespace the container names, or a new one. */
static int enter_netns(const struct o2v_bundle *b, struct o2v_error *err)
{
	if (b->netns) {
		_cleanup_close_ int fd = open(b->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			return o2v_error_sys(err, -errno, "enter the network namespace '%s'",
					     b->netns);
	} else if (b->netns_new && unshare(CLONE_NEWNET) < 0) {
		return o2v_error_sys(err, -errno, "create a network namespace");
	}
	return 0;
}

/* Make a read-only bind read-only all the way down, as runc's rro; plain MS_RDONLY where
 * mount_setattr is missing. */
static int make_readonly(const char *path)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
}

/* Step 4: DIR/binds/I is bind I's source, in a mount namespace of our own. */
static int share_binds(const struct o2v_bundle *b, const char *share, struct o2v_error *err)
{
	if (!b->n_binds)
		return 0;
	/* Slave: the engine's later unmounts still reach us; nothing of ours leaks out. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return o2v_error_sys(err, -errno, "create a mount namespace for the bind mounts");
	if (mkdir(share, 0700) < 0)
		return o2v_error_sys(err, -errno, "create '%s'", share);
	for (size_t i = 0; i < b->n_binds; i++) {
		const struct o2v_bundle_bind *bb = &b->binds[i];
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%zu", share, i);
		if (stat(bb->source, &st) < 0)
			return o2v_error_sys(err, -errno, "bind mount source '%s'", bb->source);
		int fd = S_ISDIR(st.st_mode)
			     ? mkdir(path, 0700)
			     : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd > 0)
			close(fd);
		if (fd < 0 || mount(bb->source, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    (bb->readonly && make_readonly(path) < 0))
			return o2v_error_sys(err, -errno, "bind '%s' for '%s'", bb->source,
					     bb->dest);
	}
	return 0;
}

/* Step 5: the VM, until it ends. Returns the exit code; *failed and why when the VM
 * failed rather than its workload. */
static int launch(const struct o2v_rt_vm *v, const struct o2v_rt_net *net, const char *share,
		  const char *virtiofsd, struct supervisor *s, bool *reported, char *why,
		  size_t why_size)
{
	const struct o2v_bundle *b = v->bundle;
	static char o_netdev[] = "-netdev", o_device[] = "-device", o_opt[] = "-o",
		    o_cache[] = "cache=auto", o_xattr[] = "xattr";
	char netdev[64], device[96];
	char *qemu_args[] = {o_netdev, netdev, o_device, device, NULL};
	_cleanup_free_ char *initrd = o2v_vm_file(v->dir, O2V_VM_INITRD);
	struct o2v_vm_volume vols[2] = {
	    {.host = b->rootfs, .model = O2V_9P_PASSTHROUGH},
	    {.host = share, .model = O2V_9P_PASSTHROUGH},
	};
	_cleanup_free_ char *sock = o2v_path_join(v->dir, VIRTIOFS_SOCK), *sock_opt = NULL,
			    *source = NULL;
	struct o2v_error err = {0};
	struct o2v_vm_exit ex;
	struct o2v_launch l;

	o2v_launch_init(&l);
	/* The root over virtio-fs: virtiofsd (one of the launch's helpers, ended after QEMU)
	 * in its own namespace sandbox, xattrs (file capabilities) passed through. */
	char *vfs_argv[] = {(char *)virtiofsd, NULL,  o_opt,   NULL, o_opt,
			    o_cache,	       o_opt, o_xattr, NULL};
	struct o2v_vm_helper helper = {.argv = vfs_argv, .ready_path = sock};
	if (virtiofsd) {
		if (!sock || asprintf(&sock_opt, "--socket-path=%s", sock) < 0 ||
		    !(source = virtiofsd_source(b->rootfs))) {
			snprintf(why, why_size, "out of memory");
			*reported = false;
			return -ENOMEM;
		}
		vfs_argv[1] = sock_opt;
		vfs_argv[3] = source;
		vols[0].vhost_user = sock;
		l.helpers = &helper;
		l.n_helpers = 1;
	}
	l.vm.kernel = v->kernel;
	l.vm.initrd = initrd;
	if (b->memory_mib)
		l.vm.memory_mib = b->memory_mib;
	if (b->cpus)
		l.vm.cpus = b->cpus;
	l.vm.volumes = vols;
	l.vm.n_volumes = b->n_binds ? 2 : 1;
	l.vm.stdio_ports = true;
	l.vm.exec_port = true;
	if (net->tap_fd >= 0) { /* the namespace's interface, taken over (rt_net.h) */
		snprintf(netdev, sizeof(netdev), "tap,id=n0,fd=%d", net->tap_fd);
		snprintf(device, sizeof(device), "virtio-net-device,netdev=n0,mac=%s", net->mac);
		l.pass_fds = &net->tap_fd;
		l.n_pass_fds = 1;
		l.vm.qemu_args = qemu_args;
	}
	l.state_dir = v->dir;
	l.in_fd = STDIN_FILENO;
	l.out_fd = STDOUT_FILENO;
	l.err_fd = STDERR_FILENO;
	l.tty = b->terminal; /* the console's slave is our stdio (runtime.c) */
	l.stdin_after_start = true;
	l.stdin_eof = !b->terminal;
	l.stop_grace = STOP_GRACE;
	l.held = on_held;
	l.running = on_running;
	l.userdata = s;
	int r = o2v_vm_launch(&l, &ex, &err);
	snprintf(why, why_size, "%s",
		 r < 0		 ? err.msg
		 : ex.message[0] ? ex.message
		 : ex.reported	 ? "the VM ended before its workload was ready"
				 : "the VM failed");
	*reported = r >= 0 && ex.reported;
	return r < 0 ? r : ex.code;
}

_Noreturn void o2v_rt_vm_supervise(const struct o2v_rt_vm *v)
{
	struct supervisor s = {.dir = v->dir, .notify = v->notify};
	struct o2v_rt_net net = {.tap_fd = -1};
	struct o2v_error err = {0};
	_cleanup_free_ char *share = o2v_path_join(v->dir, BINDS_DIR),
			    *exit_path = o2v_path_join(v->dir, "exit");
	_cleanup_free_ char *virtiofsd = NULL;
	char why[O2V_ERROR_MAX], go = 0;
	bool reported;

	if (!share || !exit_path) {
		o2v_error_sys(&err, -ENOMEM, "start the VM");
		goto fail;
	}
	/* A rootless engine's cgroup may not be ours to make (runc and crun carry on too). */
	if (v->bundle->cgroup &&
	    o2v_rt_cgroup_enter(v->bundle->cgroup, v->bundle->cpu_quota, v->bundle->cpu_period,
				&err) < 0 &&
	    o2v_rt_real_root())
		goto fail;
	err = (struct o2v_error){0};
	if (enter_netns(v->bundle, &err) < 0)
		goto fail;
	if (v->bundle->oom_set) { /* QEMU's too, on the host (best effort: lowering it needs
				   * privileges a rootless engine lacks) */
		char num[16];
		int n = snprintf(num, sizeof(num), "%d", v->bundle->oom_score_adj);
		_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd >= 0 && write(fd, num, (size_t)n) != n)
			errno = 0;
	}
	if (o2v_write_all(v->notify, "N", 1) < 0 || O2V_RETRY(read(v->go, &go, 1)) != 1 ||
	    go != 'G')
		_exit(125); /* create failed meanwhile, and says why */
	close(v->go);
	if (((v->bundle->netns || v->bundle->netns_new) && o2v_rt_net_takeover(&net, &err) < 0) ||
	    find_virtiofsd(v->bundle, &virtiofsd, &err) < 0 ||
	    write_initrd(v, &net, virtiofsd != NULL, &err) < 0 ||
	    share_binds(v->bundle, share, &err) < 0)
		goto fail;
	int r = launch(v, &net, share, virtiofsd, &s, &reported, why, sizeof(why));
	if (r == -ECHILD && virtiofsd && s.notify >= 0) {
		/* virtiofsd exited before serving (a host that forbids its sandbox, say): the
		 * root over 9p instead; helpers.log in the state directory keeps its words */
		if (write_initrd(v, &net, false, &err) < 0)
			goto fail;
		r = launch(v, &net, share, NULL, &s, &reported, why, sizeof(why));
	}
	bool failed = r < 0 || !reported;
	int code = r < 0 ? 125 : r;
	if (s.notify >= 0) { /* never held: create reports why */
		o2v_write_all(s.notify, "E", 1);
		o2v_write_all(s.notify, why, strlen(why));
	} else if (failed) {
		fprintf(stderr, "oci2vm-runtime: error: %s\n", why);
	}
	char text[16];
	int n = snprintf(text, sizeof(text), "%d", code);
	o2v_write_file_atomic(exit_path, text, (size_t)n, 0600, NULL);
	_exit(code);
fail:
	o2v_write_all(v->notify, "E", 1);
	o2v_write_all(v->notify, err.msg, strlen(err.msg));
	_exit(125);
}
