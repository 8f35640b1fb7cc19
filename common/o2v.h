/* o2v.h - the first include of every oci2vm source file.
 *
 * Sets the feature macros, and defines the scope-cleanup helpers used
 * everywhere (systemd/bubblewrap style): a variable declared with
 * _cleanup_free_ is freed when it leaves scope, and TAKE_PTR hands its
 * ownership to the caller. Libc only: bootstrap-init includes this too.
 */
#ifndef O2V_H
#define O2V_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define O2V_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define O2V_NORETURN __attribute__((noreturn))
#define O2V_UNUSED __attribute__((unused))
#define O2V_WARN_UNUSED __attribute__((warn_unused_result))

/* Return *p and set it to NULL: "ownership moves to whoever takes this". */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp_tmp = (p);                                                       \
		(p) = NULL;                                                                        \
		_tp_tmp;                                                                           \
	})

/* Return an fd and set the variable to -1. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf_tmp = (fd);                                                                \
		(fd) = -1;                                                                         \
		_tf_tmp;                                                                           \
	})

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void o2v_freep(void *p)
{
	free(*(void **)p);
}

static inline void o2v_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void o2v_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Free a NULL-terminated vector of strings. */
static inline void o2v_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void o2v_strv_freep(char ***v)
{
	o2v_strv_free(*v);
}

#define _cleanup_free_ _cleanup_(o2v_freep)
#define _cleanup_close_ _cleanup_(o2v_closep)
#define _cleanup_fclose_ _cleanup_(o2v_fclosep)
#define _cleanup_strv_ _cleanup_(o2v_strv_freep)

/* Retry a syscall interrupted by a signal. */
#define O2V_RETRY(expr)                                                                            \
	({                                                                                         \
		long _r;                                                                           \
		do                                                                                 \
			_r = (long)(expr);                                                         \
		while (_r == -1 && errno == EINTR);                                                \
		_r;                                                                                \
	})

#endif
