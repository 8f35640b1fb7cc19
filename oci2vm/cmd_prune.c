/* cmd_prune.c - `oci2vm prune`: delete blobs no tag uses, and pre-booted VMs (snapshots)
 * whose QEMU, kernel or init changed (all of them with --snapshots). */
#include "../common/o2v.h"

#include <getopt.h>

#include "../common/fsutil.h"
#include "../common/paths.h"
#include "../vm/snapshot.h"
#include "cli.h"
#include "commands.h"
#include "pullopts.h"

int cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'},
						 {"snapshots", no_argument, NULL, 's'},
						 {NULL, 0, NULL, 0}};
	struct o2v_error err = {0};
	struct o2v_cache *cache = NULL;
	struct o2v_prune_stats st;
	_cleanup_free_ char *dir = NULL, *snapshots = NULL;
	bool quiet = false, all_snapshots = false;
	unsigned snap_removed = 0;
	uint64_t snap_bytes = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+:qs", longopts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 's')
			all_snapshots = true;
		else
			return o2v_cli_option_usage("prune", c, argc, argv);
	}
	if (optind != argc)
		return o2v_cli_usage_error("prune", "takes no arguments");
	if ((r = o2v_cli_cache_open(&cache)) != 0)
		return r;
	r = o2v_cache_prune(cache, &st, &err);
	o2v_cache_close(cache);
	if (r < 0)
		return o2v_cli_fail(&err);
	if ((r = o2v_cache_dir(&dir, &err)) < 0 ||
	    !(snapshots = o2v_path_join(dir, "snapshots")) ||
	    (r = o2v_snapshot_prune(snapshots, all_snapshots, &snap_removed, &snap_bytes, &err)) < 0)
		return r < 0 ? o2v_cli_fail(&err) : O2V_EXIT_RUN_FAILED;
	if (!quiet) {
		char b[32], sb[32];
		o2v_format_bytes(st.bytes, b, sizeof(b));
		o2v_format_bytes(snap_bytes, sb, sizeof(sb));
		printf("removed %llu unreferenced blobs (%s), %llu stale temporary items and %u "
		       "%ssnapshots (%s)\n",
		       (unsigned long long)st.blobs, b, (unsigned long long)st.stale, snap_removed,
		       all_snapshots ? "" : "stale ", sb);
	}
	return O2V_EXIT_OK;
}
