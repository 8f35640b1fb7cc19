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
	r = o2v_supervise_run(sup, ret, err);
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

static int guard_prepare(struct guard *g, const struct o2v_launch *l, struct o2v_supervise *sup,
			 struct o2v_error *err)
{
	*g = (struct guard){.ack = {-1, -1}};
	sup->qemu.pass_fds = l->pass_fds;
	sup->qemu.n_pass_fds = l->n_pass_fds;
	if (!l->net_guard || !(l->vm.net || l->vm.n_ports))
		return 0;
	if (l->n_pass_fds + 1 > PASS_FDS_MAX)
		return o2v_error_set(err, -E2BIG, "at most %d descriptors", PASS_FDS_MAX - 1);
	if (pipe2(g->ack, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "start QEMU");
	if (l->n_pass_fds)
		memcpy(g->fds, l->pass_fds, l->n_pass_fds * sizeof(*g->fds));
	g->fds[l->n_pass_fds] = g->ack[1];
	snprintf(g->fd_env, sizeof(g->fd_env), "%s=%d", O2V_NETGUARD_ACK_ENV, g->ack[1]);
	snprintf(g->loopback_env, sizeof(g->loopback_env), "%s=%d", O2V_NETGUARD_ENV,
		 l->vm.host_loopback);
	g->env[0] = g->loopback_env;
	g->env[1] = g->fd_env;
	sup->qemu.preload = l->net_guard;
	sup->qemu.setenv = g->env;
	sup->qemu.pass_fds = g->fds;
	sup->qemu.n_pass_fds = l->n_pass_fds + 1;
	sup->guard_ack = g->ack[0];
	sup->guard_ack_wr = &g->ack[1];
	return 0;
}

static void guard_release(struct guard *g)
{
	o2v_closep(&g->ack[0]);
	o2v_closep(&g->ack[1]);
}

int o2v_vm_launch(const struct o2v_launch *l, struct o2v_vm_exit *ret, struct o2v_error *err)
{
	_cleanup_free_ char *qemu = NULL;
	_cleanup_strv_ char **argv = NULL;
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
	if ((r = fill_spec(&spec, l, &files, qemu, err)) == 0 &&
	    (spec.r.volumes = volumes, r = o2v_qemu_argv(&spec, &argv, err)) == 0) {
		struct guard g;
		struct o2v_supervise sup = {
		    .qemu = {.argv = argv, .netns = l->netns},
		    .files = &files,
		    .serial = l->vm.verbose,
		    .stdio_ports = l->vm.stdio_ports,
		    .exec_port = l->vm.exec_port,
		    .io = l,
		    .guard_ack = -1,
		};
		if ((r = guard_prepare(&g, l, &sup, err)) == 0)
			r = run_with_helpers(l, &sup, ret, err);
		guard_release(&g);
	}
	o2v_vm_files_release(&files);
	return r;
}
