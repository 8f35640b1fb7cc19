/* cmd_export.c - `oci2vm export REF OUTPUT`: an image as one bootable file.
 *
 * Pulls REF (when missing), builds the VM image through the VM-image cache
 * (so a second export of an unchanged image reads no layer), then copies it
 * to OUTPUT atomically (temporary file + rename; holes stay holes), or to
 * stdout for "-". The run.conf inside is the image's own default
 * (Entrypoint/Cmd/Env/WorkingDir/User, Docker's merge rules).
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "../common/fsutil.h"
#include "../common/runbuild.h"
#include "../rootfs/rootfs.h"
#include "../vm/vm.h"
#include "assets.h"
#include "cli.h"
#include "commands.h"
#include "pullopts.h"
#include "values.h"
#include "vmimage.h"

#define EXPORT_COPY_BUF (1024 * 1024)

const char cmd_export_usage[] =
    "usage: oci2vm export [OPTIONS] REF OUTPUT\n\n"
    "Write REF as a bootable initramfs (cpio, cpio.gz) or an ext4 root disk. The\n"
    "format comes from OUTPUT's extension (.cpio, .cpio.gz, .ext4, .img) or --format;\n"
    "OUTPUT '-' writes to stdout (then --format is required). Boot an exported\n"
    "initramfs with:\n"
    "  qemu-system-x86_64 -M microvm -nodefaults -no-user-config -nographic -no-reboot \\\n"
    "    -kernel vmlinux -initrd image.cpio.gz -append 'console=hvc0 reboot=t panic=-1' \\\n"
    "    -device virtio-serial-device,max_ports=1 -chardev stdio,id=con \\\n"
    "    -device virtconsole,chardev=con\n\n"
    "  --format ext4|cpio|cpio.gz     output format\n"
    "  --size SIZE                    ext4 size (e.g. 2G); default: content + "
    "headroom\n" O2V_PULL_USAGE;

enum { OPT_FORMAT = 0x2000, OPT_SIZE };

/* The image's own default run configuration: nothing asked on top of it. */
static int default_runconfig(const struct o2v_image *img, enum o2v_image_format fmt,
			     char **ret_text, struct o2v_error *err)
{
	const struct o2v_image_defaults defaults = {
	    .entrypoint = img->config.entrypoint,
	    .cmd = img->config.cmd,
	    .env = img->config.env,
	    .workdir = img->config.working_dir,
	    .user = img->config.user,
	};
	const struct o2v_run_request req = {
	    .rootdisk = fmt == O2V_FORMAT_EXT4 ? "/dev/vda" : NULL,
	    .stop_grace = O2V_STOP_GRACE_DEFAULT,
	};

	return o2v_runconfig_build_text(&defaults, &req, ret_text, NULL, err);
}

/* Copy src to fd; with sparse, skip holes (the file is pre-sized). */
static int copy_image(const char *src, int fd, bool sparse, struct o2v_error *err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = malloc(EXPORT_COPY_BUF);
	struct stat st;
	off_t pos = 0;

	if (in < 0 || fstat(in, &st) < 0)
		return o2v_error_sys(err, -errno, "open '%s'", src);
	if (!buf)
		return o2v_error_sys(err, -ENOMEM, "copy image");
	/* A reflink where the file system has them (btrfs, xfs): instant, shares blocks.
	 * Elsewhere (ext4) copy_file_range measured slower than this loop, so no middle way. */
	if (sparse && ioctl(fd, FICLONE, in) == 0)
		return 0;
	if (sparse && ftruncate(fd, st.st_size) < 0)
		return o2v_error_sys(err, -errno, "size the output");
	while (pos < st.st_size) {
		off_t data = sparse ? lseek(in, pos, SEEK_DATA) : pos;
		ssize_t n;
		if (data < 0)
			break; /* only a hole is left */
		n = O2V_RETRY(pread(in, buf, EXPORT_COPY_BUF, data));
		if (n < 0)
			return o2v_error_sys(err, -errno, "read '%s'", src);
		if (n == 0)
			break;
		if (sparse) {
			if (O2V_RETRY(pwrite(fd, buf, (size_t)n, data)) != n)
				return o2v_error_sys(err, -errno, "write the output");
		} else {
			int r = o2v_write_all(fd, buf, (size_t)n);
			if (r < 0)
				return o2v_error_sys(err, r, "write the output");
		}
		pos = data + n;
	}
	return 0;
}

static int export_image(struct o2v_cache *cache, const struct o2v_image *img,
			enum o2v_image_format fmt, uint64_t size, const char *output,
			struct o2v_error *err)
{
	struct o2v_build_opts opts = {.format = fmt, .size = size, .seed = img->manifest_digest};
	_cleanup_free_ char *init = NULL, *busybox = NULL, *rc = NULL, *built = NULL;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int r;

