/* cmd_rm.c - `oci2vm rm [-f] NAME...`: remove stopped VMs. */
#include "../common/o2v.h"

#include <getopt.h>

#include "cli.h"
#include "commands.h"
#include "vmcli.h"

int cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c, rc = O2V_EXIT_OK;

	while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
		if (c != 'f')
			return o2v_cli_usage_error("rm", "unknown option");
		force = true;
	}
	if (optind >= argc)
		return o2v_cli_usage_error("rm", "expected at least one VM name or id");
	_cleanup_free_ char *rt = o2v_vmcli_runtime_dir();
	if (!rt)
		return O2V_EXIT_FAILURE;
	for (int i = optind; i < argc; i++) {
		struct o2v_vm vm;
		struct o2v_error err;
		int r = o2v_vmcli_load(rt, argv[i], &vm);
		if (r != 0) {
			rc = r;
			continue;
		}
		if (force && o2v_vm_is_running(&vm)) {
			o2v_vmcli_kill_qemu(&vm);
			o2v_vmcli_wait_stopped(&vm, 5000);
		}
		if (o2v_vm_remove(&vm, &err) < 0)
			rc = o2v_cli_fail(&err);
		else
			puts(argv[i]);
		o2v_vm_release(&vm);
	}
	return rc;
}
