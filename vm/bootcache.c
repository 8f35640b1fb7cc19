/* bootcache.c - per-host-boot facts in the runtime directory; see bootcache.h. */
#include "../common/o2v.h"

#include <string.h>

#include "../common/fsutil.h"
#include "../common/paths.h"
#include "bootcache.h"

#define BOOT_ID_MAX 64

/* This boot's id and the file for name (malloc'ed); false on any failure. */
static bool locate(const char *name, char id[BOOT_ID_MAX], char **ret_dir, char **ret_path)
{
	_cleanup_free_ char *text = NULL;

	if (o2v_read_file("/proc/sys/kernel/random/boot_id", BOOT_ID_MAX - 1, &text, NULL, NULL) <
		0 ||
	    o2v_runtime_dir(ret_dir, NULL) < 0)
		return false;
	text[strcspn(text, "\n")] = '\0';
	snprintf(id, BOOT_ID_MAX, "%s", text);
	return (*ret_path = o2v_path_join(*ret_dir, name)) != NULL;
}

bool o2v_boot_cache_get(const char *name, char *value, size_t size)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
	char id[BOOT_ID_MAX];
	size_t n;

	if (!locate(name, id, &dir, &path) || o2v_read_file(path, 256, &text, NULL, NULL) < 0)
		return false;
	n = strlen(id);
	if (strncmp(text, id, n) || text[n] != ' ')
		return false;
	const char *v = text + n + 1;
	size_t len = strcspn(v, "\n");
	if (len == 0 || len >= size)
		return false;
	memcpy(value, v, len);
	value[len] = '\0';
	return true;
}

void o2v_boot_cache_put(const char *name, const char *value)
{
	_cleanup_free_ char *dir = NULL, *path = NULL;
	char id[BOOT_ID_MAX], line[256];

	if (!locate(name, id, &dir, &path) || o2v_mkdir_p(dir, 0700, NULL) < 0)
		return;
	int n = snprintf(line, sizeof(line), "%s %s\n", id, value);
	if (n > 0 && (size_t)n < sizeof(line))
		o2v_write_file_atomic(path, line, (size_t)n, 0600, NULL);
}
