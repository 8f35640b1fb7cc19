/* build.c - o2v_rootfs_build: layers -> merged tree -> VM image file.
 *
 * The container's tree is built on its own (so that "/" and ".." in the
 * image resolve to the container root), then hung under /app_root of a small
 * VM tree that also holds /init, /bin/busybox, /.oci2vm/run.conf and
 * /dev/console (docs/vm-contract.md). Peak memory is the tree's metadata plus a
 * few MiB of buffers; contents go through the spool (spool.h).
 */
#include "../common/o2v.h"

#include <libgen.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "layer.h"
#include "tree.h"
#include "writer.h"

#define VM_FILE_MAX (256ULL << 20) /* init, busybox: sanity cap */

static int add_path(struct o2v_tree *t, const char *path, struct o2v_entry *e, uint32_t layer,
		    struct o2v_error *err)
{
	struct o2v_path p;
	int r = o2v_tree_split_path(path, &p, err);

	if (r == 0)
		r = o2v_tree_add(t, &p, e, layer, err);
	o2v_path_release(&p);
	return r < 0 ? o2v_error_prefix(err, "add '%s'", path) : 0;
}

static int add_host_file(struct o2v_tree *t, struct o2v_spool *sp, const char *path,
			 const char *src, mode_t mode, int64_t epoch, struct o2v_error *err)
{
	struct o2v_entry e = {.mode = S_IFREG | mode, .mtime = epoch};
	int r = o2v_spool_add_file(sp, src, VM_FILE_MAX, &e.spool_off, &e.size, err);

	return r < 0 ? r : add_path(t, path, &e, 0, err);
}

/* After Docker's "init layer": what the container's mounts and init's bind-mounted /etc files
 * need, added to the container's tree where the image lacks it. At build time, once per image,
 * because creating them on the ext4 root disk at each boot would run ext4's write path (and
 * the journal) for the first time on the way to the workload: ~10 ms under TCG for an image
 * built FROM scratch. Unlike Docker's layer, which replaces these paths (with mode 0755
 * files), what the image has is kept as it is, a symlink too (init follows it), and new
 * files get 0644, as init's own. */
