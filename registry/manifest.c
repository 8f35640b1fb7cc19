/* manifest.c - see manifest.h. */
#include "../common/o2v.h"

#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "digest.h"
#include "manifest.h"

#define STRV_MAX 65536 /* entries of Env, Cmd, ... */

static json_object *parse_json(const char *body, size_t len, const char *what,
			       struct o2v_error *err)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	json_object *o;

	if (!tok) {
		o2v_error_set(err, -ENOMEM, "parse %s", what);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, body, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || je != json_tokener_success) {
		json_object_put(o);
		o2v_error_set(err, -EBADMSG, "invalid %s: not valid JSON (%s)", what,
			      json_tokener_error_desc(je));
		return NULL;
	}
	for (; used < len; used++)
		if (!strchr(" \t\r\n", body[used])) {
			json_object_put(o);
			o2v_error_set(err, -EBADMSG, "invalid %s: data after the JSON document",
				      what);
			return NULL;
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o2v_error_set(err, -EBADMSG, "invalid %s: not a JSON object", what);
		return NULL;
	}
	return o;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool o2v_media_type_is_index(const char *mt)
{
	return mt && (!strcmp(mt, O2V_MT_OCI_INDEX) || !strcmp(mt, O2V_MT_DOCKER_LIST));
}

bool o2v_media_type_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, O2V_MT_OCI_MANIFEST) || !strcmp(mt, O2V_MT_DOCKER_MANIFEST));
}

bool o2v_media_type_is_config(const char *mt)
{
	return mt && (!strcmp(mt, O2V_MT_OCI_CONFIG) || !strcmp(mt, O2V_MT_DOCKER_CONFIG));
}

bool o2v_media_type_is_layer(const char *mt)
{
	static const char *const ok[] = {
	    "application/vnd.oci.image.layer.v1.tar",
	    "application/vnd.oci.image.layer.v1.tar+gzip",
	    "application/vnd.oci.image.layer.v1.tar+zstd",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	    "application/vnd.docker.image.rootfs.diff.tar",
	    "application/vnd.docker.image.rootfs.diff.tar.gzip",
	    "application/vnd.docker.image.rootfs.diff.tar.zstd",
	    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};

	for (size_t i = 0; mt && i < ARRAY_SIZE(ok); i++)
		if (!strcmp(mt, ok[i]))
			return true;
	return false;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			return false;
	return true;
}

static int parse_descriptor(json_object *o, struct o2v_descriptor *d, const char *what,
			    struct o2v_error *err)
{
	json_object *v, *p;
	const char *mt = get_str(o, "mediaType"), *dg = get_str(o, "digest");

	memset(d, 0, sizeof(*d));
	if (!json_object_is_type(o, json_type_object))
		return o2v_error_set(err, -EBADMSG, "invalid %s: not an object", what);
	if (!mt || !*mt || strlen(mt) >= sizeof(d->media_type) || !printable(mt))
		return o2v_error_set(err, -EBADMSG, "invalid %s: missing or bad mediaType", what);
	int r = o2v_digest_check(dg, -EBADMSG, err);
	if (r < 0)
		return o2v_error_prefix(err, "%s", what);
	if (!json_object_object_get_ex(o, "size", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return o2v_error_set(err, -EBADMSG, "invalid %s %s: missing or negative size", what,
				     dg);
	snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
	snprintf(d->digest, sizeof(d->digest), "%s", dg);
	d->size = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "platform", &p) &&
	    json_object_is_type(p, json_type_object)) {
		const char *os = get_str(p, "os"), *arch = get_str(p, "architecture");
		if (os && arch &&
		    o2v_platform_set(&d->platform, os, arch, get_str(p, "variant")) == 0)
			d->has_platform = true;
	}
	return 0;
}

static int parse_descriptors(json_object *arr, struct o2v_descriptor **ret, size_t *ret_n,
			     const char *what, struct o2v_error *err)
{
	size_t n = json_object_array_length(arr);
	struct o2v_descriptor *d;

	if (n > O2V_DESCRIPTORS_MAX)
		return o2v_error_set(err, -E2BIG, "invalid manifest: more than %d %s",
				     O2V_DESCRIPTORS_MAX, what);
	d = calloc(n ? n : 1, sizeof(*d));
	if (!d)
		return o2v_error_set(err, -ENOMEM, "parse manifest");
	for (size_t i = 0; i < n; i++) {
		char w[64];
		snprintf(w, sizeof(w), "%s[%zu]", what, i);
		int r = parse_descriptor(json_object_array_get_idx(arr, i), &d[i], w, err);
		if (r < 0) {
			free(d);
			return r;
		}
	}
	*ret = d;
	*ret_n = n;
	return 0;
}

