/* test_vm_spawn.c - how the VM library starts the processes it owns (vm/spawn.c,
 * vm/helpers.c): only the descriptors passed reach them, they start in the network
 * namespace asked for, helpers are waited for and ended. */
#include "../../common/o2v.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../common/fsutil.h"
#include "../../vm/helpers.h"
#include "../../vm/spawn.h"
#include "tap.h"

static char sh[] = "sh", dash_c[] = "-c";

/* Run `sh -c script` through o2v_spawn, wait, return its exit status (-1: not started). */
static int spawn_wait(struct o2v_spawn *sp, char *script, struct o2v_error *err)
{
	char *argv[] = {sh, dash_c, script, NULL};
	int st;

	sp->argv = argv;
	pid_t pid = o2v_spawn(sp, err);
	if (pid < 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_descriptors(const char *dir)
{
	_cleanup_free_ char *log = o2v_path_join(dir, "fds.log"), *text = NULL;
	struct o2v_error err = {0};
	int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int leaked = open("/dev/null", O_RDONLY); /* what a careless caller leaves open */
	char script[128], want[32], unwanted[32];
	int pass[] = {passed};

	snprintf(script, sizeof(script), "ls /proc/$$/fd");
	struct o2v_spawn sp = {.log_path = log, .pass_fds = pass, .n_pass_fds = 1};
	TAP_IS_INT(spawn_wait(&sp, script, &err), 0, "spawn: runs (%s)", err.msg);
	o2v_read_file(log, 4096, &text, NULL, NULL);
	snprintf(want, sizeof(want), "\n%d\n", passed);
	snprintf(unwanted, sizeof(unwanted), "\n%d\n", leaked);
	TAP_OK(text && strstr(text, want), "spawn: a passed descriptor (%d) stays open", passed);
	TAP_OK(text && !strstr(text, unwanted), "spawn: an inherited one (%d) does not", leaked);

	int bad[] = {1};
	sp = (struct o2v_spawn){.pass_fds = bad, .n_pass_fds = 1};
	TAP_IS_INT(spawn_wait(&sp, script, &err), -1, "spawn: passing stdout's number refused");
	TAP_OK(strstr(err.msg, "descriptor 1"), "spawn: ... naming it (%s)", err.msg);
	close(passed);
	close(leaked);
}

static void test_netns(const char *dir)
{
	_cleanup_free_ char *log = o2v_path_join(dir, "ns.log"), *text = NULL;
	struct o2v_error err = {0};
	char name[64], path[128], cmd[160], script[] = "stat -L -c %i /proc/self/ns/net";
	struct stat st;

	struct o2v_spawn sp = {.netns = "/run/netns/o2v-no-such-ns"};
	TAP_IS_INT(spawn_wait(&sp, script, &err), -1, "netns: a missing namespace is an error");
	TAP_OK(strstr(err.msg, "o2v-no-such-ns"), "netns: ... naming it (%s)", err.msg);

	snprintf(name, sizeof(name), "o2v-test-%d", (int)getpid());
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	snprintf(cmd, sizeof(cmd), "ip netns add %s 2>/dev/null", name);
	if (geteuid() != 0 || system(cmd) != 0 || stat(path, &st) < 0) {
		tap_ok(1, "netns: # SKIP needs root and ip netns");
		return;
	}
	sp = (struct o2v_spawn){.netns = path, .log_path = log};
	TAP_IS_INT(spawn_wait(&sp, script, &err), 0, "netns: runs inside (%s)", err.msg);
	o2v_read_file(log, 4096, &text, NULL, NULL);
	TAP_OK(text && strtoull(text, NULL, 10) == (unsigned long long)st.st_ino,
	       "netns: the child's network namespace is the one asked for");
	snprintf(cmd, sizeof(cmd), "ip netns delete %s", name);
	if (system(cmd) != 0)
		tap_diag("could not delete the test namespace");
}

static void test_helpers(const char *dir)
{
	_cleanup_free_ char *ready = o2v_path_join(dir, "ready"),
			    *log = o2v_path_join(dir, "h.log");
	char script[256], quick[] = "exit 3";
	struct o2v_error err = {0};
	pid_t pids[2];

	snprintf(script, sizeof(script),
		 "trap 'exit 0' TERM; touch %s; while :; do sleep 0.05; done", ready);
	char *argv_ok[] = {sh, dash_c, script, NULL}, *argv_dies[] = {sh, dash_c, quick, NULL};
	struct o2v_vm_helper h[2] = {{argv_ok, ready}, {argv_dies, NULL}};

	TAP_IS_INT(o2v_helpers_start(h, 1, NULL, log, pids, &err), 0, "helpers: started (%s)",
		   err.msg);
	TAP_OK(access(ready, F_OK) == 0 && kill(pids[0], 0) == 0,
	       "helpers: its ready file exists and it runs");
	pid_t was = pids[0];
	o2v_helpers_stop(pids, 1);
	TAP_OK(pids[0] == -1 && kill(was, 0) < 0 && errno == ESRCH, "helpers: stopped and reaped");

	unlink(ready);
	h[0].ready_path = ready;
	h[1].ready_path = ready; /* never created: the second dies first */
	h[0].argv = argv_dies;
	TAP_OK(o2v_helpers_start(h, 1, NULL, log, pids, &err) < 0 && strstr(err.msg, "exited"),
	       "helpers: one that exits before it is ready is an error (%s)", err.msg);
	TAP_OK(pids[0] == -1, "helpers: ... and nothing is left running");
}

int main(void)
{
	char dir[] = "/tmp/test_vm_spawn.XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	test_descriptors(dir);
	test_netns(dir);
	test_helpers(dir);
	o2v_rm_rf(dir, NULL);
	return tap_done();
}
