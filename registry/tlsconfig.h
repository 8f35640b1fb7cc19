/* tlsconfig.h - per-registry transport settings (plain HTTP allowed? which CAs?).
 *
 * Insecure (plain HTTP allowed) registries, Docker semantics:
 *   - loopback is always allowed: "localhost", 127.0.0.0/8, ::1 (any port);
 *   - the caller's list (--insecure-registry HOST[:PORT], NULL-terminated);
 *   - $OCI2VM_INSECURE_REGISTRIES, comma separated;
 *   - "insecure-registries": [...] in $XDG_CONFIG_HOME/oci2vm/config.json
 *     (default ~/.config/oci2vm/config.json).
 * An entry without a port matches the host on every port; with a port, only that port.
 *
 * Extra trust, as docker reads it (certs.d/HOST[:PORT]/):
 *   *.crt         extra CA certificates, added to the system bundle (not replacing it)
 *   *.cert+*.key  a client certificate and its key (the first pair by name)
 * from $OCI2VM_CERTS_DIR (default /etc/docker/certs.d) and
 * $XDG_CONFIG_HOME/oci2vm/certs.d (default ~/.config/oci2vm/certs.d); a client
 * pair in the user directory wins. A *.cert without its *.key is an error.
 *
 * How the http layer uses it: the registry is tried over HTTPS; only when
 * allow_http is set may it fall back to (or, for loopback, start with) plain
 * HTTP and may redirects go to http. skip_verify is set only for registries the
 * user listed as insecure (Docker's behaviour), never for loopback by default.
 */
#ifndef O2V_TLSCONFIG_H
#define O2V_TLSCONFIG_H

#include <curl/curl.h>

#include "../common/error.h"

#define O2V_TLS_CA_MAX (4 << 20)	   /* system bundle + extra CA files, all together */
#define O2V_TLS_CONFIG_MAX (256 << 10) /* oci2vm config.json */

struct o2v_tls_config {
	bool allow_http;   /* loopback or user-listed insecure registry */
	bool is_loopback;  /* try plain HTTP first (a loopback registry rarely has TLS) */
	bool skip_verify;  /* user-listed insecure: HTTPS without certificate verification */
	char *ca_pem;	   /* NULL = system default; else system bundle + extra CAs, PEM */
	size_t ca_pem_len;
	char *client_cert; /* path of a PEM client certificate, or NULL */
	char *client_key;  /* path of its key, or NULL */
};

/* Compute the settings for domain ("host", "host:port", "[v6]:port").
 * insecure_registries is the CLI list (may be NULL). On failure nothing is
 * allocated in ret. */
int o2v_tls_config_load(const char *domain, const char *const *insecure_registries,
			struct o2v_tls_config *ret, struct o2v_error *err);
void o2v_tls_config_release(struct o2v_tls_config *t);

/* True when domain's host is loopback (localhost, 127.0.0.0/8, ::1). */
bool o2v_host_is_loopback(const char *domain);

/* Set CURLOPT_CAINFO_BLOB / SSL_VERIFYPEER / SSLCERT / SSLKEY on h.
 * The blob is copied by libcurl, so t may be released afterwards. */
int o2v_tls_config_apply(const struct o2v_tls_config *t, CURL *h, struct o2v_error *err);

#endif
