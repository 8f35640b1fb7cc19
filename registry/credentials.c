/* credentials.c - docker config.json, credential helpers, podman auth.json; see credentials.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "../common/fsutil.h"
#include "credentials.h"

extern char **environ;

#define HELPER_PREFIX "docker-credential-"
#define HELPER_NOT_FOUND "credentials not found in native keychain"
#define TOKEN_USERNAME "<token>"

void o2v_credentials_clear(struct o2v_credentials *c)
{
	explicit_bzero(c, sizeof(*c));
	c->kind = O2V_CRED_NONE;
}

/* Wipe a string json-c owns before the object is freed: secrets must not
 * linger in freed heap memory. */
static void json_wipe_string(struct json_object *o)
{
	if (o && json_object_is_type(o, json_type_string))
		explicit_bzero((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
}

static void wipe_freep(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
}
#define _cleanup_wipe_ _cleanup_(wipe_freep)

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

/* ---- base64 (RFC 4648, padded, as Go's StdEncoding) ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

/* Decode strictly: length a multiple of 4, '=' only as trailing padding.
 * out must hold len/4*3 bytes; returns the decoded length or -1. */
static ssize_t b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t o = 0;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad) /* data after '=' */
				return -1;
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -1;
		}
		uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		out[o++] = (unsigned char)(n >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(n >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)n;
	}
	return (ssize_t)o;
}

