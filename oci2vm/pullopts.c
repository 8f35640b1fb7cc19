/* pullopts.c - see pullopts.h. */
#include "../common/o2v.h"

#include <string.h>
#include <time.h>

#include "../common/strv.h"
#include "cli.h"
#include "../common/clock.h"
#include "pullopts.h"

#define VIEW_LAYERS_MAX 256
#define REDRAW_MS	100

struct view_layer {
	char digest[O2V_DIGEST_MAX];
	uint64_t done, total;
	bool finished, cached;
};

struct o2v_pull_view {
	bool tty, quiet;
	struct view_layer layers[VIEW_LAYERS_MAX];
	size_t n;
	uint64_t total;
	int64_t start_ms, last_ms;
	int lines; /* lines currently drawn */
};


void o2v_format_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

void o2v_pull_cli_init(struct o2v_pull_cli *o)
{
	memset(o, 0, sizeof(*o));
}

void o2v_pull_cli_release(struct o2v_pull_cli *o)
{
	free(o->platform);
	o2v_strv_free(o->insecure);
	free(o->view);
	memset(o, 0, sizeof(*o));
}

int o2v_pull_cli_option(struct o2v_pull_cli *o, int c, const char *arg, struct o2v_error *err)
{
	switch (c) {
	case O2V_OPT_PLATFORM:
		free(o->platform);
		if (!(o->platform = strdup(arg)))
			return o2v_error_sys(err, -ENOMEM, "--platform");
		return 1;
	case O2V_OPT_INSECURE:
		if (!*arg || strchr(arg, '/'))
			return o2v_error_set(err, -EINVAL,
					     "invalid --insecure-registry '%s': expected HOST[:PORT]",
					     arg);
		if (o2v_strv_push_len(&o->insecure, &o->n_insecure, arg, strlen(arg)) < 0)
			return o2v_error_sys(err, -ENOMEM, "--insecure-registry");
		return 1;
	case 'q':
		o->quiet = true;
		return 1;
	default:
		return 0;
	}
}

static void view_clear(struct o2v_pull_view *v)
{
	if (v->lines > 0)
		fprintf(stderr, "\033[%dA\033[J", v->lines);
	v->lines = 0;
}

static void view_draw(struct o2v_pull_view *v, bool force)
{
	int64_t now = o2v_now_ms();
	uint64_t done = 0;
	char a[32], b[32], s[32];

	if (!force && now - v->last_ms < REDRAW_MS)
		return;
	v->last_ms = now;
	view_clear(v);
	size_t shown = 0, finished = 0;
	for (size_t i = 0; i < v->n; i++) {
		struct view_layer *l = &v->layers[i];
		done += l->done;
		if (l->finished) {
			finished++;
			continue;
		}
		if (l->done == 0 || shown >= 8)
			continue;
		o2v_format_bytes(l->done, a, sizeof(a));
		o2v_format_bytes(l->total, b, sizeof(b));
		fprintf(stderr, "  %.19s  %10s / %-10s %3d%%\n", l->digest, a, b,
			l->total ? (int)(l->done * 100 / l->total) : 100);
		v->lines++;
		shown++;
	}
	double secs = (double)(now - v->start_ms) / 1000.0;
	o2v_format_bytes(done, a, sizeof(a));
	o2v_format_bytes(v->total, b, sizeof(b));
	o2v_format_bytes(secs > 0.05 ? (uint64_t)((double)done / secs) : 0, s, sizeof(s));
	fprintf(stderr, "  %zu/%zu layers  %s / %s  %s/s\n", finished, v->n, a, b, s);
	v->lines++;
	fflush(stderr);
}

static struct view_layer *view_find(struct o2v_pull_view *v, const char *digest)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->layers[i].digest, digest))
			return &v->layers[i];
	if (v->n == VIEW_LAYERS_MAX)
		return NULL;
	struct view_layer *l = &v->layers[v->n++];
	memset(l, 0, sizeof(*l));
	snprintf(l->digest, sizeof(l->digest), "%s", digest);
	return l;
}

