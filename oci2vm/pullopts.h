/* pullopts.h - what the image commands (pull, inspect, run, export...) share:
 * the options --platform, --insecure-registry and -q, opening the cache, and
 * the pull progress display.
 *
 * Use with getopt_long: put O2V_PULL_LONGOPTS in the option table and
 * O2V_PULL_SHORTOPTS in the short string, then offer every option to
 * o2v_pull_cli_option() first.
 *
 * Progress: on a terminal (stderr) one line per layer being fetched (bytes
 * done / total) and a total line with the speed, redrawn at most ten times a
 * second; nothing when stderr is not a terminal or with -q. Warnings from the
 * registry are printed in every mode; retries unless -q.
 */
#ifndef O2V_PULLOPTS_H
#define O2V_PULLOPTS_H

#include <getopt.h>

#include "../registry/registry.h"

enum { O2V_OPT_PLATFORM = 0x1000, O2V_OPT_INSECURE };

#define O2V_PULL_SHORTOPTS "q"
#define O2V_PULL_LONGOPTS                                                                          \
	{"platform", required_argument, NULL, O2V_OPT_PLATFORM},                                   \
	    {"insecure-registry", required_argument, NULL, O2V_OPT_INSECURE},                      \
	{                                                                                          \
		"quiet", no_argument, NULL, 'q'                                                    \
	}
#define O2V_PULL_USAGE                                                                             \
	"  --platform OS/ARCH[/VARIANT]   image for this platform (default: this machine's)\n"     \
	"  --insecure-registry HOST[:PORT]  allow plain HTTP / unverified TLS for HOST\n"          \
	"  -q, --quiet                    no progress display\n"

struct o2v_pull_view; /* progress state, see pullopts.c */

struct o2v_pull_cli {
	char *platform;
	char **insecure; /* NULL-terminated */
	size_t n_insecure;
	bool quiet;
	struct o2v_pull_opts opts;
	struct o2v_pull_view *view;
};

void o2v_pull_cli_init(struct o2v_pull_cli *o);
void o2v_pull_cli_release(struct o2v_pull_cli *o);

/* Offer one getopt_long result: 1 = it was ours, 0 = not ours, or a negative errno with
 * err set (-EINVAL: a bad value, a usage error). */
int o2v_pull_cli_option(struct o2v_pull_cli *o, int c, const char *arg, struct o2v_error *err);

/* Fill o->opts (platform, insecure list, policy, progress display). */
int o2v_pull_cli_prepare(struct o2v_pull_cli *o, enum o2v_pull_policy policy);

/* Erase the progress display (before printing the result). */
void o2v_pull_cli_done(struct o2v_pull_cli *o);

/* The whole command line of a "CMD [OPTIONS] REF" command (pull, inspect):
 * options, exactly one REF (parsed into ref), the default cache opened, and
 * o->opts prepared with policy. 0, or an exit code (the error is printed). */
int o2v_pull_cli_parse(struct o2v_pull_cli *o, const char *cmd, int argc, char **argv,
		       enum o2v_pull_policy policy, struct o2v_ref *ref,
		       struct o2v_cache **ret_cache);

/* Parse REF, printing a usage error (exit 2) when malformed: 0 or an exit code. */
int o2v_cli_ref(const char *text, struct o2v_ref *ret);

/* The cached image for ref, when it is there whole and for platform's architecture
 * ("os/arch[/variant]"); what `--pull missing` uses without asking the registry, as
 * Docker does. False (and *ret untouched) otherwise. */
bool o2v_cli_cached_image(struct o2v_cache *cache, const struct o2v_ref *ref, const char *platform,
			  struct o2v_image **ret);

/* Open the default cache, printing the error: 0 or an exit code. */
int o2v_cli_cache_open(struct o2v_cache **ret);

/* "12.3 MB" style. */
void o2v_format_bytes(uint64_t n, char *buf, size_t size);

#endif
