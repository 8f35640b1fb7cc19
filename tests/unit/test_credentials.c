/* test_credentials.c - docker config.json / helper / auth.json lookup, store and erase.
 *
 * Everything runs under a temporary HOME with DOCKER_CONFIG and the XDG
 * variables pointing into it. The credential helper is a real protocol peer:
 * a small python script installed as docker-credential-test on PATH that keeps
 * its store in files, answering get/store/erase exactly as
 * docker-credential-helpers does (JSON replies, "credentials not found in
 * native keychain" with exit 1).
 */
#include "../../common/o2v.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "../../common/fsutil.h"
#include "../../registry/credentials.h"
#include "tap.h"

static char top[] = "/tmp/o2v-cred-XXXXXX";
static char docker_dir[256], config_path[300], store_dir[256];

static const char helper_script[] =
	"#!/usr/bin/env python3\n"
	"import json, os, sys, hashlib\n"
	"store = os.environ['O2V_TEST_STORE']\n"
	"mode = os.environ.get('O2V_TEST_HELPER_MODE', '')\n"
	"def path(url): return os.path.join(store, hashlib.sha256(url.encode()).hexdigest())\n"
	"action = sys.argv[1] if len(sys.argv) > 1 else ''\n"
	"data = sys.stdin.read()\n"
	"if mode == 'flood':\n"
	"    sys.stdout.write('x' * 200000); sys.exit(0)\n"
	"if mode == 'fail':\n"
	"    print('keychain locked'); sys.exit(3)\n"
	"if action == 'get':\n"
	"    url = data.strip()\n"
	"    if not os.path.exists(path(url)):\n"
	"        print('credentials not found in native keychain'); sys.exit(1)\n"
	"    c = json.load(open(path(url)))\n"
	"    json.dump({'ServerURL': url, 'Username': c['Username'], 'Secret': c['Secret']},"
	" sys.stdout)\n"
	"elif action == 'store':\n"
	"    c = json.loads(data)\n"
	"    json.dump(c, open(path(c['ServerURL']), 'w'))\n"
	"elif action == 'erase':\n"
	"    url = data.strip()\n"
	"    if not os.path.exists(path(url)):\n"
	"        print('credentials not found in native keychain'); sys.exit(1)\n"
	"    os.unlink(path(url))\n"
	"else:\n"
	"    print('unknown action'); sys.exit(1)\n";

static void write_text(const char *path, const char *text, mode_t mode)
{
	struct o2v_error err = { 0 };

	if (o2v_write_file_atomic(path, text, strlen(text), mode, &err) < 0) {
		printf("# write %s: %s\n", path, err.msg);
		exit(1);
	}
}

static void write_config(const char *text)
{
	write_text(config_path, text, 0600);
}

static char *read_text(const char *path)
{
	struct o2v_error err = { 0 };
	char *buf = NULL;

	if (o2v_read_file(path, 1 << 20, &buf, NULL, &err) < 0)
		return NULL;
	return buf;
}

/* Look up domain and describe the result as "KIND user secret" or "error CODE". */
static char *lookup(const char *domain, const char *repository)
{
	struct o2v_credentials c;
	struct o2v_error err = { 0 };
	char *out = NULL;
	static const char *const kinds[] = { "none", "basic", "identity", "registry" };
	int r = o2v_credentials_lookup(domain, repository, &c, &err);

	if (r < 0) {
		if (asprintf(&out, "error %d", -r) < 0)
			abort();
		return out;
	}
	if (asprintf(&out, "%s %s %s", kinds[c.kind], c.username, c.secret) < 0)
		abort();
	o2v_credentials_clear(&c);
	return out;
}

#define LOOKUP_IS(domain, repo, want, ...)                                                         \
	do {                                                                                       \
		_cleanup_free_ char *_got = lookup(domain, repo);                                  \
		TAP_IS_STR(_got, want, __VA_ARGS__);                                               \
	} while (0)

