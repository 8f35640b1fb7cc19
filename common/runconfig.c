/* runconfig.c - the run-config text format (see runconfig.h for the struct).
 *
 * Format, version 1. A text file of lines, each ending in '\n':
 *
 *	oci2vm-runconfig 1          first line: magic and version
 *	KEY VALUE                   any number of these, one per line
 *	end                         last line: a file cut short anywhere is rejected
 *
 * KEY is one of the names below, followed by exactly one space and the
 * value (which may be empty). Values are escaped so that every byte except
 * NUL round-trips: '\\' -> "\\\\", newline -> "\\n", tab -> "\\t", CR ->
 * "\\r", any other byte below 0x20 and 0x7f -> "\\xNN" (two hex digits).
 * Bytes >= 0x80 are written as they are. Raw control bytes, "\\x00" and any
 * other escape are rejected. Fields of a multi-field value are separated
 * by one space, and a space inside a field is written "\\x20".
 *
 *	arg ARG               repeated: argv in order (Entrypoint+Cmd merged)
 *	env K=V               repeated: the final environment
 *	workdir PATH          absolute, or empty for "/"
 *	user SPEC             name, uid, uid:gid, name:group, or empty (root)
 *	hostname NAME
 *	network 0|1           configure lo and eth0 (10.0.2.15/24 via 10.0.2.2)
 *	dns ADDR              repeated: nameservers (default 10.0.2.3)
 *	host ADDR NAME...     repeated: extra /etc/hosts lines (one field: spaces kept)
 *	volume TAG ro|rw PATH repeated: 9p tag, mode, absolute guest path
 *	bind TAG NAME ro|rw PATH  repeated, in one list with volume: the file or directory
 *	                      NAME at the top of share TAG, bind-mounted at PATH (one share
 *	                      carries an OCI runtime's many bind mounts: microvm has 8 device
 *	                      slots); NAME is one path component
 *	virtiofs TAG          repeated, after the volume or bind lines naming TAG: that share
 *	                      is virtio-fs (served by virtiofsd), not 9p
 *	terminal 0|1
 *	stdin 0|1             -i: stdin is the console (else /dev/null); absent = 0
 *	winsize ROWS COLS
 *	stop_grace SECONDS
 *	verbose 0|1
 *	shell 0|1
 *	rootdisk DEVICE       e.g. /dev/vda; absent = root in the initramfs
 *	ephemeral 0|1         the root disk's writes are thrown away when the VM ends (QEMU's
 *	                      snapshot): init neither syncs nor unmounts it; absent = 0
 *	caps HEX              the workload's capability bounding set (common/caps.h); absent:
 *	                      Docker's default set
 *	stop_signal N         what `stop` sends first (1-64; absent: 15, SIGTERM)
 *	shm_size BYTES        /dev/shm's size (absent: 64 MiB)
 *	read_only 0|1         the container root read-only (tmpfs on /tmp, /run, /var/tmp)
 *	no_new_privs 0|1      PR_SET_NO_NEW_PRIVS for the workload
 *	net_static ADDR/PREFIX GATEWAY MTU  eth0's IPv4 address, default route ("-": none)
 *	                      and MTU, for a VM that took over an engine's network namespace;
 *	                      absent: QEMU's user network's 10.0.2.15/24 via 10.0.2.2
 *	root_volume 0|1       the first volume is the container's root (an OCI runtime's
 *	                      bundle rootfs, shared from the host): its path must be /,
 *	                      it is mounted first; absent = 0
 *	proc_unconfined 0|1   /proc/sys writable, /proc/kcore etc. unmasked (Docker's
 *	                      --security-opt systempaths=unconfined); absent = 0
 *	tmpfs PATH[:OPTIONS]  repeated: a tmpfs at the absolute PATH (Docker's --tmpfs)
 *	ulimit NAME SOFT HARD repeated: a resource limit (common/ulimit.h)
 *	umask OCTAL           the workload's umask (0-0777; absent: 022)
 *	oom_score_adj N       the workload's /proc/self/oom_score_adj (-1000..1000)
 *	hold 0|1              set up, report `held`, run the workload only on the control
 *	                      port's `start` (an OCI runtime's create/start); written only
 *	                      when 1, so an init that predates it refuses such a config
 *
 * A scalar key may appear once. Unknown keys, an unknown version, a line
 * longer than O2V_RUNCONFIG_LINE_MAX, more than O2V_RUNCONFIG_LIST_MAX
 * entries in a list, or a file larger than O2V_RUNCONFIG_MAX are errors
 * naming the line. A newer writer that adds keys bumps the version: an old
 * init must refuse what it cannot honour rather than silently ignore it.
 */
