/* fsutil.c - see fsutil.h. */
#include "o2v.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"

int o2v_mkdir_p(const char *path, mode_t mode, struct o2v_error *err)
{
	_cleanup_free_ char *copy = strdup(path);
	char *p;

	if (!copy)
		return o2v_error_sys(err, -ENOMEM, "create directory '%s'", path);
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return o2v_error_sys(err, -errno, "create directory '%s'", copy);
		*p = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return o2v_error_sys(err, -errno, "create directory '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return o2v_error_set(err, -ENOTDIR, "create directory '%s': not a directory", path);
	return 0;
}

int o2v_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len,
		  struct o2v_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return o2v_error_sys(err, -errno, "open '%s'", path);
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			if (ncap > max + 2)
				ncap = max + 2;
			if (ncap <= len + 1)
				return o2v_error_set(err, -E2BIG, "read '%s': larger than %zu bytes",
						     path, max);
			char *n = realloc(buf, ncap);
			if (!n)
				return o2v_error_sys(err, -ENOMEM, "read '%s'", path);
			buf = n;
			cap = ncap;
		}
		ssize_t r = O2V_RETRY(read(fd, buf + len, cap - len - 1));
		if (r < 0)
			return o2v_error_sys(err, -errno, "read '%s'", path);
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max)
			return o2v_error_set(err, -E2BIG, "read '%s': larger than %zu bytes", path,
					     max);
	}
	if (!buf && !(buf = malloc(1)))
		return o2v_error_sys(err, -ENOMEM, "read '%s'", path);
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int o2v_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = O2V_RETRY(write(fd, p, len));
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t o2v_write_some(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t w = O2V_RETRY(write(fd, p + done, len - done));
		if (w < 0)
			return errno == EAGAIN ? (ssize_t)done : -errno;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

int o2v_tmpfile_open(struct o2v_tmpfile *t, const char *final_path, struct o2v_error *err)
{
	size_t n = strlen(final_path) + sizeof(".tmp-XXXXXX");

	t->fd = -1;
	t->final_path = strdup(final_path);
	t->tmp_path = malloc(n);
	if (!t->final_path || !t->tmp_path) {
		o2v_tmpfile_release(t);
		return o2v_error_sys(err, -ENOMEM, "create '%s'", final_path);
	}
	snprintf(t->tmp_path, n, "%s.tmp-XXXXXX", final_path);
	t->fd = mkostemp(t->tmp_path, O_CLOEXEC);
	if (t->fd < 0) {
		int e = -errno;
		free(t->tmp_path);
		t->tmp_path = NULL;
		o2v_tmpfile_release(t);
		return o2v_error_sys(err, e, "create temporary file for '%s'", final_path);
	}
	return 0;
}

int o2v_tmpfile_commit(struct o2v_tmpfile *t, mode_t mode, struct o2v_error *err)
{
	int r = 0;

	if (fchmod(t->fd, mode) < 0 || fsync(t->fd) < 0)
		r = o2v_error_sys(err, -errno, "write '%s'", t->final_path);
	else if (close(TAKE_FD(t->fd)) < 0)
		r = o2v_error_sys(err, -errno, "write '%s'", t->final_path);
	else if (rename(t->tmp_path, t->final_path) < 0)
		r = o2v_error_sys(err, -errno, "rename into '%s'", t->final_path);
	else {
		free(t->tmp_path);
		t->tmp_path = NULL; /* committed: release must not unlink */
	}
	o2v_tmpfile_release(t);
	return r;
}

void o2v_tmpfile_release(struct o2v_tmpfile *t)
{
	if (t->fd >= 0)
		close(TAKE_FD(t->fd));
	if (t->tmp_path)
		unlink(t->tmp_path);
	free(t->tmp_path);
	free(t->final_path);
	t->tmp_path = NULL;
	t->final_path = NULL;
}

int o2v_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			  struct o2v_error *err)
{
	struct o2v_tmpfile t;
	int r = o2v_tmpfile_open(&t, path, err);

	if (r < 0)
		return r;
	r = o2v_write_all(t.fd, buf, len);
	if (r < 0) {
		o2v_tmpfile_release(&t);
		return o2v_error_sys(err, r, "write '%s'", path);
	}
	return o2v_tmpfile_commit(&t, mode, err);
}

static int rm_rf_at(int parent_fd, const char *name, dev_t dev, struct o2v_error *err)
{
	struct stat st;

	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : o2v_error_sys(err, -errno, "remove '%s'", name);
	if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
		int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return o2v_error_sys(err, -errno, "remove '%s'", name);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return o2v_error_sys(err, -errno, "remove '%s'", name);
		}
		struct dirent *de;
		int r = 0;
		while (r == 0 && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			r = rm_rf_at(dirfd(d), de->d_name, dev, err);
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return o2v_error_sys(err, -errno, "remove directory '%s'", name);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return o2v_error_set(err, -EXDEV, "remove '%s': is a mount point, not removing",
				     name);
	if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
		return o2v_error_sys(err, -errno, "remove '%s'", name);
	return 0;
}

int o2v_rm_rf(const char *path, struct o2v_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : o2v_error_sys(err, -errno, "remove '%s'", path);
	return rm_rf_at(AT_FDCWD, path, st.st_dev, err);
}

char *o2v_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *out;

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (asprintf(&out, "%.*s/%s", (int)la, a, b) < 0)
		return NULL;
	return out;
}
