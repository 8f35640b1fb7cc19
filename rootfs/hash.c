/* hash.c - see hash.h. */
#include "../common/o2v.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include "hash.h"

struct o2v_sha256 {
	EVP_MD_CTX *ctx;
};

struct o2v_sha256 *o2v_sha256_new(void)
{
	struct o2v_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		o2v_sha256_free(h);
		return NULL;
	}
	return h;
}

void o2v_sha256_update(struct o2v_sha256 *h, const void *p, size_t len)
{
	EVP_DigestUpdate(h->ctx, p, len);
}

void o2v_sha256_final(struct o2v_sha256 *h, char hex[O2V_SHA256_HEX])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	for (unsigned int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[64] = '\0';
	o2v_sha256_free(h);
}

void o2v_sha256_free(struct o2v_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int o2v_sha256_file(const char *path, char hex[O2V_SHA256_HEX], struct o2v_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = malloc(128 * 1024);
	struct o2v_sha256 *h;

	if (fd < 0)
		return o2v_error_sys(err, -errno, "open '%s'", path);
	h = o2v_sha256_new();
	if (!buf || !h) {
		o2v_sha256_free(h);
		return o2v_error_sys(err, -ENOMEM, "hash '%s'", path);
	}
	for (;;) {
		ssize_t n = O2V_RETRY(read(fd, buf, 128 * 1024));
		if (n < 0) {
			int e = -errno;
			o2v_sha256_free(h);
			return o2v_error_sys(err, e, "read '%s'", path);
		}
		if (n == 0)
			break;
		o2v_sha256_update(h, buf, (size_t)n);
	}
	o2v_sha256_final(h, hex);
	return 0;
}
