/* assets.c - see assets.h. */
#include "../common/o2v.h"

#include <elf.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "assets.h"

bool o2v_is_static_elf(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			return false;
		if (ph.p_type == PT_INTERP)
			return false;
	}
	return true;
}

static int usable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* NAME next to the oci2vm binary (the build tree), else in ../libexec/oci2vm (installed);
 * NULL when neither exists or passes ok(). */
static char *find_beside_exe(const char *name, bool (*ok)(const char *path))
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	const char *dir = dirname(exe);
	const char *subdirs[] = {".", "../libexec/oci2vm"};
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		_cleanup_free_ char *sub = o2v_path_join(dir, subdirs[i]);
		char *p = sub ? o2v_path_join(sub, name) : NULL;
		if (p && usable_file(p) && ok(p))
			return p;
		free(p);
	}
	return NULL;
}

int o2v_find_init(char **ret_path, struct o2v_error *err)
{
	const char *env = getenv("OCI2VM_INIT");

	if (env && *env) {
		if (!usable_file(env) || !o2v_is_static_elf(env))
			return o2v_error_set(err, -ENOENT,
					     "OCI2VM_INIT='%s' is not a static executable", env);
		return (*ret_path = strdup(env)) ? 0 : o2v_error_sys(err, -ENOMEM, "find init");
	}
	if ((*ret_path = find_beside_exe("init", o2v_is_static_elf)))
		return 0;
	return o2v_error_set(err, -ENOENT,
			     "cannot find the guest init (bootstrap-init): build it with 'make' "
			     "or set OCI2VM_INIT");
}

/* LD_PRELOAD splits its list at spaces and colons: such a path could not be preloaded. */
static bool preloadable(const char *path)
{
	return !strpbrk(path, " :");
}

char *o2v_find_qemu_net_preload(void)
{
	return find_beside_exe(O2V_QEMU_NET_PRELOAD, preloadable);
}

int o2v_find_busybox(char **ret_path, struct o2v_error *err)
{
	const char *env = getenv("OCI2VM_BUSYBOX");
	const char *path = env && *env ? env : "/bin/busybox";

	*ret_path = NULL;
	if (!usable_file(path)) {
		if (env && *env)
			return o2v_error_set(err, -ENOENT, "OCI2VM_BUSYBOX='%s' does not exist",
					     env);
		return 0;
	}
	if (!o2v_is_static_elf(path)) {
		if (env && *env)
			return o2v_error_set(err, -EINVAL,
					     "OCI2VM_BUSYBOX='%s' is not statically linked", env);
		return 0; /* Debian's dynamic 'busybox' package: no shim rather than a broken one */
	}
	return (*ret_path = strdup(path)) ? 0 : o2v_error_sys(err, -ENOMEM, "find busybox");
}
