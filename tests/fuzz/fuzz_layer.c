/* fuzz_layer.c - applying image layers to the merged tree (rootfs/layer.c, rootfs/tree.c),
 * then what the image writers compute from the tree: the ext4 size estimate
 * (rootfs/ext4.c, compiled in here to reach its static estimate()) and the cpio newc
 * archive (rootfs/cpio.c, read back with libarchive).
 *
 * Input, byte 0 = flags:
 *   bit 0 clear: a list of entries, built into tar layers with libarchive's writer
 *     (pax, GNU or ustar, optionally gzip), applied in order. Each entry: an op byte
 *     (bits 0-2: 0 file, 1 dir, 2 symlink, 3 hardlink, 4 char dev, 5 fifo, 6 next layer,
 *     7 block dev; bit 3: an xattr follows; bit 4: odd mtime), two mode bytes, an owner
 *     byte, the NUL-terminated name, then the content / link target (NUL-terminated), the
 *     xattr name and value, device numbers. A "next layer" op's next byte picks the
 *     layer's format and compression.
 *   bit 0 set: the rest is one layer blob as it comes from a registry (tar, gzip, zstd or
 *     garbage), applied as layer 1 and again as layer 2.
 *   bits 1-2: media type given with each layer; bit 3: give a wrong diff_id (the apply
 *   must then fail); bit 4: write a gzip cpio; bits 5-6: small decompression limits
 *   (o2v_layer_limits) instead of o2v_rootfs_build()'s defaults.
 * Checks after each layer: an error is negative, names the layer and leaves a tree that
 * can be released; the unpacked budget only shrinks; the tree is well formed (children
 * strictly sorted, names valid, every directory's parent right, each node's refs = the
 * dentries naming it, n_nodes = the nodes reachable, no entry named like a whiteout after
 * a successful apply, lookups of every path find their node); the ext4 estimate counts
 * every node once. After the last layer, the cpio of the image (the tree under
 * /app_root) holds one entry per name, when the content is small enough to write. */
#include "fuzz.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../../rootfs/layer.h"
#include "../../rootfs/writer.h"
/* estimate() and reset_scratch() are static: take ext4.c whole (its mke2fs run is never
 * called here). */
#include "../../rootfs/ext4.c"

#define LAYER_NAME	 "sha256:fuzzlayer"
#define CPIO_CONTENT_MAX (1 << 20) /* write the cpio only for this much content */
#define LOOKUPS_MAX	 256

/* ---- reading the input from the front ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static unsigned rd_byte(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static char *rd_str(struct rd *r, size_t *ret_len)
{
	const uint8_t *e = memchr(r->p, 0, r->n);
	size_t len = e ? (size_t)(e - r->p) : r->n;
	char *s = malloc(len + 1);

	FUZZ_CHECK(s, "oom");
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len + (e ? 1 : 0);
	r->n -= len + (e ? 1 : 0);
	if (ret_len)
		*ret_len = len;
	return s;
}

/* ---- building a layer with libarchive's writer ---- */

