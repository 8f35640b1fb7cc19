/* http.c - see http.h. */
#include "../common/o2v.h"

#include <poll.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "http.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void once_curl_global(void)
{
	static bool done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = true;
	}
}

int o2v_http_init(struct o2v_http *h, const char *domain, const char *api_host,
		  const char *const *insecure_registries, struct o2v_error *err)
{
	int r;

	memset(h, 0, sizeof(*h));
	once_curl_global();
	r = o2v_tls_config_load(domain, insecure_registries, &h->tls, err);
	if (r < 0)
		return r;
	h->domain = strdup(domain);
	h->host = strdup(api_host);
	h->share = curl_share_init();
	if (!h->domain || !h->host || !h->share) {
		o2v_http_release(h);
		return o2v_error_set(err, -ENOMEM, "set up HTTP for '%s'", domain);
	}
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	/* Loopback registries rarely have TLS: start with plain HTTP there and
	 * switch once if the server turns out to speak TLS. */
	h->https = !h->tls.is_loopback;
	const char *base = getenv("OCI2VM_RETRY_BASE_MS");
	h->retry_base_ms = base && *base ? (unsigned)strtoul(base, NULL, 10) : 1000;
	return 0;
}

void o2v_http_release(struct o2v_http *h)
{
	if (h->share)
		curl_share_cleanup(h->share);
	o2v_tls_config_release(&h->tls);
	free(h->domain);
	free(h->host);
	free(h->warnings);
	memset(h, 0, sizeof(*h));
}

static void response_clear(struct o2v_http_response *resp)
{
	for (size_t i = 0; i < resp->n_challenges; i++)
		free(resp->challenges[i]);
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
}

void o2v_xfer_init(struct o2v_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->resp.content_length = -1;
}

void o2v_xfer_rearm(struct o2v_xfer *x)
{
	response_clear(&x->resp);
	free(x->body);
	x->body = NULL;
	x->body_len = 0;
	x->rc = 0;
	o2v_error_clear(&x->err);
	x->attempts = 0;
	x->auth_rounds = 0;
	x->sent_auth = x->range_sent = x->body_started = x->started = x->done = false;
	x->sink_failed = false;
	x->range_from = 0;
	x->wake_ms = 0;
}

void o2v_xfer_release(struct o2v_xfer *x)
{
	o2v_xfer_rearm(x);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->url);
	free(x->path);
	memset(x, 0, sizeof(*x));
}

char *o2v_url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out = e ? strdup(e) : NULL;

	curl_free(e);
	return out;
}

int64_t o2v_http_retry_after_ms(const char *value, time_t now)
{
	char *end;

	if (!value || !*value)
		return -1;
	if (value[0] >= '0' && value[0] <= '9') {
		unsigned long long s = strtoull(value, &end, 10);
		if (*end != '\0')
			return -1;
		if (s > O2V_HTTP_RETRY_AFTER_MAX_S)
			s = O2V_HTTP_RETRY_AFTER_MAX_S;
		return (int64_t)s * 1000;
	}
	time_t t = curl_getdate(value, NULL);
	if (t < 0)
		return -1;
	if (t <= now)
		return 0;
	if (t - now > O2V_HTTP_RETRY_AFTER_MAX_S)
		return (int64_t)O2V_HTTP_RETRY_AFTER_MAX_S * 1000;
	return (int64_t)(t - now) * 1000;
}

/* ---- curl callbacks ---------------------------------------------------- */

