/* cache.c - see cache.h and registry.h. */
#include "../common/o2v.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "../common/fsutil.h"
#include "../common/paths.h"
#include "cache.h"
#include "digest.h"

#define OCI_LAYOUT_JSON	 "{\"imageLayoutVersion\": \"1.0.0\"}\n"
#define EMPTY_INDEX_JSON "{\"schemaVersion\": 2, \"manifests\": []}\n"
#define TMP_DIR		 ".oci2vm-tmp"
#define LOCK_FILE	 ".oci2vm-lock"
#define STAGE_PREFIX	 "stage-"

/* ---- open / paths ------------------------------------------------------ */

static int ensure_file(const char *root, const char *name, const char *content,
		       struct o2v_error *err)
{
	_cleanup_free_ char *p = o2v_path_join(root, name);

	if (!p)
		return o2v_error_set(err, -ENOMEM, "open cache");
	if (access(p, F_OK) == 0)
		return 0;
	return o2v_write_file_atomic(p, content, strlen(content), 0600, err);
}

int o2v_cache_open(const char *dir, struct o2v_cache **ret, struct o2v_error *err)
{
	_cleanup_free_ char *blobs = o2v_path_join(dir, "blobs/sha256");
	struct o2v_cache *c = calloc(1, sizeof(*c));
	int r;

	if (!c || !blobs) {
		free(c);
		return o2v_error_set(err, -ENOMEM, "open cache '%s'", dir);
	}
	c->root = strdup(dir);
	c->tmp_dir = o2v_path_join(dir, TMP_DIR);
	c->lock_path = o2v_path_join(dir, LOCK_FILE);
	if (!c->root || !c->tmp_dir || !c->lock_path) {
		o2v_cache_close(c);
		return o2v_error_set(err, -ENOMEM, "open cache '%s'", dir);
	}
	/* Private: a pulled image may be private (credentials); a cache made by an older oci2vm
	 * with 0755 directories is read as it is. */
	if ((r = o2v_mkdir_p(blobs, 0700, err)) < 0 ||
	    (r = o2v_mkdir_p(c->tmp_dir, 0700, err)) < 0 ||
	    (r = ensure_file(dir, "oci-layout", OCI_LAYOUT_JSON, err)) < 0 ||
	    (r = ensure_file(dir, "index.json", EMPTY_INDEX_JSON, err)) < 0) {
		o2v_cache_close(c);
		return o2v_error_prefix(err, "open cache '%s'", dir);
	}
	*ret = c;
	return 0;
}

int o2v_cache_open_default(struct o2v_cache **ret, struct o2v_error *err)
{
	_cleanup_free_ char *dir = NULL;
	int r = o2v_cache_dir(&dir, err);

	if (r < 0)
		return r;
	return o2v_cache_open(dir, ret, err);
}

void o2v_cache_close(struct o2v_cache *c)
{
	if (!c)
		return;
	free(c->root);
	free(c->tmp_dir);
	free(c->lock_path);
	free(c);
}

const char *o2v_cache_root(const struct o2v_cache *c)
{
	return c->root;
}

static char *blob_path(const struct o2v_cache *c, const char *digest)
{
	char *p;

	if (!o2v_digest_valid(digest))
		return NULL;
	if (asprintf(&p, "%s/blobs/%.*s/%s", c->root, (int)o2v_digest_algo_len(digest), digest,
		     o2v_digest_hex(digest)) < 0)
		return NULL;
	return p;
}

