/* cmd_stop.c - `oci2vm stop` (graceful, through init) and `oci2vm kill`. */
#include "../common/o2v.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "supervise.h"
#include "vmcli.h"

#define STOP_MARGIN_MS 5000 /* init's own grace ends first; then we wait a little more */

static int stop_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	unsigned timeout = *(unsigned *)userdata;
	struct o2v_error err;

	if (!o2v_vm_is_running(vm)) {
		o2v_vmcli_reconcile(vm);
		puts(name);
		return O2V_EXIT_OK; /* already stopped, as docker stop */
	}
	_cleanup_free_ char *ctl = o2v_vm_path(vm, "ctl.sock");
	if (!ctl || o2v_vm_control(ctl, "stop", &err) < 0)
		timeout = 0; /* no control channel: nothing graceful is possible */
	if (!o2v_vmcli_wait_stopped(vm, (int)timeout * 1000 + STOP_MARGIN_MS)) {
		o2v_cli_warn("VM '%s' did not stop within %u s, killing it", vm->name, timeout);
		o2v_vmcli_kill_now(vm);
	}
	puts(name);
	return O2V_EXIT_OK;
}

int cmd_stop(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "time", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long timeout = 10;
	int c;
	char *end;

	while ((c = getopt_long(argc, argv, "+t:", longopts, NULL)) != -1) {
		if (c != 't')
			return o2v_cli_usage_error("stop", "unknown option");
		timeout = strtoul(optarg, &end, 10);
		if (*end || !*optarg || timeout > 3600)
			return o2v_cli_usage_error("stop", "-t '%s': expected seconds (0-3600)",
						   optarg);
	}
	if (optind >= argc)
		return o2v_cli_usage_error("stop", "expected at least one VM name or id");
	unsigned t = (unsigned)timeout;
	return o2v_vmcli_each(argc, argv, optind, stop_one, &t);
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = { { "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT },
		      { "HUP", SIGHUP },   { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
		      { "USR2", SIGUSR2 }, { "WINCH", SIGWINCH } };
	char *end;
	long n = strtol(s, &end, 10);

	if (*s && !*end)
		return n > 0 && n < 65 ? (int)n : -1;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name))
			return names[i].sig;
	return -1;
}

static int kill_one(struct o2v_vm *vm, const char *name, void *userdata)
{
	int sig = *(int *)userdata;
	struct o2v_error err;
	char line[32];

	if (!o2v_vm_is_running(vm)) {
		o2v_cli_error("VM '%s' is not running", vm->name);
		return O2V_EXIT_FAILURE;
	}
	if (sig == SIGKILL) {
		o2v_vmcli_kill_now(vm); /* Docker's kill default: end it now, no grace */
		puts(name);
		return O2V_EXIT_OK;
	}
	_cleanup_free_ char *ctl = o2v_vm_path(vm, "ctl.sock");
	snprintf(line, sizeof(line), "signal %d", sig);
	if (!ctl || o2v_vm_control(ctl, line, &err) < 0)
		return o2v_cli_fail(&err);
	puts(name);
	return O2V_EXIT_OK;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int sig = SIGKILL, c;

	while ((c = getopt_long(argc, argv, "+s:", longopts, NULL)) != -1) {
		if (c != 's')
			return o2v_cli_usage_error("kill", "unknown option");
		if ((sig = parse_signal(optarg)) < 0)
			return o2v_cli_usage_error("kill", "unknown signal '%s'", optarg);
	}
	if (optind >= argc)
		return o2v_cli_usage_error("kill", "expected at least one VM name or id");
	return o2v_vmcli_each(argc, argv, optind, kill_one, &sig);
}
