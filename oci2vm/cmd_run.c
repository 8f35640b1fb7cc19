/* cmd_run.c - `oci2vm run`: pull, build, boot, forward ports, report.
 *
 * The steps, each failing with one clear line and exit 125 (Docker's
 * "the runtime itself failed") before anything is started:
 *   options → kernel, QEMU, init, free ports → image (cache or pull) →
 *   run configuration (Docker's merge rules) → VM image (cached build) →
 *   VM state dir + per-run initrd → QEMU under the supervisor.
 * The workload's own exit status is oci2vm's exit status.
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/fsutil.h"
#include "../common/paths.h"
#include "../common/runbuild.h"
#include "../common/strv.h"
#include "../registry/registry.h"
#include "../rootfs/initrd.h"
#include "../rootfs/rootfs.h"
#include "../vm/host.h"
#include "../vm/logfile.h"
#include "../vm/state.h"
#include "../vm/vm.h"
#include "assets.h"
#include "container.h"
#include "health.h"
#include "cli.h"
#include "commands.h"
#include "pullopts.h"
#include "runopts.h"
#include "vmimage.h"

const char cmd_run_usage[] =
	"usage: oci2vm run [OPTIONS] IMAGE [OPTIONS] [COMMAND [ARG...]]\n\n"
	"Pull IMAGE if needed, build its VM image (cached), and boot it as a microVM.\n"
	"The command's output streams here and oci2vm exits with the workload's exit\n"
	"status; oci2vm's own failures exit 125. Options may stand before or right\n"
	"after IMAGE; the container command starts at '--' or the first other word.\n\n"
	"  -p, --publish [IP:]HOST:GUEST[/tcp|/udp]  forward a host port to the VM; the\n"
	"                          host side listens on 127.0.0.1 unless IP is given\n"
	"                          (0.0.0.0: every interface)\n"
	"  -P, --publish-all       publish the image's exposed ports on free host ports\n"
	"  -e, --env K=V | K       set a variable (K alone: take it from this environment)\n"
	"      --env-file FILE     read variables from FILE (Docker's format)\n"
	"  -v, --volume HOST:GUEST[:ro]  share a host directory (virtio-9p)\n"
	"  -w, --workdir DIR       working directory inside the container\n"
	"  -u, --user USER[:GROUP] run as this user (name or id, resolved in the image)\n"
	"      --entrypoint CMD    replace the image's entrypoint ('' clears it)\n"
	"  -h, --hostname NAME     the VM's hostname (default: its id)\n"
	"      --network bridge|none  bridge (default): eth0 10.0.2.15 on QEMU's user network\n"
	"                          (NAT) without the host's loopback; none: lo only\n"
	"      --read-only         the container's root read-only (tmpfs /tmp, /run, /var/tmp)\n"
	"      --shm-size SIZE     /dev/shm's size (default 64m)\n"
	"  -l, --label KEY=VALUE   a label for inspect\n"
	"      --tmpfs PATH[:OPTS] a tmpfs at PATH (Docker's options: size=, mode=, noexec...)\n"
	"      --ulimit NAME=SOFT[:HARD]  a resource limit, set in the guest (nofile, nproc...)\n"
	"      --security-opt no-new-privileges  setuid binaries gain nothing\n"
	"      --security-opt systempaths=unconfined  /proc/sys writable, no masked /proc paths\n"
	"      --cap-add CAP, --cap-drop CAP  capabilities of a root workload beyond or out of\n"
	"                          Docker's default set (ALL: every one)\n"
	"      --host-loopback     let the VM reach services on the host's loopback, at\n"
	"                          10.0.2.2 (off by default: they are meant to be local)\n"
	"      --dns IP            nameserver for /etc/resolv.conf (default 10.0.2.3: the\n"
	"                          host's own resolvers)\n"
	"      --add-host NAME:IP  an /etc/hosts line; IP host-gateway is the host's address\n"
	"  -m, --memory SIZE       guest memory (default 512M, at least 64M)\n"
	"      --cpus N            virtual CPUs (default 1)\n"
	"      --rm                remove the VM's state when it exits (else a container keeps\n"
	"                          its writes for 'oci2vm start' until 'oci2vm rm')\n"
	"      --health-cmd CMD    a healthcheck (sh -c CMD); --health-interval, -timeout,\n"
	"                          -start-period DURATION, --health-retries N; --no-healthcheck\n"
	"      --restart no|on-failure[:N]|always|unless-stopped  (-d) start it again when it\n"
	"                          ends, with Docker's backoff; not after stop or kill\n"
	"  -d, --detach            run in the background and print the VM id\n"
	"      --name NAME         name for ps/logs/stop/kill/rm\n"
	"  -i, --interactive       forward stdin to the workload\n"
	"  -t, --tty               give the workload a terminal (with -i)\n"
	"      --stop-timeout N    seconds between SIGTERM and SIGKILL on stop (default 10)\n"
	"      --stop-signal SIG   what stop sends first (default: the image's, else TERM)\n"
	"      --log-opt max-size=SIZE | max-file=N  -d: keep at most N console logs of at\n"
	"                          most SIZE each (default 10m and 3: 30 MB)\n"
	"      --format ext4|cpio  root on a virtio-blk ext4 disk (default) or in the initramfs\n"
	"      --disk-size SIZE    ext4 root size (default: content + headroom)\n"
	"      --accel auto|kvm|tcg  accelerator (auto: KVM only where it works)\n"
	"      --kernel FILE       boot this kernel (default: $OCI2VM_KERNEL or 'make kernel')\n"
	"      --platform OS/ARCH  image platform to pull (default: this machine's)\n"
	"      --pull always|missing|never  when to contact the registry (default missing)\n"
	"      --insecure-registry HOST[:PORT]  allow plain HTTP / unverified TLS for HOST\n"
	"      --shell             start BusyBox's sh (outside the container root) instead\n"
	"  -q, --quiet             no pull progress\n"
	"      --verbose           kernel and init messages on the console ('-v' alone too)\n";

struct run {
	struct o2v_run_opts o;
	char *kernel, *qemu, *init, *busybox, *cache_dir, *runtime_dir;
	char *net_guard;	/* QEMU's network preload (assets.h); NULL: none found */
	struct o2v_cache *cache;
	struct o2v_image *img;
	char *vmimage;		/* cached ext4 or cpio.gz */
	char *runconfig;	/* serialized */
	char *initrd;		/* per-run: the image's init + run.conf */
	struct o2v_vm_volume *volumes; /* -v, as the VM library takes them */
	struct o2v_vm vm;
	int ready_fd;		/* detached: tells the parent QEMU is up */
	char *disk;		/* the container's layer (container.h); NULL: --rm or cpio */
	struct o2v_health health; /* health.h; argv NULL: none */
	pid_t health_pid;	/* its monitor while the workload runs; -1: none */
	bool resume;		/* `start`: vm is an existing container, run again */
};

