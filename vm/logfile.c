/* logfile.c - capped, rotated console logs; see logfile.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/fsutil.h"
#include "logfile.h"

char *o2v_logfile_name(const char *path, unsigned k)
{
	char *s;

	if (k == 0)
		return strdup(path);
	return asprintf(&s, "%s.%u", path, k) < 0 ? NULL : s;
}

char *o2v_logfile_times_name(const char *path, unsigned k)
{
	char *s;

	if (k == 0)
		return asprintf(&s, "%s.times", path) < 0 ? NULL : s;
	return asprintf(&s, "%s.%u.times", path, k) < 0 ? NULL : s;
}

static int open_current(struct o2v_logfile *lf)
{
	_cleanup_free_ char *times = o2v_logfile_times_name(lf->path, 0);
	struct stat st;

	if (!times)
		return -ENOMEM;
	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (lf->fd < 0)
		return -errno;
	lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	/* Without its index the log still works; `logs --since` then finds nothing in it. */
	lf->times_fd = open(times, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	lf->times_sec = -1;
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
	    .times_fd = -1,
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
	o2v_closep(&lf->times_fd);
	for (unsigned k = lf->max_files - 1; k > 0; k--) {
		_cleanup_free_ char *from = o2v_logfile_name(lf->path, k - 1);
		_cleanup_free_ char *to = o2v_logfile_name(lf->path, k);
		_cleanup_free_ char *tfrom = o2v_logfile_times_name(lf->path, k - 1);
		_cleanup_free_ char *tto = o2v_logfile_times_name(lf->path, k);
		if (from && to && rename(from, to) < 0 && errno != ENOENT)
			break;
		if (tfrom && tto && rename(tfrom, tto) < 0 && errno == ENOENT)
			unlink(tto); /* no index for the rotated file: none, not a stale one */
	}
	if (lf->max_files == 1) {
		_cleanup_free_ char *times = o2v_logfile_times_name(lf->path, 0);
		if (truncate(lf->path, 0) < 0 && errno != ENOENT)
			return -errno;
		if (times)
			unlink(times);
	}
	return open_current(lf);
}

/* The index line for this second, before the write that starts it. */
static void note_time(struct o2v_logfile *lf)
{
	char line[64];
	int64_t now = (int64_t)time(NULL);

	if (lf->times_fd < 0 || now == lf->times_sec)
		return;
	int n = snprintf(line, sizeof(line), "%" PRId64 " %" PRIu64 "\n", now, lf->size);
	if (o2v_write_all(lf->times_fd, line, (size_t)n) == 0)
		lf->times_sec = now;
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
	note_time(lf);
	if ((r = o2v_write_all(lf->fd, p, n)) < 0)
		return r;
	lf->size += n;
	return 0;
}

void o2v_logfile_close(struct o2v_logfile *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	o2v_closep(&lf->times_fd);
	free(lf->path);
	*lf = (struct o2v_logfile){.fd = -1, .times_fd = -1};
}

/* The offset of the first index line of file k at or after since; false if none. The
 * index is written by the supervisor (trusted) but read defensively: a malformed line
 * ends it. */
static bool since_in(const char *path, unsigned k, int64_t since, uint64_t *ret_off)
{
	_cleanup_free_ char *name = o2v_logfile_times_name(path, k);
	FILE *f = name ? fopen(name, "re") : NULL;
	char line[64];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		int64_t sec;
		uint64_t off;
		if (sscanf(line, "%" SCNd64 " %" SCNu64, &sec, &off) != 2)
			break;
		if (sec >= since) {
			*ret_off = off;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

bool o2v_logfile_since(const char *path, int64_t since, unsigned *ret_k, uint64_t *ret_off)
{
	for (unsigned k = O2V_LOG_MAX_FILES; k-- > 0;)
		if (since_in(path, k, since, ret_off)) {
			*ret_k = k;
			return true;
		}
	return false;
}
