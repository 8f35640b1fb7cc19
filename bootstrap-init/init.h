/* init.h - the pieces of bootstrap-init, the guest's PID 1.
 *
 * main.c only calls init_main() (run.c), which runs the steps below in
 * order. Every other file has one job and exports init_-prefixed functions,
 * so the unit tests can link them (libinit.a) without a main().
 *
 * What init says to the host and reads from it (port names, messages, exit codes) is
 * common/vmproto.h; docs/vm-contract.md says what init guarantees around the workload.
 */
#ifndef O2V_INIT_H
#define O2V_INIT_H

#include "../common/o2v.h"

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../common/runconfig.h"
#include "../common/ulimit.h"
#include "../common/vmproto.h"

#define INIT_DISK_MNT	     "/.oci2vm/disk"
#define INIT_GEN_DIR	     "/.oci2vm/gen" /* generated /etc files, bind-mounted into the root */
#define INIT_SHARES_DIR	     "/.oci2vm/shares" /* shares whose entries are bound (runconfig's bind) */
#define INIT_USER_GROUPS_MAX 256
#define INIT_ETC_FILE_MAX    (4 * 1024 * 1024) /* the image's /etc/passwd and /etc/group */

/* ---- log.c: console lines and the status port ---- */
extern bool init_verbose;
/* "oci2vm-init: ..." on the console (stderr), always. */
void init_log(const char *fmt, ...) O2V_PRINTF(1, 2);
/* The same, only in verbose mode. */
void init_debug(const char *fmt, ...) O2V_PRINTF(1, 2);
/* Find the status port unless done already (none is normal for a hand-made boot). */
void init_status_open(void);
/* One message on the status port (common/vmproto.h formats it). */
void init_status(const struct o2v_status_msg *msg);
/* Milliseconds of CLOCK_BOOTTIME (the clock printk timestamps use). */
double init_now_ms(void);
/* Remember "what happened now"; init_trace_dump() prints all in verbose mode. */
void init_trace(const char *what);
void init_trace_dump(void);

/* ---- ports.c: virtio-serial ports by name ---- */
/* Open /dev/vportNpM whose sysfs name is name (O_NONBLOCK|O_CLOEXEC), trying the port
 * guess ("vport0p1") first; -ENOENT if none. */
int init_port_open(const char *name, const char *guess, int flags);

/* ---- resume.c: a VM booted without run.conf, to be saved as a snapshot ---- */
/* Report `ready` and wait on the control port (ctl_fd) for entropy, the time and the run
 * configuration, applying the first two; the configuration's text (NUL-terminated, caller
 * frees) and length. With `disk N` (a restored VM), the root disk's new size is waited
 * for and its cached blocks dropped. A `stop` or a signal first ends the VM. */
int init_resume_wait(int ctl_fd, char **ret_text, size_t *ret_len, struct o2v_error *err);

/* ---- rootfs.c: paths inside the container root, resolved as the container would ---- */
/* An fd of path resolved inside root_fd (symlinks cannot leave it): O_PATH
 * when it exists; else with INIT_ROOT_MKDIR a created directory (and missing
 * parents, mode 0755), with INIT_ROOT_FILE a created empty file (mode 0644). */
enum init_root_how { INIT_ROOT_EXISTING, INIT_ROOT_MKDIR, INIT_ROOT_FILE };
int init_root_open(int root_fd, const char *path, enum init_root_how how, struct o2v_error *err);

/* ---- mounts.c ---- */
/* /dev and /sys of init itself, in the initramfs. */
int init_mount_early(struct o2v_error *err);
/* /proc of init itself, once (errors are logged: init goes on without it). */
void init_mount_late(void);
/* Mount the ext4 root disk on INIT_DISK_MNT. */
int init_mount_rootdisk(const char *dev, bool ephemeral, struct o2v_error *err);
/* The container's /proc, /sys, /dev, ... inside root_fd, and its 9p volumes. */
int init_mount_container(int root_fd, bool terminal, uint64_t shm_size, bool proc_unconfined,
			 struct o2v_error *err);
/* The run configuration's root volume (v[0], at "/") mounted on root. */
int init_mount_root_volume(const char *root, const struct o2v_volume *v, size_t n,
			   struct o2v_error *err);
/* --tmpfs: "PATH[:OPTIONS]" each, Docker's default noexec,nosuid,nodev unless OPTIONS say. */
int init_mount_tmpfs(int root_fd, char *const *specs, struct o2v_error *err);
/* root (a path) becomes a mount of its own first (before anything is mounted in it): the
 * workload's /proc/mounts then lists its "/" (df / works), and --read-only can remount it.
 * --read-only: tmpfs on /tmp, /run and /var/tmp (init_root_writable, before the volumes,
 * which may lie below them), then the root remounted read-only (last, after every mount). */
