/* error.h - the one error convention of oci2vm.
 *
 * A fallible function returns int: >= 0 on success, a negative errno on
 * failure. On failure it also fills a caller-provided struct o2v_error with
 * a message; on success it never touches it. Synthetic failures use a real
 * errno that says what class of failure it is, because the CLI maps the
 * class to an exit code and a hint:
 *
 *   -EINVAL   malformed input from the user (bad reference, bad option)   exit 2
 *   -ENOENT   something named does not exist (image, tag, file)           exit 1
 *   -EACCES   authentication or authorization failed                       exit 1
 *   -EBADMSG  untrusted data failed verification (digest, format)          exit 1
 *   -E2BIG    untrusted data exceeded a cap                                exit 1
 *   -EPROTO   a peer broke the protocol                                    exit 1
 *   anything else: a system error, with strerror in the message           exit 1
 *
 * The struct is caller-owned and holds no pointers, so it needs no cleanup
 * and can live on the stack (bootstrap-init uses it without malloc).
 * Callers add context on the way up with o2v_error_prefix(), giving
 * messages like "pull 'redis:7': fetch manifest: HTTP 401 from ...".
 */
#ifndef O2V_ERROR_H
#define O2V_ERROR_H

#include "o2v.h"

#define O2V_ERROR_MAX 1024

struct o2v_error {
	int code;		  /* negative errno; 0 while no error was set */
	char msg[O2V_ERROR_MAX];  /* one line, lowercase, no trailing period */
};

/* Set err (if not NULL) from a printf format; returns code (negative). */
int o2v_error_set(struct o2v_error *err, int code, const char *fmt, ...) O2V_PRINTF(3, 4);

/* Like o2v_error_set(), appending ": strerror(-code)". */
int o2v_error_sys(struct o2v_error *err, int code, const char *fmt, ...) O2V_PRINTF(3, 4);

/* Prepend "CONTEXT: " to an already set message; returns err->code. */
int o2v_error_prefix(struct o2v_error *err, const char *fmt, ...) O2V_PRINTF(2, 3);

/* Reset to "no error". */
void o2v_error_clear(struct o2v_error *err);

#endif
