/* fuzz_envfile.c - `--env-file` (common/runmerge.c o2v_runmerge_env_file), and what the
 * host does next with the result: merge it with an image's Env (o2v_runmerge_env) and
 * send it to the guest in the run config (common/runconfig.c).
 *
 * Input: byte 0 holds flags, the rest is the file. Checks: an error is -EINVAL (or
 * -E2BIG) with a message naming the file and leaves the list NULL; otherwise every entry
 * is NAME=VALUE with a non-empty NAME free of whitespace, valid UTF-8 without NUL; the
 * file appends to what the list held; the merged environment starts with PATH and has
 * each name at most once; and a run config carrying it writes and parses back the same. */
#include "fuzz.h"

#include "../../common/runconfig.h"
#include "../../common/runmerge.h"

static const char *lookup(const char *name)
{
	/* a host environment with a few names set, one to a value with a newline */
	if (!strcmp(name, "HOME"))
		return "/root";
	if (!strcmp(name, "MULTI"))
		return "a\nb";
	if (!strcmp(name, "EMPTY"))
		return "";
	return NULL;
}

static bool utf8_ok(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, k = c < 0x80		  ? 0
				     : (c & 0xe0) == 0xc0 ? 1
				     : (c & 0xf0) == 0xe0 ? 2
				     : (c & 0xf8) == 0xf0 ? 3
							  : 9;
		if (k == 9)
			return false;
		for (unsigned j = 1; j <= k; j++)
			if ((s[j] & 0xc0) != 0x80)
				return false;
		s += k + 1;
	}
	return true;
}

static size_t name_len(const char *e)
{
	return strcspn(e, "=");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct o2v_error err = {0};
	char **list = NULL;

	if (size < 1 || size > O2V_ENV_FILE_MAX + 16)
		return 0;
	unsigned flags = data[0];
	size_t len = size - 1;
	char *text = malloc(len ? len : 1); /* exact size: no NUL after the file */
	FUZZ_CHECK(text, "oom");
	memcpy(text, data + 1, len);

	size_t before = 0;
	if (flags & 1) { /* an earlier --env-file */
		FUZZ_CHECK(o2v_runmerge_env_file("FIRST=1\n", 8, "first", NULL, &list, &err) == 0,
			   "first file");
		before = 1;
	}
	int r =
	    o2v_runmerge_env_file(text, len, "fuzz.env", flags & 2 ? lookup : NULL, &list, &err);
	if (r < 0) {
		FUZZ_CHECK((r == -EINVAL || r == -E2BIG) && err.code == r &&
			       strstr(err.msg, "fuzz.env"),
			   "r=%d '%s'", r, err.msg);
		FUZZ_CHECK(!list, "list left on failure");
		free(text);
		return 0;
	}
	FUZZ_CHECK(r == 0, "r=%d", r);
	size_t n = 0;
	for (; list && list[n]; n++) {
		const char *e = list[n];
		size_t nl = name_len(e);
		FUZZ_CHECK(nl > 0 && e[nl] == '=', "entry '%s'", e);
		for (size_t i = 0; i < nl; i++)
			FUZZ_CHECK(!strchr(" \t\n\r\v\f", e[i]), "whitespace in name '%s'", e);
		FUZZ_CHECK(utf8_ok((const unsigned char *)e) || (flags & 2), "UTF-8 '%s'", e);
	}
	FUZZ_CHECK(n >= before && (!before || !strcmp(list[0], "FIRST=1")), "earlier file lost");

	/* merge with an image's Env, as `oci2vm run --env-file` does */
	char *image_env[] = {"PATH=/bin", "HOME=/", "A=image", NULL};
	char **env = NULL;
	r = o2v_runmerge_env(image_env, list, flags & 2 ? lookup : NULL, flags & 4 ? "host" : NULL,
			     flags & 8, &env, &err);
	FUZZ_CHECK(r == 0, "merge failed: %s", err.msg);
	FUZZ_CHECK(env[0] && !strncmp(env[0], "PATH=", 5), "PATH not first");
	for (size_t i = 0; env[i]; i++)
		for (size_t j = i + 1; env[j]; j++)
			FUZZ_CHECK(name_len(env[i]) != name_len(env[j]) ||
				       memcmp(env[i], env[j], name_len(env[i])),
				   "'%s' twice", env[i]);

	/* and carried to the guest */
	struct o2v_runconfig rc, back;
	char *argv[] = {"/bin/sh", NULL};
	char *conf = NULL;
	size_t conf_len = 0;
	o2v_runconfig_init(&rc);
	rc.argv = argv;
	rc.env = env;
	r = o2v_runconfig_write(&rc, &conf, &conf_len, &err);
	FUZZ_CHECK(r == 0, "run config with this environment does not write: %s", err.msg);
	o2v_runconfig_init(&back);
	r = o2v_runconfig_parse(&back, conf, conf_len, &err);
	FUZZ_CHECK(r == 0, "run config does not parse back: %s", err.msg);
	for (size_t i = 0; env[i] || back.env[i]; i++)
		FUZZ_CHECK(env[i] && back.env[i] && !strcmp(env[i], back.env[i]),
			   "env entry %zu changed on the way to the guest", i);
	o2v_runconfig_release(&back);
	free(conf);

	o2v_strv_free(env);
	o2v_strv_free(list);
	free(text);
	return 0;
}
