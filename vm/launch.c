/* launch.c - o2v_vm_launch(), the one way a VM starts; see vm.h.
 *
 * resources + state directory + stdio → QEMU's argv (qemu_argv.c) → helpers (helpers.c)
 * → QEMU under the supervisor (supervise.c) → how it ended.
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <string.h>

#include "../common/strv.h"
#include "helpers.h"
#include "host.h"
#include "netguard.h"
#include "qemu.h"
#include "snapshot.h"
#include "supervise.h"

#define HELPERS_MAX  8
#define PASS_FDS_MAX 64

void o2v_launch_init(struct o2v_launch *l)
{
	*l = (struct o2v_launch){
	    .vm = {.memory_mib = O2V_MEMORY_DEFAULT_MIB, .cpus = 1, .accel = O2V_ACCEL_AUTO},
	    .in_fd = -1,
	    .out_fd = -1,
	    .err_fd = -1,
	};
}

static int fill_spec(struct o2v_vm_spec *spec, const struct o2v_launch *l,
		     const struct o2v_vm_files *f, const char *qemu, struct o2v_error *err)
{
	enum o2v_accel accel;
	const char *note;
	int r;

	o2v_vm_spec_init(spec);
	spec->qemu = qemu;
	spec->r = l->vm;
	/* The caller picked (and said why) already: then this is the probe's cached verdict. */
	if ((r = o2v_accel_pick(l->vm.accel, qemu, l->vm.kernel, &accel, &note, err)) < 0)
		return r;
	o2v_vm_spec_set_accel(spec, accel); /* also the host TSC rate for TCG */
	spec->console_sock = f->path[O2V_VM_CONSOLE_SOCK];
	spec->serial_sock = l->vm.verbose ? f->path[O2V_VM_SERIAL_SOCK] : NULL;
	spec->status_sock = f->path[O2V_VM_STATUS_SOCK];
	spec->control_path = f->path[O2V_VM_CTL_SOCK];
	spec->stdout_sock = l->vm.stdio_ports ? f->path[O2V_VM_STDOUT_SOCK] : NULL;
	spec->stderr_sock = l->vm.stdio_ports ? f->path[O2V_VM_STDERR_SOCK] : NULL;
	spec->exec_sock = l->vm.exec_port ? f->path[O2V_VM_EXEC_PORT_SOCK] : NULL;
	return 0;
}

/* Volumes asking for O2V_9P_AUTO get their directory's model (volumes.c), in a copy. */
static struct o2v_vm_volume *resolve_volumes(const struct o2v_launch *l)
{
	struct o2v_vm_volume *v = calloc(l->vm.n_volumes + 1, sizeof(*v));

	for (size_t i = 0; v && i < l->vm.n_volumes; i++) {
		v[i] = l->vm.volumes[i];
		if (v[i].model == O2V_9P_AUTO)
			v[i].model = o2v_volume_model(v[i].host);
	}
	return v;
}

static int run_with_helpers(const struct o2v_launch *l, const struct o2v_supervise *sup,
			    struct o2v_vm_exit *ret, struct o2v_error *err)
{
	pid_t pids[HELPERS_MAX];
	int r;

	if (l->n_helpers > HELPERS_MAX)
		return o2v_error_set(err, -E2BIG, "at most %d helper processes", HELPERS_MAX);
	r = o2v_helpers_start(l->helpers, l->n_helpers, l->netns,
			      sup->files->path[O2V_VM_HELPERS_LOG], pids, err);
	if (r < 0)
		return r;
	struct o2v_supervise watched = *sup;
	watched.helpers = pids;
	watched.n_helpers = l->n_helpers;
	r = o2v_supervise_run(&watched, ret, err);
	o2v_helpers_stop(pids, l->n_helpers);
	return r;
}

/* QEMU with the network guard: preloaded, told whether the loopback is open, and given the
 * write end of a pipe on which the guard acknowledges (netguard.h). Without a network (or
 * without a guard, allowed only with host_loopback) QEMU runs as it is. */
