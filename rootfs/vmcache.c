/* vmcache.c - image formats and the cache of built VM images (rootfs.h). */
#include "../common/o2v.h"

#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "hash.h"
#include "rootfs.h"

#define VMIMAGE_KEY_VERSION 2 /* bump when the writers' output changes */

static const char *const format_ext[] = {
    [O2V_FORMAT_EXT4] = "ext4",
    [O2V_FORMAT_CPIO] = "cpio",
    [O2V_FORMAT_CPIO_GZ] = "cpio.gz",
};

const char *o2v_format_ext(enum o2v_image_format f)
{
	return (size_t)f < ARRAY_SIZE(format_ext) ? format_ext[f] : "img";
}

int o2v_format_parse(const char *s, enum o2v_image_format *ret, struct o2v_error *err)
{
	if (!strcmp(s, "img")) {
		*ret = O2V_FORMAT_EXT4;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(format_ext); i++)
		if (!strcmp(s, format_ext[i])) {
			*ret = (enum o2v_image_format)i;
			return 0;
		}
	return o2v_error_set(err, -EINVAL, "unknown image format '%s' (use ext4, cpio or cpio.gz)",
			     s);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && !strcmp(s + a - b, suffix);
}

int o2v_format_from_path(const char *path, enum o2v_image_format *ret, struct o2v_error *err)
{
	if (ends_with(path, ".cpio.gz"))
		*ret = O2V_FORMAT_CPIO_GZ;
	else if (ends_with(path, ".cpio"))
		*ret = O2V_FORMAT_CPIO;
	else if (ends_with(path, ".ext4") || ends_with(path, ".img"))
		*ret = O2V_FORMAT_EXT4;
	else
		return o2v_error_set(err, -EINVAL,
				     "cannot tell the format of '%s' from its name; use "
				     "--format ext4|cpio|cpio.gz",
				     path);
	return 0;
}

static int hash_line_file(struct o2v_sha256 *h, const char *label, const char *path,
			  struct o2v_error *err)
{
	char hex[O2V_SHA256_HEX] = "none";
	char line[128];

	if (path) {
		int r = o2v_sha256_file(path, hex, err);
		if (r < 0)
			return r;
	}
	snprintf(line, sizeof(line), "%s %s\n", label, hex);
	o2v_sha256_update(h, line, strlen(line));
	return 0;
}

int o2v_vmimage_path(const char *cache_dir, const char *manifest_digest,
		     const struct o2v_build_opts *opts, char **ret_path, struct o2v_error *err)
{
	struct o2v_sha256 *h = o2v_sha256_new(), *rc = o2v_sha256_new();
	char key[O2V_SHA256_HEX], rc_hex[O2V_SHA256_HEX] = "none", *path;
	char line[512];
	int r;

	if (!h || !rc) {
		o2v_sha256_free(h);
		o2v_sha256_free(rc);
		return o2v_error_sys(err, -ENOMEM, "vm image cache key");
	}
	snprintf(line, sizeof(line),
		 "oci2vm-vmimage %d\nmanifest %s\nformat %s\nsize %llu\n"
		 "epoch %lld\nseed %s\n",
		 VMIMAGE_KEY_VERSION, manifest_digest, o2v_format_ext(opts->format),
		 (unsigned long long)opts->size, (long long)opts->epoch,
		 opts->seed ? opts->seed : "");
	o2v_sha256_update(h, line, strlen(line));
	if (opts->runconfig) {
		o2v_sha256_update(rc, opts->runconfig, strlen(opts->runconfig));
		o2v_sha256_final(TAKE_PTR(rc), rc_hex);
	}
	o2v_sha256_free(rc);
	snprintf(line, sizeof(line), "runconfig %s\n", rc_hex);
	o2v_sha256_update(h, line, strlen(line));
	r = hash_line_file(h, "init", opts->init_path, err);
	if (r == 0)
		r = hash_line_file(h, "busybox", opts->busybox_path, err);
	if (r < 0) {
		o2v_sha256_free(h);
		return r;
	}
	o2v_sha256_final(h, key);
	if (asprintf(&path, "%s/vmimages/%s.%s", cache_dir, key, o2v_format_ext(opts->format)) < 0)
		return o2v_error_sys(err, -ENOMEM, "vm image cache key");
	*ret_path = path;
	return 0;
}

int o2v_rootfs_build_cached(const char *cache_dir, const char *manifest_digest,
			    const struct o2v_layer_src *layers, size_t n_layers,
			    const struct o2v_build_opts *opts, char **ret_path,
			    struct o2v_error *err)
{
	_cleanup_free_ char *path = NULL, *dir = NULL;
	struct stat st;
	int r = o2v_vmimage_path(cache_dir, manifest_digest, opts, &path, err);

	if (r < 0)
		return r;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*ret_path = TAKE_PTR(path);
		return 1;
	}
	dir = o2v_path_join(cache_dir, "vmimages");
	if (!dir)
		return o2v_error_sys(err, -ENOMEM, "vm image cache");
	r = o2v_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	r = o2v_rootfs_build(layers, n_layers, opts, path, err);
	if (r < 0)
		return r;
	*ret_path = TAKE_PTR(path);
	return 0;
}
