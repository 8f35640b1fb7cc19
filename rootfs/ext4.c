/* ext4.c - ext4 writer: mke2fs makes the empty file system, libext2fs fills it.
 *
 * `mke2fs -d DIR` cannot be used without root (it copies the owner of files
 * on disk, cannot read mode-000 files, and e2fsprogs 1.47.0 takes no tar),
 * so every inode is created here with the exact metadata from the tree:
 * mode incl. setuid/setgid/sticky, 32-bit uid/gid, nanosecond times,
 * device numbers, hardlink counts, xattrs, fast and slow symlinks.
 * File data: blocks that are all zeros become holes; the others are
 * allocated with ext2fs_fallocate() and then written straight to the image
 * fd at their physical location (one pwrite per extent) instead of through
 * ext2fs_file_write()'s block-at-a-time path. libext2fs never reads or caches
 * those data blocks, so the two writers cannot disagree.
 * Reproducible: mke2fs gets a UUID and hash seed derived from opts->seed and
 * E2FSPROGS_FAKE_TIME, libext2fs gets fs->now, every time we write is from
 * the tree, and inodes are created in depth-first name order.
 */
#include "../common/o2v.h"

#include <et/com_err.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../common/fsutil.h"
#include "hash.h"
#include "writer.h"

#define EXT4_BS		  4096
#define EXT4_CHUNK	  (1024 * 1024) /* file data is processed this much at a time */
#define EXT4_INODE_SIZE	  256
#define MKE2FS_OUTPUT_MAX 2048

extern char **environ;

struct ext4_ctx {
	ext2_filsys fs;
	int fd;
	struct o2v_spool *sp;
	char *buf;
	uint64_t needed_bytes; /* for "too small" messages */
	char path[O2V_TREE_PATH_MAX + O2V_TREE_NAME_MAX + 2];
};

struct ext4_estimate {
	uint64_t inodes, blocks;
};

static bool is_nospace(errcode_t e)
{
	return e == EXT2_ET_BLOCK_ALLOC_FAIL || e == EXT2_ET_INODE_ALLOC_FAIL ||
	       e == EXT2_ET_DIR_NO_SPACE || e == EXT2_ET_EA_NO_SPACE || e == ENOSPC ||
	       e == EXT2_ET_TOOSMALL || e == EXT2_ET_RES_GDT_BLOCKS;
}

static int ext4_error(struct ext4_ctx *c, errcode_t e, struct o2v_error *err, const char *what)
{
	if (is_nospace(e))
		return o2v_error_set(err, -ENOSPC,
				     "%s '/%s': the image is too small for the content (about "
				     "%llu MiB needed); give a larger size or leave it out",
				     what, c->path,
				     (unsigned long long)(c->needed_bytes >> 20) + 1);
	if (e > 0 && e < 4096)
		return o2v_error_sys(err, -(int)e, "%s '/%s'", what, c->path);
	return o2v_error_set(err, -EIO, "%s '/%s': %s", what, c->path, error_message(e));
}

static void estimate(struct o2v_node *n, struct ext4_estimate *est)
{
	uint64_t dirbytes = 24;
	size_t nx = 0;

	if (n->emitted++)
		return; /* another name of a hardlinked file */
	est->inodes++;
	for (size_t i = 0; i < n->n_xattrs; i++)
		nx += strlen(n->xattrs[i].name) + n->xattrs[i].len + 20;
	if (nx > 80) /* beyond the in-inode space: one block */
		est->blocks++;
	if (S_ISREG(n->mode))
		est->blocks += (n->size + EXT4_BS - 1) / EXT4_BS;
	else if (S_ISLNK(n->mode) && strlen(n->target) >= 60)
		est->blocks++;
	if (!S_ISDIR(n->mode))
		return;
	for (size_t i = 0; i < n->n_children; i++) {
		dirbytes += 8 + ((strlen(n->children[i].name) + 3) & ~3UL);
		estimate(n->children[i].node, est);
	}
	est->blocks += (dirbytes + EXT4_BS - 13) / (EXT4_BS - 12);
}

static void reset_scratch(struct o2v_node *n)
{
	if (!n->emitted)
		return;
	n->emitted = 0;
	for (size_t i = 0; S_ISDIR(n->mode) && i < n->n_children; i++)
		reset_scratch(n->children[i].node);
}

