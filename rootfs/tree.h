/* tree.h - the merged file tree of an image, in memory, metadata only.
 *
 * A node is one file-system object (an inode): type, mode, owner, times,
 * device number, xattrs, symlink target, and for regular files a reference
 * (offset, length) into the content spool (spool.h) - contents are never held
 * in memory. A directory node owns a name-sorted array of dentries; a
 * non-directory node may be reachable from several dentries (hardlinks) and is
 * reference counted. Directories know their parent so that ".." in symlink
 * targets resolves like chroot(2): ".." at the root stays at the root.
 *
 * Layer application (OCI changeset rules) is expressed as four operations:
 * o2v_tree_add (create or replace a path), o2v_tree_link (hardlink),
 * o2v_tree_whiteout and o2v_tree_opaque. Paths are split and checked by
 * o2v_tree_split_path: a ".." component is REJECTED rather than clamped
 * (like containers/storage and go-containerregistry): no legitimate layer
 * needs one, and rejecting cannot silently put a file somewhere unexpected.
 * Intermediate symlinks inside the image ARE followed, chroot-style
 * (absolute targets re-rooted, ".." clamped), as Docker, containerd and umoci
 * do; the final component is never followed.
 *
 * Same-layer protection for whiteouts: every dentry remembers the last layer
 * that created it or walked through it. A whiteout only removes what only
 * lower layers produced, wherever it sits in the tar (see tree.c).
 */
#ifndef O2V_ROOTFS_TREE_H
#define O2V_ROOTFS_TREE_H

#include <sys/types.h>

#include "../common/error.h"

#define O2V_TREE_NAME_MAX	 255	 /* one path component (ext4's limit) */
#define O2V_TREE_PATH_MAX	 4095	 /* a whole path, without the NUL (PATH_MAX - 1) */
#define O2V_TREE_SYMLINK_MAX	 4095	 /* a symlink target (must fit one ext4 block) */
#define O2V_TREE_FOLLOW_MAX	 40	 /* symlinks followed while resolving one path (Linux) */
#define O2V_TREE_NODES_MAX	 4000000 /* objects in one image: bounds memory */
#define O2V_TREE_XATTR_VALUE_MAX 3800	 /* ext4 keeps all xattrs of an inode in one 4 KiB block */
#define O2V_TREE_XATTRS_MAX	 64	 /* xattrs per object */

struct o2v_xattr {
	char *name;
	void *value;
	size_t len;
};

struct o2v_node;

struct o2v_dentry {
	char *name;
	struct o2v_node *node;
	uint32_t layer; /* last layer that created or walked through this entry */
	bool explicit_; /* that layer had an entry for exactly this path */
};

struct o2v_node {
	uint32_t mode; /* S_IFMT bits | permission bits incl. setuid/setgid/sticky */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t rdev_major, rdev_minor;
	uint64_t size;	    /* regular file: content length */
	uint64_t spool_off; /* regular file: where the content starts in the spool */
	char *target;	    /* symlink target, verbatim */
	struct o2v_xattr *xattrs;
	size_t n_xattrs;
	uint32_t refs; /* dentries naming this node */

	/* directories */
	struct o2v_node *parent;
	struct o2v_dentry *children; /* sorted by name (strcmp) */
	size_t n_children, cap_children;

	/* scratch space for writers */
	uint64_t ino;
	uint32_t emitted;
};

struct o2v_tree {
	struct o2v_node *root;
	size_t n_nodes;
	int64_t implicit_mtime; /* mtime of directories created as missing parents */
};

/* Attributes of a new object (o2v_tree_add). xattrs are moved into the tree. */
struct o2v_entry {
	uint32_t mode;
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t rdev_major, rdev_minor;
	uint64_t size, spool_off;
	const char *target;
	struct o2v_xattr *xattrs;
	size_t n_xattrs;
};

/* A path split into checked components; empty (n == 0) means the root. */
struct o2v_path {
	char *buf;   /* owned storage the components point into */
	char **comp; /* owned array */
	size_t n;
};

int o2v_tree_init(struct o2v_tree *t, int64_t implicit_mtime, struct o2v_error *err);
void o2v_tree_release(struct o2v_tree *t);

/* Split an archive path: leading "/" and "./", repeated and trailing slashes and "."
 * components are dropped; ".." components, NUL-free over-long names and empty
 * input are rejected with -EINVAL. */
int o2v_tree_split_path(const char *name, struct o2v_path *ret, struct o2v_error *err);
void o2v_path_release(struct o2v_path *p);

/* Create or replace the object at p (both directories: merge, take e's attributes). */
int o2v_tree_add(struct o2v_tree *t, const struct o2v_path *p, struct o2v_entry *e, uint32_t layer,
		 struct o2v_error *err);

/* Make p another name of the object at target (not following a final symlink).
 * The target must exist and must not be a directory. */
int o2v_tree_link(struct o2v_tree *t, const struct o2v_path *p, const struct o2v_path *target,
		  uint32_t layer, struct o2v_error *err);

/* ".wh.NAME" in directory dir: remove what lower layers put at dir/NAME. */
int o2v_tree_whiteout(struct o2v_tree *t, const struct o2v_path *dir, const char *name,
		      uint32_t layer, struct o2v_error *err);

/* ".wh..wh..opq" in directory dir: hide every lower-layer descendant of dir. */
int o2v_tree_opaque(struct o2v_tree *t, const struct o2v_path *dir, uint32_t layer,
		    struct o2v_error *err);

/* Look up a path without creating anything (intermediate symlinks followed,
 * the final component not); NULL if absent. For tests and writers. */
struct o2v_node *o2v_tree_lookup(struct o2v_tree *t, const char *path);

/* Attach an existing directory node under dir as name (used to hang the
 * container root at /app_root). Takes a reference. */
int o2v_tree_attach(struct o2v_tree *t, struct o2v_node *dir, const char *name,
		    struct o2v_node *node, struct o2v_error *err);

/* A new node (refs = 0) with e's attributes; NULL on ENOMEM. */
struct o2v_node *o2v_node_new(struct o2v_tree *t, struct o2v_entry *e);
void o2v_node_unref(struct o2v_tree *t, struct o2v_node *n);

void o2v_xattrs_free(struct o2v_xattr *x, size_t n);

#endif
