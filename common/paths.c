/* paths.c - see paths.h. */
#include "o2v.h"

#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"

static int absolute_or_fail(const char *var, const char *val, struct o2v_error *err)
{
	if (val[0] != '/')
		return o2v_error_set(err, -EINVAL, "%s must be an absolute path, got '%s'", var,
				     val);
	return 0;
}

static int dup_path(char **ret, const char *fmt, const char *a, const char *b,
		    struct o2v_error *err)
{
	if (asprintf(ret, fmt, a, b) < 0)
		return o2v_error_sys(err, -ENOMEM, "build path");
	return 0;
}

int o2v_cache_dir(char **ret_path, struct o2v_error *err)
{
	const char *v = getenv("OCI2VM_CACHE");
	int r;

	if (v && *v) {
		if ((r = absolute_or_fail("OCI2VM_CACHE", v, err)) < 0)
			return r;
		return dup_path(ret_path, "%s%s", v, "", err);
	}
	v = getenv("XDG_CACHE_HOME");
	if (v && *v && v[0] == '/')
		return dup_path(ret_path, "%s/%s", v, "oci2vm", err);
	v = getenv("HOME");
	if (!v || v[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		v = pw ? pw->pw_dir : NULL;
	}
	if (!v || v[0] != '/')
		return o2v_error_set(err, -ENOENT,
				     "cannot find a cache directory: set OCI2VM_CACHE or HOME");
	return dup_path(ret_path, "%s/%s", v, ".cache/oci2vm", err);
}

int o2v_runtime_dir(char **ret_path, struct o2v_error *err)
{
	const char *v = getenv("OCI2VM_RUNTIME_DIR");
	int r;

	if (v && *v) {
		if ((r = absolute_or_fail("OCI2VM_RUNTIME_DIR", v, err)) < 0)
			return r;
		return dup_path(ret_path, "%s%s", v, "", err);
	}
	v = getenv("XDG_RUNTIME_DIR");
	if (v && *v && v[0] == '/')
		return dup_path(ret_path, "%s/%s", v, "oci2vm", err);
	/* A shared /tmp: another user may have made the directory first, to read or swap
	 * what we put there. Ours must be ours alone. */
	char *path;
	struct stat st;
	if (asprintf(&path, "/tmp/oci2vm-%u", (unsigned)getuid()) < 0)
		return o2v_error_sys(err, -ENOMEM, "build path");
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		r = o2v_error_sys(err, -errno, "create '%s'", path);
		free(path);
		return r;
	}
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077)) {
		r = o2v_error_set(err, -EPERM,
				  "'%s' is not a private directory of this user: remove it, or set "
				  "XDG_RUNTIME_DIR or OCI2VM_RUNTIME_DIR",
				  path);
		free(path);
		return r;
	}
	*ret_path = path;
	return 0;
}
