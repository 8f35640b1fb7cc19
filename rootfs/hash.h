/* hash.h - sha256 helpers of the rootfs module (OpenSSL EVP). */
#ifndef O2V_ROOTFS_HASH_H
#define O2V_ROOTFS_HASH_H

#include "../common/error.h"

#define O2V_SHA256_HEX 65 /* 64 hex digits + NUL */

struct o2v_sha256;

struct o2v_sha256 *o2v_sha256_new(void);
void o2v_sha256_update(struct o2v_sha256 *h, const void *p, size_t len);
/* Finish into hex (64 digits + NUL) and free h. */
void o2v_sha256_final(struct o2v_sha256 *h, char hex[O2V_SHA256_HEX]);
void o2v_sha256_free(struct o2v_sha256 *h);

/* sha256 of a whole file, as hex. */
int o2v_sha256_file(const char *path, char hex[O2V_SHA256_HEX], struct o2v_error *err);

#endif
