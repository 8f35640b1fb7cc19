/* pull.c - o2v_pull(), o2v_inspect(), o2v_image_load(): from a reference to
 * a verified image in the cache.
 *
 *   resolve   manifest by tag or digest (following indexes to the platform's
 *             manifest), every document digest-checked
 *   config    fetched (or read from the cache), verified, parsed
 *   layers    fetched in parallel (curl multi, bounded) straight to staged
 *             files while hashing; nothing is held in memory
 *   commit    staged blobs renamed into the cache, tag written to index.json
 *
 * A warm pull (policy MISSING, tag cached) asks the registry one thing:
 * HEAD of the tag's manifest; if the digest it names is the one cached, the
 * image is loaded from the cache without another request.
 */
#include "../common/o2v.h"

#include <string.h>

#include "auth.h"
#include "cache.h"
#include "digest.h"
#include "http.h"
#include "local.h"
#include "manifest.h"

#define DEFAULT_PARALLEL 4

struct puller {
	struct o2v_cache *c;
	const struct o2v_ref *ref;
	const struct o2v_pull_opts *opts;
	struct o2v_platform want;
	bool want_explicit;
	struct o2v_http http;
	struct o2v_auth auth;
	bool net;
	struct o2v_stage *stage;
	uint64_t downloaded;
};

/* What a resolution found. */
struct resolved {
	char *manifest; /* image manifest body */
	size_t manifest_len;
	struct o2v_manifest m;	      /* parsed image manifest */
	struct o2v_cache_entry entry; /* what index.json will say */
	char *config;
	size_t config_len;
};

static void resolved_release(struct resolved *r)
{
	free(r->manifest);
	o2v_manifest_release(&r->m);
	o2v_cache_entry_release(&r->entry);
	free(r->config);
	memset(r, 0, sizeof(*r));
}

static void emit(struct puller *p, enum o2v_progress_kind kind, const char *digest, uint64_t done,
		 uint64_t total, const char *msg)
{
	struct o2v_progress ev = {
	    .kind = kind, .digest = digest, .done = done, .total = total, .message = msg};

	if (p->opts && p->opts->progress)
		p->opts->progress(&ev, p->opts->userdata);
}

static void http_notify(void *ud, enum o2v_progress_kind kind, const char *msg)
{
	emit(ud, kind, NULL, 0, 0, msg);
}

static int net_open(struct puller *p, struct o2v_error *err)
{
	int r;

	if (p->net)
		return 0;
	r = o2v_http_init(&p->http, p->ref->domain, p->ref->api_host,
			  p->opts ? p->opts->insecure_registries : NULL, err);
	if (r < 0)
		return r;
	p->http.notify = http_notify;
	p->http.notify_ud = p;
	r = o2v_auth_init(&p->auth, &p->http, p->ref->domain, p->ref->repository, err);
	if (r < 0) {
		o2v_http_release(&p->http);
		return r;
	}
	p->net = true;
	return 0;
}

static void puller_release(struct puller *p)
{
	if (p->net) {
		o2v_auth_release(&p->auth);
		o2v_http_release(&p->http);
	}
	o2v_stage_free(p->stage);
	p->stage = NULL;
	p->net = false;
}

/* Map a registry answer that is not success to the error classes of error.h. */
static int status_error(struct puller *p, const struct o2v_xfer *x, const char *what,
			struct o2v_error *err)
{
	char d[400];

	o2v_http_describe(x, d, sizeof(d));
	switch (x->resp.status) {
	case 404:
		return o2v_error_set(err, -ENOENT, "%s: '%s' not found (%s)", what,
				     p->ref->normalized, d);
	case 401:
	case 403:
		if (p->auth.creds_loaded && p->auth.creds && p->auth.creds->kind != O2V_CRED_NONE)
			return o2v_error_set(err, -EACCES,
					     "authentication failed for %s: %s refused the "
					     "credentials from %s (%s)",
					     p->ref->domain, p->ref->domain, p->auth.creds->source,
					     d);
		return o2v_error_set(err, -EACCES,
				     "access to '%s' denied (%s): the repository does not exist "
				     "or needs a login ('oci2vm login %s')",
				     p->ref->normalized, d, p->ref->domain);
	case 429:
		return o2v_error_set(err, -EAGAIN, "%s: %s is rate limiting requests (%s)", what,
				     p->ref->domain, d);
	default:
		return o2v_error_set(err, -EPROTO, "%s: unexpected answer from %s: %s", what,
				     p->ref->domain, d);
	}
}

