/* rt_hooks.c - run a bundle's OCI hooks; see rt_hooks.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "../common/clock.h"
#include "../common/fsutil.h"
#include "rt_hooks.h"

#define HOOK_ARGS_MAX 256

/* A JSON array of strings into argv-style pointers into it (NULL-terminated). */
static bool strings(json_object *a, const char **out, size_t max)
{
	size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	if (n >= max)
		return false;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(a, i);
		if (!json_object_is_type(s, json_type_string))
			return false;
		out[i] = json_object_get_string(s);
	}
	out[n] = NULL;
	return true;
}

static int run_one(json_object *hook, const char *kind, size_t index, const char *state,
		   struct o2v_error *err)
{
	const char *args[HOOK_ARGS_MAX + 1], *env[HOOK_ARGS_MAX + 1];
	json_object *path_o = NULL, *args_o = NULL, *env_o = NULL, *timeout_o = NULL;
	int in[2];

	json_object_object_get_ex(hook, "path", &path_o);
	json_object_object_get_ex(hook, "args", &args_o);
	json_object_object_get_ex(hook, "env", &env_o);
	json_object_object_get_ex(hook, "timeout", &timeout_o);
	const char *path = path_o ? json_object_get_string(path_o) : NULL;
	if (!path || path[0] != '/' || !strings(args_o, args, HOOK_ARGS_MAX) ||
	    !strings(env_o, env, HOOK_ARGS_MAX))
		return o2v_error_set(err, -EINVAL,
				     "%s hook %zu: needs an absolute path and string "
				     "args and env",
				     kind, index);
	if (!args[0]) {
		args[0] = path;
		args[1] = NULL;
	}
	int timeout_s = timeout_o ? json_object_get_int(timeout_o) : 0;
	if (pipe2(in, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "%s hook '%s'", kind, path);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO); /* its words are the engine's to log */
		execve(path, (char *const *)args, (char *const *)env);
		_exit(127);
	}
	close(in[0]);
	if (pid < 0) {
		close(in[1]);
		return o2v_error_sys(err, -errno, "%s hook '%s'", kind, path);
	}
	signal(SIGPIPE, SIG_IGN);
	o2v_write_all(in[1], state, strlen(state)); /* a hook may not read it all */
	close(in[1]);
	int64_t deadline = timeout_s > 0 ? o2v_now_ms() + timeout_s * 1000LL : 0;
	int status;
	for (;;) {
		pid_t w = waitpid(pid, &status, deadline ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return o2v_error_sys(err, -errno, "%s hook '%s'", kind, path);
		if (deadline && o2v_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return o2v_error_set(err, -ETIMEDOUT, "%s hook '%s' timed out after %d s",
					     kind, path, timeout_s);
		}
		if (w == 0)
			usleep(10000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return o2v_error_set(err, -EIO, "%s hook '%s' failed (exit %d)", kind, path,
				     WEXITSTATUS(status));
	return o2v_error_set(err, -EIO, "%s hook '%s' was killed by signal %d", kind, path,
			     WTERMSIG(status));
}

int o2v_rt_hooks_run(const char *hooks_json, const char *kind, const char *state_json,
		     struct o2v_error *err)
{
	json_object *hooks, *list;
	int r = 0;

	if (!hooks_json || !(hooks = json_tokener_parse(hooks_json)))
		return 0;
	if (json_object_object_get_ex(hooks, kind, &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list) && r == 0; i++)
			r = run_one(json_object_array_get_idx(list, i), kind, i, state_json, err);
	json_object_put(hooks);
	return r;
}
