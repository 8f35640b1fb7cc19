/* cmd_port.c - `oci2vm port NAME [PORT[/PROTO]]`: a container's published ports, as
 * `docker port` prints them ("6379/tcp -> 127.0.0.1:32768"). */
#include "../common/o2v.h"

#include <string.h>

#include "cli.h"
#include "commands.h"
#include "vmcli.h"

int cmd_port(int argc, char **argv)
{
	_cleanup_free_ char *runtime = NULL;
	const char *want = argc > 2 ? argv[2] : NULL;
	struct o2v_vmcli_port ports[128];
	struct o2v_vm vm;
	bool any = false;
	int r;

	if (argc < 2 || argc > 3 || argv[1][0] == '-')
		return o2v_cli_usage_error("port", "expected NAME [PORT[/PROTO]]");
	if (!(runtime = o2v_vmcli_runtime_dir()))
		return O2V_EXIT_RUN_FAILED;
	if ((r = o2v_vmcli_load(runtime, argv[1], &vm)) != 0)
		return r;
	size_t n = o2v_vmcli_ports(vm.ports, ports, ARRAY_SIZE(ports));
	o2v_vm_release(&vm);
	for (size_t i = 0; i < n; i++) {
		char guest[24];
		snprintf(guest, sizeof(guest), "%s/%s", ports[i].guest, ports[i].proto);
		/* PORT alone means PORT/tcp, as docker port */
		if (want && strcmp(want, guest) &&
		    !(!strcmp(want, ports[i].guest) && !strcmp(ports[i].proto, "tcp")))
			continue;
		printf("%s -> %s:%s\n", guest, ports[i].bind, ports[i].host);
		any = true;
	}
	if (want && !any) {
		o2v_cli_error("no public port '%s' published for '%s'", want, argv[1]);
		return 1;
	}
	return O2V_EXIT_OK;
}
