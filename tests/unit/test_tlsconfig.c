/* test_tlsconfig.c - insecure-registry rules, certs.d reading, and applying
 * the result to a real curl handle against a real TLS server (openssl
 * s_server on 127.0.0.1 with a CA this test generates). */
#include "../../common/o2v.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../common/fsutil.h"
#include "../../registry/tlsconfig.h"
#include "tap.h"

static char top[] = "/tmp/o2v-tls-XXXXXX";
static char certs[300];

static void write_text(const char *path, const char *text)
{
	struct o2v_error err = { 0 };
	_cleanup_free_ char *dir = strdup(path);

	*strrchr(dir, '/') = '\0';
	if (o2v_mkdir_p(dir, 0755, &err) < 0 ||
	    o2v_write_file_atomic(path, text, strlen(text), 0644, &err) < 0) {
		printf("# write %s: %s\n", path, err.msg);
		exit(1);
	}
}

static char *in_top(const char *rel)
{
	return o2v_path_join(top, rel);
}

/* "http" (allow_http), "skip" (skip_verify), "loop" flags as one string. */
static char *flags(const char *domain, const char *const *list)
{
	struct o2v_tls_config t;
	struct o2v_error err = { 0 };
	char *out = NULL;
	int r = o2v_tls_config_load(domain, list, &t, &err);

	if (r < 0) {
		if (asprintf(&out, "error %d", -r) < 0)
			abort();
		return out;
	}
	if (asprintf(&out, "%s%s%s", t.allow_http ? "http " : "", t.skip_verify ? "skip " : "",
		     t.is_loopback ? "loop" : "") < 0)
		abort();
	o2v_tls_config_release(&t);
	return out;
}

#define FLAGS_IS(domain, list, want, ...)                                                          \
	do {                                                                                       \
		_cleanup_free_ char *_got = flags(domain, list);                                   \
		TAP_IS_STR(_got, want, __VA_ARGS__);                                               \
	} while (0)

