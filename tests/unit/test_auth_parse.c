/* test_auth_parse.c - WWW-Authenticate parsing (containerd auth/parse.go
 * cases), token responses, realm hardening, Retry-After. */
#include "../../common/o2v.h"

#include <string.h>
#include <time.h>

#include "../../registry/auth.h"
#include "tap.h"

static size_t parse(const char *v, struct o2v_challenge *c, size_t max, int *rc)
{
	size_t n = 0;

	*rc = o2v_challenges_parse(v, c, max, &n, NULL);
	return n;
}

static void release(struct o2v_challenge *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		o2v_challenge_release(&c[i]);
}

static void test_challenges(void)
{
	struct o2v_challenge c[8];
	size_t n;
	int rc;

	n = parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		  "scope=\"repository:samalba/my-app:pull,push\"",
		  c, 8, &rc);
	TAP_IS_INT(rc, 0, "token.md example parses");
	TAP_IS_INT(n, 1, "one challenge");
	TAP_IS_STR(c[0].scheme, "bearer", "scheme lower-cased");
	TAP_IS_STR(c[0].realm, "https://auth.docker.io/token", "realm");
	TAP_IS_STR(c[0].service, "registry.docker.io", "service");
	TAP_IS_STR(c[0].scope, "repository:samalba/my-app:pull,push",
		   "scope with a comma inside quotes");
	release(c, n);

	n = parse("bearer REALM=https://r.example/t , Service = svc", c, 8, &rc);
	TAP_IS_INT(rc, 0, "unquoted tokens and spaces around '='");
	TAP_IS_STR(c[0].realm, "https://r.example/t", "unquoted realm");
	TAP_IS_STR(c[0].service, "svc", "case-insensitive parameter names");
	release(c, n);

	n = parse("Bearer realm=\"a\\\"b\\\\c\",error=\"insufficient_scope\"", c, 8, &rc);
	TAP_IS_INT(rc, 0, "escapes parse");
	TAP_IS_STR(c[0].realm, "a\"b\\c", "backslash escapes resolved");
	TAP_IS_STR(c[0].error, "insufficient_scope", "error parameter");
	release(c, n);

	n = parse("Basic realm=\"Registry Realm\", Bearer realm=\"https://x/t\",service=\"s\"", c,
		  8, &rc);
	TAP_IS_INT(n, 2, "two challenges in one header");
	TAP_IS_STR(c[0].scheme, "basic", "first is basic");
	TAP_IS_STR(c[0].realm, "Registry Realm", "quoted realm with a space");
	TAP_IS_STR(c[1].scheme, "bearer", "second is bearer");
	TAP_IS_STR(c[1].service, "s", "second's service");
	release(c, n);

	n = parse("Negotiate, Basic realm=x", c, 8, &rc);
	TAP_IS_INT(n, 2, "a bare scheme then another challenge");
	TAP_IS_STR(c[1].scheme, "basic", "second scheme");
	release(c, n);

	n = parse("Newauth abc123==, Basic realm=\"r\"", c, 8, &rc);
	TAP_IS_INT(rc, 0, "token68 is skipped");
	TAP_IS_INT(n, 2, "token68 then a challenge");
	release(c, n);

	n = parse("Bearer realm=\"unterminated", c, 8, &rc);
	TAP_IS_INT(rc, -EPROTO, "unterminated quoted string refused");
	release(c, n);
	n = parse("=x", c, 8, &rc);
	TAP_IS_INT(rc, -EPROTO, "no scheme refused");
	release(c, n);

	/* fuzz-ish: every prefix of a realistic header parses or fails cleanly */
	const char *h =
	    "Bearer realm=\"https://a/t?x=1\",service=\"s v\",scope=\"repository:r:5000/"
	    "a:pull\", Basic realm=\"q\\\"\"";
	int bad = 0;
	for (size_t len = 0; len <= strlen(h); len++) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%.*s", (int)len, h);
		n = parse(buf, c, 8, &rc);
		if (rc != 0 && rc != -EPROTO)
			bad++;
		release(c, n);
	}
	TAP_IS_INT(bad, 0, "every prefix parses or fails with -EPROTO");

	n = parse("Bearer realm=\"https://a/t\",scope=\"repository:reg:5000/a/b:pull\"", c, 8, &rc);
	TAP_IS_STR(c[0].scope, "repository:reg:5000/a/b:pull", "scope with a port kept whole");
	release(c, n);
}