static void test_keys(void)
{
	char buf[256];

	TAP_IS_STR(o2v_credentials_key("docker.io", buf, sizeof(buf)), O2V_DOCKER_HUB_KEY,
		   "docker.io uses the index.docker.io/v1/ key");
	TAP_IS_STR(o2v_credentials_key("registry-1.docker.io", buf, sizeof(buf)),
		   O2V_DOCKER_HUB_KEY, "registry-1.docker.io is Docker Hub too");
	TAP_IS_STR(o2v_credentials_key("https://index.docker.io/v1/", buf, sizeof(buf)),
		   O2V_DOCKER_HUB_KEY, "the hub key maps to itself");
	TAP_IS_STR(o2v_credentials_key("127.0.0.1:5000", buf, sizeof(buf)), "127.0.0.1:5000",
		   "other registries keep host:port");
	TAP_IS_STR(o2v_credentials_key("https://reg.example:5000/v1/", buf, sizeof(buf)),
		   "reg.example:5000", "scheme and path are stripped");
	TAP_OK(o2v_credentials_key("docker.io", buf, 5) == NULL, "too small buffer fails");
}

static void test_auths(void)
{
	/* base64("user:pa:ss") base64(":pass") base64("user:pw\0\0") */
	write_config("{\n"
		     " \"auths\": {\n"
		     "  \"https://index.docker.io/v1/\": {\"auth\": \"dXNlcjpwYTpzcw==\"},\n"
		     "  \"bad.example\": {\"auth\": \"OnNlY3JldHB3\"},\n"
		     "  \"nul.example\": {\"auth\": \"dXNlcjpwdwAA\"},\n"
		     "  \"notb64.example\": {\"auth\": \"dXNl*jpw\"},\n"
		     "  \"nocolon.example\": {\"auth\": \"dXNlcg==\"},\n"
		     "  \"https://legacy.example:5000/v1/\": {\"auth\": \"bGVnOmFjeQ==\"},\n"
		     "  \"plain.example\": {\"username\": \"pu\", \"password\": \"pp\"},\n"
		     "  \"idt.example\": {\"username\": \"iu\", \"identitytoken\": \"refresh\","
		     " \"auth\": \"dXNlcjpwYTpzcw==\"},\n"
		     "  \"rt.example\": {\"registrytoken\": \"bearer1\", \"identitytoken\": \"x\"},\n"
		     "  \"empty.example\": {}\n"
		     " },\n"
		     " \"HttpHeaders\": {\"User-Agent\": \"x\"}\n"
		     "}\n");
	LOOKUP_IS("docker.io", "library/redis", "basic user pa:ss",
		  "hub credentials; password split at the first ':' only");
	LOOKUP_IS("index.docker.io", NULL, "basic user pa:ss", "index.docker.io is the hub");
	LOOKUP_IS("bad.example", NULL, "error 74", "auth decoding to ':pass' is refused (EBADMSG)");
	{
		struct o2v_credentials c;
		struct o2v_error err = { 0 };
		o2v_credentials_lookup("bad.example", NULL, &c, &err);
		TAP_OK(!strstr(err.msg, "secretpw"), "the error does not show the password: %s",
		       err.msg);
		TAP_IS_INT(c.kind, O2V_CRED_NONE, "the struct is cleared on failure");
	}
	LOOKUP_IS("nul.example", NULL, "basic user pw", "trailing NULs are trimmed");
	LOOKUP_IS("notb64.example", NULL, "error 74", "invalid base64 is refused");
	LOOKUP_IS("nocolon.example", NULL, "error 74", "auth without ':' is refused");
	LOOKUP_IS("legacy.example:5000", NULL, "basic leg acy",
		  "legacy key with scheme and path matches by host name");
	LOOKUP_IS("legacy.example", NULL, "none  ", "host without the port does not match");
	LOOKUP_IS("plain.example", NULL, "basic pu pp", "username/password fields");
	LOOKUP_IS("idt.example", NULL, "identity iu refresh", "identitytoken wins over auth");
	LOOKUP_IS("rt.example", NULL, "registry  bearer1", "registrytoken wins over all");
	LOOKUP_IS("empty.example", NULL, "none  ", "an empty entry is anonymous");
	LOOKUP_IS("other.example", NULL, "none  ", "an unknown registry is anonymous");

	write_config("{\"auths\": {\"docker.io\": {\"auth\": \"aHViOmh1Yg==\"}}}");
	LOOKUP_IS("docker.io", NULL, "basic hub hub", "podman's 'docker.io' key selects the hub");
	write_config("");
	LOOKUP_IS("docker.io", NULL, "none  ", "an empty config.json is {}");
	write_config("{\"auths\": ");
	LOOKUP_IS("docker.io", NULL, "error 74", "malformed JSON is an error");
	write_config("[1]");
	LOOKUP_IS("docker.io", NULL, "error 74", "a non-object config is an error");

	/* over the cap */
	size_t big = O2V_CRED_CONFIG_MAX + 10;
	char *text = malloc(big + 1);
	memset(text, ' ', big);
	text[0] = '{';
	text[big - 1] = '}';
	text[big] = '\0';
	write_config(text);
	free(text);
	LOOKUP_IS("docker.io", NULL, "error 7", "config.json over the cap is refused (E2BIG)");
	unlink(config_path);
}