bool o2v_cache_has_blob(const struct o2v_cache *c, const char *digest, int64_t size)
{
	_cleanup_free_ char *p = blob_path(c, digest);
	struct stat st;

	if (!p || stat(p, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	return size < 0 || st.st_size == size;
}

char *o2v_cache_blob_path(const struct o2v_cache *c, const char *digest)
{
	if (!o2v_cache_has_blob(c, digest, -1))
		return NULL;
	return blob_path(c, digest);
}

int o2v_cache_read_blob(const struct o2v_cache *c, const char *digest, size_t max, char **ret_buf,
			size_t *ret_len, struct o2v_error *err)
{
	_cleanup_free_ char *p = blob_path(c, digest);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (!p)
		return o2v_digest_check(digest, -EBADMSG, err);
	if ((r = o2v_read_file(p, max, &buf, &len, err)) < 0)
		return r;
	/* Cheap for manifests and configs, and it catches a tampered cache. */
	if ((r = o2v_digest_verify(buf, len, digest, "cached blob", err)) < 0)
		return o2v_error_prefix(err,
					"cache '%s' is damaged (run 'oci2vm prune' and pull "
					"again)",
					c->root);
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* ---- index.json -------------------------------------------------------- */

static int lock_cache(const struct o2v_cache *c, int how, struct o2v_error *err)
{
	int fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return o2v_error_sys(err, -errno, "lock cache '%s'", c->root);
	if (O2V_RETRY(flock(fd, how)) < 0) {
		int e = -errno;
		close(fd);
		return o2v_error_sys(err, e, "lock cache '%s'", c->root);
	}
	return fd;
}

static int index_read(const struct o2v_cache *c, json_object **ret, struct o2v_error *err)
{
	_cleanup_free_ char *p = o2v_path_join(c->root, "index.json");
	_cleanup_free_ char *buf = NULL;
	size_t len;
	json_object *o, *m;
	int r;

	if (!p)
		return o2v_error_set(err, -ENOMEM, "read index.json");
	if ((r = o2v_read_file(p, O2V_INDEX_JSON_MAX, &buf, &len, err)) < 0)
		return r;
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "manifests", &m) ||
	    !json_object_is_type(m, json_type_array)) {
		json_object_put(o);
		return o2v_error_set(err, -EBADMSG,
				     "cache index '%s' is not a valid OCI index; move it away to "
				     "start a fresh cache",
				     p);
	}
	*ret = o;
	return 0;
}

static int index_write(const struct o2v_cache *c, json_object *o, struct o2v_error *err)
{
	_cleanup_free_ char *p = o2v_path_join(c->root, "index.json");
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!p || !s)
		return o2v_error_set(err, -ENOMEM, "write index.json");
	return o2v_write_file_atomic(p, s, strlen(s), 0600, err);
}

/* Take the cache lock and read index.json: what every index update starts with. */
static int index_lock_read(const struct o2v_cache *c, int *ret_lock, json_object **ret_idx,
			   json_object **ret_manifests, struct o2v_error *err)
{
	int lock = lock_cache(c, LOCK_EX, err), r;

	if (lock < 0)
		return lock;
	if ((r = index_read(c, ret_idx, err)) < 0) {
		close(lock);
		return r;
	}
	json_object_object_get_ex(*ret_idx, "manifests", ret_manifests);
	*ret_lock = lock;
	return 0;
}

static const char *annotation(json_object *entry, const char *key)
{
	json_object *a, *v;

	if (!json_object_object_get_ex(entry, "annotations", &a) ||
	    !json_object_object_get_ex(a, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void o2v_cache_entry_release(struct o2v_cache_entry *e)
{
	free(e->name);
	memset(e, 0, sizeof(*e));
}

static int entry_from_json(json_object *j, struct o2v_cache_entry *e, struct o2v_error *err)
{
	json_object *p;
	const char *v;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(j, json_type_object))
		return o2v_error_set(err, -EBADMSG, "cache index entry is not an object");
	if (!json_object_object_get_ex(j, "digest", &p) ||
	    !json_object_is_type(p, json_type_string) ||
	    !o2v_digest_valid(json_object_get_string(p)))
		return o2v_error_set(err, -EBADMSG, "cache index entry without a valid digest");
	snprintf(e->digest, sizeof(e->digest), "%s", json_object_get_string(p));
	if ((v = json_object_get_string(json_object_object_get(j, "mediaType"))))
		snprintf(e->media_type, sizeof(e->media_type), "%s", v);
	e->size = (uint64_t)json_object_get_int64(json_object_object_get(j, "size"));
	if ((v = annotation(j, O2V_ANNOTATION_RESOLVED)) && o2v_digest_valid(v))
		snprintf(e->resolved, sizeof(e->resolved), "%s", v);
	if (json_object_object_get_ex(j, "platform", &p) &&
	    json_object_is_type(p, json_type_object)) {
		const char *os = json_object_get_string(json_object_object_get(p, "os"));
		const char *arch =
		    json_object_get_string(json_object_object_get(p, "architecture"));
		const char *var = json_object_get_string(json_object_object_get(p, "variant"));
		e->has_platform = o2v_platform_set(&e->platform, os, arch, var) == 0;
	}
	if ((v = annotation(j, O2V_ANNOTATION_REF_NAME)) && !(e->name = strdup(v)))
		return o2v_error_set(err, -ENOMEM, "read cache index");
	return 0;
}

static json_object *entry_to_json(const struct o2v_cache_entry *e)
{
	json_object *j = json_object_new_object(), *a = json_object_new_object();

	json_object_object_add(j, "mediaType", json_object_new_string(e->media_type));
	json_object_object_add(j, "digest", json_object_new_string(e->digest));
	json_object_object_add(j, "size", json_object_new_int64((int64_t)e->size));
	if (e->has_platform) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "architecture", json_object_new_string(e->platform.arch));
		json_object_object_add(p, "os", json_object_new_string(e->platform.os));
		if (e->platform.variant[0])
			json_object_object_add(p, "variant",
					       json_object_new_string(e->platform.variant));
		json_object_object_add(j, "platform", p);
	}
	json_object_object_add(a, O2V_ANNOTATION_REF_NAME, json_object_new_string(e->name));
	if (e->resolved[0] && strcmp(e->resolved, e->digest))
		json_object_object_add(a, O2V_ANNOTATION_RESOLVED,
				       json_object_new_string(e->resolved));
	json_object_object_add(j, "annotations", a);
	return j;
}