#include "o2v.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "caps.h"
#include "ulimit.h"
#include "runconfig.h"

#define MAGIC	     "oci2vm-runconfig"
#define HOSTNAME_MAX 64
#define GRACE_MAX    (7 * 24 * 3600u)
#define WINSIZE_MAX  65535u

void o2v_runconfig_init(struct o2v_runconfig *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->stop_grace = O2V_STOP_GRACE_DEFAULT;
	rc->caps = O2V_CAPS_DEFAULT;
	rc->stop_signal = 15;
	rc->umask = -1;
}

void o2v_runconfig_release(struct o2v_runconfig *rc)
{
	o2v_strv_free(rc->argv);
	o2v_strv_free(rc->env);
	o2v_strv_free(rc->dns);
	o2v_strv_free(rc->hosts);
	o2v_strv_free(rc->tmpfs);
	o2v_strv_free(rc->ulimits);
	free(rc->workdir);
	free(rc->user);
	free(rc->hostname);
	free(rc->net_static);
	free(rc->rootdisk);
	for (size_t i = 0; i < rc->n_volumes; i++) {
		free(rc->volumes[i].tag);
		free(rc->volumes[i].entry);
		free(rc->volumes[i].guest_path);
	}
	free(rc->volumes);
	o2v_runconfig_init(rc);
}

