/* runmerge.h - Docker's rules for the command and environment of a run (host side).
 *
 * The image config gives Entrypoint, Cmd and Env; `oci2vm run` options give
 * --entrypoint, the command after the image, -e and --env-file. These
 * functions combine them exactly as `docker run` does, so the guest's init
 * receives a final argv and env (struct o2v_runconfig) and applies no rules
 * of its own. Libc only. Results are malloc'ed NULL-terminated vectors the
 * caller frees with o2v_strv_free().
 */
#ifndef O2V_RUNMERGE_H
#define O2V_RUNMERGE_H

#include "error.h"

/* Docker's default PATH for Linux containers whose image sets none. */
#define O2V_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define O2V_ENV_FILE_MAX (1024 * 1024)

/* argv = Entrypoint + Cmd with overrides:
 *   entrypoint NULL       keep the image's Entrypoint
 *   entrypoint "X"        Entrypoint = [X], and the image's Cmd is dropped
 *   entrypoint ""         no Entrypoint, and the image's Cmd is dropped
 *   args non-empty        replace Cmd
 * Any vector may be NULL (= empty). An empty result is -EINVAL. */
int o2v_runmerge_argv(char *const *image_entrypoint, char *const *image_cmd, const char *entrypoint,
		      char *const *args, char ***ret_argv, struct o2v_error *err);

/* Look up a host environment variable for "-e NAME" and env-file "NAME"
 * lines; NULL = not set. getenv() fits; tests pass their own. */
typedef const char *(*o2v_env_lookup_fn)(const char *name);

/* Parse an --env-file (Docker's format): leading whitespace is trimmed, empty
 * lines and lines starting with '#' are skipped; "NAME=VALUE" is taken as is
 * (the value keeps its spaces and quotes); a bare "NAME" takes the value from
 * lookup or is dropped when unset. A NAME containing whitespace, an empty
 * NAME, a NUL byte or invalid UTF-8 is -EINVAL naming the line. A leading
 * UTF-8 BOM is ignored. Appends to *list (which may start NULL). */
int o2v_runmerge_env_file(const char *text, size_t len, const char *source,
			  o2v_env_lookup_fn lookup, char ***list, struct o2v_error *err);

/* Read and parse each --env-file in order (o2v_runmerge_env_file), appending to *list.
 * An unreadable file is an error naming it. */
int o2v_runmerge_env_files(char *const *paths, o2v_env_lookup_fn lookup, char ***list,
			   struct o2v_error *err);

/* The final environment, in Docker's order: PATH (default when the image has
 * none), HOSTNAME (when hostname is not NULL), TERM=xterm (when terminal);
 * then the image's Env, then the overrides, each replacing an earlier entry
 * of the same name in place or appending. An override "NAME" without '='
 * takes its value from lookup, or removes NAME when unset (Docker's -e NAME).
 * An override with an empty name is -EINVAL. */
int o2v_runmerge_env(char *const *image_env, char *const *overrides, o2v_env_lookup_fn lookup,
		     const char *hostname, bool terminal, char ***ret_env, struct o2v_error *err);

#endif
