/* registry.h - public interface of the registry module (pull side).
 *
 * References, the content-addressed image cache (an OCI image layout), and
 * pulling images into it. Nothing here prints: progress goes through the
 * callback in struct o2v_pull_opts, errors through struct o2v_error.
 * Other modules (rootfs/, oci2vm/) use only this header and login.h (login
 * and logout); the registry module may split its implementation over more
 * headers of its own.
 */
#ifndef O2V_REGISTRY_H
#define O2V_REGISTRY_H

#include <stdint.h>

#include "../common/error.h"

#define O2V_DIGEST_MAX 136 /* "sha512:" + 128 hex + NUL, rounded */

/* A parsed image reference, normalised the Docker way. */
struct o2v_ref {
	char *transport;  /* "docker" (registry), "oci", "oci-archive", "docker-archive" */
	char *domain;	  /* "docker.io", "127.0.0.1:5000", "[::1]:5000" (docker transport) */
	char *api_host;	  /* where to send requests: "registry-1.docker.io" for docker.io */
	char *repository; /* "library/redis" */
	char *tag;	  /* "7" (NULL when pinned by digest only) */
	char *digest;	  /* "sha256:..." or NULL */
	char *path;	  /* local transports: the directory or archive file */
	char *normalized; /* "docker.io/library/redis:7" — what messages and the cache show */
};

int o2v_ref_parse(const char *text, struct o2v_ref *ret, struct o2v_error *err);
void o2v_ref_release(struct o2v_ref *ref);

/* One layer of a resolved image, in application order. */
struct o2v_layer {
	char digest[O2V_DIGEST_MAX];  /* compressed blob digest (verified, in the cache) */
	char diff_id[O2V_DIGEST_MAX]; /* digest of the uncompressed tar, from the config */
	char media_type[128];
	uint64_t size;
};

/* The parts of the image config that running it needs (Docker semantics). */
struct o2v_image_config {
	char **entrypoint;    /* NULL = unset */
	char **cmd;	      /* NULL = unset */
	char **env;	      /* "K=V" */
	char *working_dir;    /* NULL = unset */
	char *user;	      /* NULL = unset */
	char **exposed_ports; /* "6379/tcp" */
	char *stop_signal;    /* NULL = unset */
	/* Healthcheck: Test ["CMD", args...], ["CMD-SHELL", cmd] or ["NONE"]; NULL = unset.
	 * Durations in nanoseconds, 0 = Docker's default. */
	char **health_test;
	int64_t health_interval, health_timeout, health_start_period;
	int health_retries;
	char *os, *architecture, *variant;
};

/* A resolved image: manifest + config, all blobs present and verified in the cache. */
struct o2v_image {
	char manifest_digest[O2V_DIGEST_MAX];
	char config_digest[O2V_DIGEST_MAX];
	char *reference;   /* normalised reference it was resolved from */
	char *config_json; /* raw config blob (NUL-terminated) */
	struct o2v_image_config config;
	struct o2v_layer *layers;
	size_t n_layers;
	char resolved_digest[O2V_DIGEST_MAX]; /* what the tag pointed to (an index), else = manifest
					       */
	uint64_t downloaded;		      /* bytes fetched by this pull (0: all cached) */
	bool up_to_date;		      /* the cached tag was current: nothing changed */
};

void o2v_image_free(struct o2v_image *img);

/* The cache: an OCI image layout under DIR (oci-layout, index.json, blobs/sha256). */
struct o2v_cache;

int o2v_cache_open(const char *dir, struct o2v_cache **ret, struct o2v_error *err);
void o2v_cache_close(struct o2v_cache *c);
const char *o2v_cache_root(const struct o2v_cache *c);
/* Path of a verified blob in the cache (malloc'ed), or NULL if absent/invalid digest. */
char *o2v_cache_blob_path(const struct o2v_cache *c, const char *digest);
/* Open (creating if needed) the cache in the default place (paths.h o2v_cache_dir()). */
int o2v_cache_open_default(struct o2v_cache **ret, struct o2v_error *err);

