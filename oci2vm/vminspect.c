/* vminspect.c - `oci2vm inspect` of a container: its record as JSON, in docker inspect's
 * shape (Id, Name, Image, Created, State with Health, RestartCount, Args, Ports). */
#include "../common/o2v.h"

#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "../common/strv.h"
#include "cli.h"
#include "container.h"
#include "health.h"
#include "runopts.h"
#include "vminspect.h"
#include "vmcli.h"

static json_object *time_json(int64_t t)
{
	char buf[32] = "0001-01-01T00:00:00Z"; /* Go's zero time, as docker shows "never" */
	struct tm tm;
	time_t tt = (time_t)t;

	if (t > 0 && gmtime_r(&tt, &tm))
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

/* The record's ports → [{HostIp, HostPort, ContainerPort, Protocol}]. */
static json_object *ports_json(const char *text)
{
	json_object *a = json_object_new_array();
	struct o2v_vmcli_port ports[128];
	size_t n = o2v_vmcli_ports(text, ports, ARRAY_SIZE(ports));

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "HostIp", json_object_new_string(ports[i].bind));
		json_object_object_add(o, "HostPort", json_object_new_string(ports[i].host));
		json_object_object_add(o, "ContainerPort", json_object_new_string(ports[i].guest));
		json_object_object_add(o, "Protocol", json_object_new_string(ports[i].proto));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *state_json(const struct o2v_vm *vm)
{
	json_object *s = json_object_new_object();
	bool running = o2v_vm_is_running(vm);
	char health[32];

	json_object_object_add(s, "Status",
			       json_object_new_string(running && vm->finished ? "restarting"
						      : running		      ? "running"
									      : "exited"));
	json_object_object_add(s, "Running", json_object_new_boolean(running));
	json_object_object_add(
	    s, "ExitCode", json_object_new_int(running || vm->exit_code < 0 ? 0 : vm->exit_code));
	json_object_object_add(s, "StartedAt", time_json(vm->started ? vm->started : vm->created));
	json_object_object_add(s, "FinishedAt", time_json(running ? 0 : vm->finished));
	o2v_health_status(vm, health, sizeof(health));
	if (running && health[0]) {
		json_object *h = json_object_new_object();
		json_object_object_add(h, "Status",
				       json_object_new_string(!strcmp(health, "health: starting")
								  ? "starting"
								  : health));
		json_object_object_add(s, "Health", h);
	}
	return s;
}

/* The --label KEY=VALUE of the run arguments, read the way `run` reads them. */
static json_object *labels_json(int argc, char **argv)
{
	json_object *o = json_object_new_object();
	struct o2v_run_opts opts;
	struct o2v_error err;

	o2v_run_opts_init(&opts);
	if (argc > 0 && o2v_run_opts_parse(&opts, argc, argv, &err) == 0)
		for (char **l = opts.labels; l && *l; l++) {
			const char *eq = strchr(*l, '=');
			_cleanup_free_ char *key = strndup(*l, eq ? (size_t)(eq - *l) : strlen(*l));
			if (key)
				json_object_object_add(o, key,
						       json_object_new_string(eq ? eq + 1 : ""));
		}
	o2v_run_opts_release(&opts);
	return o;
}

json_object *o2v_vm_inspect_json(struct o2v_vm *vm)
{
	json_object *o = json_object_new_object(), *args = json_object_new_array();
	_cleanup_strv_ char **argv = NULL;
	struct o2v_error err;
	int argc = 0;

	o2v_vmcli_reconcile(vm);
	json_object_object_add(o, "Id", json_object_new_string(vm->id));
	json_object_object_add(o, "Name", json_object_new_string(vm->name ? vm->name : ""));
	json_object_object_add(o, "Image", json_object_new_string(vm->image ? vm->image : ""));
	json_object_object_add(o, "Created", time_json(vm->created));
	json_object_object_add(o, "State", state_json(vm));
	json_object_object_add(o, "RestartCount", json_object_new_int((int)vm->restarts));
	if (o2v_container_args_load(vm, &argv, &argc, &err) == 0)
		for (int i = 1; i < argc; i++) /* argv[0] is "run" */
			json_object_array_add(args, json_object_new_string(argv[i]));
	json_object_object_add(o, "Args", args);
	json_object_object_add(o, "Labels", labels_json(argc, argv));
	json_object_object_add(o, "Ports", ports_json(vm->ports));
	json_object_object_add(o, "StateDir", json_object_new_string(vm->dir));
	return o;
}
