/* credentials.h - registry credentials, the way docker/cli and podman keep them.
 *
 * Lookup order for a registry domain ("docker.io", "127.0.0.1:5000", "[::1]:5000"):
 *   1. $DOCKER_CONFIG/config.json, else ~/.docker/config.json:
 *      credHelpers[key] > credsStore > auths[key]; keys with a scheme or a path
 *      ("https://reg:5000/v1/") match by host name, like docker/cli.
 *   2. podman's auth.json: $XDG_RUNTIME_DIR/containers/auth.json, then
 *      $XDG_CONFIG_HOME/containers/auth.json (~/.config/...), most specific
 *      "domain/namespace" key first.
 * Docker Hub ("docker.io", "index.docker.io", "registry-1.docker.io") is stored
 * under "https://index.docker.io/v1/"; "docker.io" is accepted as a key too.
 *
 * Helpers (docker-credential-SUFFIX) are executed by argv from $PATH, never
 * through a shell; a SUFFIX with '/' is refused. Files and helper output are
 * capped. Nothing here prints; error messages never contain secrets.
 *
 * The struct is flat (no pointers) so o2v_credentials_clear() — an
 * explicit_bzero of the whole struct — wipes every secret. Keep it off long-
 * lived heap copies and clear it as soon as the request is authenticated.
 */
#ifndef O2V_CREDENTIALS_H
#define O2V_CREDENTIALS_H

#include "../common/error.h"
#include "login.h"

#define O2V_CRED_CONFIG_MAX (1 << 20) /* config.json / auth.json */
#define O2V_CRED_HELPER_OUT_MAX (64 << 10)

#define O2V_DOCKER_HUB_KEY "https://index.docker.io/v1/"

enum o2v_cred_kind {
	O2V_CRED_NONE,		 /* anonymous */
	O2V_CRED_BASIC,		 /* username + secret = password */
	O2V_CRED_IDENTITY_TOKEN, /* secret = OAuth refresh token (grant_type=refresh_token) */
	O2V_CRED_REGISTRY_TOKEN, /* secret = bearer token, sent to the registry as-is */
};

struct o2v_credentials {
	enum o2v_cred_kind kind;
	char username[O2V_CRED_USERNAME_MAX]; /* may be set with IDENTITY_TOKEN too */
	char secret[O2V_CRED_SECRET_MAX];
	char source[128]; /* where they came from, for messages: "config.json", "helper 'pass'" */
};

/* Wipe (explicit_bzero) and reset to anonymous. */
void o2v_credentials_clear(struct o2v_credentials *c);

/* The config-file key for domain: O2V_DOCKER_HUB_KEY for Docker Hub, else domain
 * itself (a scheme and path, as `docker login https://reg:5000/v1/` accepts, are
 * stripped). Writes into buf; returns buf, or NULL when it does not fit. */
const char *o2v_credentials_key(const char *domain, char *buf, size_t size);

/* Find credentials for domain (repository, may be NULL, enables podman's
 * namespace keys). No credentials anywhere is not an error: ret->kind is
 * O2V_CRED_NONE and 0 is returned. Fails on an unreadable/malformed config,
 * a helper that fails other than "credentials not found", or a broken entry
 * (e.g. `auth` that decodes to ":pass"). ret is cleared on failure. */
int o2v_credentials_lookup(const char *domain, const char *repository,
			   struct o2v_credentials *ret, struct o2v_error *err);

/* o2v_credentials_store() and o2v_credentials_erase(): login.h, the public side. */

struct json_object;
/* Load a user's JSON config file (capped at max, read buffer wiped): a missing
 * or empty file gives *ret = NULL and 0; anything but a JSON object is
 * -EBADMSG. Shared with tlsconfig.c (oci2vm's own config.json). */
int o2v_config_json_load(const char *path, size_t max, struct json_object **ret,
			 struct o2v_error *err);

#endif
