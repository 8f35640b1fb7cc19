/* manifest.h - image manifests, indexes and image configs (json-c).
 *
 * Everything parsed here is untrusted registry data: documents are size
 * capped before parsing, every digest is validated before anyone puts it in
 * a URL or a path, ambiguous documents (CVE-2021-41190: "manifests" together
 * with "layers" or "config") are refused, a body's mediaType must agree with
 * the Content-Type it came with, and schema 1 is refused with a clear hint.
 */
#ifndef O2V_MANIFEST_H
#define O2V_MANIFEST_H

#include "platform.h"
#include "registry.h"

#define O2V_MANIFEST_MAX    (4 << 20)  /* containerd's cap; spec: support >= 4 MB */
#define O2V_CONFIG_MAX	    (16 << 20) /* image configs with long histories */
#define O2V_INDEX_DEPTH_MAX 4	       /* nested indexes followed at most this deep */
#define O2V_DESCRIPTORS_MAX 4096       /* layers or index entries in one document */
#define O2V_MEDIA_TYPE_MAX  128

#define O2V_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define O2V_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define O2V_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define O2V_MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define O2V_MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define O2V_MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"

/* One Accept header with all four types (distribution 2.8 refuses OCI
 * content a client did not list). */
#define O2V_MANIFEST_ACCEPT                                                                        \
	O2V_MT_OCI_INDEX ", " O2V_MT_DOCKER_LIST ", " O2V_MT_OCI_MANIFEST                          \
			 ", " O2V_MT_DOCKER_MANIFEST

struct o2v_descriptor {
	char media_type[O2V_MEDIA_TYPE_MAX];
	char digest[O2V_DIGEST_MAX];
	uint64_t size;
	bool has_platform;
	struct o2v_platform platform;
};

enum o2v_manifest_kind { O2V_MANIFEST_IMAGE, O2V_MANIFEST_INDEX };

struct o2v_manifest {
	enum o2v_manifest_kind kind;
	char media_type[O2V_MEDIA_TYPE_MAX];
	struct o2v_descriptor config;  /* image */
	struct o2v_descriptor *layers; /* image */
	size_t n_layers;
	struct o2v_descriptor *manifests; /* index */
	size_t n_manifests;
};

/* Parse a manifest or index. content_type is the HTTP Content-Type (or the
 * descriptor's mediaType, or NULL when unknown). -EBADMSG on invalid
 * documents, -ENOTSUP for schema 1. */
int o2v_manifest_parse(const char *body, size_t len, const char *content_type,
		       struct o2v_manifest *ret, struct o2v_error *err);
void o2v_manifest_release(struct o2v_manifest *m);

bool o2v_media_type_is_index(const char *mt);
bool o2v_media_type_is_manifest(const char *mt);
/* Layer types oci2vm can turn into a filesystem (tar, tar+gzip, tar+zstd, Docker's). */
bool o2v_media_type_is_layer(const char *mt);
bool o2v_media_type_is_config(const char *mt);

/* Pick the entry of index m for want: the best match, the first one of
 * equal rank (image-index.md). Skips attestations and unknown media types.
 * Returns its position, or -ENOENT with a message listing the platforms
 * available ("no image for linux/s390x in 'NAME'; available: ..."). */
int o2v_manifest_choose(const struct o2v_manifest *m, const struct o2v_platform *want,
			const char *name, struct o2v_error *err);

/* Parse an image config into ret; diff_ids (may be NULL) gets rootfs.diff_ids. */
int o2v_image_config_parse(const char *json, size_t len, struct o2v_image_config *ret,
			   char ***ret_diff_ids, struct o2v_error *err);
void o2v_image_config_release(struct o2v_image_config *c);

#endif