/* A version-4-shaped UUID from seed and a label, so UUID and hash seed differ. */
static void derive_uuid(const char *seed, const char *label, char out[37])
{
	struct o2v_sha256 *h = o2v_sha256_new();
	char hex[O2V_SHA256_HEX];

	if (h) {
		o2v_sha256_update(h, label, strlen(label));
		o2v_sha256_update(h, "\n", 1);
		o2v_sha256_update(h, seed, strlen(seed));
		o2v_sha256_final(h, hex);
	} else {
		memset(hex, '0', 64);
	}
	hex[12] = '4';
	hex[16] = "89ab"[(hex[16] - '0') & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int run_mke2fs(const char *path, uint64_t blocks, uint64_t inodes,
		      const struct o2v_build_opts *opts, struct o2v_error *err)
{
	static const char *const candidates[] = {"/usr/sbin/mke2fs", "/sbin/mke2fs", "mke2fs"};
	const char *seed = opts->seed ? opts->seed : "oci2vm";
	char uuid[37], hash_seed[37], nblocks[32], ninodes[32], ext[160], faketime[64];
	char out[MKE2FS_OUTPUT_MAX + 1];
	size_t out_len = 0;
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0, r = -ENOENT;
	pid_t pid = -1;
	char mkconf[] = "MKE2FS_CONFIG=/dev/null", lcall[] = "LC_ALL=C";
	char *envp[] = {faketime, mkconf, lcall, NULL};

	derive_uuid(seed, "uuid", uuid);
	derive_uuid(seed, "hash_seed", hash_seed);
	snprintf(nblocks, sizeof(nblocks), "%llu", (unsigned long long)blocks);
	snprintf(ninodes, sizeof(ninodes), "%llu", (unsigned long long)inodes);
	snprintf(ext, sizeof(ext),
		 "hash_seed=%s,lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0",
		 hash_seed);
	snprintf(faketime, sizeof(faketime), "E2FSPROGS_FAKE_TIME=%lld",
		 (long long)(opts->epoch > 0 ? opts->epoch : 1));

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "run mke2fs");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	for (size_t i = 0; i < ARRAY_SIZE(candidates) && r == -ENOENT; i++) {
		const char *argv[] = {"mke2fs",
				      "-q",
				      "-F",
				      "-t",
				      "ext4",
				      "-T",
				      "default",
				      "-b",
				      "4096",
				      "-I",
				      "256",
				      "-m",
				      "0",
				      "-N",
				      ninodes,
				      "-U",
				      uuid,
				      "-O",
				      "ext_attr,has_journal,extent,huge_file,flex_bg,"
				      "metadata_csum,64bit,dir_nlink,extra_isize",
				      "-E",
				      ext,
				      path,
				      nblocks,
				      NULL};
		if (strchr(candidates[i], '/') && access(candidates[i], X_OK) < 0)
			continue;
		r = -posix_spawnp(&pid, candidates[i], &fa, NULL, (char *const *)argv, envp);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return o2v_error_sys(err, r, "run mke2fs (install e2fsprogs)");
	}
	for (;;) {
		char tmp[512];
		ssize_t n = O2V_RETRY(read(pipefd[0], tmp, sizeof(tmp)));
		if (n <= 0)
			break;
		if (out_len + (size_t)n > MKE2FS_OUTPUT_MAX)
			n = (ssize_t)(MKE2FS_OUTPUT_MAX - out_len);
		memcpy(out + out_len, tmp, (size_t)n);
		out_len += (size_t)n;
	}
	close(pipefd[0]);
	out[out_len] = '\0';
	while (out_len && (out[out_len - 1] == '\n' || out[out_len - 1] == ' '))
		out[--out_len] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (O2V_RETRY(waitpid(pid, &status, 0)) < 0)
		return o2v_error_sys(err, -errno, "wait for mke2fs");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return o2v_error_set(err, -EIO, "mke2fs failed (status %d): %s", status, out);
	return 0;
}

static void encode_time(int64_t sec, uint32_t nsec, __u32 *lo, __u32 *extra)
{
	*lo = (__u32)sec;
	*extra = ((__u32)((sec - (int32_t)*lo) >> 32) & 3) | (nsec << 2);
}

/* Write mode/owner/times (and links/size for fresh inodes) of n into ino. */
static errcode_t set_attrs(struct ext4_ctx *c, ext2_ino_t ino, const struct o2v_node *n, bool fresh)
{
	struct ext2_inode_large in;
	errcode_t e;

	memset(&in, 0, sizeof(in));
	if (!fresh) {
		e = ext2fs_read_inode_full(c->fs, ino, (struct ext2_inode *)&in, sizeof(in));
		if (e)
			return e;
	}
	in.i_mode = (__u16)n->mode;
	in.i_uid = (__u16)n->uid;
	in.i_gid = (__u16)n->gid;
	ext2fs_set_i_uid_high(in, n->uid >> 16);
	ext2fs_set_i_gid_high(in, n->gid >> 16);
	in.i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	encode_time(n->mtime, n->mtime_nsec, &in.i_mtime, &in.i_mtime_extra);
	encode_time(n->mtime, n->mtime_nsec, &in.i_atime, &in.i_atime_extra);
	encode_time(n->mtime, n->mtime_nsec, &in.i_ctime, &in.i_ctime_extra);
	encode_time(n->mtime, n->mtime_nsec, &in.i_crtime, &in.i_crtime_extra);
	if (!S_ISDIR(n->mode))
		in.i_links_count = (__u16)n->refs;
	if (fresh) {
		if (S_ISREG(n->mode)) {
			ext2_extent_handle_t h;
			e = ext2fs_inode_size_set(c->fs, (struct ext2_inode *)&in, n->size);
			if (e)
				return e;
			/* an empty i_block gets an extent header */
			e = ext2fs_extent_open2(c->fs, ino, (struct ext2_inode *)&in, &h);
			if (e)
				return e;
			ext2fs_extent_free(h);
		} else if (S_ISCHR(n->mode) || S_ISBLK(n->mode)) {
			uint32_t ma = n->rdev_major, mi = n->rdev_minor;
			if (ma < 256 && mi < 256) {
				in.i_block[0] = ma * 256 + mi;
			} else {
				in.i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffU) << 12);
			}
		}
	}
	return ext2fs_write_inode_full(c->fs, ino, (struct ext2_inode *)&in, sizeof(in));
}

