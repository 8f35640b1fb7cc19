/* cmd_inspect.c - `oci2vm inspect REF`: the image config as JSON, without
 * downloading layers (from the cache when the image is there). */
#include "../common/o2v.h"

#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "commands.h"
#include "pullopts.h"

static json_object *strv_json(char **v)
{
	json_object *a;

	if (!v)
		return NULL; /* JSON null: unset, as docker inspect shows it */
	a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *str_json(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static json_object *image_json(const struct o2v_image *img)
{
	const struct o2v_image_config *c = &img->config;
	json_object *o = json_object_new_object(), *layers = json_object_new_array();
	char platform[128];

	snprintf(platform, sizeof(platform), "%s/%s%s%s", c->os ? c->os : "",
		 c->architecture ? c->architecture : "", c->variant ? "/" : "",
		 c->variant ? c->variant : "");
	json_object_object_add(o, "Reference", str_json(img->reference));
	json_object_object_add(o, "Digest", str_json(img->manifest_digest));
	if (strcmp(img->resolved_digest, img->manifest_digest))
		json_object_object_add(o, "IndexDigest", str_json(img->resolved_digest));
	json_object_object_add(o, "ConfigDigest", str_json(img->config_digest));
	json_object_object_add(o, "Platform", str_json(platform));
	json_object_object_add(o, "Entrypoint", strv_json(c->entrypoint));
	json_object_object_add(o, "Cmd", strv_json(c->cmd));
	json_object_object_add(o, "Env", c->env ? strv_json(c->env) : json_object_new_array());
	json_object_object_add(o, "WorkingDir", str_json(c->working_dir));
	json_object_object_add(o, "User", str_json(c->user));
	json_object_object_add(o, "ExposedPorts",
			       c->exposed_ports ? strv_json(c->exposed_ports)
						: json_object_new_array());
	if (c->stop_signal)
		json_object_object_add(o, "StopSignal", str_json(c->stop_signal));
	uint64_t total = 0;
	for (size_t i = 0; i < img->n_layers; i++) {
		json_object *l = json_object_new_object();
		json_object_object_add(l, "Digest", str_json(img->layers[i].digest));
		json_object_object_add(l, "DiffID", str_json(img->layers[i].diff_id));
		json_object_object_add(l, "MediaType", str_json(img->layers[i].media_type));
		json_object_object_add(l, "Size",
				       json_object_new_int64((int64_t)img->layers[i].size));
		json_object_array_add(layers, l);
		total += img->layers[i].size;
	}
	json_object_object_add(o, "Layers", layers);
	json_object_object_add(o, "Size", json_object_new_int64((int64_t)total));
	return o;
}

int cmd_inspect(int argc, char **argv)
{
	struct o2v_pull_cli po;
	struct o2v_error err = {0};
	struct o2v_ref ref = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_image *img = NULL;
	int r;

	o2v_pull_cli_init(&po);
	r = o2v_pull_cli_parse(&po, "inspect", argc, argv, O2V_PULL_MISSING, &ref, &cache);
	if (r != 0)
		goto out;
	r = o2v_inspect(cache, &ref, &po.opts, &img, &err);
	if (r < 0) {
		r = o2v_cli_fail(&err);
		goto out;
	}
	json_object *j = image_json(img);
	printf("%s\n",
	       json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	r = O2V_EXIT_OK;
out:
	o2v_image_free(img);
	o2v_cache_close(cache);
	o2v_ref_release(&ref);
	o2v_pull_cli_release(&po);
	return r;
}