/* ---- writing ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 1024;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_escaped(struct buf *b, const char *s, bool field)
{
	static const char hex[] = "0123456789abcdef";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[4] = {'\\', 0, 0, 0};
		size_t n = 2;

		switch (*p) {
		case '\\':
			e[1] = '\\';
			break;
		case '\n':
			e[1] = 'n';
			break;
		case '\t':
			e[1] = 't';
			break;
		case '\r':
			e[1] = 'r';
			break;
		default:
			if (*p < 0x20 || *p == 0x7f || (field && *p == ' ')) {
				e[1] = 'x';
				e[2] = hex[*p >> 4];
				e[3] = hex[*p & 15];
				n = 4;
			} else {
				buf_add(b, (const char *)p, 1);
				continue;
			}
		}
		buf_add(b, e, n);
	}
}

static void put_str(struct buf *b, const char *key, const char *value)
{
	buf_str(b, key);
	buf_str(b, " ");
	buf_escaped(b, value, false);
	buf_str(b, "\n");
}

static void put_uint(struct buf *b, const char *key, unsigned v)
{
	char num[3 * sizeof(v) + 2];

	snprintf(num, sizeof(num), "%u", v);
	buf_str(b, key);
	buf_str(b, " ");
	buf_str(b, num);
	buf_str(b, "\n");
}

static void put_list(struct buf *b, const char *key, char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		put_str(b, key, list[i]);
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int o2v_runconfig_write(const struct o2v_runconfig *rc, char **ret_text, size_t *ret_len,
			struct o2v_error *err)
{
	struct buf b = {0};

	if (strv_len(rc->argv) > O2V_RUNCONFIG_LIST_MAX ||
	    strv_len(rc->env) > O2V_RUNCONFIG_LIST_MAX ||
	    strv_len(rc->dns) > O2V_RUNCONFIG_LIST_MAX ||
	    strv_len(rc->hosts) > O2V_RUNCONFIG_LIST_MAX || rc->n_volumes > O2V_RUNCONFIG_LIST_MAX ||
	    strv_len(rc->tmpfs) > O2V_RUNCONFIG_LIST_MAX ||
	    strv_len(rc->ulimits) > O2V_RUNCONFIG_LIST_MAX)
		return o2v_error_set(err, -E2BIG, "write run config: more than %d list entries",
				     O2V_RUNCONFIG_LIST_MAX);

	buf_str(&b, MAGIC " 1\n");
	put_list(&b, "arg", rc->argv);
	put_list(&b, "env", rc->env);
	if (rc->workdir)
		put_str(&b, "workdir", rc->workdir);
	if (rc->user)
		put_str(&b, "user", rc->user);
	if (rc->hostname)
		put_str(&b, "hostname", rc->hostname);
	put_uint(&b, "network", rc->network);
	put_list(&b, "dns", rc->dns);
	put_list(&b, "host", rc->hosts);
	for (size_t i = 0; i < rc->n_volumes; i++) {
		const struct o2v_volume *v = &rc->volumes[i];
		buf_str(&b, v->entry ? "bind " : "volume ");
		buf_escaped(&b, v->tag ? v->tag : "", true);
		if (v->entry) {
			buf_str(&b, " ");
			buf_escaped(&b, v->entry, true);
		}
		buf_str(&b, v->readonly ? " ro " : " rw ");
		buf_escaped(&b, v->guest_path ? v->guest_path : "", true);
		buf_str(&b, "\n");
	}
	for (size_t i = 0; i < rc->n_volumes; i++) {
		bool first = rc->volumes[i].virtiofs;
		for (size_t k = 0; first && k < i; k++)
			first = !rc->volumes[k].virtiofs ||
				strcmp(rc->volumes[k].tag, rc->volumes[i].tag);
		if (first)
			put_str(&b, "virtiofs", rc->volumes[i].tag);
	}
	put_uint(&b, "terminal", rc->terminal);
	put_uint(&b, "stdin", rc->stdin_open);
	if (rc->rows || rc->cols) {
		char ws[64];
		snprintf(ws, sizeof(ws), "%u %u", rc->rows, rc->cols);
		put_str(&b, "winsize", ws);
	}
	put_uint(&b, "stop_grace", rc->stop_grace);
	put_uint(&b, "verbose", rc->verbose);
	put_uint(&b, "shell", rc->shell);
	if (rc->rootdisk)
		put_str(&b, "rootdisk", rc->rootdisk);
	put_uint(&b, "ephemeral", rc->ephemeral);
	if (rc->hold)
		put_uint(&b, "hold", rc->hold);
	if (rc->stop_signal != 15)
		put_uint(&b, "stop_signal", rc->stop_signal);
	if (rc->shm_size) {
		char num[24];
		snprintf(num, sizeof(num), "%" PRIu64, rc->shm_size);
		put_str(&b, "shm_size", num);
	}
	if (rc->read_only)
		put_uint(&b, "read_only", 1);
	if (rc->no_new_privs)
		put_uint(&b, "no_new_privs", 1);
	if (rc->proc_unconfined)
		put_uint(&b, "proc_unconfined", 1);
	if (rc->root_volume)
		put_uint(&b, "root_volume", 1);
	if (rc->net_static)
		put_str(&b, "net_static", rc->net_static);
	if (rc->umask >= 0) {
		char num[16];
		snprintf(num, sizeof(num), "%03o", (unsigned)rc->umask);
		put_str(&b, "umask", num);
	}
	if (rc->oom_set) {
		char num[16];
		snprintf(num, sizeof(num), "%d", rc->oom_score_adj);
		put_str(&b, "oom_score_adj", num);
	}
	put_list(&b, "tmpfs", rc->tmpfs);
	put_list(&b, "ulimit", rc->ulimits);
	if (rc->caps != O2V_CAPS_DEFAULT) {
		char hex[32];
		snprintf(hex, sizeof(hex), "%" PRIx64, rc->caps);
		put_str(&b, "caps", hex);
	}
	buf_str(&b, "end\n");

	if (b.oom) {
		free(b.p);
		return o2v_error_sys(err, -ENOMEM, "write run config");
	}
	if (b.len > O2V_RUNCONFIG_MAX) {
		free(b.p);
		return o2v_error_set(err, -E2BIG, "write run config: %zu bytes, more than %d",
				     b.len, O2V_RUNCONFIG_MAX);
	}
	/* Check what the guest will check, so a bad config fails on the host. */
	struct o2v_runconfig check;
	o2v_runconfig_init(&check);
	int r = o2v_runconfig_parse(&check, b.p, b.len, err);
	o2v_runconfig_release(&check);
	if (r < 0) {
		free(b.p);
		return o2v_error_prefix(err, "write run config");
	}
	*ret_text = b.p;
	if (ret_len)
		*ret_len = b.len;
	return 0;
}

