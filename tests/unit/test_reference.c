/* test_reference.c - reference grammar and Docker normalisation, with the
 * vectors of distribution/reference normalize_test.go and the checklist. */
#include "../../common/o2v.h"

#include <string.h>

#include "../../registry/digest.h"
#include "../../registry/registry.h"
#include "tap.h"

#define D64 "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

struct good {
	const char *in, *domain, *api_host, *repo, *tag, *digest, *normalized;
};

static const struct good goods[] = {
    {"ubuntu", "docker.io", "registry-1.docker.io", "library/ubuntu", "latest", NULL,
     "docker.io/library/ubuntu:latest"},
    {"ubuntu:22.04", "docker.io", "registry-1.docker.io", "library/ubuntu", "22.04", NULL,
     "docker.io/library/ubuntu:22.04"},
    {"docker.io/ubuntu", "docker.io", "registry-1.docker.io", "library/ubuntu", "latest", NULL,
     "docker.io/library/ubuntu:latest"},
    {"index.docker.io/ubuntu", "docker.io", "registry-1.docker.io", "library/ubuntu", "latest",
     NULL, "docker.io/library/ubuntu:latest"},
    {"myuser/app", "docker.io", "registry-1.docker.io", "myuser/app", "latest", NULL,
     "docker.io/myuser/app:latest"},
    {"docker/docker", "docker.io", "registry-1.docker.io", "docker/docker", "latest", NULL,
     "docker.io/docker/docker:latest"},
    {"localhost/app", "localhost", "localhost", "app", "latest", NULL, "localhost/app:latest"},
    {"localhost:5000/app", "localhost:5000", "localhost:5000", "app", "latest", NULL,
     "localhost:5000/app:latest"},
    {"127.0.0.1:5000/app:v1", "127.0.0.1:5000", "127.0.0.1:5000", "app", "v1", NULL,
     "127.0.0.1:5000/app:v1"},
    {"[::1]:5000/app", "[::1]:5000", "[::1]:5000", "app", "latest", NULL, "[::1]:5000/app:latest"},
    {"[fc00::1]:5000/docker", "[fc00::1]:5000", "[fc00::1]:5000", "docker", "latest", NULL,
     "[fc00::1]:5000/docker:latest"},
    {"192.168.0.1:8/debian", "192.168.0.1:8", "192.168.0.1:8", "debian", "latest", NULL,
     "192.168.0.1:8/debian:latest"},
    {"Docker/docker", "Docker", "Docker", "docker", "latest", NULL, "Docker/docker:latest"},
    {"registry-1.docker.io/ubuntu", "registry-1.docker.io", "registry-1.docker.io", "ubuntu",
     "latest", NULL, "registry-1.docker.io/ubuntu:latest"},
    {"example.com/a/b/c__d-e.f:tag_1.-x", "example.com", "example.com", "a/b/c__d-e.f", "tag_1.-x",
     NULL, "example.com/a/b/c__d-e.f:tag_1.-x"},
    {"app@" D64, "docker.io", "registry-1.docker.io", "library/app", NULL, D64,
     "docker.io/library/app@" D64},
    {"app:1.0@" D64, "docker.io", "registry-1.docker.io", "library/app", NULL, D64,
     "docker.io/library/app@" D64},
    {"docker://quay.io/x/y:z", "quay.io", "quay.io", "x/y", "z", NULL, "quay.io/x/y:z"},
    {"a--b/c", "docker.io", "registry-1.docker.io", "a--b/c", "latest", NULL,
     "docker.io/a--b/c:latest"},
};

struct bad {
	const char *in, *mention; /* mention: the offending part the message must quote */
};

static const struct bad bads[] = {
    {"", "''"},
    {"docker/Docker", "must be lowercase"},
    {"-docker", "-docker"},
    {"docker///docker", "empty path component"},
    {"[fc00::1]", "[fc00::1]"},
    {"fc00::1:5000/debian", "fc00::1:5000"},
    {"[fe80::1%eth0]:5000/debian", "[fe80::1%eth0]:5000"},
    {"dock..er/docker", "dock..er"},
    {"docker/", "empty path component"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "64-character"},
    {"app:", "invalid tag ''"},
    {"app:.x", "invalid tag '.x'"},
    {"app:-x", "invalid tag '-x'"},
    {"app@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "lowercase"},
    {"app@sha256:abc", "sha256"},
    {"app@sha256:../../x", "sha256:../../x"},
    {"app@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm 'md5'"},
    {"app@", "digest"},
    {"a b", "whitespace"},
    {"app\x7f", "control"},
    {"example.com:/app", "example.com:"},
    {"example.com:50a/app", "example.com:50a"},
    {"-example.com/app", "-example.com"},
    {"UPPER", "must be lowercase"},
    {"a__-b", "a__-b"},
    {"a/.b", ".b"},
};

static void test_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		struct o2v_ref r;
		struct o2v_error err = {0};
		int rc = o2v_ref_parse(g->in, &r, &err);
		if (!TAP_OK(rc == 0, "parse '%s'", g->in)) {
			printf("# %s\n", err.msg);
			continue;
		}
		TAP_IS_STR(r.transport, "docker", "'%s' transport", g->in);
		TAP_IS_STR(r.domain, g->domain, "'%s' domain", g->in);
		TAP_IS_STR(r.api_host, g->api_host, "'%s' api host", g->in);
		TAP_IS_STR(r.repository, g->repo, "'%s' repository", g->in);
		TAP_IS_STR(r.tag, g->tag, "'%s' tag", g->in);
		TAP_IS_STR(r.digest, g->digest, "'%s' digest", g->in);
		TAP_IS_STR(r.normalized, g->normalized, "'%s' normalized", g->in);
		o2v_ref_release(&r);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		struct o2v_ref r;
		struct o2v_error err = {0};
		int rc = o2v_ref_parse(bads[i].in, &r, &err);
		TAP_IS_INT(rc, -EINVAL, "'%s' is refused with -EINVAL", bads[i].in);
		if (!TAP_OK(strstr(err.msg, bads[i].mention) != NULL, "'%s': message quotes '%s'",
			    bads[i].in, bads[i].mention))
			printf("# message: %s\n", err.msg);
		if (rc == 0)
			o2v_ref_release(&r);
	}
}

