/* cli.h - what every subcommand shares: printing errors and exit codes.
 *
 * Exit codes of oci2vm itself (a workload's own code passes through `run`):
 *   0 success, 1 failure, 2 usage error (bad option, malformed reference),
 *   125 `run`/`boot` could not start or finish the VM (Docker's convention).
 */
#ifndef O2V_CLI_H
#define O2V_CLI_H

#include "../common/error.h"

#define O2V_EXIT_OK 0
#define O2V_EXIT_FAILURE 1
#define O2V_EXIT_USAGE 2
#define O2V_EXIT_RUN_FAILED 125

extern const char *o2v_program_name;

/* "oci2vm: error: MSG" on stderr. */
void o2v_cli_error(const char *fmt, ...) O2V_PRINTF(1, 2);
void o2v_cli_warn(const char *fmt, ...) O2V_PRINTF(1, 2);

/* The exit code for an error's class: 2 for -EINVAL (usage), else 1 (docs/vm-contract.md
 * has the whole table). */
int o2v_cli_exit_code(const struct o2v_error *err);

/* Print err and return o2v_cli_exit_code(err). */
int o2v_cli_fail(const struct o2v_error *err);

/* Print "oci2vm CMD: MSG" and a "see 'oci2vm help CMD'" hint; returns 2. */
int o2v_cli_usage_error(const char *cmd, const char *fmt, ...) O2V_PRINTF(2, 3);

/* A getopt_long() result '?' (unknown option) or ':' (missing value, with ':' first in the
 * option string) → -EINVAL and one line naming the option. Every command sets opterr = 0
 * (main.c does, once), so a bad option is reported once, by the command. */
int o2v_cli_bad_option(int c, int argc, char **argv, struct o2v_error *err);

/* o2v_cli_bad_option() printed as cmd's usage error; returns 2. */
int o2v_cli_option_usage(const char *cmd, int c, int argc, char **argv);

/* Print the usage text of cmd to stdout; returns 0. */
int o2v_cli_print_usage(const char *cmd);

/* True when stderr is a terminal and progress output is wanted. */
bool o2v_cli_is_tty(void);

#endif