void o2v_manifest_release(struct o2v_manifest *m)
{
	free(m->layers);
	free(m->manifests);
	memset(m, 0, sizeof(*m));
}

/* Content-Type without parameters, or NULL when it says nothing specific. */
static void clean_content_type(const char *ct, char *buf, size_t size)
{
	size_t n;

	buf[0] = '\0';
	if (!ct)
		return;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; \t");
	if (n >= size)
		return;
	memcpy(buf, ct, n);
	buf[n] = '\0';
	if (!strcasecmp(buf, "application/json") || !strcasecmp(buf, "text/plain") ||
	    !strcasecmp(buf, "application/octet-stream") || !strcasecmp(buf, "binary/octet-stream"))
		buf[0] = '\0';
}

static bool is_schema1(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.docker.distribution.manifest.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.v1+prettyjws"));
}

int o2v_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct o2v_manifest *ret, struct o2v_error *err)
{
	char ct[O2V_MEDIA_TYPE_MAX];
	json_object *o, *v, *layers = NULL, *manifests = NULL, *config = NULL;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (len > O2V_MANIFEST_MAX)
		return o2v_error_set(err, -E2BIG, "manifest of %zu bytes is larger than %d", len,
				     O2V_MANIFEST_MAX);
	clean_content_type(content_type, ct, sizeof(ct));
	if (is_schema1(ct))
		return o2v_error_set(err, -ENOTSUP,
				     "image uses the Docker schema 1 manifest format, which oci2vm "
				     "does not support; push it again with a current tool");
	o = parse_json(body, len, "manifest", err);
	if (!o)
		return err ? err->code : -EBADMSG;
	const char *mt = get_str(o, "mediaType");
	if (!json_object_object_get_ex(o, "schemaVersion", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		r = o2v_error_set(err, -EBADMSG, "invalid manifest: no schemaVersion");
		goto out;
	}
	if (json_object_get_int(v) == 1 || is_schema1(mt)) {
		r = o2v_error_set(
		    err, -ENOTSUP,
		    "image uses the Docker schema 1 manifest format, which oci2vm does "
		    "not support; push it again with a current tool");
		goto out;
	}
	if (json_object_get_int(v) != 2) {
		r = o2v_error_set(err, -EBADMSG, "invalid manifest: schemaVersion %d",
				  json_object_get_int(v));
		goto out;
	}
	if (json_object_object_get_ex(o, "mediaType", &v) &&
	    (!mt || strlen(mt) >= sizeof(ret->media_type))) {
		r = o2v_error_set(err, -EBADMSG, "invalid manifest: bad mediaType");
		goto out;
	}
	/* distribution-spec: reject when the body's mediaType disagrees with Content-Type */
	if (mt && ct[0] && strcmp(mt, ct)) {
		r = o2v_error_set(err, -EBADMSG,
				  "manifest mediaType '%s' does not match its Content-Type '%s'",
				  mt, ct);
		goto out;
	}
	json_object_object_get_ex(o, "layers", &layers);
	json_object_object_get_ex(o, "manifests", &manifests);
	json_object_object_get_ex(o, "config", &config);
	if (manifests && (layers || config)) {
		r = o2v_error_set(err, -EBADMSG,
				  "ambiguous manifest: has both 'manifests' and 'layers'/'config' "
				  "(refused, CVE-2021-41190)");
		goto out;
	}
	const char *type = mt ? mt : ct[0] ? ct : NULL;
	if (!type)
		type = manifests ? O2V_MT_OCI_INDEX : O2V_MT_OCI_MANIFEST;
	snprintf(ret->media_type, sizeof(ret->media_type), "%s", type);
	if (o2v_media_type_is_index(type)) {
		ret->kind = O2V_MANIFEST_INDEX;
		if (!manifests || !json_object_is_type(manifests, json_type_array)) {
			r = o2v_error_set(err, -EBADMSG, "invalid index: no 'manifests' array");
			goto out;
		}
		r = parse_descriptors(manifests, &ret->manifests, &ret->n_manifests, "manifests",
				      err);
	} else if (o2v_media_type_is_manifest(type)) {
		ret->kind = O2V_MANIFEST_IMAGE;
		if (manifests) {
			r = o2v_error_set(err, -EBADMSG,
					  "invalid manifest: an image manifest with 'manifests'");
			goto out;
		}
		if (!config || (r = parse_descriptor(config, &ret->config, "config", err)) < 0) {
			if (!config)
				r = o2v_error_set(err, -EBADMSG, "invalid manifest: no 'config'");
			goto out;
		}
		if (!layers || !json_object_is_type(layers, json_type_array)) {
			r = o2v_error_set(err, -EBADMSG, "invalid manifest: no 'layers' array");
			goto out;
		}
		r = parse_descriptors(layers, &ret->layers, &ret->n_layers, "layers", err);
	} else {
		r = o2v_error_set(err, -EBADMSG, "unsupported manifest media type '%s'", type);
	}
out:
	json_object_put(o);
	if (r < 0)
		o2v_manifest_release(ret);
	return r;
}

int o2v_manifest_choose(const struct o2v_manifest *m, const struct o2v_platform *want,
			const char *name, struct o2v_error *err)
{
	int best = -1, best_score = -1;
	char avail[768] = "", ws[O2V_PLATFORM_STR_MAX];
	size_t pos = 0;

	for (size_t i = 0; i < m->n_manifests; i++) {
		const struct o2v_descriptor *d = &m->manifests[i];
		if (!o2v_media_type_is_manifest(d->media_type) &&
		    !o2v_media_type_is_index(d->media_type))
			continue; /* image-index.md: unknown entries are not an error */
		if (!d->has_platform)
			continue;
		int s = o2v_platform_match(want, &d->platform);
		if (s >= 0 && (best < 0 || s < best_score)) {
			best = (int)i;
			best_score = s;
		}
		if (!strcmp(d->platform.os, "unknown") || !strcmp(d->platform.arch, "unknown"))
			continue;
		char ps[O2V_PLATFORM_STR_MAX];
		o2v_platform_format(&d->platform, ps, sizeof(ps));
		if (!strstr(avail, ps) && pos + strlen(ps) + 3 < sizeof(avail))
			pos += (size_t)snprintf(avail + pos, sizeof(avail) - pos, "%s%s",
						pos ? ", " : "", ps);
	}
	if (best >= 0)
		return best;
	o2v_platform_format(want, ws, sizeof(ws));
	return o2v_error_set(err, -ENOENT,
			     "no image for platform %s in '%s'; available: %s; choose one with "
			     "--platform",
			     ws, name, avail[0] ? avail : "none");
}

/* ---- image config ------------------------------------------------------ */

static int get_strv(json_object *o, const char *key, char ***ret, struct o2v_error *err)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return o2v_error_set(err, -EBADMSG, "invalid image config: '%s' is not a list",
				     key);
	size_t n = json_object_array_length(v);
	if (n > STRV_MAX)
		return o2v_error_set(err, -E2BIG, "invalid image config: '%s' too long", key);
	char **s = calloc(n + 1, sizeof(char *));
	if (!s)
		return o2v_error_set(err, -ENOMEM, "parse image config");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !(s[i] = strdup(json_object_get_string(e)))) {
			o2v_strv_free(s);
			return o2v_error_set(err, -EBADMSG,
					     "invalid image config: '%s' has a non-string entry",
					     key);
		}
	}
	*ret = s;
	return 0;
}

