/* layer.c - libarchive as a reader only, OCI changeset rules on the tree.
 *
 * Two archive readers are chained: the outer one reads the blob with exactly
 * one decompression filter chosen from the magic bytes (gzip, zstd, or none;
 * media types lie, see containerd's DiffCompression) and the "raw" format, so
 * we see the decompressed stream, hash it for the diff_id, and hand the same
 * buffers (no copy) to the inner reader, which parses tar only. No filter
 * bidding happens, so nothing can ever be decompressed twice or through an
 * external program; a libarchive build that would fall back to one
 * ("using external program", ARCHIVE_WARN) is refused.
 */
#include "../common/o2v.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "hash.h"
#include "layer.h"

#define LAYER_READ_BLOCK (128 * 1024)
#define O2V_AUFS_PLNK	 ".wh..wh.plnk"

struct layer_ctx {
	struct archive *outer;
	struct o2v_sha256 *hash;
	uint64_t total;
	bool check_crc; /* gzip layers: libarchive 3.6.2 never checks the trailer CRC */
	unsigned long crc;
	bool outer_failed;
	char outer_msg[256];
	uint64_t limit; /* decompressed bytes this layer may have */
	bool over_limit;
	char limit_msg[200]; /* why, when it is passed */
};

static const char *layer_name(const struct o2v_layer_src *src)
{
	return src->digest ? src->digest : src->path;
}

static la_ssize_t outer_read(struct archive *a, void *userdata, const void **buf)
{
	struct layer_ctx *c = userdata;
	size_t size = 0;
	la_int64_t off;
	int r = archive_read_data_block(c->outer, buf, &size, &off);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK) {
		const char *m = archive_error_string(c->outer);
		c->outer_failed = true;
		snprintf(c->outer_msg, sizeof(c->outer_msg), "%s", m ? m : "decompression failed");
		archive_set_error(a, EIO, "%s", c->outer_msg);
		return -1;
	}
	if (c->total + size > c->limit) {
		/* A decompression bomb fills the cache disk: stop at the limit, say which. */
		c->outer_failed = c->over_limit = true;
		snprintf(c->outer_msg, sizeof(c->outer_msg), "%s", c->limit_msg);
		archive_set_error(a, E2BIG, "%s", c->outer_msg);
		return -1;
	}
	o2v_sha256_update(c->hash, *buf, size);
	if (c->check_crc)
		c->crc = crc32(c->crc, *buf, (uInt)size);
	c->total += size;
	return (la_ssize_t)size;
}

static bool media_type_ok(const char *mt)
{
	if (!mt)
		return true;
	if (strstr(mt, "encrypted"))
		return false;
	return strstr(mt, "rootfs.diff.tar") || strstr(mt, "image.layer.v1.tar") ||
	       strstr(mt, "image.layer.nondistributable.v1.tar");
}

/* Open the outer (decompressing) reader on fd. */
static int open_outer(struct layer_ctx *c, int fd, const char *name, struct o2v_error *err)
{
	struct archive *a = c->outer;
	unsigned char magic[4] = {0};
	ssize_t n = O2V_RETRY(pread(fd, magic, sizeof(magic), 0));
	struct archive_entry *e;
	const char *kind = "uncompressed";
	int r = ARCHIVE_OK;

	if (n < 0)
		return o2v_error_sys(err, -errno, "layer %s: read", name);
	if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		kind = "gzip";
		r = archive_read_append_filter(a, ARCHIVE_FILTER_GZIP);
		c->check_crc = true;
	} else if (n == 4 && ((magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
			       magic[3] == 0xfd) || /* zstd frame, or a skippable frame first */
			      ((magic[0] & 0xf0) == 0x50 && magic[1] == 0x2a && magic[2] == 0x4d &&
			       magic[3] == 0x18))) {
		kind = "zstd";
		r = archive_read_append_filter(a, ARCHIVE_FILTER_ZSTD);
	}
	if (r != ARCHIVE_OK) /* ARCHIVE_WARN here means "using external program" */
		return o2v_error_set(err, -ENOTSUP, "layer %s: cannot decompress in-process: %s",
				     name, archive_error_string(a));
	if (archive_read_support_format_raw(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, fd, LAYER_READ_BLOCK) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		/* the raw format's bid is where a corrupt stream first shows */
		return o2v_error_set(err, -EBADMSG, "layer %s: corrupt %s data (%s)", name, kind,
				     archive_error_string(a) ? archive_error_string(a)
							     : "cannot read");
	return 0;
}

