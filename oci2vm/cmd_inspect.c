/* cmd_inspect.c - `oci2vm inspect NAME|REF`: a container's record (vminspect.c), else the
 * image config as JSON, without downloading layers (from the cache when it is there). */
#include "../common/o2v.h"

#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "commands.h"
#include "../common/paths.h"
#include "pullopts.h"
#include "vminspect.h"

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

static void print_json(json_object *j)
{
	printf("%s\n",
	       json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/* --type container|image (taken out of argv); "" when absent: a container's name or id
 * first, else an image (as docker inspect). -1 for a bad value. */
static int take_type(int *argc, char **argv, const char **ret)
{
	*ret = "";
	for (int i = 1; i < *argc; i++) {
		const char *v = NULL;
		int used = 0;
		if (!strcmp(argv[i], "--type") && i + 1 < *argc)
			v = argv[i + 1], used = 2;
		else if (!strncmp(argv[i], "--type=", 7))
			v = argv[i] + 7, used = 1;
		else if (!strcmp(argv[i], "--"))
			break;
		if (!used)
			continue;
		if (strcmp(v, "container") && strcmp(v, "image"))
			return -1;
		*ret = v;
		memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used + 1) * sizeof(*argv));
		*argc -= used;
		i--;
	}
	return 0;
}

/* The container named by the last argument, if there is one. 1: printed, 0: none, else an
 * exit code (with --type container only). */
static int inspect_container(int argc, char **argv, bool required)
{
	_cleanup_free_ char *runtime = NULL;
	struct o2v_error err;
	struct o2v_vm vm;

	if (argc < 2 || argv[argc - 1][0] == '-' || o2v_runtime_dir(&runtime, &err) < 0)
		return required ? o2v_cli_usage_error("inspect", "expected a VM name or id") : 0;
	if (o2v_vm_load(runtime, argv[argc - 1], &vm, &err) < 0) {
		if (!required)
			return 0;
		o2v_cli_error("%s", err.msg);
		return 1;
	}
	print_json(o2v_vm_inspect_json(&vm));
	o2v_vm_release(&vm);
	return -1;
}

int cmd_inspect(int argc, char **argv)
{
	struct o2v_pull_cli po;
	const char *type;
	struct o2v_error err = {0};
	struct o2v_ref ref = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_image *img = NULL;
	int r;

	if (take_type(&argc, argv, &type) < 0)
		return o2v_cli_usage_error("inspect", "--type: expected container or image");
	if (strcmp(type, "image") && (r = inspect_container(argc, argv, !strcmp(type, "container"))))
		return r < 0 ? O2V_EXIT_OK : r;
	o2v_pull_cli_init(&po);
	r = o2v_pull_cli_parse(&po, "inspect", argc, argv, O2V_PULL_MISSING, &ref, &cache);
	if (r != 0)
		goto out;
	r = o2v_inspect(cache, &ref, &po.opts, &img, &err);
	if (r < 0) {
		r = o2v_cli_fail(&err);
		goto out;
	}
	print_json(image_json(img));
	r = O2V_EXIT_OK;
out:
	o2v_image_free(img);
	o2v_cache_close(cache);
	o2v_ref_release(&ref);
	o2v_pull_cli_release(&po);
	return r;
}