/* One tagged image of the cache, for `oci2vm images`. */
struct o2v_image_info {
	char *name;		     /* normalised reference (ref.name annotation) */
	char digest[O2V_DIGEST_MAX]; /* manifest digest */
	uint64_t size;		     /* manifest + config + layers as stored (compressed) */
	char platform[96];	     /* "linux/amd64", "" when unknown */
	bool complete;		     /* every blob is present */
};

/* All named entries of index.json, in index order. */
int o2v_cache_list(struct o2v_cache *c, struct o2v_image_info **ret, size_t *ret_n,
		   struct o2v_error *err);
void o2v_image_info_free(struct o2v_image_info *v, size_t n);

/* Remove the tag ref->normalized from index.json (a digest reference that
 * is not itself a tag removes every entry with that digest); blobs stay
 * until prune. Returns the number of entries removed, or -ENOENT
 * "image 'NAME' not found in the cache". */
int o2v_cache_untag(struct o2v_cache *c, const struct o2v_ref *ref, struct o2v_error *err);

struct o2v_prune_stats {
	uint64_t blobs, bytes; /* unreferenced blobs removed */
	uint64_t stale;	       /* abandoned staging areas / temp files removed */
};

/* Remove every blob no index.json entry references, and staging areas
 * left by pulls that died. Safe while other pulls run. */
int o2v_cache_prune(struct o2v_cache *c, struct o2v_prune_stats *ret, struct o2v_error *err);

/* Progress events for the CLI to render. */
enum o2v_progress_kind {
	O2V_PROGRESS_RESOLVED,	 /* manifest resolved; digest + total set */
	O2V_PROGRESS_LAYER,	 /* bytes of one blob advanced */
	O2V_PROGRESS_LAYER_DONE, /* one blob verified and stored (or already cached) */
	O2V_PROGRESS_RETRY,	 /* a request is retried; message set */
	O2V_PROGRESS_WARNING,	 /* registry Warning header etc.; message set */
};

struct o2v_progress {
	enum o2v_progress_kind kind;
	const char *digest;   /* the blob (or manifest) concerned */
	uint64_t done, total; /* bytes of this blob */
	const char *message;
};

enum o2v_pull_policy { O2V_PULL_MISSING, O2V_PULL_ALWAYS, O2V_PULL_NEVER };

struct o2v_pull_opts {
	const char *platform; /* "os/arch[/variant]" or NULL for the host */
	enum o2v_pull_policy policy;
	const char *const *insecure_registries; /* NULL-terminated; loopback is always allowed */
	void (*progress)(const struct o2v_progress *p, void *userdata);
	void *userdata;
	unsigned max_parallel; /* concurrent blob downloads; 0 = default (4) */
};

/* Resolve ref and make sure the manifest, config and every layer are in the
 * cache, verified. On success *ret is a new image the caller frees. On
 * failure the cache is exactly as before (no partial or unverified blob). */
int o2v_pull(struct o2v_cache *c, const struct o2v_ref *ref, const struct o2v_pull_opts *opts,
	     struct o2v_image **ret, struct o2v_error *err);

/* Open an image that is in the cache, without any network access (what
 * `run` and `export` use after a pull, and O2V_PULL_NEVER). A tag matches the
 * ref.name annotation; a digest reference also matches the manifest digest
 * or the digest a tag resolved to. -ENOENT "image 'NAME' not found in the
 * cache; pull it with 'oci2vm pull NAME'". Every blob must be present. */
int o2v_image_load(struct o2v_cache *c, const struct o2v_ref *ref, struct o2v_image **ret,
		   struct o2v_error *err);

/* Resolve ref to its manifest and config without downloading layers and
 * without changing the cache (what `inspect` shows). With O2V_PULL_MISSING
 * or NEVER a cached image answers from the cache (MISSING still checks the
 * tag with one manifest request). Layers in *ret carry digest, size and
 * diff_id, but their blobs need not be present. */
int o2v_inspect(struct o2v_cache *c, const struct o2v_ref *ref, const struct o2v_pull_opts *opts,
		struct o2v_image **ret, struct o2v_error *err);

#endif
