/* fsutil.h - small file-system helpers shared by every module (libc only).
 *
 * Every function follows error.h: 0 on success, negative errno on failure
 * with err filled. Writes that must never be seen half-done go through
 * o2v_write_file_atomic() or o2v_tmpfile_open()+o2v_tmpfile_commit(): the
 * data lands in a temporary file in the destination directory and is then
 * renamed over the final name, so readers see the old file or the new one.
 */
#ifndef O2V_FSUTIL_H
#define O2V_FSUTIL_H

#include <sys/types.h>

#include "error.h"

/* mkdir -p with the given mode for created components; existing dirs are fine. */
int o2v_mkdir_p(const char *path, mode_t mode, struct o2v_error *err);

/* Read a whole file, refusing files larger than max bytes (-E2BIG). The
 * result is NUL-terminated (not counted in *ret_len); caller frees. */
int o2v_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len,
		  struct o2v_error *err);

/* Write len bytes to path atomically (temp file + fsync + rename). */
int o2v_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			  struct o2v_error *err);

/* Write all of buf to fd, retrying short writes and EINTR. */
int o2v_write_all(int fd, const void *buf, size_t len);
/* For a non-blocking fd: write what it takes now. The bytes written (0..len; fewer when it
 * would block), or -errno. */
ssize_t o2v_write_some(int fd, const void *buf, size_t len);

/* A temporary file next to its final name. */
struct o2v_tmpfile {
	int fd;
	char *tmp_path;	  /* owned */
	char *final_path; /* owned */
};

/* Create "<final_path>.tmp-XXXXXX" (O_CLOEXEC, mode 0600, fchmod'ed to mode on commit). */
int o2v_tmpfile_open(struct o2v_tmpfile *t, const char *final_path, struct o2v_error *err);
/* fsync, chmod to mode, rename into place; releases t. */
int o2v_tmpfile_commit(struct o2v_tmpfile *t, mode_t mode, struct o2v_error *err);
/* Close and unlink the temp file (safe to call after commit or twice). */
void o2v_tmpfile_release(struct o2v_tmpfile *t);

/* rm -rf that never follows symlinks and never crosses into another mount. */
int o2v_rm_rf(const char *path, struct o2v_error *err);

/* Join two path parts with exactly one '/'; returns malloc'ed string or NULL. */
char *o2v_path_join(const char *a, const char *b);

#endif