/* Returns a malloc'ed NUL-terminated encoding or NULL. */
static char *b64_encode(const unsigned char *in, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t n = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			n |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			n |= in[i + 2];
		out[o++] = b64_alphabet[(n >> 18) & 63];
		out[o++] = b64_alphabet[(n >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(n >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[n & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static bool copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size || memchr(src, '\0', len))
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

/* docker/cli decodeAuth: base64("user:pass"), split at the first ':', the user
 * must not be empty, NULs trailing the password are dropped. */
static int decode_auth(const char *auth, size_t len, struct o2v_credentials *c, const char *key,
		       struct o2v_error *err)
{
	unsigned char buf[(O2V_CRED_USERNAME_MAX + O2V_CRED_SECRET_MAX) / 3 * 4];
	int r = 0;

	if (len / 4 * 3 > sizeof(buf))
		return o2v_error_set(err, -E2BIG, "credentials for '%s': 'auth' value too long",
				     key);
	ssize_t n = b64_decode(auth, len, buf);
	if (n < 0) {
		r = o2v_error_set(err, -EBADMSG, "credentials for '%s': 'auth' is not valid base64",
				  key);
		goto out;
	}
	unsigned char *colon = memchr(buf, ':', (size_t)n);
	if (!colon || colon == buf) {
		r = o2v_error_set(err, -EBADMSG,
				  "credentials for '%s': 'auth' must decode to 'user:password' with a "
				  "non-empty user",
				  key);
		goto out;
	}
	size_t ulen = (size_t)(colon - buf);
	size_t plen = (size_t)n - ulen - 1;
	while (plen > 0 && colon[plen] == '\0')
		plen--;
	if (!copy_field(c->username, sizeof(c->username), (char *)buf, ulen) ||
	    !copy_field(c->secret, sizeof(c->secret), (char *)colon + 1, plen)) {
		r = o2v_error_set(err, -EBADMSG,
				  "credentials for '%s': 'auth' user or password too long or "
				  "contains NUL",
				  key);
		goto out;
	}
	c->kind = O2V_CRED_BASIC;
out:
	explicit_bzero(buf, sizeof(buf));
	return r;
}

/* ---- keys ---- */

static bool is_docker_hub(const char *host)
{
	return !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
	       !strcmp(host, "registry-1.docker.io");
}

/* docker/cli ConvertToHostname: drop "http(s)://" and everything from the first '/'. */
static size_t hostname_of(const char *key, const char **ret_start)
{
	if (!strncmp(key, "http://", 7))
		key += 7;
	else if (!strncmp(key, "https://", 8))
		key += 8;
	*ret_start = key;
	return strcspn(key, "/");
}

const char *o2v_credentials_key(const char *domain, char *buf, size_t size)
{
	const char *host;
	size_t len = hostname_of(domain, &host);
	char name[256];

	if (len == 0 || len >= sizeof(name))
		return NULL;
	memcpy(name, host, len);
	name[len] = '\0';
	const char *key = is_docker_hub(name) ? O2V_DOCKER_HUB_KEY : name;
	if (strlen(key) >= size)
		return NULL;
	strcpy(buf, key);
	return buf;
}

/* Does config key k name the registry whose canonical key is key? */
static bool key_matches(const char *k, const char *key)
{
	const char *host;
	size_t len;

	if (!strcmp(k, key))
		return true;
	len = hostname_of(k, &host);
	if (!strcmp(key, O2V_DOCKER_HUB_KEY)) {
		static const char *const hub[] = { "docker.io", "index.docker.io",
						   "registry-1.docker.io" };
		for (size_t i = 0; i < ARRAY_SIZE(hub); i++)
			if (strlen(hub[i]) == len && !strncmp(host, hub[i], len))
				return true;
		return false;
	}
	return strlen(key) == len && !strncmp(host, key, len);
}

/* ---- config files ---- */

int o2v_config_json_load(const char *path, size_t max, struct json_object **ret,
			 struct o2v_error *err)
{
	_cleanup_wipe_ char *buf = NULL;
	size_t len;
	int r = o2v_read_file(path, max, &buf, &len, err);

	if (r == -ENOENT || r == -ENOTDIR) {
		o2v_error_clear(err);
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return o2v_error_sys(err, -ENOMEM, "parse '%s'", path);
	struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success || strspn(buf + used, " \t\r\n") != len - used) {
		json_object_put(o);
		/* empty files are what some tools leave behind: docker treats them as {} */
		if (strspn(buf, " \t\r\n") == len) {
			*ret = NULL;
			return 0;
		}
		return o2v_error_set(err, -EBADMSG, "parse '%s': not valid JSON", path);
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return o2v_error_set(err, -EBADMSG, "parse '%s': not a JSON object", path);
	}
	*ret = o;
	return 0;
}

static const char *json_str(struct json_object *obj, const char *name, size_t *ret_len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (ret_len)
		*ret_len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static void wipe_entry(struct json_object *entry)
{
	static const char *const secrets[] = { "auth", "password", "identitytoken",
					       "registrytoken" };
	struct json_object *v;

	for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
		if (json_object_object_get_ex(entry, secrets[i], &v))
			json_wipe_string(v);
}

static void wipe_all_entries(struct json_object *cfg)
{
	struct json_object *auths;

	if (!cfg || !json_object_object_get_ex(cfg, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object))
		return;
	json_object_object_foreach(auths, k, v)
	{
		(void)k;
		if (json_object_is_type(v, json_type_object))
			wipe_entry(v);
	}
}

static void json_put_wipedp(struct json_object **o)
{
	if (*o) {
		wipe_all_entries(*o);
		json_object_put(*o);
	}
}
#define _cleanup_json_wiped_ _cleanup_(json_put_wipedp)

/* One AuthConfig object → credentials. Precedence as docker's registry client:
 * registrytoken, then identitytoken, then auth / username+password.
 * Returns 1 when the entry holds credentials, 0 when it is empty ({}). */
static int parse_entry(struct json_object *entry, const char *key, struct o2v_credentials *c,
		       struct o2v_error *err)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(entry, json_type_object))
		return o2v_error_set(err, -EBADMSG, "credentials for '%s': not a JSON object",
				     key);
	if ((s = json_str(entry, "username", &len)) && len &&
	    !copy_field(c->username, sizeof(c->username), s, len))
		return o2v_error_set(err, -E2BIG, "credentials for '%s': username too long", key);
	if ((s = json_str(entry, "registrytoken", &len)) && len) {
		if (!copy_field(c->secret, sizeof(c->secret), s, len))
			return o2v_error_set(err, -E2BIG,
					     "credentials for '%s': registry token too long", key);
		c->kind = O2V_CRED_REGISTRY_TOKEN;
		return 1;
	}
	if ((s = json_str(entry, "identitytoken", &len)) && len) {
		if (!copy_field(c->secret, sizeof(c->secret), s, len))
			return o2v_error_set(err, -E2BIG,
					     "credentials for '%s': identity token too long", key);
		c->kind = O2V_CRED_IDENTITY_TOKEN;
		return 1;
	}
	if ((s = json_str(entry, "auth", &len)) && len) {
		int r = decode_auth(s, len, c, key, err);
		return r < 0 ? r : 1;
	}
	if ((s = json_str(entry, "password", &len)) && len && c->username[0]) {
		if (!copy_field(c->secret, sizeof(c->secret), s, len))
			return o2v_error_set(err, -E2BIG, "credentials for '%s': password too long",
					     key);
		c->kind = O2V_CRED_BASIC;
		return 1;
	}
	c->username[0] = '\0';
	return 0;
}

/* Find auths[k] for key: exact key first, then keys naming the same host.
 * In podman's files a key "host/path" without a scheme is a namespace (matched
 * by the caller against the repository), not a legacy spelling of the host. */
static struct json_object *find_auth_entry(struct json_object *cfg, const char *key,
					   bool podman, const char **ret_key)
{
	struct json_object *auths, *entry;

	if (!json_object_object_get_ex(cfg, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object))
		return NULL;
	if (json_object_object_get_ex(auths, key, &entry)) {
		*ret_key = key;
		return entry;
	}
	json_object_object_foreach(auths, k, v)
	{
		if (podman && !strstr(k, "://") && strchr(k, '/'))
			continue;
		if (key_matches(k, key)) {
			*ret_key = k;
			return v;
		}
	}
	return NULL;
}

/* The helper configured for key: credHelpers[key] (any key naming the same host),
 * else credsStore. NULL when none. */
static const char *configured_helper(struct json_object *cfg, const char *key)
{
	struct json_object *helpers;
	const char *s;

	if (!cfg)
		return NULL;
	if (json_object_object_get_ex(cfg, "credHelpers", &helpers) &&
	    json_object_is_type(helpers, json_type_object)) {
		struct json_object *v;
		if (json_object_object_get_ex(helpers, key, &v) &&
		    json_object_is_type(v, json_type_string))
			return json_object_get_string(v);
		json_object_object_foreach(helpers, k, hv)
		{
			if (key_matches(k, key) && json_object_is_type(hv, json_type_string))
				return json_object_get_string(hv);
		}
	}
	s = json_str(cfg, "credsStore", NULL);
	return s && *s ? s : NULL;
}

/* ---- credential helpers ---- */

static int helper_check_name(const char *suffix, struct o2v_error *err)
{
	if (!*suffix || strchr(suffix, '/') || strlen(suffix) > 64)
		return o2v_error_set(err, -EINVAL,
				     "credential helper name '%s' is invalid: it must be a plain "
				     "name, without '/'",
				     suffix);
	return 0;
}

/* An in-memory file holding input: the helper reads it as stdin, so we never
 * block on (or get SIGPIPE from) a helper that does not read. */
static int input_fd(const char *input, struct o2v_error *err)
{
	_cleanup_close_ int fd = memfd_create("o2v-cred-input", MFD_CLOEXEC);

	if (fd < 0)
		return o2v_error_sys(err, -errno, "run credential helper");
	int r = o2v_write_all(fd, input, strlen(input));
	if (r < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return o2v_error_sys(err, r < 0 ? r : -errno, "run credential helper");
	return TAKE_FD(fd);
}

/* Run "docker-credential-SUFFIX ACTION" with input on stdin; capture stdout
 * (capped). Returns the exit status (>= 0) or a negative errno. */
static int helper_run(const char *suffix, const char *action, const char *input, char **ret_out,
		      size_t *ret_len, struct o2v_error *err)
{
	char prog[sizeof(HELPER_PREFIX) + 64];
	_cleanup_close_ int in = -1, devnull = -1;
	int pipefd[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	r = helper_check_name(suffix, err);
	if (r < 0)
		return r;
	snprintf(prog, sizeof(prog), HELPER_PREFIX "%s", suffix);
	in = input_fd(input, err);
	if (in < 0)
		return in;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		return o2v_error_sys(err, -errno, "run '%s'", prog);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "run '%s'", prog);

	char *argv[] = { prog, (char *)action, NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, devnull, STDERR_FILENO);
	r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		if (r == ENOENT)
			return o2v_error_set(err, -ENOENT,
					     "credential helper '%s' not found in PATH: install it "
					     "or remove it from the docker config",
					     prog);
		return o2v_error_sys(err, -r, "run '%s'", prog);
	}

	/* zeroed: always NUL-terminated, so the wiping cleanup can strlen() it */
	_cleanup_wipe_ char *out = calloc(1, O2V_CRED_HELPER_OUT_MAX + 1);
	size_t len = 0;
	bool too_big = false;
	for (;;) {
		char sink[4096];
		char *dst = out && len < O2V_CRED_HELPER_OUT_MAX ? out + len : sink;
		size_t room = dst == sink ? sizeof(sink) : O2V_CRED_HELPER_OUT_MAX - len;
		ssize_t n = O2V_RETRY(read(pipefd[0], dst, room));
		if (n <= 0)
			break;
		if (dst == sink)
			too_big = true; /* keep draining so the helper can exit */
		else
			len += (size_t)n;
	}
	close(pipefd[0]);
	int status;
	if (O2V_RETRY(waitpid(pid, &status, 0)) < 0)
		return o2v_error_sys(err, -errno, "wait for '%s'", prog);
	if (!out)
		return o2v_error_sys(err, -ENOMEM, "run '%s'", prog);
	if (too_big)
		return o2v_error_set(err, -E2BIG, "'%s %s': output larger than %d bytes", prog,
				     action, O2V_CRED_HELPER_OUT_MAX);
	if (WIFSIGNALED(status))
		return o2v_error_set(err, -EPROTO, "'%s %s' killed by signal %d", prog, action,
				     WTERMSIG(status));
	out[len] = '\0';
	*ret_out = TAKE_PTR(out);
	*ret_len = len;
	return WEXITSTATUS(status);
}

/* The helper's own error text (first line, printable ASCII, bounded): it is
 * not a secret, and it is what tells the user why their keychain failed. */
static void helper_message(const char *out, char *buf, size_t size)
{
	size_t o = 0;

	out += strspn(out, " \t\r\n");
	for (; *out && *out != '\n' && o + 1 < size && o < 200; out++)
		buf[o++] = (*out >= 0x20 && *out < 0x7f) ? *out : '?';
	buf[o] = '\0';
}

static bool is_not_found(const char *out)
{
	size_t len;

	out += strspn(out, " \t\r\n");
	len = strlen(out);
	while (len && strchr(" \t\r\n", out[len - 1]))
		len--;
	return len == strlen(HELPER_NOT_FOUND) && !strncmp(out, HELPER_NOT_FOUND, len);
}

/* Run a helper action. A non-zero exit is "no credentials" when the helper
 * says so (returns 0), else an error with fail_code quoting the helper's own
 * message. Returns 1 with the output on success. */
static int helper_invoke(const char *suffix, const char *action, const char *input,
			 const char *key, int fail_code, char **ret_out, size_t *ret_len,
			 struct o2v_error *err)
{
	int status = helper_run(suffix, action, input, ret_out, ret_len, err);
	char msg[256];

	if (status <= 0)
		return status < 0 ? status : 1;
	if (is_not_found(*ret_out))
		return 0;
	helper_message(*ret_out, msg, sizeof(msg));
	return o2v_error_set(err, fail_code,
			     "'docker-credential-%s %s' for '%s' failed with exit status %d%s%s",
			     suffix, action, key, status, msg[0] ? ": " : "", msg);
}

static int helper_get(const char *suffix, const char *key, struct o2v_credentials *c,
		      struct o2v_error *err)
{
	_cleanup_wipe_ char *out = NULL;
	size_t len = 0;
	int r = helper_invoke(suffix, "get", key, key, -EACCES, &out, &len, err);

	if (r <= 0)
		return r;

	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return o2v_error_sys(err, -ENOMEM, "parse credential helper output");
	_cleanup_json_ struct json_object *o = json_tokener_parse_ex(tok, out, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object))
		return o2v_error_set(err, -EPROTO,
				     "'docker-credential-%s get' printed no JSON object", suffix);
	size_t ulen = 0, slen = 0;
	const char *user = json_str(o, "Username", &ulen);
	const char *secret = json_str(o, "Secret", &slen);
	if (!secret || !slen) {
		r = 0; /* an empty secret is what some helpers answer for "none" */
	} else if (user && !strcmp(user, TOKEN_USERNAME)) {
		if (!copy_field(c->secret, sizeof(c->secret), secret, slen))
			r = o2v_error_set(err, -E2BIG, "identity token from helper too long");
		else
			r = 1;
		c->kind = r == 1 ? O2V_CRED_IDENTITY_TOKEN : O2V_CRED_NONE;
	} else if (!user || !ulen || !copy_field(c->username, sizeof(c->username), user, ulen) ||
		   !copy_field(c->secret, sizeof(c->secret), secret, slen)) {
		r = o2v_error_set(err, -EPROTO,
				  "'docker-credential-%s get' returned an empty or too long "
				  "username or secret",
				  suffix);
	} else {
		c->kind = O2V_CRED_BASIC;
		r = 1;
	}
	struct json_object *v;
	if (json_object_object_get_ex(o, "Secret", &v))
		json_wipe_string(v);
	if (r == 1)
		snprintf(c->source, sizeof(c->source), "docker-credential-%s", suffix);
	return r;
}

/* ---- file locations ---- */

static char *home_path(const char *rel)
{
	const char *home = getenv("HOME");

	if (!home || !*home)
		return NULL;
	return o2v_path_join(home, rel);
}

static char *docker_config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG");

	if (dir && *dir)
		return o2v_path_join(dir, "config.json");
	return home_path(".docker/config.json");
}

static char *xdg_path(const char *var, const char *home_fallback, const char *rel)
{
	const char *dir = getenv(var);
	_cleanup_free_ char *base = NULL;

	if (dir && *dir == '/')
		return o2v_path_join(dir, rel);
	if (!home_fallback)
		return NULL;
	base = home_path(home_fallback);
	return base ? o2v_path_join(base, rel) : NULL;
}

/* ---- lookup ---- */

static int lookup_docker(const char *key, struct o2v_credentials *c, struct o2v_error *err)
{
	_cleanup_free_ char *path = docker_config_path();
	_cleanup_json_wiped_ struct json_object *cfg = NULL;
	const char *entry_key;
	int r;

	if (!path)
		return 0;
	r = o2v_config_json_load(path, O2V_CRED_CONFIG_MAX, &cfg, err);
	if (r < 0 || !cfg)
		return r;
	const char *helper = configured_helper(cfg, key);
	if (helper)
		return helper_get(helper, key, c, err);
	struct json_object *entry = find_auth_entry(cfg, key, false, &entry_key);
	if (!entry)
		return 0;
	r = parse_entry(entry, entry_key, c, err);
	if (r < 0)
		return o2v_error_prefix(err, "read '%s'", path);
	if (r > 0)
		snprintf(c->source, sizeof(c->source), "%s", path);
	return r;
}

/* podman: keys may name a namespace; most specific first (reg/ns/img → reg/ns → reg). */
static int lookup_podman_file(const char *path, const char *key, const char *domain,
			      const char *repository, struct o2v_credentials *c,
			      struct o2v_error *err)
{
	_cleanup_json_wiped_ struct json_object *cfg = NULL;
	struct json_object *auths, *entry;
	const char *entry_key;
	int r = o2v_config_json_load(path, O2V_CRED_CONFIG_MAX, &cfg, err);

	if (r < 0 || !cfg)
		return r;
	if (repository && json_object_object_get_ex(cfg, "auths", &auths) &&
	    json_object_is_type(auths, json_type_object)) {
		const char *host = is_docker_hub(domain) ? "docker.io" : domain;
		_cleanup_free_ char *name = NULL;
		if (asprintf(&name, "%s/%s", host, repository) < 0)
			return o2v_error_sys(err, -ENOMEM, "read '%s'", path);
		/* the bare host is matched below, with docker's rules */
		for (;;) {
			if (json_object_object_get_ex(auths, name, &entry)) {
				r = parse_entry(entry, name, c, err);
				goto found;
			}
			char *slash = strrchr(name, '/');
			if (!slash || (size_t)(slash - name) <= strlen(host))
				break;
			*slash = '\0';
		}
	}
	const char *helper = configured_helper(cfg, key);
	if (helper)
		return helper_get(helper, key, c, err);
	entry = find_auth_entry(cfg, key, true, &entry_key);
	if (!entry)
		return 0;
	r = parse_entry(entry, entry_key, c, err);
found:
	if (r < 0)
		return o2v_error_prefix(err, "read '%s'", path);
	if (r > 0)
		snprintf(c->source, sizeof(c->source), "%s", path);
	return r;
}

int o2v_credentials_lookup(const char *domain, const char *repository,
			   struct o2v_credentials *ret, struct o2v_error *err)
{
	char key[256];
	int r;

	o2v_credentials_clear(ret);
	if (!o2v_credentials_key(domain, key, sizeof(key)))
		return o2v_error_set(err, -EINVAL, "registry name '%s' is invalid", domain);
	r = lookup_docker(key, ret, err);
	for (int i = 0; r == 0 && i < 2; i++) {
		_cleanup_free_ char *path =
			i == 0 ? xdg_path("XDG_RUNTIME_DIR", NULL, "containers/auth.json")
			       : xdg_path("XDG_CONFIG_HOME", ".config", "containers/auth.json");
		if (path) {
			o2v_credentials_clear(ret);
			r = lookup_podman_file(path, key, domain, repository, ret, err);
		}
	}
	if (r <= 0) {
		o2v_credentials_clear(ret);
		return r;
	}
	return 0;
}

/* ---- store / erase ---- */

static int helper_store(const char *suffix, const char *key, const char *username,
			const char *password, struct o2v_error *err)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	_cleanup_wipe_ char *out = NULL;
	size_t len;

	if (!o || json_object_object_add(o, "ServerURL", json_object_new_string(key)) < 0 ||
	    json_object_object_add(o, "Username", json_object_new_string(username)) < 0 ||
	    json_object_object_add(o, "Secret", json_object_new_string(password)) < 0)
		return o2v_error_sys(err, -ENOMEM, "store credentials");
	char *input = (char *)json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!input)
		return o2v_error_sys(err, -ENOMEM, "store credentials");
	int r = helper_invoke(suffix, "store", input, key, -EIO, &out, &len, err);
	explicit_bzero(input, strlen(input));
	struct json_object *v;
	if (json_object_object_get_ex(o, "Secret", &v))
		json_wipe_string(v);
	if (r == 0) /* "not found" makes no sense for store: the helper failed */
		return o2v_error_set(err, -EIO, "'docker-credential-%s store' for '%s' failed",
				     suffix, key);
	return r < 0 ? r : 0;
}

