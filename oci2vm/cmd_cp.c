/* cmd_cp.c - `oci2vm cp`: files between the host and a running container, as `docker cp`.
 *
 * A tar stream over `exec` (vm.h): the host's tar on one side, the image's tar (BusyBox's
 * or GNU's) on the other, so the copy keeps modes, links and directories. DEST is a
 * directory to copy into, or the new name of the copy (its parent must exist), as Docker's.
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../common/fsutil.h"
#include "../common/muxproto.h"
#include "../vm/vm.h"
#include "cli.h"
#include "commands.h"
#include "vmcli.h"

/* In the guest: unpack stdin into $1 (a directory), or as $1 (a new name for $2). */
static const char unpack_script[] =
    "if [ -d \"$1\" ]; then exec tar -xf - -C \"$1\"; fi; "
    "t=$(mktemp -d \"$(dirname \"$1\")/.oci2vm-cp.XXXXXX\") || exit 1; "
    "tar -xf - -C \"$t\" && mv \"$t/$2\" \"$1\"; r=$?; rm -rf \"$t\"; exit $r";

/* "NAME:PATH" → name and path; NULL when spec is a host path (no ':' before any '/'). */
static char *split_container(const char *spec, const char **path)
{
	const char *colon = strchr(spec, ':'), *slash = strchr(spec, '/');

	if (!colon || (slash && slash < colon) || colon == spec)
		return NULL;
	*path = colon + 1;
	return strndup(spec, (size_t)(colon - spec));
}

/* Run argv on the host with stdin/stdout as given (-1: /dev/null); its pid. */
static pid_t host_tar(char **argv, int in, int out, struct o2v_error *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return o2v_error_sys(err, -errno, "cp: start tar");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(in >= 0 ? in : null, STDIN_FILENO);
		dup2(out >= 0 ? out : null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_ok(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int exec_in(const char *dir, struct o2v_mux_exec *req, int in, int out, int *code,
		   struct o2v_error *err)
{
	struct o2v_exec_io io = {.in_fd = in, .out_fd = out, .err_fd = STDERR_FILENO};
	struct o2v_exec_result res;
	int r = o2v_vm_exec(dir, req, &io, &res, err);

	if (r < 0)
		return r;
	if (res.message[0])
		return o2v_error_set(err, -ENOEXEC, "%s (cp needs tar in the image)", res.message);
	*code = res.code;
	return 0;
}

/* host → container: tar -c on the host, the unpack script in the guest. */
static int to_container(const char *dir, const char *src, const char *dest, struct o2v_error *err)
{
	_cleanup_free_ char *s1 = strdup(src), *s2 = strdup(src);
	int p[2], code = 0, r;
	struct stat st;

	if (!s1 || !s2)
		return o2v_error_sys(err, -ENOMEM, "cp");
	if (lstat(src, &st) < 0)
		return o2v_error_sys(err, -errno, "cp: '%s'", src);
	char *tar_argv[] = {(char *)"tar", (char *)"-cf", (char *)"-", (char *)"-C",
			    dirname(s1),   basename(s2),  NULL};
	struct o2v_mux_exec req = {.argv = {"sh", "-c", unpack_script, "sh", dest, basename(s2)},
				   .stdin_open = true};
	if (pipe2(p, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "cp");
	pid_t pid = host_tar(tar_argv, -1, p[1], err);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pid;
	}
	r = exec_in(dir, &req, p[0], STDOUT_FILENO, &code, err);
	close(p[0]);
	if (wait_ok(pid) < 0 && r == 0)
		return o2v_error_set(err, -EIO, "cp: tar could not read '%s'", src);
	if (r == 0 && code != 0)
		return o2v_error_set(err, -EIO, "cp: could not write '%s' in the container", dest);
	return r;
}

/* container → host: tar -c in the guest, tar -x into a temporary directory here, then the
 * copy moves into DEST (a directory) or becomes DEST. */
static int from_container(const char *dir, const char *src, const char *dest, struct o2v_error *err)
{
	_cleanup_free_ char *s1 = strdup(src), *s2 = strdup(src), *d1 = strdup(dest);
	_cleanup_free_ char *tmp = NULL, *from = NULL, *to = NULL;
	int p[2], code = 0, r;
	struct stat st;

	if (!s1 || !s2 || !d1)
		return o2v_error_sys(err, -ENOMEM, "cp");
	bool into = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
	if (asprintf(&tmp, "%s/.oci2vm-cp.XXXXXX", into ? dest : dirname(d1)) < 0 || !mkdtemp(tmp))
		return o2v_error_sys(err, -errno, "cp: a temporary directory beside '%s'", dest);
	char *tar_argv[] = {(char *)"tar", (char *)"-xf", (char *)"-",
			    (char *)"-C",  tmp,		  (char *)"--no-same-owner",
			    NULL};
	struct o2v_mux_exec req = {.argv = {"tar", "-cf", "-", "-C", dirname(s1), basename(s2)}};
	if (pipe2(p, O_CLOEXEC) < 0) {
		rmdir(tmp);
		return o2v_error_sys(err, -errno, "cp");
	}
	pid_t pid = host_tar(tar_argv, p[0], -1, err);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		rmdir(tmp);
		return pid;
	}
	r = exec_in(dir, &req, -1, p[1], &code, err);
	close(p[1]);
	bool untar = wait_ok(pid) == 0;
	if (r == 0 && code != 0)
		r = o2v_error_set(err, -ENOENT, "cp: could not read '%s' in the container", src);
	else if (r == 0 && !untar)
		r = o2v_error_set(err, -EIO, "cp: could not write into '%s'", dest);
	if (r == 0 && (asprintf(&from, "%s/%s", tmp, basename(s2)) < 0 ||
		       asprintf(&to, "%s/%s", dest, basename(s2)) < 0))
		r = o2v_error_sys(err, -ENOMEM, "cp");
	if (r == 0 && rename(from, into ? to : dest) < 0)
		r = o2v_error_sys(err, -errno, "cp: move the copy to '%s'", into ? to : dest);
	o2v_rm_rf(tmp, NULL);
	return r;
}

int cmd_cp(int argc, char **argv)
{
	struct o2v_error err = {0};
	const char *src_path = NULL, *dst_path = NULL;
	struct o2v_vm vm;
	int r;

	if (argc != 3 || argv[1][0] == '-')
		return o2v_cli_usage_error("cp", "expected SRC DEST, one of them NAME:PATH");
	_cleanup_free_ char *src_vm = split_container(argv[1], &src_path);
	_cleanup_free_ char *dst_vm = split_container(argv[2], &dst_path);
	if (!src_vm == !dst_vm)
		return o2v_cli_usage_error("cp", "exactly one of SRC and DEST is NAME:PATH");
	const char *cpath = src_vm ? src_path : dst_path;
	if (cpath[0] != '/')
		return o2v_cli_usage_error("cp", "'%s': the container's path must be absolute",
					   cpath);
	if ((r = o2v_vmcli_load_running(src_vm ? src_vm : dst_vm, &vm)) != 0)
		return r;
	r = src_vm ? from_container(vm.dir, src_path, argv[2], &err)
		   : to_container(vm.dir, argv[1], dst_path, &err);
	o2v_vm_release(&vm);
	if (r < 0) {
		o2v_cli_error("%s", err.msg);
		return 1;
	}
	return O2V_EXIT_OK;
}