static void run_release(struct run *r)
{
	free(r->volumes);
	o2v_run_opts_release(&r->o);
	free(r->kernel);
	free(r->qemu);
	free(r->init);
	free(r->busybox);
	free(r->net_guard);
	free(r->cache_dir);
	free(r->runtime_dir);
	if (r->img)
		o2v_image_free(r->img);
	if (r->cache)
		o2v_cache_close(r->cache);
	free(r->vmimage);
	free(r->runconfig);
	free(r->initrd);
	free(r->disk);
	o2v_health_release(&r->health);
	o2v_vm_release(&r->vm);
}

static int fail(struct o2v_error *err)
{
	o2v_cli_error("%s", err->msg);
	return O2V_EXIT_RUN_FAILED;
}

/* KVM where it really runs a guest, else TCG with a one-line hint (vm/accel_probe.c). */
static int pick_accel(struct run *r, struct o2v_error *err)
{
	const char *note;
	int rc = o2v_accel_pick(r->o.accel, r->qemu, r->kernel, &r->o.accel, &note, err);

	if (rc == 0 && note && !r->o.quiet)
		o2v_cli_warn("%s", note);
	return rc;
}

/* Everything that can be checked before touching the network or the cache. */
static int check_host(struct run *r, struct o2v_error *err)
{
	int rc;

	if ((rc = o2v_kernel_find(r->o.kernel, &r->kernel, err)) < 0)
		return rc;
	if ((rc = o2v_qemu_find(NULL, &r->qemu, err)) < 0)
		return rc;
	if ((rc = pick_accel(r, err)) < 0)
		return rc;
	if ((rc = o2v_find_init(&r->init, err)) < 0)
		return rc;
	if ((rc = o2v_find_busybox(&r->busybox, err)) < 0)
		return rc;
	if ((rc = o2v_ports_check_free(r->o.ports, r->o.n_ports, err)) < 0)
		return rc;
	if ((rc = o2v_hosts_resolve(r->o.hosts, !r->o.no_network, r->o.host_loopback, err)) < 0)
		return rc;
	r->net_guard = o2v_find_qemu_net_preload();
	if ((rc = o2v_cache_dir(&r->cache_dir, err)) < 0 ||
	    (rc = o2v_runtime_dir(&r->runtime_dir, err)) < 0)
		return rc;
	return 0;
}


