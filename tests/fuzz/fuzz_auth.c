/* fuzz_auth.c - what registries say about authentication (registry/auth.c): the
 * WWW-Authenticate challenges, the token server's JSON answer, and the realm URL checks;
 * plus the other small registry answers parsed without libcurl transfers
 * (registry/http.c: Retry-After, the error body shown in messages).
 *
 * Input: byte 0 picks the parser (mod 4), byte 1 is a parameter; the rest is the value.
 * Checks: challenges never exceed the room given, scheme names are lowercase tokens, an
 * error is -EPROTO or -E2BIG with a message; a token never holds a byte a header line
 * cannot carry (<= ' ', 0x7f); realm checks answer 0 or
 * -EPROTO; Retry-After is -1 or within [0, 60 s]; the described error has no control
 * bytes. */
#include "fuzz.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>

#include "../../registry/auth.h"
#include "../../registry/http.h"

#define NOW ((time_t)1795260970)

static void fuzz_challenges(const char *value, unsigned param)
{
	struct o2v_challenge c[O2V_CHALLENGE_MAX_PARAMS];
	struct o2v_error err = {0};
	size_t max = param % (ARRAY_SIZE(c) + 1), n = 0;

	/* like the HTTP engine: one header value at a time, appending */
	int r = o2v_challenges_parse(value, c, max, &n, &err);
	FUZZ_CHECK(n <= max, "%zu challenges in room for %zu", n, max);
	if (r < 0)
		FUZZ_CHECK((r == -EPROTO || r == -E2BIG) && err.code == r && err.msg[0],
			   "r=%d '%s'", r, err.msg);
	else
		FUZZ_CHECK(r == 0, "r=%d", r);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(c[i].scheme[0] || r < 0, "challenge %zu without a scheme", i);
		for (const char *s = c[i].scheme; *s; s++)
			FUZZ_CHECK(!isupper((unsigned char)*s) && (unsigned char)*s > ' ',
				   "scheme '%s'", c[i].scheme);
		o2v_challenge_release(&c[i]);
	}
}

static void fuzz_token(const char *json, size_t len)
{
	struct o2v_token t = {0};
	struct o2v_error err = {0};

	int r = o2v_token_parse(json, len, NOW, &t, &err);

	if (r < 0) {
		FUZZ_CHECK(r == -EPROTO && err.code == r && err.msg[0], "r=%d '%s'", r, err.msg);
		FUZZ_CHECK(!t.token, "token set on failure");
		return;
	}
	FUZZ_CHECK(t.token && t.token[0], "empty token");
	for (const char *c = t.token; *c; c++)
		FUZZ_CHECK((unsigned char)*c > ' ' && *c != 0x7f, "token byte 0x%02x",
			   (unsigned char)*c);
	free(t.token);
}

static void fuzz_realm(struct fuzz_in *in, unsigned param)
{
	struct o2v_error err = {0};
	char *realm = fuzz_str(in, '\n', NULL);
	char *host = fuzz_rest(in, NULL);
	int r = o2v_realm_check(realm, host, param & 1, &err);

	FUZZ_CHECK(r == 0 || (r == -EPROTO && err.code == r && err.msg[0]), "realm r=%d", r);
	if (r == 0 && !(param & 1))
		FUZZ_CHECK(!strncasecmp(realm, "https:", 6),
			   "realm '%s' accepted for an https registry", realm);
	free(realm);
	free(host);
}

static void fuzz_misc(const char *value, size_t len)
{
	int64_t ms = o2v_http_retry_after_ms(value, NOW);
	FUZZ_CHECK(ms == -1 || (ms >= 0 && ms <= O2V_HTTP_RETRY_AFTER_MAX_S * 1000),
		   "Retry-After '%s' -> %lld", value, (long long)ms);

	struct o2v_xfer x = {0};
	char buf[512];
	x.resp.status = 404;
	x.body = (char *)value;
	x.body_len = len;
	o2v_http_describe(&x, buf, sizeof(buf));
	for (const char *c = buf; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= ' ' && *c != 0x7f,
			   "described error holds byte 0x%02x", (unsigned char)*c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > O2V_TOKEN_RESPONSE_MAX)
		return 0;
	struct fuzz_in in = {data + 2, size - 2};
	unsigned mode = data[0] % 4, param = data[1];
	size_t len;

	if (mode == 2) {
		fuzz_realm(&in, param);
		return 0;
	}
	char *value = fuzz_rest(&in, &len);
	switch (mode) {
	case 0:
		fuzz_challenges(value, param);
		break;
	case 1:
		fuzz_token(value, len);
		break;
	case 3:
		fuzz_misc(value, len);
		break;
	}
	free(value);
	return 0;
}
