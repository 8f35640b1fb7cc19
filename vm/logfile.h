/* logfile.h - a detached VM's console log, capped and rotated as Docker's json-file driver
 * caps its logs (--log-opt max-size=SIZE --log-opt max-file=N): at most N files of at most
 * SIZE bytes each, PATH the newest, PATH.1 the one before, up to PATH.(N-1).
 *
 * The log stays the console's raw bytes (what `logs` prints); for `logs --since` each file
 * has a time index beside it, NAME.times: a line "SECONDS OFFSET" for the first output of
 * every second in which there was output (seconds since the epoch; OFFSET in NAME), so the
 * index costs at most one small write per second and is rotated with its file.
 */
#ifndef O2V_VM_LOGFILE_H
#define O2V_VM_LOGFILE_H

#include <stdint.h>

#include "../common/error.h"

#define O2V_LOG_MAX_SIZE_DEFAULT  (10ull << 20) /* 10 MiB per file */
#define O2V_LOG_MAX_FILES_DEFAULT 3
#define O2V_LOG_MAX_FILES	  100

struct o2v_logfile {
	char *path;
	uint64_t max_size;
	unsigned max_files;
	int fd, times_fd;
	uint64_t size;	   /* of the current file */
	int64_t times_sec; /* the second of the index's last line */
};

/* Open (append to) path; max_size 0 or max_files 0 mean the defaults. */
int o2v_logfile_open(struct o2v_logfile *lf, const char *path, uint64_t max_size,
		     unsigned max_files, struct o2v_error *err);

/* Append, rotating first when the current file would grow past max_size (a single write
 * larger than max_size is cut to its last max_size bytes: the newest output is what a
 * reader of the log wants). -errno on a write error. */
int o2v_logfile_write(struct o2v_logfile *lf, const void *buf, size_t n);

void o2v_logfile_close(struct o2v_logfile *lf);

/* PATH.k (k > 0) or PATH (k == 0), malloc'ed. */
char *o2v_logfile_name(const char *path, unsigned k);

/* The time index of PATH.k, malloc'ed. */
char *o2v_logfile_times_name(const char *path, unsigned k);

/* Where output from second `since` on begins: in file k (O2V_LOG_MAX_FILES - 1 is the
 * oldest there can be) at offset *ret_off. false when no output is that recent. Output of
 * the second `since` itself is included: the index is as fine as a second. */
bool o2v_logfile_since(const char *path, int64_t since, unsigned *ret_k, uint64_t *ret_off);

#endif