struct cb_ctx {
	struct o2v_http *h;
	struct o2v_xfer *x;
};

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static void note_warning(struct o2v_http *h, const char *v, size_t n)
{
	_cleanup_free_ char *w = strndup(v, n < 4096 ? n : 4096);

	if (!w || !h->notify)
		return;
	for (char *p = w; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
	if (h->warnings && strstr(h->warnings, w))
		return; /* spec: deduplicate, show once */
	char *nw;
	if (asprintf(&nw, "%s\n%s", h->warnings ? h->warnings : "", w) >= 0) {
		free(h->warnings);
		h->warnings = nw;
	}
	h->notify(h->notify_ud, O2V_PROGRESS_WARNING, w);
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct o2v_xfer *x = ((struct cb_ctx *)ud)->x;
	struct o2v_http *h = ((struct cb_ctx *)ud)->h;
	size_t n = size * nitems, len = n;

	if (n >= 5 && !memcmp(buf, "HTTP/", 5)) {
		/* A new response (after a redirect or 100/401): forget the old one. */
		response_clear(&x->resp);
	}
	x->resp.header_bytes += n;
	if (x->resp.header_bytes > O2V_HTTP_HEADERS_MAX) {
		o2v_error_set(&x->err, -E2BIG, "response headers larger than %d bytes",
			      O2V_HTTP_HEADERS_MAX);
		x->sink_failed = true;
		return 0;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return n;
	size_t nlen = (size_t)(colon - buf);
	const char *v = colon + 1;
	while (v < buf + len && (*v == ' ' || *v == '\t'))
		v++;
	size_t vlen = (size_t)(buf + len - v);
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(buf, name, nlen))
	if (IS("content-type"))
		copy_value(x->resp.content_type, sizeof(x->resp.content_type), v, vlen);
	else if (IS("docker-content-digest"))
		copy_value(x->resp.docker_digest, sizeof(x->resp.docker_digest), v, vlen);
	else if (IS("content-range"))
		copy_value(x->resp.content_range, sizeof(x->resp.content_range), v, vlen);
	else if (IS("retry-after"))
		copy_value(x->resp.retry_after, sizeof(x->resp.retry_after), v, vlen);
	else if (IS("content-length")) {
		char tmp[32];
		copy_value(tmp, sizeof(tmp), v, vlen);
		char *end;
		long long cl = strtoll(tmp, &end, 10);
		x->resp.content_length = (*tmp && !*end && cl >= 0) ? cl : -1;
	} else if (IS("www-authenticate") && x->resp.n_challenges < O2V_HTTP_CHALLENGES_MAX) {
		char *c = strndup(v, vlen);
		if (c)
			x->resp.challenges[x->resp.n_challenges++] = c;
	} else if (IS("warning") && vlen > 4 && !strncmp(v, "299 ", 4)) {
		note_warning(h, v, vlen);
	}
#undef IS
	return n;
}

static int append_capped(struct o2v_xfer *x, const char *buf, size_t n, size_t cap, bool fail)
{
	if (x->body_len + n > cap) {
		if (fail)
			return o2v_error_set(&x->err, -E2BIG, "response body larger than %zu bytes",
					     cap);
		n = cap > x->body_len ? cap - x->body_len : 0;
		if (!n)
			return 0;
	}
	char *nb = realloc(x->body, x->body_len + n + 1);
	if (!nb)
		return o2v_error_set(&x->err, -ENOMEM, "buffer response body");
	x->body = nb;
	memcpy(x->body + x->body_len, buf, n);
	x->body_len += n;
	x->body[x->body_len] = '\0';
	return 0;
}

/* First body bytes of an attempt: decide where they go. */
static int body_start(struct o2v_xfer *x)
{
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->resp.status = status;
	x->body_started = true;
	if (status < 200 || status > 299)
		return 0;
	if (!x->sink.write) {
		if (x->resp.content_length > 0 && (uint64_t)x->resp.content_length > x->body_max)
			return o2v_error_set(
			    &x->err, -E2BIG,
			    "response of %lld bytes is larger than the %zu allowed",
			    (long long)x->resp.content_length, x->body_max);
		return 0;
	}
	if (x->range_sent && status == 206) {
		char want[64];
		snprintf(want, sizeof(want), "bytes %llu-", (unsigned long long)x->range_from);
		if (strncmp(x->resp.content_range, want, strlen(want)))
			return o2v_error_set(&x->err, -EPROTO,
					     "resumed download: server sent range '%s', asked for "
					     "bytes from %llu",
					     x->resp.content_range,
					     (unsigned long long)x->range_from);
		return 0;
	}
	if (status == 206)
		return o2v_error_set(&x->err, -EPROTO, "unexpected partial content (HTTP 206)");
	/* A full body: whatever the sink held is replaced. */
	if (x->sink.reset && x->sink.offset && x->sink.offset(x->sink.ud) > 0)
		return x->sink.reset(x->sink.ud, &x->err);
	return 0;
}

static size_t write_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct o2v_xfer *x = ((struct cb_ctx *)ud)->x;
	size_t n = size * nitems;
	int r = 0;

	if (!x->body_started && (r = body_start(x)) < 0)
		goto fail;
	if (x->resp.status < 200 || x->resp.status > 299)
		r = append_capped(x, buf, n, O2V_HTTP_ERRBODY_MAX, false);
	else if (x->sink.write)
		r = x->sink.write(x->sink.ud, buf, n, &x->err);
	else
		r = append_capped(x, buf, n, x->body_max, true);
	if (r >= 0)
		return n;
fail:
	x->sink_failed = true;
	return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
}

