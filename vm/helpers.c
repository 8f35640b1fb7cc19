/* helpers.c - processes a launch owns besides QEMU (virtiofsd, passt): started first, in
 * the VM's network namespace, and ended after QEMU. See launch.c. */
#include "../common/o2v.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"
#include "relay.h"

#define HELPER_READY_MS 10000 /* virtiofsd or passt creating its socket */
#define HELPER_TERM_MS	2000  /* between SIGTERM and SIGKILL at the end */

/* Wait until path exists or the helper died (then it is reaped and *pid becomes -1, so
 * nothing signals a pid that may be reused). */
static int wait_ready(pid_t *pid, const char *path, const char *name, struct o2v_error *err)
{
	int64_t deadline = o2v_now_ms() + HELPER_READY_MS;
	struct stat st;
	int status;

	while (stat(path, &st) < 0) {
		if (waitpid(*pid, &status, WNOHANG) == *pid && (*pid = -1) == -1)
			return o2v_error_set(
			    err, -ECHILD,
			    "helper '%s' exited (status %d) before '%s' "
			    "existed",
			    name, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			    path);
		if (o2v_now_ms() > deadline)
			return o2v_error_set(err, -ETIMEDOUT,
					     "helper '%s' did not create '%s' within %d s", name,
					     path, HELPER_READY_MS / 1000);
		usleep(5000);
	}
	return 0;
}

int o2v_helpers_start(const struct o2v_vm_helper *h, size_t n, const char *netns,
		      const char *log_path, pid_t *ret_pids, struct o2v_error *err)
{
	for (size_t i = 0; i < n; i++)
		ret_pids[i] = -1;
	for (size_t i = 0; i < n; i++) {
		/* One log for all of them, each appending: none overwrites another's words. */
		struct o2v_spawn sp = {
		    .argv = h[i].argv, .log_path = log_path, .log_append = i > 0, .netns = netns};
		pid_t pid = o2v_spawn(&sp, err);
		int r = pid < 0 ? pid : 0;
		if (pid >= 0) {
			ret_pids[i] = pid;
			if (h[i].ready_path)
				r = wait_ready(&ret_pids[i], h[i].ready_path, h[i].argv[0], err);
		}
		if (r < 0) {
			o2v_helpers_stop(ret_pids, n);
			return r;
		}
	}
	return 0;
}

void o2v_helpers_stop(pid_t *pids, size_t n)
{
	int64_t deadline = o2v_now_ms() + HELPER_TERM_MS;
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		if (kill(pids[i], SIGTERM) == 0)
			left++;
		else
			pids[i] = -1; /* already reaped */
	}
	while (left > 0) {
		bool late = o2v_now_ms() > deadline;
		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (pids[i] <= 0)
				continue;
			if (late)
				kill(pids[i], SIGKILL);
			pid_t w = waitpid(pids[i], NULL, late ? 0 : WNOHANG);
			if (w == pids[i] || (w < 0 && errno == ECHILD))
				pids[i] = -1;
			else
				left++;
		}
		if (left)
			usleep(5000);
	}
}
