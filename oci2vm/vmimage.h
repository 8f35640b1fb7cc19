/* vmimage.h - from a pulled image to its VM image, through the VM-image cache.
 *
 * What `run` and `export` share: the image's layer blobs in the registry
 * cache become the layer list rootfs/ flattens; an unchanged image is
 * served from CACHE/vmimages without reading a layer.
 */
#ifndef O2V_VMIMAGE_H
#define O2V_VMIMAGE_H

#include "../registry/registry.h"
#include "../rootfs/rootfs.h"

/* opts->seed defaults to the manifest digest. *ret_path is malloc'ed.
 * Returns 1 on a cache hit, 0 after a build. */
int o2v_vmimage_get(struct o2v_cache *cache, const struct o2v_image *img,
		    const struct o2v_build_opts *opts, char **ret_path, struct o2v_error *err);

#endif
