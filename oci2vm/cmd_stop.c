/* cmd_stop.c - `oci2vm stop` (graceful, through init) and `oci2vm kill`. */
#include "../common/o2v.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "../vm/vm.h"
#include "cli.h"
#include "commands.h"
#include "values.h"
#include "vmcli.h"

static int stop_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	if (!o2v_vm_is_running(vm))
		o2v_vmcli_reconcile(vm); /* already stopped: fine, as docker stop */
	else
		o2v_vmcli_stop(vm, *(unsigned *)userdata);
	puts(name);
	return O2V_EXIT_OK;
}

int cmd_stop(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"time", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	struct o2v_error err = {0};
	unsigned timeout = 10;
	int c;

	while ((c = getopt_long(argc, argv, "+:t:", longopts, NULL)) != -1) {
		if (c != 't') {
			o2v_cli_bad_option(c, argc, argv, &err);
			return o2v_cli_usage_error("stop", "%s", err.msg);
		}
		if (o2v_parse_seconds("-t", optarg, &timeout, &err) < 0)
			return o2v_cli_usage_error("stop", "%s", err.msg);
	}
	if (optind >= argc)
		return o2v_cli_usage_error("stop", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, stop_one, &timeout);
}

static int kill_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	int sig = *(int *)userdata;
	struct o2v_error err;

	if (!o2v_vm_is_running(vm)) {
		o2v_cli_error("VM '%s' is not running", vm->name);
		return O2V_EXIT_FAILURE;
	}
	if (sig == SIGKILL) {
		o2v_vmcli_mark_stopped(vm);
		o2v_vmcli_kill_now(vm); /* Docker's kill default: end it now, no grace */
		puts(name);
		return O2V_EXIT_OK;
	}
	struct o2v_ctl_msg m = {.kind = O2V_CTL_SIGNAL, .a = (uint64_t)sig};
	if (o2v_vm_send(vm->dir, &m, &err) < 0)
		return o2v_cli_fail(&err);
	puts(name);
	return O2V_EXIT_OK;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"signal", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	struct o2v_error err = {0};
	int sig = SIGKILL, c;

	while ((c = getopt_long(argc, argv, "+:s:", longopts, NULL)) != -1) {
		if (c != 's')
			o2v_cli_bad_option(c, argc, argv, &err);
		else if (o2v_parse_signal(optarg, &sig, &err) == 0)
			continue;
		return o2v_cli_usage_error("kill", "%s", err.msg);
	}
	if (optind >= argc)
		return o2v_cli_usage_error("kill", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, kill_one, &sig);
}
