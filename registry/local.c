/* local.c - oci:, oci-archive: and docker-archive: images; see local.h.
 *
 * Archives are read with libarchive, one sequential pass per lookup: an
 * uncompressed tar (what skopeo and docker write) skips entry data with
 * lseek, so a pass that only reads index.json or a manifest is cheap, and
 * layers are streamed straight from the archive into the cache's staging
 * area. Nothing is extracted to disk first and no layer is held in memory.
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "../common/fsutil.h"
#include "cache.h"
#include "digest.h"
#include "local.h"
#include "manifest.h"
#include "platform.h"

#define LOCAL_IO_BUF (256 << 10)
#define LOCAL_PEEK 8		/* bytes needed to recognise gzip / zstd */
#define OCI_LAYOUT_MAX 4096
#define DOCKER_ARCHIVE_IMAGES_MAX 1024

static const char *const local_transports[] = { "oci", "oci-archive", "docker-archive" };

bool o2v_local_transport(const char *transport)
{
	for (size_t i = 0; transport && i < ARRAY_SIZE(local_transports); i++)
		if (!strcmp(transport, local_transports[i]))
			return true;
	return false;
}

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

/* ---- references ---- */

static char *absolute_path(const char *path)
{
	char *real = realpath(path, NULL);
	_cleanup_free_ char *cwd = NULL;

	if (real || path[0] == '/')
		return real ? real : strdup(path);
	cwd = getcwd(NULL, 0);
	return cwd ? o2v_path_join(cwd, path) : NULL;
}

int o2v_local_ref_parse(const char *text, struct o2v_ref *ret, struct o2v_error *err)
{
	const char *colon = strchr(text, ':');
	const char *transport = NULL;
	_cleanup_free_ char *path = NULL, *abs = NULL, *tag = NULL, *normalized = NULL;

	if (!colon)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(local_transports); i++)
		if (strlen(local_transports[i]) == (size_t)(colon - text) &&
		    !strncmp(text, local_transports[i], (size_t)(colon - text)))
			transport = local_transports[i];
	if (!transport)
		return 0;

	/* containers/image: the path ends at the first ':' */
	const char *rest = colon + 1;
	const char *sep = strchr(rest, ':');
	size_t plen = sep ? (size_t)(sep - rest) : strlen(rest);
	if (plen == 0)
		return o2v_error_set(err, -EINVAL, "invalid reference '%s': no %s after '%s:'",
				     text, strcmp(transport, "oci") ? "archive file" : "directory",
				     transport);
	if (sep && !sep[1])
		return o2v_error_set(err, -EINVAL, "invalid reference '%s': empty tag after ':'",
				     text);
	path = strndup(rest, plen);
	abs = path ? absolute_path(path) : NULL;
	if (!abs)
		return o2v_error_sys(err, -ENOMEM, "parse reference '%s'", text);

	if (sep && !strcmp(transport, "docker-archive")) {
		/* REF picks one of the archive's RepoTags, compared normalised */
		struct o2v_ref inner = { 0 };
		int r = o2v_ref_parse(sep + 1, &inner, err);
		if (r < 0)
			return o2v_error_prefix(err, "invalid reference '%s'", text);
		bool ok = inner.transport && !strcmp(inner.transport, "docker") && !inner.digest;
		tag = ok ? strdup(inner.normalized) : NULL;
		o2v_ref_release(&inner);
		if (!ok)
			return o2v_error_set(err, -EINVAL,
					     "invalid reference '%s': '%s' must be a NAME[:TAG] "
					     "without a digest",
					     text, sep + 1);
		if (!tag)
			return o2v_error_sys(err, -ENOMEM, "parse reference '%s'", text);
	} else if (sep) {
		tag = strdup(sep + 1);
		if (!tag)
			return o2v_error_sys(err, -ENOMEM, "parse reference '%s'", text);
	}
	if (asprintf(&normalized, "%s:%s%s%s", transport, abs, tag ? ":" : "", tag ? tag : "") < 0)
		return o2v_error_sys(err, -ENOMEM, "parse reference '%s'", text);

	memset(ret, 0, sizeof(*ret));
	ret->transport = strdup(transport);
	if (!ret->transport)
		return o2v_error_sys(err, -ENOMEM, "parse reference '%s'", text);
	ret->path = TAKE_PTR(abs);
	ret->tag = TAKE_PTR(tag);
	ret->normalized = TAKE_PTR(normalized);
	return 1;
}

/* ---- sources: a directory or an archive ---- */

struct source {
	bool archive;
	const char *path;
};

/* Entry names as archives spell them: "./index.json", "/blobs/..." */
static const char *clean_name(const char *name)
{
	for (;;) {
		if (name[0] == '.' && name[1] == '/')
			name += 2;
		else if (name[0] == '/')
			name++;
		else
			return name;
	}
}

/* Called for each entry; returns < 0 to fail, 0 to go on, 1 to stop. */
typedef int (*scan_fn)(void *ud, struct archive *a, struct archive_entry *e, const char *name,
		       struct o2v_error *err);

static int archive_scan(const char *file, scan_fn fn, void *ud, struct o2v_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 0;

	if (!a)
		return o2v_error_sys(err, -ENOMEM, "read '%s'", file);
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, file, LOCAL_IO_BUF) != ARCHIVE_OK) {
		int e2 = archive_errno(a);
		r = e2 == ENOENT ? o2v_error_set(err, -ENOENT, "archive '%s' not found", file)
		    : e2 > 0     ? o2v_error_sys(err, -e2, "open archive '%s'", file)
				 : o2v_error_set(err, -EBADMSG, "open archive '%s': %s", file,
						 archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	for (;;) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = o2v_error_set(err, -EBADMSG, "read archive '%s': %s", file,
					  archive_error_string(a));
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (!name)
			continue;
		r = fn(ud, a, e, clean_name(name), err);
		if (r != 0)
			break;
	}
	archive_read_free(a);
	return r < 0 ? r : 0;
}

