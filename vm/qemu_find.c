/* qemu_find.c - where QEMU is; see host.h. */
#include "../common/o2v.h"

#include <string.h>
#include <sys/stat.h>

#include "host.h"
#include "qemu.h"

char *o2v_find_in_path(const char *name)
{
	const char *path_env = getenv("PATH");
	_cleanup_free_ char *path_copy = strdup(path_env && *path_env ? path_env : "/usr/bin:/bin");
	char *save = NULL;

	for (char *dir = path_copy ? strtok_r(path_copy, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char *cand = NULL;
		struct stat st;

		if (asprintf(&cand, "%s/%s", dir, name) < 0)
			return NULL;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
	}
	return NULL;
}

int o2v_qemu_find(const char *explicit_path, char **ret_path, struct o2v_error *err)
{
	if (explicit_path) {
		if (access(explicit_path, X_OK) < 0)
			return o2v_error_sys(err, -errno, "qemu '%s'", explicit_path);
		if (!(*ret_path = strdup(explicit_path)))
			return o2v_error_sys(err, -ENOMEM, "find qemu");
		return 0;
	}
	if ((*ret_path = o2v_find_in_path(O2V_QEMU_BINARY)))
		return 0;
	return o2v_error_set(err, -ENOENT,
			     "'" O2V_QEMU_BINARY "' not found in PATH: install the Debian package "
			     "'" O2V_QEMU_PACKAGE "' (apt-get install " O2V_QEMU_PACKAGE ")");
}