int o2v_cache_find(struct o2v_cache *c, const char *name, const char *digest,
		   struct o2v_cache_entry *ret, struct o2v_error *err)
{
	json_object *idx, *m;
	int r = index_read(c, &idx, err), found = 0;

	if (r < 0)
		return r;
	json_object_object_get_ex(idx, "manifests", &m);
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (size_t i = 0; i < json_object_array_length(m) && !found; i++) {
			json_object *j = json_object_array_get_idx(m, i);
			const char *n = annotation(j, O2V_ANNOTATION_REF_NAME);
			struct o2v_cache_entry e;
			if (pass == 0 && (!name || !n || strcmp(n, name)))
				continue;
			if (entry_from_json(j, &e, NULL) < 0)
				continue;
			if (pass == 1 &&
			    (!digest || (strcmp(e.digest, digest) && strcmp(e.resolved, digest)))) {
				o2v_cache_entry_release(&e);
				continue;
			}
			*ret = e;
			found = 1;
		}
	}
	json_object_put(idx);
	return found;
}

/* ---- listing, untag ---------------------------------------------------- */

void o2v_image_info_free(struct o2v_image_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

static void sum_image(const struct o2v_cache *c, const struct o2v_cache_entry *e,
		      struct o2v_image_info *info)
{
	_cleanup_free_ char *buf = NULL;
	struct o2v_manifest m;
	size_t len;

	info->size = e->size;
	info->complete = false;
	if (o2v_cache_read_blob(c, e->digest, O2V_MANIFEST_MAX, &buf, &len, NULL) < 0 ||
	    o2v_manifest_parse(buf, len, e->media_type, &m, NULL) < 0)
		return;
	info->complete = true;
	if (m.kind == O2V_MANIFEST_IMAGE) {
		_cleanup_free_ char *cfg = NULL;
		struct o2v_image_config ic;
		size_t cl;
		if (!info->platform[0] &&
		    o2v_cache_read_blob(c, m.config.digest, O2V_CONFIG_MAX, &cfg, &cl, NULL) >= 0 &&
		    o2v_image_config_parse(cfg, cl, &ic, NULL, NULL) >= 0) {
			struct o2v_platform pl;
			if (o2v_platform_set(&pl, ic.os, ic.architecture, ic.variant) == 0)
				o2v_platform_format(&pl, info->platform, sizeof(info->platform));
			o2v_image_config_release(&ic);
		}
		info->size += m.config.size;
		info->complete = o2v_cache_has_blob(c, m.config.digest, (int64_t)m.config.size);
		for (size_t i = 0; i < m.n_layers; i++) {
			info->size += m.layers[i].size;
			if (!o2v_cache_has_blob(c, m.layers[i].digest, (int64_t)m.layers[i].size))
				info->complete = false;
		}
	}
	o2v_manifest_release(&m);
}

int o2v_cache_list(struct o2v_cache *c, struct o2v_image_info **ret, size_t *ret_n,
		   struct o2v_error *err)
{
	json_object *idx, *m;
	struct o2v_image_info *v;
	size_t n = 0;
	int r = index_read(c, &idx, err);

	if (r < 0)
		return r;
	json_object_object_get_ex(idx, "manifests", &m);
	v = calloc(json_object_array_length(m) + 1, sizeof(*v));
	if (!v) {
		json_object_put(idx);
		return o2v_error_set(err, -ENOMEM, "list cache");
	}
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		struct o2v_cache_entry e;
		if (entry_from_json(json_object_array_get_idx(m, i), &e, NULL) < 0 || !e.name) {
			o2v_cache_entry_release(&e);
			continue;
		}
		v[n].name = TAKE_PTR(e.name);
		snprintf(v[n].digest, sizeof(v[n].digest), "%s", e.digest);
		if (e.has_platform)
			o2v_platform_format(&e.platform, v[n].platform, sizeof(v[n].platform));
		sum_image(c, &e, &v[n]);
		n++;
	}
	json_object_put(idx);
	*ret = v;
	*ret_n = n;
	return 0;
}

