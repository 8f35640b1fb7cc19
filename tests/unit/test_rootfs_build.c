/* test_rootfs_build.c - o2v_rootfs_build end to end: TAP tests that write
 * small layers with libarchive, build cpio and ext4 images and check them
 * (atomic output, errors naming the layer and entry, cache hits).
 */
#include "../../common/o2v.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "../../common/fsutil.h"
#include "../../rootfs/rootfs.h"
#include "tap.h"

/* A tiny tar writer for the unit tests. */
struct tw {
	struct archive *a;
};

static void tw_open(struct tw *w, const char *path, bool gzip)
{
	w->a = archive_write_new();
	archive_write_set_format_pax_restricted(w->a);
	if (gzip)
		archive_write_add_filter_gzip(w->a);
	archive_write_open_filename(w->a, path);
}

static void tw_add(struct tw *w, const char *name, mode_t mode, const char *data, const char *link,
		   bool hard)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, mode);
	archive_entry_set_mtime(e, 1000, 0);
	if (link && hard)
		archive_entry_set_hardlink(e, link);
	else if (link)
		archive_entry_set_symlink(e, link);
	archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
	archive_write_header(w->a, e);
	if (data)
		archive_write_data(w->a, data, strlen(data));
	archive_entry_free(e);
}

static void tw_close(struct tw *w)
{
	archive_write_close(w->a);
	archive_write_free(w->a);
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static int count_tmp(const char *dir)
{
	char cmd[512];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c tmp-", dir);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

/* One entry of a built cpio: its type bits, size and symlink target ("" if none). */
struct found {
	bool present;
	mode_t type, perm;
	int64_t size;
	char link[64];
};

static struct found cpio_entry(const char *cpio, const char *name)
{
	struct found f = {0};
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	archive_read_support_format_cpio(a);
	if (archive_read_open_filename(a, cpio, 16384) == ARCHIVE_OK)
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			if (strcmp(archive_entry_pathname(e), name))
				continue;
			f.present = true;
			f.type = archive_entry_filetype(e);
			f.perm = archive_entry_perm(e);
			f.size = archive_entry_size(e);
			if (archive_entry_symlink(e))
				snprintf(f.link, sizeof(f.link), "%s", archive_entry_symlink(e));
			break;
		}
	archive_read_free(a);
	return f;
}

/* Docker's init layer: mount points and /etc files added where the image lacks them. */
static void test_mount_points(const char *dir)
{
	struct o2v_build_opts opts = {.format = O2V_FORMAT_CPIO, .epoch = 5, .seed = "t"};
	struct o2v_error err = {0};
	struct o2v_layer_src layer;
	char tar[300], out[300];
	struct found f;
	struct tw w;

	/* FROM scratch: one file, nothing else. */
	snprintf(tar, sizeof(tar), "%s/scratch.tar", dir);
	snprintf(out, sizeof(out), "%s/scratch.cpio", dir);
	tw_open(&w, tar, false);
	tw_add(&w, "app", AE_IFREG | 0755, "#!/app\n", NULL, false);
	tw_close(&w);
	layer = (struct o2v_layer_src){.path = tar, .digest = "sha256:scratch"};
	TAP_IS_INT(o2v_rootfs_build(&layer, 1, &opts, out, &err), 0, "scratch image builds (%s)",
		   err.msg);
	static const char *const dirs[] = {"app_root/proc", "app_root/sys", "app_root/dev",
					   "app_root/etc"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		f = cpio_entry(out, dirs[i]);
		TAP_OK(f.present && f.type == AE_IFDIR, "scratch image gets the directory %s",
		       dirs[i]);
	}
	static const char *const files[] = {"app_root/etc/hosts", "app_root/etc/hostname",
					    "app_root/etc/resolv.conf"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		f = cpio_entry(out, files[i]);
		TAP_OK(f.present && f.type == AE_IFREG && f.size == 0,
		       "scratch image gets an empty %s", files[i]);
	}
	f = cpio_entry(out, "app_root/etc/mtab");
	TAP_OK(f.present && f.type == AE_IFLNK && !strcmp(f.link, "/proc/mounts"),
	       "scratch image gets /etc/mtab -> /proc/mounts ('%s')", f.link);
	TAP_OK(!cpio_entry(out, "app_root/tmp").present && !cpio_entry(out, "app_root/run").present,
	       "no /tmp or /run is made up (Docker makes none)");

	/* What the image has stays as it is. */
	snprintf(tar, sizeof(tar), "%s/has.tar", dir);
	snprintf(out, sizeof(out), "%s/has.cpio", dir);
	tw_open(&w, tar, false);
	tw_add(&w, "etc/", AE_IFDIR | 0700, NULL, NULL, false);
	tw_add(&w, "etc/hosts", AE_IFREG | 0644, "10.1.1.1 db\n", NULL, false);
	tw_add(&w, "etc/resolv.conf", AE_IFLNK | 0777, NULL, "../run/resolv.conf", false);
	tw_add(&w, "proc", AE_IFLNK | 0777, NULL, "/somewhere", false);
	tw_close(&w);
	layer = (struct o2v_layer_src){.path = tar, .digest = "sha256:has"};
	TAP_IS_INT(o2v_rootfs_build(&layer, 1, &opts, out, &err), 0, "image with /etc builds (%s)",
		   err.msg);
	f = cpio_entry(out, "app_root/etc/hosts");
	TAP_OK(f.present && f.size == 12, "the image's /etc/hosts is kept (%lld bytes)",
	       (long long)f.size);
	f = cpio_entry(out, "app_root/etc");
	TAP_OK(f.type == AE_IFDIR && f.perm == 0700, "the image's /etc keeps its mode (%o)",
	       (unsigned)f.perm);
	f = cpio_entry(out, "app_root/etc/resolv.conf");
	TAP_OK(f.type == AE_IFLNK && !strcmp(f.link, "../run/resolv.conf"),
	       "the image's resolv.conf symlink is kept ('%s')", f.link);
	f = cpio_entry(out, "app_root/proc");
	TAP_OK(f.type == AE_IFLNK && !strcmp(f.link, "/somewhere"),
	       "an image's /proc symlink is not replaced ('%s')", f.link);
	TAP_OK(cpio_entry(out, "app_root/etc/hostname").present,
	       "a missing /etc/hostname is added");

	/* /etc a symlink: nothing is added through it. */
	snprintf(tar, sizeof(tar), "%s/etclink.tar", dir);
	snprintf(out, sizeof(out), "%s/etclink.cpio", dir);
	tw_open(&w, tar, false);
	tw_add(&w, "etc", AE_IFLNK | 0777, NULL, "usr/etc", false);
	tw_add(&w, "usr/etc/", AE_IFDIR | 0755, NULL, NULL, false);
	tw_close(&w);
	layer = (struct o2v_layer_src){.path = tar, .digest = "sha256:etclink"};
	TAP_IS_INT(o2v_rootfs_build(&layer, 1, &opts, out, &err), 0,
		   "image with /etc a symlink builds (%s)", err.msg);
	TAP_OK(cpio_entry(out, "app_root/etc").type == AE_IFLNK &&
		   !cpio_entry(out, "app_root/usr/etc/hosts").present,
	       "/etc stays a symlink and nothing is added behind it");

	/* /etc a regular file: kept, nothing added. */
	snprintf(tar, sizeof(tar), "%s/etcfile.tar", dir);
	snprintf(out, sizeof(out), "%s/etcfile.cpio", dir);
	tw_open(&w, tar, false);
	tw_add(&w, "etc", AE_IFREG | 0644, "not a directory\n", NULL, false);
	tw_close(&w);
	layer = (struct o2v_layer_src){.path = tar, .digest = "sha256:etcfile"};
	TAP_IS_INT(o2v_rootfs_build(&layer, 1, &opts, out, &err), 0,
		   "image with /etc a regular file builds (%s)", err.msg);
	f = cpio_entry(out, "app_root/etc");
	TAP_OK(f.type == AE_IFREG && f.size == 16 && !cpio_entry(out, "app_root/etc/hosts").present,
	       "/etc stays a file and nothing is added under it");
}

static void tests(void)
{
	char dir[] = "/tmp/o2v-rootfs-test.XXXXXX";
	char l1[300], l2[300], bad[300], out[300], out2[300];
	struct o2v_layer_src layers[2];
	struct o2v_build_opts opts = {.format = O2V_FORMAT_CPIO, .epoch = 5, .seed = "t"};
	struct o2v_error err = {0};
	struct tw w;
	char *cached = NULL;
	int r;

	if (!mkdtemp(dir)) {
		TAP_OK(0, "mkdtemp");
		return;
	}
	snprintf(l1, sizeof(l1), "%s/l1.tar.gz", dir);
	snprintf(l2, sizeof(l2), "%s/l2.tar", dir);
	snprintf(bad, sizeof(bad), "%s/bad.tar", dir);
	snprintf(out, sizeof(out), "%s/out.cpio", dir);
	snprintf(out2, sizeof(out2), "%s/out.ext4", dir);

	tw_open(&w, l1, true);
	tw_add(&w, "etc/", AE_IFDIR | 0755, NULL, NULL, false);
	tw_add(&w, "etc/passwd", AE_IFREG | 0644, "root:x:0:0::/root:/bin/sh\n", NULL, false);
	tw_add(&w, "etc/gone", AE_IFREG | 0644, "x", NULL, false);
	tw_close(&w);
	tw_open(&w, l2, false);
	tw_add(&w, "etc/.wh.gone", AE_IFREG | 0644, NULL, NULL, false);
	tw_add(&w, "etc/pw2", AE_IFREG | 0644, NULL, "etc/passwd", true);
	tw_close(&w);
	layers[0] = (struct o2v_layer_src){.path = l1, .digest = "sha256:l1"};
	layers[1] = (struct o2v_layer_src){.path = l2, .digest = "sha256:l2"};

	r = o2v_rootfs_build(layers, 2, &opts, out, &err);
	TAP_IS_INT(r, 0, "cpio build of two layers succeeds (%s)", err.msg);
	TAP_OK(exists(out), "output file exists");
	TAP_IS_INT(count_tmp(dir), 0, "no temporary files left");

	opts.format = O2V_FORMAT_EXT4;
	r = o2v_rootfs_build(layers, 2, &opts, out2, &err);
	TAP_IS_INT(r, 0, "ext4 build of two layers succeeds (%s)", err.msg);

	/* A truncated layer: error names layer and fails atomically. */
	tw_open(&w, bad, false);
	tw_add(&w, "big", AE_IFREG | 0644, "0123456789abcdef0123456789abcdef", NULL, false);
	tw_close(&w);
	if (truncate(bad, 600) < 0)
		TAP_OK(0, "truncate");
	layers[1] = (struct o2v_layer_src){.path = bad, .digest = "sha256:bad"};
	snprintf(out, sizeof(out), "%s/never.cpio", dir);
	opts.format = O2V_FORMAT_CPIO;
	r = o2v_rootfs_build(layers, 2, &opts, out, &err);
	TAP_OK(r < 0, "truncated layer fails");
	TAP_OK(strstr(err.msg, "sha256:bad") != NULL, "error names the layer: %s", err.msg);
	TAP_OK(!exists(out), "no output on failure");
	TAP_IS_INT(count_tmp(dir), 0, "no temporary files left on failure");

	/* diff_id mismatch */
	layers[1] = (struct o2v_layer_src){.path = l2,
					   .digest = "sha256:l2",
					   .diff_id = "sha256:0000000000000000000000000000000000"
						      "000000000000000000000000000000"};
	r = o2v_rootfs_build(layers, 2, &opts, out, &err);
	TAP_OK(r == -EBADMSG && strstr(err.msg, "expected sha256:0000"),
	       "diff_id mismatch is an error: %s", err.msg);

	/* The cache: first a build, then a hit that does not read layers. */
	layers[1].diff_id = NULL;
	r = o2v_rootfs_build_cached(dir, "sha256:m", layers, 2, &opts, &cached, &err);
	TAP_IS_INT(r, 0, "first cached build builds (%s)", err.msg);
	free(cached);
	cached = NULL;
	layers[0].path = "/nonexistent/layer";
	r = o2v_rootfs_build_cached(dir, "sha256:m", layers, 2, &opts, &cached, &err);
	TAP_IS_INT(r, 1, "second cached build is a hit without reading layers");
	TAP_OK(cached && exists(cached), "cached image path exists");
	free(cached);

	test_mount_points(dir);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		TAP_OK(0, "cleanup");
}

int main(void)
{
	tests();
	return tap_done();
}
