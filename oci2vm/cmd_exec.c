/* cmd_exec.c - `oci2vm exec`: a process in a running VM, as `docker exec`. */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../common/muxproto.h"
#include "../vm/vm.h"
#include "cli.h"
#include "commands.h"
#include "vmcli.h"

enum { OPT_HELP = 0x100 };

struct exec_args {
	struct o2v_mux_exec req;
	size_t n_env;
	const char *name;
};

static int parse(struct exec_args *a, int argc, char **argv, struct o2v_error *err)
{
	static const struct option longopts[] = {
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"detach", no_argument, NULL, 'd'},
	    {"env", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"workdir", required_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:itde:u:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			a->req.stdin_open = true;
			break;
		case 't':
			a->req.tty = true;
			break;
		case 'd':
			a->req.detach = true;
			break;
		case 'e':
			if (!*optarg || optarg[0] == '=')
				return o2v_error_set(
				    err, -EINVAL, "invalid environment variable '-e %s'", optarg);
			if (a->n_env >= O2V_MUX_ENV_MAX)
				return o2v_error_set(err, -E2BIG, "at most %d -e", O2V_MUX_ENV_MAX);
			/* K alone: take it from this environment, as docker exec does */
			if (!strchr(optarg, '=')) {
				const char *v = getenv(optarg);
				if (!v)
					break;
				char *kv;
				if (asprintf(&kv, "%s=%s", optarg, v) < 0)
					return o2v_error_sys(err, -ENOMEM, "exec");
				a->req.env[a->n_env++] = kv; /* lives until exit */
			} else {
				a->req.env[a->n_env++] = optarg;
			}
			break;
		case 'u':
			a->req.user = optarg;
			break;
		case 'w':
			if (optarg[0] != '/')
				return o2v_error_set(err, -EINVAL,
						     "-w '%s': the working directory must be an "
						     "absolute path",
						     optarg);
			a->req.workdir = optarg;
			break;
		default:
			return o2v_cli_bad_option(c, argc, argv, err);
		}
	}
	if (argc - optind < 2)
		return o2v_error_set(err, -EINVAL,
				     "expected a VM name or id and a command: oci2vm "
				     "exec [OPTIONS] NAME COMMAND [ARG...]");
	a->name = argv[optind++];
	if (argc - optind > O2V_MUX_ARGS_MAX)
		return o2v_error_set(err, -E2BIG, "at most %d arguments", O2V_MUX_ARGS_MAX);
	for (size_t i = 0; optind < argc; i++)
		a->req.argv[i] = argv[optind++];
	if (a->req.detach && (a->req.tty || a->req.stdin_open))
		return o2v_error_set(err, -EINVAL,
				     "-d runs the command in the background: it "
				     "cannot be combined with -i or -t");
	return 0;
}

int cmd_exec(int argc, char **argv)
{
	static struct exec_args a;
	struct o2v_error err = {0};
	struct o2v_exec_result res;
	struct o2v_vm vm;
	int r;

	if (parse(&a, argc, argv, &err) < 0)
		return o2v_cli_usage_error("exec", "%s", err.msg);
	if (a.req.tty && a.req.stdin_open && !isatty(STDIN_FILENO)) {
		o2v_cli_error("the input device is not a TTY: drop -t, or run from a terminal");
		return O2V_EXIT_RUN_FAILED;
	}
	if ((r = o2v_vmcli_load_running(a.name, &vm)) != 0)
		return r;
	struct o2v_exec_io io = {
	    .in_fd = a.req.stdin_open ? STDIN_FILENO : -1,
	    .out_fd = STDOUT_FILENO,
	    .err_fd = STDERR_FILENO,
	    .detach = a.req.detach,
	};
	if (a.req.tty) {
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
			a.req.rows = ws.ws_row;
			a.req.cols = ws.ws_col;
		}
	}
	r = o2v_vm_exec(vm.dir, &a.req, &io, &res, &err);
	o2v_vm_release(&vm);
	if (r < 0) {
		o2v_cli_error("%s", err.msg);
		return r == -ECONNRESET ? O2V_EXIT_SIGNAL_BASE + 9 : O2V_EXIT_RUN_FAILED;
	}
	if (res.message[0])
		o2v_cli_error("%s", res.message);
	return res.code;
}