static bool xattr_wanted(const char *name, mode_t type)
{
	static const char *const keep[] = {"user.", "trusted.", "security.",
					   "system.posix_acl_access", "system.posix_acl_default"};

	if (!strcmp(name, "security.selinux")) /* host-specific label (umoci) */
		return false;
	/* xattr(7): user.* only on regular files and directories */
	if (!strncmp(name, "user.", 5) && type != S_IFREG && type != S_IFDIR)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (!strncmp(name, keep[i], strlen(keep[i])))
			return true;
	return false;
}

static int read_xattrs(struct archive_entry *ae, mode_t type, struct o2v_entry *e,
		       struct o2v_error *err)
{
	const char *name;
	const void *value;
	size_t size;
	size_t total = 0;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
		struct o2v_xattr *x;
		if (!xattr_wanted(name, type))
			continue;
		total += strlen(name) + size;
		if (e->n_xattrs >= O2V_TREE_XATTRS_MAX || total > O2V_TREE_XATTR_VALUE_MAX)
			return o2v_error_set(err, -E2BIG, "extended attributes exceed %d bytes",
					     O2V_TREE_XATTR_VALUE_MAX);
		x = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*x));
		if (!x)
			return o2v_error_sys(err, -ENOMEM, "read xattrs");
		e->xattrs = x;
		x = &e->xattrs[e->n_xattrs];
		x->name = strdup(name);
		x->value = malloc(size ? size : 1);
		x->len = size;
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			return o2v_error_sys(err, -ENOMEM, "read xattrs");
		}
		memcpy(x->value, value, size);
		e->n_xattrs++;
	}
	return 0;
}

static int spool_content(struct archive *a, struct o2v_spool *sp, uint64_t size,
			 struct o2v_entry *e, struct o2v_error *err)
{
	uint64_t start = sp->end;

	for (;;) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return o2v_error_set(err, -EBADMSG, "%s",
					     archive_error_string(a) ? archive_error_string(a)
								     : "read error");
		if (off < 0 || (uint64_t)off + n > size)
			return o2v_error_set(err, -EBADMSG, "data beyond the entry's size");
		r = o2v_spool_write(sp, start + (uint64_t)off, buf, n);
		if (r < 0)
			return o2v_error_sys(err, r, "write content spool");
	}
	int r = o2v_spool_finish(sp, start, size);
	if (r < 0)
		return o2v_error_sys(err, r, "write content spool");
	e->spool_off = start;
	e->size = size;
	return 0;
}

/* Apply one tar entry; err is set without the layer/entry prefix. */
static int apply_entry(struct o2v_tree *t, struct o2v_spool *sp, struct archive *a,
		       struct archive_entry *ae, const char *pathname, uint32_t layer,
		       struct o2v_error *err)
{
	struct o2v_path p = {0}, tp = {0};
	struct o2v_entry e = {0};
	const char *base, *hardlink = archive_entry_hardlink(ae);
	mode_t type = archive_entry_filetype(ae);
	int r;

	r = o2v_tree_split_path(pathname, &p, err);
	if (r < 0)
		return r;
	/* AUFS hardlink store: kept for this layer only, so hardlinks into it
	 * resolve to their content (containers/storage); dropped at the end. */
	if (p.n && !strcmp(p.comp[0], O2V_AUFS_PLNK))
		goto regular;
	for (size_t i = 0; i < p.n; i++) {
		if (strncmp(p.comp[i], ".wh.", 4))
			continue;
		if (!strncmp(p.comp[i], ".wh..wh.", 8) && strcmp(p.comp[i], ".wh..wh..opq")) {
			/* AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): never extracted */
			o2v_path_release(&p);
			return 0;
		}
		if (i + 1 < p.n) {
			r = o2v_error_set(err, -EINVAL,
					  "a directory named like a whiteout ('%s') cannot exist",
					  p.comp[i]);
			goto out;
		}
	}
	base = p.n ? p.comp[p.n - 1] : "";
	if (!strncmp(base, ".wh.", 4)) {
		struct o2v_path dir = p;
		dir.n--;
		if (!strcmp(base, ".wh..wh..opq")) {
			r = o2v_tree_opaque(t, &dir, layer, err);
		} else if (!strcmp(base, ".wh.") || !strcmp(base, ".wh..") ||
			   !strcmp(base, ".wh...")) {
			r = o2v_error_set(err, -EINVAL, "invalid whiteout name '%s'", base);
		} else {
			r = o2v_tree_whiteout(t, &dir, base + 4, layer, err);
		}
		goto out;
	}

regular:
	if (hardlink) {
		/* The link header's own metadata is not applied (umoci, OCI). */
		r = o2v_tree_split_path(hardlink, &tp, err);
		if (r < 0) {
			o2v_error_prefix(err, "hardlink target '%.200s'", hardlink);
			goto out;
		}
		r = o2v_tree_link(t, &p, &tp, layer, err);
		if (r < 0)
			o2v_error_prefix(err, "hardlink to '%.200s'", hardlink);
		goto out;
	}