static int dup_opt_str(json_object *o, const char *key, char **ret, bool empty_is_unset,
		       struct o2v_error *err)
{
	const char *s = get_str(o, key);

	*ret = NULL;
	if (!s || (empty_is_unset && !*s))
		return 0;
	if (!(*ret = strdup(s)))
		return o2v_error_set(err, -ENOMEM, "parse image config");
	return 0;
}

void o2v_image_config_release(struct o2v_image_config *c)
{
	o2v_strv_free(c->entrypoint);
	o2v_strv_free(c->cmd);
	o2v_strv_free(c->env);
	o2v_strv_free(c->exposed_ports);
	o2v_strv_free(c->health_test);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	free(c->os);
	free(c->architecture);
	free(c->variant);
	memset(c, 0, sizeof(*c));
}

/* A duration in nanoseconds (a JSON integer, never negative); 0 when absent. */
static int64_t get_ns(json_object *o, const char *key)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	n = json_object_get_int64(v);
	return n > 0 ? n : 0;
}

/* config.Healthcheck, Docker's: {Test, Interval, Timeout, StartPeriod, Retries}. */
static int get_healthcheck(json_object *cfg, struct o2v_image_config *ret, struct o2v_error *err)
{
	json_object *hc, *v;
	int r;

	if (!json_object_object_get_ex(cfg, "Healthcheck", &hc) ||
	    !json_object_is_type(hc, json_type_object))
		return 0;
	if ((r = get_strv(hc, "Test", &ret->health_test, err)) < 0)
		return r;
	ret->health_interval = get_ns(hc, "Interval");
	ret->health_timeout = get_ns(hc, "Timeout");
	ret->health_start_period = get_ns(hc, "StartPeriod");
	if (json_object_object_get_ex(hc, "Retries", &v) && json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		ret->health_retries = n > 0 && n < 1000000 ? (int)n : 0;
	}
	return 0;
}