/* ---- parsing ---- */

struct parser {
	struct o2v_runconfig *rc;
	struct o2v_error *err;
	size_t lineno;
	const char *key;
	size_t n_argv, n_env, n_dns, n_hosts, n_tmpfs, n_ulimits;
	unsigned seen; /* bit per scalar key */
};

static int perr(struct parser *ps, int code, const char *fmt, ...) O2V_PRINTF(3, 4);
static int perr(struct parser *ps, int code, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return o2v_error_set(ps->err, code, "run config line %zu%s%s%s: %s", ps->lineno,
			     ps->key ? " ('" : "", ps->key ? ps->key : "", ps->key ? "')" : "",
			     what);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape s[0..n) into a new string. */
static int unescape(struct parser *ps, const char *s, size_t n, char **ret)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return o2v_error_sys(ps->err, -ENOMEM, "parse run config");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			free(out);
			return perr(ps, -EBADMSG, "raw control byte 0x%02x (must be escaped)", c);
		}
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		if (++i >= n) {
			free(out);
			return perr(ps, -EBADMSG, "backslash at end of value");
		}
		switch (s[i]) {
		case '\\':
			*o++ = '\\';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'x': {
			int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return perr(ps, -EBADMSG,
					    "bad \\x escape (two hex digits, not 00)");
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
			break;
		}
		default:
			free(out);
			return perr(ps, -EBADMSG, "unknown escape '\\%c'",
				    (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?');
		}
	}
	*o = '\0';
	*ret = out;
	return 0;
}

static int push(struct parser *ps, char ***v, size_t *n, char *s)
{
	if (*n >= O2V_RUNCONFIG_LIST_MAX) {
		free(s);
		return perr(ps, -E2BIG, "more than %d entries", O2V_RUNCONFIG_LIST_MAX);
	}
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));
	if (!nv) {
		free(s);
		return o2v_error_sys(ps->err, -ENOMEM, "parse run config");
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int parse_uint(struct parser *ps, const char *s, size_t n, unsigned max, unsigned *ret)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return perr(ps, -EBADMSG, "not a number");
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return perr(ps, -EBADMSG, "not a number");
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return perr(ps, -ERANGE, "value out of range");
	*ret = (unsigned)v;
	return 0;
}

/* Lowercase hex, only capabilities Linux knows. */
static int parse_caps(struct parser *ps, const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 16)
		return perr(ps, -EBADMSG, "not a capability mask");
	for (size_t i = 0; i < n; i++) {
		int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			: s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
						     : -1;
		if (d < 0)
			return perr(ps, -EBADMSG, "not a capability mask");
		v = v << 4 | (uint64_t)d;
	}
	if (v & ~O2V_CAPS_ALL)
		return perr(ps, -ERANGE, "capabilities past the last one Linux knows");
	*ret = v;
	return 0;
}