/* A host-arch image only: TCG could emulate others, but our kernel is x86_64. */
static int check_architecture(const struct o2v_image *img, struct o2v_error *err)
{
	const char *arch = img->config.architecture;

	if (arch && *arch && strcmp(arch, "amd64"))
		return o2v_error_set(err, -ENOEXEC,
				     "image '%s' is for %s/%s, but oci2vm boots amd64 VMs: choose "
				     "an amd64 image (--platform linux/amd64)",
				     img->reference, img->config.os ? img->config.os : "linux", arch);
	return 0;
}

static const char *host_env(const char *name)
{
	return getenv(name);
}

/* --stop-signal, else the image's StopSignal (a bad one is ignored, as Docker warns), else
 * 0: SIGTERM. */
static unsigned stop_signal(const struct run *r)
{
	const char *img = r->img->config.stop_signal;
	int sig;

	if (r->o.stop_signal)
		return r->o.stop_signal;
	return img && *img && o2v_parse_signal(img, &sig, NULL) == 0 ? (unsigned)sig : 0;
}

/* The image's defaults and the command line → the run configuration init reads. */
static int build_runconfig(struct run *r, struct o2v_error *err)
{
	const struct o2v_image_config *ic = &r->img->config;
	const struct o2v_image_defaults img = {
	    .entrypoint = ic->entrypoint,
	    .cmd = ic->cmd,
	    .env = ic->env,
	    .workdir = ic->working_dir ? ic->working_dir : "/",
	    .user = ic->user ? ic->user : "",
	};
	_cleanup_free_ struct o2v_run_volume *vols = calloc(r->o.n_volumes + 1, sizeof(*vols));
	_cleanup_strv_ char **env = NULL;
	struct o2v_run_request req = {
	    .entrypoint = r->o.entrypoint,
	    .args = r->o.command,
	    .lookup = host_env,
	    .workdir = r->o.workdir,
	    .user = r->o.user,
	    .hostname = r->o.hostname ? r->o.hostname : r->vm.id,
	    .network = !r->o.no_network,
	    .dns = r->o.dns, /* NULL: init writes O2V_NET_DNS */
	    .hosts = r->o.hosts,
	    .volumes = vols,
	    .n_volumes = r->o.n_volumes,
	    .terminal = r->o.tty,
	    .stdin_open = r->o.interactive,
	    .stop_grace = r->o.stop_timeout,
	    .stop_signal = stop_signal(r),
	    .verbose = r->o.verbose,
	    .shell = r->o.shell,
	    .rootdisk = r->o.cpio ? NULL : "/dev/vda",
	    /* --rm: the disk is QEMU's snapshot of the cached image; a container's layer is
	     * kept, so init syncs and unmounts it at the end. */
	    .ephemeral = !r->disk,
	    .caps_set = r->o.caps_set,
	    .caps = r->o.caps,
	    .read_only = r->o.read_only,
	    .shm_size = r->o.shm_size,
	    .no_new_privs = r->o.no_new_privs,
	    .proc_unconfined = r->o.proc_unconfined,
	    .tmpfs = r->o.tmpfs,
	    .ulimits = r->o.ulimits,
	};
	struct winsize ws;
	int e;

	if (!vols)
		return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	for (size_t i = 0; i < r->o.n_volumes; i++)
		vols[i] = (struct o2v_run_volume){r->o.volumes[i].guest, r->o.volumes[i].readonly};
	if ((e = o2v_runmerge_env_files(r->o.env_files, host_env, &env, err)) < 0)
		return e;
	for (char **p = r->o.env; p && *p; p++)
		if (o2v_strv_push(&env, *p) < 0)
			return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	req.env = env;
	if (r->o.tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
		req.rows = ws.ws_row;
		req.cols = ws.ws_col;
	}
	return o2v_runconfig_build_text(&img, &req, &r->runconfig, NULL, err);
}

