/* cmd_ps.c - `oci2vm ps`: list VMs. */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "health.h"
#include "commands.h"
#include "vmcli.h"

static void format_age(int64_t seconds, char *out, size_t len)
{
	if (seconds < 60)
		snprintf(out, len, "%llds", (long long)seconds);
	else if (seconds < 3600)
		snprintf(out, len, "%lldm", (long long)(seconds / 60));
	else if (seconds < 86400)
		snprintf(out, len, "%lldh", (long long)(seconds / 3600));
	else
		snprintf(out, len, "%lldd", (long long)(seconds / 86400));
}

int cmd_ps(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	bool all = false, quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "+:aq", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		default: return o2v_cli_option_usage("ps", c, argc, argv);
		}
	}
	if (optind != argc)
		return o2v_cli_usage_error("ps", "takes no arguments");

	_cleanup_free_ char *rt = o2v_vmcli_runtime_dir();
	struct o2v_error err;
	struct o2v_vm *vms;
	size_t n;

	if (!rt)
		return O2V_EXIT_FAILURE;
	if (o2v_vm_list(rt, &vms, &n, &err) < 0)
		return o2v_cli_fail(&err);
	if (!quiet)
		printf("%-12s  %-20s  %-32s  %-18s  %s\n", "ID", "NAME", "IMAGE", "STATUS", "PORTS");
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct o2v_vm *vm = &vms[i];
		bool running = o2v_vm_is_running(vm);
		char status[96], age[32];

		if (!running)
			o2v_vmcli_reconcile(vm);
		if ((!running && !all) || (!running && vm->remove_on_exit)) {
			o2v_vm_release(vm);
			continue;
		}
		if (quiet) {
			printf("%s\n", vm->id);
			o2v_vm_release(vm);
			continue;
		}
		if (running && vm->finished) {
			/* between two starts of its restart policy (Docker's word) */
			format_age(now - vm->finished, age, sizeof(age));
			snprintf(status, sizeof(status), "Restarting (%d) %s ago", vm->exit_code, age);
		} else if (running) {
			char health[32], extra[64] = "";
			format_age(now - (vm->started ? vm->started : vm->created), age, sizeof(age));
			o2v_health_status(vm, health, sizeof(health));
			if (health[0] && vm->restarts)
				snprintf(extra, sizeof(extra), " (%s, %u restart%s)", health,
					 vm->restarts, vm->restarts > 1 ? "s" : "");
			else if (health[0])
				snprintf(extra, sizeof(extra), " (%s)", health);
			else if (vm->restarts)
				snprintf(extra, sizeof(extra), " (%u restart%s)", vm->restarts,
					 vm->restarts > 1 ? "s" : "");
			snprintf(status, sizeof(status), "Up %s%s", age, extra);
		} else {
			format_age(now - (vm->finished ? vm->finished : now), age, sizeof(age));
			if (vm->exit_code >= 0)
				snprintf(status, sizeof(status), "Exited (%d) %s ago", vm->exit_code,
					 age);
			else
				snprintf(status, sizeof(status), "Exited (?) %s ago", age);
		}
		printf("%-12s  %-20s  %-32s  %-18s  %s\n", vm->id, vm->name,
		       vm->image ? vm->image : "", status, vm->ports ? vm->ports : "");
		o2v_vm_release(vm);
	}
	free(vms);
	return O2V_EXIT_OK;
}
