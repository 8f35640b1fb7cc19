/* tlsconfig.c - per-registry insecure/CA/client-certificate settings; see tlsconfig.h. */
#include "../common/o2v.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "../common/fsutil.h"
#include "credentials.h"
#include "tlsconfig.h"

#define CERTS_DIR_DEFAULT "/etc/docker/certs.d"
#define PEM_CERT_MARKER "-----BEGIN CERTIFICATE-----"

/* Split "host", "host:port", "[v6]", "[v6]:port" into host (no brackets) and
 * port ("" when absent). Returns false when it does not fit or is malformed. */
static bool split_host_port(const char *domain, char *host, size_t hsize, char *port,
			    size_t psize)
{
	const char *end, *p;
	size_t len;

	if (domain[0] == '[') {
		end = strchr(domain, ']');
		if (!end)
			return false;
		p = end[1] == ':' ? end + 2 : end[1] ? NULL : end + 1;
		domain++;
	} else {
		end = strchr(domain, ':');
		p = end ? end + 1 : domain + strlen(domain);
		if (!end)
			end = p;
	}
	if (!p)
		return false;
	len = (size_t)(end - domain);
	if (len == 0 || len >= hsize || strlen(p) >= psize || strspn(p, "0123456789") != strlen(p))
		return false;
	memcpy(host, domain, len);
	host[len] = '\0';
	strcpy(port, p);
	return true;
}

bool o2v_host_is_loopback(const char *domain)
{
	char host[256], port[8];
	struct in_addr a4;
	struct in6_addr a6;

	if (!split_host_port(domain, host, sizeof(host), port, sizeof(port)))
		return false;
	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* Does entry (HOST[:PORT], or an IP CIDR as docker allows) name domain? A
 * leading scheme and trailing '/' are tolerated, as users copy URLs. */
static bool insecure_entry_matches(const char *entry, const char *domain)
{
	char buf[300], host[256], port[8], ehost[256], eport[8];
	size_t len;

	entry += strspn(entry, " \t");
	if (!strncmp(entry, "http://", 7))
		entry += 7;
	else if (!strncmp(entry, "https://", 8))
		entry += 8;
	len = strlen(entry);
	while (len && strchr(" \t/", entry[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, entry, len);
	buf[len] = '\0';
	if (!split_host_port(domain, host, sizeof(host), port, sizeof(port)))
		return false;

	char *slash = strchr(buf, '/');
	if (slash) { /* CIDR */
		unsigned char net[16], addr[16];
		int family = strchr(buf, ':') ? AF_INET6 : AF_INET;
		int bits = family == AF_INET6 ? 128 : 32;
		char *endp;
		long prefix = strtol(slash + 1, &endp, 10);
		*slash = '\0';
		if (*endp || endp == slash + 1 || prefix < 0 || prefix > bits ||
		    inet_pton(family, buf, net) != 1 || inet_pton(family, host, addr) != 1)
			return false;
		for (long i = 0; i < prefix; i++) {
			unsigned char m = (unsigned char)(0x80 >> (i % 8));
			if ((net[i / 8] & m) != (addr[i / 8] & m))
				return false;
		}
		return true;
	}
	if (!split_host_port(buf, ehost, sizeof(ehost), eport, sizeof(eport)))
		return false;
	return !strcasecmp(ehost, host) && (!eport[0] || !strcmp(eport, port));
}

/* Any entry of a comma separated list. */
static bool list_matches(const char *list, const char *domain)
{
	_cleanup_free_ char *copy = list ? strdup(list) : NULL;
	char *save = NULL;

	if (!copy)
		return false;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (insecure_entry_matches(tok, domain))
			return true;
	return false;
}

static char *user_config_path(const char *rel)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	_cleanup_free_ char *base = NULL;

	if (xdg && *xdg == '/')
		base = o2v_path_join(xdg, "oci2vm");
	else if (home && *home)
		base = o2v_path_join(home, ".config/oci2vm");
	return base ? o2v_path_join(base, rel) : NULL;
}

/* "insecure-registries" of the oci2vm config file; a missing file is fine. */
static int config_matches(const char *domain, bool *ret, struct o2v_error *err)
{
	_cleanup_free_ char *path = user_config_path("config.json");
	struct json_object *list, *cfg = NULL;
	int r;

	*ret = false;
	if (!path)
		return 0;
	r = o2v_config_json_load(path, O2V_TLS_CONFIG_MAX, &cfg, err);
	if (r < 0 || !cfg)
		return r;
	if (json_object_object_get_ex(cfg, "insecure-registries", &list)) {
		if (!json_object_is_type(list, json_type_array)) {
			json_object_put(cfg);
			return o2v_error_set(err, -EBADMSG,
					     "parse '%s': 'insecure-registries' must be an array of "
					     "strings",
					     path);
		}
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *e = json_object_array_get_idx(list, i);
			if (json_object_is_type(e, json_type_string) &&
			    insecure_entry_matches(json_object_get_string(e), domain)) {
				*ret = true;
				break;
			}
		}
	}
	json_object_put(cfg);
	return 0;
}

/* ---- certs.d ---- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls > lx && !strcmp(s + ls - lx, suffix);
}

static int append_file(char **buf, size_t *len, const char *path, struct o2v_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t dlen;
	int r = o2v_read_file(path, O2V_TLS_CA_MAX, &data, &dlen, err);

	if (r < 0)
		return r;
	if (!strstr(data, PEM_CERT_MARKER))
		return o2v_error_set(err, -EBADMSG, "'%s' holds no PEM certificate", path);
	if (*len + dlen + 1 > O2V_TLS_CA_MAX)
		return o2v_error_set(err, -E2BIG, "CA certificates for this registry exceed %d bytes",
				     O2V_TLS_CA_MAX);
	char *n = realloc(*buf, *len + dlen + 2);
	if (!n)
		return o2v_error_sys(err, -ENOMEM, "read '%s'", path);
	memcpy(n + *len, data, dlen);
	*len += dlen;
	n[(*len)++] = '\n'; /* a file without a final newline must not glue two PEM blocks */
	n[*len] = '\0';
	*buf = n;
	return 0;
}