static char *registry_path(const struct o2v_ref *ref, const char *kind, const char *what)
{
	char *s;

	/* repository, tag and digest passed the reference grammar / digest
	 * validation, so they need no escaping and cannot climb out of /v2/. */
	if (asprintf(&s, "/v2/%s/%s/%s", ref->repository, kind, what) < 0)
		return NULL;
	return s;
}

/* HEAD the tag: 1 and ret_digest set when the registry named a digest, 0 when
 * it did not (or does not do HEAD), negative on errors. */
static int head_tag(struct puller *p, char ret_digest[O2V_DIGEST_MAX], struct o2v_error *err)
{
	struct o2v_xfer x;
	int r;

	o2v_xfer_init(&x);
	x.method = "HEAD";
	x.accept = O2V_MANIFEST_ACCEPT;
	x.registry_auth = true;
	x.path = registry_path(p->ref, "manifests", p->ref->tag);
	if (!x.path) {
		o2v_xfer_release(&x);
		return o2v_error_set(err, -ENOMEM, "resolve");
	}
	r = o2v_http_do(&p->http, &x, err);
	if (r >= 0) {
		if (x.resp.status == 200 && o2v_digest_valid(x.resp.docker_digest)) {
			snprintf(ret_digest, O2V_DIGEST_MAX, "%s", x.resp.docker_digest);
			r = 1;
		} else if (x.resp.status == 200 || x.resp.status == 405 || x.resp.status == 403) {
			r = 0; /* fall back to GET, which also surfaces error bodies */
		} else {
			r = status_error(p, &x, "resolve tag", err);
		}
	}
	o2v_xfer_release(&x);
	return r;
}

/* GET a manifest by tag or digest; verify against expect when given. */
static int get_manifest(struct puller *p, const char *what, const char *expect, char **ret_body,
			size_t *ret_len, char ret_ct[O2V_MEDIA_TYPE_MAX],
			char ret_digest[O2V_DIGEST_MAX], struct o2v_error *err)
{
	struct o2v_xfer x;
	int r;

	o2v_xfer_init(&x);
	x.accept = O2V_MANIFEST_ACCEPT;
	x.registry_auth = true;
	x.body_max = O2V_MANIFEST_MAX;
	x.path = registry_path(p->ref, "manifests", what);
	if (!x.path) {
		r = o2v_error_set(err, -ENOMEM, "fetch manifest");
		goto out;
	}
	r = o2v_http_do(&p->http, &x, err);
	if (r < 0) {
		if (r == -E2BIG)
			o2v_error_set(err, -E2BIG,
				      "manifest of '%s' is larger than the %d bytes "
				      "allowed; refusing it",
				      p->ref->normalized, O2V_MANIFEST_MAX);
		goto out;
	}
	if (x.resp.status != 200) {
		r = status_error(p, &x, "fetch manifest", err);
		goto out;
	}
	if ((r = o2v_digest_buf(x.body ? x.body : "", x.body_len, expect, ret_digest, err)) < 0)
		goto out;
	if (expect && strcmp(ret_digest, expect)) {
		r = o2v_error_set(err, -EBADMSG,
				  "digest mismatch for manifest %s of '%s': the registry sent %s",
				  expect, p->ref->normalized, ret_digest);
		goto out;
	}
	if (!expect && x.resp.docker_digest[0] && strcmp(x.resp.docker_digest, ret_digest)) {
		/* ggcr: many registries get this header wrong; trust our own hash */
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "registry says the manifest digest is %.140s but its content hashes to "
			 "%s; using the latter",
			 x.resp.docker_digest, ret_digest);
		emit(p, O2V_PROGRESS_WARNING, NULL, 0, 0, msg);
	}
	snprintf(ret_ct, O2V_MEDIA_TYPE_MAX, "%s", x.resp.content_type);
	if (!x.body && !(x.body = strdup("")))
		r = o2v_error_set(err, -ENOMEM, "fetch manifest");
	*ret_body = TAKE_PTR(x.body);
	*ret_len = x.body_len;
