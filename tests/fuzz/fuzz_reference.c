/* fuzz_reference.c - image references (registry/reference.c o2v_ref_parse, and the local
 * transports of registry/local.c it delegates to).
 *
 * Input: the reference text (cut at the first NUL). Checks: an error is -EINVAL with a
 * message; a parsed docker reference has every field, a valid digest or a tag (never
 * both), a lowercase repository of at most 255 bytes, normalized = DOMAIN/REPO:TAG or
 * DOMAIN/REPO@DIGEST, and parsing normalized again gives the same reference (what the
 * cache stores and messages show must name the same image). */
#include "fuzz.h"

#include <ctype.h>

#include "../../registry/digest.h"
#include "../../registry/local.h"
#include "../../registry/registry.h"

static bool streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_docker(const char *text, const struct o2v_ref *ref)
{
	FUZZ_CHECK(ref->domain && ref->api_host && ref->repository, "'%s': missing fields", text);
	FUZZ_CHECK(!ref->path, "'%s': a docker reference with a path", text);
	FUZZ_CHECK(!ref->tag != !ref->digest, "'%s': tag '%s' and digest '%s'", text,
		   ref->tag ? ref->tag : "(null)", ref->digest ? ref->digest : "(null)");
	FUZZ_CHECK(!ref->digest || o2v_digest_valid(ref->digest), "'%s': digest '%s'", text,
		   ref->digest);
	FUZZ_CHECK(strlen(ref->repository) <= 255, "'%s': long repository", text);
	for (const char *c = ref->repository; *c; c++)
		FUZZ_CHECK(!isupper((unsigned char)*c) && (unsigned char)*c > ' ',
			   "'%s': repository '%s'", text, ref->repository);
	FUZZ_CHECK(strcmp(ref->domain, "index.docker.io"), "'%s': not normalised", text);
	FUZZ_CHECK(strcmp(ref->domain, "docker.io") || strchr(ref->repository, '/'),
		   "'%s': docker.io without library/", text);
	char *want = NULL;
	FUZZ_CHECK(asprintf(&want, "%s/%s%s%s", ref->domain, ref->repository,
			    ref->digest ? "@" : ":", ref->digest ? ref->digest : ref->tag) > 0,
		   "oom");
	/* A host named like a local transport keeps docker:// (it must parse back the same). */
	const char *norm = ref->normalized;
	if (!strncmp(norm, "docker://", 9))
		norm += 9;
	FUZZ_CHECK(!strcmp(want, norm), "'%s': normalized '%s', want '%s'", text, ref->normalized,
		   want);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct o2v_ref ref, again;
	struct o2v_error err = {0};
	int r;

	if (size > 8192)
		return 0;
	char *text = fuzz_dup(data, size);
	r = o2v_ref_parse(text, &ref, &err);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL && err.code == r && err.msg[0], "'%s': r=%d msg '%s'", text,
			   r, err.msg);
		free(text);
		return 0;
	}
	FUZZ_CHECK(r == 0 && ref.transport && ref.normalized, "'%s': r=%d", text, r);
	bool local = o2v_local_transport(ref.transport);
	if (!local) {
		FUZZ_CHECK(!strcmp(ref.transport, "docker"), "'%s': transport '%s'", text,
			   ref.transport);
		check_docker(text, &ref);
	} else {
		FUZZ_CHECK(ref.path && ref.path[0] == '/', "'%s': path", text);
		FUZZ_CHECK(!ref.domain && !ref.repository && !ref.digest, "'%s': local fields",
			   text);
	}

	/* A local path from realpath() may hold ':' or spaces (a symlink, the cwd): then
	 * normalized is not meant to be parsed again. */
	bool reparsable =
	    !local || (!strchr(ref.path, ':') && fuzz_no_ctl(ref.path) && !strchr(ref.path, ' '));
	if (reparsable) {
		r = o2v_ref_parse(ref.normalized, &again, &err);
		FUZZ_CHECK(r == 0, "'%s': normalized '%s' does not parse: %s", text, ref.normalized,
			   err.msg);
		FUZZ_CHECK(streq(again.transport, ref.transport) &&
			       streq(again.normalized, ref.normalized) &&
			       streq(again.domain, ref.domain) &&
			       streq(again.repository, ref.repository) &&
			       streq(again.tag, ref.tag) && streq(again.digest, ref.digest) &&
			       streq(again.path, ref.path),
			   "'%s' -> '%s' (%s) parses again as '%s' (%s)", text, ref.normalized,
			   ref.transport, again.normalized, again.transport);
		o2v_ref_release(&again);
	}
	o2v_ref_release(&ref);
	free(text);
	return 0;
}