static int memfd(void)
{
	int fd = memfd_create("o2v-fuzz-layer", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
	return fd;
}

struct writer {
	struct archive *a;
	int fd;
	size_t entries;
};

static void writer_open(struct writer *w, unsigned how)
{
	w->fd = memfd();
	w->entries = 0;
	w->a = archive_write_new();
	FUZZ_CHECK(w->a, "archive_write_new");
	switch (how % 3) {
	case 0:
		archive_write_set_format_pax_restricted(w->a);
		break;
	case 1:
		archive_write_set_format_gnutar(w->a);
		break;
	case 2:
		archive_write_set_format_ustar(w->a);
		break;
	}
	if (how & 4)
		archive_write_add_filter_gzip(w->a);
	FUZZ_CHECK(archive_write_open_fd(w->a, w->fd) == ARCHIVE_OK, "open writer: %s",
		   archive_error_string(w->a));
}

/* Close the writer; returns the memfd holding the layer. */
static int writer_close(struct writer *w)
{
	archive_write_close(w->a);
	archive_write_free(w->a);
	w->a = NULL;
	return w->fd;
}

static void write_entry(struct writer *w, struct rd *r)
{
	static const mode_t types[] = {AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFREG,
				       AE_IFCHR, AE_IFIFO, 0,	     AE_IFBLK};
	unsigned op = rd_byte(r);
	unsigned perm = rd_byte(r) << 8;
	perm |= rd_byte(r);
	unsigned owner = rd_byte(r);
	size_t dlen = 0, xlen = 0;
	char *name = rd_str(r, NULL);
	char *data = rd_str(r, &dlen);
	struct archive_entry *e = archive_entry_new();

	FUZZ_CHECK(e, "archive_entry_new");
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, types[op & 7] | (perm & 07777));
	archive_entry_set_uid(e, owner & 0x80 ? 0xfffffffeu + (owner & 1) : owner & 0xf);
	archive_entry_set_gid(e, owner >> 4);
	if (op & 0x10)
		archive_entry_set_mtime(e, (int64_t)(int8_t)rd_byte(r) * ((int64_t)1 << 40),
					rd_byte(r) * 3906250L);
	else
		archive_entry_set_mtime(e, 1700000000, 0);
	switch (op & 7) {
	case 0:
		archive_entry_set_size(e, (la_int64_t)dlen);
		break;
	case 2:
		archive_entry_set_symlink(e, data);
		break;
	case 3:
		archive_entry_set_hardlink(e, data);
		break;
	case 4:
	case 7:
		archive_entry_set_rdevmajor(e, rd_byte(r));
		archive_entry_set_rdevminor(e, rd_byte(r));
		break;
	}
	if (op & 8) {
		char *xn = rd_str(r, NULL);
		char *xv = rd_str(r, &xlen);
		archive_entry_xattr_add_entry(e, xn, xv, xlen);
		free(xn);
		free(xv);
	}
	if (archive_write_header(w->a, e) >= ARCHIVE_WARN) {
		if ((op & 7) == 0 && dlen)
			archive_write_data(w->a, data, dlen);
		w->entries++;
	}
	archive_entry_free(e);
	free(name);
	free(data);
}

/* ---- checking the tree ---- */

struct walk {
	struct o2v_tree *t;
	struct o2v_spool *sp;
	size_t distinct, dentries, lookups;
	uint64_t content;
	bool applied; /* the last layer applied without error */
	char path[O2V_TREE_PATH_MAX + 1];
};

/* Pass 1: ino counts the dentries naming each node, emitted marks a visited directory. */
static void count(struct walk *w, struct o2v_node *dir)
{
	FUZZ_CHECK(!dir->emitted, "directory reached twice");
	dir->emitted = 1;
	for (size_t i = 0; i < dir->n_children; i++) {
		struct o2v_dentry *d = &dir->children[i];
		struct o2v_node *n = d->node;
		FUZZ_CHECK(d->name && d->name[0] && !strchr(d->name, '/') && strcmp(d->name, ".") &&
			       strcmp(d->name, "..") && strlen(d->name) <= O2V_TREE_NAME_MAX,
			   "bad name '%s'", d->name ? d->name : "(null)");
		FUZZ_CHECK(i == 0 || strcmp(dir->children[i - 1].name, d->name) < 0,
			   "children not strictly sorted: '%s' then '%s'",
			   dir->children[i - 1].name, d->name);
		/* (a directory made while resolving a symlink's target may be named anything,
		 * as when containerd extracts the layer: only entries are checked) */
		FUZZ_CHECK(!w->applied || !d->explicit_ || strncmp(d->name, ".wh.", 4),
			   "whiteout '%s' left in the tree", d->name);
		FUZZ_CHECK(n, "dentry '%s' without a node", d->name);
		w->dentries++;
		if (n->ino++ == 0)
			w->distinct++;
		if (S_ISDIR(n->mode)) {
			FUZZ_CHECK(n->parent == dir, "'%s': wrong parent", d->name);
			count(w, n);
		} else if (S_ISLNK(n->mode)) {
			FUZZ_CHECK(n->target && n->target[0] &&
				       strlen(n->target) <= O2V_TREE_SYMLINK_MAX,
				   "'%s': symlink target", d->name);
		} else if (S_ISREG(n->mode)) {
			FUZZ_CHECK(n->spool_off + n->size <= w->sp->end,
				   "'%s': content beyond the spool", d->name);
			if (n->ino == 1)
				w->content += n->size;
		}
		FUZZ_CHECK(n->n_xattrs <= O2V_TREE_XATTRS_MAX, "'%s': %zu xattrs", d->name,
			   n->n_xattrs);
	}
}

