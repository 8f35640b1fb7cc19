/* cmd_pull.c - `oci2vm pull REF`: fetch an image into the cache. */
#include "../common/o2v.h"

#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pullopts.h"

int cmd_pull(int argc, char **argv)
{
	struct o2v_pull_cli po;
	struct o2v_error err = {0};
	struct o2v_ref ref = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_image *img = NULL;
	int r;

	o2v_pull_cli_init(&po);
	r = o2v_pull_cli_parse(&po, "pull", argc, argv, O2V_PULL_MISSING, &ref, &cache);
	if (r != 0)
		goto out;
	r = o2v_pull(cache, &ref, &po.opts, &img, &err);
	o2v_pull_cli_done(&po);
	if (r < 0) {
		r = o2v_cli_fail(&err);
		goto out;
	}
	if (po.quiet) {
		printf("%s\n", img->manifest_digest);
	} else {
		char b[32];
		o2v_format_bytes(img->downloaded, b, sizeof(b));
		if (img->up_to_date)
			printf("Status: image is up to date for %s\n", ref.normalized);
		else
			printf("Status: pulled %s (%s downloaded)\n", ref.normalized, b);
		if (strcmp(img->resolved_digest, img->manifest_digest))
			printf("Index: %s\n", img->resolved_digest);
		printf("Digest: %s\n", img->manifest_digest);
	}
	r = O2V_EXIT_OK;
out:
	o2v_image_free(img);
	o2v_cache_close(cache);
	o2v_ref_release(&ref);
	o2v_pull_cli_release(&po);
	return r;
}
