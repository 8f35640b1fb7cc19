/* fuzz_credentials.c - registry credentials (registry/credentials.c): docker's
 * config.json, podman's auth.json, credential helper answers, and login/logout's
 * rewrite of config.json.
 *
 * credentials.c is compiled into this harness so that its static functions can be
 * reached and its helper launches replaced: no process is ever started; the "helper"
 * answers with bytes from the input and an exit status from the input.
 *
 * Input (struct fuzz_in): flags (1 byte), then '\n'-separated domain, repository,
 * username, password, then 0xff-separated helper output, podman auth.json, and the rest
 * is docker's config.json; the helper's exit status comes from the input's last byte.
 * Checks:
 *  - lookup: 0 with credentials of a known kind whose fields are NUL-terminated in
 *    place, or an error with a message and the result wiped; an error message never
 *    contains a secret (auth / password / token value) of the files;
 *  - store without a helper, then lookup: the same username and password come back;
 *  - erase without a helper, then lookup in config.json: nothing is found;
 *  - o2v_credentials_key / o2v_login_domain: bounded, well-formed answers.
 * Every file is written under one private directory made at start-up and removed at
 * exit; each run deletes what it wrote. */
#include "fuzz.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../common/fsutil.h"
#include "../../registry/login.h"

/* ---- the fake helper ---- */

struct fake {
	const char *out;
	size_t out_len;
	int status; /* exit status; 256 = killed by a signal; 257 = not found */
	int stdin_fd, stdout_fd;
	unsigned calls;
};
static struct fake *fake_now; /* set for the length of one run only */

static int fake_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	(void)fa;
	if (newfd == STDIN_FILENO)
		fake_now->stdin_fd = fd;
	else if (newfd == STDOUT_FILENO)
		fake_now->stdout_fd = fd;
	return 0;
}

