/* login.h - the registry module's second public header (registry.h is the
 * first): `oci2vm login` / `logout` check credentials against a registry,
 * then keep them where docker keeps them (credentials.c).
 *
 * SERVER is what users type after `docker login`: "docker.io" (the default),
 * "https://index.docker.io/v1/", "127.0.0.1:5000", "https://reg:5000/v1/";
 * a scheme and a path are ignored. Nothing here prints.
 */
#ifndef O2V_LOGIN_H
#define O2V_LOGIN_H

#include "../common/error.h"

#define O2V_CRED_USERNAME_MAX 256
#define O2V_CRED_SECRET_MAX 8192 /* registry tokens (JWT) can be several KiB */

/* The registry domain for SERVER ("docker.io" for every Docker Hub spelling),
 * malloc'ed. -EINVAL when SERVER is not a host[:port]. */
int o2v_login_domain(const char *server, char **ret_domain, struct o2v_error *err);

/* GET /v2/ on the registry with username/password, answering its Basic or
 * Bearer challenge (a token without scope, as `docker login` asks). Success
 * when the registry accepts them, or needs none. -EACCES "authentication
 * failed for HOST" when they are refused; nothing is stored then. */
int o2v_login_verify(const char *domain, const char *username, const char *password,
		     const char *const *insecure_registries, struct o2v_error *err);

/* Where `login` stores and `logout` erases: the helper for domain if one is
 * configured (credHelpers[key] or credsStore), else the docker config.json.
 * o2v_credentials_store() writes auths[key].auth = base64(user:pass) keeping
 * every other key, mode 0600, atomically (or `docker-credential-X store`).
 * o2v_credentials_erase() returns 1 when something was removed, 0 when there
 * was nothing to remove. ret_where (may be NULL) gets a malloc'ed description
 * of the store ("/home/u/.docker/config.json" or "docker-credential-pass"). */
int o2v_credentials_store(const char *domain, const char *username, const char *password,
			  char **ret_where, struct o2v_error *err);
int o2v_credentials_erase(const char *domain, char **ret_where, struct o2v_error *err);

#endif
