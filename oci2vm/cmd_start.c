/* cmd_start.c - `oci2vm start` and `oci2vm restart`: a stopped container runs again, with
 * what it wrote (container.h), in the background, as `docker start` / `docker restart`. */
#include "../common/o2v.h"

#include <getopt.h>

#include "../common/vmproto.h"
#include "cli.h"
#include "commands.h"
#include "values.h"
#include "vmcli.h"

static int start_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	(void)userdata;
	if (o2v_vm_is_running(vm)) {
		puts(name); /* as docker start: already running is fine */
		return O2V_EXIT_OK;
	}
	int code = o2v_run_start(vm);
	if (code == O2V_EXIT_OK)
		puts(name);
	return code;
}

static int restart_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	if (o2v_vm_is_running(vm))
		o2v_vmcli_stop(vm, *(unsigned *)userdata);
	return start_one(vm, name, NULL);
}

int cmd_start(int argc, char **argv)
{
	static const struct option longopts[] = {{NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1)
		return o2v_cli_option_usage("start", c, argc, argv);
	if (optind >= argc)
		return o2v_cli_usage_error("start", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, start_one, NULL);
}

int cmd_restart(int argc, char **argv)
{
	static const struct option longopts[] = {{"time", required_argument, NULL, 't'},
						 {NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	unsigned timeout = 10;
	int c;

	while ((c = getopt_long(argc, argv, "+:t:", longopts, NULL)) != -1) {
		if (c != 't')
			return o2v_cli_option_usage("restart", c, argc, argv);
		if (o2v_parse_seconds("-t", optarg, &timeout, &err) < 0)
			return o2v_cli_usage_error("restart", "%s", err.msg);
	}
	if (optind >= argc)
		return o2v_cli_usage_error("restart", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, restart_one, &timeout);
}
