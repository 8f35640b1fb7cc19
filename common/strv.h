/* strv.h - growing NULL-terminated string vectors (freed with o2v_strv_free()). */
#ifndef O2V_STRV_H
#define O2V_STRV_H

#include <stddef.h>

/* Append a copy of the first len bytes of s to *v (which may be NULL). n: the vector's
 * length if the caller keeps it (updated), or NULL to count. 0 or -ENOMEM; on failure *v
 * is unchanged and still NULL-terminated. */
int o2v_strv_push_len(char ***v, size_t *n, const char *s, size_t len);

/* Append a copy of s. */
int o2v_strv_push(char ***v, const char *s);

#endif
