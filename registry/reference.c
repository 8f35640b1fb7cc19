/* reference.c - image references: the distribution/reference grammar and
 * Docker's normalisation (distribution/reference normalize.go), plus the
 * local transports (delegated to local.c).
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain '/'] path-component ('/' path-component)*
 *   domain    := host [':' port]    host := domain-name | '[' IPv6 ']'
 *
 * Every error is -EINVAL and quotes the offending part, because the CLI
 * shows it as a usage error (exit 2).
 */
#include "../common/o2v.h"

#include <ctype.h>
#include <string.h>

#include "digest.h"
#include "local.h"
#include "registry.h"

#define REF_TEXT_MAX  4096
#define REPO_NAME_MAX 255 /* distribution RepositoryNameTotalLengthMax */
#define TAG_MAX	      128

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool valid_path_component(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		if (is_alnum_lower(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		if (s[i] == '.' || (s[i] == '_' && (i + 1 >= n || s[i + 1] != '_')))
			j = i + 1;
		else if (s[i] == '_')
			j = i + 2;
		else if (s[i] == '-')
			while (j < n && s[j] == '-')
				j++;
		else
			return false;
		if (j >= n || !is_alnum_lower(s[j]))
			return false;
		i = j;
	}
	return true;
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool valid_domain_name(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!isalnum((unsigned char)s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static bool valid_domain(const char *s, size_t n)
{
	size_t hostlen = n;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		hostlen = (size_t)(close - s) + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			hostlen = (size_t)(colon - s);
		if (!valid_domain_name(s, hostlen))
			return false;
	}
	if (hostlen == n)
		return true;
	if (s[hostlen] != ':' || hostlen + 1 == n)
		return false;
	for (size_t i = hostlen + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > TAG_MAX || !is_word(t[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

/* The first component names a registry when it looks like a host
 * (normalize.go splitDockerDomain). */
static bool looks_like_domain(const char *s, size_t n)
{
	if (n == 9 && !memcmp(s, "localhost", 9))
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == ':' || s[i] == '[' || isupper((unsigned char)s[i]))
			return true;
	return false;
}

static int bad(struct o2v_error *err, const char *text, const char *fmt, const char *part)
{
	char why[512];

	snprintf(why, sizeof(why), fmt, part);
	return o2v_error_set(err, -EINVAL, "invalid reference '%s': %s", text, why);
}

void o2v_ref_release(struct o2v_ref *ref)
{
	free(ref->transport);
	free(ref->domain);
	free(ref->api_host);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	free(ref->path);
	free(ref->normalized);
	memset(ref, 0, sizeof(*ref));
}

static int oom(struct o2v_error *err, const char *text)
{
	return o2v_error_set(err, -ENOMEM, "parse reference '%s': out of memory", text);
}

static int parse_docker(const char *text, const char *s, struct o2v_ref *ret, struct o2v_error *err)
{
	_cleanup_free_ char *name = NULL, *domain = NULL, *path = NULL, *tag = NULL, *digest = NULL;
	const char *at = strchr(s, '@');
	size_t name_len;

	if (!*s)
		return o2v_error_set(err, -EINVAL, "invalid reference '%s': empty name", text);
	if (at) {
		digest = strdup(at + 1);
		if (!digest)
			return oom(err, text);
		if (!o2v_digest_valid(digest)) {
			int r = o2v_digest_check(digest, -EINVAL, err);
			o2v_error_prefix(err, "invalid reference '%s'", text);
			return r;
		}
		name_len = (size_t)(at - s);
	} else {
		name_len = strlen(s);
	}
	name = strndup(s, name_len);
	if (!name)
		return oom(err, text);
	/* A tag follows the last ':' that is after the last '/'. */
	char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (colon && !(name[0] == '[' && !slash)) {
		*colon = '\0';
		if (!valid_tag(colon + 1))
			return bad(err, text,
				   "invalid tag '%s': use up to 128 letters, digits, '_', '.', '-' "
				   "(not starting with '.' or '-')",
				   colon + 1);
		tag = strdup(colon + 1);
		if (!tag)
			return oom(err, text);
	}
	if (!name[0])
		return bad(err, text, "empty repository name%s", "");
	if (!strchr(name, '/') && is_hex64(name))
		return bad(err, text,
			   "'%s': cannot use a 64-character hexadecimal string as a name", name);

	char *first_slash = strchr(name, '/');
	if (first_slash && looks_like_domain(name, (size_t)(first_slash - name))) {
		domain = strndup(name, (size_t)(first_slash - name));
		path = strdup(first_slash + 1);
		if (domain && !valid_domain(domain, strlen(domain)))
			return bad(err, text, "invalid registry host '%s'", domain);
	} else {
		domain = strdup("docker.io");
		path = strdup(name);
	}
	if (!domain || !path)
		return oom(err, text);
	if (!strcmp(domain, "index.docker.io")) {
		free(domain);
		if (!(domain = strdup("docker.io")))
			return oom(err, text);
	}
	if (!strcmp(domain, "docker.io") && !strchr(path, '/')) {
		char *p;
		if (asprintf(&p, "library/%s", path) < 0)
			return oom(err, text);
		free(path);
		path = p;
	}
	if (strlen(path) > REPO_NAME_MAX)
		return bad(err, text, "repository name is longer than 255 characters%s", "");
	for (const char *c = path;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		_cleanup_free_ char *comp = strndup(c, n);
		if (!comp)
			return oom(err, text);
		for (size_t i = 0; i < n; i++)
			if (isupper((unsigned char)comp[i]))
				return bad(err, text, "repository name '%s' must be lowercase",
					   path);
		if (!valid_path_component(c, n))
			return bad(err, text,
				   n ? "invalid path component '%s': use lowercase letters, digits "
				       "and single '.', '_', '__' or '-' separators"
				     : "empty path component%s",
				   comp);
		if (!e)
			break;
		c = e + 1;
	}

	/* name:tag@digest resolves by digest only (Docker >= 20.10.20). */
	if (digest) {
		free(tag);
		tag = NULL;
	} else if (!tag && !(tag = strdup("latest"))) {
		return oom(err, text);
	}
	memset(ret, 0, sizeof(*ret));
	ret->transport = strdup("docker");
	ret->api_host = strdup(!strcmp(domain, "docker.io") ? "registry-1.docker.io" : domain);
	/* A registry host named like a local transport ("oci:5000") keeps its docker:// in the
	 * normalized form, which must parse back to the same reference (fuzz_reference). */
	bool ambiguous = !strcmp(domain, "oci") || !strncmp(domain, "oci:", 4) ||
			 !strncmp(domain, "oci-archive", 11) || !strncmp(domain, "docker-archive", 14);
	if (asprintf(&ret->normalized, "%s%s/%s%s%s", ambiguous ? "docker://" : "", domain, path,
		     digest ? "@" : ":", digest ? digest : tag) < 0)
		ret->normalized = NULL;
	ret->domain = TAKE_PTR(domain);
	ret->repository = TAKE_PTR(path);
	ret->tag = TAKE_PTR(tag);
	ret->digest = TAKE_PTR(digest);
	if (!ret->transport || !ret->api_host || !ret->normalized) {
		o2v_ref_release(ret);
		return o2v_error_set(err, -ENOMEM, "parse reference '%s': out of memory", text);
	}
	return 0;
}

int o2v_ref_parse(const char *text, struct o2v_ref *ret, struct o2v_error *err)
{
	int r;

	if (!text || !*text)
		return o2v_error_set(err, -EINVAL, "invalid reference '': empty");
	if (strlen(text) > REF_TEXT_MAX)
		return o2v_error_set(err, -EINVAL, "invalid reference '%.60s...': too long", text);
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return o2v_error_set(err, -EINVAL,
					     "invalid reference '%s': contains whitespace or a "
					     "control character",
					     text);
	r = o2v_local_ref_parse(text, ret, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (!strncmp(text, "docker://", 9))
		return parse_docker(text, text + 9, ret, err);
	return parse_docker(text, text, ret, err);
}