int init_root_bind_self(const char *root, struct o2v_error *err);
int init_root_writable(int root_fd, struct o2v_error *err);
int init_root_readonly(const char *root, struct o2v_error *err);
int init_mount_volumes(int root_fd, const struct o2v_volume *v, size_t n, struct o2v_error *err);
/* Bind-mount the file src on path inside root_fd (created empty if missing). */
int init_bind_in_root(int root_fd, const char *src, const char *path, bool readonly,
		      struct o2v_error *err);
/* Unmount everything but "/", innermost first; the root disk is remounted
 * read-only if it cannot be unmounted. Best effort, never fails. */
void init_unmount_all(void);

/* ---- net.c ---- */
/* lo up; eth0 10.0.2.15/24 up with default route via 10.0.2.2. */
int init_net_setup(bool eth0, const char *net_static, struct o2v_error *err);

/* ---- etcfiles.c ---- */
/* Hostname, and /etc/hosts, /etc/hostname, /etc/resolv.conf bind-mounted into the root. */
int init_etc_files(int root_fd, const struct o2v_runconfig *rc, struct o2v_error *err);

/* ---- user.c ---- */
struct init_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[INIT_USER_GROUPS_MAX]; /* for setgroups(): the primary gid first */
	size_t n_groups;
	char *home; /* owned; "/" when the user has no passwd entry */
};
void init_user_release(struct init_user *u);
/* Resolve spec ("", name, uid, uid:gid, name:group, uid:group, name:gid) the
 * way runc does, against the given passwd and group files (missing files
 * count as empty). Supplementary groups come from the group file only when
 * no group is given. */
int init_user_resolve(const char *passwd_path, const char *group_path, const char *spec,
		      struct init_user *ret, struct o2v_error *err);

/* ---- console.c ---- */
/* Console line settings: raw bytes without a terminal, a sane tty with one. */
void init_console_mode(bool terminal);
void init_console_winsize(int fd, unsigned rows, unsigned cols);
/* In the child: new session; with terminal, the console at path becomes its controlling
 * tty; without one, stdin is /dev/null unless stdin_open (Docker without -i). */
#define INIT_CONTAINER_CONSOLE "/dev/console" /* the terminal in the container's /dev */
/* A pty of the container's devpts (root/dev/pts): the master, *ret_slave its other end,
 * *ret_index its number (may be NULL); a window of rows x cols (0: 24 x 80). -errno. */
int init_pty_open(const char *root, unsigned rows, unsigned cols, int *ret_slave,
		  unsigned *ret_index);
int init_console_attach(const char *path, bool terminal, bool stdin_open, unsigned rows,
			unsigned cols, struct o2v_error *err);

/* ---- spawn.c: fork, set up, exec; errors come back through a CLOEXEC pipe ---- */
struct init_spawn {
	const char *root;    /* chroot into this; NULL = stay (shell mode) */
	const char *workdir; /* created if missing */
	char *const *argv;
	char *const *env;
	/* USER, resolved against the root's /etc/passwd and /etc/group; HOME is added to env
	 * from passwd unless env has one. NULL = stay root, env as given. */
	const char *user;
	bool terminal;
	bool stdin_open; /* -i without -t: stdin is the console, or stdin_fd; else /dev/null */
	int stdin_fd;	 /* >= 0: the workload's fd 0 (the stdin pipe); -1: as above */
	int stdout_fd;	 /* >= 0: the workload's fd 1 (the stdout relay's pipe); -1: as is */
	int stderr_fd;	 /* >= 0: the workload's fd 2 (the stderr relay's pipe); -1: as is */
	unsigned rows, cols;
	int tty_fd; /* >= 0: a pty's slave, the controlling terminal and stdio (exec -t) */
	const struct init_confine *confine; /* NULL: none (the debug shell) */
	uint64_t caps;			    /* with confine: the bounding set */
	const struct o2v_ulimit *ulimits;   /* set before the exec */
	size_t n_ulimits;
	bool no_new_privs;
	bool umask_set;	   /* else init's 022 */
	unsigned umask;
	bool oom_set;	   /* write oom_score_adj */
	int oom_score_adj;
};
/* Start the workload. Returns its pid, or a negative errno with err set and
 * *ret_code the exit code to report (125/126/127): the child's exec failure
 * is waited for, so nothing is left running in that case. */
pid_t init_spawn(const struct init_spawn *s, int *ret_code, struct o2v_error *err);
/* The exit code for an execve() errno: 127 not found, 126 otherwise. */
int init_exec_errno_code(int e);

/* ---- confine.c: the workload's devices and capabilities (see the file) ---- */
struct init_confine {
	int procs_fd; /* the workload cgroup's cgroup.procs; -1: no confinement */
};
/* In PID 1: the workload's cgroup with its device rule (plus the console with terminal). */
int init_confine_prepare(struct init_confine *c, bool terminal, struct o2v_error *err);
/* In the workload's process before exec: into the cgroup and a cgroup namespace, the
 * bounding set cut down to caps. */
int init_confine_enter(const struct init_confine *c, uint64_t caps, struct o2v_error *err);

