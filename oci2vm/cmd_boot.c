/* cmd_boot.c - `oci2vm boot [OPTIONS] INITRD`: boot an initramfs on the microVM kernel.
 *
 * Plumbing under `run` and `export`: no image, no run configuration, just the host <-> guest
 * contract (console on stdio, status port, control socket). Tests and users of exported
 * images use it. Exit status: the guest's `exit N`; without one 128+N when QEMU was killed by
 * signal N (e.g. after the stop grace period), else 125 (see supervise.h).
 */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>

#include "../common/fsutil.h"
#include "cli.h"
#include "commands.h"
#include "qemu.h"
#include "supervise.h"

/* Seconds between the `stop` sent for SIGINT/SIGTERM and killing QEMU. */
#define BOOT_STOP_GRACE	 5
#define BOOT_VOLUMES_MAX 16

struct boot_opts {
	const char *kernel, *append, *disk, *initrd;
	enum o2v_accel accel;
	uint64_t memory_mib;
	unsigned cpus;
	bool verbose, net;
	struct o2v_qemu_volume volumes[BOOT_VOLUMES_MAX];
	char *volume_specs[BOOT_VOLUMES_MAX]; /* owned copies the volumes point into */
	size_t n_volumes;
};

static void boot_opts_release(struct boot_opts *o)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		free(o->volume_specs[i]);
}

/* DIR:TAG[:ro] */
static int parse_volume(struct boot_opts *o, const char *arg, struct o2v_error *err)
{
	char *spec, *tag, *mode;

	if (o->n_volumes == BOOT_VOLUMES_MAX)
		return o2v_error_set(err, -EINVAL, "at most %d volumes", BOOT_VOLUMES_MAX);
	if (!(spec = strdup(arg)))
		return o2v_error_sys(err, -ENOMEM, "parse --volume");
	o->volume_specs[o->n_volumes] = spec;
	tag = strchr(spec, ':');
	if (!tag || tag == spec || !tag[1]) {
		o->volume_specs[o->n_volumes] = NULL;
		free(spec);
		return o2v_error_set(err, -EINVAL, "--volume '%s': expected DIR:TAG[:ro]", arg);
	}
	*tag++ = '\0';
	mode = strchr(tag, ':');
	if (mode)
		*mode++ = '\0';
	o->volumes[o->n_volumes] = (struct o2v_qemu_volume){
	    .host = spec,
	    .tag = tag,
	    .readonly = mode && !strcmp(mode, "ro"),
	};
	o->n_volumes++;
	if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
		return o2v_error_set(err, -EINVAL, "--volume '%s': mode must be ro or rw", arg);
	return 0;
}