int o2v_cache_untag(struct o2v_cache *c, const struct o2v_ref *ref, struct o2v_error *err)
{
	_cleanup_close_ int lock = -1;
	json_object *idx, *m, *keep;
	size_t removed = 0;
	int r;

	if ((r = index_lock_read(c, &lock, &idx, &m, err)) < 0)
		return r;
	/* the exact name first; a digest reference nobody pulled under that name
	 * removes every tag of that digest (the image itself) */
	bool by_name = false;
	for (size_t i = 0; i < json_object_array_length(m) && !by_name; i++) {
		const char *n =
		    annotation(json_object_array_get_idx(m, i), O2V_ANNOTATION_REF_NAME);
		by_name = n && !strcmp(n, ref->normalized);
	}
	keep = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		json_object *j = json_object_array_get_idx(m, i);
		const char *n = annotation(j, O2V_ANNOTATION_REF_NAME);
		struct o2v_cache_entry e = {0};
		bool match = n && !strcmp(n, ref->normalized);
		if (!by_name && ref->digest && entry_from_json(j, &e, NULL) == 0)
			match = !strcmp(e.digest, ref->digest) || !strcmp(e.resolved, ref->digest);
		o2v_cache_entry_release(&e);
		if (match)
			removed++;
		else
			json_object_array_add(keep, json_object_get(j));
	}
	if (!removed) {
		json_object_put(keep);
		json_object_put(idx);
		return o2v_error_set(err, -ENOENT, "image '%s' not found in the cache",
				     ref->normalized);
	}
	json_object_object_add(idx, "manifests", keep);
	r = index_write(c, idx, err);
	json_object_put(idx);
	return r < 0 ? r : (int)removed;
}

/* ---- staging ----------------------------------------------------------- */

struct staged {
	char digest[O2V_DIGEST_MAX];
	char *path;
};

struct o2v_stage {
	struct o2v_cache *cache;
	char *dir;
	int lock_fd;
	struct staged *blobs;
	size_t n_blobs;
};

/* Blobs are copied into WRITER_BUF buffers; a full buffer is hashed and
 * written as one piece (curl hands over 16 KiB at a time: batching saves most
 * syscalls). For blobs of WRITER_ASYNC_MIN bytes or more one worker thread
 * hashes and another writes while the caller keeps receiving, WRITER_NBUF
 * buffers in flight: a pull is bound by this process's CPU (SHA-256 plus two
 * copies per byte), not by a loopback or LAN registry, and SHA-256 alone is
 * the longest of the three. */
#define WRITER_BUF	 (256 << 10)
#define WRITER_NBUF	 4
#define WRITER_ASYNC_MIN (512 << 10)
/* Start writeback of what was written every WRITER_KICK bytes, so the fsync
 * at finish waits for the tail of the blob only, not for all of it. */
#define WRITER_KICK (4 << 20)

struct o2v_blob_writer {
	struct o2v_stage *stage;
	char digest[O2V_DIGEST_MAX];
	char *path;
	int fd;
	uint64_t size, written;
	struct o2v_hasher hash;
	bool finished;
	char *bufs[WRITER_NBUF];
	size_t lens[WRITER_NBUF];
	size_t nbuf;	  /* 1: synchronous, WRITER_NBUF: worker threads */
	size_t fill;	  /* bytes in the buffer being filled, bufs[tail % nbuf] */
	uint64_t on_disk; /* bytes written to fd (storer-owned while it runs) */
	uint64_t kicked;  /* writeback started up to here (storer-owned) */
	int io_error;	  /* first write error (-errno), under mu */
	/* under mu: buffers queued in total, and how many of them each worker
	 * (WORKER_HASH, WORKER_STORE) has done; a buffer is free when both have */
	unsigned tail, done[2];
	bool quit, threaded; /* threaded: mu and cond exist */
	unsigned n_threads;
	pthread_t threads[2];
	struct writer_worker {
		struct o2v_blob_writer *w;
		int job;
	} workers[2];
	pthread_mutex_t mu;
	pthread_cond_t cond; /* a buffer queued, a buffer done, or quit */
};

enum { WORKER_HASH, WORKER_STORE };

int o2v_stage_open(struct o2v_cache *c, struct o2v_stage **ret, struct o2v_error *err)
{
	struct o2v_stage *s = calloc(1, sizeof(*s));
	_cleanup_free_ char *lock = NULL;

	if (!s || asprintf(&s->dir, "%s/" STAGE_PREFIX "XXXXXX", c->tmp_dir) < 0) {
		free(s);
		return o2v_error_set(err, -ENOMEM, "stage download");
	}
	s->cache = c;
	s->lock_fd = -1;
	if (!mkdtemp(s->dir)) {
		int e = -errno;
		free(s->dir);
		free(s);
		return o2v_error_sys(err, e, "create staging directory in '%s'", c->tmp_dir);
	}
	/* Held while we live: prune removes only stages whose lock is free. */
	lock = o2v_path_join(s->dir, "lock");
	s->lock_fd = lock ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX) < 0) {
		int e = lock ? -errno : -ENOMEM;
		o2v_stage_free(s);
		return o2v_error_sys(err, e, "lock staging directory");
	}
	*ret = s;
	return 0;
}

