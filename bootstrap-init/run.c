/* run.c - PID 1 from start to power-off, in order.
 *
 * Every step either succeeds or ends in init_fail(): one "oci2vm-init:" line
 * on the console, `error ...` and `exit 12x` on the status port, clean
 * power-off. Nothing here returns to the kernel.
 */
#include "init.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"

#define ROOT_INITRAMFS	"/app_root"
#define ROOT_DISK	INIT_DISK_MNT "/app_root"
#define SHELL_INITRAMFS "/bin/busybox"
#define SHELL_DISK	INIT_DISK_MNT "/bin/busybox"

/* The kernel gives PID 1 /dev/console as fds 0-2 if it can; without them,
 * any file opened later would become the workload's stdio. */
static void ensure_stdio(void)
{
	for (int i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd >= 0 && fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}

/* No port is normal when the image is booted by hand (`oci2vm export`). */
static int open_control_port(void)
{
	int fd = init_port_open(O2V_PORT_CONTROL, O2V_PORT_CONTROL_GUESS, O_RDONLY);

	if (fd < 0)
		init_debug("no '%s' port (%s): continuing without it", O2V_PORT_CONTROL,
			   strerror(-fd));
	return fd;
}

static void quiet_kernel(void)
{
	/* console_loglevel 0: not even "reboot: Restarting system" may land in
	 * the workload's output. Verbose mode keeps the kernel's setting. Until
	 * then `quiet` lets only errors through. */
	int fd = open("/proc/sys/kernel/printk", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		o2v_write_all(fd, "0", 1);
		close(fd);
	}
}

/* run.conf from the initramfs; without one this VM is the template of a snapshot
 * (resume.c): the configuration comes over the control port, whose fd is kept in *ctl_fd
 * (closing it would drop what the host sends next). */
static void read_config(struct o2v_runconfig *rc, int *ctl_fd)
{
	struct o2v_error err = {0};
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = o2v_read_file(O2V_RUNCONFIG_PATH, O2V_RUNCONFIG_MAX, &text, &len, &err);

	if (r == -ENOENT && (*ctl_fd = open_control_port()) >= 0)
		r = init_resume_wait(*ctl_fd, &text, &len, &err);
	if (r < 0 || o2v_runconfig_parse(rc, text, len, &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
}

/* -t with a stdout port: the workload's terminal is a pty of the container's devpts,
 * bind-mounted on its /dev/console as Docker does; its output goes over the stdout port,
 * the console's input into it. The master, or -1 when there is no port (an image booted
 * by hand): then the console itself is the terminal. */
static int open_terminal(const char *root, int root_fd, const struct o2v_runconfig *rc,
			 struct init_outrelay *out, struct init_stdin *in, int *ret_slave)
{
	struct o2v_error err = {0};
	unsigned idx;
	char slave_path[512];
	int master = init_pty_open(root, rc->rows, rc->cols, ret_slave, &idx), r;

	if (master < 0) {
		o2v_error_sys(&err, master, "open a terminal for the workload");
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	}
	if ((r = init_outrelay_open_from(out, O2V_PORT_STDOUT, O2V_PORT_STDOUT_GUESS,
					 fcntl(master, F_DUPFD_CLOEXEC, 3))) < 0) {
		close(master);
		close(*ret_slave);
		*ret_slave = -1;
		return -1;
	}
	snprintf(slave_path, sizeof(slave_path), "%s/dev/pts/%u", root, idx);
	if (init_bind_in_root(root_fd, slave_path, INIT_CONTAINER_CONSOLE, false, &err) < 0 ||
	    init_stdin_open_to(in, fcntl(master, F_DUPFD_CLOEXEC, 3), &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	return master;
}

void init_main(void)
{
	static char path_env[] = "PATH=/bin:/sbin:/usr/bin:/usr/sbin", home_env[] = "HOME=/";
	static char *shell_env[] = {path_env, home_env, NULL};
	struct o2v_runconfig rc;
	struct o2v_error err = {0};
	int code;

	init_trace("entry");
	if (getpid() != 1) {
		fprintf(stderr, "oci2vm-init: this is the guest's PID 1; not running as PID 1\n");
		_exit(O2V_EXIT_INIT_FAILED);
	}
	umask(022);
	if (init_mount_early(&err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	ensure_stdio();
	init_trace("early");
	o2v_runconfig_init(&rc);
	int ctl_fd = -1;
	read_config(&rc, &ctl_fd);
	init_verbose = rc.verbose;
	init_shutdown_configure(&rc);

	init_trace("config");
	if (rc.rootdisk && init_mount_rootdisk(rc.rootdisk, rc.ephemeral, &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	init_trace("disk");
	const char *root = rc.rootdisk ? ROOT_DISK : ROOT_INITRAMFS;
	if (rc.root_volume && init_mount_root_volume(root, rc.volumes, rc.n_volumes, &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	if (init_root_bind_self(root, &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		o2v_error_sys(&err, -errno, "open the container root '%s'", root);
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	}
	if (init_mount_container(root_fd, rc.terminal, rc.shm_size, rc.proc_unconfined, &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	init_trace("mounts");
	if (init_net_setup(rc.network, rc.net_static, &err) < 0)
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	init_trace("net");
	/* tmpfs before volumes: a volume or an engine's file bound below /run (podman's
	 * /run/.containerenv, /run/secrets) lands on the tmpfs, not under it, as runc mounts
	 * in the config's order (parents first). */
	if (init_etc_files(root_fd, &rc, &err) < 0 ||
	    (rc.read_only && init_root_writable(root_fd, &err) < 0) ||
	    init_mount_tmpfs(root_fd, rc.tmpfs, &err) < 0 ||
	    init_mount_volumes(root_fd, rc.volumes + rc.root_volume, rc.n_volumes - rc.root_volume,
			       &err) < 0 ||
	    (rc.read_only && init_root_readonly(root, &err) < 0))
		init_fail(O2V_EXIT_INIT_FAILED, &err);
	init_trace("etc");
	/* -t: a pty, its output over the stdout port (console.c says why). */
	int tty_slave = -1;
	static struct init_outrelay tty_out = {.pipe_fd = -1, .port_fd = -1};
	static struct init_stdin tty_in;
	int tty_master = rc.terminal && !rc.shell
			     ? open_terminal(root, root_fd, &rc, &tty_out, &tty_in, &tty_slave)
			     : -1;

	struct init_spawn sp = {
	    .root = root,
	    .workdir = rc.workdir,
	    .argv = rc.argv,
	    .terminal = rc.terminal,
	    .stdin_open = rc.stdin_open,
	    .stdin_fd = -1,
	    .stdout_fd = -1,
	    .stderr_fd = -1,
	    .tty_fd = tty_slave,
	    .rows = rc.rows,
	    .cols = rc.cols,
	};
	if (rc.shell) {
		static char sh_disk[] = SHELL_DISK, sh_ramfs[] = SHELL_INITRAMFS, sh[] = "sh";
		static char *shell_argv[] = {NULL, sh, NULL};
		shell_argv[0] = rc.rootdisk ? sh_disk : sh_ramfs;
		sp.root = NULL;
		sp.workdir = "/";
		sp.stdin_open = true; /* the debug shell reads its commands from the console */
		sp.argv = shell_argv;
		sp.env = shell_env;
	} else {
		sp.user = rc.user ? rc.user : "";
		sp.env = rc.env;
	}
	close(root_fd);

	/* The control port before `started`: the host may send `eof N` or `stop` right after
	 * it, and QEMU drops what a host sends while the guest has the port closed. */
	if (ctl_fd < 0)
		ctl_fd = open_control_port();
	static struct init_stdin in_relay;
	static struct init_stdio io = {
	    .out = {{.pipe_fd = -1, .port_fd = -1}, {.pipe_fd = -1, .port_fd = -1}}, .tty_fd = -1};
	if (tty_master >= 0) {
		io.out[0] = tty_out;
		io.in = &tty_in;
		io.tty_fd = tty_master;
	}
	if (!rc.terminal && sp.stdin_open && !rc.shell) {
		if (init_stdin_open(&in_relay, &sp.stdin_fd, &err) < 0)
			init_fail(O2V_EXIT_INIT_FAILED, &err);
		io.in = &in_relay;
	}
	if (!rc.terminal) {
		/* No such ports (an image booted by hand): the console carries both. */
		init_outrelay_open(&io.out[0], O2V_PORT_STDOUT, O2V_PORT_STDOUT_GUESS,
				   &sp.stdout_fd);
		init_outrelay_open(&io.out[1], O2V_PORT_STDERR, O2V_PORT_STDERR_GUESS,
				   &sp.stderr_fd);
	}
	static struct init_confine confine;
	static struct init_execd_ctx exec_ctx;
	static struct o2v_ulimit ulimits[64]; /* 16 names; a later one of a name wins */
	size_t n_ulimits = 0;
	for (char **u = rc.ulimits; u && *u && n_ulimits < ARRAY_SIZE(ulimits); u++)
		if (o2v_ulimit_parse_line(*u, &ulimits[n_ulimits]) == 0) /* checked by the parser */
			n_ulimits++;
	if (!rc.shell) {
		/* Only a terminal on the console (no pty) needs the console in the cgroup. */
		if (init_confine_prepare(&confine, rc.terminal && tty_master < 0, &err) < 0)
			init_fail(O2V_EXIT_INIT_FAILED, &err);
		sp.confine = &confine;
		sp.caps = rc.caps;
		sp.ulimits = ulimits;
		sp.n_ulimits = n_ulimits;
		sp.no_new_privs = rc.no_new_privs;
		sp.umask_set = rc.umask >= 0;
		sp.umask = rc.umask >= 0 ? (unsigned)rc.umask : 022;
		sp.oom_set = rc.oom_set;
		sp.oom_score_adj = rc.oom_score_adj;
		/* `oci2vm exec` runs processes the way the workload runs. */
		exec_ctx = (struct init_execd_ctx){.root = root,
						   .env = rc.env,
						   .user = sp.user,
						   .workdir = rc.workdir,
						   .confine = &confine,
						   .caps = rc.caps,
						   .ulimits = ulimits,
						   .n_ulimits = n_ulimits,
						   .no_new_privs = rc.no_new_privs};
		if (init_execd_open(&exec_ctx) < 0)
			init_debug("no exec port: oci2vm exec is not available");
	}
	if (rc.hold)
		init_hold(ctl_fd, tty_master);
	init_console_mode(rc.terminal && tty_master < 0);
	init_signals_block();
	pid_t pid = init_spawn(&sp, &code, &err);
	/* The workload's ends of the pipes: the relays see the end once its side closes. */
	int child_fds[] = {sp.stdin_fd, sp.stdout_fd, sp.stderr_fd, sp.tty_fd};
	for (size_t i = 0; i < ARRAY_SIZE(child_fds); i++)
		if (child_fds[i] >= 0)
			close(child_fds[i]);
	if (pid < 0)
		init_fail(code, &err);
	init_trace("started");
	/* What the workload does not need is done while it starts: init's /proc, the log
	 * level. */
	init_mount_late();
	/* init_spawn() returns once the exec succeeded: `started` tells the host the workload
	 * runs (what `oci2vm run -d` waits for before it reports success). */
	init_status(&(struct o2v_status_msg){.kind = O2V_STATUS_STARTED});
	if (!rc.verbose)
		quiet_kernel();
	init_trace("ports");
	init_debug("workload started (pid %d)", (int)pid);
	init_shutdown(init_supervise(pid, ctl_fd, rc.stop_grace, (int)rc.stop_signal, &io));
}