struct certs_state {
	char *extra;  /* concatenated extra CA files */
	size_t extra_len;
	char *cert, *key;
};

/* Read one certs.d/DOMAIN directory (docker's ReadCertsDirectory). */
static int scan_certs_dir(const char *base, const char *domain, struct certs_state *st,
			  struct o2v_error *err)
{
	_cleanup_free_ char *dir = o2v_path_join(base, domain);
	struct dirent **names = NULL;
	int n, r = 0;

	if (!dir)
		return o2v_error_sys(err, -ENOMEM, "read certificates");
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR
			       ? 0
			       : o2v_error_sys(err, -errno, "read certificates in '%s'", dir);
	for (int i = 0; i < n && r >= 0; i++) {
		const char *name = names[i]->d_name;
		_cleanup_free_ char *path = o2v_path_join(dir, name);
		if (!path) {
			r = o2v_error_sys(err, -ENOMEM, "read certificates");
		} else if (has_suffix(name, ".crt")) {
			r = append_file(&st->extra, &st->extra_len, path, err);
		} else if (has_suffix(name, ".cert") || has_suffix(name, ".key")) {
			bool is_cert = has_suffix(name, ".cert");
			size_t stem = strlen(path) - (is_cert ? 5 : 4);
			_cleanup_free_ char *other = NULL;
			if (asprintf(&other, "%.*s%s", (int)stem, path, is_cert ? ".key" : ".cert") <
			    0) {
				r = o2v_error_sys(err, -ENOMEM, "read certificates");
			} else if (access(other, R_OK) < 0) {
				r = o2v_error_set(err, -ENOENT,
						  "client %s '%s' has no matching '%s': add it or "
						  "remove the file",
						  is_cert ? "certificate" : "key", path, other);
			} else if (is_cert && !st->cert) {
				st->cert = TAKE_PTR(path);
				st->key = TAKE_PTR(other);
			}
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static const char *system_bundle(void)
{
	static const char *const candidates[] = {
		"/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Alpine, Arch */
		"/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
		"/etc/ssl/ca-bundle.pem",	      /* openSUSE */
	};
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	if (v && v->cainfo && access(v->cainfo, R_OK) == 0)
		return v->cainfo;
	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

static int load_certs(const char *domain, struct o2v_tls_config *t, struct o2v_error *err)
{
	struct certs_state st = { 0 };
	const char *env = getenv("OCI2VM_CERTS_DIR");
	_cleanup_free_ char *user = user_config_path("certs.d");
	int r;

	/* the user directory first, so its client pair wins */
	r = user ? scan_certs_dir(user, domain, &st, err) : 0;
	if (r >= 0)
		r = scan_certs_dir(env && *env ? env : CERTS_DIR_DEFAULT, domain, &st, err);
	if (r >= 0 && st.extra) {
		const char *sys = system_bundle();
		char *all = NULL;
		size_t len = 0;
		if (sys)
			r = append_file(&all, &len, sys, err);
		if (r >= 0 && len + st.extra_len + 1 > O2V_TLS_CA_MAX)
			r = o2v_error_set(err, -E2BIG,
					  "system and extra CA certificates exceed %d bytes",
					  O2V_TLS_CA_MAX);
		if (r >= 0) {
			char *n = realloc(all, len + st.extra_len + 1);
			if (!n) {
				r = o2v_error_sys(err, -ENOMEM, "read certificates");
			} else {
				memcpy(n + len, st.extra, st.extra_len + 1);
				all = n;
				t->ca_pem = TAKE_PTR(all);
				t->ca_pem_len = len + st.extra_len;
			}
		}
		free(all);
	}
	if (r >= 0) {
		t->client_cert = TAKE_PTR(st.cert);
		t->client_key = TAKE_PTR(st.key);
	}
	free(st.extra);
	free(st.cert);
	free(st.key);
	return r;
}

/* The domain names a directory under certs.d: refuse anything that could
 * step outside it. */
static bool domain_safe_for_path(const char *domain)
{
	return *domain && !strchr(domain, '/') && strcmp(domain, ".") && strcmp(domain, "..");
}

int o2v_tls_config_load(const char *domain, const char *const *insecure_registries,
			struct o2v_tls_config *ret, struct o2v_error *err)
{
	struct o2v_tls_config t = { 0 };
	char host[256], port[8];
	bool listed = false;
	int r;

	if (!domain_safe_for_path(domain) ||
	    !split_host_port(domain, host, sizeof(host), port, sizeof(port)))
		return o2v_error_set(err, -EINVAL, "registry name '%s' is invalid", domain);
	t.is_loopback = o2v_host_is_loopback(domain);
	for (size_t i = 0; insecure_registries && insecure_registries[i] && !listed; i++)
		listed = insecure_entry_matches(insecure_registries[i], domain);
	if (!listed)
		listed = list_matches(getenv("OCI2VM_INSECURE_REGISTRIES"), domain);
	if (!listed) {
		r = config_matches(domain, &listed, err);
		if (r < 0)
			return r;
	}
	t.allow_http = t.is_loopback || listed;
	t.skip_verify = listed;
	r = load_certs(domain, &t, err);
	if (r < 0) {
		o2v_tls_config_release(&t);
		return o2v_error_prefix(err, "TLS settings for '%s'", domain);
	}
	*ret = t;
	return 0;
}

void o2v_tls_config_release(struct o2v_tls_config *t)
{
	free(t->ca_pem);
	free(t->client_cert);
	free(t->client_key);
	*t = (struct o2v_tls_config){ 0 };
}

int o2v_tls_config_apply(const struct o2v_tls_config *t, CURL *h, struct o2v_error *err)
{
	CURLcode c = CURLE_OK;

	if (t->ca_pem) {
		struct curl_blob blob = { .data = t->ca_pem,
					  .len = t->ca_pem_len,
					  .flags = CURL_BLOB_COPY };
		c = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c == CURLE_OK && t->skip_verify) {
		c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		if (c == CURLE_OK)
			c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c == CURLE_OK && t->client_cert) {
		c = curl_easy_setopt(h, CURLOPT_SSLCERT, t->client_cert);
		if (c == CURLE_OK)
			c = curl_easy_setopt(h, CURLOPT_SSLKEY, t->client_key);
	}
	if (c != CURLE_OK)
		return o2v_error_set(err, -ENOTSUP, "configure TLS: %s", curl_easy_strerror(c));
	return 0;
}
