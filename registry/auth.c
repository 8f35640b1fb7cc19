/* auth.c - see auth.h. */
#include "../common/o2v.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "auth.h"

#define CHALLENGE_VALUE_MAX (16 << 10)

/* ---- WWW-Authenticate ------------------------------------------------- */

static bool tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

void o2v_challenge_release(struct o2v_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

/* token or quoted-string at *pp; returns a new string. */
static char *parse_value(const char **pp)
{
	const char *p = *pp;
	size_t n = 0;
	char *out;

	if (*p != '"') {
		while (tchar(p[n]) || p[n] == '/' || p[n] == ':' || p[n] == '=')
			n++;
		if (!n)
			return NULL;
		out = strndup(p, n);
		*pp = p + n;
		return out;
	}
	p++;
	out = malloc(strlen(p) + 1);
	if (!out)
		return NULL;
	while (*p && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p++;
	}
	if (*p != '"') {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*pp = p + 1;
	return out;
}

static char **param_slot(struct o2v_challenge *c, const char *name, size_t n)
{
	if (n == 5 && !strncasecmp(name, "realm", 5))
		return &c->realm;
	if (n == 7 && !strncasecmp(name, "service", 7))
		return &c->service;
	if (n == 5 && !strncasecmp(name, "scope", 5))
		return &c->scope;
	if (n == 5 && !strncasecmp(name, "error", 5))
		return &c->error;
	return NULL;
}

int o2v_challenges_parse(const char *value, struct o2v_challenge *out, size_t max, size_t *n,
			 struct o2v_error *err)
{
	const char *p = value;

	if (strlen(value) > CHALLENGE_VALUE_MAX)
		return o2v_error_set(err, -E2BIG, "WWW-Authenticate header too long");
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		size_t sl = 0;
		while (tchar(p[sl]))
			sl++;
		if (!sl)
			return o2v_error_set(
			    err, -EPROTO, "malformed WWW-Authenticate '%.200s': expected a scheme",
			    value);
		struct o2v_challenge scratch, *c = *n < max ? &out[(*n)++] : &scratch;
		memset(c, 0, sizeof(*c));
		for (size_t i = 0; i < sl && i + 1 < sizeof(c->scheme); i++)
			c->scheme[i] = (char)tolower((unsigned char)p[i]);
		p = skip_ws(p + sl);
		for (bool first = true;; first = false) {
			const char *q = skip_ws(p);
			size_t nl = 0;
			while (tchar(q[nl]) && q[nl] != '=')
				nl++;
			const char *r = skip_ws(q + nl);
			if (nl && *r == '=' && r[1] != '=') {
				const char *vp = skip_ws(r + 1);
				char *v = parse_value(&vp);
				if (!v) {
					if (c == &scratch)
						o2v_challenge_release(c);
					return o2v_error_set(err, -EPROTO,
							     "malformed WWW-Authenticate '%.200s': "
							     "bad value for '%.*s'",
							     value, (int)nl, q);
				}
				char **slot = param_slot(c, q, nl);
				if (slot) {
					free(*slot);
					*slot = v;
				} else {
					free(v);
				}
				p = skip_ws(vp);
				if (*p == ',')
					p = skip_ws(p + 1);
				continue;
			}
			if (first && nl && (*r == '=' || *r == ',' || !*r)) {
				/* token68 (credentials-style blob): nothing we use */
				while (*r == '=')
					r++;
				p = r;
				continue;
			}
			p = q; /* the next challenge, or the end */
			break;
		}
		if (c == &scratch)
			o2v_challenge_release(c);
	}
}

/* ---- token responses --------------------------------------------------- */

#define O2V_TOKEN_EXPIRY_MAX (366LL * 24 * 3600)

/* RFC 3339 "2026-11-21T11:36:10Z", fraction and numeric offset allowed. */
static int parse_rfc3339(const char *s, time_t *ret)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!p)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* Exactly "+HH:MM": a shorter offset ("+1:2") must not move p past the end
		 * (fuzz_auth found that overflow). */
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return -1;
		int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
		off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*ret = timegm(&tm) - off;
	return 0;
}

