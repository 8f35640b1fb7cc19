/* local.h - images that come from files, not a registry (skopeo's transports).
 *
 *   oci:DIR[:TAG]                 an OCI image layout; TAG matches the
 *                                 org.opencontainers.image.ref.name annotation;
 *                                 without TAG the layout must hold exactly one image
 *   oci-archive:FILE[:TAG]        a tar of an OCI image layout (read with libarchive)
 *   docker-archive:FILE[:REF]     `docker save` output (manifest.json, config, layer
 *                                 tars); REF picks one of its RepoTags (docker
 *                                 normalised: "redis:7" = "docker.io/library/redis:7"),
 *                                 without REF the archive must hold one image
 * DIR/FILE end at the first ':' (as in containers/image), so they cannot contain one.
 *
 * Import copies every blob the image needs into the cache, each verified
 * (digest and size) before it lands there, and tags it in the cache's
 * index.json under the normalised name ("oci:/abs/dir:tag",
 * "docker-archive:/abs/file.tar:docker.io/library/redis:7"). For docker-archive,
 * whose layers are usually uncompressed tars with no manifest, a Docker v2
 * manifest is built (layer digests = their sha256, media type by sniffing gzip).
 * On failure the cache is exactly as before.
 */
#ifndef O2V_LOCAL_H
#define O2V_LOCAL_H

#include "registry.h"

#define O2V_LOCAL_JSON_MAX (4 << 20) /* index.json, manifest.json, manifests, configs */

/* True for "oci", "oci-archive" and "docker-archive". */
bool o2v_local_transport(const char *transport);

/* Parse "TRANSPORT:PATH[:TAG]" into ret (transport, path made absolute, tag,
 * normalized; domain/api_host/repository stay NULL). Returns 1 when text is a
 * local reference and ret was filled, 0 when it is not one (ret untouched: parse
 * it as a registry reference), negative on a malformed one (-EINVAL). */
int o2v_local_ref_parse(const char *text, struct o2v_ref *ret, struct o2v_error *err);

/* Import ref (a local transport) into the cache; like o2v_pull(), *ret is a
 * new image the caller frees. opts->platform chooses inside an OCI index. */
int o2v_local_import(struct o2v_cache *c, const struct o2v_ref *ref,
		     const struct o2v_pull_opts *opts, struct o2v_image **ret,
		     struct o2v_error *err);

#endif