void o2v_stage_free(struct o2v_stage *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_blobs; i++)
		free(s->blobs[i].path);
	free(s->blobs);
	o2v_rm_rf(s->dir, NULL);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s);
}

static int stage_add(struct o2v_stage *s, const char *digest, const char *path,
		     struct o2v_error *err)
{
	struct staged *n = realloc(s->blobs, (s->n_blobs + 1) * sizeof(*n));

	if (!n)
		return o2v_error_set(err, -ENOMEM, "stage blob");
	s->blobs = n;
	snprintf(n[s->n_blobs].digest, O2V_DIGEST_MAX, "%s", digest);
	if (!(n[s->n_blobs].path = strdup(path)))
		return o2v_error_set(err, -ENOMEM, "stage blob");
	s->n_blobs++;
	return 0;
}

static int write_error(int e, const char *digest, const struct o2v_stage *s, struct o2v_error *err)
{
	if (e == -ENOSPC || e == -EDQUOT)
		return o2v_error_set(err, e,
				     "disk full while storing blob %s in the cache '%s'; free some "
				     "space (e.g. 'oci2vm prune') and pull again",
				     digest, s->cache->root);
	return o2v_error_sys(err, e, "store blob %s in the cache", digest);
}

static int writer_store(struct o2v_blob_writer *w, const char *buf, size_t len)
{
	int r;

	if ((r = o2v_write_all(w->fd, buf, len)) < 0)
		return r;
	w->on_disk += len;
	if (w->on_disk - w->kicked >= WRITER_KICK) {
		/* only a hint: a failure here shows up again at fsync */
		(void)sync_file_range(w->fd, (off64_t)w->kicked, (off64_t)(w->on_disk - w->kicked),
				      SYNC_FILE_RANGE_WRITE);
		w->kicked = w->on_disk;
	}
	return 0;
}

static void *writer_thread(void *ud)
{
	struct writer_worker *me = ud;
	struct o2v_blob_writer *w = me->w;
	unsigned *done = &w->done[me->job];

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (*done == w->tail && !w->quit)
			pthread_cond_wait(&w->cond, &w->mu);
		if (*done == w->tail)
			break;
		size_t i = *done % w->nbuf;
		bool skip = w->io_error < 0; /* after an error, only drain the queue */
		pthread_mutex_unlock(&w->mu);
		int r = 0;
		if (me->job == WORKER_HASH)
			o2v_hasher_update(&w->hash, w->bufs[i], w->lens[i]);
		else if (!skip)
			r = writer_store(w, w->bufs[i], w->lens[i]);
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->io_error)
			w->io_error = r;
		(*done)++;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Hand the buffer being filled over (to the worker, or consume it here). */
static int writer_push(struct o2v_blob_writer *w)
{
	size_t i = w->tail % w->nbuf;
	int r = 0;

	if (!w->fill)
		return 0;
	w->lens[i] = w->fill;
	w->fill = 0;
	if (w->nbuf == 1) {
		o2v_hasher_update(&w->hash, w->bufs[i], w->lens[i]);
		if ((r = writer_store(w, w->bufs[i], w->lens[i])) < 0 && !w->io_error)
			w->io_error = r;
		return w->io_error;
	}
	pthread_mutex_lock(&w->mu);
	w->tail++;
	pthread_cond_broadcast(&w->cond);
	/* the next buffer to fill must be free: back pressure, not memory growth */
	while (w->tail - w->done[WORKER_HASH] >= w->nbuf ||
	       w->tail - w->done[WORKER_STORE] >= w->nbuf)
		pthread_cond_wait(&w->cond, &w->mu);
	r = w->io_error;
	pthread_mutex_unlock(&w->mu);
	return r;
}

/* Push what is buffered and wait until all of it is hashed and written. */
static int writer_drain(struct o2v_blob_writer *w)
{
	int r = writer_push(w);

	if (w->nbuf == 1)
		return r;
	pthread_mutex_lock(&w->mu);
	while (w->done[WORKER_HASH] != w->tail || w->done[WORKER_STORE] != w->tail)
		pthread_cond_wait(&w->cond, &w->mu);
	r = w->io_error;
	pthread_mutex_unlock(&w->mu);
	return r;
}

