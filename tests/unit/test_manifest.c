/* test_manifest.c - manifest/index/config parsing and the checks on them:
 * media types vs Content-Type, ambiguity (CVE-2021-41190), schema 1, caps,
 * digests, platform choice; plus malformed documents. */
#include "../../common/o2v.h"

#include <string.h>

#include "../../registry/manifest.h"
#include "tap.h"

#define DG(c)                                                                                      \
	"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
	    c c c c c c c c c c c c c c c c c c c c c c c c
#define DA DG("a")
#define DB DG("b")
#define DC DG("c")

static const char *oci_manifest =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA
    "\",\"size\":10},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DB
    "\",\"size\":20},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
    "\"digest\":\"" DC "\",\"size\":0}]}";

static int parse(const char *body, const char *ct, struct o2v_manifest *m, struct o2v_error *e)
{
	return o2v_manifest_parse(body, strlen(body), ct, m, e);
}

static void test_image(void)
{
	struct o2v_manifest m;
	struct o2v_error err = {0};

	TAP_IS_INT(parse(oci_manifest, O2V_MT_OCI_MANIFEST, &m, &err), 0, "OCI manifest parses");
	TAP_IS_INT(m.kind, O2V_MANIFEST_IMAGE, "kind image");
	TAP_IS_INT(m.n_layers, 2, "two layers");
	TAP_IS_STR(m.config.digest, DA, "config digest");
	TAP_IS_INT(m.layers[0].size, 20, "layer size");
	o2v_manifest_release(&m);

	TAP_IS_INT(parse(oci_manifest, O2V_MT_OCI_MANIFEST "; charset=utf-8", &m, &err), 0,
		   "Content-Type parameters ignored (item 10)");
	o2v_manifest_release(&m);
	TAP_IS_INT(parse(oci_manifest, "application/json", &m, &err), 0,
		   "generic Content-Type falls back to mediaType");
	o2v_manifest_release(&m);
	TAP_IS_INT(parse(oci_manifest, NULL, &m, &err), 0, "no Content-Type");
	o2v_manifest_release(&m);
	TAP_IS_INT(parse(oci_manifest, O2V_MT_DOCKER_MANIFEST, &m, &err), -EBADMSG,
		   "mediaType != Content-Type refused (item 11)");
	TAP_OK(strstr(err.msg, "does not match") != NULL, "message says so");

	const char *empty = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" O2V_MT_OCI_CONFIG
			    "\",\"digest\":\"" DA "\",\"size\":2},\"layers\":[]}";
	TAP_IS_INT(parse(empty, O2V_MT_OCI_MANIFEST, &m, &err), 0,
		   "zero layers and no mediaType field (item 24)");
	TAP_IS_INT(m.n_layers, 0, "no layers");
	o2v_manifest_release(&m);
}

static void test_refusals(void)
{
	struct o2v_manifest m;
	struct o2v_error err = {0};
	static const struct {
		const char *body, *ct, *why;
		int code;
	} cases[] = {
	    {"{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL, "schema 1 body",
	     -ENOTSUP},
	    {"{}", "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema 1 type",
	     -ENOTSUP},
	    {"{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", NULL,
	     "manifests + layers (item 12)", -EBADMSG},
	    {"{\"schemaVersion\":2,\"manifests\":[],\"config\":{}}", O2V_MT_OCI_INDEX,
	     "manifests + config", -EBADMSG},
	    {"{\"schemaVersion\":2,\"mediaType\":\"" O2V_MT_OCI_MANIFEST "\",\"layers\":[]}", NULL,
	     "no config", -EBADMSG},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:abc\","
	     "\"size\":1},\"layers\":[]}",
	     O2V_MT_OCI_MANIFEST, "short digest", -EBADMSG},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:../../"
	     "etc/passwd\",\"size\":1},\"layers\":[]}",
	     O2V_MT_OCI_MANIFEST, "path traversal digest (CVE-2024-3727)", -EBADMSG},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
	     "\",\"size\":-1},\"layers\":[]}",
	     O2V_MT_OCI_MANIFEST, "negative size", -EBADMSG},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
	     "\",\"size\":\"1\"},\"layers\":[]}",
	     O2V_MT_OCI_MANIFEST, "string size", -EBADMSG},
	    {"{\"schemaVersion\":2,\"mediaType\":\"text/html\"}", NULL, "unknown type", -EBADMSG},
	    {"{\"schemaVersion\":3}", NULL, "schemaVersion 3", -EBADMSG},
	    {"[]", NULL, "array", -EBADMSG},
	    {"{\"schemaVersion\":2", NULL, "truncated JSON", -EBADMSG},
	    {"{\"schemaVersion\":2,\"manifests\":[]} x", NULL, "trailing garbage", -EBADMSG},
	    {"", NULL, "empty", -EBADMSG},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = parse(cases[i].body, cases[i].ct, &m, &err);
		TAP_IS_INT(rc, cases[i].code, "refuse: %s", cases[i].why);
		if (rc == 0)
			o2v_manifest_release(&m);
	}
	TAP_OK(parse("{\"schemaVersion\":1}", NULL, &m, &err) < 0 &&
		   strstr(err.msg, "schema 1") != NULL,
	       "schema 1 message is clear");

	char *big = malloc(O2V_MANIFEST_MAX + 2);
	memset(big, ' ', O2V_MANIFEST_MAX + 1);
	big[O2V_MANIFEST_MAX + 1] = '\0';
	TAP_IS_INT(o2v_manifest_parse(big, O2V_MANIFEST_MAX + 1, NULL, &m, &err), -E2BIG,
		   "over the cap (item 15)");
	free(big);

	/* every prefix of a valid manifest: an error, never a crash */
	int bad = 0;
	size_t len = strlen(oci_manifest);
	for (size_t l = 0; l < len; l++) {
		int rc = o2v_manifest_parse(oci_manifest, l, NULL, &m, &err);
		if (rc == 0)
			o2v_manifest_release(&m);
		else if (rc != -EBADMSG)
			bad++;
	}
	TAP_IS_INT(bad, 0, "every truncation is -EBADMSG");
}

