/* cpio.c - cpio "newc" writer (the initramfs format, 070701).
 *
 * Our own writer rather than libarchive's: the kernel's rules are simple
 * (init/initramfs.c, buffer-format.rst) and we need control over what
 * libarchive 3.6.2 gets wrong for initramfs use - it writes the caller's
 * 64-bit inode truncated, so hardlink groups could collide. Here every
 * object gets a small unique ino, all names of a hardlinked file share it
 * with the right nlink, and the data goes on the last name (as GNU cpio and
 * libarchive's link resolver do; the kernel accepts data on any one name).
 * gzip is done by libarchive's gzip write filter over the "raw" format (zlib
 * in-process, no timestamp in the gzip header, so output is reproducible).
 */
#include "../common/o2v.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../common/fsutil.h"
#include "writer.h"

#define CPIO_BUF      (256 * 1024)
#define CPIO_PATH_MAX 4096 /* the kernel skips names of PATH_MAX or more (with NUL) */

struct cpio_out {
	int fd;
	struct archive *gz;
	char *buf;
	size_t len;
	uint64_t written;
	struct o2v_spool *sp;
	char *data; /* CPIO_BUF bytes for file contents */
	uint32_t next_ino;
	char path[CPIO_PATH_MAX + O2V_TREE_NAME_MAX + 2];
};

static int out_flush(struct cpio_out *o, struct o2v_error *err)
{
	if (o->len == 0)
		return 0;
	if (o->gz) {
		if (archive_write_data(o->gz, o->buf, o->len) != (la_ssize_t)o->len)
			return o2v_error_set(err, -EIO, "compress: %s",
					     archive_error_string(o->gz));
	} else {
		int r = o2v_write_all(o->fd, o->buf, o->len);
		if (r < 0)
			return o2v_error_sys(err, r, "write cpio archive");
	}
	o->len = 0;
	return 0;
}