out:
	o2v_xfer_release(&x);
	return r;
}

/* A manifest by digest: from the cache when there, else from the registry. */
static int manifest_by_digest(struct puller *p, const char *digest, char **ret_body,
			      size_t *ret_len, char ret_ct[O2V_MEDIA_TYPE_MAX],
			      struct o2v_error *err)
{
	char got[O2V_DIGEST_MAX];
	int r;

	if (o2v_cache_has_blob(p->c, digest, -1)) {
		ret_ct[0] = '\0';
		r = o2v_cache_read_blob(p->c, digest, O2V_MANIFEST_MAX, ret_body, ret_len, err);
		if (r >= 0 || r == -ENOMEM)
			return r;
	}
	if (!p->net)
		return o2v_error_set(err, -ENOENT,
				     "manifest %s of '%s' is not in the cache; pull it with "
				     "'oci2vm pull %s'",
				     digest, p->ref->normalized, p->ref->normalized);
	if ((r = net_open(p, err)) < 0)
		return r;
	return get_manifest(p, digest, digest, ret_body, ret_len, ret_ct, got, err);
}

/* Parse a manifest; Content-Type falls back to the descriptor's media type. */
static int parse_manifest(const char *body, size_t len, const char *ct, const char *desc_mt,
			  struct o2v_manifest *m, struct o2v_error *err)
{
	const char *type = ct && *ct ? ct : desc_mt;
	int r = o2v_manifest_parse(body, len, type, m, err);

	if (r >= 0 && desc_mt && *desc_mt && strcmp(m->media_type, desc_mt) &&
	    (o2v_media_type_is_index(desc_mt) != (m->kind == O2V_MANIFEST_INDEX))) {
		/* image-spec media-type conflicts: the digest matched, so the
		 * document is what the index meant; only a kind change is fatal */
		o2v_manifest_release(m);
		return o2v_error_set(err, -EBADMSG, "manifest is a %s but the index says %s",
				     m->media_type, desc_mt);
	}
	return r;
}

/* From the top document (body) down to an image manifest. */
static int descend(struct puller *p, char *body, size_t len, const char *ct, const char *digest,
		   struct resolved *res, struct o2v_error *err)
{
	char cur_digest[O2V_DIGEST_MAX], cur_ct[O2V_MEDIA_TYPE_MAX],
	    desc_mt[O2V_MEDIA_TYPE_MAX] = "";
	struct o2v_platform chosen = {{0}};
	bool have_platform = false;
	int r;

	snprintf(cur_digest, sizeof(cur_digest), "%s", digest);
	snprintf(cur_ct, sizeof(cur_ct), "%s", ct ? ct : "");
	snprintf(res->entry.resolved, sizeof(res->entry.resolved), "%s", digest);
	for (int depth = 0;; depth++) {
		struct o2v_manifest m;
		r = parse_manifest(body, len, cur_ct, desc_mt, &m, err);
		if (r < 0) {
			free(body);
			return o2v_error_prefix(err, "manifest %s of '%s'", cur_digest,
						p->ref->normalized);
		}
		if (m.kind == O2V_MANIFEST_IMAGE) {
			res->manifest = body;
			res->manifest_len = len;
			res->m = m;
			snprintf(res->entry.digest, sizeof(res->entry.digest), "%s", cur_digest);
			snprintf(res->entry.media_type, sizeof(res->entry.media_type), "%s",
				 m.media_type);
			res->entry.size = len;
			res->entry.has_platform = have_platform;
			res->entry.platform = chosen;
			return 0;
		}
		free(body);
		body = NULL;
		if (depth >= O2V_INDEX_DEPTH_MAX) {
			o2v_manifest_release(&m);
			return o2v_error_set(err, -EBADMSG,
					     "'%s': indexes nested deeper than %d levels",
					     p->ref->normalized, O2V_INDEX_DEPTH_MAX);
		}
		r = o2v_manifest_choose(&m, &p->want, p->ref->normalized, err);
		if (r < 0) {
			o2v_manifest_release(&m);
			return r;
		}
		const struct o2v_descriptor *d = &m.manifests[r];
		chosen = d->platform;
		have_platform = true;
		snprintf(cur_digest, sizeof(cur_digest), "%s", d->digest);
		snprintf(desc_mt, sizeof(desc_mt), "%s", d->media_type);
		uint64_t want_size = d->size;
		o2v_manifest_release(&m);
		if (want_size > O2V_MANIFEST_MAX)
			return o2v_error_set(err, -E2BIG,
					     "manifest %s is larger than the %d bytes allowed",
					     cur_digest, O2V_MANIFEST_MAX);
		r = manifest_by_digest(p, cur_digest, &body, &len, cur_ct, err);
		if (r < 0)
			return r;
		if (len != want_size) {
			free(body);
			return o2v_error_set(err, -EBADMSG,
					     "manifest %s has %zu bytes, its index says %llu",
					     cur_digest, len, (unsigned long long)want_size);
		}
	}
}