static const char *index_json =
    "{\"schemaVersion\":2,\"mediaType\":\"" O2V_MT_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.descriptor.v1+json\",\"digest\":\"" DA
    "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" O2V_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":2,"
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
    "{\"mediaType\":\"" O2V_MT_OCI_MANIFEST "\",\"digest\":\"" DC "\",\"size\":3,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" O2V_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\",\"size\":4,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" O2V_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":5,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" O2V_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":6,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}}]}";

static void test_index(void)
{
	struct o2v_manifest m;
	struct o2v_platform want;
	struct o2v_error err = {0};

	TAP_IS_INT(parse(index_json, O2V_MT_OCI_INDEX, &m, &err), 0, "index parses");
	TAP_IS_INT(m.kind, O2V_MANIFEST_INDEX, "kind index");
	TAP_IS_INT(m.n_manifests, 6, "six entries");
	o2v_platform_parse("linux/amd64", &want, NULL);
	TAP_IS_INT(o2v_manifest_choose(&m, &want, "x", &err), 3,
		   "amd64: first equal match, unknown media type skipped (items 20, 22)");
	o2v_platform_parse("linux/arm64", &want, NULL);
	TAP_IS_INT(o2v_manifest_choose(&m, &want, "x", &err), 2, "arm64 = arm64/v8 (item 17)");
	o2v_platform_parse("linux/arm/v7", &want, NULL);
	TAP_IS_INT(o2v_manifest_choose(&m, &want, "x", &err), 5, "arm/v7 falls back to v6");
	o2v_platform_parse("linux/s390x", &want, NULL);
	TAP_IS_INT(o2v_manifest_choose(&m, &want, "x", &err), -ENOENT, "no match");
	TAP_OK(strstr(err.msg, "linux/s390x") && strstr(err.msg, "linux/amd64") &&
		   strstr(err.msg, "linux/arm64/v8") && strstr(err.msg, "linux/arm/v6") &&
		   !strstr(err.msg, "unknown"),
	       "the error lists the available platforms, not the attestation");
	printf("# %s\n", err.msg);
	o2v_manifest_release(&m);
}

static void test_config(void)
{
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
			  "\"Entrypoint\":[\"/e\",\"x\"],\"Cmd\":null,\"Env\":[\"A=1\",\"B=2\"],"
			  "\"WorkingDir\":\"/w\",\"User\":\"1000:1000\",\"ExposedPorts\":{"
			  "\"6379/tcp\":{},\"53/udp\":{}},\"StopSignal\":\"SIGQUIT\","
			  "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"redis-cli ping\"],"
			  "\"Interval\":5000000000,\"Timeout\":-1,\"Retries\":4}},"
			  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DA "\",\"" DB "\"]}}";
	struct o2v_image_config c;
	char **diff = NULL;
	struct o2v_error err = {0};

	TAP_IS_INT(o2v_image_config_parse(cfg, strlen(cfg), &c, &diff, &err), 0, "config parses");
	TAP_IS_STR(c.entrypoint ? c.entrypoint[1] : NULL, "x", "Entrypoint");
	TAP_OK(c.cmd == NULL, "Cmd null = unset");
	TAP_IS_STR(c.env ? c.env[1] : NULL, "B=2", "Env");
	TAP_IS_STR(c.working_dir, "/w", "WorkingDir");
	TAP_IS_STR(c.user, "1000:1000", "User");
	TAP_IS_STR(c.exposed_ports ? c.exposed_ports[0] : NULL, "6379/tcp", "ExposedPorts");
	TAP_IS_STR(c.stop_signal, "SIGQUIT", "StopSignal");
	TAP_IS_STR(c.health_test ? c.health_test[1] : NULL, "redis-cli ping", "Healthcheck.Test");
	TAP_OK(c.health_interval == 5000000000LL && c.health_timeout == 0 &&
		   c.health_retries == 4 && c.health_start_period == 0,
	       "Healthcheck durations (a negative one ignored) and retries");
	TAP_IS_STR(c.architecture, "amd64", "architecture");
	TAP_IS_STR(diff ? diff[1] : NULL, DB, "diff_ids");
	o2v_image_config_release(&c);
	o2v_strv_free(diff);

	const char *bad = "{\"config\":{\"Env\":[1]},\"rootfs\":{\"diff_ids\":[]}}";
	TAP_IS_INT(o2v_image_config_parse(bad, strlen(bad), &c, &diff, &err), -EBADMSG,
		   "non-string Env refused");
	bad = "{\"rootfs\":{\"diff_ids\":[\"sha256:zz\"]}}";
	TAP_IS_INT(o2v_image_config_parse(bad, strlen(bad), &c, &diff, &err), -EBADMSG,
		   "invalid diff_id refused");
	bad = "{\"config\":{}}";
	TAP_IS_INT(o2v_image_config_parse(bad, strlen(bad), &c, &diff, &err), -EBADMSG,
		   "no rootfs refused");
	TAP_OK(o2v_media_type_is_layer("application/vnd.oci.image.layer.v1.tar+zstd"),
	       "zstd layer");
	TAP_OK(!o2v_media_type_is_layer("application/vnd.in-toto+json"), "in-toto is no layer");
	TAP_OK(!o2v_media_type_is_layer("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"),
	       "encrypted layers refused (item 26)");
}

int main(void)
{
	test_image();
	test_refusals();
	test_index();
	test_config();
	return tap_done();
}