static int parse_bool(struct parser *ps, const char *s, size_t n, bool *ret)
{
	if (n == 1 && (s[0] == '0' || s[0] == '1')) {
		*ret = s[0] == '1';
		return 0;
	}
	return perr(ps, -EBADMSG, "expected 0 or 1");
}

/* Split off the next space-separated field of a multi-field value. */
static void next_field(const char **s, size_t *n, const char **ret_f, size_t *ret_fn)
{
	const char *sp = memchr(*s, ' ', *n);
	size_t fn = sp ? (size_t)(sp - *s) : *n;

	*ret_f = *s;
	*ret_fn = fn;
	*s += sp ? fn + 1 : fn;
	*n -= sp ? fn + 1 : fn;
}

/* "TAG ro|rw PATH" (volume), or with entry "TAG NAME ro|rw PATH" (bind). */
static int parse_volume(struct parser *ps, const char *s, size_t n, bool entry)
{
	struct o2v_runconfig *rc = ps->rc;
	const char *tag, *name = NULL, *mode, *path;
	size_t tn, nn = 0, mn, pn;
	int r;

	next_field(&s, &n, &tag, &tn);
	if (entry)
		next_field(&s, &n, &name, &nn);
	next_field(&s, &n, &mode, &mn);
	next_field(&s, &n, &path, &pn);
	if (n != 0 || tn == 0 || pn == 0 || (entry && nn == 0))
		return perr(ps, -EBADMSG,
			    entry ? "expected 'TAG NAME ro|rw PATH'" : "expected 'TAG ro|rw PATH'");
	if (mn != 2 || (memcmp(mode, "ro", 2) && memcmp(mode, "rw", 2)))
		return perr(ps, -EBADMSG, "mode must be 'ro' or 'rw'");
	if (rc->n_volumes >= O2V_RUNCONFIG_LIST_MAX)
		return perr(ps, -E2BIG, "more than %d entries", O2V_RUNCONFIG_LIST_MAX);
	struct o2v_volume *nv = realloc(rc->volumes, (rc->n_volumes + 1) * sizeof(*nv));
	if (!nv)
		return o2v_error_sys(ps->err, -ENOMEM, "parse run config");
	rc->volumes = nv;
	struct o2v_volume *v = &nv[rc->n_volumes];
	memset(v, 0, sizeof(*v));
	rc->n_volumes++;
	v->readonly = mode[1] == 'o';
	if ((r = unescape(ps, tag, tn, &v->tag)) < 0 ||
	    (entry && (r = unescape(ps, name, nn, &v->entry)) < 0) ||
	    (r = unescape(ps, path, pn, &v->guest_path)) < 0)
		return r;
	if (strchr(v->tag, '/') || (v->entry && (strchr(v->entry, '/') || !strcmp(v->entry, ".") ||
						  !strcmp(v->entry, ".."))))
		return perr(ps, -EBADMSG, "a tag or name must be one path component");
	if (v->guest_path[0] != '/')
		return perr(ps, -EBADMSG, "guest path '%s' is not absolute", v->guest_path);
	return 0;
}

enum {
	K_WORKDIR,
	K_USER,
	K_HOSTNAME,
	K_NETWORK,
	K_TERMINAL,
	K_STDIN,
	K_WINSIZE,
	K_GRACE,
	K_VERBOSE,
	K_SHELL,
	K_ROOTDISK,
	K_EPHEMERAL,
	K_HOLD,
	K_CAPS,
	K_READ_ONLY,
	K_NNP,
	K_STOP_SIGNAL,
	K_SHM_SIZE,
	K_PROC_UNCONFINED,
	K_ROOT_VOLUME,
	K_NET_STATIC,
	K_UMASK,
	K_OOM
};

