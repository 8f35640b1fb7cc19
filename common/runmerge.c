/* runmerge.c - Docker's argv and env rules; see runmerge.h.
 *
 * The algorithms follow moby's daemon (container config merge with the
 * image config, CreateDaemonEnvironment, ReplaceOrAppendEnvValues) and the
 * docker CLI (--entrypoint handling, opts.ValidateEnv, ParseEnvFile), so a
 * user moving from `docker run` sees the same argv and environment.
 */
#include "o2v.h"

#include <string.h>

#include "fsutil.h"
#include "runmerge.h"
#include "strv.h"

struct strv {
	char **v;
	size_t n;
};

static int strv_add(struct strv *s, const char *str, size_t len)
{
	return o2v_strv_push_len(&s->v, &s->n, str, len);
}

static int strv_add_all(struct strv *s, char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strv_add(s, v[i], strlen(v[i])) < 0)
			return -ENOMEM;
	return 0;
}

static bool strv_empty(char *const *v)
{
	return !v || !v[0];
}

/* An empty vector still needs to be a vector, not NULL. */
static char **strv_take(struct strv *s)
{
	if (!s->v)
		s->v = calloc(1, sizeof(*s->v));
	return TAKE_PTR(s->v);
}

int o2v_runmerge_argv(char *const *image_entrypoint, char *const *image_cmd, const char *entrypoint,
		      char *const *args, char ***ret_argv, struct o2v_error *err)
{
	struct strv out = {0};
	int r = 0;

	/* --entrypoint (even empty) resets the image's Cmd: the image's Cmd was
	 * written as arguments for the image's Entrypoint, not for another. */
	if (entrypoint) {
		if (entrypoint[0])
			r = strv_add(&out, entrypoint, strlen(entrypoint));
	} else {
		r = strv_add_all(&out, image_entrypoint);
	}
	if (r == 0)
		r = strv_add_all(&out, !strv_empty(args) ? args : entrypoint ? NULL : image_cmd);
	if (r < 0) {
		o2v_strv_free(out.v);
		return o2v_error_sys(err, r, "merge command");
	}
	if (out.n == 0 || !out.v[0][0]) {
		o2v_strv_free(out.v);
		return o2v_error_set(
		    err, -EINVAL,
		    "no command specified: the image has no Entrypoint or Cmd, give "
		    "one after the image name");
	}
	*ret_argv = out.v;
	return 0;
}

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static bool same_name(const char *a, const char *b)
{
	size_t n = name_len(a);

	return n == name_len(b) && !memcmp(a, b, n);
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80		? 0
			   : (c & 0xe0) == 0xc0 ? 1
			   : (c & 0xf0) == 0xe0 ? 2
			   : (c & 0xf8) == 0xf0 ? 3
						: 4;
		if (k == 4 || (k == 1 && c < 0xc2) || i + k >= n)
			return false;
		unsigned cp = k ? c & (0x3f >> k) : c;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += k + 1;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int o2v_runmerge_env_file(const char *text, size_t len, const char *source,
			  o2v_env_lookup_fn lookup, char ***list, struct o2v_error *err)
{
	struct strv out = {.v = *list};
	const char *p = text, *end = text + len;
	size_t lineno = 0;

	while (out.v && out.v[out.n])
		out.n++;
	if (len > O2V_ENV_FILE_MAX)
		return o2v_error_set(err, -E2BIG, "read env file '%s': larger than %d bytes",
				     source, O2V_ENV_FILE_MAX);
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *ls = p;
		p = nl ? nl + 1 : end;
		lineno++;
		if (le > ls && le[-1] == '\r') /* Go's bufio.ScanLines drops one CR */
			le--;
		if (memchr(ls, '\0', (size_t)(le - ls)) ||
		    !valid_utf8((const unsigned char *)ls, (size_t)(le - ls)))
			goto bad_bytes;
		while (ls < le && is_space(*ls))
			ls++;
		if (ls == le || *ls == '#')
			continue;
		const char *eq = memchr(ls, '=', (size_t)(le - ls));
		const char *ne = eq ? eq : le;
		const char *why = ne == ls ? "no variable name" : NULL;
		for (const char *c = ls; !why && c < ne; c++)
			if (is_space(*c))
				why = "variable name contains whitespace";
		if (why) {
			o2v_strv_free(out.v);
			*list = NULL;
			return o2v_error_set(err, -EINVAL, "env file '%s' line %zu: %s", source,
					     lineno, why);
		}
		int r = 0;
		if (eq) {
			r = strv_add(&out, ls, (size_t)(le - ls));
		} else {
			_cleanup_free_ char *name = strndup(ls, (size_t)(ne - ls));
			const char *val = name && lookup ? lookup(name) : NULL;
			_cleanup_free_ char *kv = NULL;
			if (!name)
				r = -ENOMEM;
			else if (val && asprintf(&kv, "%s=%s", name, val) < 0)
				r = -ENOMEM;
			else if (kv)
				r = strv_add(&out, kv, strlen(kv));
		}
		if (r < 0) {
			o2v_strv_free(out.v);
			*list = NULL;
			return o2v_error_sys(err, r, "read env file '%s'", source);
		}
	}
	*list = out.v;
	return 0;

bad_bytes:
	o2v_strv_free(out.v);
	*list = NULL;
	return o2v_error_set(err, -EINVAL, "env file '%s' line %zu: invalid UTF-8 or NUL byte",
			     source, lineno);
}

