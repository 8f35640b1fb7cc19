/* vmimage.c - see vmimage.h. */
#include "../common/o2v.h"

#include <string.h>

#include "values.h"
#include "vmimage.h"

/* OCI2VM_MAX_UNPACKED (a size) and OCI2VM_MAX_EXPANSION (a ratio) raise or lower the
 * decompression-bomb limits of rootfs.h. */
static int limits_from_env(struct o2v_build_opts *o, struct o2v_error *err)
{
	const char *size = getenv("OCI2VM_MAX_UNPACKED"), *ratio = getenv("OCI2VM_MAX_EXPANSION");
	char *end;

	if (size && *size && o2v_parse_size(size, &o->max_unpacked, err) < 0)
		return o2v_error_prefix(err, "OCI2VM_MAX_UNPACKED");
	if (ratio && *ratio) {
		errno = 0;
		unsigned long v = strtoul(ratio, &end, 10);
		if (errno || *end || v == 0 || v > 1000000)
			return o2v_error_set(err, -EINVAL,
					     "OCI2VM_MAX_EXPANSION='%s': expected a ratio, 1-1000000",
					     ratio);
		o->max_expansion = (unsigned)v;
	}
	return 0;
}

int o2v_vmimage_get(struct o2v_cache *cache, const struct o2v_image *img,
		    const struct o2v_build_opts *opts, char **ret_path, struct o2v_error *err)
{
	struct o2v_layer_src *layers = calloc(img->n_layers + 1, sizeof(*layers));
	struct o2v_build_opts o = *opts;
	int r = 0;

	if (!layers)
		return o2v_error_sys(err, -ENOMEM, "build the VM image");
	if (!o.seed)
		o.seed = img->manifest_digest;
	if ((r = limits_from_env(&o, err)) < 0) {
		free(layers);
		return r;
	}
	for (size_t i = 0; r == 0 && i < img->n_layers; i++) {
		const struct o2v_layer *l = &img->layers[i];
		layers[i] = (struct o2v_layer_src){ .path = o2v_cache_blob_path(cache, l->digest),
						    .media_type = l->media_type,
						    .digest = l->digest,
						    .diff_id = l->diff_id[0] ? l->diff_id : NULL };
		if (!layers[i].path)
			r = o2v_error_set(err, -ENOENT,
					  "layer %s is not in the cache: pull the image again",
					  l->digest);
	}
	if (r == 0)
		r = o2v_rootfs_build_cached(o2v_cache_root(cache), img->manifest_digest, layers,
					    img->n_layers, &o, ret_path, err);
	for (size_t i = 0; i < img->n_layers; i++)
		free((char *)layers[i].path);
	free(layers);
	return r;
}