static int parse_args(struct boot_opts *o, int argc, char **argv, struct o2v_error *err)
{
	enum {
		OPT_KERNEL = 256,
		OPT_ACCEL,
		OPT_MEMORY,
		OPT_CPUS,
		OPT_APPEND,
		OPT_DISK,
		OPT_NET,
		OPT_VOLUME
	};
	static const struct option longopts[] = {
	    {"kernel", required_argument, NULL, OPT_KERNEL},
	    {"accel", required_argument, NULL, OPT_ACCEL},
	    {"memory", required_argument, NULL, OPT_MEMORY},
	    {"cpus", required_argument, NULL, OPT_CPUS},
	    {"append", required_argument, NULL, OPT_APPEND},
	    {"disk", required_argument, NULL, OPT_DISK},
	    {"net", no_argument, NULL, OPT_NET},
	    {"volume", required_argument, NULL, OPT_VOLUME},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t bytes;
	char *end;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+v", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_ACCEL:
			if ((r = o2v_accel_parse(optarg, &o->accel, err)) < 0)
				return r;
			break;
		case OPT_MEMORY:
			if ((r = o2v_parse_size(optarg, &bytes, err)) < 0)
				return r;
			if (bytes < (uint64_t)O2V_MEMORY_MIN_MIB << 20)
				return o2v_error_set(err, -EINVAL, "--memory '%s': at least %d MiB",
						     optarg, O2V_MEMORY_MIN_MIB);
			o->memory_mib = bytes >> 20;
			break;
		case OPT_CPUS:
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 1 || n > O2V_CPUS_MAX)
				return o2v_error_set(err, -EINVAL, "--cpus '%s': expected 1 to %d",
						     optarg, O2V_CPUS_MAX);
			o->cpus = (unsigned)n;
			break;
		case OPT_APPEND:
			o->append = optarg;
			break;
		case OPT_DISK:
			o->disk = optarg;
			break;
		case OPT_NET:
			o->net = true;
			break;
		case OPT_VOLUME:
			if ((r = parse_volume(o, optarg, err)) < 0)
				return r;
			break;
		case 'v':
			o->verbose = true;
			break;
		default:
			return o2v_error_set(err, -EINVAL, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return o2v_error_set(err, -EINVAL, "expected one INITRD");
	o->initrd = argv[optind];
	return 0;
}

/* Files the VM is given must exist now: QEMU's own message for a missing file is obscure. */
static int check_inputs(const struct boot_opts *o, struct o2v_error *err)
{
	if (access(o->initrd, R_OK) < 0)
		return o2v_error_sys(err, -errno, "initrd '%s'", o->initrd);
	if (o->disk && access(o->disk, R_OK | W_OK) < 0)
		return o2v_error_sys(err, -errno, "disk '%s'", o->disk);
	for (size_t i = 0; i < o->n_volumes; i++)
		if (access(o->volumes[i].host, R_OK | X_OK) < 0)
			return o2v_error_sys(err, -errno, "volume '%s'", o->volumes[i].host);
	return 0;
}

static int boot(const struct boot_opts *o, const char *rundir, struct o2v_vm_exit *ret,
		struct o2v_error *err)
{
	_cleanup_free_ char *kernel = NULL, *qemu = NULL, *con = NULL, *ser = NULL, *ctl = NULL,
			    *st = NULL, *log = NULL;
	_cleanup_strv_ char **argv = NULL;
	struct o2v_vm_spec spec;
	int r;

	if ((r = o2v_kernel_find(o->kernel, &kernel, err)) < 0)
		return r;
	if ((r = o2v_qemu_find(NULL, &qemu, err)) < 0)
		return r;
	if (!(con = o2v_path_join(rundir, "console.sock")) ||
	    !(ser = o2v_path_join(rundir, "serial.sock")) ||
	    !(ctl = o2v_path_join(rundir, "ctl.sock")) || !(st = o2v_path_join(rundir, "status")) ||
	    !(log = o2v_path_join(rundir, "qemu.log")))
		return o2v_error_sys(err, -ENOMEM, "boot");

	o2v_vm_spec_init(&spec);
	spec.qemu = qemu;
	spec.kernel = kernel;
	spec.initrd = o->initrd;
	spec.disk = o->disk;
	spec.memory_mib = o->memory_mib;
	spec.cpus = o->cpus;
	o2v_vm_spec_set_accel(&spec, o->accel);
	spec.append = o->append;
	spec.verbose = o->verbose;
	spec.console_sock = con;
	spec.serial_sock = o->verbose ? ser : NULL;
	spec.status_path = st;
	spec.control_path = ctl;
	spec.net = o->net;
	spec.volumes = o->volumes;
	spec.n_volumes = o->n_volumes;
	if ((r = o2v_qemu_argv(&spec, &argv, err)) < 0)
		return r;

	struct o2v_supervise sup = {
	    .qemu_argv = argv,
	    .console_sock = con,
	    .serial_sock = o->verbose ? ser : NULL,
	    .ctl_sock = ctl,
	    .status_path = st,
	    .qemu_log = log,
	    .in_fd = STDIN_FILENO,
	    .out_fd = STDOUT_FILENO,
	    .tty = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1,
	    .stop_grace = BOOT_STOP_GRACE,
	};
	return o2v_supervise_run(&sup, ret, err);
}

int cmd_boot(int argc, char **argv)
{
	struct boot_opts o = {
	    .accel = O2V_ACCEL_AUTO, .memory_mib = O2V_MEMORY_DEFAULT_MIB, .cpus = 1};
	struct o2v_error err = {0};
	struct o2v_vm_exit ex;
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *rundir = NULL;
	int r;

	if ((r = parse_args(&o, argc, argv, &err)) < 0) {
		boot_opts_release(&o);
		return o2v_cli_usage_error("boot", "%s", err.msg);
	}
	if ((r = check_inputs(&o, &err)) < 0)
		goto fail;
	/* Socket paths must fit sun_path (108 bytes): a short private directory under /tmp. */
	if (asprintf(&rundir, "%s/oci2vm-boot-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp") < 0) {
		rundir = NULL;
		r = o2v_error_sys(&err, -ENOMEM, "boot");
		goto fail;
	}
	if (!mkdtemp(rundir)) {
		r = o2v_error_sys(&err, -errno, "create '%s'", rundir);
		goto fail;
	}
	r = boot(&o, rundir, &ex, &err);
	o2v_rm_rf(rundir, NULL);
	if (r < 0)
		goto fail;
	boot_opts_release(&o);
	/* An error init reported it has printed itself ("oci2vm-init: ..."). */
	if (!ex.reported)
		o2v_cli_error("%s", ex.message[0] ? ex.message : "the VM reported no exit status");
	return ex.code;
fail:
	boot_opts_release(&o);
	o2v_cli_error("boot: %s", err.msg);
	return O2V_EXIT_RUN_FAILED;
}