static void test_helpers(void)
{
	struct o2v_error err = { 0 };
	_cleanup_free_ char *where = NULL;

	write_config("{\"credsStore\": \"test\", \"credHelpers\": {\"b.example\": \"absent\","
		     " \"slash.example\": \"../evil\"}, \"auths\": {\"a.example\": "
		     "{\"auth\": \"aWdub3JlZDppZ25vcmVk\"}}}");
	LOOKUP_IS("a.example", NULL, "none  ",
		  "credsStore answering 'not found' is anonymous (auths ignored, as docker)");
	LOOKUP_IS("b.example", NULL, "error 2", "credHelpers[host] wins over credsStore");
	LOOKUP_IS("slash.example", NULL, "error 22", "a helper name with '/' is refused");

	TAP_IS_INT(o2v_credentials_store("a.example", "alice", "s3cret", &where, &err), 0,
		   "store through the helper");
	TAP_IS_STR(where, "docker-credential-test", "stored by the helper");
	LOOKUP_IS("a.example", NULL, "basic alice s3cret", "helper get returns what was stored");
	_cleanup_free_ char *cfg = read_text(config_path);
	TAP_OK(cfg && !strstr(cfg, "s3cret") && !strstr(cfg, "czNjcmV0"),
	       "the secret is not written to config.json when a helper stores it");
	TAP_OK(cfg && strstr(cfg, "\"credsStore\"") && strstr(cfg, "\"slash.example\""),
	       "other keys are kept");

	TAP_IS_INT(o2v_credentials_store("docker.io", "a:b", "x", NULL, &err), -EINVAL,
		   "a username with ':' is refused (it could not be decoded back)");
	TAP_IS_INT(o2v_credentials_store("docker.io", "", "x", NULL, &err), -EINVAL,
		   "an empty username is refused");

	write_config("{\"credsStore\": \"test\"}");
	setenv("O2V_TEST_HELPER_MODE", "flood", 1);
	LOOKUP_IS("a.example", NULL, "error 7", "helper output over the cap is refused");
	setenv("O2V_TEST_HELPER_MODE", "fail", 1);
	{
		struct o2v_credentials c;
		int r = o2v_credentials_lookup("a.example", NULL, &c, &err);
		TAP_IS_INT(r, -EACCES, "a failing helper is an error");
		TAP_OK(strstr(err.msg, "keychain locked") != NULL,
		       "the helper's message is shown: %s", err.msg);
	}
	unsetenv("O2V_TEST_HELPER_MODE");

	int r = o2v_credentials_erase("a.example", NULL, &err);
	TAP_IS_INT(r, 1, "erase through the helper");
	LOOKUP_IS("a.example", NULL, "none  ", "erased from the helper");
	TAP_IS_INT(o2v_credentials_erase("a.example", NULL, &err), 0,
		   "erasing again: nothing to remove");
}

