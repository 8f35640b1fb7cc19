/* cmd_boot.c - `oci2vm boot [OPTIONS] INITRD`: boot an initramfs on the microVM kernel.
 *
 * Plumbing under `run` and `export`: no image, no run configuration, just the host <-> guest
 * contract (console on stdio, status port, control socket). Tests and users of exported
 * images use it. Exit status: the guest's `exit N`; without one 128+N when QEMU was killed by
 * signal N (e.g. after the stop grace period), else 125 (see vm/vm.h).
 */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>

#include "../common/fsutil.h"
#include "../vm/host.h"
#include "../vm/vm.h"
#include "assets.h"
#include "cli.h"
#include "commands.h"
#include "values.h"

/* Seconds between the `stop` sent for SIGINT/SIGTERM and killing QEMU. */
#define BOOT_STOP_GRACE	 5
#define BOOT_VOLUMES_MAX 16

struct boot_opts {
	const char *kernel, *append, *disk, *initrd;
	enum o2v_accel accel;
	uint64_t memory_mib;
	unsigned cpus;
	bool verbose, net;
	struct o2v_volspec volspecs[BOOT_VOLUMES_MAX]; /* HOST:GUEST[:ro], as run's -v */
	struct o2v_vm_volume volumes[BOOT_VOLUMES_MAX];
	size_t n_volumes;
};

static void boot_opts_release(struct boot_opts *o)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		o2v_volspec_release(&o->volspecs[i]);
}

/* HOST:GUEST[:ro]: the i-th shares HOST with the tag o2v_v<i>, which a run configuration
 * made with `oci2vm runconfig -v HOST:GUEST` mounts at GUEST. */
static int add_volume(struct boot_opts *o, const char *arg, struct o2v_error *err)
{
	struct o2v_volspec *v = &o->volspecs[o->n_volumes];
	int r;

	if (o->n_volumes == BOOT_VOLUMES_MAX)
		return o2v_error_set(err, -EINVAL, "at most %d volumes", BOOT_VOLUMES_MAX);
	if ((r = o2v_parse_volume(arg, v, err)) < 0)
		return r;
	o->volumes[o->n_volumes++] = (struct o2v_vm_volume){v->host, v->readonly};
	return 0;
}

enum { OPT_KERNEL = 256, OPT_ACCEL, OPT_MEMORY, OPT_CPUS, OPT_APPEND, OPT_DISK, OPT_NET };

static const struct option boot_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"accel", required_argument, NULL, OPT_ACCEL},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"append", required_argument, NULL, OPT_APPEND},
    {"disk", required_argument, NULL, OPT_DISK},
    {"net", no_argument, NULL, OPT_NET},
    {"volume", required_argument, NULL, 'V'},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static int apply_option(struct boot_opts *o, int c, const char *arg, struct o2v_error *err)
{
	switch (c) {
	case OPT_KERNEL:
		o->kernel = arg;
		return 0;
	case OPT_ACCEL:
		return o2v_accel_parse(arg, &o->accel, err);
	case OPT_MEMORY:
		return o2v_parse_memory("--memory", arg, &o->memory_mib, err);
	case OPT_CPUS:
		return o2v_parse_cpus("--cpus", arg, &o->cpus, err);
	case OPT_APPEND:
		o->append = arg;
		return 0;
	case OPT_DISK:
		o->disk = arg;
		return 0;
	case OPT_NET:
		o->net = true;
		return 0;
	case 'V':
		return add_volume(o, arg, err);
	case 'v':
		o->verbose = true;
		return 0;
	}
	return -EINVAL;
}

static int parse_args(struct boot_opts *o, int argc, char **argv, struct o2v_error *err)
{
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:v", boot_options, NULL)) != -1) {
		if (c == '?' || c == ':')
			return o2v_cli_bad_option(c, argc, argv, err);
		if ((r = apply_option(o, c, optarg, err)) < 0)
			return r;
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
	_cleanup_free_ char *kernel = NULL, *qemu = NULL, *net_guard = o2v_find_qemu_net_preload();
	enum o2v_accel accel;
	const char *note;
	struct o2v_launch l;
	int r;

	if ((r = o2v_kernel_find(o->kernel, &kernel, err)) < 0 ||
	    (r = o2v_qemu_find(NULL, &qemu, err)) < 0 ||
	    (r = o2v_accel_pick(o->accel, qemu, kernel, &accel, &note, err)) < 0)
		return r;
	if (note)
		o2v_cli_warn("%s", note);
	o2v_launch_init(&l);
	l.qemu = qemu;
	l.vm.kernel = kernel;
	l.vm.initrd = o->initrd;
	l.vm.disk = o->disk;
	l.vm.memory_mib = o->memory_mib;
	l.vm.cpus = o->cpus;
	l.vm.accel = accel;
	l.vm.append = o->append;
	l.vm.verbose = o->verbose;
	l.vm.net = o->net;
	l.net_guard = net_guard;
	l.vm.volumes = o->volumes;
	l.vm.n_volumes = o->n_volumes;
	l.state_dir = rundir;
	l.in_fd = STDIN_FILENO;
	l.out_fd = STDOUT_FILENO;
	l.err_fd = STDERR_FILENO;
	l.tty = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1;
	l.stop_grace = BOOT_STOP_GRACE;
	return o2v_vm_launch(&l, ret, err);
}

/* Socket paths must fit sun_path (108 bytes): a short private directory under $TMPDIR. */
static int make_rundir(char **ret, struct o2v_error *err)
{
	const char *tmp = getenv("TMPDIR");

	if (asprintf(ret, "%s/oci2vm-boot-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp") < 0) {
		*ret = NULL;
		return o2v_error_sys(err, -ENOMEM, "boot");
	}
	if (!mkdtemp(*ret))
		return o2v_error_sys(err, -errno, "create '%s'", *ret);
	return 0;
}

int cmd_boot(int argc, char **argv)
{
	struct boot_opts o = {
	    .accel = O2V_ACCEL_AUTO, .memory_mib = O2V_MEMORY_DEFAULT_MIB, .cpus = 1};
	struct o2v_error err = {0};
	struct o2v_vm_exit ex;
	_cleanup_free_ char *rundir = NULL;
	int r;

	if (parse_args(&o, argc, argv, &err) < 0) {
		boot_opts_release(&o);
		return o2v_cli_usage_error("boot", "%s", err.msg);
	}
	if ((r = check_inputs(&o, &err)) == 0 && (r = make_rundir(&rundir, &err)) == 0) {
		r = boot(&o, rundir, &ex, &err);
		o2v_rm_rf(rundir, NULL);
	}
	boot_opts_release(&o);
	if (r < 0) {
		o2v_cli_error("boot: %s", err.msg);
		return O2V_EXIT_RUN_FAILED;
	}
	/* An error init reported it has printed itself ("oci2vm-init: ..."). */
	if (!ex.reported)
		o2v_cli_error("%s", ex.message[0] ? ex.message : "the VM reported no exit status");
	return ex.code;
}
