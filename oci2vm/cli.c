/* cli.c - shared CLI output helpers; see cli.h. */
#include "../common/o2v.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

const char *o2v_program_name = "oci2vm";

/* Messages carry strings from registries, images and guests: a control character (an
 * escape sequence, a newline faking a second message) never reaches the terminal. */
static void safe_vfprintf(FILE *out, const char *fmt, va_list ap)
{
	char buf[2 * O2V_ERROR_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fputs(buf, out);
}

static void vprint(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", o2v_program_name, kind);
	safe_vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void o2v_cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("error: ", fmt, ap);
	va_end(ap);
}

void o2v_cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("warning: ", fmt, ap);
	va_end(ap);
}

int o2v_cli_exit_code(const struct o2v_error *err)
{
	return err->code == -EINVAL ? O2V_EXIT_USAGE : O2V_EXIT_FAILURE;
}

int o2v_cli_fail(const struct o2v_error *err)
{
	o2v_cli_error("%s", err->msg[0] ? err->msg : "unknown failure");
	return o2v_cli_exit_code(err);
}

/* Is word a cluster of short options ("-xyz") holding c? */
static bool short_cluster_has(const char *word, int c)
{
	return word && word[0] == '-' && word[1] != '-' && c > 0 && c < 128 && strchr(word + 1, c);
}

int o2v_cli_bad_option(int c, int argc, char **argv, struct o2v_error *err)
{
	/* For a short option getopt sets optopt and leaves optind inside its cluster until the
	 * cluster's last letter; for a long one optopt is 0 when it is unknown, its value when it
	 * lacked or refused a value, and the word before optind is the option. */
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	const char *next = optind < argc ? argv[optind] : NULL;
	int len = (int)strcspn(word, "=");

	if (short_cluster_has(next, optopt) ||
	    (short_cluster_has(word, optopt) && strncmp(word, "--", 2)))
		return o2v_error_set(
		    err, -EINVAL, c == ':' ? "option '-%c' needs a value" : "unknown option '-%c'",
		    optopt);
	if (c == ':')
		return o2v_error_set(err, -EINVAL, "option '%.*s' needs a value", len, word);
	if (optopt > 0)
		return o2v_error_set(err, -EINVAL, "option '%.*s' takes no value", len, word);
	return o2v_error_set(err, -EINVAL, "unknown option '%.*s'", len, word);
}

int o2v_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", o2v_program_name, cmd);
	va_start(ap, fmt);
	safe_vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee '%s help %s'\n", o2v_program_name, cmd);
	return O2V_EXIT_USAGE;
}

int o2v_cli_print_usage(const char *cmd)
{
	const struct o2v_command *c = o2v_command_find(cmd);

	if (!c)
		return O2V_EXIT_USAGE;
	fputs(c->usage, stdout);
	return O2V_EXIT_OK;
}

bool o2v_cli_is_tty(void)
{
	return isatty(STDERR_FILENO) == 1;
}

int o2v_cli_option_usage(const char *cmd, int c, int argc, char **argv)
{
	struct o2v_error err = {0};

	o2v_cli_bad_option(c, argc, argv, &err);
	return o2v_cli_usage_error(cmd, "%s", err.msg);
}
