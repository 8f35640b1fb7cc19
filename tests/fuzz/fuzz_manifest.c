/* fuzz_manifest.c - manifests, indexes, image configs and the platform choice
 * (registry/manifest.c, registry/platform.c).
 *
 * Input: byte 0 picks the Content-Type the body came with (or none, or one from the input),
 * the rest up to a 0xff byte is a platform text ("linux/arm64/v8") to choose with, the rest
 * after it is the document. The document is parsed as a manifest/index and as an image
 * config. Checks:
 *  - errors are negative with a message; a parsed document's kind agrees with its media
 *    type, every descriptor has a valid digest and a printable media type;
 *  - o2v_manifest_choose() returns the first of the best-ranked entries for several
 *    platforms (checked against a brute-force ranking), else -ENOENT;
 *  - platform text: parse -> format -> parse is a fixed point, and match(p, p) == 0;
 *  - image config: every string vector is NULL-terminated, diff_ids are valid digests. */
#include "fuzz.h"

#include "../../registry/digest.h"
#include "../../registry/manifest.h"
#include "../../registry/platform.h"

static const char *const content_types[] = {
    NULL,
    O2V_MT_OCI_MANIFEST,
    O2V_MT_OCI_INDEX,
    O2V_MT_DOCKER_MANIFEST,
    O2V_MT_DOCKER_LIST,
    "application/json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    O2V_MT_OCI_INDEX "; charset=utf-8",
};

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			return false;
	return true;
}

static void check_descriptor(const struct o2v_descriptor *d)
{
	FUZZ_CHECK(o2v_digest_valid(d->digest), "digest '%s'", d->digest);
	FUZZ_CHECK(d->media_type[0] && printable(d->media_type), "media type '%s'", d->media_type);
	if (d->has_platform)
		FUZZ_CHECK(d->platform.os[0] && d->platform.arch[0], "empty platform");
}

static bool choosable(const struct o2v_descriptor *d)
{
	return (o2v_media_type_is_manifest(d->media_type) ||
		o2v_media_type_is_index(d->media_type)) &&
	       d->has_platform;
}

static void check_choose(const struct o2v_manifest *m, const struct o2v_platform *want)
{
	struct o2v_error err = {0};
	int best = -1, best_score = -1;

	for (size_t i = 0; i < m->n_manifests; i++) {
		if (!choosable(&m->manifests[i]))
			continue;
		int s = o2v_platform_match(want, &m->manifests[i].platform);
		if (s >= 0 && (best < 0 || s < best_score))
			best = (int)i, best_score = s;
	}
	int r = o2v_manifest_choose(m, want, "fuzz", &err);
	if (best < 0) {
		FUZZ_CHECK(r == -ENOENT && err.code == r && err.msg[0], "choose: r=%d", r);
		return;
	}
	FUZZ_CHECK(r == best, "choose picked %d, the first best is %d", r, best);
}

static void check_platform_text(const char *text)
{
	struct o2v_platform p, q;
	char buf[O2V_PLATFORM_STR_MAX], buf2[O2V_PLATFORM_STR_MAX];
	struct o2v_error err = {0};

	if (o2v_platform_parse(text, &p, &err) < 0) {
		FUZZ_CHECK(err.code == -EINVAL && err.msg[0], "platform error %d", err.code);
		return;
	}
	FUZZ_CHECK(p.os[0] && p.arch[0], "'%s': empty fields", text);
	FUZZ_CHECK(o2v_platform_match(&p, &p) == 0 || !strcmp(p.os, "unknown") ||
		       !strcmp(p.arch, "unknown"),
		   "'%s': does not match itself", text);
	o2v_platform_format(&p, buf, sizeof(buf));
	FUZZ_CHECK(o2v_platform_parse(buf, &q, &err) == 0, "'%s' -> '%s' does not parse", text,
		   buf);
	o2v_platform_format(&q, buf2, sizeof(buf2));
	FUZZ_CHECK(!strcmp(buf, buf2), "'%s' -> '%s' -> '%s'", text, buf, buf2);
	FUZZ_CHECK(!strcmp(p.os, q.os) && !strcmp(p.arch, q.arch) && !strcmp(p.variant, q.variant),
		   "'%s' -> '%s': not a fixed point", text, buf);
}

