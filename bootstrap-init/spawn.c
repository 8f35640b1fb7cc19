/* spawn.c - start the workload: clone, enter the container, become the user, exec.
 *
 * The child resolves USER after chroot, so the image's /etc/passwd and
 * /etc/group (symlinks included) are found as the workload will find them,
 * as runc does.
 *
 * The child is a vfork-style clone (CLONE_VM | CLONE_VFORK) on a stack of
 * its own, as posix_spawn() does: no page tables to copy and no
 * copy-on-write faults, both slow under TCG, and PID 1 sleeps until the
 * child has exec'd or died. A failure before or at execve() is written
 * into the memory both share ({exit code, message}), so PID 1 learns the
 * exact cause (and Docker's 125/126/127) instead of guessing from an exit
 * status a workload could also have produced. The child uses raw system
 * calls where musl's wrappers touch process-wide state (set*id).
 *
 * The exec wakes PID 1, and a woken PID 1 would run before the workload's
 * first instruction; the parent is nice 19 across the clone so that the
 * workload goes first, and is back to 0 as soon as it runs again.
 */
#include "init.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "../common/fsutil.h"
#include "../common/runmerge.h"

#define SPAWN_MSG_MAX	 O2V_ERROR_MAX
#define SPAWN_STACK_SIZE (64 * 1024)
#define PARENT_NICE	 19

struct spawn_report {
	int code; /* 0: nothing to report (the exec happened) */
	char msg[SPAWN_MSG_MAX];
};

struct spawn_child {
	const struct init_spawn *s;
	struct spawn_report *rep; /* shared with PID 1 (CLONE_VM) */
};

int init_exec_errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
	case ELOOP:
		return O2V_EXIT_NOT_FOUND;
	default:
		return O2V_EXIT_CANNOT_EXEC;
	}
}