static int fetch_small_blob(struct puller *p, const struct o2v_descriptor *d, size_t max,
			    char **ret, size_t *ret_len, struct o2v_error *err)
{
	struct o2v_xfer x;
	int r;

	if (d->size > max)
		return o2v_error_set(err, -E2BIG,
				     "blob %s of %llu bytes is larger than the %zu "
				     "allowed",
				     d->digest, (unsigned long long)d->size, max);
	if (o2v_cache_has_blob(p->c, d->digest, (int64_t)d->size))
		return o2v_cache_read_blob(p->c, d->digest, max, ret, ret_len, err);
	if (!p->net)
		return o2v_error_set(err, -ENOENT, "blob %s of '%s' is not in the cache", d->digest,
				     p->ref->normalized);
	o2v_xfer_init(&x);
	x.registry_auth = true;
	x.body_max = d->size;
	x.path = registry_path(p->ref, "blobs", d->digest);
	if (!x.path) {
		o2v_xfer_release(&x);
		return o2v_error_set(err, -ENOMEM, "fetch blob");
	}
	r = o2v_http_do(&p->http, &x, err);
	if (r >= 0 && x.resp.status != 200)
		r = status_error(p, &x, "fetch blob", err);
	if (r >= 0 && x.body_len != d->size)
		r = o2v_error_set(err, -EBADMSG, "blob %s: got %zu bytes, expected %llu", d->digest,
				  x.body_len, (unsigned long long)d->size);
	if (r >= 0)
		r = o2v_digest_verify(x.body ? x.body : "", x.body_len, d->digest, "blob", err);
	if (r >= 0) {
		p->downloaded += x.body_len;
		if (!x.body && !(x.body = strdup("")))
			r = o2v_error_set(err, -ENOMEM, "fetch blob");
		*ret = TAKE_PTR(x.body);
		*ret_len = x.body_len;
	}
	o2v_xfer_release(&x);
	return r;
}

static int check_image_types(struct puller *p, const struct o2v_manifest *m, struct o2v_error *err)
{
	if (!o2v_media_type_is_config(m->config.media_type))
		return o2v_error_set(err, -EBADMSG,
				     "'%s' is not a container image (config type '%s'); oci2vm can "
				     "only run images",
				     p->ref->normalized, m->config.media_type);
	for (size_t i = 0; i < m->n_layers; i++)
		if (!o2v_media_type_is_layer(m->layers[i].media_type))
			return o2v_error_set(err, -EBADMSG,
					     "'%s': layer %zu has media type '%s', which oci2vm "
					     "cannot unpack",
					     p->ref->normalized, i + 1, m->layers[i].media_type);
	return 0;
}

/* Build the image object from a resolved manifest and config. */
static int make_image(struct puller *p, struct resolved *res, struct o2v_image **ret,
		      struct o2v_error *err)
{
	_cleanup_strv_ char **diff_ids = NULL;
	struct o2v_image *img = calloc(1, sizeof(*img));
	size_t nd = 0;
	int r;