static void on_progress(const struct o2v_progress *p, void *ud)
{
	struct o2v_pull_view *v = ud;
	struct view_layer *l;

	switch (p->kind) {
	case O2V_PROGRESS_WARNING:
		if (v->tty && !v->quiet)
			view_clear(v);
		o2v_cli_warn("%s", p->message);
		return;
	case O2V_PROGRESS_RETRY:
		if (v->quiet)
			return;
		if (v->tty)
			view_clear(v);
		fprintf(stderr, "%s: %s\n", o2v_program_name, p->message);
		return;
	case O2V_PROGRESS_RESOLVED:
		v->total = p->total;
		return;
	case O2V_PROGRESS_LAYER:
	case O2V_PROGRESS_LAYER_DONE:
		if (!v->tty || v->quiet || !p->digest || !(l = view_find(v, p->digest)))
			return;
		l->done = p->done;
		l->total = p->total;
		if (p->kind == O2V_PROGRESS_LAYER_DONE) {
			l->finished = true;
			l->cached = p->message != NULL;
		}
		view_draw(v, p->kind == O2V_PROGRESS_LAYER_DONE);
		return;
	}
}

int o2v_pull_cli_prepare(struct o2v_pull_cli *o, enum o2v_pull_policy policy)
{
	if (!o->view && !(o->view = calloc(1, sizeof(*o->view))))
		return -ENOMEM;
	o->view->tty = o2v_cli_is_tty();
	o->view->quiet = o->quiet;
	o->view->start_ms = o2v_now_ms();
	o->opts.platform = o->platform;
	o->opts.policy = policy;
	o->opts.insecure_registries = (const char *const *)o->insecure;
	o->opts.progress = on_progress;
	o->opts.userdata = o->view;
	return 0;
}

void o2v_pull_cli_done(struct o2v_pull_cli *o)
{
	if (o->view && o->view->tty && !o->view->quiet)
		view_clear(o->view);
}

int o2v_cli_ref(const char *text, struct o2v_ref *ret)
{
	struct o2v_error err = {0};

	if (o2v_ref_parse(text, ret, &err) < 0)
		return o2v_cli_fail(&err);
	return 0;
}

int o2v_cli_cache_open(struct o2v_cache **ret)
{
	struct o2v_error err = {0};

	if (o2v_cache_open_default(ret, &err) < 0)
		return o2v_cli_fail(&err);
	return 0;
}

int o2v_pull_cli_parse(struct o2v_pull_cli *o, const char *cmd, int argc, char **argv,
		       enum o2v_pull_policy policy, struct o2v_ref *ref,
		       struct o2v_cache **ret_cache)
{
	static const struct option longopts[] = {O2V_PULL_LONGOPTS, {NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:" O2V_PULL_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			r = o2v_cli_bad_option(c, argc, argv, &err);
		else if ((r = o2v_pull_cli_option(o, c, optarg, &err)) == 0)
			r = o2v_error_set(&err, -EINVAL, "unknown option '%s'", argv[optind - 1]);
		if (r < 0)
			return r == -EINVAL ? o2v_cli_usage_error(cmd, "%s", err.msg)
					    : o2v_cli_fail(&err);
	}
	if (argc - optind != 1)
		return o2v_cli_usage_error(cmd, "expected exactly one image reference");
	if ((r = o2v_cli_ref(argv[optind], ref)) != 0)
		return r;
	if ((r = o2v_cli_cache_open(ret_cache)) != 0)
		return r;
	if (o2v_pull_cli_prepare(o, policy) < 0) {
		o2v_cli_error("out of memory");
		return O2V_EXIT_FAILURE;
	}
	return 0;
}

bool o2v_cli_cached_image(struct o2v_cache *cache, const struct o2v_ref *ref, const char *platform,
			  struct o2v_image **ret)
{
	struct o2v_error ignored;
	struct o2v_image *img;
	const char *slash = strchr(platform, '/');
	const char *want = slash ? slash + 1 : platform;
	size_t want_len = strcspn(want, "/");

	if (o2v_image_load(cache, ref, &img, &ignored) < 0)
		return false;
	const char *arch = img->config.architecture;
	if (arch && strlen(arch) == want_len && !strncmp(arch, want, want_len)) {
		*ret = img;
		return true;
	}
	o2v_image_free(img);
	return false;
}