	la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX) {
		r = o2v_error_set(err, -EINVAL, "uid/gid out of range");
		goto out;
	}
	e.mode = type | (archive_entry_perm(ae) & 07777);
	e.uid = (uint32_t)uid;
	e.gid = (uint32_t)gid;
	e.mtime = archive_entry_mtime(ae);
	e.mtime_nsec = (uint32_t)archive_entry_mtime_nsec(ae);
	switch (type) {
	case AE_IFREG: {
		la_int64_t size = archive_entry_size(ae);
		if (size < 0 || (uint64_t)size > O2V_LAYER_FILE_MAX) {
			r = o2v_error_set(err, -E2BIG, "file size %lld is larger than the cap",
					  (long long)size);
			goto out;
		}
		r = spool_content(a, sp, (uint64_t)size, &e, err);
		if (r < 0)
			goto out;
		break;
	}
	case AE_IFLNK:
		e.target = archive_entry_symlink(ae);
		if (!e.target || !*e.target) {
			r = o2v_error_set(err, -EINVAL, "symlink with an empty target");
			goto out;
		}
		if (strlen(e.target) > O2V_TREE_SYMLINK_MAX) {
			r = o2v_error_set(err, -EINVAL, "symlink target longer than %d bytes",
					  O2V_TREE_SYMLINK_MAX);
			goto out;
		}
		e.mode = S_IFLNK | 0777; /* link modes mean nothing on Linux */
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		e.rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
		e.rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
		break;
	case AE_IFDIR:
	case AE_IFIFO:
	case AE_IFSOCK:
		break;
	default:
		r = o2v_error_set(err, -EINVAL, "unsupported entry type 0%o", (unsigned)type);
		goto out;
	}
	r = read_xattrs(ae, type, &e, err);
	if (r < 0)
		goto out;
	r = o2v_tree_add(t, &p, &e, layer, err);
out:
	o2v_xattrs_free(e.xattrs, e.n_xattrs);
	o2v_path_release(&p);
	o2v_path_release(&tp);
	return r;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static int check_diff_id(const struct o2v_layer_src *src, const char *hex, struct o2v_error *err)
{
	if (!src->diff_id)
		return 0;
	if (strncmp(src->diff_id, "sha256:", 7))
		return o2v_error_set(err, -ENOTSUP, "layer %s: unsupported diff_id '%.100s'",
				     layer_name(src), src->diff_id);
	if (strcmp(src->diff_id + 7, hex))
		return o2v_error_set(err, -EBADMSG,
				     "layer %s: uncompressed content is sha256:%s, expected %s",
				     layer_name(src), hex, src->diff_id);
	return 0;
}

/* The last gzip member's trailer (CRC32, ISIZE). When ISIZE matches the whole
 * decompressed size the stream is one member (the normal case) and its CRC must
 * match; for multi-member streams the CRC cannot be checked here and diff_id
 * remains the content check. */
static int check_gzip_trailer(struct layer_ctx *c, int fd, off_t size, const char *name,
			      struct o2v_error *err)
{
	unsigned char t[8];
	uint32_t crc, isize;

	if (!c->check_crc || size < 18)
		return 0;
	if (O2V_RETRY(pread(fd, t, sizeof(t), size - 8)) != (ssize_t)sizeof(t))
		return o2v_error_sys(err, -errno, "layer %s: read gzip trailer", name);
	crc = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	isize = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
	if (isize == (uint32_t)c->total && crc != (uint32_t)c->crc)
		return o2v_error_set(err, -EBADMSG,
				     "layer %s: corrupt gzip data (CRC mismatch: stored %08x, "
				     "computed %08x)",
				     name, crc, (uint32_t)c->crc);
	return 0;
}

/* The layer's decompressed-size limit: what is left of the image's budget, and for a layer
 * past the floor, max_expansion times its compressed size. */
static void set_limit(struct layer_ctx *c, const struct o2v_layer_limits *lim, uint64_t packed)
{
	uint64_t by_ratio = packed * lim->max_expansion;

	if (by_ratio < O2V_EXPANSION_FLOOR)
		by_ratio = O2V_EXPANSION_FLOOR;
	if (lim->unpacked_left <= by_ratio) {
		c->limit = lim->unpacked_left;
		snprintf(c->limit_msg, sizeof(c->limit_msg),
			 "the image unpacks to more than %" PRIu64 " MiB in all (the limit; "
			 "OCI2VM_MAX_UNPACKED raises it)",
			 lim->max_unpacked >> 20);
	} else {
		c->limit = by_ratio;
		snprintf(c->limit_msg, sizeof(c->limit_msg),
			 "unpacks to more than %u times its compressed size (%" PRIu64
			 " bytes): a decompression bomb? (OCI2VM_MAX_EXPANSION raises the limit)",
			 lim->max_expansion, packed);
	}
}

