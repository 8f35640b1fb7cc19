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
	const char *media_type;	/* may be NULL: compression is sniffed from magic bytes */
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
	uint64_t size;		    /* ext4 only: image size in bytes; 0 = from content + headroom */
	const char *init_path;	    /* bootstrap-init binary placed at /init */
	const char *busybox_path;   /* static busybox placed at /bin/busybox (NULL: none) */
	const char *runconfig;	    /* text for /.oci2vm/run.conf (NULL: none) */
	const char *seed;	    /* e.g. the manifest digest: fixes UUID/hash seed */
	int64_t epoch;		    /* mtime of what oci2vm itself adds (reproducibility) */
};

/* Build the image at out_path (atomically). */
int o2v_rootfs_build(const struct o2v_layer_src *layers, size_t n_layers,
		     const struct o2v_build_opts *opts, const char *out_path, struct o2v_error *err);

#endif
