/* spawn.c - start the workload: fork, enter the container, become the user, exec.
 *
 * The child reports any failure before or at execve() through a CLOEXEC
 * pipe: a successful exec closes the pipe with nothing written, a failure
 * writes {exit code, message}. So PID 1 learns the exact cause (and Docker's
 * 125/126/127) instead of guessing from an exit status a workload could
 * also have produced.
 */
#include "init.h"

#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../common/fsutil.h"
#include "../common/runmerge.h"

#define SPAWN_MSG_MAX O2V_ERROR_MAX

struct spawn_report {
	int code;
	char msg[SPAWN_MSG_MAX];
};

int init_exec_errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
	case ELOOP:
		return INIT_EXIT_NOT_FOUND;
	default:
		return INIT_EXIT_CANNOT_EXEC;
	}
}

static O2V_NORETURN void child_fail(int pipe_fd, int code, const struct o2v_error *err)
{
	struct spawn_report rep = {.code = code};

	memcpy(rep.msg, err->msg, sizeof(rep.msg));
	o2v_write_all(pipe_fd, &rep, sizeof(rep));
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

static O2V_NORETURN void child(const struct init_spawn *s, int pipe_fd)
{
	struct o2v_error err = {0};
	int r;

	init_signals_unblock();
	if (s->root) {
		if (chroot(s->root) < 0 || chdir("/") < 0) {
			o2v_error_sys(&err, -errno, "enter the container root '%s'", s->root);
			child_fail(pipe_fd, INIT_EXIT_FAILED, &err);
		}
	}
	/* After chroot, so the terminal is the container's /dev/hvc0. */
	if (init_console_attach(s->terminal, s->rows, s->cols, &err) < 0)
		child_fail(pipe_fd, INIT_EXIT_FAILED, &err);
	const char *wd = s->workdir && s->workdir[0] ? s->workdir : "/";
	/* Docker creates a missing WorkingDir, owned by root, before switching user. */
	if ((r = o2v_mkdir_p(wd, 0755, &err)) < 0 || chdir(wd) < 0) {
		if (r == 0)
			o2v_error_sys(&err, -errno, "change to the working directory");
		o2v_error_prefix(&err, "working directory '%s'", wd);
		child_fail(pipe_fd, INIT_EXIT_FAILED, &err);
	}
	if (s->user) {
		if (setgroups(s->user->n_groups, s->user->groups) < 0 || setgid(s->user->gid) < 0 ||
		    setuid(s->user->uid) < 0) {
			o2v_error_sys(&err, -errno, "switch to uid %u gid %u",
				      (unsigned)s->user->uid, (unsigned)s->user->gid);
			child_fail(pipe_fd, INIT_EXIT_FAILED, &err);
		}
	}
	r = exec_path(s->argv, s->env, &err);
	child_fail(pipe_fd, init_exec_errno_code(-r), &err);
}

pid_t init_spawn(const struct init_spawn *s, int *ret_code, struct o2v_error *err)
{
	int p[2];
	struct spawn_report rep;

	if (pipe2(p, O_CLOEXEC) < 0) {
		*ret_code = INIT_EXIT_FAILED;
		return o2v_error_sys(err, -errno, "start the workload: pipe");
	}
	init_trace("fork");
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		*ret_code = INIT_EXIT_FAILED;
		return o2v_error_sys(err, e, "start the workload: fork");
	}
	if (pid == 0) {
		close(p[0]);
		child(s, p[1]);
	}
	close(p[1]);
	ssize_t n = O2V_RETRY(read(p[0], &rep, sizeof(rep)));
	close(p[0]);
	if (n == 0)
		return pid; /* exec happened: the pipe closed with it */
	/* The child wrote its report and exits with the code; reap it here so
	 * supervise never sees it. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(rep)) {
		*ret_code = INIT_EXIT_FAILED;
		return o2v_error_set(err, -EPROTO, "start the workload: lost the child's report");
	}
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	*ret_code = rep.code;
	return o2v_error_set(err, rep.code == INIT_EXIT_NOT_FOUND ? -ENOENT : -EACCES, "%s",
			     rep.msg);
}
