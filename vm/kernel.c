/* kernel.c - which kernel to boot; see host.h.
 *
 * An installed oci2vm boots the kernel installed with it (PREFIX/lib/oci2vm/vmlinux, found
 * relative to the binary), so it works for any user, HOME and OCI2VM_CACHE. A binary run
 * from the build tree boots the build's kernel: `make kernel` stores it under
 * $CACHE/kernel/<key>/vmlinux, key = sha256 of the config fragment, the patches and the
 * kernel source version (kernel/build.sh --key), and links it as BUILD/vmlinux. The Makefile
 * embeds the key and the build directory, so the build tree finds exactly the kernel its
 * own fragment describes, and a stale kernel from an older fragment is never picked up.
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "../common/paths.h"
#include "kernel_key.h"
#include "host.h"

/* Enough for the ELF header and the bzImage setup header (magic at 0x202). */
#define O2V_KERNEL_HEADER 0x210

static bool is_elf_x86_64(const unsigned char *h, size_t n)
{
	/* e_ident: magic, class 2 (64-bit), data 1 (little endian); e_machine 62 (x86-64). */
	return n >= 20 && !memcmp(h, "\177ELF", 4) && h[4] == 2 && h[5] == 1 && h[18] == 62 &&
	       h[19] == 0;
}

static bool is_bzimage(const unsigned char *h, size_t n)
{
	return n >= 0x206 && h[0x1fe] == 0x55 && h[0x1ff] == 0xaa && !memcmp(h + 0x202, "HdrS", 4);
}

int o2v_kernel_check(const char *path, struct o2v_error *err)
{
	unsigned char h[O2V_KERNEL_HEADER];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return o2v_error_sys(err, -errno, "open kernel '%s'", path);
	if (fstat(fd, &st) < 0)
		return o2v_error_sys(err, -errno, "stat kernel '%s'", path);
	if (!S_ISREG(st.st_mode))
		return o2v_error_set(err, -EINVAL, "kernel '%s' is not a regular file", path);
	n = O2V_RETRY(pread(fd, h, sizeof(h), 0));
	if (n < 0)
		return o2v_error_sys(err, -errno, "read kernel '%s'", path);
	if (n >= 20 && !memcmp(h, "\177ELF", 4) && !is_elf_x86_64(h, (size_t)n))
		return o2v_error_set(err, -EINVAL,
				     "'%s' is a kernel or program for another architecture (ELF "
				     "class %u, machine %u): oci2vm boots x86-64 kernels",
				     path, h[4], (unsigned)(h[18] | h[19] << 8));
	if (!is_elf_x86_64(h, (size_t)n) && !is_bzimage(h, (size_t)n))
		return o2v_error_set(
		    err, -EINVAL,
		    "'%s' is not a kernel: expected an x86-64 ELF vmlinux or a bzImage", path);
	return 0;
}

static int found(const char *path, const char *how, char **ret_path, const char **ret_how,
		 struct o2v_error *err)
{
	if (!(*ret_path = strdup(path)))
		return o2v_error_sys(err, -ENOMEM, "find kernel");
	if (ret_how)
		*ret_how = how;
	return 0;
}

/* The directory of the running binary (malloc'ed), NULL if unknown. */
static char *exe_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	return strdup(dirname(exe));
}

/* A build tree's binary: the directory `make` built it in (embedded at build time). */
static bool in_build_tree(const char *dir)
{
	char real[PATH_MAX];

	return realpath(dir, real) && !strcmp(real, O2V_BUILD_DIR);
}

/* The build's kernel: `make kernel` links it as BUILD/vmlinux; else this user's cache. */
static int find_build_kernel(const char *dir, char **ret_path, const char **ret_how,
			     struct o2v_error *err)
{
	_cleanup_free_ char *link = o2v_path_join(dir, O2V_KERNEL_FILE), *cache = NULL,
			    *path = NULL;

	if (link && access(link, R_OK) == 0)
		return o2v_kernel_check(link, err) < 0
			   ? err->code
			   : found(link, "the build tree's, from make kernel", ret_path, ret_how,
				   err);
	if (o2v_cache_dir(&cache, err) < 0)
		return o2v_error_prefix(err, "find kernel");
	if (asprintf(&path, "%s/kernel/%s/vmlinux", cache, O2V_KERNEL_KEY) < 0) {
		path = NULL;
		return o2v_error_sys(err, -ENOMEM, "find kernel");
	}
	if (access(path, F_OK) < 0)
		return o2v_error_set(
		    err, -ENOENT,
		    "no kernel built for this oci2vm (looked for '%s' and '%s'): run "
		    "'make kernel' or set OCI2VM_KERNEL",
		    link ? link : O2V_KERNEL_FILE, path);
	if (o2v_kernel_check(path, err) < 0)
		return err->code;
	return found(path, "this user's cached make kernel build", ret_path, ret_how, err);
}

int o2v_kernel_locate(const char *explicit_path, char **ret_path, const char **ret_how,
		      struct o2v_error *err)
{
	const char *env = getenv("OCI2VM_KERNEL");
	_cleanup_free_ char *dir = NULL, *installed = NULL;

	if (explicit_path)
		return o2v_kernel_check(explicit_path, err) < 0
			   ? o2v_error_prefix(err, "--kernel")
			   : found(explicit_path, "--kernel", ret_path, ret_how, err);
	if (env && *env)
		return o2v_kernel_check(env, err) < 0
			   ? o2v_error_prefix(err, "OCI2VM_KERNEL")
			   : found(env, "OCI2VM_KERNEL", ret_path, ret_how, err);
	if (!(dir = exe_dir()))
		return o2v_error_sys(err, -errno, "find kernel: where is this oci2vm");
	if (in_build_tree(dir))
		return find_build_kernel(dir, ret_path, ret_how, err);
	if (!(installed = o2v_path_join(dir, O2V_KERNEL_INSTALLED)))
		return o2v_error_sys(err, -ENOMEM, "find kernel");
	if (access(installed, F_OK) < 0)
		return o2v_error_set(err, -ENOENT,
				     "no kernel installed with this oci2vm (looked for '%s'): "
				     "reinstall it ('make install', or its package), run 'make "
				     "kernel' in a source tree, or set OCI2VM_KERNEL",
				     installed);
	if (o2v_kernel_check(installed, err) < 0)
		return o2v_error_prefix(err, "the installed kernel is damaged, reinstall oci2vm");
	char real[PATH_MAX];
	return found(realpath(installed, real) ? real : installed, "installed with oci2vm",
		     ret_path, ret_how, err);
}

int o2v_kernel_find(const char *explicit_path, char **ret_path, struct o2v_error *err)
{
	return o2v_kernel_locate(explicit_path, ret_path, NULL, err);
}