/* moby's ReplaceOrAppendEnvValues: "K=V" replaces K in place or appends;
 * a bare "K" removes K. */
static int replace_or_append(struct strv *env, char *const *overrides)
{
	for (size_t i = 0; overrides && overrides[i]; i++) {
		const char *o = overrides[i];
		size_t j;
		for (j = 0; j < env->n && !same_name(env->v[j], o); j++)
			;
		if (!strchr(o, '=')) {
			if (j < env->n) {
				free(env->v[j]);
				memmove(&env->v[j], &env->v[j + 1], (env->n - j) * sizeof(char *));
				env->n--;
			}
			continue;
		}
		if (j < env->n) {
			char *dup = strdup(o);
			if (!dup)
				return -ENOMEM;
			free(env->v[j]);
			env->v[j] = dup;
		} else if (strv_add(env, o, strlen(o)) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

int o2v_runmerge_env(char *const *image_env, char *const *overrides, o2v_env_lookup_fn lookup,
		     const char *hostname, bool terminal, char ***ret_env, struct o2v_error *err)
{
	struct strv user = {0}, env = {0};
	int r = 0;

	/* The user's entries (-e NAME takes the host's value, as the docker CLI
	 * does), then the image's entries the user did not name (moby's merge). */
	for (size_t i = 0; r == 0 && overrides && overrides[i]; i++) {
		const char *o = overrides[i];
		if (name_len(o) == 0) {
			r = o2v_error_set(err, -EINVAL, "invalid environment variable '%s'", o);
			goto out;
		}
		const char *val = !strchr(o, '=') && lookup ? lookup(o) : NULL;
		if (val) {
			_cleanup_free_ char *kv = NULL;
			if (asprintf(&kv, "%s=%s", o, val) < 0)
				r = -ENOMEM;
			else
				r = strv_add(&user, kv, strlen(kv));
		} else {
			r = strv_add(&user, o, strlen(o));
		}
	}
	for (size_t i = 0; r == 0 && image_env && image_env[i]; i++) {
		size_t j;
		for (j = 0; j < user.n && !same_name(user.v[j], image_env[i]); j++)
			;
		if (j == user.n)
			r = strv_add(&user, image_env[i], strlen(image_env[i]));
	}

	/* moby's CreateDaemonEnvironment: defaults first, then the merged list. */
	if (r == 0)
		r = strv_add(&env, "PATH=" O2V_DEFAULT_PATH, strlen("PATH=" O2V_DEFAULT_PATH));
	if (r == 0 && hostname) {
		_cleanup_free_ char *h = NULL;
		if (asprintf(&h, "HOSTNAME=%s", hostname) < 0)
			r = -ENOMEM;
		else
			r = strv_add(&env, h, strlen(h));
	}
	if (r == 0 && terminal)
		r = strv_add(&env, "TERM=xterm", strlen("TERM=xterm"));
	if (r == 0)
		r = replace_or_append(&env, user.v);
	if (r < 0) {
		r = o2v_error_sys(err, r, "merge environment");
		goto out;
	}
	*ret_env = strv_take(&env);
	if (!*ret_env)
		r = o2v_error_sys(err, -ENOMEM, "merge environment");
out:
	o2v_strv_free(user.v);
	o2v_strv_free(env.v);
	return r;
}

int o2v_runmerge_env_files(char *const *paths, o2v_env_lookup_fn lookup, char ***list,
			   struct o2v_error *err)
{
	for (; paths && *paths; paths++) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r = o2v_read_file(*paths, O2V_ENV_FILE_MAX, &text, &len, err);
		if (r < 0)
			return o2v_error_prefix(err, "--env-file");
		if ((r = o2v_runmerge_env_file(text, len, *paths, lookup, list, err)) < 0)
			return r;
	}
	return 0;
}