static const char *const scalar_keys[] = {
    [K_WORKDIR] = "workdir",   [K_USER] = "user",	  [K_HOSTNAME] = "hostname",
    [K_NETWORK] = "network",   [K_TERMINAL] = "terminal", [K_WINSIZE] = "winsize",
    [K_STDIN] = "stdin",
    [K_GRACE] = "stop_grace",  [K_VERBOSE] = "verbose",	  [K_SHELL] = "shell",
    [K_ROOTDISK] = "rootdisk", [K_EPHEMERAL] = "ephemeral", [K_HOLD] = "hold",
    [K_CAPS] = "caps",	       [K_READ_ONLY] = "read_only", [K_NNP] = "no_new_privs",
    [K_STOP_SIGNAL] = "stop_signal", [K_SHM_SIZE] = "shm_size",
    [K_PROC_UNCONFINED] = "proc_unconfined", [K_ROOT_VOLUME] = "root_volume",
    [K_NET_STATIC] = "net_static", [K_UMASK] = "umask", [K_OOM] = "oom_score_adj",
};

/* 1 to max_digits digits of base (8 or 10): no sign, no prefix. */
static int parse_digits(struct parser *ps, const char *v, size_t vn, unsigned base,
			size_t max_digits, const char *what, uint64_t *ret)
{
	uint64_t n = 0;

	if (vn == 0 || vn > max_digits)
		return perr(ps, -EBADMSG, "not %s", what);
	for (size_t i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] >= (char)('0' + base))
			return perr(ps, -EBADMSG, "not %s", what);
		n = n * base + (uint64_t)(v[i] - '0');
	}
	*ret = n;
	return 0;
}

static int parse_scalar(struct parser *ps, int k, const char *v, size_t vn)
{
	struct o2v_runconfig *rc = ps->rc;
	int r;

	if (ps->seen & (1u << k))
		return perr(ps, -EBADMSG, "given twice");
	ps->seen |= 1u << k;
	switch (k) {
	case K_WORKDIR:
		if ((r = unescape(ps, v, vn, &rc->workdir)) < 0)
			return r;
		if (rc->workdir[0] && rc->workdir[0] != '/')
			return perr(ps, -EBADMSG, "'%s' is not an absolute path", rc->workdir);
		return 0;
	case K_USER:
		return unescape(ps, v, vn, &rc->user);
	case K_HOSTNAME:
		if ((r = unescape(ps, v, vn, &rc->hostname)) < 0)
			return r;
		if (strlen(rc->hostname) > HOSTNAME_MAX)
			return perr(ps, -E2BIG, "longer than %d bytes", HOSTNAME_MAX);
		return 0;
	case K_ROOTDISK:
		if ((r = unescape(ps, v, vn, &rc->rootdisk)) < 0)
			return r;
		if (rc->rootdisk[0] != '/')
			return perr(ps, -EBADMSG, "'%s' is not an absolute path", rc->rootdisk);
		return 0;
	case K_NETWORK:
		return parse_bool(ps, v, vn, &rc->network);
	case K_TERMINAL:
		return parse_bool(ps, v, vn, &rc->terminal);
	case K_STDIN:
		return parse_bool(ps, v, vn, &rc->stdin_open);
	case K_VERBOSE:
		return parse_bool(ps, v, vn, &rc->verbose);
	case K_SHELL:
		return parse_bool(ps, v, vn, &rc->shell);
	case K_EPHEMERAL:
		return parse_bool(ps, v, vn, &rc->ephemeral);
	case K_HOLD:
		return parse_bool(ps, v, vn, &rc->hold);
	case K_CAPS:
		return parse_caps(ps, v, vn, &rc->caps);
	case K_READ_ONLY:
		return parse_bool(ps, v, vn, &rc->read_only);
	case K_NNP:
		return parse_bool(ps, v, vn, &rc->no_new_privs);
	case K_PROC_UNCONFINED:
		return parse_bool(ps, v, vn, &rc->proc_unconfined);
	case K_ROOT_VOLUME:
		return parse_bool(ps, v, vn, &rc->root_volume);
	case K_NET_STATIC:
		return unescape(ps, v, vn, &rc->net_static);
	case K_UMASK: {
		uint64_t m;
		if ((r = parse_digits(ps, v, vn, 8, 4, "an octal umask", &m)) < 0)
			return r;
		if (m > 0777)
			return perr(ps, -ERANGE, "umask above 0777");
		rc->umask = (int)m;
		return 0;
	}
	case K_OOM: {
		bool neg = vn > 0 && v[0] == '-';
		unsigned n;
		if ((r = parse_uint(ps, v + neg, vn - neg, 1000, &n)) < 0)
			return r;
		rc->oom_set = true;
		rc->oom_score_adj = neg ? -(int)n : (int)n;
		return 0;
	}
	case K_SHM_SIZE:
		return parse_digits(ps, v, vn, 10, 19, "a size", &rc->shm_size);
	case K_STOP_SIGNAL:
		if ((r = parse_uint(ps, v, vn, 64, &rc->stop_signal)) < 0)
			return r;
		return rc->stop_signal ? 0 : perr(ps, -ERANGE, "signal 0");
	case K_GRACE:
		return parse_uint(ps, v, vn, GRACE_MAX, &rc->stop_grace);
	case K_WINSIZE: {
		const char *f;
		size_t fn;
		next_field(&v, &vn, &f, &fn);
		if ((r = parse_uint(ps, f, fn, WINSIZE_MAX, &rc->rows)) < 0)
			return r;
		return parse_uint(ps, v, vn, WINSIZE_MAX, &rc->cols);
	}
	}
	return -EINVAL;
}