int o2v_stage_blob_open(struct o2v_stage *s, const char *digest, uint64_t size,
			struct o2v_blob_writer **ret, struct o2v_error *err)
{
	struct o2v_blob_writer *w;
	int r = o2v_digest_check(digest, -EBADMSG, err);

	if (r < 0)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w)
		return o2v_error_set(err, -ENOMEM, "stage blob");
	w->stage = s;
	w->fd = -1;
	w->size = size;
	w->nbuf = size >= WRITER_ASYNC_MIN ? WRITER_NBUF : 1;
	snprintf(w->digest, sizeof(w->digest), "%s", digest);
	for (size_t i = 0; i < w->nbuf; i++)
		if (!(w->bufs[i] = malloc(size < WRITER_BUF ? (size ? size : 1) : WRITER_BUF)))
			goto nomem;
	if (asprintf(&w->path, "%s/%.*s-%s", s->dir, (int)o2v_digest_algo_len(digest), digest,
		     o2v_digest_hex(digest)) < 0) {
		w->path = NULL;
		goto nomem;
	}
	if ((r = o2v_hasher_init(&w->hash, digest, err)) < 0) {
		o2v_blob_writer_free(w);
		return r;
	}
	w->fd = open(w->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		r = write_error(-errno, digest, s, err);
		o2v_blob_writer_free(w);
		return r;
	}
	if (w->nbuf > 1) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->threaded = true;
		for (int job = WORKER_HASH; job <= WORKER_STORE; job++) {
			w->workers[job] = (struct writer_worker){w, job};
			r = -pthread_create(&w->threads[job], NULL, writer_thread,
					    &w->workers[job]);
			if (r < 0) {
				o2v_blob_writer_free(w);
				return o2v_error_sys(err, r, "start a thread to store blob %s",
						     digest);
			}
			w->n_threads++;
		}
	}
	*ret = w;
	return 0;
nomem:
	o2v_blob_writer_free(w);
	return o2v_error_set(err, -ENOMEM, "stage blob");
}

int o2v_blob_writer_write(struct o2v_blob_writer *w, const void *buf, size_t len,
			  struct o2v_error *err)
{
	const char *p = buf;
	int r;

	if (w->written + len > w->size)
		return o2v_error_set(err, -EBADMSG,
				     "blob %s is larger than the %llu bytes its descriptor says",
				     w->digest, (unsigned long long)w->size);
	w->written += len;
	while (len > 0) {
		size_t cap = w->size < WRITER_BUF ? w->size : WRITER_BUF;
		size_t n = cap - w->fill < len ? cap - w->fill : len;
		memcpy(w->bufs[w->tail % w->nbuf] + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
		if (w->fill == cap && (r = writer_push(w)) < 0)
			return write_error(r, w->digest, w->stage, err);
	}
	return 0;
}

int o2v_blob_writer_reset(struct o2v_blob_writer *w, struct o2v_error *err)
{
	w->fill = 0;
	(void)writer_drain(w); /* whatever failed is thrown away with the bytes */
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return o2v_error_sys(err, -errno, "restart blob %s", w->digest);
	w->written = w->on_disk = w->kicked = 0;
	w->io_error = 0;
	return o2v_hasher_reset(&w->hash, err);
}

uint64_t o2v_blob_writer_offset(const struct o2v_blob_writer *w)
{
	return w->written;
}

int o2v_blob_writer_finish(struct o2v_blob_writer *w, struct o2v_error *err)
{
	char got[O2V_DIGEST_MAX];
	int r;

	if (w->written != w->size)
		return o2v_error_set(err, -EBADMSG, "blob %s is truncated: got %llu of %llu bytes",
				     w->digest, (unsigned long long)w->written,
				     (unsigned long long)w->size);
	if ((r = writer_drain(w)) < 0)
		return write_error(r, w->digest, w->stage, err);
	if ((r = o2v_hasher_final(&w->hash, got, err)) < 0)
		return r;
	if (strcmp(got, w->digest))
		return o2v_error_set(err, -EBADMSG,
				     "digest mismatch for blob %s: the registry sent content with "
				     "digest %s",
				     w->digest, got);
	if (fsync(w->fd) < 0)
		return write_error(-errno, w->digest, w->stage, err);
	close(TAKE_FD(w->fd));
	if ((r = stage_add(w->stage, w->digest, w->path, err)) < 0)
		return r;
	w->finished = true;
	return 0;
}

void o2v_blob_writer_free(struct o2v_blob_writer *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
		for (unsigned i = 0; i < w->n_threads; i++)
			pthread_join(w->threads[i], NULL);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->mu);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (!w->finished && w->path)
		unlink(w->path);
	o2v_hasher_release(&w->hash);
	free(w->path);
	for (size_t i = 0; i < WRITER_NBUF; i++)
		free(w->bufs[i]);
	free(w);
}