static int fake_spawnp(pid_t *pid, const char *prog, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct fake *f = fake_now;
	(void)fa, (void)attr, (void)envp;

	FUZZ_CHECK(!strncmp(prog, "docker-credential-", 18) && !strchr(prog, '/'),
		   "helper program '%s'", prog);
	FUZZ_CHECK(argv[1] &&
		       (!strcmp(argv[1], "get") || !strcmp(argv[1], "store") ||
			!strcmp(argv[1], "erase")) &&
		       !argv[2],
		   "helper arguments");
	FUZZ_CHECK(f->stdin_fd >= 0 && f->stdout_fd >= 0, "helper without stdin/stdout");
	f->calls++;
	if (f->status == 257)
		return ENOENT;
	/* a pipe holds 64 KiB by default: make room for answers over the 64 KiB cap, and
	 * never block (what does not fit is cut) */
	if (f->out_len > 60000)
		fcntl(f->stdout_fd, F_SETPIPE_SZ, 256 << 10);
	fcntl(f->stdout_fd, F_SETFL, O_NONBLOCK);
	for (size_t done = 0; done < f->out_len;) {
		ssize_t w = write(f->stdout_fd, f->out + done, f->out_len - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	*pid = 0x7ffffff0;
	return 0;
}

static pid_t fake_waitpid(pid_t pid, int *status, int options)
{
	(void)options;
	FUZZ_CHECK(pid == 0x7ffffff0, "waitpid(%d)", (int)pid);
	*status = fake_now->status == 256 ? SIGKILL : (fake_now->status & 0xff) << 8;
	return pid;
}

#define posix_spawn_file_actions_adddup2 fake_adddup2
#define posix_spawnp			 fake_spawnp
#define waitpid				 fake_waitpid
#include "../../registry/credentials.c"
#undef posix_spawn_file_actions_adddup2
#undef posix_spawnp
#undef waitpid

/* ---- the private directory ---- */

static char dir[256], docker_path[352], podman_path[352];

static void cleanup(void)
{
	if (dir[0])
		o2v_rm_rf(dir, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char sub[320];
	(void)argc, (void)argv;

	fuzz_private_dir(dir, sizeof(dir), "cred");
	atexit(cleanup);
	snprintf(sub, sizeof(sub), "%s/docker", dir);
	setenv("DOCKER_CONFIG", sub, 1);
	mkdir(sub, 0700);
	snprintf(docker_path, sizeof(docker_path), "%s/config.json", sub);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	setenv("XDG_RUNTIME_DIR", sub, 1);
	snprintf(sub, sizeof(sub), "%s/run/containers", dir);
	o2v_mkdir_p(sub, 0700, NULL);
	snprintf(podman_path, sizeof(podman_path), "%s/auth.json", sub);
	snprintf(sub, sizeof(sub), "%s/cfg", dir); /* stays empty: no second auth.json */
	setenv("XDG_CONFIG_HOME", sub, 1);
	setenv("HOME", dir, 1);
	return 0;
}

/* ---- checks ---- */

static bool creds_wiped(const struct o2v_credentials *c)
{
	static const struct o2v_credentials zero = {.kind = O2V_CRED_NONE};

	return !memcmp(c, &zero, sizeof(zero));
}

static void check_creds(const struct o2v_credentials *c)
{
	FUZZ_CHECK(c->kind >= O2V_CRED_NONE && c->kind <= O2V_CRED_REGISTRY_TOKEN, "kind %d",
		   c->kind);
	FUZZ_CHECK(strnlen(c->username, sizeof(c->username)) < sizeof(c->username) &&
		       strnlen(c->secret, sizeof(c->secret)) < sizeof(c->secret) &&
		       strnlen(c->source, sizeof(c->source)) < sizeof(c->source),
		   "unterminated field");
	if (c->kind == O2V_CRED_BASIC)
		FUZZ_CHECK(c->username[0], "basic credentials without a username");
	if (c->kind == O2V_CRED_NONE)
		FUZZ_CHECK(!c->secret[0], "a secret without credentials");
}

/* Secrets of a config file that no message may show (long enough not to be a
 * coincidence, and not also used as a name somewhere). */
struct secrets {
	const char *v[64];
	size_t n;
	const char *names[256];
	size_t n_names;
};

static void collect(struct json_object *o, struct secrets *s)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			collect(json_object_array_get_idx(o, i), s);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, k, v)
	{
		if (s->n_names < ARRAY_SIZE(s->names))
			s->names[s->n_names++] = k;
		if (json_object_is_type(v, json_type_string) &&
		    (!strcmp(k, "auth") || !strcmp(k, "password") || !strcmp(k, "identitytoken") ||
		     !strcmp(k, "registrytoken")) &&
		    json_object_get_string_len(v) >= 8 && s->n < ARRAY_SIZE(s->v))
			s->v[s->n++] = json_object_get_string(v);
		else if (json_object_is_type(v, json_type_string) &&
			 s->n_names < ARRAY_SIZE(s->names))
			s->names[s->n_names++] = json_object_get_string(v);
		collect(v, s);
	}
}

static void write_or_remove(const char *path, const char *text, size_t len, bool present);

struct files {
	const char *docker, *podman, *domain, *repo;
	size_t docker_len, podman_len;
	unsigned flags;
};

static char *swapped(const char *text, size_t len, const char *secret)
{
	size_t sl = strlen(secret);
	char *c = malloc(len + 1), *p = c;

	FUZZ_CHECK(c, "oom");
	memcpy(c, text, len);
	c[len] = '\0';
	while ((p = memmem(p, (size_t)(c + len - p), secret, sl)))
		for (size_t k = 0; k < sl; k++, p++)
			*p = secret[k] == 'Q' ? 'R' : 'Q';
	return c;
}

/* Does the lookup still fail showing secret once every copy of it in the files is
 * replaced? Then the message has those bytes from somewhere else (its own wording). */
static bool shown_anyway(const struct files *f, const char *secret)
{
	char *d = swapped(f->docker, f->docker_len, secret);
	char *p = swapped(f->podman, f->podman_len, secret);
	struct o2v_credentials c;
	struct o2v_error e = {0};

	write_or_remove(docker_path, d, f->docker_len, !(f->flags & 1));
	write_or_remove(podman_path, p, f->podman_len, f->flags & 2);
	int r = o2v_credentials_lookup(f->domain, f->repo[0] ? f->repo : NULL, &c, &e);
	o2v_credentials_clear(&c);
	write_or_remove(docker_path, f->docker, f->docker_len, !(f->flags & 1));
	write_or_remove(podman_path, f->podman, f->podman_len, f->flags & 2);
	free(d);
	free(p);
	return r < 0 && strstr(e.msg, secret);
}

static void check_no_secret(const char *msg, struct json_object *cfg, const struct files *f,
			    const char *helper_out)
{
	struct secrets s = {0};

	if (!cfg)
		return;
	collect(cfg, &s);
	for (size_t i = 0; i < s.n; i++) {
		if (!strstr(msg, s.v[i]))
			continue;
		/* a failing helper's own message is quoted on purpose */
		bool name = strstr(f->domain, s.v[i]) || strstr(f->repo, s.v[i]) ||
			    strstr(helper_out, s.v[i]);
		for (size_t j = 0; !name && j < s.n_names; j++)
			name = strstr(s.names[j], s.v[i]) != NULL;
		FUZZ_CHECK(name || shown_anyway(f, s.v[i]), "message '%s' shows secret '%s'", msg,
			   s.v[i]);
	}
}

static struct json_object *parse_or_null(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static void write_or_remove(const char *path, const char *text, size_t len, bool present)
{
	unlink(path);
	if (present)
		FUZZ_CHECK(o2v_write_file_atomic(path, text, len, 0600, NULL) == 0, "write %s",
			   path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct fake f = {.stdin_fd = -1, .stdout_fd = -1};
	struct o2v_credentials c;
	struct o2v_error err = {0};
	size_t docker_len, podman_len;
	char key[256];
	int r;

	if (size < 2 || size > (256 << 10))
		return 0;
	unsigned flags = *in.p++;
	in.n--;
	unsigned status = (unsigned)fuzz_u64(&in, 1);
	f.status = status < 250	  ? (int)(status % 4 == 3 ? status : 0)
		   : status < 253 ? 1
		   : status < 255 ? 256
				  : 257;
	char *domain = fuzz_str(&in, '\n', NULL);
	char *repo = fuzz_str(&in, '\n', NULL);
	char *user = fuzz_str(&in, '\n', NULL);
	char *pass = fuzz_str(&in, '\n', NULL);
	char *helper_out = fuzz_str(&in, 0xff, &f.out_len);
	char *podman = fuzz_str(&in, 0xff, &podman_len);
	char *docker = fuzz_rest(&in, &docker_len);
	f.out = helper_out;
	fake_now = &f;

	write_or_remove(docker_path, docker, docker_len, !(flags & 1));
	write_or_remove(podman_path, podman, podman_len, flags & 2);
	struct json_object *docker_cfg = flags & 1 ? NULL : parse_or_null(docker);
	struct json_object *podman_cfg = flags & 2 ? parse_or_null(podman) : NULL;

	/* keys */
	if (o2v_credentials_key(domain, key, sizeof(key))) {
		FUZZ_CHECK(strlen(key) < sizeof(key) && key[0], "key '%s'", key);
		FUZZ_CHECK(!strcmp(key, O2V_DOCKER_HUB_KEY) || !strchr(key, '/'), "key '%s'", key);
	}
	char *ld = NULL;
	if (o2v_login_domain(domain, &ld, NULL) == 0) {
		FUZZ_CHECK(ld[0] && strlen(ld) <= 255 && !strchr(ld, '/') && !strchr(ld, '@'),
			   "login domain '%s'", ld);
		free(ld);
	}

	/* lookup */
	memset(&c, 0x55, sizeof(c));
	r = o2v_credentials_lookup(domain, repo[0] ? repo : NULL, &c, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code == r && err.msg[0], "lookup r=%d", r);
		FUZZ_CHECK(creds_wiped(&c), "credentials not wiped on failure");
		struct files fl = {docker, podman, domain, repo, docker_len, podman_len, flags};
		check_no_secret(err.msg, docker_cfg, &fl, helper_out);
		check_no_secret(err.msg, podman_cfg, &fl, helper_out);
	} else {
		FUZZ_CHECK(r == 0, "lookup r=%d", r);
		check_creds(&c);
	}
	o2v_credentials_clear(&c);

	/* login: store, then read back */
	if (flags & 4) {
		char *where = NULL;
		const char *d = domain;
		_cleanup_free_ char *login_domain = NULL;
		if ((flags & 8) && o2v_login_domain(domain, &login_domain, NULL) == 0)
			d = login_domain;
		f.calls = 0;
		r = o2v_credentials_store(d, user, pass, &where, &err);
		bool by_helper = f.calls > 0;
		if (r < 0) {
			FUZZ_CHECK(err.code == r && err.msg[0], "store r=%d", r);
			/* the password shows in the message only when it comes from elsewhere
			 * too: the same failure with another password shows it as well */
			if (strlen(pass) >= 8 && strstr(err.msg, pass)) {
				struct o2v_error err2 = {0};
				char *other = strdup(pass);
				FUZZ_CHECK(other, "oom");
				for (char *c = other; *c; c++)
					*c = *c == 'Q' ? 'R' : 'Q';
				FUZZ_CHECK(o2v_credentials_store(d, user, other, NULL, &err2) < 0,
					   "store succeeds with another password");
				FUZZ_CHECK(strstr(err2.msg, pass),
					   "store message '%s' shows the password", err.msg);
				free(other);
			}
		} else if (!by_helper && strlen(user) < O2V_CRED_USERNAME_MAX &&
			   strlen(pass) < O2V_CRED_SECRET_MAX) {
			FUZZ_CHECK(where && !strcmp(where, docker_path), "stored in '%s'", where);
			f.calls = 0;
			r = o2v_credentials_lookup(d, NULL, &c, &err);
			FUZZ_CHECK(r == 0 && f.calls == 0, "lookup after store: r=%d calls=%u '%s'",
				   r, f.calls, r < 0 ? err.msg : "");
			FUZZ_CHECK(c.kind == O2V_CRED_BASIC && !strcmp(c.username, user) &&
				       !strcmp(c.secret, pass),
				   "stored '%s' but read back kind %d user '%s'", user, c.kind,
				   c.username);
			o2v_credentials_clear(&c);
		}
		free(where);
	}

	/* logout: erase, then nothing left in config.json */
	if (flags & 16) {
		char *where = NULL;
		f.calls = 0;
		r = o2v_credentials_erase(domain, &where, &err);
		bool by_helper = f.calls > 0;
		if (r < 0) {
			FUZZ_CHECK(err.code == r && err.msg[0], "erase r=%d", r);
		} else if (!by_helper && o2v_credentials_key(domain, key, sizeof(key))) {
			FUZZ_CHECK(r == 0 || r == 1, "erase r=%d", r);
			f.calls = 0;
			r = lookup_docker(key, &c, &err);
			FUZZ_CHECK(r == 0 && f.calls == 0,
				   "config.json still has credentials for '%s' after logout "
				   "(r=%d '%s')",
				   domain, r, r < 0 ? err.msg : "");
			o2v_credentials_clear(&c);
		}
		free(where);
	}

	fake_now = NULL;
	if (docker_cfg)
		json_object_put(docker_cfg);
	if (podman_cfg)
		json_object_put(podman_cfg);
	unlink(docker_path);
	unlink(podman_path);
	free(domain);
	free(repo);
	free(user);
	free(pass);
	free(helper_out);
	free(podman);
	free(docker);
	return 0;
}
