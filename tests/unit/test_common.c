/* test_common.c - error convention, file helpers and path rules of common/. */
#include "../../common/o2v.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../common/error.h"
#include "../../common/fsutil.h"
#include "../../common/paths.h"
#include "../../common/strv.h"
#include "tap.h"

static void test_error(void)
{
	struct o2v_error err = { 0 };
	char longbuf[3000];

	TAP_IS_INT(o2v_error_set(&err, -ENOENT, "image '%s' not found", "x"), -ENOENT,
		   "error_set returns its code");
	TAP_IS_STR(err.msg, "image 'x' not found", "error_set formats");
	o2v_error_prefix(&err, "pull '%s'", "x");
	TAP_IS_STR(err.msg, "pull 'x': image 'x' not found", "error_prefix adds context");
	TAP_IS_INT(o2v_error_set(&err, 5, "positive"), -EIO, "a non-negative code reads as -EIO");
	o2v_error_sys(&err, -EACCES, "open '%s'", "/f");
	TAP_IS_STR(err.msg, "open '/f': Permission denied", "error_sys appends strerror");
	memset(longbuf, 'a', sizeof(longbuf) - 1);
	longbuf[sizeof(longbuf) - 1] = '\0';
	o2v_error_set(&err, -EINVAL, "%s", longbuf);
	o2v_error_prefix(&err, "%s", longbuf);
	TAP_IS_INT(strlen(err.msg), O2V_ERROR_MAX - 1, "over-long messages are cut, not overflowed");
	TAP_IS_INT(o2v_error_set(NULL, -EPERM, "x"), -EPERM, "a NULL error object is allowed");
}

static void test_files(void)
{
	struct o2v_error err = { 0 };
	char dir[] = "/tmp/o2v-test-XXXXXX";
	_cleanup_free_ char *deep = NULL, *file = NULL, *buf = NULL;
	size_t len = 0;
	struct stat st;

	TAP_OK(mkdtemp(dir) != NULL, "mkdtemp");
	deep = o2v_path_join(dir, "a/b/c");
	TAP_IS_INT(o2v_mkdir_p(deep, 0755, &err), 0, "mkdir_p creates a chain");
	TAP_IS_INT(o2v_mkdir_p(deep, 0755, &err), 0, "mkdir_p of an existing dir is fine");
	file = o2v_path_join(deep, "f");
	TAP_IS_INT(o2v_write_file_atomic(file, "hello", 5, 0640, &err), 0, "atomic write");
	TAP_OK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0640, "atomic write sets the mode");
	TAP_IS_INT(o2v_read_file(file, 5, &buf, &len, &err), 0, "read_file at the cap");
	TAP_IS_STR(buf, "hello", "read_file content");
	free(TAKE_PTR(buf));
	TAP_IS_INT(o2v_read_file(file, 4, &buf, &len, &err), -E2BIG, "read_file over the cap");
	TAP_IS_INT(o2v_mkdir_p(file, 0755, &err), -ENOTDIR, "mkdir_p over a file fails");
	TAP_IS_INT(o2v_rm_rf(dir, &err), 0, "rm_rf");
	TAP_OK(stat(dir, &st) < 0 && errno == ENOENT, "rm_rf removed everything");
	TAP_IS_INT(o2v_rm_rf(dir, &err), 0, "rm_rf of a missing path is fine");
	_cleanup_free_ char *j = o2v_path_join("/a//", "//b");
	TAP_IS_STR(j, "/a/b", "path_join folds slashes");
}

static void test_paths(void)
{
	struct o2v_error err = { 0 };
	_cleanup_free_ char *p = NULL;

	setenv("OCI2VM_CACHE", "/x/cache", 1);
	TAP_IS_INT(o2v_cache_dir(&p, &err), 0, "cache dir from OCI2VM_CACHE");
	TAP_IS_STR(p, "/x/cache", "OCI2VM_CACHE wins");
	free(TAKE_PTR(p));
	setenv("OCI2VM_CACHE", "rel", 1);
	TAP_IS_INT(o2v_cache_dir(&p, &err), -EINVAL, "relative OCI2VM_CACHE is refused");
	unsetenv("OCI2VM_CACHE");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	TAP_IS_INT(o2v_cache_dir(&p, &err), 0, "cache dir from XDG_CACHE_HOME");
	TAP_IS_STR(p, "/xdg/oci2vm", "XDG_CACHE_HOME/oci2vm");
	free(TAKE_PTR(p));
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	TAP_IS_INT(o2v_cache_dir(&p, &err), 0, "cache dir from HOME");
	TAP_IS_STR(p, "/home/u/.cache/oci2vm", "~/.cache/oci2vm");
	free(TAKE_PTR(p));
	setenv("OCI2VM_RUNTIME_DIR", "/r", 1);
	TAP_IS_INT(o2v_runtime_dir(&p, &err), 0, "runtime dir override");
	TAP_IS_STR(p, "/r", "OCI2VM_RUNTIME_DIR wins");
}

static void test_write_some(void)
{
	static char big[1 << 20];
	int p[2];

	if (!TAP_OK(pipe(p) == 0, "write_some: a pipe"))
		return;
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	ssize_t n = o2v_write_some(p[1], big, sizeof(big));
	TAP_OK(n > 0 && n < (ssize_t)sizeof(big), "write_some: a full pipe takes part (%zd)", n);
	TAP_IS_INT((int)o2v_write_some(p[1], big, 10), 0, "write_some: then nothing, no error");
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	TAP_IS_INT((int)o2v_write_some(p[1], big, 10), -EPIPE, "write_some: no reader: -EPIPE");
	close(p[1]);
}

static void test_strv(void)
{
	_cleanup_strv_ char **v = NULL;
	char **w = NULL;
	size_t n = 0;

	TAP_IS_INT(o2v_strv_push(&v, "a"), 0, "strv: push onto NULL");
	TAP_IS_INT(o2v_strv_push(&v, ""), 0, "strv: push an empty string");
	TAP_OK(v && !strcmp(v[0], "a") && !strcmp(v[1], "") && !v[2],
	       "strv: ['a', ''], NULL-terminated");
	TAP_IS_INT(o2v_strv_push_len(&w, &n, "abcdef", 3), 0, "strv: push 3 bytes, counted");
	TAP_IS_INT(o2v_strv_push_len(&w, &n, "xyz", 1), 0, "strv: push 1 byte, counted");
	TAP_OK(n == 2 && !strcmp(w[0], "abc") && !strcmp(w[1], "x") && !w[2],
	       "strv: ['abc', 'x'] and the count kept by the caller");
	o2v_strv_free(w);
}

int main(void)
{
	test_error();
	test_strv();
	test_write_some();
	test_files();
	test_paths();
	return tap_done();
}
