/* http.h - the registry module's HTTP engine (libcurl multi).
 *
 * One struct o2v_http per registry host: it picks the scheme (HTTPS with the
 * host's CA settings; plain HTTP only for loopback or registries the user
 * marked insecure), shares connections between requests, and runs batches
 * of transfers in parallel with bounded concurrency.
 *
 * Policy every transfer gets (distribution-spec, containerd, ggcr):
 *  - redirects followed (at most 10) to https only (http too when the
 *    registry is insecure); libcurl >= 7.58 drops Authorization when the
 *    host, port or scheme changes and CURLOPT_UNRESTRICTED_AUTH is never set;
 *  - retries with exponential backoff on connection errors, 408, 429 and
 *    5xx (Retry-After honoured, bounded), never on other 4xx;
 *  - a 401 on an authenticated transfer asks auth.c for credentials, and a
 *    401 to a request that carried them asks once more (a token refresh);
 *  - a resumable sink continues with "Range: bytes=N-" (206 + matching
 *    Content-Range, or a 200 restarts the sink from zero);
 *  - response headers are captured for the final response only (state is
 *    reset at every status line), and bodies have caps.
 * OCI2VM_RETRY_BASE_MS overrides the first backoff delay (default 1000 ms),
 * so tests of retry paths stay fast.
 */
#ifndef O2V_HTTP_H
#define O2V_HTTP_H

#include <curl/curl.h>

#include "registry.h"
#include "tlsconfig.h"

#define O2V_HTTP_HEADERS_MAX	   (64 << 10) /* all header lines of one response */
#define O2V_HTTP_ERRBODY_MAX	   (16 << 10) /* error body kept for messages */
#define O2V_HTTP_CHALLENGES_MAX	   8	      /* WWW-Authenticate lines kept */
#define O2V_HTTP_ATTEMPTS	   5
/* A refused connection means nothing listens there: retry briefly (a registry being
 * restarted), not for the ~40 s of backoff the other transient failures get. */
#define O2V_HTTP_CONNECT_ATTEMPTS 3
#define O2V_HTTP_RETRY_AFTER_MAX_S 60
#define O2V_HTTP_MAX_REDIRS	   10

struct o2v_auth;

struct o2v_http_response {
	long status;
	char content_type[128];
	char docker_digest[O2V_DIGEST_MAX];
	int64_t content_length; /* -1 when absent */
	char content_range[96];
	char retry_after[64];
	char *challenges[O2V_HTTP_CHALLENGES_MAX]; /* WWW-Authenticate values, owned */
	size_t n_challenges;
	size_t header_bytes;
	bool cross_host; /* the final response came from another host (redirect) */
	char final_host[256];
};

/* Where a response body goes. write() returns < 0 (with err set) to abort.
 * reset() starts over from zero bytes; offset() is the number of bytes held
 * (NULL: not resumable). */
struct o2v_sink {
	int (*write)(void *ud, const void *buf, size_t len, struct o2v_error *err);
	int (*reset)(void *ud, struct o2v_error *err);
	uint64_t (*offset)(void *ud);
	void *ud;
};

struct o2v_xfer {
	/* request, set by the caller */
	const char *method; /* "GET" (default) or "HEAD" */
	char *url;	    /* absolute URL (owned), or NULL with path set */
	char *path;	    /* "/v2/..." on the registry (owned) */
	const char *accept;
	const char *post_form;		  /* POST this application/x-www-form-urlencoded body */
	bool registry_auth;		  /* send the registry's Authorization */
	const char *authorization;	  /* explicit "Authorization: ..." (token fetch) */
	const struct o2v_tls_config *tls; /* for url on another host; NULL = registry's */
	struct o2v_sink sink;		  /* write NULL: buffer the body up to body_max */
	size_t body_max;

	/* results */
	struct o2v_http_response resp;
	char *body; /* buffered 2xx body (NUL-terminated), or error body of other statuses */
	size_t body_len;
	int rc; /* 0, or the negative error of a transfer that could not complete */
	struct o2v_error err;

	/* engine state */
	CURL *easy;
	struct curl_slist *hdrs;
	unsigned attempts;
	unsigned auth_rounds;
	bool sent_auth, range_sent, body_started, started, done, sink_failed;
	uint64_t range_from;
	int64_t wake_ms;
	char errbuf[CURL_ERROR_SIZE];
};

struct o2v_http {
	char *domain; /* "127.0.0.1:5000", for messages and credential lookup */
	char *host;   /* URL authority: "registry-1.docker.io", "[::1]:5000" */
	bool https, scheme_fixed;
	struct o2v_tls_config tls;
	CURLSH *share;
	struct o2v_auth *auth;
	void (*notify)(void *ud, enum o2v_progress_kind kind, const char *msg);
	void *notify_ud;
	char *warnings; /* "\n"-joined Warning texts already reported */
	unsigned retry_base_ms;
	uint64_t requests; /* counted per attempt, for tests and benchmarks */
};

int o2v_http_init(struct o2v_http *h, const char *domain, const char *api_host,
		  const char *const *insecure_registries, struct o2v_error *err);
void o2v_http_release(struct o2v_http *h);

void o2v_xfer_init(struct o2v_xfer *x);
void o2v_xfer_release(struct o2v_xfer *x);
/* Reset the results and engine state so x can run again. */
void o2v_xfer_rearm(struct o2v_xfer *x);

/* Run xfers (at most max_parallel at once) until each is done: x->rc is 0
 * when an HTTP response arrived (check x->resp.status), negative when it
 * could not (connection failure after retries, cap exceeded, sink error,
 * TLS failure) with x->err set. Returns 0, or the first x->rc < 0 with err
 * filled from it. */
int o2v_http_run(struct o2v_http *h, struct o2v_xfer **xs, size_t n, unsigned max_parallel,
		 struct o2v_error *err);

/* One transfer; same contract. */
int o2v_http_do(struct o2v_http *h, struct o2v_xfer *x, struct o2v_error *err);

/* Message part for an unexpected status: "HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)". */
void o2v_http_describe(const struct o2v_xfer *x, char *buf, size_t size);

/* URL-encode s into a new string. */
char *o2v_url_escape(const char *s);

/* Parse Retry-After (delta seconds or HTTP-date) into milliseconds from now; -1 if invalid. */
int64_t o2v_http_retry_after_ms(const char *value, time_t now);

#endif
