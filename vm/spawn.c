/* spawn.c - start a process the VM library owns; see spawn.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The child's environment: environ's entries (borrowed) with LD_PRELOAD and the variables
 * set replaced. */
struct child_env {
	char **v;      /* NULL: environ unchanged */
	char *preload; /* "LD_PRELOAD=lib[:inherited]" or NULL */
};

static bool named(const char *entry, const char *name_eq)
{
	return !strncmp(entry, name_eq, strcspn(name_eq, "=") + 1);
}

static bool set_here(const char *entry, char *const *set)
{
	for (; set && *set; set++)
		if (named(entry, *set))
			return true;
	return false;
}

/* Built before fork(): the child only execs. -ENOMEM. */
static int child_env_build(struct child_env *e, const char *lib, char *const *set)
{
	extern char **environ;
	const char *old = getenv("LD_PRELOAD");
	size_t n = 0, n_set = 0, j = 0;

	*e = (struct child_env){0};
	if (!lib && !set)
		return 0;
	while (environ[n])
		n++;
	while (set && set[n_set])
		n_set++;
	if (!(e->v = calloc(n + n_set + 2, sizeof(*e->v))))
		return -ENOMEM;
	if (lib && asprintf(&e->preload, "LD_PRELOAD=%s%s%s", lib, old && *old ? ":" : "",
			    old ? old : "") < 0)
		return e->preload = NULL, -ENOMEM;
	if (e->preload)
		e->v[j++] = e->preload;
	for (size_t i = 0; i < n_set; i++)
		e->v[j++] = set[i];
	for (size_t i = 0; i < n; i++)
		if (!(e->preload && named(environ[i], e->preload)) && !set_here(environ[i], set))
			e->v[j++] = environ[i];
	return 0;
}

static void child_env_release(struct child_env *e)
{
	free(e->v);
	free(e->preload);
}

/* In the child: everything but exec. Returns only on failure, with the exit code. */
/* Only async-signal-safe calls between fork and exec (a caller may have threads). */
static void child_say(int fd, const char *a, const char *b)
{
	const char *parts[] = {a, b, "\n"};

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		if (parts[i] && write(fd, parts[i], strlen(parts[i])) < 0)
			return;
}

static int child_setup(const struct o2v_spawn *s, pid_t parent, int logfd, int nsfd, int max_fd)
{
	/* No terminal: Ctrl-C goes to the supervisor (its own process group), and the child
	 * dies with the supervisor if that is killed. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* No transparent huge pages (kept across exec): a guest touches its RAM sparsely, and
	 * a 2 MiB host page for each touched 4 KiB cost ~5 MB of resident memory for a Redis
	 * VM, for no measurable speed. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (getppid() != parent)
		return O2V_SPAWN_SETUP_FAILED;
	if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
		child_say(logfd, "cannot enter the network namespace ", s->netns);
		return O2V_SPAWN_SETUP_FAILED;
	}
	int devnull = open("/dev/null", O_RDWR);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		return O2V_SPAWN_SETUP_FAILED;
	/* Nothing our own caller left open reaches the child: only what it is passed. Without
	 * close_range (kernels before 5.11, some seccomp profiles), one descriptor at a time. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < max_fd; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (size_t i = 0; i < s->n_pass_fds; i++)
		if (fcntl(s->pass_fds[i], F_SETFD, 0) < 0)
			return O2V_SPAWN_SETUP_FAILED;
	if (s->sigmask)
		sigprocmask(SIG_SETMASK, s->sigmask, NULL);
	signal(SIGPIPE, SIG_DFL);
	return 0;
}

static int open_log(const char *path, bool append, struct o2v_error *err)
{
	int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC;
	int fd = path ? open(path, flags, 0600) : open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return o2v_error_sys(err, -errno, "create '%s'", path ? path : "/dev/null");
	return fd;
}

pid_t o2v_spawn(const struct o2v_spawn *s, struct o2v_error *err)
{
	extern char **environ;
	_cleanup_close_ int logfd = -1, nsfd = -1;
	struct child_env env;
	pid_t parent = getpid(), pid;

	for (size_t i = 0; i < s->n_pass_fds; i++)
		if (s->pass_fds[i] < 3 || fcntl(s->pass_fds[i], F_GETFD) < 0)
			return o2v_error_set(err, -EBADF, "descriptor %d cannot be passed to '%s'",
					     s->pass_fds[i], s->argv[0]);
	if (s->netns && (nsfd = open(s->netns, O_RDONLY | O_CLOEXEC)) < 0)
		return o2v_error_sys(err, -errno, "network namespace '%s'", s->netns);
	if ((logfd = open_log(s->log_path, s->log_append, err)) < 0)
		return logfd;
	if (child_env_build(&env, s->preload, s->setenv) < 0) {
		child_env_release(&env);
		return o2v_error_sys(err, -ENOMEM, "start '%s'", s->argv[0]);
	}
	long open_max = sysconf(_SC_OPEN_MAX);
	int max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
	pid = fork();
	if (pid == 0) {
		int code = child_setup(s, parent, logfd, nsfd, max_fd);
		if (code == 0) {
			execvpe(s->argv[0], s->argv, env.v ? env.v : environ);
			code = errno == ENOENT ? 127 : 126;
			child_say(2, code == 127 ? "not found: " : "cannot execute: ", s->argv[0]);
		}
		_exit(code);
	}
	int e = errno;
	child_env_release(&env);
	if (pid < 0)
		return o2v_error_sys(err, -e, "start '%s'", s->argv[0]);
	return pid;
}
