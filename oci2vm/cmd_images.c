/* cmd_images.c - `oci2vm images`: the tagged images of the cache. */
#include "../common/o2v.h"

#include <getopt.h>

#include "cli.h"
#include "commands.h"
#include "pullopts.h"

int cmd_images(int argc, char **argv)
{
	static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'},
						 {"no-trunc", no_argument, NULL, 'T'},
						 {NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_image_info *v = NULL;
	bool quiet = false, no_trunc = false;
	size_t n = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:q", longopts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'T')
			no_trunc = true;
		else
			return o2v_cli_option_usage("images", c, argc, argv);
	}
	if (optind != argc)
		return o2v_cli_usage_error("images", "takes no arguments");
	if ((r = o2v_cli_cache_open(&cache)) != 0)
		return r;
	r = o2v_cache_list(cache, &v, &n, &err);
	o2v_cache_close(cache);
	if (r < 0)
		return o2v_cli_fail(&err);
	if (!quiet)
		printf("%-50s %-*s %-14s %10s\n", "REFERENCE", no_trunc ? 71 : 19, "DIGEST",
		       "PLATFORM", "SIZE");
	for (size_t i = 0; i < n; i++) {
		char size[32];
		if (quiet) {
			printf("%s\n", v[i].name);
			continue;
		}
		o2v_format_bytes(v[i].size, size, sizeof(size));
		printf("%-50s %-*.*s %-14s %10s%s\n", v[i].name, no_trunc ? 71 : 19,
		       no_trunc ? 71 : 19, v[i].digest, v[i].platform[0] ? v[i].platform : "-",
		       size, v[i].complete ? "" : "  (incomplete)");
	}
	o2v_image_info_free(v, n);
	return O2V_EXIT_OK;
}