static errcode_t set_xattrs(struct ext4_ctx *c, ext2_ino_t ino, const struct o2v_node *n)
{
	struct ext2_xattr_handle *h;
	errcode_t e, e2;

	if (!n->n_xattrs)
		return 0;
	e = ext2fs_xattrs_open(c->fs, ino, &h);
	if (e)
		return e;
	e = ext2fs_xattrs_read(h);
	for (size_t i = 0; !e && i < n->n_xattrs; i++)
		e = ext2fs_xattr_set(h, n->xattrs[i].name, n->xattrs[i].value, n->xattrs[i].len);
	e2 = ext2fs_xattrs_close(&h);
	return e ? e : e2;
}

static int file_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EXT2_FT_REG_FILE;
	case S_IFDIR:
		return EXT2_FT_DIR;
	case S_IFLNK:
		return EXT2_FT_SYMLINK;
	case S_IFCHR:
		return EXT2_FT_CHRDEV;
	case S_IFBLK:
		return EXT2_FT_BLKDEV;
	case S_IFIFO:
		return EXT2_FT_FIFO;
	case S_IFSOCK:
		return EXT2_FT_SOCK;
	}
	return EXT2_FT_UNKNOWN;
}

static errcode_t add_link(struct ext4_ctx *c, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			  uint32_t mode)
{
	errcode_t e = ext2fs_link(c->fs, dir, name, ino, file_type(mode));

	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(c->fs, dir);
		if (!e)
			e = ext2fs_link(c->fs, dir, name, ino, file_type(mode));
	}
	return e;
}