	if (!img)
		return o2v_error_set(err, -ENOMEM, "image");
	r = o2v_image_config_parse(res->config, res->config_len, &img->config, &diff_ids, err);
	if (r < 0) {
		free(img);
		return o2v_error_prefix(err, "config %s of '%s'", res->m.config.digest,
					p->ref->normalized);
	}
	while (diff_ids && diff_ids[nd])
		nd++;
	if (nd != res->m.n_layers) {
		o2v_image_free(img);
		return o2v_error_set(err, -EBADMSG,
				     "'%s': the manifest has %zu layers but the config lists %zu "
				     "diff_ids",
				     p->ref->normalized, res->m.n_layers, nd);
	}
	img->layers = calloc(nd ? nd : 1, sizeof(*img->layers));
	img->reference = strdup(p->ref->normalized);
	img->config_json = TAKE_PTR(res->config);
	if (!img->layers || !img->reference) {
		o2v_image_free(img);
		return o2v_error_set(err, -ENOMEM, "image");
	}
	img->n_layers = nd;
	for (size_t i = 0; i < nd; i++) {
		struct o2v_layer *l = &img->layers[i];
		snprintf(l->digest, sizeof(l->digest), "%s", res->m.layers[i].digest);
		snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_ids[i]);
		snprintf(l->media_type, sizeof(l->media_type), "%s", res->m.layers[i].media_type);
		l->size = res->m.layers[i].size;
	}
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", res->entry.digest);
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", res->m.config.digest);
	snprintf(img->resolved_digest, sizeof(img->resolved_digest), "%s",
		 res->entry.resolved[0] ? res->entry.resolved : res->entry.digest);
	img->downloaded = p->downloaded;
	*ret = img;
	return 0;
}

static int check_config_platform(struct puller *p, struct o2v_image *img, bool from_index,
				 struct o2v_error *err)
{
	struct o2v_platform have;
	char hs[O2V_PLATFORM_STR_MAX], ws[O2V_PLATFORM_STR_MAX], msg[512];

	if (!img->config.os || !img->config.architecture ||
	    o2v_platform_set(&have, img->config.os, img->config.architecture, img->config.variant) <
		0)
		return 0;
	if (o2v_platform_match(&p->want, &have) >= 0)
		return 0;
	o2v_platform_format(&have, hs, sizeof(hs));
	o2v_platform_format(&p->want, ws, sizeof(ws));
	if (!from_index && p->want_explicit)
		return o2v_error_set(err, -ENOENT,
				     "'%s' is an image for %s only, not for the requested %s",
				     p->ref->normalized, hs, ws);
	snprintf(msg, sizeof(msg), "the image's platform (%s) does not match %s", hs, ws);
	emit(p, O2V_PROGRESS_WARNING, NULL, 0, 0, msg);
	return 0;
}

/* ---- layers ------------------------------------------------------------ */

struct layer_job {
	struct puller *p;
	const struct o2v_descriptor *d;
	struct o2v_blob_writer *w;
	struct o2v_xfer x;
};

static int job_write(void *ud, const void *buf, size_t len, struct o2v_error *err)
{
	struct layer_job *j = ud;
	int r = o2v_blob_writer_write(j->w, buf, len, err);

	if (r >= 0) {
		j->p->downloaded += len;
		emit(j->p, O2V_PROGRESS_LAYER, j->d->digest, o2v_blob_writer_offset(j->w),
		     j->d->size, NULL);
	}
	return r;
}

static int job_reset(void *ud, struct o2v_error *err)
{
	struct layer_job *j = ud;

	j->p->downloaded -= o2v_blob_writer_offset(j->w);
	return o2v_blob_writer_reset(j->w, err);
}

static uint64_t job_offset(void *ud)
{
	return o2v_blob_writer_offset(((struct layer_job *)ud)->w);
}

