/* login.h - `oci2vm login` / `logout`: check credentials against a registry,
 * then keep them where docker keeps them (credentials.h).
 *
 * SERVER is what users type after `docker login`: "docker.io" (the default),
 * "https://index.docker.io/v1/", "127.0.0.1:5000", "https://reg:5000/v1/";
 * a scheme and a path are ignored. Nothing here prints.
 */
#ifndef O2V_LOGIN_H
#define O2V_LOGIN_H

#include "../common/error.h"

/* The registry domain for SERVER ("docker.io" for every Docker Hub spelling),
 * malloc'ed. -EINVAL when SERVER is not a host[:port]. */
int o2v_login_domain(const char *server, char **ret_domain, struct o2v_error *err);

/* GET /v2/ on the registry with username/password, answering its Basic or
 * Bearer challenge (a token without scope, as `docker login` asks). Success
 * when the registry accepts them, or needs none. -EACCES "authentication
 * failed for HOST" when they are refused; nothing is stored then. */
int o2v_login_verify(const char *domain, const char *username, const char *password,
		     const char *const *insecure_registries, struct o2v_error *err);

#endif