/* ---- the engine -------------------------------------------------------- */

static const struct o2v_tls_config *xfer_tls(struct o2v_http *h, struct o2v_xfer *x)
{
	return x->tls ? x->tls : &h->tls;
}

static int xfer_prepare(struct o2v_http *h, struct o2v_xfer *x, struct cb_ctx *ctx)
{
	const struct o2v_tls_config *tls = xfer_tls(h, x);
	_cleanup_free_ char *url = NULL;
	char line[128];
	int r;

	if (!x->easy && !(x->easy = curl_easy_init()))
		return o2v_error_set(&x->err, -ENOMEM, "create HTTP handle");
	curl_easy_reset(x->easy);
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (x->url)
		url = strdup(x->url);
	else if (asprintf(&url, "%s://%s%s", h->https ? "https" : "http", h->host, x->path) < 0)
		url = NULL;
	if (!url)
		return o2v_error_set(&x->err, -ENOMEM, "build URL");

	CURL *e = x->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_SHARE, h->share);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, tls->allow_http ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)O2V_HTTP_MAX_REDIRS);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, tls->allow_http ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, ctx);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, ctx);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer (under 1 KiB/s for 60 s) counts as a connection error. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "oci2vm/" O2V_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
	x->errbuf[0] = '\0';
	if ((r = o2v_tls_config_apply(tls, e, &x->err)) < 0)
		return r;

	if (x->method && !strcmp(x->method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (x->post_form) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->post_form);
		x->hdrs =
		    curl_slist_append(x->hdrs, "Content-Type: application/x-www-form-urlencoded");
	}
	if (x->accept) {
		_cleanup_free_ char *a = NULL;
		if (asprintf(&a, "Accept: %s", x->accept) >= 0)
			x->hdrs = curl_slist_append(x->hdrs, a);
	}
	const char *authz = x->authorization;
	if (x->registry_auth && h->auth && (r = o2v_auth_header(h->auth, &authz, &x->err)) < 0)
		return r;
	x->sent_auth = authz != NULL;
	if (authz)
		x->hdrs = curl_slist_append(x->hdrs, authz);
	x->range_sent = false;
	if (x->sink.write && x->sink.offset && (x->range_from = x->sink.offset(x->sink.ud)) > 0) {
		snprintf(line, sizeof(line), "Range: bytes=%llu-",
			 (unsigned long long)x->range_from);
		x->hdrs = curl_slist_append(x->hdrs, line);
		x->range_sent = true;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	response_clear(&x->resp);
	free(x->body);
	x->body = NULL;
	x->body_len = 0;
	x->body_started = false;
	x->attempts++;
	h->requests++;
	return 0;
}

