/* cmd_rmi.c - `oci2vm rmi REF...`: untag images; `prune` frees the blobs. */
#include "../common/o2v.h"

#include <getopt.h>

#include "cli.h"
#include "commands.h"
#include "pullopts.h"

int cmd_rmi(int argc, char **argv)
{
	static const struct option longopts[] = {{NULL, 0, NULL, 0}};
	struct o2v_cache *cache = NULL;
	int c, r, status = O2V_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1)
		return o2v_cli_option_usage("rmi", c, argc, argv);
	if (optind == argc)
		return o2v_cli_usage_error("rmi", "expected at least one image reference");
	/* all references first: a typo must not leave half the list removed */
	for (int i = optind; i < argc; i++) {
		struct o2v_ref ref = {0};
		if ((r = o2v_cli_ref(argv[i], &ref)) != 0)
			return r;
		o2v_ref_release(&ref);
	}
	if ((r = o2v_cli_cache_open(&cache)) != 0)
		return r;
	for (int i = optind; i < argc; i++) {
		struct o2v_error err = {0};
		struct o2v_ref ref = {0};
		o2v_ref_parse(argv[i], &ref, &err);
		if (o2v_cache_untag(cache, &ref, &err) < 0)
			status = o2v_cli_fail(&err);
		else
			printf("Untagged: %s\n", ref.normalized);
		o2v_ref_release(&ref);
	}
	o2v_cache_close(cache);
	return status;
}