	if (sde)
		opts.epoch = strtoll(sde, NULL, 10);
	r = o2v_find_init(&init, err);
	if (r == 0)
		r = o2v_find_busybox(&busybox, err);
	if (r == 0)
		r = default_runconfig(img, fmt, &rc, err);
	opts.init_path = init;
	opts.busybox_path = busybox;
	opts.runconfig = rc;
	if (r == 0)
		r = o2v_vmimage_get(cache, img, &opts, &built, err);
	if (r >= 0) {
		if (!strcmp(output, "-")) {
			r = copy_image(built, STDOUT_FILENO, false, err);
		} else {
			struct o2v_tmpfile tf;
			r = o2v_tmpfile_open(&tf, output, err);
			if (r == 0) {
				r = copy_image(built, tf.fd, true, err);
				if (r == 0)
					r = o2v_tmpfile_commit(&tf, 0644, err);
				else
					o2v_tmpfile_release(&tf);
			}
		}
	}
	return r < 0 ? r : 0;
}

struct export_args {
	struct o2v_pull_cli po;
	enum o2v_image_format fmt;
	uint64_t size;
	const char *ref, *output;
};

/* Options and operands; 0, or an exit code with the usage error printed. */
static int parse_args(struct export_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {{"format", required_argument, NULL, OPT_FORMAT},
						 {"size", required_argument, NULL, OPT_SIZE},
						 O2V_PULL_LONGOPTS,
						 {NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	bool have_format = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:" O2V_PULL_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			o2v_cli_bad_option(c, argc, argv, &err);
			return o2v_cli_usage_error("export", "%s", err.msg);
		}
		if (c == OPT_FORMAT) {
			if (o2v_format_parse(optarg, &a->fmt, &err) < 0)
				return o2v_cli_usage_error("export", "%s", err.msg);
			have_format = true;
		} else if (c == OPT_SIZE) {
			if (o2v_parse_size(optarg, &a->size, &err) < 0 || a->size == 0)
				return o2v_cli_usage_error("export", "bad --size '%s' (e.g. 512M, 2G)",
							   optarg);
		} else if ((r = o2v_pull_cli_option(&a->po, c, optarg, &err)) <= 0) {
			if (r == 0)
				o2v_error_set(&err, -EINVAL, "unknown option '%s'", argv[optind - 1]);
			return r == 0 || r == -EINVAL ? o2v_cli_usage_error("export", "%s", err.msg)
						      : o2v_cli_fail(&err);
		}
	}
	if (argc - optind != 2)
		return o2v_cli_usage_error("export", "expected an image reference and an output file");
	a->ref = argv[optind];
	a->output = argv[optind + 1];
	if (!have_format) {
		if (!strcmp(a->output, "-"))
			return o2v_cli_usage_error("export", "writing to stdout needs --format");
		if (o2v_format_from_path(a->output, &a->fmt, &err) < 0)
			return o2v_cli_usage_error("export", "%s", err.msg);
	}
	if (a->size && a->fmt != O2V_FORMAT_EXT4)
		return o2v_cli_usage_error("export", "--size applies to the ext4 format only");
	return 0;
}

int cmd_export(int argc, char **argv)
{
	struct export_args a = {.fmt = O2V_FORMAT_CPIO_GZ};
	struct o2v_error err = {0};
	struct o2v_ref ref = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_image *img = NULL;
	int code, r = 0;

	o2v_pull_cli_init(&a.po);
	if ((code = parse_args(&a, argc, argv)) != 0 || (code = o2v_cli_ref(a.ref, &ref)) != 0 ||
	    (code = o2v_cli_cache_open(&cache)) != 0)
		goto out;
	if (o2v_pull_cli_prepare(&a.po, O2V_PULL_MISSING) < 0) {
		code = O2V_EXIT_FAILURE;
		goto out;
	}
	/* A cached image is exported without asking the registry (as run does). */
	if (!o2v_cli_cached_image(cache, &ref, a.po.platform ? a.po.platform : O2V_VM_PLATFORM,
				  &img))
		r = o2v_pull(cache, &ref, &a.po.opts, &img, &err);
	o2v_pull_cli_done(&a.po);
	if (r == 0)
		r = export_image(cache, img, a.fmt, a.size, a.output, &err);
	if (r < 0) {
		o2v_error_prefix(&err, "export '%s'", ref.normalized);
		code = o2v_cli_fail(&err);
	}
out:
	o2v_image_free(img);
	o2v_cache_close(cache);
	o2v_ref_release(&ref);
	o2v_pull_cli_release(&a.po);
	return code;
}
