/* logfile.h - a detached VM's console log, capped and rotated as Docker's json-file driver
 * caps its logs (--log-opt max-size=SIZE --log-opt max-file=N): at most N files of at most
 * SIZE bytes each, PATH the newest, PATH.1 the one before, up to PATH.(N-1).
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
	int fd;
	uint64_t size; /* of the current file */
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

#endif
