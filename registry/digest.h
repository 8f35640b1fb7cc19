/* digest.h - content digests: validation and streaming hashing (OpenSSL EVP).
 *
 * Digest strings come from registries, manifests and users, and end up in
 * URLs and cache paths, so every one is validated before use (CVE-2024-3727):
 * only "sha256:" + 64 and "sha512:" + 128 lowercase hex digits are accepted.
 * A well-formed digest of another algorithm cannot be verified, so it is
 * refused too ("unsupported digest algorithm"), never passed through.
 */
#ifndef O2V_DIGEST_H
#define O2V_DIGEST_H

#include "registry.h"

/* True when d is a digest oci2vm can verify (see above). */
bool o2v_digest_valid(const char *d);

/* Like o2v_digest_valid() with a message naming what is wrong with d:
 * -EINVAL for malformed (code chosen by the caller through bad_code),
 * e.g. -EBADMSG when the digest came from a registry. */
int o2v_digest_check(const char *d, int bad_code, struct o2v_error *err);

/* The algorithm ("sha256") and hex part of a valid digest. */
const char *o2v_digest_hex(const char *d);
size_t o2v_digest_algo_len(const char *d);

struct o2v_hasher {
	void *ctx; /* EVP_MD_CTX */
	char algo[8];
};

/* Start hashing for the algorithm of digest (or "sha256"/"sha512" alone). */
int o2v_hasher_init(struct o2v_hasher *h, const char *digest_or_algo, struct o2v_error *err);
void o2v_hasher_update(struct o2v_hasher *h, const void *buf, size_t len);
/* Restart from zero bytes (a download restarted from the beginning). */
int o2v_hasher_reset(struct o2v_hasher *h, struct o2v_error *err);
/* "algo:hex" of what was hashed so far; the hasher stays usable only for release. */
int o2v_hasher_final(struct o2v_hasher *h, char out[O2V_DIGEST_MAX], struct o2v_error *err);
void o2v_hasher_release(struct o2v_hasher *h);

/* Digest of a buffer, with the algorithm of expect (or sha256 when NULL). */
int o2v_digest_buf(const void *buf, size_t len, const char *expect, char out[O2V_DIGEST_MAX],
		   struct o2v_error *err);

/* Verify buf against digest (and nothing else): -EBADMSG "digest mismatch" naming what. */
int o2v_digest_verify(const void *buf, size_t len, const char *digest, const char *what,
		      struct o2v_error *err);

#endif
