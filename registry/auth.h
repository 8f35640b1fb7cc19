/* auth.h - registry authentication: WWW-Authenticate challenges, the bearer
 * token flow (distribution docs/spec/auth/token.md) and Basic auth.
 *
 * Credentials come from credentials.c (docker config.json, helpers, podman
 * auth.json), are looked up only when a registry asks for them, and are
 * sent only to the registry host itself (Basic) or to the token realm that
 * registry names, after the realm passed the hardening checks below. They
 * are never logged and never written to the cache.
 *
 * Realm hardening (ggcr transport/bearer.go validateRealmURL): the realm
 * must be an absolute http(s) URL; a registry reached over verified HTTPS
 * may only name an https realm, and not one whose host is an IP literal in
 * a loopback, link-local, private or unspecified range unless it is the
 * registry's own host. Plain-HTTP (loopback/insecure) registries are
 * trusted with what they name.
 */
#ifndef O2V_AUTH_H
#define O2V_AUTH_H

#include <time.h>

#include "credentials.h"
#include "http.h"

#define O2V_CHALLENGE_MAX_PARAMS 16
#define O2V_TOKEN_RESPONSE_MAX	 (256 << 10)
#define O2V_TOKEN_DEFAULT_EXPIRY 60 /* token.md: expires_in defaults to 60 s */

struct o2v_challenge {
	char scheme[16]; /* lowercase: "bearer", "basic", ... */
	char *realm, *service, *scope, *error;
};

/* Parse one WWW-Authenticate value (RFC 7235: one or more challenges,
 * auth-params with token or quoted-string values, '\' escapes, optional
 * whitespace; names case-insensitive). Appends to out (up to max);
 * *n is the count so far. -EPROTO on a malformed value. */
int o2v_challenges_parse(const char *value, struct o2v_challenge *out, size_t max, size_t *n,
			 struct o2v_error *err);
void o2v_challenge_release(struct o2v_challenge *c);

/* A parsed token response. */
struct o2v_token {
	char *token;
	time_t expiry;
};

/* Parse a token server's JSON: "access_token" preferred over "token" (as
 * containerd), "expires_in" (default 60), "issued_at" (RFC 3339; else now). */
int o2v_token_parse(const char *json, size_t len, time_t now, struct o2v_token *ret,
		    struct o2v_error *err);

/* Check a realm URL for a registry (see the hardening rules above). */
int o2v_realm_check(const char *realm, const char *registry_host, bool registry_plain_http,
		    struct o2v_error *err);

struct o2v_auth {
	struct o2v_http *http;
	char *domain, *repository;
	char *scope; /* "repository:<path>:pull" */
	bool creds_loaded;
	struct o2v_credentials *creds; /* heap, wiped on release */
	char *header;		       /* "Authorization: ..." to send, or NULL */
	bool bearer;
	time_t expiry; /* bearer token expiry; 0 = none */
	char *realm, *service, *challenge_scope;
	unsigned token_fetches;
};

int o2v_auth_init(struct o2v_auth *a, struct o2v_http *h, const char *domain,
		  const char *repository, struct o2v_error *err);
void o2v_auth_release(struct o2v_auth *a);

/* The Authorization header line to send now, or NULL; renews an expired
 * bearer token first. */
int o2v_auth_header(struct o2v_auth *a, const char **ret, struct o2v_error *err);

/* A request got 401: pick the best challenge (bearer > basic) and obtain
 * what it asks for. 0 = retry the request once; -EACCES when it cannot be
 * satisfied (no or wrong credentials, access denied). */
int o2v_auth_handle_401(struct o2v_auth *a, const struct o2v_http_response *resp,
			struct o2v_error *err);

#endif
