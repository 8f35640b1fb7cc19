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

/* Print err and return the exit code for its class (2 for -EINVAL, else 1). */
int o2v_cli_fail(const struct o2v_error *err);

/* Print "oci2vm CMD: MSG" and a "see 'oci2vm help CMD'" hint; returns 2. */
int o2v_cli_usage_error(const char *cmd, const char *fmt, ...) O2V_PRINTF(2, 3);

/* Print the usage text of cmd to stdout; returns 0. */
int o2v_cli_print_usage(const char *cmd);

/* True when stderr is a terminal and progress output is wanted. */
bool o2v_cli_is_tty(void);

#endif