/* ---- execd.c: `oci2vm exec` in the guest (see the file) ---- */
struct init_execd_ctx {
	const char *root;	 /* the container root */
	char *const *env;	 /* the container's environment */
	const char *user, *workdir; /* the container's */
	const struct init_confine *confine;
	uint64_t caps;
	const struct o2v_ulimit *ulimits;
	size_t n_ulimits;
	bool no_new_privs;
};
/* Open the exec port; -ENOENT when the VM has none (then execd stays idle). */
int init_execd_open(const struct init_execd_ctx *ctx);
/* Fill up to max pollfds (at most INIT_EXECD_POLL_MAX); returns how many. */
#define INIT_EXECD_POLL_MAX (1 + 3 * 64)
size_t init_execd_poll(struct pollfd *p, size_t max);
void init_execd_events(const struct pollfd *p, size_t n);
/* A child was reaped: true if it was an exec's. */
bool init_execd_reaped(pid_t pid, int status);
void init_execd_kill_all(void);

/* ---- supervise.c ---- */
/* ---- stdin.c: stdin for -i without a terminal (see the file) ---- */
struct init_stdin {
	int con_fd;	   /* the console, read side */
	int pipe_fd;	   /* write end of the workload's stdin; -1 once closed */
	uint64_t forwarded; /* bytes written into the pipe */
	uint64_t eof_at;   /* the host's total from `eof N`; UINT64_MAX until then */
	char buf[4096];	   /* read from the console, not yet in the pipe */
	size_t len, off;
};
/* The pipe and the console; *ret_child_fd is the read end, for the workload's fd 0. */
int init_stdin_open(struct init_stdin *in, int *ret_child_fd, struct o2v_error *err);
/* ... or into sink (a pty's master: the terminal's input), taken over. */
int init_stdin_open_to(struct init_stdin *in, int sink, struct o2v_error *err);
/* What to poll for now (fd -1: nothing). */
void init_stdin_poll(const struct init_stdin *in, struct pollfd *con, struct pollfd *pipe);
void init_stdin_events(struct init_stdin *in, short con_revents, short pipe_revents);
/* The host's `eof N`. */
void init_stdin_eof(struct init_stdin *in, uint64_t total);

/* ---- outrelay.c: stdout and stderr without a terminal (see the file) ---- */
struct init_outrelay {
	int pipe_fd; /* read end of the workload's pipe; -1 once every writer is gone */
	int port_fd; /* the host's port; -1: not relayed */
	char buf[16384];
	size_t len, off;
};
/* Port NAME and a pipe; *ret_child_fd is the write end, for the workload. -ENOENT: no
 * such port (an image booted by hand): the workload writes to the console. */
int init_outrelay_open(struct init_outrelay *o, const char *name, const char *guess,
		       int *ret_child_fd);
/* ... or with source as what is relayed (a pty's master: EIO is its end); taken over. */
int init_outrelay_open_from(struct init_outrelay *o, const char *name, const char *guess,
			    int source);
void init_outrelay_poll(const struct init_outrelay *o, struct pollfd *pipe, struct pollfd *port);
void init_outrelay_events(struct init_outrelay *o, short pipe_revents, short port_revents);
/* After the workload and everything it left are gone: move the rest, wait until the host
 * took it all (fsync on the port). */
void init_outrelay_finish(struct init_outrelay *o);

/* What init relays for the workload's stdio (no terminal); all optional. */
struct init_stdio {
	struct init_stdin *in; /* NULL: the workload's stdin is not ours to feed */
	int tty_fd;	       /* the terminal's master (`winsize` goes there); -1: none */
	struct init_outrelay out[2]; /* stdout, stderr; port_fd -1: not relayed */
};

/* Stay PID 1 until the workload ends: reap, forward signals, obey the
 * control port, relay the workload's stdio (io). Kills what is left, drains
 * the output relays and returns the workload's exit code. */
int init_supervise(pid_t pid, int ctl_fd, unsigned stop_grace, int stop_signal,
		   struct init_stdio *io);
/* Block the signals supervise consumes (before fork, so none is lost). */
void init_signals_block(void);
void init_signals_unblock(void);

/* ---- hold.c ---- */
/* The run configuration's hold: report `held` and wait on the control port (ctl_fd, -1:
 * none) for `start`, which returns; `stop` or `signal N` end the VM as if the workload had
 * been killed by SIGTERM or N; `winsize` sizes tty_fd (the workload's pty; -1: the
 * console). */
void init_hold(int ctl_fd, int tty_fd);

/* ---- shutdown.c ---- */
/* sync, unmount, `exit N` on the status port, reboot. Never returns. */
O2V_NORETURN void init_shutdown(int code);
/* What shutdown may skip for this run (see shutdown.c); before: sync and unmount all. */
void init_shutdown_configure(const struct o2v_runconfig *rc);
/* One-line error on the console and the status port, then shutdown(code). */
O2V_NORETURN void init_fail(int code, const struct o2v_error *err);

/* ---- run.c ---- */
O2V_NORETURN void init_main(void);

#endif