static void test_token_username(void)
{
	/* A helper answering Username "<token>": store it through the protocol by
	 * calling the helper directly, the way `docker login` with an identity token does. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "printf '%%s' '{\"ServerURL\":\"id.example\",\"Username\":\"<token>\","
		 "\"Secret\":\"refresh-tok\"}' | docker-credential-test store");
	TAP_IS_INT(system(cmd), 0, "helper stores a <token> entry");
	write_config("{\"credHelpers\": {\"id.example\": \"test\"}}");
	LOOKUP_IS("id.example", NULL, "identity  refresh-tok",
		  "Username '<token>' means an identity token");
}

static void test_podman(void)
{
	char path[400];

	unlink(config_path);
	snprintf(path, sizeof(path), "%s/run/containers", top);
	o2v_mkdir_p(path, 0700, NULL);
	snprintf(path, sizeof(path), "%s/run/containers/auth.json", top);
	write_text(path,
		   "{\"auths\": {\"reg.example\": {\"auth\": \"aG9zdDpob3N0\"},"
		   " \"reg.example/ns\": {\"auth\": \"bnM6bnM=\"},"
		   " \"docker.io/library\": {\"auth\": \"bGliOmxpYg==\"}}}",
		   0600);
	LOOKUP_IS("reg.example", "ns/img", "basic ns ns", "podman namespace key wins");
	LOOKUP_IS("reg.example", "other/img", "basic host host", "podman host key");
	LOOKUP_IS("docker.io", "library/redis", "basic lib lib", "podman docker.io namespace key");
	LOOKUP_IS("docker.io", "alice/x", "none  ", "no podman key for another hub namespace");

	snprintf(path, sizeof(path), "%s/cfg/containers", top);
	o2v_mkdir_p(path, 0700, NULL);
	snprintf(path, sizeof(path), "%s/cfg/containers/auth.json", top);
	write_text(path, "{\"auths\": {\"cfg.example\": {\"auth\": \"Y2ZnOmNmZw==\"}}}", 0600);
	LOOKUP_IS("cfg.example", NULL, "basic cfg cfg", "XDG_CONFIG_HOME auth.json is read too");

	write_config("{\"auths\": {\"reg.example\": {\"auth\": \"ZG9jazpkb2Nr\"}}}");
	LOOKUP_IS("reg.example", "ns/img", "basic dock dock", "docker's config.json comes first");
	unlink(config_path);
}

static void test_store_file(void)
{
	struct o2v_error err = { 0 };
	_cleanup_free_ char *where = NULL;
	struct stat st;

	unlink(config_path);
	rmdir(docker_dir);
	TAP_IS_INT(o2v_credentials_store("docker.io", "bob", "b:pw", &where, &err), 0,
		   "store into a missing config.json");
	TAP_IS_STR(where, config_path, "stored in config.json");
	TAP_OK(stat(config_path, &st) == 0 && (st.st_mode & 0777) == 0600, "new file is 0600");
	LOOKUP_IS("docker.io", NULL, "basic bob b:pw", "read back");
	{
		_cleanup_free_ char *text = read_text(config_path);
		TAP_OK(text && strstr(text, "\"https://index.docker.io/v1/\"") &&
			       strstr(text, "Ym9iOmI6cHc="),
		       "hub key with auth = base64(user:pass)");
	}

	write_config("{\"auths\": {\"https://reg.example:5000/v1/\": {\"auth\": \"eDp5\"},"
		     " \"keep.example\": {\"auth\": \"azpr\"}},"
		     " \"HttpHeaders\": {\"X-Meta\": \"1\"}, \"detachKeys\": \"ctrl-e\"}");
	chmod(config_path, 0640);
	TAP_IS_INT(o2v_credentials_store("reg.example:5000", "u", "p", NULL, &err), 0,
		   "store over an existing config");
	TAP_OK(stat(config_path, &st) == 0 && (st.st_mode & 0777) == 0640,
	       "the existing file mode is kept");
	_cleanup_free_ char *text = read_text(config_path);
	struct json_object *o = text ? json_tokener_parse(text) : NULL, *auths = NULL, *v;
	TAP_OK(o && json_object_object_get_ex(o, "auths", &auths), "result is valid JSON");
	TAP_OK(auths && json_object_object_get_ex(auths, "keep.example", &v),
	       "other registries are kept");
	TAP_OK(auths && !json_object_object_get_ex(auths, "https://reg.example:5000/v1/", &v),
	       "the legacy spelling of the same registry is replaced");
	TAP_OK(auths && json_object_object_get_ex(auths, "reg.example:5000", &v),
	       "the new entry uses host:port");
	TAP_OK(o && json_object_object_get_ex(o, "HttpHeaders", &v) &&
		       json_object_object_get_ex(o, "detachKeys", &v),
	       "unrelated top-level keys are kept");
	json_object_put(o);

	TAP_IS_INT(o2v_credentials_erase("reg.example:5000", NULL, &err), 1, "erase from file");
	LOOKUP_IS("reg.example:5000", NULL, "none  ", "gone after erase");
	LOOKUP_IS("keep.example", NULL, "basic k k", "the other entry survives erase");
	TAP_IS_INT(o2v_credentials_erase("reg.example:5000", NULL, &err), 0,
		   "erase of a missing entry removes nothing");

	/* a symlinked config.json is updated at its target, like docker does */
	char target[400];
	snprintf(target, sizeof(target), "%s/real-config.json", top);
	write_text(target, "{\"auths\": {}}", 0600);
	unlink(config_path);
	TAP_OK(symlink(target, config_path) == 0, "symlink config.json");
	TAP_IS_INT(o2v_credentials_store("sym.example", "s", "y", NULL, &err), 0,
		   "store through a symlink");
	TAP_OK(lstat(config_path, &st) == 0 && S_ISLNK(st.st_mode), "the symlink is kept");
	LOOKUP_IS("sym.example", NULL, "basic s y", "stored at the target");
	unlink(config_path);
}