static char *ports_text(const struct o2v_run_opts *o)
{
	char *s = strdup("");

	for (size_t i = 0; s && i < o->n_ports; i++) {
		const struct o2v_port *p = &o->ports[i];
		char *n;
		if (asprintf(&n, "%s%s%s:%u->%u/%s", s, i ? ", " : "", p->bind, p->host, p->guest,
			     p->udp ? "udp" : "tcp") < 0)
			n = NULL;
		free(s);
		s = n;
	}
	return s;
}

/* Start from a pre-booted VM (vm/snapshot.h)? Not for a root in the initramfs (each image
 * is its own initrd), nor --verbose or --shell (they watch or replace the boot). */
static bool use_snapshots(const struct run *r)
{
	const char *env = getenv("OCI2VM_SNAPSHOT");

	return !r->o.cpio && !r->o.verbose && !r->o.shell && !r->o.no_snapshot &&
	       !(env && !strcmp(env, "0"));
}

static int write_initrd(struct run *r, struct o2v_error *err)
{
	_cleanup_free_ char *path = o2v_vm_path(&r->vm, O2V_VM_INITRD);
	_cleanup_close_ int fd = -1;
	int e;

	if (!path)
		return o2v_error_sys(err, -ENOMEM, "write the initrd");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return o2v_error_sys(err, -errno, "create '%s'", path);
	if (r->o.cpio) {
		/* The image's cpio.gz, then our run.conf in an archive of its own. */
		_cleanup_close_ int in = open(r->vmimage, O_RDONLY | O_CLOEXEC);
		char buf[1 << 16];
		ssize_t n;
		if (in < 0)
			return o2v_error_sys(err, -errno, "open '%s'", r->vmimage);
		while ((n = O2V_RETRY(read(in, buf, sizeof(buf)))) > 0)
			if ((e = o2v_write_all(fd, buf, (size_t)n)) < 0)
				return o2v_error_sys(err, e, "write '%s'", path);
		if (n < 0)
			return o2v_error_sys(err, -errno, "read '%s'", r->vmimage);
		e = o2v_initrd_write(fd, NULL, r->runconfig, err);
	} else {
		/* With snapshots init gets run.conf over the control port instead. */
		e = o2v_initrd_write(fd, r->init, use_snapshots(r) ? NULL : r->runconfig, err);
	}
	if (e < 0)
		return e;
	r->initrd = TAKE_PTR(path);
	return 0;
}

static void on_warning(const char *message, void *userdata)
{
	o2v_cli_warn("%s", message);
}

static void on_started(pid_t qemu_pid, void *userdata)
{
	struct run *r = userdata;

	r->vm.qemu_pid = qemu_pid;
	o2v_vm_save(&r->vm, NULL);
}

/* The workload's exec succeeded: its healthcheck starts, and the waiting caller of run -d
 * can report success. */
static void on_running(void *userdata)
{
	struct run *r = userdata;

	if (r->health_pid < 0)
		r->health_pid = o2v_health_start(&r->vm, &r->health);
	if (r->ready_fd >= 0) {
		o2v_write_all(r->ready_fd, "", 1); /* one NUL byte: running */
		close(TAKE_FD(r->ready_fd));
	}
}

/* Run the VM to its end under this process: 0 and ex filled, or a negative errno (the VM
 * could not be started). The record in the state directory is updated either way. */
static int launch(struct run *r, struct o2v_logfile *log, int out_fd, int err_fd,
		  struct o2v_vm_exit *ex,
		  struct o2v_error *err)
{
	struct o2v_launch l;
	int e;

	_cleanup_free_ char *snapshots = o2v_path_join(r->cache_dir, "snapshots");
	char *inputs[] = {r->init, NULL};

