/* layer.h - read one layer blob with libarchive and apply it to the tree. */
#ifndef O2V_ROOTFS_LAYER_H
#define O2V_ROOTFS_LAYER_H

#include "rootfs.h"
#include "spool.h"
#include "tree.h"

#define O2V_LAYER_FILE_MAX (1ULL << 40) /* one file in a layer: 1 TiB */

/* Apply src as layer number layer_no (1-based, increasing) to t, spooling
 * regular files' contents into sp. Verifies the uncompressed stream against
 * src->diff_id when given. On failure the tree is in an unspecified state
 * (callers discard it); err names the layer and the entry. */
struct o2v_layer_limits {
	uint64_t unpacked_left; /* of the image's decompressed-size budget; updated */
	uint64_t max_unpacked;	/* the budget, for the message */
	unsigned max_expansion; /* times the compressed size, past O2V_EXPANSION_FLOOR */
};
int o2v_layer_apply(struct o2v_tree *t, struct o2v_spool *sp, const struct o2v_layer_src *src,
		    uint32_t layer_no, struct o2v_layer_limits *lim, struct o2v_error *err);

#endif
