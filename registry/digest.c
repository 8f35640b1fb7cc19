/* digest.c - see digest.h. */
#include "../common/o2v.h"

#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

static size_t hex_len_for(const char *algo, size_t algo_len)
{
	if (algo_len == 6 && !memcmp(algo, "sha256", 6))
		return 64;
	if (algo_len == 6 && !memcmp(algo, "sha512", 6))
		return 128;
	return 0;
}

/* image-spec descriptor.md grammar, so an unknown algorithm gets its own message. */
static bool well_formed(const char *d)
{
	const char *c = strchr(d, ':');

	if (!c || c == d || !c[1])
		return false;
	for (const char *p = d; p < c; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      ((*p == '+' || *p == '.' || *p == '_' || *p == '-') && p > d && p + 1 < c)))
			return false;
	for (const char *p = c + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '=' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

bool o2v_digest_valid(const char *d)
{
	const char *c;
	size_t n;

	if (!d || strlen(d) >= O2V_DIGEST_MAX || !(c = strchr(d, ':')))
		return false;
	n = hex_len_for(d, (size_t)(c - d));
	return n && strlen(c + 1) == n && lower_hex(c + 1, n);
}

int o2v_digest_check(const char *d, int bad_code, struct o2v_error *err)
{
	if (o2v_digest_valid(d))
		return 0;
	if (!d)
		return o2v_error_set(err, bad_code, "missing digest");
	if (strlen(d) > 200)
		return o2v_error_set(err, bad_code, "invalid digest '%.40s...': too long", d);
	if (!well_formed(d))
		return o2v_error_set(
		    err, bad_code,
		    "invalid digest '%s': expected ALGORITHM:HEX, e.g. sha256:<64 hex>", d);
	const char *c = strchr(d, ':');
	size_t n = hex_len_for(d, (size_t)(c - d));
	if (!n)
		return o2v_error_set(err, bad_code, "unsupported digest algorithm '%.*s' in '%s'",
				     (int)(c - d), d, d);
	return o2v_error_set(err, bad_code,
			     "invalid digest '%s': %.*s needs %zu lowercase hex digits", d,
			     (int)(c - d), d, n);
}

const char *o2v_digest_hex(const char *d)
{
	return strchr(d, ':') + 1;
}

size_t o2v_digest_algo_len(const char *d)
{
	return (size_t)(strchr(d, ':') - d);
}

int o2v_hasher_init(struct o2v_hasher *h, const char *digest_or_algo, struct o2v_error *err)
{
	const char *a = digest_or_algo ? digest_or_algo : "sha256";
	size_t n = strcspn(a, ":");
	const EVP_MD *md;

	h->ctx = NULL;
	if (n == 6 && !memcmp(a, "sha256", 6))
		md = EVP_sha256();
	else if (n == 6 && !memcmp(a, "sha512", 6))
		md = EVP_sha512();
	else
		return o2v_error_set(err, -EBADMSG, "unsupported digest algorithm '%.*s'", (int)n,
				     a);
	memcpy(h->algo, a, 6);
	h->algo[6] = '\0';
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md, NULL)) {
		o2v_hasher_release(h);
		return o2v_error_set(err, -ENOMEM, "initialise %s", h->algo);
	}
	return 0;
}

void o2v_hasher_update(struct o2v_hasher *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

int o2v_hasher_reset(struct o2v_hasher *h, struct o2v_error *err)
{
	if (!EVP_DigestInit_ex(h->ctx, EVP_MD_CTX_get0_md(h->ctx), NULL))
		return o2v_error_set(err, -ENOMEM, "restart %s", h->algo);
	return 0;
}

int o2v_hasher_final(struct o2v_hasher *h, char out[O2V_DIGEST_MAX], struct o2v_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";

	if (!EVP_DigestFinal_ex(h->ctx, md, &n))
		return o2v_error_set(err, -EIO, "finish %s", h->algo);
	size_t pos = (size_t)snprintf(out, O2V_DIGEST_MAX, "%s:", h->algo);
	for (unsigned int i = 0; i < n && pos + 2 < O2V_DIGEST_MAX; i++) {
		out[pos++] = hex[md[i] >> 4];
		out[pos++] = hex[md[i] & 15];
	}
	out[pos] = '\0';
	return 0;
}

void o2v_hasher_release(struct o2v_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int o2v_digest_buf(const void *buf, size_t len, const char *expect, char out[O2V_DIGEST_MAX],
		   struct o2v_error *err)
{
	struct o2v_hasher h;
	int r = o2v_hasher_init(&h, expect, err);

	if (r < 0)
		return r;
	o2v_hasher_update(&h, buf, len);
	r = o2v_hasher_final(&h, out, err);
	o2v_hasher_release(&h);
	return r;
}

int o2v_digest_verify(const void *buf, size_t len, const char *digest, const char *what,
		      struct o2v_error *err)
{
	char got[O2V_DIGEST_MAX];
	int r = o2v_digest_check(digest, -EBADMSG, err);

	if (r < 0)
		return r;
	if ((r = o2v_digest_buf(buf, len, digest, got, err)) < 0)
		return r;
	if (strcmp(got, digest))
		return o2v_error_set(err, -EBADMSG, "digest mismatch for %s: expected %s, got %s",
				     what, digest, got);
	return 0;
}