/* Read exactly size bytes of the current entry into a new NUL-terminated buffer. */
static int archive_read_all(struct archive *a, const char *name, int64_t size, size_t max,
			    char **ret, struct o2v_error *err)
{
	if (size < 0 || (uint64_t)size > max)
		return o2v_error_set(err, -E2BIG, "'%s' is larger than %zu bytes", name, max);
	_cleanup_free_ char *buf = malloc((size_t)size + 1);
	size_t got = 0;
	if (!buf)
		return o2v_error_sys(err, -ENOMEM, "read '%s'", name);
	while (got < (size_t)size) {
		la_ssize_t n = archive_read_data(a, buf + got, (size_t)size - got);
		if (n < 0)
			return o2v_error_set(err, -EBADMSG, "read '%s': %s", name,
					     archive_error_string(a));
		if (n == 0)
			return o2v_error_set(err, -EBADMSG, "read '%s': archive truncated", name);
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

struct read_many {
	const char *const *names;
	size_t n, max, found;
	char **bufs;
	size_t *lens;
	const char *file;
};

static int read_many_fn(void *ud, struct archive *a, struct archive_entry *e, const char *name,
			struct o2v_error *err)
{
	struct read_many *rm = ud;

	if (archive_entry_filetype(e) != AE_IFREG)
		return 0;
	for (size_t i = 0; i < rm->n; i++) {
		if (rm->bufs[i] || strcmp(name, rm->names[i]))
			continue;
		int64_t size = archive_entry_size(e);
		int r = archive_read_all(a, name, size, rm->max, &rm->bufs[i], err);
		if (r < 0)
			return o2v_error_prefix(err, "archive '%s'", rm->file);
		rm->lens[i] = (size_t)size;
		return ++rm->found == rm->n ? 1 : 0;
	}
	return 0;
}

/* Read files by their name inside the source; absent ones stay NULL. */
static int source_read_many(const struct source *s, const char *const *names, size_t n,
			    size_t max, char **bufs, size_t *lens, struct o2v_error *err)
{
	for (size_t i = 0; i < n; i++)
		bufs[i] = NULL, lens[i] = 0;
	if (s->archive) {
		struct read_many rm = { names, n, max, 0, bufs, lens, s->path };
		int r = archive_scan(s->path, read_many_fn, &rm, err);
		if (r < 0)
			for (size_t i = 0; i < n; i++) {
				free(bufs[i]);
				bufs[i] = NULL;
			}
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = o2v_path_join(s->path, names[i]);
		if (!p)
			return o2v_error_sys(err, -ENOMEM, "read '%s'", names[i]);
		int r = o2v_read_file(p, max, &bufs[i], &lens[i], err);
		if (r == -ENOENT) {
			o2v_error_clear(err);
			continue;
		}
		if (r < 0) {
			for (size_t j = 0; j < i; j++) {
				free(bufs[j]);
				bufs[j] = NULL;
			}
			return r;
		}
	}
	return 0;
}

static char *blob_name(const char *digest)
{
	char *name = NULL;

	if (asprintf(&name, "blobs/%.*s/%s", (int)o2v_digest_algo_len(digest), digest,
		     o2v_digest_hex(digest)) < 0)
		return NULL;
	return name;
}

/* Read a small blob and verify it against its descriptor (size and digest). */
static int source_read_blob(const struct source *s, const struct o2v_descriptor *d, size_t max,
			    char **ret, size_t *ret_len, struct o2v_error *err)
{
	_cleanup_free_ char *name = blob_name(d->digest);
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!name)
		return o2v_error_sys(err, -ENOMEM, "read blob");
	if (d->size > max)
		return o2v_error_set(err, -E2BIG, "blob %s is larger than %zu bytes", d->digest,
				     max);
	const char *names[] = { name };
	r = source_read_many(s, names, 1, max, &buf, &len, err);
	if (r < 0)
		return r;
	if (!buf)
		return o2v_error_set(err, -ENOENT, "blob %s is missing from '%s'", d->digest,
				     s->path);
	if (len != d->size) {
		free(buf);
		return o2v_error_set(err, -EBADMSG,
				     "blob %s has %zu bytes, its descriptor says %llu", d->digest,
				     len, (unsigned long long)d->size);
	}
	r = o2v_digest_verify(buf, len, d->digest, d->digest, err);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* ---- streaming into the stage ---- */

typedef ssize_t (*read_fn)(void *ud, void *buf, size_t len);

static ssize_t fd_read(void *ud, void *buf, size_t len)
{
	ssize_t n = O2V_RETRY(read(*(int *)ud, buf, len));

	return n < 0 ? -errno : n;
}

static ssize_t archive_data_read(void *ud, void *buf, size_t len)
{
	la_ssize_t n = archive_read_data(ud, buf, len);

	return n < 0 ? -EIO : (ssize_t)n;
}

/* Stream a blob into the stage: head (already read, may be empty) then the
 * rest from rd. The writer refuses bytes beyond size and finish() checks the
 * size and digest, so a corrupt source never reaches the cache. */
static int stage_stream(struct o2v_stage *st, const char *digest, uint64_t size, const void *head,
			size_t head_len, read_fn rd, void *ud, struct o2v_error *err)
{
	struct o2v_blob_writer *w;
	_cleanup_free_ char *buf = malloc(LOCAL_IO_BUF);
	int r;

	if (!buf)
		return o2v_error_sys(err, -ENOMEM, "copy blob %s", digest);
	r = o2v_stage_blob_open(st, digest, size, &w, err);
	if (r < 0)
		return r;
	if (head_len)
		r = o2v_blob_writer_write(w, head, head_len, err);
	while (r >= 0) {
		ssize_t n = rd(ud, buf, LOCAL_IO_BUF);
		if (n < 0) {
			r = o2v_error_sys(err, (int)n, "read blob %s", digest);
			break;
		}
		if (n == 0)
			break;
		r = o2v_blob_writer_write(w, buf, (size_t)n, err);
	}
	if (r >= 0)
		r = o2v_blob_writer_finish(w, err);
	o2v_blob_writer_free(w);
	return r;
}

/* One blob the import needs from the source. */
struct want {
	char *name; /* entry / file name in the source */
	char digest[O2V_DIGEST_MAX]; /* "" = not known yet (docker-archive, compressed) */
	uint64_t size;
	bool size_known; /* from a descriptor; else taken from the archive entry */
	char diff_id[O2V_DIGEST_MAX]; /* docker-archive: the digest of an uncompressed layer */
	int compression; /* 0 none, 1 gzip, 2 zstd; -1 unknown yet */
	bool done, need_hash;
};

struct import {
	struct o2v_cache *cache;
	struct o2v_stage *stage;
	const struct o2v_ref *ref;
	const struct o2v_pull_opts *opts;
	struct source src;
	struct want *wants;
	size_t n_wants;
	bool hash_pass; /* the docker-archive pass that computes missing digests */
};

static void progress(const struct import *im, enum o2v_progress_kind kind, const char *digest,
		     uint64_t done, uint64_t total)
{
	if (im->opts && im->opts->progress) {
		struct o2v_progress p = { .kind = kind, .digest = digest, .done = done,
					  .total = total };
		im->opts->progress(&p, im->opts->userdata);
	}
}

static int compression_of(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return 1;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return 2;
	return 0;
}

/* Read up to want bytes (fewer only at the end of the entry). */
static ssize_t archive_peek(struct archive *a, unsigned char *buf, size_t want)
{
	size_t got = 0;

	while (got < want) {
		la_ssize_t n = archive_read_data(a, buf + got, want - got);
		if (n < 0)
			return -EIO;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int hash_entry(struct archive *a, struct want *w, struct o2v_error *err)
{
	struct o2v_hasher h;
	_cleanup_free_ char *buf = malloc(LOCAL_IO_BUF);
	int r;

	if (!buf)
		return o2v_error_sys(err, -ENOMEM, "hash '%s'", w->name);
	if ((r = o2v_hasher_init(&h, "sha256", err)) < 0)
		return r;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, LOCAL_IO_BUF);
		if (n < 0) {
			o2v_hasher_release(&h);
			return o2v_error_set(err, -EBADMSG, "read '%s': %s", w->name,
					     archive_error_string(a));
		}
		if (n == 0)
			break;
		o2v_hasher_update(&h, buf, (size_t)n);
	}
	r = o2v_hasher_final(&h, w->digest, err);
	o2v_hasher_release(&h);
	w->need_hash = false;
	return r;
}

static int stage_want_fn(void *ud, struct archive *a, struct archive_entry *e, const char *name,
			 struct o2v_error *err)
{
	struct import *im = ud;
	size_t pending = 0;
	int r = 0;

	if (archive_entry_filetype(e) != AE_IFREG)
		return 0;
	for (size_t i = 0; i < im->n_wants; i++) {
		struct want *w = &im->wants[i];
		if (w->done || strcmp(name, w->name))
			continue;
		int64_t esize = archive_entry_size(e);
		if (esize < 0)
			return o2v_error_set(err, -EBADMSG, "'%s' has no size", name);
		if (im->hash_pass) {
			if (w->need_hash && (r = hash_entry(a, w, err)) < 0)
				return r;
			break;
		}
		if (w->size_known && w->size != (uint64_t)esize)
			return o2v_error_set(err, -EBADMSG,
					     "'%s' has %lld bytes, its descriptor says %llu", name,
					     (long long)esize, (unsigned long long)w->size);
		w->size = (uint64_t)esize;
		unsigned char head[LOCAL_PEEK];
		ssize_t hn = 0;
		if (w->compression < 0) {
			hn = archive_peek(a, head, sizeof(head));
			if (hn < 0)
				return o2v_error_set(err, -EBADMSG, "read '%s': %s", name,
						     archive_error_string(a));
			w->compression = compression_of(head, (size_t)hn);
			if (!w->digest[0] && w->compression == 0)
				snprintf(w->digest, sizeof(w->digest), "%s", w->diff_id);
		}
		if (!w->digest[0]) { /* compressed, digest unknown: hash first, next pass */
			w->need_hash = true;
			break;
		}
		if (!o2v_cache_has_blob(im->cache, w->digest, (int64_t)w->size)) {
			r = stage_stream(im->stage, w->digest, w->size, head, (size_t)hn,
					 archive_data_read, a, err);
			if (r < 0)
				return o2v_error_prefix(err, "'%s'", name);
		}
		w->done = true;
		progress(im, O2V_PROGRESS_LAYER_DONE, w->digest, w->size, w->size);
		/* the same file may be listed again (docker dedups layers by content) */
		for (size_t j = i + 1; j < im->n_wants; j++)
			if (!strcmp(im->wants[j].name, name)) {
				struct want *o = &im->wants[j];
				snprintf(o->digest, sizeof(o->digest), "%s", w->digest);
				o->size = w->size;
				o->compression = w->compression;
				o->done = true;
			}
		break;
	}
	for (size_t i = 0; i < im->n_wants; i++)
		pending += im->hash_pass ? im->wants[i].need_hash : !im->wants[i].done;
	return pending == 0 ? 1 : 0;
}

/* Stage every want from the source. */
static int stage_wants(struct import *im, struct o2v_error *err)
{
	int r;

	if (!im->src.archive) {
		for (size_t i = 0; i < im->n_wants; i++) {
			struct want *w = &im->wants[i];
			progress(im, O2V_PROGRESS_LAYER, w->digest, 0, w->size);
			if (!o2v_cache_has_blob(im->cache, w->digest, (int64_t)w->size)) {
				_cleanup_free_ char *p = o2v_path_join(im->src.path, w->name);
				_cleanup_close_ int fd =
					p ? open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
				if (fd < 0)
					return errno == ENOENT
						       ? o2v_error_set(err, -ENOENT,
								       "blob %s is missing from '%s'",
								       w->digest, im->src.path)
						       : o2v_error_sys(err, p ? -errno : -ENOMEM,
								       "open '%s'", p ? p : w->name);
				r = stage_stream(im->stage, w->digest, w->size, NULL, 0, fd_read, &fd,
						 err);
				if (r < 0)
					return r;
			}
			w->done = true;
			progress(im, O2V_PROGRESS_LAYER_DONE, w->digest, w->size, w->size);
		}
		return 0;
	}
	for (int pass = 0; pass < 3; pass++) {
		size_t pending = 0, hashes = 0;
		for (size_t i = 0; i < im->n_wants; i++) {
			pending += !im->wants[i].done;
			hashes += im->wants[i].need_hash;
		}
		if (!pending)
			return 0;
		im->hash_pass = hashes > 0;
		r = archive_scan(im->src.path, stage_want_fn, im, err);
		im->hash_pass = false;
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < im->n_wants; i++)
		if (!im->wants[i].done)
			return o2v_error_set(err, -ENOENT, "'%s' is missing from '%s'",
					     im->wants[i].name, im->src.path);
	return 0;
}

static void wants_free(struct import *im)
{
	for (size_t i = 0; i < im->n_wants; i++)
		free(im->wants[i].name);
	free(im->wants);
	im->wants = NULL;
	im->n_wants = 0;
}

/* size < 0: unknown, taken from the archive entry. */
static int want_add(struct import *im, const char *name, const char *digest, int64_t size,
		    struct o2v_error *err)
{
	struct want *n = realloc(im->wants, (im->n_wants + 1) * sizeof(*n));

	if (!n)
		return o2v_error_sys(err, -ENOMEM, "import");
	im->wants = n;
	n = &im->wants[im->n_wants];
	memset(n, 0, sizeof(*n));
	n->compression = -1;
	n->name = strdup(name);
	if (!n->name)
		return o2v_error_sys(err, -ENOMEM, "import");
	if (digest)
		snprintf(n->digest, sizeof(n->digest), "%s", digest);
	n->size_known = size >= 0;
	n->size = size >= 0 ? (uint64_t)size : 0;
	im->n_wants++;
	return 0;
}

/* The layers are staged: check the config against the manifest, stage config
 * and manifest, tag, and hand back the image as the cache now holds it. */
static int import_finish(struct import *im, const struct o2v_descriptor *md, const char *manifest,
			 size_t manifest_len, const char *config, size_t config_len,
			 const char *resolved, struct o2v_image **ret, struct o2v_error *err)
{
	struct o2v_manifest m = { 0 };
	struct o2v_cache_entry entry = { 0 };
	struct o2v_image_config ic = { 0 };
	_cleanup_strv_ char **diff_ids = NULL;
	size_t n_diff = 0;
	int r;

	r = o2v_manifest_parse(manifest, manifest_len, md->media_type[0] ? md->media_type : NULL,
			       &m, err);
	if (r < 0)
		return r;
	if ((r = o2v_image_config_parse(config, config_len, &ic, &diff_ids, err)) < 0)
		goto out;
	while (diff_ids && diff_ids[n_diff])
		n_diff++;
	if (n_diff != m.n_layers) {
		r = o2v_error_set(err, -EBADMSG,
				  "the manifest has %zu layers but the config lists %zu diff_ids",
				  m.n_layers, n_diff);
		goto out;
	}
	if ((r = o2v_stage_put(im->stage, m.config.digest, config, config_len, err)) < 0 ||
	    (r = o2v_stage_put(im->stage, md->digest, manifest, manifest_len, err)) < 0)
		goto out;
	entry.name = im->ref->normalized;
	snprintf(entry.media_type, sizeof(entry.media_type), "%s", m.media_type);
	snprintf(entry.digest, sizeof(entry.digest), "%s", md->digest);
	entry.size = manifest_len;
	if (resolved)
		snprintf(entry.resolved, sizeof(entry.resolved), "%s", resolved);
	if (ic.os && ic.architecture &&
	    o2v_platform_set(&entry.platform, ic.os, ic.architecture, ic.variant) >= 0)
		entry.has_platform = true;
	if ((r = o2v_stage_commit(im->stage, &entry, err)) < 0)
		goto out;
	r = o2v_image_load(im->cache, im->ref, ret, err);
out:
	o2v_image_config_release(&ic);
	o2v_manifest_release(&m);
	return r;
}

/* An image manifest from an OCI layout: stage its layers, then finish. */
static int import_oci_manifest(struct import *im, const struct o2v_descriptor *md,
			       const char *manifest, size_t manifest_len, const char *resolved,
			       struct o2v_image **ret, struct o2v_error *err)
{
	struct o2v_manifest m = { 0 };
	_cleanup_free_ char *config = NULL;
	size_t config_len = 0;
	uint64_t total = 0;
	int r;

	r = o2v_manifest_parse(manifest, manifest_len, md->media_type[0] ? md->media_type : NULL,
			       &m, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m.n_layers; i++) {
		if (!o2v_media_type_is_layer(m.layers[i].media_type)) {
			r = o2v_error_set(err, -ENOTSUP, "layer %s has unsupported media type '%s'",
					  m.layers[i].digest, m.layers[i].media_type);
			goto out;
		}
		total += m.layers[i].size;
	}
	progress(im, O2V_PROGRESS_RESOLVED, md->digest, 0, total);
	if ((r = source_read_blob(&im->src, &m.config, O2V_CONFIG_MAX, &config, &config_len,
				  err)) < 0)
		goto out;
	for (size_t i = 0; i < m.n_layers; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(m.layers[j].digest, m.layers[i].digest);
		if (dup)
			continue;
		_cleanup_free_ char *name = blob_name(m.layers[i].digest);
		if (!name) {
			r = o2v_error_sys(err, -ENOMEM, "import");
			goto out;
		}
		r = want_add(im, name, m.layers[i].digest, (int64_t)m.layers[i].size, err);
		if (r < 0)
			goto out;
	}
	if ((r = stage_wants(im, err)) < 0)
		goto out;
	r = import_finish(im, md, manifest, manifest_len, config, config_len, resolved, ret, err);
out:
	o2v_manifest_release(&m);
	return r;
}

/* ---- oci: and oci-archive: ---- */

/* The index.json entry for tag (NULL: the only one). */
static int oci_select(const struct import *im, const char *index, size_t len,
		      struct o2v_descriptor *ret, struct o2v_error *err)
{
	struct json_tokener *tok = json_tokener_new();
	_cleanup_json_ struct json_object *o = NULL;
	struct json_object *list, *v;
	const char *tag = im->ref->tag;
	int found = -1;
	size_t n;

	if (!tok)
		return o2v_error_sys(err, -ENOMEM, "parse index.json");
	o = json_tokener_parse_ex(tok, index, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_object_get_ex(o, "manifests", &list) ||
	    !json_object_is_type(list, json_type_array))
		return o2v_error_set(err, -EBADMSG, "'%s': index.json has no manifests array",
				     im->src.path);
	n = json_object_array_length(list);
	if (n > O2V_DESCRIPTORS_MAX)
		return o2v_error_set(err, -E2BIG, "'%s': index.json lists more than %d images",
				     im->src.path, O2V_DESCRIPTORS_MAX);
	char tags[512] = "";
	size_t tl = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(list, i), *ann;
		const char *name = NULL;
		if (json_object_object_get_ex(d, "annotations", &ann) &&
		    json_object_object_get_ex(ann, O2V_ANNOTATION_REF_NAME, &v) &&
		    json_object_is_type(v, json_type_string))
			name = json_object_get_string(v);
		if (name && tl < sizeof(tags) - 1)
			tl += (size_t)snprintf(tags + tl, sizeof(tags) - tl, "%s'%s'",
					       tl ? ", " : "", name);
		if (tag ? name && !strcmp(name, tag) : n == 1)
			found = (int)i;
	}
	if (found < 0) {
		if (tag)
			return o2v_error_set(err, -ENOENT, "tag '%s' not found in '%s'%s%s", tag,
					     im->src.path, tl ? "; tags: " : " (it has no tags)",
					     tags);
		if (n == 0)
			return o2v_error_set(err, -ENOENT, "'%s' holds no image", im->src.path);
		return o2v_error_set(err, -EINVAL,
				     "'%s' holds %zu images; name one as %s:%s:TAG (tags: %s)",
				     im->src.path, n, im->ref->transport, im->src.path,
				     tl ? tags : "none");
	}
	struct json_object *d = json_object_array_get_idx(list, (size_t)found);
	const char *s;
	memset(ret, 0, sizeof(*ret));
	if (json_object_object_get_ex(d, "mediaType", &v) && (s = json_object_get_string(v)))
		snprintf(ret->media_type, sizeof(ret->media_type), "%s", s);
	s = json_object_object_get_ex(d, "digest", &v) ? json_object_get_string(v) : NULL;
	int r = o2v_digest_check(s ? s : "", -EBADMSG, err);
	if (r < 0)
		return o2v_error_prefix(err, "'%s': index.json", im->src.path);
	snprintf(ret->digest, sizeof(ret->digest), "%s", s);
	if (!json_object_object_get_ex(d, "size", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return o2v_error_set(err, -EBADMSG, "'%s': index.json entry without a valid size",
				     im->src.path);
	ret->size = (uint64_t)json_object_get_int64(v);
	return 0;
}

static int import_oci(struct import *im, struct o2v_image **ret, struct o2v_error *err)
{
	static const char *const names[] = { "oci-layout", "index.json" };
	char *bufs[2];
	size_t lens[2];
	struct o2v_descriptor d, top;
	struct o2v_platform want;
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	int r;

	if (im->opts && im->opts->platform) {
		if ((r = o2v_platform_parse(im->opts->platform, &want, err)) < 0)
			return r;
	} else {
		o2v_platform_host(&want);
	}
	if (!im->src.archive && access(im->src.path, F_OK) < 0)
		return o2v_error_sys(err, -errno, "open '%s'", im->src.path);
	r = source_read_many(&im->src, (const char *const *)names, 2, O2V_LOCAL_JSON_MAX, bufs,
			     lens, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *layout = bufs[0], *index = bufs[1];
	if (!layout || !index || !strstr(layout, "imageLayoutVersion"))
		return o2v_error_set(err, -EBADMSG,
				     "'%s' is not an OCI image layout (no valid %s)", im->src.path,
				     !layout ? "oci-layout file"
				     : index ? "oci-layout file"
					     : "index.json");
	if ((r = oci_select(im, index, lens[1], &d, err)) < 0)
		return r;
	top = d;
	for (int depth = 0;; depth++) {
		struct o2v_manifest m;
		free(body);
		body = NULL;
		if ((r = source_read_blob(&im->src, &d, O2V_MANIFEST_MAX, &body, &len, err)) < 0)
			return r;
		if ((r = o2v_manifest_parse(body, len, d.media_type[0] ? d.media_type : NULL, &m,
					    err)) < 0)
			return r;
		if (m.kind == O2V_MANIFEST_IMAGE) {
			o2v_manifest_release(&m);
			snprintf(d.media_type, sizeof(d.media_type), "%s", m.media_type);
			break;
		}
		if (depth >= O2V_INDEX_DEPTH_MAX) {
			o2v_manifest_release(&m);
			return o2v_error_set(err, -E2BIG, "indexes nested deeper than %d",
					     O2V_INDEX_DEPTH_MAX);
		}
		int i = o2v_manifest_choose(&m, &want, im->ref->normalized, err);
		if (i >= 0)
			d = m.manifests[i];
		o2v_manifest_release(&m);
		if (i < 0)
			return i;
	}
	return import_oci_manifest(im, &d, body, len,
				   strcmp(top.digest, d.digest) ? top.digest : NULL, ret, err);
}

/* ---- docker-archive: ---- */

struct symlinks {
	char **from, **to;
	size_t n;
	char *manifest;
	size_t manifest_len;
	const char *file;
};

static int docker_scan_fn(void *ud, struct archive *a, struct archive_entry *e, const char *name,
			  struct o2v_error *err)
{
	struct symlinks *sl = ud;

	if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
		/* skopeo writes ID/layer.tar -> ../HEX.tar; resolve relative to the entry */
		const char *target = archive_entry_symlink(e);
		const char *slash = strrchr(name, '/');
		char *to = NULL;
		if (target[0] == '/')
			to = strdup(clean_name(target));
		else if (asprintf(&to, "%.*s%s", slash ? (int)(slash - name + 1) : 0, name,
				  target) < 0)
			to = NULL;
		char **nf = realloc(sl->from, (sl->n + 1) * sizeof(char *));
		if (nf)
			sl->from = nf;
		char **nt = realloc(sl->to, (sl->n + 1) * sizeof(char *));
		if (nt)
			sl->to = nt;
		if (!to || !nf || !nt || !(sl->from[sl->n] = strdup(name))) {
			free(to);
			return o2v_error_sys(err, -ENOMEM, "read '%s'", sl->file);
		}
		sl->to[sl->n++] = to;
		return 0;
	}
	if (archive_entry_filetype(e) == AE_IFREG && !strcmp(name, "manifest.json") &&
	    !sl->manifest) {
		int r = archive_read_all(a, name, archive_entry_size(e), O2V_LOCAL_JSON_MAX,
					 &sl->manifest, err);
		if (r < 0)
			return r;
		sl->manifest_len = (size_t)archive_entry_size(e);
	}
	return 0;
}

static void symlinks_release(struct symlinks *sl)
{
	for (size_t i = 0; i < sl->n; i++) {
		free(sl->from[i]);
		free(sl->to[i]);
	}
	free(sl->from);
	free(sl->to);
	free(sl->manifest);
}

/* Fold "a/../b" and "./" so a resolved symlink names an entry; refuse to climb
 * out of the archive root. Returns a new string or NULL. */
static char *normalize_entry_path(const char *p)
{
	_cleanup_free_ char *copy = strdup(clean_name(p));
	char *out = copy ? calloc(1, strlen(copy) + 1) : NULL;
	char *save = NULL;
	size_t len = 0;

	if (!out)
		return NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *s = len ? memrchr(out, '/', len) : NULL;
			if (!len) {
				free(out);
				return NULL;
			}
			len = s ? (size_t)(s - out) : 0;
			out[len] = '\0';
			continue;
		}
		len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", c);
	}
	return out;
}

static char *resolve_entry(const struct symlinks *sl, const char *name)
{
	_cleanup_free_ char *cur = normalize_entry_path(name);

	for (int hops = 0; cur && hops < 8; hops++) {
		size_t i;
		for (i = 0; i < sl->n; i++)
			if (!strcmp(sl->from[i], cur))
				break;
		if (i == sl->n)
			return TAKE_PTR(cur);
		free(cur);
		cur = normalize_entry_path(sl->to[i]);
	}
	return NULL;
}

/* "blobs/sha256/HEX" or "HEX.json" / "HEX.tar": the digest the name promises, if any. */
static bool digest_from_name(const char *name, char out[O2V_DIGEST_MAX])
{
	const char *base = strrchr(name, '/');
	char d[O2V_DIGEST_MAX];

	if (!strncmp(name, "blobs/sha256/", 13)) {
		snprintf(d, sizeof(d), "sha256:%s", name + 13);
	} else {
		base = base ? base + 1 : name;
		size_t hl = strcspn(base, ".");
		if (hl != 64 || (strcmp(base + hl, ".json") && strcmp(base + hl, ".tar")))
			return false;
		snprintf(d, sizeof(d), "sha256:%.64s", base);
	}
	if (!o2v_digest_valid(d))
		return false;
	memcpy(out, d, sizeof(d));
	return true;
}

/* Pick the manifest.json entry for REF (the normalised name in ref->tag). */
static int docker_select(struct import *im, struct json_object *list, struct json_object **ret,
			 struct o2v_error *err)
{
	size_t n = json_object_array_length(list);
	char tags[512] = "";
	size_t tl = 0;

	if (n == 0)
		return o2v_error_set(err, -ENOENT, "'%s' holds no image", im->src.path);
	if (n > DOCKER_ARCHIVE_IMAGES_MAX)
		return o2v_error_set(err, -E2BIG, "'%s' holds more than %d images", im->src.path,
				     DOCKER_ARCHIVE_IMAGES_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *tagsj;
		if (!json_object_is_type(e, json_type_object))
			return o2v_error_set(err, -EBADMSG, "'%s': manifest.json entry %zu is not "
							    "an object",
					     im->src.path, i);
		if (!json_object_object_get_ex(e, "RepoTags", &tagsj) ||
		    !json_object_is_type(tagsj, json_type_array))
			continue;
		for (size_t j = 0; j < json_object_array_length(tagsj); j++) {
			const char *t = json_object_get_string(json_object_array_get_idx(tagsj, j));
			struct o2v_ref r = { 0 };
			struct o2v_error ignored = { 0 };
			if (!t)
				continue;
			if (tl < sizeof(tags) - 1)
				tl += (size_t)snprintf(tags + tl, sizeof(tags) - tl, "%s'%s'",
						       tl ? ", " : "", t);
			if (!im->ref->tag || o2v_ref_parse(t, &r, &ignored) < 0)
				continue;
			bool match = r.normalized && !strcmp(r.normalized, im->ref->tag);
			o2v_ref_release(&r);
			if (match) {
				*ret = e;
				return 0;
			}
		}
	}
	if (im->ref->tag)
		return o2v_error_set(err, -ENOENT, "'%s' not found in '%s'%s%s", im->ref->tag,
				     im->src.path, tl ? "; it holds " : " (it has no tags)", tags);
	if (n > 1)
		return o2v_error_set(err, -EINVAL,
				     "'%s' holds %zu images; name one as docker-archive:%s:NAME:TAG "
				     "(tags: %s)",
				     im->src.path, n, im->src.path, tl ? tags : "none");
	*ret = json_object_array_get_idx(list, 0);
	return 0;
}

/* A manifest for layers that came without one (Docker schema 2, or OCI when a
 * layer is zstd, which schema 2 cannot name). Keys in a fixed order, so the
 * same archive always gives the same manifest digest. */
static char *docker_build_manifest(const struct import *im, const char *config_digest,
				   size_t config_len)
{
	bool oci = false;
	struct json_object *m = json_object_new_object(), *cfg = json_object_new_object();
	struct json_object *layers = json_object_new_array();
	char *out = NULL;

	for (size_t i = 0; i < im->n_wants; i++)
		oci |= im->wants[i].compression == 2;
	if (!m || !cfg || !layers)
		goto out;
	json_object_object_add(m, "schemaVersion", json_object_new_int(2));
	json_object_object_add(m, "mediaType", json_object_new_string(oci ? O2V_MT_OCI_MANIFEST
									 : O2V_MT_DOCKER_MANIFEST));
	json_object_object_add(cfg, "mediaType", json_object_new_string(oci ? O2V_MT_OCI_CONFIG
									   : O2V_MT_DOCKER_CONFIG));
	json_object_object_add(cfg, "size", json_object_new_int64((int64_t)config_len));
	json_object_object_add(cfg, "digest", json_object_new_string(config_digest));
	json_object_object_add(m, "config", json_object_get(cfg));
	for (size_t i = 0; i < im->n_wants; i++) {
		static const char *const docker_mt[] = {
			"application/vnd.docker.image.rootfs.diff.tar",
			"application/vnd.docker.image.rootfs.diff.tar.gzip",
		};
		static const char *const oci_mt[] = {
			"application/vnd.oci.image.layer.v1.tar",
			"application/vnd.oci.image.layer.v1.tar+gzip",
			"application/vnd.oci.image.layer.v1.tar+zstd",
		};
		const struct want *w = &im->wants[i];
		struct json_object *l = json_object_new_object();
		if (!l)
			goto out;
		json_object_object_add(l, "mediaType",
				       json_object_new_string(oci ? oci_mt[w->compression]
								  : docker_mt[w->compression]));
		json_object_object_add(l, "size", json_object_new_int64((int64_t)w->size));
		json_object_object_add(l, "digest", json_object_new_string(w->digest));
		json_object_array_add(layers, l);
	}
	json_object_object_add(m, "layers", json_object_get(layers));
	const char *s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	out = s ? strdup(s) : NULL;
out:
	json_object_put(layers);
	json_object_put(cfg);
	json_object_put(m);
	return out;
}

static int import_docker_archive(struct import *im, struct o2v_image **ret,
				 struct o2v_error *err)
{
	struct symlinks sl = { .file = im->src.path };
	struct json_object *list, *entry = NULL, *v, *layers;
	_cleanup_json_ struct json_object *mj = NULL;
	_cleanup_free_ char *config = NULL, *config_name = NULL, *manifest = NULL;
	_cleanup_strv_ char **diff_ids = NULL;
	struct o2v_image_config ic = { 0 };
	char config_digest[O2V_DIGEST_MAX], promised[O2V_DIGEST_MAX];
	size_t config_len = 0, n_layers, n_diff = 0;
	int r;

	r = archive_scan(im->src.path, docker_scan_fn, &sl, err);
	if (r < 0)
		goto out;
	if (!sl.manifest) {
		r = o2v_error_set(err, -EBADMSG,
				  "'%s' is not a docker-archive (no manifest.json); for an OCI "
				  "layout in a tar use oci-archive:",
				  im->src.path);
		goto out;
	}
	mj = json_tokener_parse(sl.manifest);
	if (!mj || !json_object_is_type(mj, json_type_array)) {
		r = o2v_error_set(err, -EBADMSG, "'%s': manifest.json is not a JSON array",
				  im->src.path);
		goto out;
	}
	list = mj;
	if ((r = docker_select(im, list, &entry, err)) < 0)
		goto out;
	if (!json_object_object_get_ex(entry, "Config", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !json_object_object_get_ex(entry, "Layers", &layers) ||
	    !json_object_is_type(layers, json_type_array)) {
		r = o2v_error_set(err, -EBADMSG, "'%s': manifest.json entry without Config/Layers",
				  im->src.path);
		goto out;
	}
	config_name = resolve_entry(&sl, json_object_get_string(v));
	if (!config_name) {
		r = o2v_error_set(err, -EBADMSG, "'%s': bad Config path '%s'", im->src.path,
				  json_object_get_string(v));
		goto out;
	}
	{
		const char *names[] = { config_name };
		r = source_read_many(&im->src, names, 1, O2V_CONFIG_MAX, &config, &config_len,
				     err);
		if (r < 0)
			goto out;
		if (!config) {
			r = o2v_error_set(err, -ENOENT, "'%s': config '%s' is missing",
					  im->src.path, config_name);
			goto out;
		}
	}
	if ((r = o2v_digest_buf(config, config_len, NULL, config_digest, err)) < 0)
		goto out;
	if (digest_from_name(config_name, promised) && strcmp(promised, config_digest)) {
		r = o2v_error_set(err, -EBADMSG,
				  "'%s': config '%s' does not match its name (digest %s)",
				  im->src.path, config_name, config_digest);
		goto out;
	}
	if ((r = o2v_image_config_parse(config, config_len, &ic, &diff_ids, err)) < 0)
		goto out;
	o2v_image_config_release(&ic);
	while (diff_ids && diff_ids[n_diff])
		n_diff++;
	n_layers = json_object_array_length(layers);
	if (n_layers != n_diff || n_layers > O2V_DESCRIPTORS_MAX) {
		r = o2v_error_set(err, -EBADMSG,
				  "'%s': %zu layers but the config lists %zu diff_ids", im->src.path,
				  n_layers, n_diff);
		goto out;
	}
	for (size_t i = 0; i < n_layers; i++) {
		const char *ln = json_object_get_string(json_object_array_get_idx(layers, i));
		_cleanup_free_ char *name = ln ? resolve_entry(&sl, ln) : NULL;
		if (!name) {
			r = o2v_error_set(err, -EBADMSG, "'%s': bad layer path '%s'", im->src.path,
					  ln ? ln : "(not a string)");
			goto out;
		}
		if ((r = o2v_digest_check(diff_ids[i], -EBADMSG, err)) < 0)
			goto out;
		/* Docker >= 25 names layers blobs/sha256/HEX: that digest is checked. An
		 * uncompressed layer must hash to its diff_id; a compressed one without
		 * a digest in its name is hashed in an extra pass. */
		bool by_digest = !strncmp(name, "blobs/", 6) && digest_from_name(name, promised);
		if ((r = want_add(im, name, by_digest ? promised : NULL, -1, err)) < 0)
			goto out;
		snprintf(im->wants[i].diff_id, O2V_DIGEST_MAX, "%s", diff_ids[i]);
	}
	if ((r = stage_wants(im, err)) < 0)
		goto out;

	manifest = docker_build_manifest(im, config_digest, config_len);
	if (!manifest) {
		r = o2v_error_sys(err, -ENOMEM, "build manifest");
		goto out;
	}
	struct o2v_descriptor md = { 0 };
	size_t mlen = strlen(manifest);
	if ((r = o2v_digest_buf(manifest, mlen, NULL, md.digest, err)) < 0)
		goto out;
	md.size = mlen;
	r = import_finish(im, &md, manifest, mlen, config, config_len, NULL, ret, err);
out:
	symlinks_release(&sl);
	return r;
}

int o2v_local_import(struct o2v_cache *c, const struct o2v_ref *ref,
		     const struct o2v_pull_opts *opts, struct o2v_image **ret,
		     struct o2v_error *err)
{
	struct import im = { .cache = c, .ref = ref, .opts = opts };
	int r;

	if (!o2v_local_transport(ref->transport) || !ref->path)
		return o2v_error_set(err, -EINVAL, "'%s' is not a local image reference",
				     ref->normalized ? ref->normalized : "");
	im.src.path = ref->path;
	im.src.archive = strcmp(ref->transport, "oci") != 0;
	r = o2v_stage_open(c, &im.stage, err);
	if (r >= 0)
		r = !strcmp(ref->transport, "docker-archive") ? import_docker_archive(&im, ret, err)
							      : import_oci(&im, ret, err);
	o2v_stage_free(im.stage); /* whatever was not committed goes away */
	wants_free(&im);
	if (r < 0)
		return o2v_error_prefix(err, "import '%s'", ref->normalized);
	return 0;
}
