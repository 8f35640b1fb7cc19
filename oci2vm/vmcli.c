/* vmcli.c - see vmcli.h. */
#include "../common/o2v.h"

#include <fcntl.h>

#include <signal.h>
#include <string.h>
#include <time.h>

#include "../common/fsutil.h"
#include "../common/paths.h"
#include "cli.h"
#include "../vm/vm.h"
#include "vmcli.h"

char *o2v_vmcli_runtime_dir(void)
{
	struct o2v_error err;
	char *dir = NULL;

	if (o2v_runtime_dir(&dir, &err) < 0) {
		o2v_cli_fail(&err);
		return NULL;
	}
	return dir;
}

int o2v_vmcli_load(const char *runtime_dir, const char *name, struct o2v_vm *ret)
{
	struct o2v_error err;

	if (o2v_vm_load(runtime_dir, name, ret, &err) < 0)
		return o2v_cli_fail(&err);
	return 0;
}

bool o2v_vmcli_wait_stopped(const struct o2v_vm *vm, int timeout_ms)
{
	for (int waited = 0; o2v_vm_is_running(vm); waited += 50) {
		if (waited >= timeout_ms)
			return false;
		usleep(50000);
	}
	return true;
}

void o2v_vmcli_kill_qemu(const struct o2v_vm *vm)
{
	char path[64];
	_cleanup_free_ char *cmdline = NULL;
	size_t len;

	if (vm->qemu_pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)vm->qemu_pid);
	if (o2v_read_file(path, 1 << 20, &cmdline, &len, NULL) < 0)
		return;
	/* Only if that pid is still QEMU running this VM's sockets. */
	if (memmem(cmdline, len, "qemu-system", 11) && memmem(cmdline, len, vm->id, strlen(vm->id)))
		kill(vm->qemu_pid, SIGKILL);
}

void o2v_vmcli_reconcile(struct o2v_vm *vm)
{
	if (o2v_vm_is_running(vm) || vm->finished)
		return;
	/* The supervisor died (killed, crashed): QEMU died with it (PDEATHSIG). */
	o2v_vmcli_kill_qemu(vm);
	vm->finished = (int64_t)time(NULL);
	if (vm->remove_on_exit) {
		o2v_vm_remove(vm, NULL);
		return;
	}
	o2v_vm_save(vm, NULL);
}

void o2v_vmcli_kill_now(const struct o2v_vm *vm)
{
	o2v_vmcli_kill_qemu(vm);
	o2v_vmcli_wait_stopped(vm, 5000);
}

int o2v_vmcli_each(int argc, char **argv, int first,
		   int (*fn)(struct o2v_vm *vm, const char *name, void *userdata), void *userdata)
{
	_cleanup_free_ char *rt = o2v_vmcli_runtime_dir();
	int rc = O2V_EXIT_OK;

	if (!rt)
		return O2V_EXIT_FAILURE;
	for (int i = first; i < argc; i++) {
		struct o2v_vm vm;
		int r = o2v_vmcli_load(rt, argv[i], &vm);
		if (r == 0) {
			r = fn(&vm, argv[i], userdata);
			o2v_vm_release(&vm);
		}
		if (r != 0)
			rc = r;
	}
	return rc;
}

void o2v_vmcli_mark_stopped(const struct o2v_vm *vm)
{
	_cleanup_free_ char *mark = o2v_vm_path(vm, O2V_VM_STOP_MARK);
	int fd = mark ? open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;

	if (fd >= 0)
		close(fd);
}

#define STOP_MARGIN_MS 5000 /* init's own grace ends first; then we wait a little more */

void o2v_vmcli_stop(const struct o2v_vm *vm, unsigned timeout)
{
	struct o2v_error err;

	o2v_vmcli_mark_stopped(vm);
	if (o2v_vm_send(vm->dir, &(struct o2v_ctl_msg){.kind = O2V_CTL_STOP}, &err) < 0)
		timeout = 0; /* no control channel: nothing graceful is possible */
	if (!o2v_vmcli_wait_stopped(vm, (int)timeout * 1000 + STOP_MARGIN_MS)) {
		o2v_cli_warn("VM '%s' did not stop within %u s, killing it", vm->name, timeout);
		o2v_vmcli_kill_now(vm);
	}
}

int o2v_vmcli_load_running(const char *name, struct o2v_vm *ret)
{
	_cleanup_free_ char *runtime = o2v_vmcli_runtime_dir();
	int r;

	if (!runtime)
		return O2V_EXIT_RUN_FAILED;
	if ((r = o2v_vmcli_load(runtime, name, ret)) != 0)
		return r;
	if (!o2v_vm_is_running(ret)) {
		o2v_cli_error("VM '%s' is not running", name);
		o2v_vm_release(ret);
		return 1; /* as docker exec: the daemon's refusal */
	}
	return 0;
}

size_t o2v_vmcli_ports(const char *text, struct o2v_vmcli_port *out, size_t max)
{
	size_t n = 0;

	for (const char *p = text ? text : ""; *p && n < max;) {
		size_t len = strcspn(p, ",");
		char item[160];
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		p += len + (p[len] == ',');
		char *s = item + strspn(item, " ");
		char *arrow = strstr(s, "->"), *slash = strrchr(s, '/'), *colon;
		if (!arrow || !slash || slash < arrow)
			continue;
		*arrow = *slash = '\0';
		if (!(colon = strrchr(s, ':')))
			continue;
		*colon = '\0';
		struct o2v_vmcli_port *o = &out[n++];
		snprintf(o->bind, sizeof(o->bind), "%s", s);
		snprintf(o->host, sizeof(o->host), "%s", colon + 1);
		snprintf(o->guest, sizeof(o->guest), "%s", arrow + 2);
		snprintf(o->proto, sizeof(o->proto), "%s", slash + 1);
	}
	return n;
}