int o2v_stage_put(struct o2v_stage *s, const char *digest, const void *buf, size_t len,
		  struct o2v_error *err)
{
	struct o2v_blob_writer *w;
	int r = o2v_stage_blob_open(s, digest, len, &w, err);

	if (r < 0)
		return r;
	if ((r = o2v_blob_writer_write(w, buf, len, err)) >= 0)
		r = o2v_blob_writer_finish(w, err);
	o2v_blob_writer_free(w);
	return r;
}

/* Every blob entry needs, from the stage or the cache. */
static int check_complete(struct o2v_stage *s, const struct o2v_cache_entry *e,
			  struct o2v_error *err)
{
	_cleanup_free_ char *buf = NULL;
	struct o2v_manifest m;
	size_t len;
	int r;

	if ((r = o2v_cache_read_blob(s->cache, e->digest, O2V_MANIFEST_MAX, &buf, &len, err)) < 0)
		return r;
	if ((r = o2v_manifest_parse(buf, len, e->media_type, &m, err)) < 0)
		return r;
	if (m.kind == O2V_MANIFEST_IMAGE) {
		bool ok = o2v_cache_has_blob(s->cache, m.config.digest, (int64_t)m.config.size);
		for (size_t i = 0; ok && i < m.n_layers; i++)
			ok = o2v_cache_has_blob(s->cache, m.layers[i].digest,
						(int64_t)m.layers[i].size);
		if (!ok)
			r = o2v_error_set(err, -EAGAIN,
					  "a blob of '%s' was removed from the cache while pulling "
					  "(a concurrent prune?); pull again",
					  e->name);
	}
	o2v_manifest_release(&m);
	return r;
}

static int fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int o2v_stage_commit(struct o2v_stage *s, const struct o2v_cache_entry *entry,
		     struct o2v_error *err)
{
	struct o2v_cache *c = s->cache;
	_cleanup_close_ int lock = lock_cache(c, LOCK_EX, err);
	_cleanup_free_ bool *created = calloc(s->n_blobs + 1, sizeof(bool));
	_cleanup_free_ char *bdir = o2v_path_join(c->root, "blobs/sha256");
	json_object *idx = NULL, *m, *keep;
	int r = 0;

	if (lock < 0)
		return lock;
	if (!created)
		return o2v_error_set(err, -ENOMEM, "commit");
	for (size_t i = 0; i < s->n_blobs; i++) {
		_cleanup_free_ char *dst = blob_path(c, s->blobs[i].digest);
		_cleanup_free_ char *dir = NULL;
		if (!dst)
			return o2v_error_set(err, -ENOMEM, "commit");
		created[i] = access(dst, F_OK) < 0;
		if (created[i]) {
			dir = strndup(dst, (size_t)(strrchr(dst, '/') - dst));
			if (!dir || (r = o2v_mkdir_p(dir, 0700, err)) < 0)
				goto undo;
		}
		if (rename(s->blobs[i].path, dst) < 0) {
			r = o2v_error_sys(err, -errno, "move blob into '%s'", dst);
			created[i] = false;
			goto undo;
		}
	}
	if (bdir && s->n_blobs)
		fsync_dir(bdir);
	if (!entry)
		return 0;
	if ((r = check_complete(s, entry, err)) < 0)
		goto undo;
	if ((r = index_read(c, &idx, err)) < 0)
		goto undo;
	json_object_object_get_ex(idx, "manifests", &m);
	keep = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		json_object *j = json_object_array_get_idx(m, i);
		const char *n = annotation(j, O2V_ANNOTATION_REF_NAME);
		if (!n || strcmp(n, entry->name))
			json_object_array_add(keep, json_object_get(j));
	}
	json_object_array_add(keep, entry_to_json(entry));
	json_object_object_add(idx, "manifests", keep);
	r = index_write(c, idx, err);
	json_object_put(idx);
	if (r < 0) {
		if (r == -ENOSPC || r == -EDQUOT)
			o2v_error_set(err, r, "disk full while updating the cache index in '%s'",
				      c->root);
		goto undo;
	}
	return 0;
undo:
	/* Nobody can have tagged what we just added (we hold the lock): take it
	 * back so a failed pull leaves the cache as it was. */
	for (size_t i = 0; i < s->n_blobs; i++)
		if (created[i]) {
			_cleanup_free_ char *dst = blob_path(c, s->blobs[i].digest);
			if (dst)
				unlink(dst);
		}
	return r;
}

/* ---- prune ------------------------------------------------------------- */

struct mark {
	char **v;
	size_t n, cap;
};

