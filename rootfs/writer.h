/* writer.h - the two image writers, fed by the merged tree and the spool.
 *
 * Both walk the tree depth-first in name order (parents before children,
 * deterministic inode order) and use node->ino / node->emitted as scratch.
 * Hardlinked nodes are recognised by refs > 1.
 */
#ifndef O2V_ROOTFS_WRITER_H
#define O2V_ROOTFS_WRITER_H

#include "rootfs.h"
#include "spool.h"
#include "tree.h"

#define O2V_CPIO_FILE_MAX 0xffffffffULL /* newc's c_filesize is 32-bit */

/* Write a cpio newc archive of root to fd (gzip-compressed when gzip). */
int o2v_cpio_write(struct o2v_node *root, struct o2v_spool *sp, int fd, bool gzip,
		   struct o2v_error *err);

/* Make an ext4 file system in the (empty, regular) file path/fd and fill it. */
int o2v_ext4_write(struct o2v_tree *t, struct o2v_spool *sp, const char *path, int fd,
		   const struct o2v_build_opts *opts, struct o2v_error *err);

#endif