static int fetch_layers(struct puller *p, const struct o2v_manifest *m, struct o2v_error *err)
{
	_cleanup_free_ struct layer_job *jobs = calloc(m->n_layers + 1, sizeof(*jobs));
	_cleanup_free_ struct o2v_xfer **xs = calloc(m->n_layers + 1, sizeof(*xs));
	size_t n = 0;
	int r = 0;

	if (!jobs || !xs)
		return o2v_error_set(err, -ENOMEM, "fetch layers");
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct o2v_descriptor *d = &m->layers[i];
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup = dup || !strcmp(jobs[k].d->digest, d->digest);
		if (dup)
			continue;
		if (o2v_cache_has_blob(p->c, d->digest, (int64_t)d->size)) {
			emit(p, O2V_PROGRESS_LAYER_DONE, d->digest, d->size, d->size, "cached");
			continue;
		}
		struct layer_job *j = &jobs[n];
		j->p = p;
		j->d = d;
		o2v_xfer_init(&j->x);
		xs[n++] = &j->x;
		if ((r = o2v_stage_blob_open(p->stage, d->digest, d->size, &j->w, err)) < 0)
			goto out;
		j->x.registry_auth = true;
		j->x.path = registry_path(p->ref, "blobs", d->digest);
		if (!j->x.path) {
			r = o2v_error_set(err, -ENOMEM, "fetch layers");
			goto out;
		}
		j->x.sink = (struct o2v_sink){job_write, job_reset, job_offset, j};
	}
	if (!n)
		goto out;
	unsigned par = p->opts && p->opts->max_parallel ? p->opts->max_parallel : DEFAULT_PARALLEL;
	r = o2v_http_run(&p->http, xs, n, par, err);
	if (r < 0) {
		o2v_error_prefix(err, "fetch layers of '%s'", p->ref->normalized);
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		struct layer_job *j = &jobs[k];
		if (j->x.resp.status != 200 && j->x.resp.status != 206) {
			r = status_error(p, &j->x, "fetch layer", err);
			o2v_error_prefix(err, "layer %s", j->d->digest);
			goto out;
		}
		if ((r = o2v_blob_writer_finish(j->w, err)) < 0) {
			o2v_error_prefix(err, "'%s'", p->ref->normalized);
			goto out;
		}
		emit(p, O2V_PROGRESS_LAYER_DONE, j->d->digest, j->d->size, j->d->size, NULL);
	}
out:
	for (size_t k = 0; k < n; k++) {
		o2v_blob_writer_free(jobs[k].w);
		o2v_xfer_release(&jobs[k].x);
	}
	return r;
}

/* ---- the entry points --------------------------------------------------- */

static int load_entry(struct puller *p, const struct o2v_cache_entry *e, bool need_layers,
		      struct o2v_image **ret, struct o2v_error *err)
{
	struct resolved res = {0};
	_cleanup_free_ char *body = NULL;
	size_t len;
	int r;

	r = o2v_cache_read_blob(p->c, e->digest, O2V_MANIFEST_MAX, &body, &len, err);
	if (r < 0)
		goto out;
	r = descend(p, TAKE_PTR(body), len, e->media_type, e->digest, &res, err);
	if (r < 0)
		goto out;
	if (e->resolved[0])
		snprintf(res.entry.resolved, sizeof(res.entry.resolved), "%s", e->resolved);
	if ((r = check_image_types(p, &res.m, err)) < 0)
		goto out;
	r = fetch_small_blob(p, &res.m.config, O2V_CONFIG_MAX, &res.config, &res.config_len, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; need_layers && i < res.m.n_layers; i++)
		if (!o2v_cache_has_blob(p->c, res.m.layers[i].digest,
					(int64_t)res.m.layers[i].size)) {
			r = o2v_error_set(err, -ENOENT,
					  "image '%s' is incomplete in the cache (layer %s is "
					  "missing); pull it again with 'oci2vm pull %s'",
					  p->ref->normalized, res.m.layers[i].digest,
					  p->ref->normalized);
			goto out;
		}
	r = make_image(p, &res, ret, err);
	if (r >= 0)
		(*ret)->up_to_date = true;
out:
	resolved_release(&res);
	return r;
}