int main(void)
{
	char path[400], bin[300];

	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(docker_dir, sizeof(docker_dir), "%s/docker", top);
	snprintf(config_path, sizeof(config_path), "%s/config.json", docker_dir);
	snprintf(store_dir, sizeof(store_dir), "%s/store", top);
	snprintf(bin, sizeof(bin), "%s/bin", top);
	o2v_mkdir_p(docker_dir, 0700, NULL);
	o2v_mkdir_p(store_dir, 0700, NULL);
	o2v_mkdir_p(bin, 0700, NULL);
	snprintf(path, sizeof(path), "%s/docker-credential-test", bin);
	write_text(path, helper_script, 0755);

	const char *old_path = getenv("PATH");
	char *new_path = NULL;
	if (asprintf(&new_path, "%s:%s", bin, old_path ? old_path : "/usr/bin:/bin") < 0)
		return 1;
	setenv("PATH", new_path, 1);
	free(new_path);
	setenv("HOME", top, 1);
	setenv("DOCKER_CONFIG", docker_dir, 1);
	snprintf(path, sizeof(path), "%s/run", top);
	setenv("XDG_RUNTIME_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/cfg", top);
	setenv("XDG_CONFIG_HOME", path, 1);
	setenv("O2V_TEST_STORE", store_dir, 1);

	test_keys();
	test_auths();
	test_helpers();
	test_token_username();
	test_podman();
	test_store_file();

	o2v_rm_rf(top, NULL);
	return tap_done();
}