static O2V_NORETURN void child_fail(struct spawn_report *rep, int code, const struct o2v_error *err)
{
	memcpy(rep->msg, err->msg, sizeof(rep->msg));
	rep->code = code;
	_exit(code);
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* execvp() with the container's PATH rather than init's: try each
 * directory; a permission problem wins over "not found" (as in execvp). */
static int exec_path(char *const *argv, char *const *env, struct o2v_error *err)
{
	const char *cmd = argv[0];
	char path[4096];
	int e = ENOENT;

	if (strchr(cmd, '/')) {
		execve(cmd, argv, env);
		e = errno;
		return o2v_error_sys(err, -e, "exec '%s'", cmd);
	}
	const char *p = env_get(env, "PATH");
	if (!p)
		p = O2V_DEFAULT_PATH;
	for (const char *dir = p, *end;; dir = end + 1) {
		end = strchrnul(dir, ':');
		size_t dn = (size_t)(end - dir);
		if (dn == 0)
			dir = ".", dn = 1; /* an empty PATH entry means the cwd */
		if (dn + 1 + strlen(cmd) < sizeof(path)) {
			snprintf(path, sizeof(path), "%.*s/%s", (int)dn, dir, cmd);
			execve(path, argv, env);
			if (errno == EACCES || (errno != ENOENT && errno != ENOTDIR)) {
				e = errno;
				if (errno != EACCES)
					return o2v_error_sys(err, -e, "exec '%s'", path);
			}
		}
		if (!*end)
			break;
	}
	if (e == ENOENT)
		return o2v_error_set(err, -ENOENT, "exec '%s': executable file not found in $PATH",
				     cmd);
	return o2v_error_sys(err, -e, "exec '%s'", cmd);
}

/* env plus HOME from passwd when the image and the run set none; NULL when out of memory. */
static char *const *with_home(char *const *env, const char *home)
{
	size_t n = 0;

	while (env && env[n]) {
		if (!strncmp(env[n], "HOME=", 5))
			return env;
		n++;
	}
	char **out = calloc(n + 2, sizeof(*out));
	if (!out || asprintf(&out[n], "HOME=%s", home) < 0)
		return NULL;
	if (n)
		memcpy(out, env, n * sizeof(*out));
	return out;
}

static void become_user(const struct init_spawn *s, char *const **env, struct spawn_report *rep)
{
	struct o2v_error err = {0};
	struct init_user u;

	if (init_user_resolve("/etc/passwd", "/etc/group", s->user, &u, &err) < 0)
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	if (!(*env = with_home(s->env, u.home))) {
		o2v_error_sys(&err, -ENOMEM, "set HOME");
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
	if (syscall(SYS_setgroups, u.n_groups, u.groups) < 0 || syscall(SYS_setgid, u.gid) < 0 ||
	    syscall(SYS_setuid, u.uid) < 0) {
		o2v_error_sys(&err, -errno, "switch to uid %u gid %u", (unsigned)u.uid,
			      (unsigned)u.gid);
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
}

static int child(void *arg)
{
	const struct init_spawn *s = ((struct spawn_child *)arg)->s;
	struct spawn_report *rep = ((struct spawn_child *)arg)->rep;
	struct o2v_error err = {0};
	int r = 0;

	setpriority(PRIO_PROCESS, 0, 0); /* PID 1's nice 19 is not the workload's */
	init_signals_unblock();
	if (s->root) {
		if (chroot(s->root) < 0 || chdir("/") < 0) {
			o2v_error_sys(&err, -errno, "enter the container root '%s'", s->root);
			child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
		}
	}
	/* After chroot, so the terminal is the container's /dev/console (mounts.c). */
	if (s->tty_fd >= 0) {
		if (setsid() < 0 || ioctl(s->tty_fd, TIOCSCTTY, 0) < 0 ||
		    dup2(s->tty_fd, STDIN_FILENO) < 0 || dup2(s->tty_fd, STDOUT_FILENO) < 0 ||
		    dup2(s->tty_fd, STDERR_FILENO) < 0) {
			o2v_error_sys(&err, -errno, "attach the terminal");
			child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
		}
	} else if (init_console_attach(s->root ? INIT_CONTAINER_CONSOLE : O2V_GUEST_CONSOLE,
				       s->terminal, s->stdin_open, s->rows, s->cols, &err) < 0) {
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
	if (s->stdin_fd >= 0 && dup2(s->stdin_fd, STDIN_FILENO) < 0) {
		o2v_error_sys(&err, -errno, "attach the stdin pipe");
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
	if ((s->stdout_fd >= 0 && dup2(s->stdout_fd, STDOUT_FILENO) < 0) ||
	    (s->stderr_fd >= 0 && dup2(s->stderr_fd, STDERR_FILENO) < 0)) {
		o2v_error_sys(&err, -errno, "attach the output pipes");
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
	const char *wd = s->workdir && s->workdir[0] ? s->workdir : "/";
	/* Docker creates a missing WorkingDir, owned by root, before switching user. */
	if (chdir(wd) < 0 && ((r = o2v_mkdir_p(wd, 0755, &err)) < 0 || chdir(wd) < 0)) {
		if (r == 0)
			o2v_error_sys(&err, -errno, "change to the working directory");
		o2v_error_prefix(&err, "working directory '%s'", wd);
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
	char *const *env = s->env;
	/* Limits while still root: raising a hard one needs CAP_SYS_RESOURCE. */
	for (size_t i = 0; i < s->n_ulimits; i++) {
		const struct o2v_ulimit *u = &s->ulimits[i];
		struct rlimit rl = {u->soft == O2V_ULIMIT_UNLIMITED ? RLIM_INFINITY : u->soft,
				    u->hard == O2V_ULIMIT_UNLIMITED ? RLIM_INFINITY : u->hard};
		if (setrlimit(u->resource, &rl) < 0) {
			o2v_error_sys(&err, -errno, "--ulimit");
			child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
		}
	}
	if (s->umask_set)
		umask((mode_t)s->umask);
	if (s->oom_set) {
		/* lowering it needs CAP_SYS_RESOURCE: still root here */
		char num[16];
		int n = snprintf(num, sizeof(num), "%d", s->oom_score_adj);
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, num, (size_t)n) != n) {
			o2v_error_sys(&err, -errno, "set oom_score_adj %d", s->oom_score_adj);
			child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
		}
		close(fd);
	}
	/* Last as root: the cgroup and the capabilities, once everything needing them is done. */
	if (s->confine && init_confine_enter(s->confine, s->caps, &err) < 0)
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	if (s->user)
		become_user(s, &env, rep);
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		o2v_error_sys(&err, -errno, "no-new-privileges");
		child_fail(rep, O2V_EXIT_INIT_FAILED, &err);
	}
	r = exec_path(s->argv, env, &err);
	child_fail(rep, init_exec_errno_code(-r), &err);
}

pid_t init_spawn(const struct init_spawn *s, int *ret_code, struct o2v_error *err)
{
	static _Alignas(16) char stack[SPAWN_STACK_SIZE];
	static struct spawn_report rep;
	struct spawn_child c = {.s = s, .rep = &rep};

	rep.code = 0;
	setpriority(PRIO_PROCESS, 0, PARENT_NICE);
	init_trace("fork");
	pid_t pid = clone(child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	int e = -errno;
	setpriority(PRIO_PROCESS, 0, 0);
	if (pid < 0) {
		*ret_code = O2V_EXIT_INIT_FAILED;
		return o2v_error_sys(err, e, "start the workload: clone");
	}
	if (rep.code == 0)
		return pid; /* exec'd, or killed on the way: supervise reports either */
	/* The child exits with the code; reap it here so supervise never sees it. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	*ret_code = rep.code;
	return o2v_error_set(err, rep.code == O2V_EXIT_NOT_FOUND ? -ENOENT : -EACCES, "%s",
			     rep.msg);
}