struct guard {
	int ack[2];
	int fds[PASS_FDS_MAX];
	char loopback_env[64], fd_env[64];
	char *env[3];
};

/* fds: what QEMU keeps (the caller's pass_fds, a snapshot), n of them. */
static int guard_prepare(struct guard *g, const struct o2v_launch *l, const int *fds, size_t n,
			 struct o2v_supervise *sup, struct o2v_error *err)
{
	*g = (struct guard){.ack = {-1, -1}};
	sup->qemu.pass_fds = fds;
	sup->qemu.n_pass_fds = n;
	if (!l->net_guard || !(l->vm.net || l->vm.n_ports))
		return 0;
	if (n + 1 > PASS_FDS_MAX)
		return o2v_error_set(err, -E2BIG, "at most %d descriptors", PASS_FDS_MAX - 1);
	if (pipe2(g->ack, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "start QEMU");
	if (n)
		memcpy(g->fds, fds, n * sizeof(*g->fds));
	g->fds[n] = g->ack[1];
	snprintf(g->fd_env, sizeof(g->fd_env), "%s=%d", O2V_NETGUARD_ACK_ENV, g->ack[1]);
	snprintf(g->loopback_env, sizeof(g->loopback_env), "%s=%d", O2V_NETGUARD_ENV,
		 l->vm.host_loopback);
	g->env[0] = g->loopback_env;
	g->env[1] = g->fd_env;
	sup->qemu.preload = l->net_guard;
	sup->qemu.setenv = g->env;
	sup->qemu.pass_fds = g->fds;
	sup->qemu.n_pass_fds = n + 1;
	sup->guard_ack = g->ack[0];
	sup->guard_ack_wr = &g->ack[1];
	return 0;
}

static void guard_release(struct guard *g)
{
	o2v_closep(&g->ack[0]);
	o2v_closep(&g->ack[1]);
}

/* One QEMU from spec: booted, or restored from snap (RESTORE), or saved into it (MAKE). */
static int launch_once(const struct o2v_launch *l, const struct o2v_vm_files *files,
		       const struct o2v_vm_spec *spec, struct o2v_snapshot *snap,
		       bool *restore_failed, bool *saved, struct o2v_vm_exit *ret,
		       struct o2v_error *err)
{
	struct o2v_vm_spec sp = *spec;
	_cleanup_strv_ char **argv = NULL;
	int fds[PASS_FDS_MAX];
	size_t n = l->n_pass_fds;
	struct guard g;
	int r;