/* Pass 2: refs match, lookups find each node; clears the scratch fields. */
static void verify(struct walk *w, struct o2v_node *dir, size_t plen)
{
	dir->emitted = 0;
	for (size_t i = 0; i < dir->n_children; i++) {
		struct o2v_dentry *d = &dir->children[i];
		struct o2v_node *n = d->node;
		size_t nl = strlen(d->name);
		if (n->ino) {
			FUZZ_CHECK(n->refs == n->ino, "'%s': refs %u, named %llu times", d->name,
				   n->refs, (unsigned long long)n->ino);
			FUZZ_CHECK(!S_ISDIR(n->mode) || n->refs == 1, "directory '%s' hardlinked",
				   d->name);
			n->ino = 0;
		}
		if (plen + 1 + nl > O2V_TREE_PATH_MAX)
			continue;
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, d->name, nl + 1);
		if (w->lookups < LOOKUPS_MAX) {
			w->lookups++;
			FUZZ_CHECK(o2v_tree_lookup(w->t, w->path) == n,
				   "lookup '%s' misses its node", w->path);
		}
		if (S_ISDIR(n->mode))
			verify(w, n, plen + 1 + nl);
		w->path[plen] = '\0';
	}
}

static void clear_scratch(struct o2v_node *dir)
{
	dir->ino = 0;
	dir->emitted = 0;
	for (size_t i = 0; i < dir->n_children; i++) {
		struct o2v_node *n = dir->children[i].node;
		if (S_ISDIR(n->mode))
			clear_scratch(n);
		n->ino = 0;
		n->emitted = 0;
	}
}

static uint64_t check_tree(struct o2v_tree *t, struct o2v_spool *sp, bool applied)
{
	struct walk w = {.t = t, .sp = sp, .applied = applied};

	FUZZ_CHECK(t->root && S_ISDIR(t->root->mode) && t->root->parent == t->root &&
		       t->root->refs == 1,
		   "root");
	count(&w, t->root);
	FUZZ_CHECK(w.distinct + 1 == t->n_nodes, "%zu nodes reachable, %zu counted", w.distinct + 1,
		   t->n_nodes);
	verify(&w, t->root, 0);
	FUZZ_CHECK(o2v_tree_lookup(t, "/") == t->root, "lookup /");

	/* the ext4 writer's estimate visits each node once */
	struct ext4_estimate est = {0};
	estimate(t->root, &est);
	reset_scratch(t->root);
	FUZZ_CHECK(est.inodes == t->n_nodes, "estimate: %llu inodes for %zu nodes",
		   (unsigned long long)est.inodes, t->n_nodes);
	FUZZ_CHECK(est.blocks >= w.content / 4096, "estimate: %llu blocks for %llu bytes",
		   (unsigned long long)est.blocks, (unsigned long long)w.content);

	return w.content;
}

/* The cpio writer, read back, on the image as o2v_rootfs_build() lays it out: the
 * container's tree under /app_root of the VM's tree. */
static void check_cpio(struct o2v_tree *t, struct o2v_spool *sp, uint64_t content, bool gzip)
{
	struct o2v_tree vm;
	struct o2v_error err = {0};
	struct walk w = {.t = t, .sp = sp};

	if (content > CPIO_CONTENT_MAX)
		return;
	count(&w, t->root); /* the number of names */
	clear_scratch(t->root);
	FUZZ_CHECK(o2v_tree_init(&vm, 0, NULL) == 0, "vm tree");
	FUZZ_CHECK(o2v_tree_attach(&vm, vm.root, "app_root", t->root, NULL) == 0, "attach");
	int fd = memfd();
	int r = o2v_cpio_write(vm.root, sp, fd, gzip, &err);
	o2v_tree_release(&vm); /* gives the container's root back to t alone */
	t->root->parent = t->root;
	clear_scratch(t->root); /* the writer leaves ino / emitted set */
	if (r < 0) {
		FUZZ_CHECK((r == -ENAMETOOLONG || r == -EFBIG) && err.code == r && err.msg[0],
			   "cpio r=%d '%s'", r, err.msg);
		close(fd);
		return;
	}
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t entries = 0;
	archive_read_support_format_cpio(a);
	archive_read_support_filter_gzip(a);
	FUZZ_CHECK(archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK, "read cpio: %s",
		   archive_error_string(a));
	for (;;) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		FUZZ_CHECK(ar >= ARCHIVE_WARN, "cpio entry %zu: %s", entries,
			   archive_error_string(a));
		entries++;
	}
	archive_read_free(a);
	close(fd);
	FUZZ_CHECK(entries == w.dentries + 1, "cpio has %zu entries for %zu names", entries,
		   w.dentries + 1);
}