static bool retriable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
		return true;
	default:
		return false;
	}
}

static bool retriable_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static int64_t backoff_ms(struct o2v_http *h, struct o2v_xfer *x)
{
	int64_t d = h->retry_base_ms;

	for (unsigned i = 1; i < x->attempts && d < 30000; i++)
		d *= 3;
	if (d > 30000)
		d = 30000;
	/* 10% jitter so parallel retries do not hit the registry in lockstep */
	return d + (d / 10 ? rand() % (d / 10 + 1) : 0);
}

static const char *xfer_what(struct o2v_http *h, struct o2v_xfer *x, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s%s", x->method ? x->method : (x->post_form ? "POST" : "GET"),
		 x->url ? "" : h->host, x->url ? x->url : x->path);
	return buf;
}

enum verdict { V_DONE, V_RETRY, V_FAIL };

static enum verdict retry_or_fail(struct o2v_http *h, struct o2v_xfer *x, int64_t delay,
				  const char *why)
{
	char what[512], msg[1024];

	if (x->attempts >= O2V_HTTP_ATTEMPTS)
		return V_FAIL;
	if (delay < 0)
		delay = backoff_ms(h, x);
	x->wake_ms = now_ms() + delay;
	if (h->notify) {
		snprintf(msg, sizeof(msg), "%s: %s; retrying in %.1f s (attempt %u of %d)",
			 xfer_what(h, x, what, sizeof(what)), why, (double)delay / 1000.0,
			 x->attempts + 1, O2V_HTTP_ATTEMPTS);
		h->notify(h->notify_ud, O2V_PROGRESS_RETRY, msg);
	}
	return V_RETRY;
}

static enum verdict xfer_finished(struct o2v_http *h, struct o2v_xfer *x, CURLcode cc)
{
	char what[512], why[256];
	long status = 0;

