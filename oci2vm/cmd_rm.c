/* cmd_rm.c - `oci2vm rm [-f] NAME...`: remove stopped VMs. */
#include "../common/o2v.h"

#include <getopt.h>

#include "../common/paths.h"
#include "cli.h"
#include "container.h"
#include "commands.h"
#include "vmcli.h"

static int rm_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	bool force = *(bool *)userdata;
	struct o2v_error err;

	if (force && o2v_vm_is_running(vm)) {
		o2v_vmcli_mark_stopped(vm);
		o2v_vmcli_kill_now(vm);
	}
	if (o2v_vm_remove(vm, &err) < 0)
		return o2v_cli_fail(&err);
	/* The container's layer goes with it (container.h). */
	_cleanup_free_ char *cache = NULL;
	if (o2v_cache_dir(&cache, NULL) == 0)
		o2v_container_disk_remove(cache, vm->id);
	puts(name);
	return O2V_EXIT_OK;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "+:f", longopts, NULL)) != -1) {
		if (c != 'f')
			return o2v_cli_option_usage("rm", c, argc, argv);
		force = true;
	}
	if (optind >= argc)
		return o2v_cli_usage_error("rm", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, rm_one, &force);
}
