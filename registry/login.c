/* login.c - verify credentials against a registry; see login.h. */
#include "../common/o2v.h"

#include <string.h>

#include "auth.h"
#include "credentials.h"
#include "http.h"
#include "login.h"

#define LOGIN_BODY_MAX (64 << 10)

static bool is_docker_hub(const char *host)
{
	return !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
	       !strcmp(host, "registry-1.docker.io");
}

int o2v_login_domain(const char *server, char **ret_domain, struct o2v_error *err)
{
	const char *s = server;
	size_t len;

	if (!strncmp(s, "http://", 7))
		s += 7;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	len = strcspn(s, "/");
	/* host names, IPv4, [IPv6] and a port: nothing that could smuggle a path,
	 * userinfo or query into the URLs built from it */
	if (len == 0 || len > 255 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") < len)
		return o2v_error_set(err, -EINVAL,
				     "invalid registry '%s': expected HOST[:PORT], e.g. "
				     "'registry.example.com:5000'",
				     server);
	char *d = strndup(s, len);
	if (!d)
		return o2v_error_sys(err, -ENOMEM, "login");
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (is_docker_hub(d)) {
		free(d);
		d = strdup("docker.io");
		if (!d)
			return o2v_error_sys(err, -ENOMEM, "login");
	}
	*ret_domain = d;
	return 0;
}

int o2v_login_verify(const char *domain, const char *username, const char *password,
		     const char *const *insecure_registries, struct o2v_error *err)
{
	struct o2v_http h;
	struct o2v_auth a;
	struct o2v_xfer x;
	const char *api_host = strcmp(domain, "docker.io") ? domain : "registry-1.docker.io";
	int r;

	r = o2v_http_init(&h, domain, api_host, insecure_registries, err);
	if (r < 0)
		return r;
	r = o2v_auth_init(&a, &h, domain, "", err);
	if (r < 0) {
		o2v_http_release(&h);
		return r;
	}
	/* `docker login` asks the token server for no scope at all: the /v2/
	 * challenge names none, and an empty a.scope adds none. */
	free(a.scope);
	a.scope = strdup("");
	a.creds = calloc(1, sizeof(*a.creds));
	if (!a.scope || !a.creds) {
		r = o2v_error_sys(err, -ENOMEM, "login");
		goto out_auth;
	}
	a.creds_loaded = true; /* these, not whatever is stored */
	if (strlen(username) >= sizeof(a.creds->username) ||
	    strlen(password) >= sizeof(a.creds->secret)) {
		r = o2v_error_set(err, -EINVAL, "user name or password too long");
		goto out_auth;
	}
	strcpy(a.creds->username, username);
	strcpy(a.creds->secret, password);
	a.creds->kind = O2V_CRED_BASIC;
	snprintf(a.creds->source, sizeof(a.creds->source), "'oci2vm login'");

	o2v_xfer_init(&x);
	x.path = strdup("/v2/");
	x.registry_auth = true;
	x.body_max = LOGIN_BODY_MAX;
	if (!x.path) {
		r = o2v_error_sys(err, -ENOMEM, "login");
		goto out_xfer;
	}
	r = o2v_http_do(&h, &x, err);
	if (r == -EACCES) {
		/* the auth layer's words already name the host; keep them */
	} else if (r < 0) {
		o2v_error_prefix(err, "log in to %s", domain);
	} else if (x.resp.status == 401 || x.resp.status == 403) {
		r = o2v_error_set(err, -EACCES,
				  "authentication failed for %s: the registry refused the user "
				  "name or password (HTTP %ld)",
				  domain, x.resp.status);
	} else if (x.resp.status != 200) {
		char d[300];
		o2v_http_describe(&x, d, sizeof(d));
		r = o2v_error_set(err, -EPROTO,
				  "log in to %s: GET /v2/ answered %s; is this a registry?", domain,
				  d);
	}
out_xfer:
	o2v_xfer_release(&x);
out_auth:
	o2v_auth_release(&a); /* wipes the credentials and any token */
	o2v_http_release(&h);
	return r;
}