	xfer_what(h, x, what, sizeof(what));
	if (x->sink_failed) {
		o2v_error_prefix(&x->err, "%s", what);
		return V_FAIL;
	}
	if (cc != CURLE_OK) {
		/* A TLS handshake with a plain-HTTP server (a user-listed insecure one). */
		if (!h->scheme_fixed && !x->url && h->https && h->tls.allow_http &&
		    (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_RECV_ERROR)) {
			h->https = false;
			h->scheme_fixed = true;
			x->attempts--;
			x->wake_ms = 0;
			return V_RETRY;
		}
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		if (retriable_curl(cc) &&
		    (cc != CURLE_COULDNT_CONNECT || x->attempts < O2V_HTTP_CONNECT_ATTEMPTS) &&
		    retry_or_fail(h, x, -1, why) == V_RETRY)
			return V_RETRY;
		if (cc == CURLE_UNSUPPORTED_PROTOCOL)
			o2v_error_set(&x->err, -EPROTO,
				      "%s: redirected to a disallowed protocol (%s); only https%s "
				      "is followed",
				      what, why, xfer_tls(h, x)->allow_http ? " and http" : "");
		else if (cc == CURLE_TOO_MANY_REDIRECTS)
			o2v_error_set(&x->err, -EPROTO, "%s: more than %d redirects", what,
				      O2V_HTTP_MAX_REDIRS);
		else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
			 cc == CURLE_SSL_CONNECT_ERROR)
			o2v_error_set(&x->err, -EPROTO,
				      "%s: TLS failure: %s; for a private CA put it in "
				      "/etc/docker/certs.d/%s/ca.crt or "
				      "~/.config/oci2vm/certs.d/%s/ca.crt",
				      what, why, h->domain, h->domain);
		else if (cc == CURLE_COULDNT_RESOLVE_HOST)
			o2v_error_set(&x->err, -EHOSTUNREACH, "%s: %s", what, why);
		else
			o2v_error_set(&x->err, -ECONNREFUSED, "%s: %s", what, why);
		return V_FAIL;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->resp.status = status;
	if (!h->scheme_fixed && !x->url) {
		/* Go's TLS server answers plain HTTP with "400 ... HTTPS server". */
		if (!h->https && status == 400 && h->tls.allow_http) {
			h->https = true;
			h->scheme_fixed = true;
			x->attempts--;
			x->wake_ms = 0;
			return V_RETRY;
		}
		h->scheme_fixed = true;
	}
	char *eff = NULL;
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
	if (eff) {
		CURLU *u = curl_url();
		char *host = NULL, *port = NULL;
		if (u && !curl_url_set(u, CURLUPART_URL, eff, 0) &&
		    !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
			curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
			snprintf(x->resp.final_host, sizeof(x->resp.final_host), "%s:%s", host,
				 port ? port : "");
		}
		curl_free(host);
		curl_free(port);
		curl_url_cleanup(u);
		long redirects = 0;
		curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects);
		if (redirects > 0) {
			char *orig = x->url ? x->url : NULL;
			_cleanup_free_ char *first = NULL;
			if (!orig &&
			    asprintf(&first, "%s://%s/", h->https ? "https" : "http", h->host) >= 0)
				orig = first;
			CURLU *o = curl_url();
			char *oh = NULL, *op = NULL;
			if (o && orig && !curl_url_set(o, CURLUPART_URL, orig, 0) &&
			    !curl_url_get(o, CURLUPART_HOST, &oh, 0)) {
				curl_url_get(o, CURLUPART_PORT, &op, CURLU_DEFAULT_PORT);
				char both[300];
				snprintf(both, sizeof(both), "%s:%s", oh, op ? op : "");
				x->resp.cross_host = strcmp(both, x->resp.final_host) != 0;
			}
			curl_free(oh);
			curl_free(op);
			curl_url_cleanup(o);
		}
	}
	/* the challenge round, then at most one refresh of refused credentials:
	 * never a loop */
	if (status == 401 && x->registry_auth && h->auth && !x->resp.cross_host &&
	    (x->auth_rounds == 0 || (x->auth_rounds == 1 && x->sent_auth))) {
		x->auth_rounds++;
		int r = o2v_auth_handle_401(h->auth, &x->resp, &x->err);
		if (r < 0)
			return V_FAIL;
		x->attempts--; /* an auth round trip is not a failed attempt */
		x->wake_ms = 0;
		return V_RETRY;
	}
	if (retriable_status(status)) {
		int64_t ra = status == 429 || status == 503
				 ? o2v_http_retry_after_ms(x->resp.retry_after, time(NULL))
				 : -1;
		snprintf(why, sizeof(why), "HTTP %ld", status);
		if (retry_or_fail(h, x, ra, why) == V_RETRY)
			return V_RETRY;
	}
	return V_DONE;
}

static void free_ctx_easy(CURLM *m, struct o2v_xfer *x)
{
	if (x->easy)
		curl_multi_remove_handle(m, x->easy);
}

int o2v_http_run(struct o2v_http *h, struct o2v_xfer **xs, size_t n, unsigned max_parallel,
		 struct o2v_error *err)
{
	CURLM *m = curl_multi_init();
	_cleanup_free_ struct cb_ctx *ctx = calloc(n ? n : 1, sizeof(*ctx));
	size_t n_done = 0;
	unsigned active = 0;
	int first_rc = 0;

