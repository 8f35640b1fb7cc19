/* spool.h - the content spool: one temporary file holding every regular
 * file's content, written once while the layers are read.
 *
 * Why a spool: libarchive cannot seek inside gzip/zstd streams, and the
 * writers need contents only after the whole tree is known (a later layer
 * may delete or replace a file, and ext4 sizing needs the totals). Re-reading
 * the layers in a second pass would pay for decompression twice (the
 * dominant cost); spooling costs one sequential write and one sequential read
 * that mostly stay in the page cache, and keeps memory at one buffer
 * (O2V_SPOOL_BUF) however large the image is. Holes in sparse tar entries stay
 * holes in the spool. The file is unlinked from the start (O_TMPFILE), so
 * nothing is left behind whatever happens.
 */
#ifndef O2V_ROOTFS_SPOOL_H
#define O2V_ROOTFS_SPOOL_H

#include "../common/error.h"

#define O2V_SPOOL_BUF (1024 * 1024)

struct o2v_spool {
	int fd;
	uint64_t end; /* logical size: where the next file starts */
	char *buf;    /* pending bytes for [buf_off, buf_off + buf_len) */
	uint64_t buf_off;
	size_t buf_len;
};

/* Create the spool as an unlinked file in dir. */
int o2v_spool_open(struct o2v_spool *s, const char *dir, struct o2v_error *err);
void o2v_spool_close(struct o2v_spool *s);

/* Append len bytes at file offset (start + pos) where start was s->end when
 * the file began; pos must not go backwards (sparse entries skip ahead). */
int o2v_spool_write(struct o2v_spool *s, uint64_t at, const void *p, size_t len);
/* Mark the end of a file of size bytes that started at start. */
int o2v_spool_finish(struct o2v_spool *s, uint64_t start, uint64_t size);
/* Copy a whole host file into the spool; returns its offset and size. */
int o2v_spool_add_file(struct o2v_spool *s, const char *path, uint64_t max, uint64_t *ret_off,
		       uint64_t *ret_size, struct o2v_error *err);
int o2v_spool_add_data(struct o2v_spool *s, const void *p, size_t len, uint64_t *ret_off);
/* Flush buffered bytes: call before reading. */
int o2v_spool_flush(struct o2v_spool *s);
/* Read len bytes at off (after flush); short files read as zeros. */
int o2v_spool_read(struct o2v_spool *s, uint64_t off, void *p, size_t len);

#endif
