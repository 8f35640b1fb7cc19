/* test_initrd.c - the per-run initramfs: entries, owners, devices, content. */
#include "../../common/o2v.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../../common/fsutil.h"
#include "../../rootfs/initrd.h"
#include "tap.h"

int main(void)
{
	char dir[] = "/tmp/o2v-initrd-XXXXXX";
	struct o2v_error err;
	const char *conf = "oci2vm-runconfig 1\nargv sh\n";

	TAP_OK(mkdtemp(dir) != NULL, "temp dir");
	_cleanup_free_ char *init = o2v_path_join(dir, "init");
	_cleanup_free_ char *out = o2v_path_join(dir, "out.cpio");
	TAP_IS_INT(o2v_write_file_atomic(init, "\177ELF-fake-init", 14, 0755, &err), 0,
		   "an init file");
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	TAP_IS_INT(o2v_initrd_write(fd, init, conf, &err), 0, "write the initrd");
	close(fd);

	struct archive *a = archive_read_new();
	archive_read_support_format_cpio(a);
	archive_read_support_filter_none(a);
	TAP_IS_INT(archive_read_open_filename(a, out, 4096), ARCHIVE_OK, "read it back");
	struct archive_entry *e;
	int seen = 0;
	int64_t inos[8];
	bool inos_unique = true, all_root = true;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK && seen < 8) {
		const char *p = archive_entry_pathname(e);
		for (int i = 0; i < seen; i++)
			if (inos[i] == archive_entry_ino64(e))
				inos_unique = false;
		inos[seen++] = archive_entry_ino64(e);
		if (archive_entry_uid(e) || archive_entry_gid(e))
			all_root = false;
		if (!strcmp(p, "dev/console"))
			TAP_OK(archive_entry_filetype(e) == AE_IFCHR &&
				       archive_entry_rdev(e) == makedev(5, 1),
			       "/dev/console is c 5 1");
		if (!strcmp(p, ".oci2vm/run.conf")) {
			char buf[128] = "";
			la_ssize_t n = archive_read_data(a, buf, sizeof(buf) - 1);
			TAP_OK(n == (la_ssize_t)strlen(conf) && !strcmp(buf, conf),
			       "run.conf content");
		}
		if (!strcmp(p, "init"))
			TAP_OK((archive_entry_perm(e) & 0777) == 0755 &&
				       archive_entry_size(e) == 14,
			       "/init is executable with its size");
	}
	TAP_IS_INT(seen, 5, "five entries: dev, dev/console, .oci2vm, run.conf, init");
	TAP_OK(inos_unique, "inode numbers are unique (no false hardlinks)");
	TAP_OK(all_root, "everything owned by root");
	archive_read_free(a);

	fd = open(out, O_WRONLY | O_TRUNC | O_CLOEXEC);
	TAP_IS_INT(o2v_initrd_write(fd, NULL, conf, &err), 0, "an overlay without /init");
	close(fd);
	fd = open(out, O_WRONLY | O_TRUNC | O_CLOEXEC);
	TAP_OK(o2v_initrd_write(fd, "/nonexistent/init", conf, &err) < 0 &&
		       strstr(err.msg, "/nonexistent/init"),
	       "a missing init is an error naming it");
	close(fd);
	o2v_rm_rf(dir, NULL);
	return tap_done();
}