	if (!m || !ctx) {
		if (m)
			curl_multi_cleanup(m);
		return o2v_error_set(err, -ENOMEM, "start HTTP transfers");
	}
	if (max_parallel == 0)
		max_parallel = 1;
	for (size_t i = 0; i < n; i++) {
		ctx[i].h = h;
		ctx[i].x = xs[i];
		xs[i]->done = xs[i]->started = false;
		xs[i]->attempts = 0;
		xs[i]->auth_rounds = 0;
		xs[i]->wake_ms = 0;
		xs[i]->rc = 0;
		o2v_error_clear(&xs[i]->err);
	}
	while (n_done < n) {
		int64_t t = now_ms(), next_wake = -1;
		for (size_t i = 0; i < n && active < max_parallel; i++) {
			struct o2v_xfer *x = xs[i];
			if (x->done || x->started)
				continue;
			if (x->wake_ms > t) {
				if (next_wake < 0 || x->wake_ms < next_wake)
					next_wake = x->wake_ms;
				continue;
			}
			x->sink_failed = false;
			int r = xfer_prepare(h, x, &ctx[i]);
			if (r < 0) {
				x->rc = r;
				x->done = true;
				n_done++;
				continue;
			}
			curl_multi_add_handle(m, x->easy);
			x->started = true;
			active++;
		}
		if (n_done == n)
			break;
		int running = 0;
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct o2v_xfer *x = NULL;
			for (size_t i = 0; i < n; i++)
				if (xs[i]->easy == msg->easy_handle && xs[i]->started)
					x = xs[i];
			if (!x)
				continue;
			CURLcode cc = msg->data.result;
			curl_multi_remove_handle(m, x->easy);
			x->started = false;
			active--;
			enum verdict v = xfer_finished(h, x, cc);
			if (v == V_RETRY)
				continue;
			if (v == V_FAIL) {
				if (!x->err.code) {
					char what[512];
					if (x->resp.status)
						o2v_error_set(&x->err, -EIO,
							      "%s: HTTP %ld after %u attempts",
							      xfer_what(h, x, what, sizeof(what)),
							      x->resp.status, x->attempts);
					else
						o2v_error_set(&x->err, -EIO, "%s failed",
							      xfer_what(h, x, what, sizeof(what)));
				}
				x->rc = x->err.code;
			}
			x->done = true;
			n_done++;
		}
		if (n_done == n)
			break;
		int timeout = 1000;
		if (next_wake >= 0) {
			int64_t d = next_wake - now_ms();
			timeout = d < 0 ? 0 : d < timeout ? (int)d : timeout;
		}
		if (active > 0)
			curl_multi_poll(m, NULL, 0, timeout, NULL);
		else if (timeout > 0)
			poll(NULL, 0, timeout);
	}
	for (size_t i = 0; i < n; i++) {
		free_ctx_easy(m, xs[i]);
		if (xs[i]->rc < 0 && !first_rc) {
			first_rc = xs[i]->rc;
			if (err) {
				*err = xs[i]->err;
			}
		}
	}
	curl_multi_cleanup(m);
	return first_rc;
}

int o2v_http_do(struct o2v_http *h, struct o2v_xfer *x, struct o2v_error *err)
{
	return o2v_http_run(h, &x, 1, 1, err);
}

void o2v_http_describe(const struct o2v_xfer *x, char *buf, size_t size)
{
	size_t pos = (size_t)snprintf(buf, size, "HTTP %ld", x->resp.status);

	/* distribution errors: {"errors":[{"code":"...","message":"..."}]} — show
	 * the first code and message without a JSON parser for a short body. */
	if (!x->body || pos >= size)
		return;
	const char *c = strstr(x->body, "\"code\"");
	const char *m = strstr(x->body, "\"message\"");
	char code[64] = "", text[256] = "";
	if (c)
		sscanf(c, "\"code\"%*[ :]\"%63[^\"]\"", code);
	if (m)
		sscanf(m, "\"message\"%*[ :]\"%255[^\"]\"", text);
	/* Both come from the registry: no control byte reaches a message (fuzz_auth found the
	 * code unfiltered). */
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	for (char *p = code; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	if (code[0] || text[0])
		snprintf(buf + pos, size - pos, " (%s%s%s)", code, code[0] && text[0] ? ": " : "",
			 text);
}
