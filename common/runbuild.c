/* runbuild.c - image defaults + the user's request → run configuration; see runbuild.h. */
#include "o2v.h"

#include <string.h>

#include "runbuild.h"
#include "strv.h"
#include "vmproto.h"

static int dup_opt(const char *s, char **ret, struct o2v_error *err)
{
	if (s && !(*ret = strdup(s)))
		return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	return 0;
}

static int dup_list(char *const *list, char ***ret, struct o2v_error *err)
{
	for (; list && *list; list++)
		if (o2v_strv_push(ret, *list) < 0)
			return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	return 0;
}

static int build_command(const struct o2v_image_defaults *img, const struct o2v_run_request *req,
			 struct o2v_runconfig *rc, struct o2v_error *err)
{
	bool asked = req->entrypoint || (req->args && req->args[0]);
	bool imaged = (img->entrypoint && img->entrypoint[0]) || (img->cmd && img->cmd[0]);

	/* The shell ignores the command: an image without one still boots into it. */
	if (req->shell) {
		if ((asked || imaged) &&
		    o2v_runmerge_argv(img->entrypoint, img->cmd, req->entrypoint, req->args,
				      &rc->argv, NULL) < 0)
			rc->argv = NULL;
		return 0;
	}
	return o2v_runmerge_argv(img->entrypoint, img->cmd, req->entrypoint, req->args, &rc->argv,
				 err);
}

static int build_volumes(const struct o2v_run_request *req, struct o2v_runconfig *rc,
			 struct o2v_error *err)
{
	if (!req->n_volumes)
		return 0;
	if (!(rc->volumes = calloc(req->n_volumes, sizeof(*rc->volumes))))
		return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	for (size_t i = 0; i < req->n_volumes; i++) {
		const struct o2v_run_volume *v = &req->volumes[i];
		char tag[O2V_VOLUME_TAG_MAX];
		o2v_proto_volume_tag(v->entry ? v->share : i, tag);
		rc->volumes[i].readonly = v->readonly;
		rc->volumes[i].virtiofs = v->virtiofs;
		rc->n_volumes++;
		if (dup_opt(tag, &rc->volumes[i].tag, err) < 0 ||
		    dup_opt(v->entry, &rc->volumes[i].entry, err) < 0 ||
		    dup_opt(req->volumes[i].guest, &rc->volumes[i].guest_path, err) < 0)
			return err ? err->code : -ENOMEM;
	}
	return 0;
}

int o2v_runconfig_build(const struct o2v_image_defaults *img, const struct o2v_run_request *req,
			struct o2v_runconfig *rc, struct o2v_error *err)
{
	int r;

	o2v_runconfig_init(rc);
	if ((r = build_command(img, req, rc, err)) < 0 ||
	    (r = o2v_runmerge_env(img->env, req->env, req->lookup, req->hostname, req->terminal,
				  &rc->env, err)) < 0)
		return r;
	if ((r = dup_opt(req->workdir ? req->workdir : img->workdir, &rc->workdir, err)) < 0 ||
	    (r = dup_opt(req->user ? req->user : img->user, &rc->user, err)) < 0 ||
	    (r = dup_opt(req->hostname, &rc->hostname, err)) < 0 ||
	    (r = dup_opt(req->rootdisk, &rc->rootdisk, err)) < 0 ||
	    (r = dup_list(req->dns, &rc->dns, err)) < 0 ||
	    (r = dup_list(req->hosts, &rc->hosts, err)) < 0 ||
	    (r = dup_list(req->tmpfs, &rc->tmpfs, err)) < 0 ||
	    (r = dup_list(req->ulimits, &rc->ulimits, err)) < 0 ||
	    (r = build_volumes(req, rc, err)) < 0)
		return r;
	rc->network = req->network;
	rc->terminal = req->terminal;
	rc->stdin_open = req->stdin_open;
	rc->rows = req->rows;
	rc->cols = req->cols;
	rc->stop_grace = req->stop_grace;
	if (req->stop_signal)
		rc->stop_signal = req->stop_signal;
	rc->verbose = req->verbose;
	rc->shell = req->shell;
	rc->ephemeral = req->ephemeral;
	rc->hold = req->hold;
	if (req->caps_set)
		rc->caps = req->caps;
	rc->read_only = req->read_only;
	rc->shm_size = req->shm_size;
	rc->no_new_privs = req->no_new_privs;
	rc->proc_unconfined = req->proc_unconfined;
	rc->root_volume = req->root_volume;
	rc->umask = req->umask_set ? req->umask : -1;
	rc->oom_set = req->oom_set;
	rc->oom_score_adj = req->oom_score_adj;
	if (req->net_static && !(rc->net_static = strdup(req->net_static)))
		return o2v_error_sys(err, -ENOMEM, "build the run configuration");
	return 0;
}

int o2v_runconfig_build_text(const struct o2v_image_defaults *img,
			     const struct o2v_run_request *req, char **ret_text, size_t *ret_len,
			     struct o2v_error *err)
{
	struct o2v_runconfig rc;
	int r = o2v_runconfig_build(img, req, &rc, err);

	if (r == 0)
		r = o2v_runconfig_write(&rc, ret_text, ret_len, err);
	o2v_runconfig_release(&rc);
	return r;
}