static void test_tokens(void)
{
	struct o2v_token t;
	time_t now = 1000000;
	struct o2v_error err = {0};

	TAP_IS_INT(o2v_token_parse("{\"token\":\"abc\"}", 15, now, &t, &err), 0, "token only");
	TAP_IS_STR(t.token, "abc", "token value");
	TAP_IS_INT(t.expiry, now + 60, "expires_in defaults to 60 s");
	free(t.token);

	const char *j = "{\"access_token\":\"acc\",\"token\":\"tok\",\"expires_in\":300}";
	TAP_IS_INT(o2v_token_parse(j, strlen(j), now, &t, &err), 0, "both fields");
	TAP_IS_STR(t.token, "acc", "access_token preferred, consistently");
	TAP_IS_INT(t.expiry, now + 300, "expires_in honoured");
	free(t.token);

	j = "{\"access_token\":\"x\",\"expires_in\":120,\"issued_at\":\"2026-11-21T11:36:10Z\"}";
	TAP_IS_INT(o2v_token_parse(j, strlen(j), now, &t, &err), 0, "issued_at");
	TAP_IS_INT(t.expiry, 1795260970 + 120, "expiry = issued_at + expires_in");
	free(t.token);

	j = "{\"token\":\"x\",\"issued_at\":\"2026-11-21T12:36:10.123+01:00\",\"expires_in\":0}";
	TAP_IS_INT(o2v_token_parse(j, strlen(j), now, &t, &err), 0, "offset and fraction");
	TAP_IS_INT(t.expiry, 1795260970 + 60, "issued_at with offset; expires_in 0 means 60");
	free(t.token);

	TAP_IS_INT(o2v_token_parse("{}", 2, now, &t, &err), -EPROTO, "no token refused");
	TAP_IS_INT(o2v_token_parse("[1]", 3, now, &t, &err), -EPROTO, "not an object");
	TAP_IS_INT(o2v_token_parse("{\"token\":\"a b\"}", 15, now, &t, &err), -EPROTO,
		   "a token with a space (header injection) is refused");
	TAP_IS_INT(o2v_token_parse("{\"token\":\"a\\r\\nX: y\"}", 21, now, &t, &err), -EPROTO,
		   "a token with CR LF is refused");
}

static void test_realm(void)
{
	struct o2v_error err = {0};

	TAP_IS_INT(
	    o2v_realm_check("https://auth.docker.io/token", "registry-1.docker.io", false, &err), 0,
	    "https realm on another host");
	TAP_IS_INT(o2v_realm_check("http://auth.example/token", "reg.example", false, &err),
		   -EPROTO, "http realm for an https registry refused");
	TAP_IS_INT(o2v_realm_check("https://169.254.169.254/latest", "reg.example", false, &err),
		   -EPROTO, "link-local (metadata service) realm refused");
	TAP_IS_INT(o2v_realm_check("https://127.0.0.1:9999/t", "reg.example", false, &err), -EPROTO,
		   "loopback realm of a remote registry refused");
	TAP_IS_INT(o2v_realm_check("https://[::1]/t", "reg.example", false, &err), -EPROTO,
		   "IPv6 loopback realm refused");
	TAP_IS_INT(o2v_realm_check("https://10.1.2.3/t", "10.1.2.3", false, &err), 0,
		   "a private realm that is the registry itself is fine");
	TAP_IS_INT(o2v_realm_check("http://127.0.0.1:5001/t", "127.0.0.1:5000", true, &err), 0,
		   "plain-HTTP loopback registries may name an http realm");
	TAP_IS_INT(o2v_realm_check("ftp://x/t", "127.0.0.1:5000", true, &err), -EPROTO,
		   "non-http realm refused");
	TAP_IS_INT(o2v_realm_check("not a url", "r", false, &err), -EPROTO, "garbage refused");
}

static void test_retry_after(void)
{
	time_t now = 1795260970; /* Sat, 21 Nov 2026 11:36:10 GMT */

	TAP_IS_INT(o2v_http_retry_after_ms("3", now), 3000, "delta seconds");
	TAP_IS_INT(o2v_http_retry_after_ms("0", now), 0, "zero");
	TAP_IS_INT(o2v_http_retry_after_ms("99999", now), O2V_HTTP_RETRY_AFTER_MAX_S * 1000,
		   "bounded");
	TAP_IS_INT(o2v_http_retry_after_ms("Sat, 21 Nov 2026 11:36:15 GMT", now), 5000,
		   "HTTP-date");
	TAP_IS_INT(o2v_http_retry_after_ms("Sat, 21 Nov 2026 11:00:00 GMT", now), 0,
		   "HTTP-date in the past");
	TAP_IS_INT(o2v_http_retry_after_ms("soon", now), -1, "garbage");
	TAP_IS_INT(o2v_http_retry_after_ms("3x", now), -1, "trailing garbage");
	TAP_IS_INT(o2v_http_retry_after_ms("", now), -1, "empty");
}

int main(void)
{
	test_challenges();
	test_tokens();
	test_realm();
	test_retry_after();
	return tap_done();
}
