/* cmd_port.c - `oci2vm port NAME [PORT[/PROTO]]`: a container's published ports, as
 * `docker port` prints them ("6379/tcp -> 127.0.0.1:32768"). */
#include "../common/o2v.h"

#include <string.h>

#include "cli.h"
#include "commands.h"
#include "vmcli.h"

int cmd_port(int argc, char **argv)
{
	_cleanup_free_ char *runtime = NULL, *copy = NULL;
	const char *want = argc > 2 ? argv[2] : NULL;
	char *save = NULL;
	struct o2v_vm vm;
	bool any = false;
	int r;

	if (argc < 2 || argc > 3 || argv[1][0] == '-')
		return o2v_cli_usage_error("port", "expected NAME [PORT[/PROTO]]");
	if (!(runtime = o2v_vmcli_runtime_dir()))
		return O2V_EXIT_RUN_FAILED;
	if ((r = o2v_vmcli_load(runtime, argv[1], &vm)) != 0)
		return r;
	copy = strdup(vm.ports ? vm.ports : "");
	/* The record's "127.0.0.1:2229->6379/tcp, ..." */
	for (char *p = copy ? strtok_r(copy, ", ", &save) : NULL; p;
	     p = strtok_r(NULL, ", ", &save)) {
		char *arrow = strstr(p, "->");
		if (!arrow)
			continue;
		*arrow = '\0';
		const char *guest = arrow + 2;
		size_t gn = strcspn(guest, "/");
		if (want && strcmp(want, guest) &&
		    !(strlen(want) == gn && !strncmp(want, guest, gn) &&
		      !strcmp(guest + gn, "/tcp")))
			continue;
		printf("%s -> %s\n", guest, p);
		any = true;
	}
	o2v_vm_release(&vm);
	if (want && !any) {
		o2v_cli_error("no public port '%s' published for '%s'", want, argv[1]);
		return 1;
	}
	return O2V_EXIT_OK;
}
