/* cmd_runconfig.c - `oci2vm runconfig`: print a run config (plumbing, hidden).
 *
 * Builds the /.oci2vm/run.conf that bootstrap-init reads from an image's
 * Entrypoint/Cmd/Env (given as options, no registry involved) and `docker
 * run`-style overrides, with the builder `oci2vm run` uses (common/runbuild.h).
 * Tests use it to make initramfs images without hand-writing the format.
 */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>

#include "../common/fsutil.h"
#include "../common/runbuild.h"
#include "../common/strv.h"
#include "../vm/host.h"
#include "cli.h"
#include "commands.h"
#include "values.h"

static const char *host_env(const char *name)
{
	return getenv(name);
}

enum {
	OPT_IMAGE_ENTRYPOINT = 256,
	OPT_IMAGE_CMD,
	OPT_IMAGE_ENV,
	OPT_ENTRYPOINT,
	OPT_ENV_FILE,
	OPT_NO_NETWORK,
	OPT_DNS,
	OPT_ADD_HOST,
	OPT_WINSIZE,
	OPT_STOP_TIMEOUT,
	OPT_VERBOSE,
	OPT_SHELL,
	OPT_ROOTDISK,
	OPT_NO_HOSTNAME,
	OPT_HOLD,
};

static const struct option options[] = {
    {"image-entrypoint", required_argument, NULL, OPT_IMAGE_ENTRYPOINT},
    {"image-cmd", required_argument, NULL, OPT_IMAGE_CMD},
    {"image-env", required_argument, NULL, OPT_IMAGE_ENV},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'},
    {"hostname", required_argument, NULL, 'h'},
    {"no-hostname", no_argument, NULL, OPT_NO_HOSTNAME},
    {"no-network", no_argument, NULL, OPT_NO_NETWORK},
    {"dns", required_argument, NULL, OPT_DNS},
    {"add-host", required_argument, NULL, OPT_ADD_HOST},
    {"volume", required_argument, NULL, 'v'},
    {"tty", no_argument, NULL, 't'},
    {"interactive", no_argument, NULL, 'i'},
    {"winsize", required_argument, NULL, OPT_WINSIZE},
    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"shell", no_argument, NULL, OPT_SHELL},
    {"rootdisk", required_argument, NULL, OPT_ROOTDISK},
    {"hold", no_argument, NULL, OPT_HOLD},
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

/* What the options collect; the lists own copies, the strings point into argv. */
struct rc_args {
	struct o2v_image_defaults img;
	struct o2v_run_request req;
	char **img_entrypoint, **img_cmd, **img_env;
	char **env_files, **env, **dns, **hosts;
	struct o2v_run_volume *volumes;
	struct o2v_volspec *volspecs;
	size_t n_volumes;
	const char *output;
};

static void rc_args_release(struct rc_args *a)
{
	o2v_strv_free(a->img_entrypoint);
	o2v_strv_free(a->img_cmd);
	o2v_strv_free(a->img_env);
	o2v_strv_free(a->env_files);
	o2v_strv_free(a->env);
	o2v_strv_free(a->dns);
	o2v_strv_free(a->hosts);
	for (size_t i = 0; i < a->n_volumes; i++)
		o2v_volspec_release(&a->volspecs[i]);
	free(a->volspecs);
	free(a->volumes);
}

static int push(char ***list, const char *s, struct o2v_error *err)
{
	return o2v_strv_push(list, s) < 0 ? o2v_error_sys(err, -ENOMEM, "runconfig") : 0;
}

/* -v HOST:GUEST[:ro], as run's: the i-th is mounted from the tag `oci2vm boot -v` gives it. */
static int add_volume(struct rc_args *a, const char *spec, struct o2v_error *err)
{
	struct o2v_volspec v;
	int r = o2v_parse_volume(spec, &v, err);

	if (r < 0)
		return r;
	struct o2v_volspec *nv = realloc(a->volspecs, (a->n_volumes + 1) * sizeof(*nv));
	struct o2v_run_volume *nr =
	    nv ? realloc(a->volumes, (a->n_volumes + 1) * sizeof(*nr)) : NULL;
	if (nv)
		a->volspecs = nv;
	if (!nr) {
		o2v_volspec_release(&v);
		return o2v_error_sys(err, -ENOMEM, "runconfig");
	}
	a->volumes = nr;
	a->volspecs[a->n_volumes] = v;
	a->n_volumes++;
	return 0;
}

static int add_host(struct rc_args *a, const char *spec, struct o2v_error *err)
{
	_cleanup_free_ char *line = NULL;
	int r = o2v_parse_add_host(spec, &line, err);

	return r < 0 ? r : push(&a->hosts, line, err);
}

