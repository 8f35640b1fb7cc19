/* error.c - see error.h for the convention. */
#include "o2v.h"

#include <stdarg.h>
#include <string.h>

#include "error.h"

static void error_vset(struct o2v_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int o2v_error_set(struct o2v_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (code >= 0)
		code = -EIO; /* a caller bug must still read as a failure */
	if (!err)
		return code;
	va_start(ap, fmt);
	error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int o2v_error_sys(struct o2v_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (code >= 0)
		code = -EIO;
	if (!err)
		return code;
	va_start(ap, fmt);
	error_vset(err, code, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(-code));
	return code;
}

int o2v_error_prefix(struct o2v_error *err, const char *fmt, ...)
{
	char prefix[O2V_ERROR_MAX];
	char old[O2V_ERROR_MAX];
	va_list ap;

	if (!err)
		return -EIO;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Messages are capped by design: a too-long one is cut, never overflowed. */
	size_t plen = strnlen(prefix, sizeof(err->msg) - 1);
	memcpy(err->msg, prefix, plen);
	size_t pos = plen;
	if (pos + 2 < sizeof(err->msg)) {
		memcpy(err->msg + pos, ": ", 2);
		pos += 2;
	}
	size_t olen = strnlen(old, sizeof(old));
	if (olen > sizeof(err->msg) - 1 - pos)
		olen = sizeof(err->msg) - 1 - pos;
	memcpy(err->msg + pos, old, olen);
	err->msg[pos + olen] = '\0';
	return err->code ? err->code : -EIO;
}

void o2v_error_clear(struct o2v_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