static int find_cached(struct puller *p, struct o2v_cache_entry *e, struct o2v_error *err)
{
	return o2v_cache_find(p->c, p->ref->normalized, p->ref->digest, e, err);
}

static int setup(struct puller *p, struct o2v_cache *c, const struct o2v_ref *ref,
		 const struct o2v_pull_opts *opts, struct o2v_error *err)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->ref = ref;
	p->opts = opts;
	if (opts && opts->platform) {
		int r = o2v_platform_parse(opts->platform, &p->want, err);
		if (r < 0)
			return r;
		p->want_explicit = true;
	} else {
		o2v_platform_host(&p->want);
	}
	return 0;
}

static bool entry_fits(const struct puller *p, const struct o2v_cache_entry *e)
{
	return !e->has_platform || !p->want_explicit ||
	       o2v_platform_match(&p->want, &e->platform) >= 0;
}

static int not_cached(const struct o2v_ref *ref, struct o2v_error *err)
{
	return o2v_error_set(err, -ENOENT,
			     "image '%s' not found in the cache; pull it with 'oci2vm pull %s'",
			     ref->normalized, ref->normalized);
}

int o2v_image_load(struct o2v_cache *c, const struct o2v_ref *ref, struct o2v_image **ret,
		   struct o2v_error *err)
{
	struct puller p;
	struct o2v_cache_entry e;
	int r = setup(&p, c, ref, NULL, err);

	if (r < 0)
		return r;
	r = find_cached(&p, &e, err);
	if (r <= 0)
		return r < 0 ? r : not_cached(ref, err);
	r = load_entry(&p, &e, true, ret, err);
	o2v_cache_entry_release(&e);
	return r;
}

static int retag(struct puller *p, struct o2v_cache_entry *e, struct o2v_error *err)
{
	char *old = e->name;
	int r;

	if ((r = o2v_stage_open(p->c, &p->stage, err)) < 0)
		return r;
	e->name = (char *)p->ref->normalized;
	r = o2v_stage_commit(p->stage, e, err);
	e->name = old;
	return r;
}

/* The common part of pull and inspect. */
static int resolve_remote(struct puller *p, bool layers, struct o2v_image **ret,
			  struct o2v_error *err)
{
	const struct o2v_ref *ref = p->ref;
	enum o2v_pull_policy policy = p->opts ? p->opts->policy : O2V_PULL_MISSING;
	struct o2v_cache_entry e = {0};
	struct resolved res = {0};
	char digest[O2V_DIGEST_MAX] = "", ct[O2V_MEDIA_TYPE_MAX] = "";
	char *body = NULL;
	size_t len = 0;
	bool cached = false;
	int r;

