/* spool.c - see spool.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "spool.h"

int o2v_spool_open(struct o2v_spool *s, const char *dir, struct o2v_error *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		_cleanup_free_ char *tmpl = o2v_path_join(dir, ".oci2vm-spool.XXXXXX");
		if (!tmpl)
			return o2v_error_sys(err, -ENOMEM, "create content spool");
		s->fd = mkostemp(tmpl, O_CLOEXEC);
		if (s->fd >= 0)
			unlink(tmpl);
	}
	if (s->fd < 0)
		return o2v_error_sys(err, -errno, "create content spool in '%s'", dir);
	s->buf = malloc(O2V_SPOOL_BUF);
	if (!s->buf) {
		o2v_spool_close(s);
		return o2v_error_sys(err, -ENOMEM, "create content spool");
	}
	return 0;
}

void o2v_spool_close(struct o2v_spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(TAKE_PTR(s->buf));
}

int o2v_spool_flush(struct o2v_spool *s)
{
	size_t done = 0;

	while (done < s->buf_len) {
		ssize_t w = O2V_RETRY(
		    pwrite(s->fd, s->buf + done, s->buf_len - done, (off_t)(s->buf_off + done)));
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	s->buf_off += s->buf_len;
	s->buf_len = 0;
	return 0;
}

int o2v_spool_write(struct o2v_spool *s, uint64_t at, const void *p, size_t len)
{
	const char *c = p;
	int r;

	if (at < s->buf_off + s->buf_len)
		return -EINVAL;
	if (at > s->buf_off + s->buf_len) { /* a hole: flush, continue further on */
		r = o2v_spool_flush(s);
		if (r < 0)
			return r;
		s->buf_off = at;
	}
	while (len > 0) {
		size_t n = O2V_SPOOL_BUF - s->buf_len;
		if (n > len)
			n = len;
		memcpy(s->buf + s->buf_len, c, n);
		s->buf_len += n;
		c += n;
		len -= n;
		if (s->buf_len == O2V_SPOOL_BUF) {
			r = o2v_spool_flush(s);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int o2v_spool_finish(struct o2v_spool *s, uint64_t start, uint64_t size)
{
	if (start + size < s->buf_off + s->buf_len)
		return -EINVAL;
	s->end = start + size;
	if (s->end > s->buf_off + s->buf_len) {
		int r = o2v_spool_flush(s);
		if (r < 0)
			return r;
		s->buf_off = s->end;
		/* the spool must really be this long for tail holes to read back */
		if (ftruncate(s->fd, (off_t)s->end) < 0)
			return -errno;
	}
	return 0;
}

int o2v_spool_add_data(struct o2v_spool *s, const void *p, size_t len, uint64_t *ret_off)
{
	uint64_t start = s->end;
	int r = o2v_spool_write(s, start, p, len);

	if (r < 0)
		return r;
	*ret_off = start;
	return o2v_spool_finish(s, start, len);
}

int o2v_spool_add_file(struct o2v_spool *s, const char *path, uint64_t max, uint64_t *ret_off,
		       uint64_t *ret_size, struct o2v_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	uint64_t start = s->end, size = 0;
	int r;

	if (fd < 0)
		return o2v_error_sys(err, -errno, "open '%s'", path);
	buf = malloc(64 * 1024);
	if (!buf)
		return o2v_error_sys(err, -ENOMEM, "read '%s'", path);
	for (;;) {
		ssize_t n = O2V_RETRY(read(fd, buf, 64 * 1024));
		if (n < 0)
			return o2v_error_sys(err, -errno, "read '%s'", path);
		if (n == 0)
			break;
		if (size + (uint64_t)n > max)
			return o2v_error_set(err, -E2BIG, "'%s' is larger than %llu bytes", path,
					     (unsigned long long)max);
		r = o2v_spool_write(s, start + size, buf, (size_t)n);
		if (r < 0)
			return o2v_error_sys(err, r, "write content spool");
		size += (uint64_t)n;
	}
	r = o2v_spool_finish(s, start, size);
	if (r < 0)
		return o2v_error_sys(err, r, "write content spool");
	*ret_off = start;
	*ret_size = size;
	return 0;
}

int o2v_spool_read(struct o2v_spool *s, uint64_t off, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = O2V_RETRY(pread(s->fd, c, len, (off_t)off));
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(c, 0, len);
			break;
		}
		c += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