static int out_write(struct cpio_out *o, const void *p, size_t n, struct o2v_error *err)
{
	const char *c = p;

	while (n > 0) {
		size_t k = CPIO_BUF - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, c, k);
		o->len += k;
		o->written += k;
		c += k;
		n -= k;
		if (o->len == CPIO_BUF) {
			int r = out_flush(o, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int out_pad4(struct cpio_out *o, struct o2v_error *err)
{
	static const char zeros[4];
	size_t pad = (4 - (o->written & 3)) & 3;

	return out_write(o, zeros, pad, err);
}

static int write_header(struct cpio_out *o, const char *name, uint32_t ino, uint32_t mode,
			uint32_t uid, uint32_t gid, uint32_t nlink, int64_t mtime, uint32_t size,
			uint32_t rmaj, uint32_t rmin, struct o2v_error *err)
{
	char hdr[111];
	size_t namesize = strlen(name) + 1;
	uint32_t mt = mtime < 0 ? 0 : mtime > 0xffffffffLL ? 0xffffffffU : (uint32_t)mtime;
	int r;

	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, uid, gid, nlink, mt, size, 0U, 0U, rmaj, rmin, (uint32_t)namesize, 0U);
	r = out_write(o, hdr, 110, err);
	if (r == 0)
		r = out_write(o, name, namesize, err);
	if (r == 0)
		r = out_pad4(o, err);
	return r;
}

static int write_content(struct cpio_out *o, const struct o2v_node *n, struct o2v_error *err)
{
	for (uint64_t done = 0; done < n->size;) {
		size_t k = n->size - done > CPIO_BUF ? CPIO_BUF : (size_t)(n->size - done);
		int r = o2v_spool_read(o->sp, n->spool_off + done, o->data, k);
		if (r < 0)
			return o2v_error_sys(err, r, "read content spool");
		r = out_write(o, o->data, k, err);
		if (r < 0)
			return r;
		done += k;
	}
	return out_pad4(o, err);
}

static uint32_t dir_nlink(const struct o2v_node *n)
{
	uint32_t nl = 2;

	for (size_t i = 0; i < n->n_children; i++)
		if (S_ISDIR(n->children[i].node->mode))
			nl++;
	return nl;
}

/* Emit the object n named o->path (length plen), then its children. */
static int emit(struct cpio_out *o, struct o2v_node *n, size_t plen, struct o2v_error *err)
{
	uint32_t nlink = S_ISDIR(n->mode) ? dir_nlink(n) : n->refs;
	uint32_t size = 0;
	bool data = false;
	int r;

	if (!n->ino)
		n->ino = ++o->next_ino;
	n->emitted++;
	if (plen + 1 >= CPIO_PATH_MAX)
		return o2v_error_set(err, -ENAMETOOLONG,
				     "path '/%.100s...' is %zu bytes; the kernel ignores initramfs "
				     "names of %d bytes or more",
				     o->path, plen, CPIO_PATH_MAX);
	if (S_ISREG(n->mode)) {
		if (n->size > O2V_CPIO_FILE_MAX)
			return o2v_error_set(err, -EFBIG,
					     "file '/%s' is 4 GiB or larger, which cpio (newc) "
					     "cannot hold; use the ext4 format",
					     o->path);
		data = n->emitted == n->refs; /* the last name carries the data */
		size = data ? (uint32_t)n->size : 0;
	} else if (S_ISLNK(n->mode)) {
		size = (uint32_t)strlen(n->target);
		if (size + 1 >= CPIO_PATH_MAX)
			return o2v_error_set(err, -ENAMETOOLONG, "symlink '/%s' target too long",
					     o->path);
	}
	r = write_header(o, o->path, (uint32_t)n->ino, n->mode, n->uid, n->gid, nlink, n->mtime,
			 size, n->rdev_major, n->rdev_minor, err);
	if (r < 0)
		return r;
	if (S_ISLNK(n->mode)) {
		r = out_write(o, n->target, size, err);
		if (r == 0)
			r = out_pad4(o, err);
		return r;
	}
	if (data)
		return write_content(o, n, err);
	for (size_t i = 0; S_ISDIR(n->mode) && i < n->n_children; i++) {
		const struct o2v_dentry *d = &n->children[i];
		size_t nl = strlen(d->name);
		if (plen + 1 + nl >= sizeof(o->path))
			return o2v_error_set(err, -ENAMETOOLONG, "path '/%.100s...' too long",
					     o->path);
		o->path[plen] = '/';
		memcpy(o->path + plen + 1, d->name, nl + 1);
		r = emit(o, d->node, plen + 1 + nl, err);
		o->path[plen] = '\0';
		if (r < 0)
			return r;
	}
	return 0;
}

static int open_gzip(struct cpio_out *o, struct o2v_error *err)
{
	struct archive_entry *e;
	int r;

	o->gz = archive_write_new();
	if (!o->gz)
		return o2v_error_sys(err, -ENOMEM, "gzip");
	r = archive_write_add_filter_gzip(o->gz);
	if (r != ARCHIVE_OK) /* WARN would mean an external gzip program */
		return o2v_error_set(err, -ENOTSUP, "gzip: %s", archive_error_string(o->gz));
	if (archive_write_set_filter_option(o->gz, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_set_format_raw(o->gz) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(o->gz, 0) != ARCHIVE_OK ||
	    archive_write_open_fd(o->gz, o->fd) != ARCHIVE_OK)
		return o2v_error_set(err, -EIO, "gzip: %s", archive_error_string(o->gz));
	e = archive_entry_new();
	if (!e)
		return o2v_error_sys(err, -ENOMEM, "gzip");
	archive_entry_set_filetype(e, AE_IFREG);
	r = archive_write_header(o->gz, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return o2v_error_set(err, -EIO, "gzip: %s", archive_error_string(o->gz));
	return 0;
}

int o2v_cpio_write(struct o2v_node *root, struct o2v_spool *sp, int fd, bool gzip,
		   struct o2v_error *err)
{
	struct cpio_out o = {.fd = fd, .sp = sp};
	int r;

	o.buf = malloc(CPIO_BUF);
	o.data = malloc(CPIO_BUF);
	if (!o.buf || !o.data) {
		r = o2v_error_sys(err, -ENOMEM, "write cpio archive");
		goto out;
	}
	r = o2v_spool_flush(sp);
	if (r < 0) {
		r = o2v_error_sys(err, r, "write content spool");
		goto out;
	}
	if (gzip) {
		r = open_gzip(&o, err);
		if (r < 0)
			goto out;
	}
	/* The root itself exists in the kernel's rootfs: start with its children. */
	for (size_t i = 0; i < root->n_children; i++) {
		const struct o2v_dentry *d = &root->children[i];
		snprintf(o.path, sizeof(o.path), "%s", d->name);
		r = emit(&o, d->node, strlen(o.path), err);
		if (r < 0)
			goto out;
	}
	r = write_header(&o, "TRAILER!!!", 0, 0, 0, 0, 1, 0, 0, 0, 0, err);
	if (r == 0)
		r = out_flush(&o, err);
	if (r == 0 && o.gz && archive_write_close(o.gz) != ARCHIVE_OK)
		r = o2v_error_set(err, -EIO, "gzip: %s", archive_error_string(o.gz));
out:
	if (o.gz)
		archive_write_free(o.gz);
	free(o.buf);
	free(o.data);
	return r;
}
