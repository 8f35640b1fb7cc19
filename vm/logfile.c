/* logfile.c - capped, rotated console logs; see logfile.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "logfile.h"

char *o2v_logfile_name(const char *path, unsigned k)
{
	char *s;

	if (k == 0)
		return strdup(path);
	return asprintf(&s, "%s.%u", path, k) < 0 ? NULL : s;
}

static int open_current(struct o2v_logfile *lf)
{
	struct stat st;

	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (lf->fd < 0)
		return -errno;
	lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

int o2v_logfile_open(struct o2v_logfile *lf, const char *path, uint64_t max_size,
		     unsigned max_files, struct o2v_error *err)
{
	int r;

	*lf = (struct o2v_logfile){
	    .max_size = max_size ? max_size : O2V_LOG_MAX_SIZE_DEFAULT,
	    .max_files = max_files ? max_files : O2V_LOG_MAX_FILES_DEFAULT,
	    .fd = -1,
	};
	if (lf->max_files > O2V_LOG_MAX_FILES)
		lf->max_files = O2V_LOG_MAX_FILES;
	if (!(lf->path = strdup(path)))
		return o2v_error_sys(err, -ENOMEM, "open the log");
	if ((r = open_current(lf)) < 0) {
		free(lf->path);
		lf->path = NULL;
		return o2v_error_sys(err, r, "create '%s'", path);
	}
	return 0;
}

/* PATH → PATH.1 → ... → PATH.(N-1), the oldest dropped; a fresh PATH. */
static int rotate(struct o2v_logfile *lf)
{
	close(lf->fd);
	lf->fd = -1;
	for (unsigned k = lf->max_files - 1; k > 0; k--) {
		_cleanup_free_ char *from = o2v_logfile_name(lf->path, k - 1);
		_cleanup_free_ char *to = o2v_logfile_name(lf->path, k);
		if (from && to && rename(from, to) < 0 && errno != ENOENT)
			break;
	}
	if (lf->max_files == 1 && truncate(lf->path, 0) < 0 && errno != ENOENT)
		return -errno;
	return open_current(lf);
}

int o2v_logfile_write(struct o2v_logfile *lf, const void *buf, size_t n)
{
	const char *p = buf;
	int r;

	if (n > lf->max_size) {
		p += n - lf->max_size;
		n = (size_t)lf->max_size;
	}
	if (lf->size + n > lf->max_size && lf->size > 0 && (r = rotate(lf)) < 0)
		return r;
	if (lf->fd < 0)
		return -EBADF;
	if ((r = o2v_write_all(lf->fd, p, n)) < 0)
		return r;
	lf->size += n;
	return 0;
}

void o2v_logfile_close(struct o2v_logfile *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	free(lf->path);
	*lf = (struct o2v_logfile){.fd = -1};
}
