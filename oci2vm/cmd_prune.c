/* cmd_prune.c - `oci2vm prune`: delete blobs no tag uses. */
#include "../common/o2v.h"

#include <getopt.h>

#include "cli.h"
#include "commands.h"
#include "pullopts.h"

int cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'},
						 {NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_prune_stats st;
	bool quiet = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:q", longopts, NULL)) != -1) {
		if (c != 'q')
			return o2v_cli_option_usage("prune", c, argc, argv);
		quiet = true;
	}
	if (optind != argc)
		return o2v_cli_usage_error("prune", "takes no arguments");
	if ((r = o2v_cli_cache_open(&cache)) != 0)
		return r;
	r = o2v_cache_prune(cache, &st, &err);
	o2v_cache_close(cache);
	if (r < 0)
		return o2v_cli_fail(&err);
	if (!quiet) {
		char b[32];
		o2v_format_bytes(st.bytes, b, sizeof(b));
		printf("removed %llu unreferenced blobs (%s) and %llu stale temporary items\n",
		       (unsigned long long)st.blobs, b, (unsigned long long)st.stale);
	}
	return O2V_EXIT_OK;
}