int o2v_token_parse(const char *json, size_t len, time_t now, struct o2v_token *ret,
		    struct o2v_error *err)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o, *v;
	const char *t = NULL;
	int64_t expires = O2V_TOKEN_DEFAULT_EXPIRY;
	time_t issued = now;

	if (!tok)
		return o2v_error_set(err, -ENOMEM, "parse token response");
	o = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return o2v_error_set(err, -EPROTO, "token server sent invalid JSON");
	}
	if (json_object_object_get_ex(o, "access_token", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		t = json_object_get_string(v);
	else if (json_object_object_get_ex(o, "token", &v) &&
		 json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		t = json_object_get_string(v);
	if (!t) {
		json_object_put(o);
		return o2v_error_set(
		    err, -EPROTO, "token server response has neither 'token' nor 'access_token'");
	}
	for (const char *c = t; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			json_object_put(o);
			return o2v_error_set(err, -EPROTO, "token contains invalid characters");
		}
	if (json_object_object_get_ex(o, "expires_in", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		int64_t e = json_object_get_int64(v);
		/* A year at most: issued + expires must not overflow time_t (fuzz_auth). */
		if (e > 0)
			expires = e < O2V_TOKEN_EXPIRY_MAX ? e : O2V_TOKEN_EXPIRY_MAX;
	}
	if (json_object_object_get_ex(o, "issued_at", &v) &&
	    json_object_is_type(v, json_type_string)) {
		time_t it;
		if (parse_rfc3339(json_object_get_string(v), &it) == 0)
			issued = it;
	}
	ret->token = strdup(t);
	ret->expiry = issued + (time_t)expires;
	json_object_put(o);
	if (!ret->token)
		return o2v_error_set(err, -ENOMEM, "parse token response");
	return 0;
}

/* ---- realm checks ------------------------------------------------------ */

static bool ip_is_internal(const char *host)
{
	unsigned char a[16];
	char buf[64];
	size_t n = strlen(host);

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, host, n + 1);
	if (buf[0] == '[') {
		buf[n - 1] = '\0';
		memmove(buf, buf + 1, n);
	}
	if (inet_pton(AF_INET, buf, a) == 1)
		return a[0] == 127 || a[0] == 10 || a[0] == 0 || (a[0] == 169 && a[1] == 254) ||
		       (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
		       (a[0] == 100 && (a[1] & 0xc0) == 64);
	if (inet_pton(AF_INET6, buf, a) == 1) {
		static const unsigned char zero[16];
		if (!memcmp(a, zero, 15) && (a[15] == 1 || a[15] == 0))
			return true;			   /* ::1, :: */
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */
			return true;
		if ((a[0] & 0xfe) == 0xfc) /* fc00::/7 */
			return true;
		if (!memcmp(a, zero, 10) && a[10] == 0xff && a[11] == 0xff)
			return a[12] == 127 || a[12] == 10 || (a[12] == 169 && a[13] == 254) ||
			       (a[12] == 192 && a[13] == 168) ||
			       (a[12] == 172 && (a[13] & 0xf0) == 16);
	}
	return false;
}

int o2v_realm_check(const char *realm, const char *registry_host, bool registry_plain_http,
		    struct o2v_error *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int r = 0;

	if (!u)
		return o2v_error_set(err, -ENOMEM, "check token realm");
	if (curl_url_set(u, CURLUPART_URL, realm, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		r = o2v_error_set(err, -EPROTO, "registry named an invalid token realm '%s'",
				  realm);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
		r = o2v_error_set(err, -EPROTO, "token realm '%s' is not an http(s) URL", realm);
		goto out;
	}
	if (registry_plain_http)
		goto out;
	if (strcmp(scheme, "https")) {
		r = o2v_error_set(err, -EPROTO,
				  "refusing token realm '%s': a registry reached over https must "
				  "use an https realm",
				  realm);
		goto out;
	}
	char authority[320];
	snprintf(authority, sizeof(authority), "%s%s%s", host, port ? ":" : "", port ? port : "");
	if (ip_is_internal(host) && strcmp(authority, registry_host) && strcmp(host, registry_host))
		r = o2v_error_set(err, -EPROTO,
				  "refusing token realm '%s': an internal address that is not the "
				  "registry itself",
				  realm);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

/* ---- the authorizer ---------------------------------------------------- */

int o2v_auth_init(struct o2v_auth *a, struct o2v_http *h, const char *domain,
		  const char *repository, struct o2v_error *err)
{
	memset(a, 0, sizeof(*a));
	a->http = h;
	a->domain = strdup(domain);
	a->repository = strdup(repository);
	if (!a->domain || !a->repository ||
	    asprintf(&a->scope, "repository:%s:pull", repository) < 0) {
		a->scope = NULL;
		o2v_auth_release(a);
		return o2v_error_set(err, -ENOMEM, "set up authentication");
	}
	h->auth = a;
	return 0;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void o2v_auth_release(struct o2v_auth *a)
{
	if (a->creds) {
		o2v_credentials_clear(a->creds);
		free(a->creds);
	}
	if (a->http && a->http->auth == a)
		a->http->auth = NULL;
	wipe_free(a->header);
	free(a->domain);
	free(a->repository);
	free(a->scope);
	free(a->realm);
	free(a->service);
	free(a->challenge_scope);
	memset(a, 0, sizeof(*a));
}

static int load_creds(struct o2v_auth *a, struct o2v_error *err)
{
	int r;

	if (a->creds_loaded)
		return 0;
	a->creds = calloc(1, sizeof(*a->creds));
	if (!a->creds)
		return o2v_error_set(err, -ENOMEM, "load credentials");
	r = o2v_credentials_lookup(a->domain, a->repository, a->creds, err);
	if (r < 0)
		return o2v_error_prefix(err, "credentials for '%s'", a->domain);
	a->creds_loaded = true;
	return 0;
}

static bool have_creds(const struct o2v_auth *a)
{
	return a->creds && a->creds->kind != O2V_CRED_NONE;
}

static int set_header(struct o2v_auth *a, const char *scheme, const char *value)
{
	char *h;

	if (asprintf(&h, "Authorization: %s %s", scheme, value) < 0)
		return -ENOMEM;
	wipe_free(a->header);
	a->header = h;
	return 0;
}

static char *basic_value(const struct o2v_credentials *c)
{
	size_t ul = strlen(c->username), sl = strlen(c->secret);
	_cleanup_free_ char *plain = malloc(ul + sl + 2);
	char *out = NULL;

	if (!plain)
		return NULL;
	memcpy(plain, c->username, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, c->secret, sl + 1);
	out = malloc(4 * ((ul + sl + 3) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)plain, (int)(ul + sl + 1));
	explicit_bzero(plain, ul + sl + 1);
	return out;
}

static int append_param(char **url, bool *first, const char *name, const char *value)
{
	_cleanup_free_ char *ev = o2v_url_escape(value);
	char *n;

	if (!ev || asprintf(&n, "%s%s%s=%s", *url, *first ? "" : "&", name, ev) < 0)
		return -ENOMEM;
	free(*url);
	*url = n;
	*first = false;
	return 0;
}

static int fetch_token(struct o2v_auth *a, struct o2v_error *err)
{
	struct o2v_http *h = a->http;
	struct o2v_tls_config realm_tls = {0};
	struct o2v_xfer x;
	_cleanup_free_ char *url = NULL, *basic = NULL, *authz = NULL, *form = NULL;
	const char *scopes = a->challenge_scope ? a->challenge_scope : a->scope;
	bool first;
	int r;

	r = o2v_realm_check(a->realm, h->host, !h->https || h->tls.allow_http, err);
	if (r < 0)
		return r;
	/* The realm's own host decides its TLS trust, not the registry's. */
	{
		CURLU *u = curl_url();
		char *host = NULL, *port = NULL;
		_cleanup_free_ char *dom = NULL;
		if (u && !curl_url_set(u, CURLUPART_URL, a->realm, 0) &&
		    !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
			curl_url_get(u, CURLUPART_PORT, &port, 0);
			if (asprintf(&dom, "%s%s%s", host, port ? ":" : "", port ? port : "") < 0)
				dom = NULL;
		}
		curl_free(host);
		curl_free(port);
		curl_url_cleanup(u);
		if (!dom)
			return o2v_error_set(err, -ENOMEM, "token realm");
		r = o2v_tls_config_load(dom, NULL, &realm_tls, err);
		if (r < 0)
			return r;
	}
	o2v_xfer_init(&x);
	x.tls = &realm_tls;
	x.body_max = O2V_TOKEN_RESPONSE_MAX;
	if (a->creds && a->creds->kind == O2V_CRED_IDENTITY_TOKEN) {
		/* OAuth2 (oauth.md): a docker identity token is a refresh token. */
		url = strdup(a->realm);
		_cleanup_free_ char *rt = o2v_url_escape(a->creds->secret);
		_cleanup_free_ char *sc = o2v_url_escape(scopes);
		_cleanup_free_ char *sv = o2v_url_escape(a->service ? a->service : "");
		if (!rt || !sc || !sv ||
		    asprintf(&form,
			     "grant_type=refresh_token&client_id=oci2vm&service=%s&scope=%s&"
			     "refresh_token=%s",
			     sv, sc, rt) < 0) {
			form = NULL;
			r = o2v_error_set(err, -ENOMEM, "token request");
			goto out;
		}
		if (rt)
			explicit_bzero(rt, strlen(rt));
		x.post_form = form;
	} else {
		url = strdup(a->realm);
		first = !strchr(a->realm, '?');
		if (url && !first && url[strlen(url) - 1] == '?')
			first = true;
		if (url && first && !strchr(url, '?')) {
			char *n;
			if (asprintf(&n, "%s?", url) < 0)
				n = NULL;
			free(url);
			url = n;
		}
		if (!url || (a->service && append_param(&url, &first, "service", a->service) < 0)) {
			r = o2v_error_set(err, -ENOMEM, "token request");
			goto out;
		}
		/* several space-separated scopes become repeated scope= parameters */
		_cleanup_free_ char *sc = strdup(scopes);
		char *save = NULL;
		for (char *s = sc ? strtok_r(sc, " ", &save) : NULL; s;
		     s = strtok_r(NULL, " ", &save))
			if (append_param(&url, &first, "scope", s) < 0) {
				r = o2v_error_set(err, -ENOMEM, "token request");
				goto out;
			}
		if (a->creds && a->creds->kind == O2V_CRED_BASIC) {
			basic = basic_value(a->creds);
			if (!basic || asprintf(&authz, "Authorization: Basic %s", basic) < 0) {
				authz = NULL;
				r = o2v_error_set(err, -ENOMEM, "token request");
				goto out;
			}
			x.authorization = authz;
		}
	}
	x.url = TAKE_PTR(url);
	a->token_fetches++;
	r = o2v_http_do(h, &x, err);
	if (r < 0) {
		o2v_error_prefix(err, "get a token for '%s'", a->domain);
		goto out;
	}
	if (x.resp.status == 401 || x.resp.status == 403) {
		if (have_creds(a))
			r = o2v_error_set(err, -EACCES,
					  "authentication failed for %s: the token server rejected "
					  "the credentials from %s",
					  a->domain, a->creds->source);
		else
			r = o2v_error_set(err, -EACCES,
					  "authentication required for %s (token server answered "
					  "HTTP %ld); log in with 'oci2vm login %s'",
					  a->domain, x.resp.status, a->domain);
		goto out;
	}
	if (x.resp.status != 200) {
		char d[300];
		o2v_http_describe(&x, d, sizeof(d));
		r = o2v_error_set(err, -EPROTO, "get a token for '%s': token server answered %s",
				  a->domain, d);
		goto out;
	}
	struct o2v_token t = {0};
	r = o2v_token_parse(x.body ? x.body : "", x.body_len, time(NULL), &t, err);
	if (r < 0) {
		o2v_error_prefix(err, "get a token for '%s'", a->domain);
		goto out;
	}
	r = set_header(a, "Bearer", t.token);
	wipe_free(t.token);
	if (r < 0) {
		r = o2v_error_set(err, -ENOMEM, "token");
		goto out;
	}
	a->bearer = true;
	a->expiry = t.expiry;
out:
	if (x.body)
		explicit_bzero(x.body, x.body_len);
	x.authorization = NULL;
	x.post_form = NULL;
	if (basic)
		explicit_bzero(basic, strlen(basic));
	if (authz)
		explicit_bzero(authz, strlen(authz));
	if (form)
		explicit_bzero(form, strlen(form));
	o2v_xfer_release(&x);
	o2v_tls_config_release(&realm_tls);
	return r;
}

int o2v_auth_header(struct o2v_auth *a, const char **ret, struct o2v_error *err)
{
	/* Renew a bearer token a few seconds before it expires rather than
	 * spending a 401 round trip on it. */
	if (a->bearer && a->realm && a->expiry && time(NULL) + 5 >= a->expiry) {
		int r = fetch_token(a, err);
		if (r < 0)
			return r;
	}
	*ret = a->header;
	return 0;
}

int o2v_auth_handle_401(struct o2v_auth *a, const struct o2v_http_response *resp,
			struct o2v_error *err)
{
	struct o2v_challenge ch[O2V_HTTP_CHALLENGES_MAX];
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < resp->n_challenges; i++) {
		r = o2v_challenges_parse(resp->challenges[i], ch, ARRAY_SIZE(ch), &n, err);
		if (r < 0)
			goto out;
	}
	const struct o2v_challenge *bearer = NULL, *basic = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ch[i].scheme, "bearer") && ch[i].realm && !bearer)
			bearer = &ch[i];
		else if (!strcmp(ch[i].scheme, "basic") && !basic)
			basic = &ch[i];
	}
	if (!bearer && !basic) {
		r = o2v_error_set(err, -EACCES,
				  "%s answered 401 without a usable authentication challenge",
				  a->domain);
		goto out;
	}
	if ((r = load_creds(a, err)) < 0)
		goto out;
	if (a->creds->kind == O2V_CRED_REGISTRY_TOKEN) {
		if (a->header) { /* it was sent and refused */
			r = o2v_error_set(
			    err, -EACCES,
			    "authentication failed for %s: the registry token from %s "
			    "was refused",
			    a->domain, a->creds->source);
			goto out;
		}
		r = set_header(a, "Bearer", a->creds->secret);
		goto out;
	}
	if (bearer) {
		free(a->realm);
		free(a->service);
		free(a->challenge_scope);
		a->realm = strdup(bearer->realm);
		a->service = bearer->service ? strdup(bearer->service) : NULL;
		/* containerd GetTokenScopes: add our pull scope when the challenge
		 * names none (e.g. the one from /v2/). */
		a->challenge_scope = bearer->scope && *bearer->scope ? strdup(bearer->scope) : NULL;
		if (!a->realm) {
			r = o2v_error_set(err, -ENOMEM, "token");
			goto out;
		}
		r = fetch_token(a, err);
		goto out;
	}
	if (a->header && !a->bearer) {
		r = o2v_error_set(
		    err, -EACCES,
		    "authentication failed for %s: the registry refused the credentials "
		    "from %s",
		    a->domain, have_creds(a) ? a->creds->source : "the credential store");
		goto out;
	}
	if (!have_creds(a) || a->creds->kind != O2V_CRED_BASIC) {
		r = o2v_error_set(err, -EACCES,
				  "authentication required for %s; log in with 'oci2vm login %s'",
				  a->domain, a->domain);
		goto out;
	}
	if (!a->creds->username[0] || !a->creds->secret[0]) {
		r = o2v_error_set(err, -EACCES,
				  "authentication failed for %s: empty user name or password in %s",
				  a->domain, a->creds->source);
		goto out;
	}
	{
		_cleanup_free_ char *b = basic_value(a->creds);
		r = b ? set_header(a, "Basic", b) : -ENOMEM;
		if (b)
			explicit_bzero(b, strlen(b));
		if (r < 0)
			r = o2v_error_set(err, -ENOMEM, "basic auth");
		a->bearer = false;
	}
out:
	for (size_t i = 0; i < n; i++)
		o2v_challenge_release(&ch[i]);
	return r;
}
