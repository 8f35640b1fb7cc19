/* commands.h - the subcommands of oci2vm, one file each (cmd_NAME.c).
 *
 * Each takes the argv after the command name (argv[0] is the command name)
 * and returns the process exit status. To add a command, declare it here
 * and add one line to the table in main.c.
 */
#ifndef O2V_COMMANDS_H
#define O2V_COMMANDS_H

struct o2v_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary; /* one line for `oci2vm --help` */
	const char *usage;   /* full text for `oci2vm help NAME` / `NAME --help` */
	bool hidden;	     /* plumbing: not listed in --help */
};

const struct o2v_command *o2v_command_find(const char *name);

int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_runconfig(int argc, char **argv);
int cmd_run(int argc, char **argv);
extern const char cmd_run_usage[];
int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_restart(int argc, char **argv);
/* Start an existing container again (cmd_run.c): its saved command line, its layer, in the
 * background. Takes vm over. An exit code. */
struct o2v_vm;
int o2v_run_start(struct o2v_vm *vm);
int cmd_kill(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_boot(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_export(int argc, char **argv); extern const char cmd_export_usage[];

/* oci2vm-runtime: the OCI runtime command line (runtime.c), chosen by argv[0]. */
int o2v_runtime_main(int argc, char **argv);

#endif