	if (policy != O2V_PULL_ALWAYS) {
		r = find_cached(p, &e, err);
		if (r < 0)
			return r;
		cached = r > 0 && entry_fits(p, &e);
		if (!cached && policy == O2V_PULL_NEVER) {
			o2v_cache_entry_release(&e);
			return not_cached(ref, err);
		}
		if (cached && (policy == O2V_PULL_NEVER || ref->digest)) {
			r = load_entry(p, &e, layers, ret, err);
			/* found under another name (a tag with this digest): record
			 * the digest reference too, as a pull of it would */
			if (r >= 0 && layers && policy != O2V_PULL_NEVER &&
			    (!e.name || strcmp(e.name, ref->normalized)))
				r = retag(p, &e, err);
			o2v_cache_entry_release(&e);
			return r;
		}
	}
	if ((r = net_open(p, err)) < 0)
		goto out;
	if (ref->digest) {
		snprintf(digest, sizeof(digest), "%s", ref->digest);
		r = get_manifest(p, ref->digest, ref->digest, &body, &len, ct, digest, err);
	} else {
		if (cached) {
			char head[O2V_DIGEST_MAX];
			r = head_tag(p, head, err);
			if (r < 0)
				goto out;
			if (r > 0 && (!strcmp(head, e.digest) || !strcmp(head, e.resolved))) {
				r = load_entry(p, &e, layers, ret, err);
				if (r != -ENOENT)
					goto out;
				/* incomplete in the cache: pull it properly below */
			}
		}
		r = get_manifest(p, ref->tag, NULL, &body, &len, ct, digest, err);
	}
	if (r < 0)
		goto out;
	if (cached && (!strcmp(digest, e.digest) || !strcmp(digest, e.resolved))) {
		free(body);
		body = NULL;
		r = load_entry(p, &e, layers, ret, err);
		if (r != -ENOENT)
			goto out;
	}
	r = descend(p, TAKE_PTR(body), len, ct, digest, &res, err);
	if (r < 0)
		goto out;
	if ((r = check_image_types(p, &res.m, err)) < 0)
		goto out;
	emit(p, O2V_PROGRESS_RESOLVED, res.entry.digest, 0, 0, NULL);
	if ((r = o2v_stage_open(p->c, &p->stage, err)) < 0)
		goto out;
	if (!o2v_cache_has_blob(p->c, res.entry.digest, (int64_t)res.manifest_len) &&
	    (r = o2v_stage_put(p->stage, res.entry.digest, res.manifest, res.manifest_len, err)) <
		0)
		goto out;
	bool config_cached =
	    o2v_cache_has_blob(p->c, res.m.config.digest, (int64_t)res.m.config.size);
	r = fetch_small_blob(p, &res.m.config, O2V_CONFIG_MAX, &res.config, &res.config_len, err);
	if (r < 0)
		goto out;
	if (!config_cached &&
	    (r = o2v_stage_put(p->stage, res.m.config.digest, res.config, res.config_len, err)) < 0)
		goto out;
	/* parse now: a broken config must fail before minutes of layer downloads */
	struct o2v_image *img = NULL;
	r = make_image(p, &res, &img, err);
	if (r < 0)
		goto out;
	if ((r = check_config_platform(p, img, res.entry.has_platform, err)) < 0) {
		o2v_image_free(img);
		goto out;
	}
	if (layers) {
		uint64_t total = 0;
		for (size_t i = 0; i < res.m.n_layers; i++)
			total += res.m.layers[i].size;
		emit(p, O2V_PROGRESS_RESOLVED, res.entry.digest, 0, total, NULL);
		if ((r = fetch_layers(p, &res.m, err)) < 0) {
			o2v_image_free(img);
			goto out;
		}
		res.entry.name = strdup(ref->normalized);
		if (!res.entry.name) {
			o2v_image_free(img);
			r = o2v_error_set(err, -ENOMEM, "pull");
			goto out;
		}
		if ((r = o2v_stage_commit(p->stage, &res.entry, err)) < 0) {
			o2v_image_free(img);
			goto out;
		}
	}
	img->downloaded = p->downloaded;
	*ret = img;
	r = 0;
out:
	free(body);
	o2v_cache_entry_release(&e);
	resolved_release(&res);
	return r;
}

static int run_remote(struct o2v_cache *c, const struct o2v_ref *ref,
		      const struct o2v_pull_opts *opts, bool layers, struct o2v_image **ret,
		      struct o2v_error *err)
{
	struct puller p;
	int r;

	if (strcmp(ref->transport, "docker")) {
		if (opts && opts->policy == O2V_PULL_NEVER)
			return o2v_image_load(c, ref, ret, err);
		return o2v_local_import(c, ref, opts, ret, err);
	}
	if ((r = setup(&p, c, ref, opts, err)) < 0)
		return r;
	r = resolve_remote(&p, layers, ret, err);
	puller_release(&p);
	return r;
}

int o2v_pull(struct o2v_cache *c, const struct o2v_ref *ref, const struct o2v_pull_opts *opts,
	     struct o2v_image **ret, struct o2v_error *err)
{
	return run_remote(c, ref, opts, true, ret, err);
}

int o2v_inspect(struct o2v_cache *c, const struct o2v_ref *ref, const struct o2v_pull_opts *opts,
		struct o2v_image **ret, struct o2v_error *err)
{
	return run_remote(c, ref, opts, false, ret, err);
}

void o2v_image_free(struct o2v_image *img)
{
	if (!img)
		return;
	free(img->reference);
	free(img->config_json);
	o2v_image_config_release(&img->config);
	free(img->layers);
	free(img);
}