int o2v_layer_apply(struct o2v_tree *t, struct o2v_spool *sp, const struct o2v_layer_src *src,
		    uint32_t layer_no, struct o2v_layer_limits *lim, struct o2v_error *err)
{
	_cleanup_(archive_freep) struct archive *inner = NULL;
	_cleanup_close_ int fd = -1;
	struct layer_ctx c = {0};
	const char *name = layer_name(src);
	char hex[O2V_SHA256_HEX];
	struct stat st;
	int r = 0;

	if (!media_type_ok(src->media_type))
		return o2v_error_set(err, -ENOTSUP, "layer %s: unsupported media type '%s'", name,
				     src->media_type);
	fd = open(src->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return o2v_error_sys(err, -errno, "layer %s: open '%s'", name, src->path);
	c.hash = o2v_sha256_new();
	if (!c.hash)
		return o2v_error_sys(err, -ENOMEM, "layer %s", name);
	if (st.st_size == 0) { /* the empty blob is an empty changeset */
		o2v_sha256_final(c.hash, hex);
		return check_diff_id(src, hex, err);
	}

	set_limit(&c, lim, (uint64_t)st.st_size);
	c.outer = archive_read_new();
	inner = archive_read_new();
	if (!c.outer || !inner) {
		r = o2v_error_sys(err, -ENOMEM, "layer %s", name);
		goto out;
	}
	r = open_outer(&c, fd, name, err);
	if (r < 0)
		goto out;
	if (archive_read_support_format_tar(inner) != ARCHIVE_OK ||
	    archive_read_support_format_empty(inner) != ARCHIVE_OK ||
	    archive_read_open(inner, &c, NULL, outer_read, NULL) != ARCHIVE_OK) {
		const void *buf;
		/* garbage in: a corrupt compressed stream says more than "not a tar" */
		while (!c.outer_failed && outer_read(inner, &c, &buf) > 0)
			;
		if (c.outer_failed)
			r = o2v_error_set(err, -EBADMSG, "layer %s: corrupt compressed data: %s",
					  name, c.outer_msg);
		else
			r = o2v_error_set(err, -EBADMSG, "layer %s: not a tar archive: %s", name,
					  archive_error_string(inner));
		goto out;
	}
	for (;;) {
		struct archive_entry *ae;
		const char *pathname;
		r = archive_read_next_header(inner, &ae);
		if (r == ARCHIVE_EOF)
			break;
		/* WARN: e.g. a name not convertible to the locale; the raw name is kept */
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			r = o2v_error_set(err, -EBADMSG, "layer %s: %s", name,
					  c.outer_failed ? c.outer_msg
							 : archive_error_string(inner));
			goto out;
		}
		pathname = archive_entry_pathname(ae);
		if (!pathname)
			pathname = archive_entry_pathname_utf8(ae);
		if (!pathname) {
			r = o2v_error_set(err, -EBADMSG, "layer %s: entry without a name", name);
			goto out;
		}
		r = apply_entry(t, sp, inner, ae, pathname, layer_no, err);
		if (r < 0) {
			if (c.outer_failed)
				o2v_error_set(err, -EBADMSG, "%s", c.outer_msg);
			o2v_error_prefix(err, "layer %s: entry '%.200s'", name, pathname);
			/* bad layer content is untrusted data failing checks, not a usage error */
			if (err && err->code == -EINVAL)
				err->code = -EBADMSG;
			r = err ? err->code : -EBADMSG;
			goto out;
		}
	}
	r = o2v_tree_whiteout(t, &(struct o2v_path){0}, O2V_AUFS_PLNK, UINT32_MAX, err);
	if (r < 0)
		goto out;
	/* The diff_id covers the whole decompressed stream, trailer padding included. */
	for (;;) {
		const void *buf;
		la_ssize_t n = outer_read(inner, &c, &buf);
		if (n == 0)
			break;
		if (n < 0) {
			r = o2v_error_set(err, -EBADMSG, "layer %s: %s", name, c.outer_msg);
			goto out;
		}
	}
	r = check_gzip_trailer(&c, fd, st.st_size, name, err);
	if (r < 0)
		goto out;
	o2v_sha256_final(TAKE_PTR(c.hash), hex);
	r = check_diff_id(src, hex, err);
	lim->unpacked_left -= c.total;
out:
	if (r < 0 && c.over_limit) {
		r = -E2BIG; /* over a limit: a cap, not a corrupt layer */
		if (err)
			err->code = r;
	}
	o2v_sha256_free(c.hash);
	if (c.outer)
		archive_read_free(c.outer);
	return r < 0 ? r : 0;
}
