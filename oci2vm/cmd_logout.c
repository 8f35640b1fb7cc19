/* cmd_logout.c - `oci2vm logout`: forget the credentials of a registry, from
 * config.json or through the configured credential helper. */
#include "../common/o2v.h"

#include <getopt.h>

#include "../registry/login.h"
#include "cli.h"
#include "commands.h"

int cmd_logout(int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	struct o2v_error err = { 0 };
	_cleanup_free_ char *domain = NULL, *where = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1)
		return o2v_cli_option_usage("logout", c, argc, argv);
	if (argc - optind > 1)
		return o2v_cli_usage_error("logout", "takes at most one SERVER");
	r = o2v_login_domain(optind < argc ? argv[optind] : "docker.io", &domain, &err);
	if (r >= 0)
		r = o2v_credentials_erase(domain, &where, &err);
	if (r < 0)
		return o2v_cli_fail(&err);
	if (r == 0)
		fprintf(stderr, "not logged in to %s\n", domain);
	else
		fprintf(stderr, "removed the login credentials for %s from %s\n", domain,
			where ? where : "the credential store");
	return O2V_EXIT_OK;
}
