/* cmd_wait.c - `oci2vm wait`: block until VMs stop, print their exit codes (docker wait). */
#include "../common/o2v.h"

#include <getopt.h>

#include "../common/vmproto.h"
#include "../vm/state.h"
#include "cli.h"
#include "commands.h"
#include "vmcli.h"

static int wait_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	(void)userdata;
	o2v_vm_wait_stopped(vm);
	/* The record as the supervisor left it, or reconciled if it was killed. */
	_cleanup_free_ char *runtime = o2v_vmcli_runtime_dir();
	struct o2v_error err;
	struct o2v_vm now;
	if (!runtime)
		return O2V_EXIT_RUN_FAILED;
	if (o2v_vm_load(runtime, vm->id, &now, &err) < 0) {
		/* run --rm: the supervisor removed the record as the VM ended */
		o2v_cli_error("VM '%s' was removed as it stopped (--rm): its exit code is gone",
			      name);
		return 1;
	}
	o2v_vmcli_reconcile(&now);
	printf("%d\n", now.exit_code >= 0 ? now.exit_code : O2V_EXIT_SIGNAL_BASE + 9);
	fflush(stdout);
	o2v_vm_release(&now);
	return O2V_EXIT_OK;
}

int cmd_wait(int argc, char **argv)
{
	static const struct option longopts[] = {{NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1)
		return o2v_cli_bad_option(c, argc, argv, &err),
		       o2v_cli_usage_error("wait", "%s", err.msg);
	if (optind >= argc)
		return o2v_cli_usage_error("wait", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, wait_one, NULL);
}