	if (n + 1 >= PASS_FDS_MAX)
		return o2v_error_set(err, -E2BIG, "at most %d descriptors", PASS_FDS_MAX - 2);
	if (n)
		memcpy(fds, l->pass_fds, n * sizeof(*fds));
	if (snap && snap->mode == O2V_SNAPSHOT_RESTORE) {
		/* Loaded over QMP (supervise.c) from a descriptor, not "exec:": QEMU's sandbox
		 * forbids it to spawn anything. */
		sp.r.incoming = "defer";
		sp.qmp_sock = files->path[O2V_VM_QMP_SOCK];
		sp.r.initrd = snap->initrd; /* what the saved VM was booted from */
		sp.ram_file = snap->ram;
		sp.ram_shared = false;
		fds[n++] = snap->state_fd;
	} else if (snap && snap->mode == O2V_SNAPSHOT_MAKE) {
		sp.qmp_sock = files->path[O2V_VM_QMP_SOCK];
		sp.ram_file = snap->make_ram;
		sp.ram_shared = true;
	}
	for (size_t i = 0; i < sp.r.n_volumes; i++)
		if (sp.r.volumes[i].vhost_user && sp.ram_file && !sp.ram_shared)
			return o2v_error_set(err, -EINVAL,
					     "virtio-fs needs the guest's memory shared: not with a "
					     "restored snapshot");
	if ((r = o2v_qemu_argv(&sp, &argv, err)) < 0)
		return r;
	struct o2v_supervise sup = {
	    .qemu = {.argv = argv, .netns = l->netns},
	    .files = files,
	    .serial = l->vm.verbose,
	    .stdio_ports = l->vm.stdio_ports,
	    .exec_port = l->vm.exec_port,
	    .io = l,
	    .guard_ack = -1,
	    .runconfig = l->runconfig,
	    .runconfig_len = l->runconfig ? strlen(l->runconfig) : 0,
	    .snapshot = snap,
	    .restore_failed = restore_failed,
	    .saved = saved,
	};
	if ((r = guard_prepare(&g, l, fds, n, &sup, err)) == 0)
		r = run_with_helpers(l, &sup, ret, err);
	guard_release(&g);
	unlink(files->path[O2V_VM_QMP_SOCK]);
	return r;
}

static void warn(const struct o2v_launch *l, const char *msg)
{
	if (l->warn && msg[0])
		l->warn(msg, l->userdata);
}

/* With snapshots: restore; or boot, save and restore; when a restore fails, boot and save
 * a new one (and when that fails too, boot cold). */
static int launch_vm(const struct o2v_launch *l, const struct o2v_vm_files *files,
		     const struct o2v_vm_spec *spec, struct o2v_vm_exit *ret, struct o2v_error *err)
{
	struct o2v_snapshot snap = {.lock_fd = -1, .state_fd = -1};
	bool use = l->runconfig && l->snapshot_dir;
	char msg[O2V_VM_MESSAGE_MAX];
	int r;

	if (use) {
		o2v_snapshot_prepare(&snap, l->snapshot_dir, spec, l->snapshot_inputs, msg,
				     sizeof(msg));
		o2v_proto_sanitize(msg);
		warn(l, msg);
	}
	bool made = false;
	for (int attempt = 0; attempt < 4; attempt++) {
		bool restore_failed = false, saved = false;
		r = launch_once(l, files, spec, use ? &snap : NULL, &restore_failed, &saved, ret,
				err);
		if (r < 0)
			break;
		if (saved) {
			made = true;
			if (!o2v_snapshot_reload(&snap))
				warn(l, "the snapshot just saved is gone: booting cold");
			continue;
		}
		if (!restore_failed)
			break;
		snprintf(msg, sizeof(msg),
			 "the snapshot of this VM's shape did not restore (%.300s): %s",
			 ret->message[0] ? ret->message : "the VM never spoke",
			 made ? "booting cold" : "booting cold and saving a new one");
		o2v_proto_sanitize(msg);
		warn(l, msg);
		o2v_snapshot_discard(&snap, !made);
	}
	o2v_snapshot_release(&snap);
	return r;
}

int o2v_vm_launch(const struct o2v_launch *l, struct o2v_vm_exit *ret, struct o2v_error *err)
{
	_cleanup_free_ char *qemu = NULL;
	_cleanup_free_ struct o2v_vm_volume *volumes = resolve_volumes(l);
	struct o2v_vm_files files;
	struct o2v_vm_spec spec;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->code = O2V_EXIT_INIT_FAILED;
	if (!l->state_dir)
		return o2v_error_set(err, -EINVAL, "a VM needs a state directory");
	if (!volumes)
		return o2v_error_sys(err, -ENOMEM, "launch");
	if ((r = o2v_qemu_find(l->qemu, &qemu, err)) < 0)
		return r;
	/* The guard is the boundary: without it, no network that should not reach the host. */
	if ((l->vm.net || l->vm.n_ports) && !l->vm.host_loopback && !l->net_guard)
		return o2v_error_set(
		    err, -ENOENT,
		    "the network guard that keeps VMs off the host's loopback "
		    "(oci2vm-qemu-net.so) is missing: reinstall oci2vm, or run with "
		    "--host-loopback or --network none");
	if ((r = o2v_vm_files_init(&files, l->state_dir, err)) < 0)
		return r;
	if ((r = fill_spec(&spec, l, &files, qemu, err)) == 0) {
		spec.r.volumes = volumes;
		r = launch_vm(l, &files, &spec, ret, err);
	}
	o2v_vm_files_release(&files);
	return r;
}