	o2v_launch_init(&l);
	l.qemu = r->qemu;
	if (use_snapshots(r)) {
		l.runconfig = r->runconfig;
		l.snapshot_dir = snapshots;
		l.snapshot_inputs = inputs;
	}
	l.warn = on_warning;
	l.vm.kernel = r->kernel;
	l.vm.initrd = r->initrd;
	l.vm.disk = r->o.cpio ? NULL : r->disk ? r->disk : r->vmimage;
	l.vm.disk_format = r->disk ? "qcow2" : NULL;
	l.vm.disk_snapshot = !r->disk;
	l.vm.memory_mib = r->o.memory_mib;
	l.vm.cpus = r->o.cpus;
	l.vm.accel = r->o.accel;
	l.vm.verbose = r->o.verbose;
	l.vm.net = !r->o.no_network;
	l.vm.host_loopback = r->o.host_loopback;
	l.vm.ports = r->o.ports;
	l.vm.n_ports = r->o.n_ports;
	l.vm.volumes = r->volumes;
	l.vm.n_volumes = r->o.n_volumes;
	/* With -t too: the workload's terminal is a pty in the guest whose output comes over
	 * the stdout port, which holds the writer back (the console would drop it). */
	l.vm.stdio_ports = !(r->o.tty && r->o.shell);
	l.vm.exec_port = !r->o.shell;
	l.state_dir = r->vm.dir;
	l.net_guard = r->net_guard;
	l.in_fd = r->o.interactive ? STDIN_FILENO : -1;
	l.out_fd = out_fd;
	l.err_fd = err_fd;
	l.log = log;
	l.tty = r->o.tty && isatty(STDIN_FILENO);
	l.stdin_after_start = true;
	l.stdin_eof = r->o.interactive && !r->o.tty;
	l.stop_grace = r->o.stop_timeout;
	l.started = on_started;
	l.running = on_running;
	l.userdata = r;
	r->vm.supervisor_pid = getpid();
	e = o2v_vm_launch(&l, ex, err);
	o2v_health_stop(&r->health_pid);
	if (e < 0)
		return e;
	r->vm.exit_code = ex->code;
	r->vm.finished = (int64_t)time(NULL);
	o2v_vm_save(&r->vm, NULL);
	return 0;
}

/* The exit status of a VM that ran; what init reported it has printed itself in its one
 * "oci2vm-init:" line on stderr, so only a VM that died without a report is explained. */
static int exit_code(const struct o2v_vm_exit *ex, char *why, size_t why_size)
{
	why[0] = '\0';
	if (ex->reported)
		return ex->code;
	snprintf(why, why_size, "%s", ex->message[0] ? ex->message : "the VM failed");
	return ex->signal ? ex->code : O2V_EXIT_RUN_FAILED;
}

static int get_image(struct run *r, struct o2v_error *err)
{
	static const enum o2v_pull_policy policies[] = {
		[O2V_WHEN_MISSING] = O2V_PULL_MISSING,
		[O2V_WHEN_ALWAYS] = O2V_PULL_ALWAYS,
		[O2V_WHEN_NEVER] = O2V_PULL_NEVER,
	};
	struct o2v_pull_cli po;
	struct o2v_ref ref = { 0 };
	int e;

	if ((e = o2v_ref_parse(r->o.ref, &ref, err)) < 0)
		return e;
	if ((e = o2v_cache_open(r->cache_dir, &r->cache, err)) < 0)
		goto out_ref;
	const char *platform = r->o.platform ? r->o.platform : O2V_VM_PLATFORM;
	/* --pull missing, as Docker: an image already in the cache is used without asking
	 * the registry (so cached images run offline and start faster). */
	if (r->o.pull == O2V_WHEN_MISSING && o2v_cli_cached_image(r->cache, &ref, platform, &r->img)) {
		e = 0;
		goto out_ref;
	}
	o2v_pull_cli_init(&po);
	po.quiet = r->o.quiet;
	for (char **p = r->o.insecure_registries; p && *p; p++)
		if ((e = o2v_pull_cli_option(&po, O2V_OPT_INSECURE, *p, err)) < 0)
			goto out_po;
	/* Always explicit: our VMs are amd64, so a single-platform image for another
	 * architecture is an error of the pull (one line, no layers fetched), not a warning
	 * followed by a second error once everything was downloaded. */
	if ((e = o2v_pull_cli_option(&po, O2V_OPT_PLATFORM, platform, err)) < 0)
		goto out_po;
	if (o2v_pull_cli_prepare(&po, policies[r->o.pull]) < 0) {
		e = o2v_error_set(err, -EIO, "prepare the pull");
		goto out_po;
	}
	e = o2v_pull(r->cache, &ref, &po.opts, &r->img, err);
	o2v_pull_cli_done(&po);
out_po:
	o2v_pull_cli_release(&po);
out_ref:
	o2v_ref_release(&ref);
	return e;
}

