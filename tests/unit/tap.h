/* tap.h - a minimal TAP producer for C unit tests (bubblewrap/crun style).
 *
 *   TAP_OK(cond, "name %d", i);     one test point
 *   TAP_IS_STR(got, want, "name");  string comparison with a diagnostic
 *   TAP_IS_INT(got, want, "name");
 *   return tap_done();              prints the plan, exit 1 if any failed
 */
#ifndef O2V_TAP_H
#define O2V_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define TAP_OK(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#define TAP_IS_STR(got, want, ...)                                                                 \
	do {                                                                                       \
		const char *_g = (got), *_w = (want);                                              \
		if (!tap_ok(_g && _w ? !strcmp(_g, _w) : _g == _w, __VA_ARGS__))                   \
			printf("#   got:  '%s'\n#   want: '%s'\n", _g ? _g : "(null)",             \
			       _w ? _w : "(null)");                                                \
	} while (0)

#define TAP_IS_INT(got, want, ...)                                                                 \
	do {                                                                                       \
		long long _g = (long long)(got), _w = (long long)(want);                           \
		if (!tap_ok(_g == _w, __VA_ARGS__))                                                \
			printf("#   got:  %lld\n#   want: %lld\n", _g, _w);                        \
	} while (0)

static inline void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