static bool block_is_zero(const char *b)
{
	const uint64_t *w = (const uint64_t *)(const void *)b;

	for (size_t i = 0; i < EXT4_BS / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* Allocate logical blocks [lblk, lblk+n) of ino and write data there. */
static int write_run(struct ext4_ctx *c, ext2_ino_t ino, blk64_t lblk, blk64_t n, const char *data,
		     struct o2v_error *err)
{
	ext2_extent_handle_t h = NULL;
	errcode_t e = ext2fs_fallocate(c->fs, EXT2_FALLOCATE_FORCE_INIT, ino, NULL, ~0ULL, lblk, n);
	blk64_t done = 0;

	if (e)
		return ext4_error(c, e, err, "allocate blocks for");
	e = ext2fs_extent_open2(c->fs, ino, NULL, &h);
	while (!e && done < n) {
		struct ext2fs_extent ext;
		blk64_t len;
		int r;
		e = ext2fs_extent_goto(h, lblk + done);
		if (!e)
			e = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext);
		if (e)
			break;
		if (lblk + done < ext.e_lblk || lblk + done >= ext.e_lblk + ext.e_len) {
			e = EXT2_ET_EXTENT_NOT_FOUND;
			break;
		}
		len = ext.e_lblk + ext.e_len - (lblk + done);
		if (len > n - done)
			len = n - done;
		r = O2V_RETRY(pwrite(c->fd, data + done * EXT4_BS, len * EXT4_BS,
				     (off_t)((ext.e_pblk + (lblk + done - ext.e_lblk)) * EXT4_BS)));
		if (r < 0 || (blk64_t)r != len * EXT4_BS) {
			ext2fs_extent_free(h);
			return o2v_error_sys(err, r < 0 ? -errno : -EIO, "write image data");
		}
		done += len;
	}
	if (h)
		ext2fs_extent_free(h);
	if (e)
		return ext4_error(c, e, err, "map blocks of");
	return 0;
}

static int write_data(struct ext4_ctx *c, ext2_ino_t ino, const struct o2v_node *n,
		      struct o2v_error *err)
{
	for (uint64_t off = 0; off < n->size; off += EXT4_CHUNK) {
		size_t k = n->size - off > EXT4_CHUNK ? EXT4_CHUNK : (size_t)(n->size - off);
		size_t nb = (k + EXT4_BS - 1) / EXT4_BS;
		int r = o2v_spool_read(c->sp, n->spool_off + off, c->buf, k);

		if (r < 0)
			return o2v_error_sys(err, r, "read content spool");
		memset(c->buf + k, 0, nb * EXT4_BS - k);
		for (size_t i = 0; i < nb;) {
			size_t j;
			if (block_is_zero(c->buf + i * EXT4_BS)) {
				i++;
				continue;
			}
			for (j = i + 1; j < nb && !block_is_zero(c->buf + j * EXT4_BS); j++)
				;
			r = write_run(c, ino, off / EXT4_BS + i, j - i, c->buf + i * EXT4_BS, err);
			if (r < 0)
				return r;
			i = j;
		}
	}
	return 0;
}

static int create(struct ext4_ctx *c, ext2_ino_t parent, const struct o2v_dentry *d, size_t plen,
		  struct o2v_error *err);

static int create_children(struct ext4_ctx *c, ext2_ino_t ino, const struct o2v_node *n,
			   size_t plen, struct o2v_error *err)
{
	for (size_t i = 0; i < n->n_children; i++) {
		const struct o2v_dentry *d = &n->children[i];
		size_t nl = strlen(d->name);
		int r;
		if (plen + 1 + nl >= sizeof(c->path))
			return o2v_error_set(err, -ENAMETOOLONG, "path '/%.100s...' too long",
					     c->path);
		if (plen)
			c->path[plen++] = '/';
		memcpy(c->path + plen, d->name, nl + 1);
		r = create(c, ino, d, plen + nl, err);
		if (plen)
			plen--;
		c->path[plen] = '\0';
		if (r < 0)
			return r;
	}
	return 0;
}

static int create(struct ext4_ctx *c, ext2_ino_t parent, const struct o2v_dentry *d, size_t plen,
		  struct o2v_error *err)
{
	struct o2v_node *n = d->node;
	ext2_ino_t ino;
	errcode_t e;
	int r;

	if (!S_ISDIR(n->mode) && n->ino) { /* another name of a hardlinked file */
		e = add_link(c, parent, d->name, (ext2_ino_t)n->ino, n->mode);
		return e ? ext4_error(c, e, err, "link") : 0;
	}
	e = ext2fs_new_inode(c->fs, parent, (int)n->mode, NULL, &ino);
	if (e)
		return ext4_error(c, e, err, "allocate an inode for");
	n->ino = ino;
	switch (n->mode & S_IFMT) {
	case S_IFDIR:
		e = ext2fs_mkdir(c->fs, parent, ino, NULL);
		if (!e)
			e = add_link(c, parent, d->name, ino, n->mode);
		if (e)
			return ext4_error(c, e, err, "create directory");
		r = create_children(c, ino, n, plen, err);
		if (r < 0)
			return r;
		e = set_attrs(c, ino, n, false);
		break;
	case S_IFLNK:
		e = ext2fs_symlink(c->fs, parent, ino, NULL, n->target);
		if (!e)
			e = add_link(c, parent, d->name, ino, n->mode);
		if (!e)
			e = set_attrs(c, ino, n, false);
		break;
	default:
		e = set_attrs(c, ino, n, true);
		if (e)
			break;
		ext2fs_inode_alloc_stats2(c->fs, ino, +1, 0);
		e = add_link(c, parent, d->name, ino, n->mode);
		if (!e && S_ISREG(n->mode)) {
			r = write_data(c, ino, n, err);
			if (r < 0)
				return r;
		}
		break;
	}
	if (!e)
		e = set_xattrs(c, ino, n);
	return e ? ext4_error(c, e, err, "create") : 0;
}

static int fill(struct ext4_ctx *c, const char *path, struct o2v_node *root, int64_t epoch,
		struct o2v_error *err)
{
	static bool tables;
	errcode_t e;
	int r;

	if (!tables) {
		initialize_ext2_error_table();
		tables = true;
	}
	e = ext2fs_open2(path, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
			 &c->fs);
	if (e)
		return ext4_error(c, e, err, "open new file system");
	c->fs->now = epoch > 0 ? epoch : 1;
	e = ext2fs_read_bitmaps(c->fs);
	if (e) {
		r = ext4_error(c, e, err, "read bitmaps of");
		goto out;
	}
	r = create_children(c, EXT2_ROOT_INO, root, 0, err);
	if (r < 0)
		goto out;
	c->path[0] = '\0';
	e = set_attrs(c, EXT2_ROOT_INO, root, false);
	if (!e)
		e = set_xattrs(c, EXT2_ROOT_INO, root);
	if (e) {
		r = ext4_error(c, e, err, "set attributes of");
		goto out;
	}
	e = ext2fs_close_free(&c->fs);
	if (e)
		return ext4_error(c, e, err, "write file system metadata of");
	return 0;
out:
	ext2fs_free(c->fs); /* abandon: the caller deletes the file */
	c->fs = NULL;
	return r;
}

int o2v_ext4_write(struct o2v_tree *t, struct o2v_spool *sp, const char *path, int fd,
		   const struct o2v_build_opts *opts, struct o2v_error *err)
{
	struct ext4_ctx c = {.fd = fd, .sp = sp};
	struct ext4_estimate est = {0};
	uint64_t blocks, inodes, content;
	int r;

	estimate(t->root, &est);
	reset_scratch(t->root);
	/* inode tables, group descriptors, bitmaps and extent blocks come on top */
	content = est.blocks + est.blocks / 64 + (est.inodes * EXT4_INODE_SIZE) / EXT4_BS + 1024;
	inodes = est.inodes + est.inodes / 4 + 256;
	c.needed_bytes = (content + ext2fs_default_journal_size(content) + 2048) * EXT4_BS;
	if (opts->size) {
		blocks = opts->size / EXT4_BS;
		if (blocks * EXT4_BS < c.needed_bytes / 2 || blocks < 2048)
			return o2v_error_set(err, -ENOSPC,
					     "image size %llu MiB is too small for the content "
					     "(about %llu MiB needed); give a larger size or leave "
					     "it out",
					     (unsigned long long)(opts->size >> 20),
					     (unsigned long long)(c.needed_bytes >> 20) + 1);
	} else {
		/* headroom for the workload's own writes: a quarter, at least 64 MiB */
		uint64_t head = content / 4 > 16384 ? content / 4 : 16384;
		blocks = content + head;
		blocks += ext2fs_default_journal_size(blocks) > 0
			      ? (uint64_t)ext2fs_default_journal_size(blocks)
			      : 0;
		blocks = (blocks + 1023) & ~1023ULL; /* whole 4 MiB */
	}
	if (ftruncate(fd, (off_t)(blocks * EXT4_BS)) < 0)
		return o2v_error_sys(err, -errno, "size the image file");
	r = run_mke2fs(path, blocks, inodes, opts, err);
	if (r < 0)
		return r;
	c.buf = malloc(EXT4_CHUNK);
	if (!c.buf)
		return o2v_error_sys(err, -ENOMEM, "write ext4 image");
	r = o2v_spool_flush(sp);
	if (r < 0)
		r = o2v_error_sys(err, r, "write content spool");
	else
		r = fill(&c, path, t->root, opts->epoch, err);
	free(c.buf);
	return r;
}