static int add_mount_points(struct o2v_tree *app, uint32_t layer, int64_t epoch,
			    struct o2v_error *err)
{
	static const struct {
		const char *path;
		mode_t mode;
		const char *target;
	} points[] = {
	    {"proc", S_IFDIR | 0755, NULL},
	    {"sys", S_IFDIR | 0755, NULL},
	    {"dev", S_IFDIR | 0755, NULL},
	    {"etc", S_IFDIR | 0755, NULL},
	    {"etc/hosts", S_IFREG | 0644, NULL},
	    {"etc/hostname", S_IFREG | 0644, NULL},
	    {"etc/resolv.conf", S_IFREG | 0644, NULL},
	    {"etc/mtab", S_IFLNK | 0777, "/proc/mounts"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(points); i++) {
		if (o2v_tree_lookup(app, points[i].path))
			continue;
		/* Only inside a real /etc (added above if missing): an image whose /etc is a
		 * symlink or a file keeps it. */
		if (!strncmp(points[i].path, "etc/", 4) &&
		    !S_ISDIR(o2v_tree_lookup(app, "etc")->mode))
			continue;
		struct o2v_entry e = {
		    .mode = points[i].mode, .mtime = epoch, .target = points[i].target};
		int r = add_path(app, points[i].path, &e, layer, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The VM's own files around the container root (docs/vm-contract.md). */
static int make_vm_tree(struct o2v_tree *vm, struct o2v_tree *app, struct o2v_spool *sp,
			const struct o2v_build_opts *opts, struct o2v_error *err)
{
	struct o2v_entry console = {
	    .mode = S_IFCHR | 0600, .rdev_major = 5, .rdev_minor = 1, .mtime = opts->epoch};
	int r = o2v_tree_init(vm, opts->epoch, err);

	if (r < 0)
		return r;
	if (opts->init_path) {
		r = add_host_file(vm, sp, "init", opts->init_path, 0755, opts->epoch, err);
		if (r < 0)
			return r;
	}
	if (opts->busybox_path) {
		r = add_host_file(vm, sp, "bin/busybox", opts->busybox_path, 0755, opts->epoch,
				  err);
		if (r < 0)
			return r;
	}
	if (opts->runconfig) {
		struct o2v_entry e = {.mode = S_IFREG | 0644, .mtime = opts->epoch};
		e.size = strlen(opts->runconfig);
		r = o2v_spool_add_data(sp, opts->runconfig, e.size, &e.spool_off);
		if (r < 0)
			return o2v_error_sys(err, r, "write content spool");
		r = add_path(vm, ".oci2vm/run.conf", &e, 0, err);
		if (r < 0)
			return r;
	}
	r = add_path(vm, "dev/console", &console, 0, err);
	if (r < 0)
		return r;
	return o2v_tree_attach(vm, vm->root, "app_root", app->root, err);
}

static int write_image(struct o2v_tree *vm, struct o2v_spool *sp, const struct o2v_build_opts *opts,
		       const char *out_path, struct o2v_error *err)
{
	struct o2v_tmpfile tf;
	int r = o2v_tmpfile_open(&tf, out_path, err);

	if (r < 0)
		return r;
	if (opts->format == O2V_FORMAT_EXT4)
		r = o2v_ext4_write(vm, sp, tf.tmp_path, tf.fd, opts, err);
	else
		r = o2v_cpio_write(vm->root, sp, tf.fd, opts->format == O2V_FORMAT_CPIO_GZ, err);
	if (r < 0) {
		o2v_tmpfile_release(&tf);
		return r;
	}
	return o2v_tmpfile_commit(&tf, 0644, err);
}

int o2v_rootfs_build(const struct o2v_layer_src *layers, size_t n_layers,
		     const struct o2v_build_opts *opts, const char *out_path, struct o2v_error *err)
{
	_cleanup_free_ char *dir_copy = strdup(out_path);
	struct o2v_spool sp = {.fd = -1};
	struct o2v_tree app = {0}, vm = {0};
	locale_t utf8, old = (locale_t)0;
	int r;

	if (!dir_copy)
		return o2v_error_sys(err, -ENOMEM, "build '%s'", out_path);
	if (n_layers >= UINT32_MAX)
		return o2v_error_set(err, -E2BIG, "too many layers");
	/* libarchive converts tar names to the locale's charset: use UTF-8 on
	 * this thread so non-ASCII names survive byte-exact (without touching
	 * the process-wide locale). */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8)
		old = uselocale(utf8);

	r = o2v_spool_open(&sp, opts->tmp_dir ? opts->tmp_dir : dirname(dir_copy), err);
	if (r < 0)
		goto out;
	r = o2v_tree_init(&app, opts->epoch, err);
	if (r < 0)
		goto out;
	struct o2v_layer_limits lim = {
	    .max_unpacked = opts->max_unpacked ? opts->max_unpacked : O2V_MAX_UNPACKED_DEFAULT,
	    .max_expansion = opts->max_expansion ? opts->max_expansion
						 : O2V_MAX_EXPANSION_DEFAULT,
	};
	lim.unpacked_left = lim.max_unpacked;
	for (size_t i = 0; i < n_layers; i++) {
		r = o2v_layer_apply(&app, &sp, &layers[i], (uint32_t)i + 1, &lim, err);
		if (r < 0)
			goto out;
	}
	r = add_mount_points(&app, (uint32_t)n_layers + 1, opts->epoch, err);
	if (r < 0)
		goto out;
	r = make_vm_tree(&vm, &app, &sp, opts, err);
	if (r < 0)
		goto out;
	r = write_image(&vm, &sp, opts, out_path, err);
out:
	o2v_tree_release(&vm);
	o2v_tree_release(&app);
	o2v_spool_close(&sp);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return r < 0 ? r : 0;
}
