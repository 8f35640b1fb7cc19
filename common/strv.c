/* strv.c - see strv.h. */
#include "o2v.h"

#include <string.h>

#include "strv.h"

int o2v_strv_push_len(char ***v, size_t *n, const char *s, size_t len)
{
	size_t count = 0;

	if (n)
		count = *n;
	else
		while (*v && (*v)[count])
			count++;
	char *copy = strndup(s, len);
	char **nv = copy ? realloc(*v, (count + 2) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	nv[count] = copy;
	nv[count + 1] = NULL;
	*v = nv;
	if (n)
		(*n)++;
	return 0;
}

int o2v_strv_push(char ***v, const char *s)
{
	return o2v_strv_push_len(v, NULL, s, strlen(s));
}