static int get_vmimage(struct run *r, struct o2v_error *err)
{
	struct o2v_build_opts opts = {
		.format = r->o.cpio ? O2V_FORMAT_CPIO_GZ : O2V_FORMAT_EXT4,
		.size = r->o.disk_size,
		.init_path = r->init,
		.busybox_path = r->busybox,
		/* run.conf travels in the per-run initrd, so one cached image serves every run. */
		.runconfig = NULL,
	};
	int e = o2v_vmimage_get(r->cache, r->img, &opts, &r->vmimage, err);

	return e < 0 ? e : 0;
}

static int run_foreground(struct run *r)
{
	struct o2v_error err = {0};
	struct o2v_vm_exit ex;
	char why[O2V_VM_MESSAGE_MAX];
	int lock = o2v_vm_lock(&r->vm, &err);
	int code;

	if (lock < 0)
		return fail(&err);
	if (launch(r, NULL, STDOUT_FILENO, STDERR_FILENO, &ex, &err) < 0) {
		code = fail(&err);
	} else if ((code = exit_code(&ex, why, sizeof(why))), why[0]) {
		o2v_cli_error("%s", why);
	}
	close(lock);
	if (r->vm.remove_on_exit)
		o2v_vm_remove(&r->vm, NULL);
	return code;
}

/* Tell the waiting parent of `run -d` that the workload never ran: "CODE MESSAGE" (it
 * prints the message and exits with CODE). */
