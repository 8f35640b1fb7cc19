/* kernel.c - which kernel to boot; see host.h.
 *
 * `make kernel` stores its build under $CACHE/kernel/<key>/vmlinux, key = sha256 of the config
 * fragment and the kernel source version (kernel/build.sh --key). The Makefile embeds the key
 * of the tree this binary was built from, so oci2vm finds exactly the kernel its own fragment
 * describes, and a stale kernel from an older fragment is never picked up silently.
 */
#include "../common/o2v.h"

#include <fcntl.h>
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
	if (!is_elf_x86_64(h, (size_t)n) && !is_bzimage(h, (size_t)n))
		return o2v_error_set(
		    err, -EINVAL,
		    "'%s' is not a kernel: expected an x86-64 ELF vmlinux or a bzImage", path);
	return 0;
}

int o2v_kernel_find(const char *explicit_path, char **ret_path, struct o2v_error *err)
{
	_cleanup_free_ char *cache = NULL, *path = NULL;
	const char *env = getenv("OCI2VM_KERNEL");
	int r;

	if (explicit_path) {
		if ((r = o2v_kernel_check(explicit_path, err)) < 0)
			return o2v_error_prefix(err, "--kernel");
		if (!(*ret_path = strdup(explicit_path)))
			return o2v_error_sys(err, -ENOMEM, "find kernel");
		return 0;
	}
	if (env && *env) {
		if ((r = o2v_kernel_check(env, err)) < 0)
			return o2v_error_prefix(err, "OCI2VM_KERNEL");
		if (!(*ret_path = strdup(env)))
			return o2v_error_sys(err, -ENOMEM, "find kernel");
		return 0;
	}
	if ((r = o2v_cache_dir(&cache, err)) < 0)
		return o2v_error_prefix(err, "find kernel");
	if (asprintf(&path, "%s/kernel/%s/vmlinux", cache, O2V_KERNEL_KEY) < 0) {
		path = NULL;
		return o2v_error_sys(err, -ENOMEM, "find kernel");
	}
	if (access(path, F_OK) < 0)
		return o2v_error_set(err, -ENOENT,
				     "no kernel built for this oci2vm (looked for '%s'): run 'make "
				     "kernel' or set OCI2VM_KERNEL",
				     path);
	if ((r = o2v_kernel_check(path, err)) < 0)
		return r;
	*ret_path = TAKE_PTR(path);
	return 0;
}
