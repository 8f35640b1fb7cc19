/* cmd_runconfig.c - `oci2vm runconfig`: print a run config (plumbing, hidden).
 *
 * Builds the /.oci2vm/run.conf that bootstrap-init reads from an image's
 * Entrypoint/Cmd/Env (given as options, no registry involved) and `docker
 * run`-style overrides, with the same merge code `oci2vm run` uses. Tests
 * use it to make initramfs images without hand-writing the format.
 */
#include "../common/o2v.h"

#include <getopt.h>
#include <string.h>

#include "../common/fsutil.h"
#include "../common/runconfig.h"
#include "../common/runmerge.h"
#include "../common/strv.h"
#include "cli.h"
#include "commands.h"
#include "runopts.h"

struct vec {
	char **v;
	size_t n;
};

static int vec_push(struct vec *v, const char *s)
{
	char **nv = realloc(v->v, (v->n + 2) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	v->v = nv;
	v->v[v->n++] = (char *)s; /* borrowed from argv */
	v->v[v->n] = NULL;
	return 0;
}

static const char *host_env(const char *name)
{
	return getenv(name);
}

/* -v TAG:PATH[:ro|:rw] */
static int add_volume(struct o2v_runconfig *rc, const char *spec, struct o2v_error *err)
{
	_cleanup_free_ char *s = strdup(spec);
	char *path = s ? strchr(s, ':') : NULL;

	if (!path)
		return o2v_error_set(err, -EINVAL, "bad volume '%s': expected TAG:PATH[:ro]", spec);
	*path++ = '\0';
	char *mode = strchr(path, ':');
	bool ro = false;
	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") && strcmp(mode, "rw"))
			return o2v_error_set(err, -EINVAL, "bad volume '%s': mode must be ro or rw",
					     spec);
		ro = !strcmp(mode, "ro");
	}
	struct o2v_volume *nv = realloc(rc->volumes, (rc->n_volumes + 1) * sizeof(*nv));
	if (!nv)
		return o2v_error_sys(err, -ENOMEM, "add volume");
	rc->volumes = nv;
	nv[rc->n_volumes] =
	    (struct o2v_volume){.tag = strdup(s), .guest_path = strdup(path), .readonly = ro};
	rc->n_volumes++;
	if (!nv[rc->n_volumes - 1].tag || !nv[rc->n_volumes - 1].guest_path)
		return o2v_error_sys(err, -ENOMEM, "add volume");
	return 0;
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
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

static int parse_uint_opt(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 0xffffffffUL || s[0] == '-')
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int cmd_runconfig(int argc, char **argv)
{
	struct vec img_ep = {0}, img_cmd = {0}, img_env = {0}, env_over = {0};
	_cleanup_strv_ char **env_file_entries = NULL;
	_cleanup_strv_ char **merged_env = NULL;
	const char *entrypoint = NULL, *output = NULL, *hostname = "oci2vm";
	struct o2v_runconfig rc;
	struct o2v_error err = {0};
	_cleanup_free_ char *text = NULL;
	size_t len;
	int c, r = 0, ret = O2V_EXIT_FAILURE;

	o2v_runconfig_init(&rc);
	rc.network = true;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+e:u:w:h:v:tio:", options, NULL)) != -1) {
		switch (c) {
		case OPT_IMAGE_ENTRYPOINT:
			r = vec_push(&img_ep, optarg);
			break;
		case OPT_IMAGE_CMD:
			r = vec_push(&img_cmd, optarg);
			break;
		case OPT_IMAGE_ENV:
			r = vec_push(&img_env, optarg);
			break;
		case OPT_ENTRYPOINT:
			entrypoint = optarg;
			break;
		case 'e':
			r = vec_push(&env_over, optarg);
			break;
		case OPT_ENV_FILE: {
			_cleanup_free_ char *buf = NULL;
			size_t n;
			r = o2v_read_file(optarg, O2V_ENV_FILE_MAX, &buf, &n, &err);
			if (r == 0)
				r = o2v_runmerge_env_file(buf, n, optarg, host_env,
							  &env_file_entries, &err);
			if (r < 0)
				goto fail;
			break;
		}
		case 'u':
			free(rc.user);
			rc.user = strdup(optarg);
			break;
		case 'w':
			free(rc.workdir);
			rc.workdir = strdup(optarg);
			break;
		case 'h':
			hostname = optarg;
			break;
		case OPT_NO_HOSTNAME:
			hostname = NULL;
			break;
		case OPT_NO_NETWORK:
			rc.network = false;
			break;
		case OPT_DNS:
			r = o2v_strv_push(&rc.dns, optarg);
			break;
		case OPT_ADD_HOST: {
			_cleanup_free_ char *line = NULL;
			struct o2v_error aerr = {0};
			if (o2v_parse_add_host(optarg, &line, &aerr) < 0) {
				ret = o2v_cli_usage_error("runconfig", "%s", aerr.msg);
				goto out;
			}
			r = o2v_strv_push(&rc.hosts, line);
			break;
		}
		case 'v':
			if ((r = add_volume(&rc, optarg, &err)) < 0)
				goto fail;
			break;
		case 't':
			rc.terminal = true;
			break;
		case 'i':
			rc.stdin_open = true;
			break;
		case OPT_WINSIZE:
			if (sscanf(optarg, "%ux%u", &rc.rows, &rc.cols) != 2) {
				ret = o2v_cli_usage_error("runconfig",
							  "bad --winsize '%s' (ROWSxCOLS)", optarg);
				goto out;
			}
			break;
		case OPT_STOP_TIMEOUT:
			if (parse_uint_opt(optarg, &rc.stop_grace) < 0) {
				ret = o2v_cli_usage_error("runconfig", "bad --stop-timeout '%s'",
							  optarg);
				goto out;
			}
			break;
		case OPT_VERBOSE:
			rc.verbose = true;
			break;
		case OPT_SHELL:
			rc.shell = true;
			break;
		case OPT_ROOTDISK:
			free(rc.rootdisk);
			rc.rootdisk = strdup(optarg);
			break;
		case 'o':
			output = optarg;
			break;
		default:
			ret = o2v_cli_usage_error("runconfig", "unknown option");
			goto out;
		}
		if (r < 0) {
			o2v_error_sys(&err, r, "runconfig");
			goto fail;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;

	/* --env-file entries come before -e ones, as in the docker CLI. */
	struct vec all_env = {0};
	for (size_t i = 0; env_file_entries && env_file_entries[i]; i++)
		vec_push(&all_env, env_file_entries[i]);
	for (size_t i = 0; i < env_over.n; i++)
		vec_push(&all_env, env_over.v[i]);
	/* --shell runs the shim instead of any command: none is required. */
	if (!rc.shell || optind < argc || img_ep.n || img_cmd.n || entrypoint)
		r = o2v_runmerge_argv(img_ep.v, img_cmd.v, entrypoint,
				      optind < argc ? argv + optind : NULL, &rc.argv, &err);
	if (r == 0)
		r = o2v_runmerge_env(img_env.v, all_env.v, host_env, hostname, rc.terminal,
				     &merged_env, &err);
	free(all_env.v);
	if (r < 0)
		goto fail;
	rc.env = TAKE_PTR(merged_env);
	if (hostname && !(rc.hostname = strdup(hostname))) {
		o2v_error_sys(&err, -ENOMEM, "runconfig");
		goto fail;
	}
	if (o2v_runconfig_write(&rc, &text, &len, &err) < 0)
		goto fail;
	if (output)
		r = o2v_write_file_atomic(output, text, len, 0644, &err);
	else if ((r = o2v_write_all(STDOUT_FILENO, text, len)) < 0)
		o2v_error_sys(&err, r, "write run config");
	if (r < 0)
		goto fail;
	ret = O2V_EXIT_OK;
	goto out;
fail:
	ret = o2v_cli_fail(&err);
out:
	free(img_ep.v);
	free(img_cmd.v);
	free(img_env.v);
	free(env_over.v);
	o2v_runconfig_release(&rc);
	return ret;
}