static int helper_erase(const char *suffix, const char *key, struct o2v_error *err)
{
	_cleanup_wipe_ char *out = NULL;
	size_t len;

	return helper_invoke(suffix, "erase", key, key, -EIO, &out, &len, err);
}

/* Write cfg to path atomically, keeping an existing file's mode (docker's
 * copyFilePermissions), 0600 for a new one; a symlinked config.json is
 * replaced at its target, as docker does. */
static int save_config(const char *path, struct json_object *cfg, struct o2v_error *err)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	const char *target = real ? real : path;
	mode_t mode = 0600;
	struct stat st;
	int r;

	if (!real) {
		_cleanup_free_ char *dir = strdup(path);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		if (!dir)
			return o2v_error_sys(err, -ENOMEM, "write '%s'", path);
		if (slash && slash != dir) {
			*slash = '\0';
			r = o2v_mkdir_p(dir, 0700, err);
			if (r < 0)
				return r;
		}
	} else if (stat(real, &st) == 0) {
		mode = st.st_mode & 07777;
	}
	char *text = (char *)json_object_to_json_string_ext(
		cfg, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
			     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return o2v_error_sys(err, -ENOMEM, "write '%s'", target);
	size_t len = strlen(text);
	_cleanup_wipe_ char *buf = malloc(len + 2);
	if (!buf) {
		explicit_bzero(text, len);
		return o2v_error_sys(err, -ENOMEM, "write '%s'", target);
	}
	memcpy(buf, text, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	explicit_bzero(text, len);
	return o2v_write_file_atomic(target, buf, len + 1, mode, err);
}

/* Load config.json for modification: a missing file is an empty object. */
static int load_config_for_update(const char *path, struct json_object **ret,
				  struct json_object **ret_auths, struct o2v_error *err)
{
	struct json_object *cfg = NULL, *auths;
	int r = o2v_config_json_load(path, O2V_CRED_CONFIG_MAX, &cfg, err);

	if (r < 0)
		return r;
	if (!cfg && !(cfg = json_object_new_object()))
		return o2v_error_sys(err, -ENOMEM, "update '%s'", path);
	if (!json_object_object_get_ex(cfg, "auths", &auths)) {
		auths = json_object_new_object();
		if (!auths || json_object_object_add(cfg, "auths", auths) < 0) {
			json_object_put(cfg);
			return o2v_error_sys(err, -ENOMEM, "update '%s'", path);
		}
	} else if (!json_object_is_type(auths, json_type_object)) {
		json_object_put(cfg);
		return o2v_error_set(err, -EBADMSG, "update '%s': 'auths' is not an object", path);
	}
	*ret = cfg;
	*ret_auths = auths;
	return 0;
}

static void set_where(char **ret_where, const char *fmt, const char *arg)
{
	if (ret_where && asprintf(ret_where, fmt, arg) < 0)
		*ret_where = NULL;
}

int o2v_credentials_store(const char *domain, const char *username, const char *password,
			  char **ret_where, struct o2v_error *err)
{
	_cleanup_free_ char *path = docker_config_path();
	_cleanup_json_wiped_ struct json_object *cfg = NULL;
	struct json_object *auths = NULL, *entry;
	char key[256];
	int r;

	if (ret_where)
		*ret_where = NULL;
	if (!o2v_credentials_key(domain, key, sizeof(key)))
		return o2v_error_set(err, -EINVAL, "registry name '%s' is invalid", domain);
	if (!*username || strchr(username, ':'))
		return o2v_error_set(err, -EINVAL,
				     "username must be non-empty and must not contain ':'");
	if (!path)
		return o2v_error_set(err, -ENOENT,
				     "cannot locate the docker config: set HOME or DOCKER_CONFIG");
	r = load_config_for_update(path, &cfg, &auths, err);
	if (r < 0)
		return r;

	const char *helper = configured_helper(cfg, key);
	if (helper) {
		r = helper_store(helper, key, username, password, err);
		if (r < 0)
			return r;
		/* docker keeps an empty entry in the file next to the helper's copy */
		if (!(entry = json_object_new_object()))
			return o2v_error_sys(err, -ENOMEM, "update '%s'", path);
		set_where(ret_where, "docker-credential-%s", helper);
	} else {
		_cleanup_wipe_ char *plain = NULL;
		if (asprintf(&plain, "%s:%s", username, password) < 0)
			return o2v_error_sys(err, -ENOMEM, "store credentials");
		_cleanup_wipe_ char *auth = b64_encode((unsigned char *)plain, strlen(plain));
		if (!auth || !(entry = json_object_new_object()))
			return o2v_error_sys(err, -ENOMEM, "store credentials");
		struct json_object *s = json_object_new_string(auth);
		if (!s || json_object_object_add(entry, "auth", s) < 0) {
			json_object_put(s);
			json_object_put(entry);
			return o2v_error_sys(err, -ENOMEM, "store credentials");
		}
		set_where(ret_where, "%s", path);
	}
	/* drop legacy spellings of the same registry so the new entry is the one read */
	struct json_object *old;
	const char *old_key;
	while ((old = find_auth_entry(cfg, key, false, &old_key))) {
		wipe_entry(old);
		json_object_object_del(auths, old_key);
	}
	if (json_object_object_add(auths, key, entry) < 0) {
		json_object_put(entry);
		return o2v_error_sys(err, -ENOMEM, "store credentials");
	}
	return save_config(path, cfg, err);
}

int o2v_credentials_erase(const char *domain, char **ret_where, struct o2v_error *err)
{
	_cleanup_free_ char *path = docker_config_path();
	_cleanup_json_wiped_ struct json_object *cfg = NULL;
	struct json_object *auths, *old;
	const char *old_key;
	char key[256];
	int removed = 0, r;

	if (ret_where)
		*ret_where = NULL;
	if (!o2v_credentials_key(domain, key, sizeof(key)))
		return o2v_error_set(err, -EINVAL, "registry name '%s' is invalid", domain);
	if (!path)
		return o2v_error_set(err, -ENOENT,
				     "cannot locate the docker config: set HOME or DOCKER_CONFIG");
	r = o2v_config_json_load(path, O2V_CRED_CONFIG_MAX, &cfg, err);
	if (r < 0)
		return r;
	if (!cfg)
		return 0;
	const char *helper = configured_helper(cfg, key);
	if (helper) {
		r = helper_erase(helper, key, err);
		if (r < 0)
			return r;
		removed = r;
		set_where(ret_where, "docker-credential-%s", helper);
	} else {
		set_where(ret_where, "%s", path);
	}
	if (json_object_object_get_ex(cfg, "auths", &auths) &&
	    json_object_is_type(auths, json_type_object)) {
		bool file_changed = false;
		while ((old = find_auth_entry(cfg, key, false, &old_key))) {
			wipe_entry(old);
			json_object_object_del(auths, old_key);
			file_changed = true;
		}
		if (file_changed) {
			r = save_config(path, cfg, err);
			if (r < 0)
				return r;
			removed = 1;
		}
	}
	return removed;
}