static void report_not_started(int fd, int code, const char *why)
{
	char msg[O2V_ERROR_MAX + 16];
	int n = snprintf(msg, sizeof(msg), "%d %s", code, why);

	o2v_write_all(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* --restart: another start after this end? Not after `stop`/`kill` (their mark), not
 * beyond on-failure's count. */
static bool restart_wanted(const struct run *r, int code)
{
	_cleanup_free_ char *mark = o2v_vm_path(&r->vm, O2V_VM_STOP_MARK);

	if (!mark || access(mark, F_OK) == 0)
		return false;
	switch (r->o.restart) {
	case O2V_RESTART_ON_FAILURE:
		return code != 0 && (!r->o.restart_max || r->vm.restarts < r->o.restart_max);
	case O2V_RESTART_ALWAYS:
	case O2V_RESTART_UNLESS_STOPPED:
		return true;
	default:
		return false;
	}
}

/* Docker's backoff: 100 ms, doubling to at most a minute, back to 100 ms once a run lasted
 * 10 s. Cut short by a stop request. False if one came. */
static bool restart_delay(const struct run *r, int64_t *delay_ms, int64_t ran_ms)
{
	_cleanup_free_ char *mark = o2v_vm_path(&r->vm, O2V_VM_STOP_MARK);

	*delay_ms = ran_ms >= 10000 ? 100 : (*delay_ms ? *delay_ms * 2 : 100);
	if (*delay_ms > 60000)
		*delay_ms = 60000;
	for (int64_t waited = 0; waited < *delay_ms; waited += 50) {
		if (!mark || access(mark, F_OK) == 0)
			return false;
		usleep(50000);
	}
	return true;
}

/* Launch, and launch again while the restart policy says so; the last exit's code. */
static int supervise_restarts(struct run *r, struct o2v_logfile *lf, struct o2v_vm_exit *ex,
			      char *why, size_t why_len, struct o2v_error *err)
{
	int64_t delay = 0;
	int code = -1;

	for (;;) {
		int64_t t0 = o2v_now_ms();
		if (launch(r, lf, O2V_OUT_LOG, O2V_OUT_LOG, ex, err) < 0)
			return code < 0 ? -1 : code;
		code = exit_code(ex, why, why_len);
		if (why[0]) {
			char line[O2V_VM_MESSAGE_MAX + 16];
			int n = snprintf(line, sizeof(line), "oci2vm: %s\n", why);
			o2v_logfile_write(lf, line, (size_t)n < sizeof(line) ? (size_t)n : 0);
		}
		if (!restart_wanted(r, code) || !restart_delay(r, &delay, o2v_now_ms() - t0))
			return code;
		r->ready_fd = -1; /* the caller of `run -d` heard of the first start only */
		r->vm.restarts++;
		r->vm.finished = 0;
		r->vm.exit_code = -1;
		r->vm.started = (int64_t)time(NULL);
		o2v_vm_save(&r->vm, NULL);
	}
}

/* The background supervisor of `run -d`: never returns. */
O2V_NORETURN static void detached_child(struct run *r, int ready_fd)
{
	struct o2v_error err = {0};
	_cleanup_free_ char *log = o2v_vm_path(&r->vm, O2V_VM_CONSOLE_LOG);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct o2v_logfile lf = {.fd = -1};
	struct o2v_vm_exit ex = {0};
	char why[O2V_VM_MESSAGE_MAX] = "";
	int lock, code = -1;

	setsid();
	r->ready_fd = ready_fd;
	r->o.interactive = false;
	if (devnull < 0 || !log) {
		o2v_error_sys(&err, -errno, "create the VM's log");
	} else if (o2v_logfile_open(&lf, log, r->o.log_max_size, r->o.log_max_files, &err) == 0 &&
		   (lock = o2v_vm_lock(&r->vm, &err)) >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO); /* everything worth keeping goes through lf */
		r->vm.detached = true;
		code = supervise_restarts(r, &lf, &ex, why, sizeof(why), &err);
		close(lock);
	}
	o2v_logfile_close(&lf);
	/* Removed before the waiting caller hears of it: once `run -d` returns, nothing of a
	 * --rm VM is left; a new container that never started leaves nothing either. */
	if (r->vm.remove_on_exit || (code < 0 && !r->resume)) {
		o2v_vm_remove(&r->vm, NULL);
		if (r->disk)
			o2v_container_disk_remove(r->cache_dir, r->vm.id);
	}
	if (r->ready_fd >= 0)
		report_not_started(r->ready_fd, code < 0 ? O2V_EXIT_RUN_FAILED : code,
				   code < 0    ? err.msg
				   : ex.message[0] ? ex.message
						   : "the VM ended before its workload started");
	_exit(0);
}

static int run_detached(struct run *r)
{
	int pfd[2];
	char buf[O2V_ERROR_MAX + 16];
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		o2v_cli_error("start the VM: %s", strerror(errno));
		return O2V_EXIT_RUN_FAILED;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		o2v_cli_error("start the VM: %s", strerror(errno));
		return O2V_EXIT_RUN_FAILED;
	}
	if (pid == 0) {
		close(pfd[0]);
		/* A grandchild, so the supervisor is re-parented to init and the caller's
		 * shell never sees it as its own job. */
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		detached_child(r, pfd[1]);
	}
	close(pfd[1]);
	waitpid(pid, NULL, 0);
	n = O2V_RETRY(read(pfd[0], buf, sizeof(buf) - 1));
	close(pfd[0]);
	if (n == 1 && buf[0] == '\0') {
		if (!r->resume) /* `start` prints the name it was given */
			printf("%s\n", r->vm.id);
		return O2V_EXIT_OK;
	}
	if (n > 0) {
		char *msg;
		buf[n] = '\0';
		long code = strtol(buf, &msg, 10);
		if (code < 0 || code > 255 || *msg != ' ')
			code = O2V_EXIT_RUN_FAILED, msg = buf;
		else
			msg++;
		o2v_cli_error("%s", msg);
		return (int)code;
	}
	o2v_cli_error("the VM supervisor ended before the VM started; see '%s'", r->vm.dir);
	return O2V_EXIT_RUN_FAILED;
}

/* A container's layer (not for --rm or an initramfs root): made now, or the existing one for
 * `start`. */
static int get_disk(struct run *r, struct o2v_error *err)
{
	if (r->o.rm || r->o.cpio)
		return 0;
	return o2v_container_disk(r->cache_dir, r->vm.id, r->vmimage, !r->resume, &r->disk, err);
}

/* The VM's record: a new one (its command line saved for `start`), or for `start` the
 * existing one, set running again. */
