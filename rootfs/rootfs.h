/* rootfs.h - public interface of the rootfs module.
 *
 * Flattens an image's layers (in order, OCI changeset rules) into a VM
 * image: the container's root under /app_root, plus /init, /bin/busybox
 * and /.oci2vm/run.conf. Works without root: ownership, modes, device
 * nodes and xattrs come from the layers, never from who runs it.
 * Nothing here prints. The output file is written atomically: on failure
 * nothing is left at out_path.
 */
#ifndef O2V_ROOTFS_H
#define O2V_ROOTFS_H

#include <stdint.h>

#include "../common/error.h"

/* One layer blob on disk (usually a verified blob in the registry cache). */
struct o2v_layer_src {
	const char *path;	/* compressed or plain tar */
	const char *media_type; /* may be NULL: compression is sniffed from magic bytes */
	const char *digest;	/* for error messages ("layer sha256:ab12...: entry 'x': ...") */
	const char *diff_id;	/* expected digest of the uncompressed tar, or NULL to skip */
};

enum o2v_image_format {
	O2V_FORMAT_EXT4,
	O2V_FORMAT_CPIO,
	O2V_FORMAT_CPIO_GZ,
};

struct o2v_build_opts {
	enum o2v_image_format format;
	uint64_t size;		  /* ext4 only: image size in bytes; 0 = from content + headroom */
	const char *init_path;	  /* bootstrap-init binary placed at /init */
	const char *busybox_path; /* static busybox placed at /bin/busybox (NULL: none) */
	const char *runconfig;	  /* text for /.oci2vm/run.conf (NULL: none) */
	const char *seed;	  /* e.g. the manifest digest: fixes UUID/hash seed */
	int64_t epoch;		  /* mtime of what oci2vm itself adds (reproducibility) */
	const char *tmp_dir;	  /* where the content spool goes (NULL: out_path's directory) */
	/* Decompression-bomb limits (0: the defaults below): all layers together unpack to at
	 * most max_unpacked bytes, and a layer past O2V_EXPANSION_FLOOR bytes to at most
	 * max_expansion times its compressed size. */
	uint64_t max_unpacked;
	unsigned max_expansion;
};

#define O2V_MAX_UNPACKED_DEFAULT  (64ull << 30) /* 64 GiB: larger than any image we know */
#define O2V_MAX_EXPANSION_DEFAULT 200	       /* gzip of real files: 2-10x; zeros: 1000x */
#define O2V_EXPANSION_FLOOR	  (64ull << 20)  /* small layers may compress very well */

/* Build the image at out_path (atomically). */
int o2v_rootfs_build(const struct o2v_layer_src *layers, size_t n_layers,
		     const struct o2v_build_opts *opts, const char *out_path,
		     struct o2v_error *err);

/* File name extension of a format ("ext4", "cpio", "cpio.gz"). */
const char *o2v_format_ext(enum o2v_image_format f);
/* Parse "ext4"/"img", "cpio", "cpio.gz" (-EINVAL otherwise). */
int o2v_format_parse(const char *s, enum o2v_image_format *ret, struct o2v_error *err);
/* Format from an output file name's extension (.ext4, .img, .cpio, .cpio.gz); -EINVAL if none. */
int o2v_format_from_path(const char *path, enum o2v_image_format *ret, struct o2v_error *err);

/* The cache of built VM images: CACHE/vmimages/KEY.EXT, where KEY hashes the
 * manifest digest, the format, the size, and the sha256 of the init binary,
 * the busybox binary and the run.conf text (everything the bytes depend on).
 * o2v_vmimage_path returns the (malloc'ed) path whether or not it exists. */
int o2v_vmimage_path(const char *cache_dir, const char *manifest_digest,
		     const struct o2v_build_opts *opts, char **ret_path, struct o2v_error *err);

/* Return the cached image for manifest_digest, building it first if absent
 * (layers are not even opened on a hit). Returns 1 on a cache hit, 0 after a
 * build; *ret_path is malloc'ed. Concurrent builders are safe: each writes a
 * temporary file and renames it into place. */
int o2v_rootfs_build_cached(const char *cache_dir, const char *manifest_digest,
			    const struct o2v_layer_src *layers, size_t n_layers,
			    const struct o2v_build_opts *opts, char **ret_path,
			    struct o2v_error *err);

#endif