static void test_limits(void)
{
	char tag[300], path[400];
	struct o2v_ref r;
	struct o2v_error err = {0};

	memset(tag, 0, sizeof(tag));
	strcpy(tag, "app:");
	memset(tag + 4, 'a', 128);
	TAP_IS_INT(o2v_ref_parse(tag, &r, &err), 0, "a 128-character tag is fine");
	o2v_ref_release(&r);
	tag[4 + 128] = 'a';
	TAP_IS_INT(o2v_ref_parse(tag, &r, &err), -EINVAL, "a 129-character tag is refused");

	memset(path, 0, sizeof(path));
	strcpy(path, "example.com/");
	memset(path + 12, 'a', 255);
	TAP_IS_INT(o2v_ref_parse(path, &r, &err), 0, "a 255-character repository is fine");
	o2v_ref_release(&r);
	path[12 + 255] = 'a';
	TAP_IS_INT(o2v_ref_parse(path, &r, &err), -EINVAL, "a 256-character repository is refused");
	TAP_OK(strstr(err.msg, "255") != NULL, "the message names the limit");
}

/* Every prefix and every single-byte mutation of valid references: the
 * parser must answer 0 or -EINVAL, never crash (run under ASan in CI). */
static void test_fuzzish(void)
{
	static const char alphabet[] = "aZ0:/@.-_[]%#\\ \x01\xff";
	int crashes = 0, n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(goods); i++) {
		char buf[512];
		size_t len = strlen(goods[i].in);
		for (size_t pos = 0; pos <= len; pos++) {
			for (size_t a = 0; a < sizeof(alphabet) - 1; a++) {
				snprintf(buf, sizeof(buf), "%s", goods[i].in);
				buf[pos] = alphabet[a];
				if (pos == len)
					buf[pos + 1] = '\0';
				struct o2v_ref r;
				struct o2v_error err = {0};
				int rc = o2v_ref_parse(buf, &r, &err);
				n++;
				if (rc == 0) {
					/* a valid result must survive a round trip */
					struct o2v_ref r2;
					if (strncmp(r.transport, "docker", 6) == 0 &&
					    o2v_ref_parse(r.normalized, &r2, &err) == 0) {
						if (strcmp(r2.normalized, r.normalized))
							crashes++;
						o2v_ref_release(&r2);
					}
					o2v_ref_release(&r);
				} else if (rc != -EINVAL || !err.msg[0]) {
					crashes++;
				}
			}
		}
	}
	TAP_IS_INT(crashes, 0, "%d mutated references: only 0 or -EINVAL, normalisation stable", n);
}

static void test_digest(void)
{
	TAP_OK(o2v_digest_valid(D64), "valid sha256 digest");
	TAP_OK(
	    !o2v_digest_valid("sha256:"
			      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
	    "uppercase hex refused");
	TAP_OK(!o2v_digest_valid("sha256:../../../etc/passwd"), "path traversal refused");
	TAP_OK(!o2v_digest_valid(D64 "f"), "65 hex digits refused");
	TAP_OK(
	    !o2v_digest_valid("sha256/"
			      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
	    "missing colon refused");
	char d[O2V_DIGEST_MAX];
	TAP_IS_INT(o2v_digest_buf("", 0, NULL, d, NULL), 0, "hash the empty string");
	TAP_IS_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "sha256 of nothing");
	TAP_IS_INT(o2v_digest_buf("abc", 3, "sha512:x", d, NULL), 0, "sha512");
	TAP_OK(!strncmp(d, "sha512:ddaf35a193617aba", 23), "sha512 of 'abc'");
	struct o2v_error err = {0};
	TAP_IS_INT(o2v_digest_verify("abc", 3, D64, "test", &err), -EBADMSG, "mismatch detected");
	TAP_OK(strstr(err.msg, "digest mismatch") != NULL, "mismatch message");
}

int main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_fuzzish();
	test_digest();
	return tap_done();
}