static int take_record(struct run *r, int argc, char **argv, struct o2v_error *err)
{
	_cleanup_free_ char *mark = NULL;
	int e;

	if (!r->resume) {
		if ((e = o2v_vm_create(r->runtime_dir, r->o.name, &r->vm, err)) < 0)
			return e;
		if (!r->o.rm && (e = o2v_container_args_save(&r->vm, argc, argv, err)) < 0)
			return e;
	}
	if ((mark = o2v_vm_path(&r->vm, O2V_VM_STOP_MARK)))
		unlink(mark);
	free(r->vm.image);
	free(r->vm.ports);
	r->vm.image = strdup(r->img->reference ? r->img->reference : r->o.ref);
	r->vm.ports = ports_text(&r->o);
	r->vm.remove_on_exit = r->o.rm;
	r->vm.detached = r->o.detach;
	r->vm.finished = 0;
	r->vm.exit_code = -1;
	r->vm.started = (int64_t)time(NULL);
	return 0;
}

/* Everything before the launch: options, host, image, VM image, the VM's record. */
static int prepare(struct run *r, int argc, char **argv, struct o2v_error *err)
{
	int e;

	o2v_run_opts_init(&r->o);
	if ((e = o2v_run_opts_parse(&r->o, argc, argv, err)) < 0)
		return e;
	if (r->resume) {
		/* `start` does not attach: the container runs in the background. */
		r->o.detach = true;
		r->o.tty = r->o.interactive = false;
		r->o.quiet = true;
		/* Docker's start never pulls: the cached image (pulled again only if gone). */
		r->o.pull = O2V_WHEN_MISSING;
	}
	if ((e = check_host(r, err)) < 0 || (e = get_image(r, err)) < 0 ||
	    (e = check_architecture(r->img, err)) < 0 ||
	    (e = o2v_ports_publish_all(&r->o, r->img->config.exposed_ports, err)) < 0 ||
	    (e = o2v_health_resolve(&r->img->config, &r->o, &r->health, err)) < 0 ||
	    (e = get_vmimage(r, err)) < 0 ||
	    (e = take_record(r, argc, argv, err)) < 0)
		return e;
	r->volumes = calloc(r->o.n_volumes + 1, sizeof(*r->volumes));
	if (!r->vm.image || !r->vm.ports || !r->volumes)
		e = o2v_error_sys(err, -ENOMEM, "run");
	for (size_t i = 0; e == 0 && i < r->o.n_volumes; i++)
		r->volumes[i] = (struct o2v_vm_volume){r->o.volumes[i].host, r->o.volumes[i].readonly};
	if (e < 0 || (e = get_disk(r, err)) < 0 || (e = o2v_vm_save(&r->vm, err)) < 0 ||
	    (e = build_runconfig(r, err)) < 0 || (e = write_initrd(r, err)) < 0) {
		/* Nothing started: leave no trace of a new VM (a container to `start` stays). */
		if (!r->resume) {
			o2v_vm_remove(&r->vm, NULL);
			o2v_container_disk_remove(r->cache_dir, r->vm.id);
		}
		return e;
	}
	return 0;
}

int o2v_run_start(struct o2v_vm *vm)
{
	struct run r = {.ready_fd = -1, .resume = true, .health_pid = -1};
	struct o2v_error err = {0};
	_cleanup_strv_ char **argv = NULL;
	int argc, code;

	if (o2v_container_args_load(vm, &argv, &argc, &err) < 0) {
		o2v_cli_error("VM '%s' cannot be started again: %s", vm->name, err.msg);
		return O2V_EXIT_RUN_FAILED;
	}
	r.vm = *vm;
	*vm = (struct o2v_vm){0}; /* r owns it now */
	if (prepare(&r, argc, argv, &err) < 0)
		code = fail(&err);
	else
		code = run_detached(&r);
	run_release(&r);
	return code;
}

int cmd_run(int argc, char **argv)
{
	struct run r = {.ready_fd = -1, .health_pid = -1};
	struct o2v_error err = {0};
	int code;

	if (prepare(&r, argc, argv, &err) < 0)
		code = fail(&err);
	else
		code = r.o.detach ? run_detached(&r) : run_foreground(&r);
	run_release(&r);
	return code;
}