int o2v_image_config_parse(const char *json, size_t len, struct o2v_image_config *ret,
			   char ***ret_diff_ids, struct o2v_error *err)
{
	json_object *o, *cfg = NULL, *v;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (ret_diff_ids)
		*ret_diff_ids = NULL;
	if (len > O2V_CONFIG_MAX)
		return o2v_error_set(err, -E2BIG, "image config larger than %d bytes",
				     O2V_CONFIG_MAX);
	o = parse_json(json, len, "image config", err);
	if (!o)
		return err ? err->code : -EBADMSG;
	if (json_object_object_get_ex(o, "config", &cfg) &&
	    !json_object_is_type(cfg, json_type_object))
		cfg = NULL;
	if (cfg) {
		if ((r = get_strv(cfg, "Entrypoint", &ret->entrypoint, err)) < 0 ||
		    (r = get_strv(cfg, "Cmd", &ret->cmd, err)) < 0 ||
		    (r = get_strv(cfg, "Env", &ret->env, err)) < 0 ||
		    (r = dup_opt_str(cfg, "WorkingDir", &ret->working_dir, true, err)) < 0 ||
		    (r = dup_opt_str(cfg, "User", &ret->user, true, err)) < 0 ||
		    (r = dup_opt_str(cfg, "StopSignal", &ret->stop_signal, true, err)) < 0)
			goto fail;
		if ((r = get_healthcheck(cfg, ret, err)) < 0)
			goto fail;
		if (json_object_object_get_ex(cfg, "ExposedPorts", &v) &&
		    json_object_is_type(v, json_type_object)) {
			size_t n = (size_t)json_object_object_length(v), i = 0;
			if (n > STRV_MAX) {
				r = o2v_error_set(err, -E2BIG,
						  "invalid image config: too many ports");
				goto fail;
			}
			ret->exposed_ports = calloc(n + 1, sizeof(char *));
			if (!ret->exposed_ports) {
				r = o2v_error_set(err, -ENOMEM, "parse image config");
				goto fail;
			}
			json_object_object_foreach(v, key, val)
			{
				(void)val;
				if (i < n && !(ret->exposed_ports[i++] = strdup(key))) {
					r = o2v_error_set(err, -ENOMEM, "parse image config");
					goto fail;
				}
			}
		}
	}
	if ((r = dup_opt_str(o, "os", &ret->os, false, err)) < 0 ||
	    (r = dup_opt_str(o, "architecture", &ret->architecture, false, err)) < 0 ||
	    (r = dup_opt_str(o, "variant", &ret->variant, true, err)) < 0)
		goto fail;
	if (ret_diff_ids) {
		json_object *rootfs;
		if (!json_object_object_get_ex(o, "rootfs", &rootfs) ||
		    !json_object_is_type(rootfs, json_type_object)) {
			r = o2v_error_set(err, -EBADMSG, "invalid image config: no 'rootfs'");
			goto fail;
		}
		if ((r = get_strv(rootfs, "diff_ids", ret_diff_ids, err)) < 0)
			goto fail;
		for (char **d = *ret_diff_ids; d && *d; d++)
			if ((r = o2v_digest_check(*d, -EBADMSG, err)) < 0) {
				o2v_error_prefix(err, "image config diff_ids");
				goto fail;
			}
	}
	json_object_put(o);
	return 0;
fail:
	json_object_put(o);
	o2v_image_config_release(ret);
	if (ret_diff_ids) {
		o2v_strv_free(*ret_diff_ids);
		*ret_diff_ids = NULL;
	}
	return r;
}
