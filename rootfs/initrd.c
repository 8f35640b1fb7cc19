/* initrd.c - see initrd.h. */
#include "../common/o2v.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../common/fsutil.h"
#include "../common/runconfig.h"
#include "initrd.h"

#define INIT_MAX (16 * 1024 * 1024) /* bootstrap-init is ~100 KB; anything huge is a mistake */

struct cpio_out {
	struct archive *a;
	struct archive_entry *e;
	int64_t ino;
};

static int add_entry(struct cpio_out *o, const char *path, mode_t type, mode_t perm,
		     const void *data, size_t len, dev_t rdev, struct o2v_error *err)
{
	archive_entry_clear(o->e);
	archive_entry_set_pathname(o->e, path);
	archive_entry_set_filetype(o->e, type);
	archive_entry_set_perm(o->e, perm);
	archive_entry_set_uid(o->e, 0);
	archive_entry_set_gid(o->e, 0);
	archive_entry_set_mtime(o->e, 0, 0);
	archive_entry_set_nlink(o->e, type == AE_IFDIR ? 2 : 1);
	/* libarchive's newc writer does not invent inode numbers; equal ones
	 * would make the kernel treat entries as hardlinks. */
	archive_entry_set_ino64(o->e, ++o->ino);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(o->e, rdev);
	archive_entry_set_size(o->e, type == AE_IFREG ? (la_int64_t)len : 0);
	if (archive_write_header(o->a, o->e) != ARCHIVE_OK)
		return o2v_error_set(err, -EIO, "write initrd entry '%s': %s", path,
				     archive_error_string(o->a));
	if (len && archive_write_data(o->a, data, len) != (la_ssize_t)len)
		return o2v_error_set(err, -EIO, "write initrd entry '%s': %s", path,
				     archive_error_string(o->a));
	return 0;
}

int o2v_initrd_write(int out_fd, const char *init_path, const char *runconfig,
		     struct o2v_error *err)
{
	_cleanup_free_ char *init = NULL;
	size_t init_len = 0;
	struct cpio_out o = { 0 };
	int r;

	if (init_path && (r = o2v_read_file(init_path, INIT_MAX, &init, &init_len, err)) < 0)
		return o2v_error_prefix(err, "read the guest init");
	o.a = archive_write_new();
	o.e = archive_entry_new();
	if (!o.a || !o.e) {
		r = o2v_error_sys(err, -ENOMEM, "write initrd");
		goto out;
	}
	if (archive_write_set_format_cpio_newc(o.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(o.a, 0) != ARCHIVE_OK ||
	    archive_write_open_fd(o.a, out_fd) != ARCHIVE_OK) {
		r = o2v_error_set(err, -EIO, "write initrd: %s", archive_error_string(o.a));
		goto out;
	}
	const char *conf_dir = "/.oci2vm";
	if ((r = add_entry(&o, "dev", AE_IFDIR, 0755, NULL, 0, 0, err)) < 0 ||
	    (r = add_entry(&o, "dev/console", AE_IFCHR, 0600, NULL, 0, makedev(5, 1), err)) < 0 ||
	    (r = add_entry(&o, conf_dir + 1, AE_IFDIR, 0755, NULL, 0, 0, err)) < 0 ||
	    (runconfig && (r = add_entry(&o, O2V_RUNCONFIG_PATH + 1, AE_IFREG, 0644, runconfig,
					 strlen(runconfig), 0, err)) < 0))
		goto out;
	if (init && (r = add_entry(&o, "init", AE_IFREG, 0755, init, init_len, 0, err)) < 0)
		goto out;
	if (archive_write_close(o.a) != ARCHIVE_OK) {
		r = o2v_error_set(err, -EIO, "write initrd: %s", archive_error_string(o.a));
		goto out;
	}
	r = 0;
out:
	if (o.e)
		archive_entry_free(o.e);
	if (o.a)
		archive_write_free(o.a);
	return r;
}