static void check_strv(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	FUZZ_CHECK(n <= 65536, "vector of %zu", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct o2v_manifest m;
	struct o2v_error err = {0};
	struct o2v_platform want;
	size_t len;

	if (size < 1 || size > (1 << 20))
		return 0;
	unsigned ct_pick = *in.p++;
	in.n--;
	char *platform = fuzz_str(&in, 0xff, NULL);
	char *own_ct = ct_pick >= 0x80 ? fuzz_str(&in, '\n', NULL) : NULL;
	const char *ct = own_ct ? own_ct : content_types[ct_pick % ARRAY_SIZE(content_types)];
	char *body = fuzz_rest(&in, &len);

	check_platform_text(platform);

	int r = o2v_manifest_parse(body, len, ct, &m, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code == r && err.msg[0], "manifest error %d '%s'", r, err.msg);
		FUZZ_CHECK(!m.layers && !m.manifests, "manifest error left memory");
	} else {
		FUZZ_CHECK(r == 0, "r=%d", r);
		FUZZ_CHECK(m.media_type[0] && printable(m.media_type), "media type '%s'",
			   m.media_type);
		if (m.kind == O2V_MANIFEST_INDEX) {
			FUZZ_CHECK(o2v_media_type_is_index(m.media_type), "index '%s'",
				   m.media_type);
			FUZZ_CHECK(!m.n_layers && m.n_manifests <= O2V_DESCRIPTORS_MAX, "counts");
			for (size_t i = 0; i < m.n_manifests; i++)
				check_descriptor(&m.manifests[i]);
			o2v_platform_host(&want);
			check_choose(&m, &want);
			static const char *const wants[] = {"linux/arm64/v8", "linux/arm/v7",
							    "linux/amd64/v3", "linux/386",
							    "windows/amd64"};
			for (size_t i = 0; i < ARRAY_SIZE(wants); i++) {
				FUZZ_CHECK(o2v_platform_parse(wants[i], &want, NULL) == 0, "%s",
					   wants[i]);
				check_choose(&m, &want);
			}
			if (o2v_platform_parse(platform, &want, NULL) == 0)
				check_choose(&m, &want);
		} else {
			FUZZ_CHECK(m.kind == O2V_MANIFEST_IMAGE, "kind %d", m.kind);
			FUZZ_CHECK(o2v_media_type_is_manifest(m.media_type), "manifest '%s'",
				   m.media_type);
			FUZZ_CHECK(!m.n_manifests && m.n_layers <= O2V_DESCRIPTORS_MAX, "counts");
			check_descriptor(&m.config);
			for (size_t i = 0; i < m.n_layers; i++) {
				check_descriptor(&m.layers[i]);
				(void)o2v_media_type_is_layer(m.layers[i].media_type);
			}
			(void)o2v_media_type_is_config(m.config.media_type);
		}
		o2v_manifest_release(&m);
	}

	/* The same bytes as an image config, with and without diff_ids. */
	struct o2v_image_config ic;
	char **diff_ids = NULL;
	r = o2v_image_config_parse(body, len, &ic, &diff_ids, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code == r && err.msg[0] && !diff_ids, "config error %d", r);
	} else {
		check_strv(ic.entrypoint);
		check_strv(ic.cmd);
		check_strv(ic.env);
		check_strv(ic.exposed_ports);
		check_strv(diff_ids);
		for (char **d = diff_ids; d && *d; d++)
			FUZZ_CHECK(o2v_digest_valid(*d), "diff_id '%s'", *d);
		FUZZ_CHECK(!ic.working_dir || ic.working_dir[0], "empty WorkingDir kept");
		o2v_image_config_release(&ic);
		o2v_strv_free(diff_ids);
	}
	if (o2v_image_config_parse(body, len, &ic, NULL, NULL) == 0)
		o2v_image_config_release(&ic);

	free(body);
	free(own_ct);
	free(platform);
	return 0;
}