static void test_loopback(void)
{
	static const char *const yes[] = { "localhost",	  "localhost:5000", "LOCALHOST:1",
					   "127.0.0.1",	  "127.0.0.1:5000", "127.200.3.4:80",
					   "[::1]:5000",  "[::1]" };
	static const char *const no[] = { "128.0.0.1:5000", "example.com", "localhost.example.com",
					  "[::2]:5000",	    "10.0.0.1",	   "1127.0.0.1" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		TAP_OK(o2v_host_is_loopback(yes[i]), "'%s' is loopback", yes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		TAP_OK(!o2v_host_is_loopback(no[i]), "'%s' is not loopback", no[i]);
	FLAGS_IS("127.0.0.1:5000", NULL, "http loop",
		 "loopback allows plain HTTP but keeps certificate verification");
	FLAGS_IS("registry.example", NULL, "", "a remote registry is HTTPS only");
}

static void test_insecure(void)
{
	const char *const list[] = { "reg.example:5000", "any.example", "https://url.example/",
				     "10.0.0.0/8", "fd00::/8", NULL };
	_cleanup_free_ char *cfg = in_top("cfg/oci2vm/config.json");

	FLAGS_IS("reg.example:5000", list, "http skip ", "listed host:port");
	FLAGS_IS("reg.example:5001", list, "", "another port of a host:port entry");
	FLAGS_IS("reg.example", list, "", "the host without the listed port");
	FLAGS_IS("any.example:443", list, "http skip ", "a host entry matches every port");
	FLAGS_IS("ANY.example", list, "http skip ", "host names compare case-insensitively");
	FLAGS_IS("url.example", list, "http skip ", "scheme and trailing '/' are tolerated");
	FLAGS_IS("10.1.2.3:5000", list, "http skip ", "IPv4 CIDR entry");
	FLAGS_IS("11.1.2.3:5000", list, "", "outside the CIDR");
	FLAGS_IS("[fd12::1]:5000", list, "http skip ", "IPv6 CIDR entry");
	FLAGS_IS("evil.example/..", list, "error 22", "a registry name with '/' is refused");

	setenv("OCI2VM_INSECURE_REGISTRIES", " env1.example , env2.example:81", 1);
	FLAGS_IS("env1.example:9", NULL, "http skip ", "first entry of the env list");
	FLAGS_IS("env2.example:81", NULL, "http skip ", "second entry of the env list");
	FLAGS_IS("env2.example:82", NULL, "", "env entry with another port");
	unsetenv("OCI2VM_INSECURE_REGISTRIES");

	write_text(cfg, "{\"insecure-registries\": [\"conf.example:5000\", 7]}");
	FLAGS_IS("conf.example:5000", NULL, "http skip ", "config.json insecure-registries");
	FLAGS_IS("other.example", NULL, "", "not in config.json");
	write_text(cfg, "{\"insecure-registries\": \"conf.example\"}");
	FLAGS_IS("conf.example", NULL, "error 74", "insecure-registries must be an array");
	write_text(cfg, "{oops");
	FLAGS_IS("conf.example", NULL, "error 74", "malformed config.json is an error");
	unlink(cfg);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_certs(void)
{
	struct o2v_tls_config t;
	struct o2v_error err = { 0 };
	_cleanup_free_ char *ca = in_top("ca.pem"), *dst = NULL, *ca_text = NULL;
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
		 "-days 2 -subj /CN=o2v-test-ca >/dev/null 2>&1 && "
		 "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
		 "-subj /CN=127.0.0.1 >/dev/null 2>&1 && "
		 "printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
		 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		 "-out srv.pem -days 2 -extfile ext >/dev/null 2>&1",
		 top);
	if (run(cmd) != 0) {
		printf("# openssl failed\n");
		exit(1);
	}
	o2v_read_file(ca, 1 << 20, &ca_text, NULL, &err);

	FLAGS_IS("reg.example:5000", NULL, "", "no certs.d directory is fine");
	TAP_IS_INT(o2v_tls_config_load("reg.example:5000", NULL, &t, &err), 0, "load");
	TAP_OK(t.ca_pem == NULL && t.client_cert == NULL, "no certs.d: system defaults");
	o2v_tls_config_release(&t);

	dst = o2v_path_join(certs, "reg.example:5000/ca.crt");
	write_text(dst, ca_text);
	TAP_IS_INT(o2v_tls_config_load("reg.example:5000", NULL, &t, &err), 0,
		   "load with certs.d/HOST:PORT/ca.crt");
	TAP_OK(t.ca_pem && strstr(t.ca_pem, ca_text), "the extra CA is in the bundle");
	TAP_OK(t.ca_pem && t.ca_pem_len > strlen(ca_text) + 1000,
	       "the system bundle is kept next to it (%zu bytes)", t.ca_pem_len);
	TAP_OK(t.ca_pem && strlen(t.ca_pem) == t.ca_pem_len, "ca_pem_len is its length");
	o2v_tls_config_release(&t);
	TAP_IS_INT(o2v_tls_config_load("reg.example:5001", NULL, &t, &err), 0,
		   "load for another port");
	TAP_OK(t.ca_pem == NULL, "the CA is per host:port");
	o2v_tls_config_release(&t);

	free(dst);
	dst = o2v_path_join(certs, "bad.example/junk.crt");
	write_text(dst, "not a certificate\n");
	TAP_IS_INT(o2v_tls_config_load("bad.example", NULL, &t, &err), -EBADMSG,
		   "a .crt without PEM is refused");
	TAP_OK(strstr(err.msg, "junk.crt") != NULL, "the message names the file: %s", err.msg);

	free(dst);
	dst = o2v_path_join(certs, "cl.example/client.cert");
	write_text(dst, ca_text);
	TAP_IS_INT(o2v_tls_config_load("cl.example", NULL, &t, &err), -ENOENT,
		   "client.cert without client.key is refused");
	free(dst);
	dst = o2v_path_join(certs, "cl.example/client.key");
	write_text(dst, "key");
	TAP_IS_INT(o2v_tls_config_load("cl.example", NULL, &t, &err), 0, "client pair");
	TAP_OK(t.client_cert && strstr(t.client_cert, "cl.example/client.cert") && t.client_key &&
		       strstr(t.client_key, "cl.example/client.key"),
	       "client certificate and key paths");
	o2v_tls_config_release(&t);

	_cleanup_free_ char *user = in_top("cfg/oci2vm/certs.d/cl.example/mine.cert");
	write_text(user, ca_text);
	free(user);
	user = in_top("cfg/oci2vm/certs.d/cl.example/mine.key");
	write_text(user, "key");
	TAP_IS_INT(o2v_tls_config_load("cl.example", NULL, &t, &err), 0, "user certs.d");
	TAP_OK(t.client_cert && strstr(t.client_cert, "cfg/oci2vm/certs.d/cl.example/mine.cert"),
	       "the user's client pair wins");
	o2v_tls_config_release(&t);
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	close(fd);
	return ntohs(a.sin_port);
}

static CURLcode fetch(const char *url, const struct o2v_tls_config *t)
{
	struct o2v_error err = { 0 };
	CURL *h = curl_easy_init();
	CURLcode c;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	if (t && o2v_tls_config_apply(t, h, &err) < 0) {
		printf("# apply: %s\n", err.msg);
		curl_easy_cleanup(h);
		return CURLE_FAILED_INIT;
	}
	c = curl_easy_perform(h);
	curl_easy_cleanup(h);
	return c;
}

/* The settings, applied to a curl handle, make a real handshake succeed. */
static void test_handshake(void)
{
	struct o2v_tls_config t;
	struct o2v_error err = { 0 };
	int port = free_port();
	char domain[64], url[128], portstr[16];
	pid_t pid;

	snprintf(domain, sizeof(domain), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "https://%s/", domain);
	snprintf(portstr, sizeof(portstr), "%d", port);
	_cleanup_free_ char *dir = o2v_path_join(certs, domain);
	_cleanup_free_ char *cmd = NULL;
	if (asprintf(&cmd, "mkdir -p '%s' && cp %s/ca.pem '%s/ca.crt'", dir, top, dir) < 0 ||
	    run(cmd) != 0) {
		printf("# setup failed\n");
		exit(1);
	}

	pid = fork();
	if (pid == 0) {
		if (chdir(top) < 0)
			_exit(127);
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		dup2(nul, 2);
		execlp("openssl", "openssl", "s_server", "-accept", portstr, "-cert", "srv.pem",
		       "-key", "srv.key", "-www", "-naccept", "10", (char *)NULL);
		_exit(127);
	}
	/* wait until it listens (bounded; a missing server fails the checks below) */
	for (int i = 0; i < 100; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			break;
		usleep(50 * 1000);
	}

	TAP_IS_INT(fetch(url, NULL), CURLE_PEER_FAILED_VERIFICATION,
		   "without the CA the server's certificate is refused");
	TAP_IS_INT(o2v_tls_config_load(domain, NULL, &t, &err), 0, "load settings for %s",
		   domain);
	TAP_IS_INT(fetch(url, &t), CURLE_OK, "with certs.d/%s/ca.crt the handshake succeeds",
		   domain);
	o2v_tls_config_release(&t);
	const char *const list[] = { domain, NULL };
	_cleanup_free_ char *moved = in_top("moved-away");
	rename(dir, moved);
	TAP_IS_INT(o2v_tls_config_load(domain, list, &t, &err), 0, "load as an insecure registry");
	TAP_IS_INT(fetch(url, &t), CURLE_OK,
		   "a listed insecure registry skips verification (Docker's behaviour)");
	o2v_tls_config_release(&t);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(certs, sizeof(certs), "%s/certs.d", top);
	setenv("OCI2VM_CERTS_DIR", certs, 1);
	_cleanup_free_ char *cfg = in_top("cfg");
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("HOME", top, 1);
	unsetenv("OCI2VM_INSECURE_REGISTRIES");
	curl_global_init(CURL_GLOBAL_DEFAULT);

	test_loopback();
	test_insecure();
	test_certs();
	test_handshake();

	curl_global_cleanup();
	o2v_rm_rf(top, NULL);
	return tap_done();
}