static int apply_request(struct rc_args *a, int c, const char *arg, struct o2v_error *err)
{
	struct o2v_run_request *q = &a->req;

	switch (c) {
	case OPT_ENTRYPOINT:
		q->entrypoint = arg;
		return 0;
	case 'e':
		return push(&a->env, arg, err);
	case OPT_ENV_FILE:
		return push(&a->env_files, arg, err);
	case 'u':
		q->user = arg;
		return 0;
	case 'w':
		q->workdir = arg;
		return 0;
	case 'h':
		q->hostname = arg;
		return 0;
	case OPT_NO_HOSTNAME:
		q->hostname = NULL;
		return 0;
	case OPT_NO_NETWORK:
		q->network = false;
		return 0;
	case OPT_DNS:
		return push(&a->dns, arg, err);
	case OPT_ADD_HOST:
		return add_host(a, arg, err);
	case 'v':
		return add_volume(a, arg, err);
	}
	return 1; /* not a request option */
}

static int apply_option(struct rc_args *a, int c, const char *arg, struct o2v_error *err)
{
	struct o2v_run_request *q = &a->req;
	int r = apply_request(a, c, arg, err);

	if (r <= 0)
		return r;
	switch (c) {
	case OPT_IMAGE_ENTRYPOINT:
		return push(&a->img_entrypoint, arg, err);
	case OPT_IMAGE_CMD:
		return push(&a->img_cmd, arg, err);
	case OPT_IMAGE_ENV:
		return push(&a->img_env, arg, err);
	case 't':
		q->terminal = true;
		return 0;
	case 'i':
		q->stdin_open = true;
		return 0;
	case OPT_WINSIZE:
		return o2v_parse_winsize(arg, &q->rows, &q->cols, err);
	case OPT_STOP_TIMEOUT:
		return o2v_parse_seconds("--stop-timeout", arg, &q->stop_grace, err);
	case OPT_VERBOSE:
		q->verbose = true;
		return 0;
	case OPT_SHELL:
		q->shell = true;
		return 0;
	case OPT_ROOTDISK:
		q->rootdisk = arg;
		return 0;
	case OPT_HOLD:
		q->hold = true;
		return 0;
	case 'o':
		a->output = arg;
		return 0;
	}
	return o2v_error_set(err, -EINVAL, "unknown option");
}

static int parse_args(struct rc_args *a, int argc, char **argv, struct o2v_error *err)
{
	int c, r;

	a->req = (struct o2v_run_request){.lookup = host_env,
					  .hostname = "oci2vm",
					  .network = true,
					  .stop_grace = O2V_STOP_GRACE_DEFAULT};
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:e:u:w:h:v:tio:", options, NULL)) != -1) {
		if (c == '?' || c == ':')
			return o2v_cli_bad_option(c, argc, argv, err);
		if ((r = apply_option(a, c, optarg, err)) < 0)
			return r;
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	return optind;
}

/* The request's lists, once every option is in: --env-file entries come before -e ones, as
 * in the docker CLI. */
static int finish_request(struct rc_args *a, char **args, char ***env, struct o2v_error *err)
{
	int r = o2v_runmerge_env_files(a->env_files, host_env, env, err);

	for (char **p = a->env; r == 0 && p && *p; p++)
		r = push(env, *p, err);
	for (size_t i = 0; i < a->n_volumes; i++)
		a->volumes[i] =
		    (struct o2v_run_volume){a->volspecs[i].guest, a->volspecs[i].readonly};
	a->img = (struct o2v_image_defaults){a->img_entrypoint, a->img_cmd, a->img_env, NULL, NULL};
	a->req.args = args && *args ? args : NULL;
	a->req.env = *env;
	a->req.dns = a->dns;
	/* For `oci2vm boot --net` on this host. */
	if (r == 0)
		r = o2v_hosts_resolve(a->hosts, a->req.network, false, err);
	a->req.hosts = a->hosts;
	a->req.volumes = a->volumes;
	a->req.n_volumes = a->n_volumes;
	return r;
}

int cmd_runconfig(int argc, char **argv)
{
	struct rc_args a = {0};
	struct o2v_error err = {0};
	_cleanup_strv_ char **env = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int first, r;

	if ((first = parse_args(&a, argc, argv, &err)) < 0) {
		rc_args_release(&a);
		return o2v_cli_usage_error("runconfig", "%s", err.msg);
	}
	if ((r = finish_request(&a, argv + first, &env, &err)) == 0 &&
	    (r = o2v_runconfig_build_text(&a.img, &a.req, &text, &len, &err)) == 0) {
		if (a.output)
			r = o2v_write_file_atomic(a.output, text, len, 0644, &err);
		else if ((r = o2v_write_all(STDOUT_FILENO, text, len)) < 0)
			o2v_error_sys(&err, r, "write run config");
	}
	rc_args_release(&a);
	return r < 0 ? o2v_cli_fail(&err) : O2V_EXIT_OK;
}