static int parse_line(struct parser *ps, const char *line, size_t n)
{
	struct o2v_runconfig *rc = ps->rc;
	const char *sp = memchr(line, ' ', n);
	char key[16];
	size_t kn = sp ? (size_t)(sp - line) : n;
	const char *v = sp ? sp + 1 : line + n;
	size_t vn = sp ? n - kn - 1 : 0;
	char *s;
	int r;

	ps->key = NULL;
	if (kn == 0 || kn >= sizeof(key))
		return perr(ps, -EBADMSG, "expected 'KEY VALUE'");
	for (size_t i = 0; i < kn; i++)
		if (!((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_'))
			return perr(ps, -EBADMSG, "expected 'KEY VALUE'");
	memcpy(key, line, kn);
	key[kn] = '\0';
	ps->key = key;
	if (!sp)
		return perr(ps, -EBADMSG, "no value (expected 'KEY VALUE')");

	if (!strcmp(key, "arg") || !strcmp(key, "env") || !strcmp(key, "dns") ||
	    !strcmp(key, "host")) {
		if ((r = unescape(ps, v, vn, &s)) < 0)
			return r;
		if (key[0] == 'a')
			return push(ps, &rc->argv, &ps->n_argv, s);
		if (key[0] == 'd')
			return push(ps, &rc->dns, &ps->n_dns, s);
		if (key[0] == 'h')
			return push(ps, &rc->hosts, &ps->n_hosts, s);
		if (!strchr(s, '=') || s[0] == '=') {
			free(s);
			return perr(ps, -EBADMSG, "expected 'NAME=VALUE'");
		}
		return push(ps, &rc->env, &ps->n_env, s);
	}
	if (!strcmp(key, "volume") || !strcmp(key, "bind"))
		return parse_volume(ps, v, vn, key[0] == 'b');
	if (!strcmp(key, "virtiofs")) {
		bool found = false;
		if ((r = unescape(ps, v, vn, &s)) < 0)
			return r;
		for (size_t i = 0; i < rc->n_volumes; i++)
			if (!strcmp(rc->volumes[i].tag, s))
				found = rc->volumes[i].virtiofs = true;
		free(s);
		return found ? 0 : perr(ps, -EBADMSG, "no volume before it has this tag");
	}
	if (!strcmp(key, "tmpfs") || !strcmp(key, "ulimit")) {
		struct o2v_ulimit u;
		if ((r = unescape(ps, v, vn, &s)) < 0)
			return r;
		if (key[0] == 'u') {
			if (o2v_ulimit_parse_line(s, &u) < 0) {
				free(s);
				return perr(ps, -EBADMSG, "expected 'NAME SOFT HARD'");
			}
			return push(ps, &rc->ulimits, &ps->n_ulimits, s);
		}
		if (s[0] != '/' || !s[1] || s[1] == ':' || strstr(s, "/../") ||
		    !strncmp(s, "/..", 3)) {
			free(s);
			return perr(ps, -EBADMSG, "expected an absolute path other than '/'");
		}
		return push(ps, &rc->tmpfs, &ps->n_tmpfs, s);
	}
	for (size_t k = 0; k < ARRAY_SIZE(scalar_keys); k++)
		if (!strcmp(key, scalar_keys[k]))
			return parse_scalar(ps, (int)k, v, vn);
	return perr(ps, -EBADMSG, "unknown key");
}

/* Fetch the next line; *ret_n excludes the newline. */
static int next_line(struct parser *ps, const char **p, const char *end, const char **ret,
		     size_t *ret_n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	ps->lineno++;
	ps->key = NULL;
	if (*p >= end || !nl)
		return perr(ps, -EBADMSG, "truncated (no 'end' line)");
	if ((size_t)(nl - *p) > O2V_RUNCONFIG_LINE_MAX)
		return perr(ps, -E2BIG, "longer than %d bytes", O2V_RUNCONFIG_LINE_MAX);
	if (memchr(*p, '\0', (size_t)(nl - *p)))
		return perr(ps, -EBADMSG, "NUL byte");
	*ret = *p;
	*ret_n = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static int validate(struct parser *ps)
{
	struct o2v_runconfig *rc = ps->rc;

	ps->key = NULL;
	if (!rc->shell && (!rc->argv || !rc->argv[0][0]))
		return o2v_error_set(ps->err, -EBADMSG,
				     "run config: no command (argv empty or argv[0] empty)");
	return 0;
}

int o2v_runconfig_parse(struct o2v_runconfig *rc, const char *text, size_t len,
			struct o2v_error *err)
{
	struct parser ps = {.rc = rc, .err = err};
	const char *p = text, *end = text + len, *line;
	size_t n;
	int r;

	o2v_runconfig_release(rc);
	if (len > O2V_RUNCONFIG_MAX)
		return o2v_error_set(err, -E2BIG, "run config: %zu bytes, more than %d", len,
				     O2V_RUNCONFIG_MAX);
	if ((r = next_line(&ps, &p, end, &line, &n)) < 0)
		goto fail;
	if (n < sizeof(MAGIC) || memcmp(line, MAGIC " ", sizeof(MAGIC))) {
		r = o2v_error_set(err, -EBADMSG, "run config line 1: not an oci2vm run config");
		goto fail;
	}
	if (n != sizeof(MAGIC) + 1 || line[sizeof(MAGIC)] != '0' + O2V_RUNCONFIG_VERSION) {
		r = o2v_error_set(err, -EBADMSG,
				  "run config line 1: unsupported version '%.*s' (this init reads "
				  "version %d): rebuild the VM image with a matching oci2vm",
				  (int)(n - sizeof(MAGIC) > 32 ? 32 : n - sizeof(MAGIC)),
				  line + sizeof(MAGIC), O2V_RUNCONFIG_VERSION);
		goto fail;
	}
	for (;;) {
		if ((r = next_line(&ps, &p, end, &line, &n)) < 0)
			goto fail;
		if (n == 3 && !memcmp(line, "end", 3))
			break;
		if ((r = parse_line(&ps, line, n)) < 0)
			goto fail;
	}
	if (p != end) {
		ps.lineno++;
		ps.key = NULL;
		r = perr(&ps, -EBADMSG, "data after the 'end' line");
		goto fail;
	}
	if ((r = validate(&ps)) < 0)
		goto fail;
	return 0;
fail:
	o2v_runconfig_release(rc);
	return r;
}