/* ---- applying ---- */

static int apply(struct o2v_tree *t, struct o2v_spool *sp, int fd, uint32_t layer_no,
		 unsigned flags, struct o2v_layer_limits *lim, uint64_t *content)
{
	static const char *const media_types[] = {
	    NULL, "application/vnd.oci.image.layer.v1.tar+gzip",
	    "application/vnd.docker.image.rootfs.diff.tar",
	    "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"};
	char path[64];
	struct o2v_layer_src src = {.path = path, .digest = LAYER_NAME};
	struct o2v_error err = {0};

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	src.media_type = media_types[(flags >> 1) & 3];
	if (flags & 8)
		src.diff_id =
		    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	uint64_t left = lim->unpacked_left;
	int r = o2v_layer_apply(t, sp, &src, layer_no, lim, &err);
	FUZZ_CHECK(lim->unpacked_left <= left && lim->unpacked_left <= lim->max_unpacked,
		   "unpacked budget went from %llu to %llu", (unsigned long long)left,
		   (unsigned long long)lim->unpacked_left);
	close(fd);
	if (getenv("O2V_FUZZ_DEBUG"))
		fprintf(stderr, "layer %u: %d %s\n", layer_no, r, r < 0 ? err.msg : "");
	if (r < 0) {
		FUZZ_CHECK(err.code == r && strstr(err.msg, LAYER_NAME), "r=%d '%s'", r, err.msg);
		FUZZ_CHECK(r != -EINVAL, "bad layer content reported as a usage error: '%s'",
			   err.msg);
	} else {
		FUZZ_CHECK(r == 0, "r=%d", r);
		FUZZ_CHECK(!(flags & 8), "layer with a wrong diff_id accepted");
		FUZZ_CHECK(!(flags & 2 && flags & 4), "encrypted layer accepted");
	}
	*content = check_tree(t, sp, r == 0);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct o2v_tree t;
	struct o2v_spool sp;
	struct rd r = {data, size};
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	if (size < 1 || size > (1 << 20))
		return 0;
	unsigned flags = rd_byte(&r);
	bool gzip_cpio = flags & 16;
	uint64_t content = 0;
	/* the decompression limits: o2v_rootfs_build()'s defaults, or a small budget */
	struct o2v_layer_limits lim = {
	    .max_unpacked = flags & 32 ? 20000 : O2V_MAX_UNPACKED_DEFAULT,
	    .max_expansion = flags & 64 ? 1 : O2V_MAX_EXPANSION_DEFAULT,
	};
	lim.unpacked_left = lim.max_unpacked;
	/* as o2v_rootfs_build: names are converted with a UTF-8 locale on this thread */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = (locale_t)0;
	if (utf8)
		old = uselocale(utf8);

	FUZZ_CHECK(o2v_tree_init(&t, 1700000000, NULL) == 0, "tree init");
	FUZZ_CHECK(o2v_spool_open(&sp, dir, NULL) == 0, "spool in %s", dir);

	if (flags & 1) {
		for (uint32_t layer = 1; layer <= 2; layer++) {
			int fd = memfd();
			FUZZ_CHECK(o2v_write_all(fd, r.p, r.n) == 0, "write layer");
			if (apply(&t, &sp, fd, layer, flags, &lim, &content) < 0)
				goto out;
		}
	} else {
		struct writer w;
		uint32_t layer = 1;
		writer_open(&w, rd_byte(&r));
		while (r.n) {
			if ((r.p[0] & 7) == 6) { /* next layer */
				rd_byte(&r);
				if (apply(&t, &sp, writer_close(&w), layer++, flags, &lim,
					  &content) < 0)
					goto out;
				writer_open(&w, rd_byte(&r));
				continue;
			}
			write_entry(&w, &r);
		}
		if (apply(&t, &sp, writer_close(&w), layer, flags, &lim, &content) < 0)
			goto out;
	}
	check_cpio(&t, &sp, content, gzip_cpio);
out:
	o2v_tree_release(&t);
	o2v_spool_close(&sp);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return 0;
}