static int mark_add(struct mark *mk, const char *d)
{
	if (mk->n == mk->cap) {
		size_t nc = mk->cap ? mk->cap * 2 : 64;
		char **nv = realloc(mk->v, nc * sizeof(char *));
		if (!nv)
			return -ENOMEM;
		mk->v = nv;
		mk->cap = nc;
	}
	if (!(mk->v[mk->n] = strdup(d)))
		return -ENOMEM;
	mk->n++;
	return 0;
}

static bool mark_has(const struct mark *mk, const char *d)
{
	for (size_t i = 0; i < mk->n; i++)
		if (!strcmp(mk->v[i], d))
			return true;
	return false;
}

static int mark_tree(const struct o2v_cache *c, const char *digest, const char *mt, int depth,
		     struct mark *mk)
{
	_cleanup_free_ char *buf = NULL;
	struct o2v_manifest m;
	size_t len;
	int r;

	if (mark_has(mk, digest))
		return 0;
	if ((r = mark_add(mk, digest)) < 0)
		return r;
	if (depth > O2V_INDEX_DEPTH_MAX ||
	    o2v_cache_read_blob(c, digest, O2V_MANIFEST_MAX, &buf, &len, NULL) < 0 ||
	    o2v_manifest_parse(buf, len, mt, &m, NULL) < 0)
		return 0; /* not a manifest we understand: keep it, nothing below */
	if (m.kind == O2V_MANIFEST_IMAGE) {
		if ((r = mark_add(mk, m.config.digest)) >= 0)
			for (size_t i = 0; i < m.n_layers && r >= 0; i++)
				r = mark_add(mk, m.layers[i].digest);
	} else {
		for (size_t i = 0; i < m.n_manifests && r >= 0; i++)
			r = mark_tree(c, m.manifests[i].digest, m.manifests[i].media_type,
				      depth + 1, mk);
	}
	o2v_manifest_release(&m);
	return r;
}

static void prune_stale_stages(struct o2v_cache *c, struct o2v_prune_stats *st)
{
	DIR *d = opendir(c->tmp_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)))
			continue;
		_cleanup_free_ char *dir = o2v_path_join(c->tmp_dir, de->d_name);
		_cleanup_free_ char *lock = dir ? o2v_path_join(dir, "lock") : NULL;
		if (!lock)
			continue;
		_cleanup_close_ int fd = open(lock, O_RDWR | O_CLOEXEC);
		/* no lock file yet: a stage being created right now, or a crash
		 * between mkdtemp and open; only the latter is old */
		if (fd < 0) {
			struct stat sb;
			if (stat(dir, &sb) < 0 || time(NULL) - sb.st_mtime < 3600)
				continue;
		} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			continue; /* a live pull */
		}
		if (o2v_rm_rf(dir, NULL) == 0)
			st->stale++;
	}
	closedir(d);
}

int o2v_cache_prune(struct o2v_cache *c, struct o2v_prune_stats *ret, struct o2v_error *err)
{
	_cleanup_close_ int lock = -1;
	struct o2v_prune_stats st = {0};
	struct mark mk = {0};
	json_object *idx, *m;
	int r;

	if ((r = index_lock_read(c, &lock, &idx, &m, err)) < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(m) && r >= 0; i++) {
		struct o2v_cache_entry e;
		if (entry_from_json(json_object_array_get_idx(m, i), &e, NULL) == 0)
			r = mark_tree(c, e.digest, e.media_type, 0, &mk);
		o2v_cache_entry_release(&e);
	}
	json_object_put(idx);
	if (r < 0) {
		r = o2v_error_set(err, -ENOMEM, "prune");
		goto out;
	}
	static const char *const algos[] = {"sha256", "sha512"};
	for (size_t a = 0; a < ARRAY_SIZE(algos); a++) {
		_cleanup_free_ char *dir = NULL;
		if (asprintf(&dir, "%s/blobs/%s", c->root, algos[a]) < 0)
			continue;
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char dg[300];
			struct stat sb;
			if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
				continue;
			snprintf(dg, sizeof(dg), "%s:%s", algos[a], de->d_name);
			bool valid = o2v_digest_valid(dg);
			if (valid && mark_has(&mk, dg))
				continue;
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
			    S_ISDIR(sb.st_mode))
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
				if (valid) {
					st.blobs++;
					st.bytes += (uint64_t)sb.st_size;
				} else {
					st.stale++;
				}
			}
		}
		closedir(d);
	}
	prune_stale_stages(c, &st);
	if (ret)
		*ret = st;
	r = 0;
out:
	for (size_t i = 0; i < mk.n; i++)
		free(mk.v[i]);
	free(mk.v);
	return r;
}
