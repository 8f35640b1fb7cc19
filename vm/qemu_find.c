/* qemu_find.c - where QEMU is; see host.h. */
#include "../common/o2v.h"

#include <string.h>
#include <sys/stat.h>

#include "host.h"
#include "qemu.h"

int o2v_qemu_find(const char *explicit_path, char **ret_path, struct o2v_error *err)
{
	const char *path_env = getenv("PATH");
	_cleanup_free_ char *path_copy = NULL;
	char *save = NULL;

	if (explicit_path) {
		if (access(explicit_path, X_OK) < 0)
			return o2v_error_sys(err, -errno, "qemu '%s'", explicit_path);
		if (!(*ret_path = strdup(explicit_path)))
			return o2v_error_sys(err, -ENOMEM, "find qemu");
		return 0;
	}
	if (!(path_copy = strdup(path_env && *path_env ? path_env : "/usr/bin:/bin")))
		return o2v_error_sys(err, -ENOMEM, "find qemu");
	for (char *dir = strtok_r(path_copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = NULL;
		struct stat st;

		if (asprintf(&cand, "%s/%s", dir, O2V_QEMU_BINARY) < 0)
			return o2v_error_sys(err, -ENOMEM, "find qemu");
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			*ret_path = TAKE_PTR(cand);
			return 0;
		}
	}
	return o2v_error_set(err, -ENOENT,
			     "'" O2V_QEMU_BINARY "' not found in PATH: install the Debian package "
			     "'" O2V_QEMU_PACKAGE "' (apt-get install " O2V_QEMU_PACKAGE ")");
}
