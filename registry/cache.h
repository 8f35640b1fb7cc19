/* cache.h - the image cache internals: an OCI image layout
 * (image-spec image-layout.md) that skopeo, umoci and crane can read:
 *
 *   ROOT/oci-layout              {"imageLayoutVersion": "1.0.0"}
 *   ROOT/index.json              one entry per tag, annotated with
 *                                org.opencontainers.image.ref.name = the
 *                                normalised reference ("docker.io/library/redis:7")
 *   ROOT/blobs/sha256/HEX        verified content, never partial
 *   ROOT/.oci2vm-tmp/stage-XXXXXX/   one staging area per running pull/import
 *   ROOT/.oci2vm-lock            flock serialising index.json updates and prune
 *
 * Writers (pull, local import) stage every blob in their private staging
 * dir while hashing it, verify size and digest, fsync, and only at the end,
 * under the lock, rename the blobs into blobs/ and rewrite index.json
 * atomically. So a failed or interrupted pull leaves the cache exactly as
 * it was, two concurrent pulls of one image both succeed and leave one
 * copy (the second rename replaces identical content), and prune (which
 * takes the same lock) never sees a half-committed image. A staging dir
 * whose owner died is found by prune because its lock is free.
 */
#ifndef O2V_CACHE_H
#define O2V_CACHE_H

#include "manifest.h"
#include "registry.h"

#define O2V_INDEX_JSON_MAX	(64 << 20)
#define O2V_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
/* What the reference resolved to when that differs from the entry's digest
 * (the index digest of a multi-arch tag): lets a warm pull compare the
 * registry's current tag digest without downloading anything. */
#define O2V_ANNOTATION_RESOLVED "io.oci2vm.resolved-digest"

struct o2v_cache {
	char *root;
	char *tmp_dir;
	char *lock_path;
};

/* One index.json entry. */
struct o2v_cache_entry {
	char *name; /* ref.name annotation, or NULL */
	char media_type[O2V_MEDIA_TYPE_MAX];
	char digest[O2V_DIGEST_MAX];
	uint64_t size;
	char resolved[O2V_DIGEST_MAX]; /* "" = same as digest */
	bool has_platform;
	struct o2v_platform platform;
};

void o2v_cache_entry_release(struct o2v_cache_entry *e);

/* Find the entry named name, else (if digest is not NULL) the first entry whose
 * digest or resolved digest is digest. 1 = found (ret filled), 0 = not found. */
int o2v_cache_find(struct o2v_cache *c, const char *name, const char *digest,
		   struct o2v_cache_entry *ret, struct o2v_error *err);

/* True when the blob is in the cache (with this size, unless size < 0). */
bool o2v_cache_has_blob(const struct o2v_cache *c, const char *digest, int64_t size);

/* Read a small cached blob (manifest, config), verifying its digest. */
int o2v_cache_read_blob(const struct o2v_cache *c, const char *digest, size_t max, char **ret_buf,
			size_t *ret_len, struct o2v_error *err);

struct o2v_stage;
struct o2v_blob_writer;

int o2v_stage_open(struct o2v_cache *c, struct o2v_stage **ret, struct o2v_error *err);
/* Discard everything staged and not committed. NULL is fine. */
void o2v_stage_free(struct o2v_stage *s);

/* Stage a blob held in memory (verified against digest first). */
int o2v_stage_put(struct o2v_stage *s, const char *digest, const void *buf, size_t len,
		  struct o2v_error *err);

/* Stream a blob of exactly size bytes into the stage. Writing past size
 * fails at once (-EBADMSG); finish() verifies size and digest and fsyncs. */
int o2v_stage_blob_open(struct o2v_stage *s, const char *digest, uint64_t size,
			struct o2v_blob_writer **ret, struct o2v_error *err);
int o2v_blob_writer_write(struct o2v_blob_writer *w, const void *buf, size_t len,
			  struct o2v_error *err);
int o2v_blob_writer_reset(struct o2v_blob_writer *w, struct o2v_error *err);
uint64_t o2v_blob_writer_offset(const struct o2v_blob_writer *w);
int o2v_blob_writer_finish(struct o2v_blob_writer *w, struct o2v_error *err);
void o2v_blob_writer_free(struct o2v_blob_writer *w);

/* Move the staged blobs into blobs/ and, when entry is not NULL, record it in
 * index.json (replacing an entry of the same name). Before tagging, checks
 * that the manifest, config and every layer of entry are present (a prune
 * may have removed an unreferenced blob this pull found cached); -EAGAIN
 * if not. On failure nothing of the stage is visible in the cache. */
int o2v_stage_commit(struct o2v_stage *s, const struct o2v_cache_entry *entry,
		     struct o2v_error *err);

#endif
