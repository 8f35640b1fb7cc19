/* test_user.c - USER resolution against an image's passwd/group (bootstrap-init/user.c). */
#include "../../common/o2v.h"

#include <string.h>

#include "../../bootstrap-init/init.h"
#include "../../common/fsutil.h"
#include "tap.h"

static const char passwd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment line\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "app:x:1000:1000:App User:/home/app:/bin/sh\n"
    "nohome:x:1001:1001::\n"
    "short:x:1002\n"			      /* too few fields: skipped */
    "garbage:x:abc:0:bad uid:/root:/bin/sh\n" /* non-numeric uid: skipped, never uid 0 */
    "huge:x:4294967296:0::/h:/bin/sh\n"	      /* out of range: skipped */
    "+nisuser::::::\n"			      /* NIS compat line: skipped */
    "crlf:x:1003:1003::/home/crlf:/bin/sh\r\n"
    "   spaced:x:1004:1004::/home/spaced:/bin/sh\n"
    "dup:x:2000:2000::/first:/bin/sh\n"
    "dup:x:2001:2001::/second:/bin/sh\n"
    "last:x:3000:3000::/home/last:/bin/sh"; /* no final newline */

static const char group[] =
    "root:x:0:root\n"
    "daemon:x:1:\n"
    "app:x:1000:\n"
    "wheel:x:10:root,app\n"
    "# comment\n"
    "audio:x:29:app\n"
    "video:x:44:other,app,more\n"
    "short:x\n"
    "badgid:x:zz:app\n"
    "apple:x:50:application\n" /* "app" is a prefix of a member, not a member */
    "staff:x:50000:\n";

static char dir[] = "/tmp/o2v-test-user-XXXXXX";
static char pw_path[64], gr_path[64];

struct user_case {
	const char *spec;
	int code;
	unsigned uid, gid;
	const char *groups; /* "g1,g2" in setgroups order */
	const char *home;
	const char *err_sub;
};

static void groups_str(const struct init_user *u, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < u->n_groups; i++)
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%u", i ? "," : "",
				      (unsigned)u->groups[i]);
}

static void check(const char *pwp, const char *grp, const struct user_case *c, const char *what)
{
	struct init_user u;
	struct o2v_error err = {0};
	char g[256];
	int r = init_user_resolve(pwp, grp, c->spec, &u, &err);

	if (c->code) {
		if (!TAP_OK(r == c->code && strstr(err.msg, c->err_sub), "%s: '%s' fails with '%s'",
			    what, c->spec, c->err_sub))
			printf("#   got %d '%s'\n", r, err.msg);
		TAP_OK(u.home == NULL, "%s: '%s': nothing allocated on failure", what, c->spec);
		return;
	}
	groups_str(&u, g, sizeof(g));
	bool ok = r == 0 && u.uid == c->uid && u.gid == c->gid && !strcmp(g, c->groups) && u.home &&
		  !strcmp(u.home, c->home);
	if (!TAP_OK(ok, "%s: '%s' -> %u:%u groups %s home %s", what, c->spec, c->uid, c->gid,
		    c->groups, c->home))
		printf("#   got r=%d %u:%u groups %s home %s (%s)\n", r, (unsigned)u.uid,
		       (unsigned)u.gid, g, u.home ? u.home : "(null)", err.msg);
	init_user_release(&u);
}

int main(void)
{
	struct o2v_error err = {0};

	if (!mkdtemp(dir))
		return 1;
	snprintf(pw_path, sizeof(pw_path), "%s/passwd", dir);
	snprintf(gr_path, sizeof(gr_path), "%s/group", dir);
	if (o2v_write_file_atomic(pw_path, passwd, strlen(passwd), 0644, &err) < 0 ||
	    o2v_write_file_atomic(gr_path, group, strlen(group), 0644, &err) < 0)
		return 1;

	const struct user_case cases[] = {
	    {"", 0, 0, 0, "0,10", "/root", NULL},
	    {"root", 0, 0, 0, "0,10", "/root", NULL},
	    {"app", 0, 1000, 1000, "1000,10,29,44", "/home/app", NULL},
	    {"1000", 0, 1000, 1000, "1000,10,29,44", "/home/app", NULL},
	    {"daemon", 0, 1, 1, "1", "/usr/sbin", NULL},
	    {"nohome", 0, 1001, 1001, "1001", "/", NULL},
	    {"crlf", 0, 1003, 1003, "1003", "/home/crlf", NULL},
	    {"spaced", 0, 1004, 1004, "1004", "/home/spaced", NULL},
	    {"dup", 0, 2000, 2000, "2000", "/first", NULL},
	    {"last", 0, 3000, 3000, "3000", "/home/last", NULL},
	    /* numeric ids not in passwd: used as is, gid 0, HOME / (runc) */
	    {"4242", 0, 4242, 0, "0", "/", NULL},
	    {"4242:4343", 0, 4242, 4343, "4343", "/", NULL},
	    /* uid:gid and name:group: explicit group, no supplementary groups */
	    {"1000:1000", 0, 1000, 1000, "1000", "/home/app", NULL},
	    {"app:wheel", 0, 1000, 10, "10", "/home/app", NULL},
	    {"app:44", 0, 1000, 44, "44", "/home/app", NULL},
	    {"0:staff", 0, 0, 50000, "50000", "/root", NULL},
	    {":audio", 0, 0, 29, "29", "/root", NULL},
	    /* an OCI runtime's uid:gid:additionalGids */
	    {"1000:1000:29,44", 0, 1000, 1000, "1000,29,44", "/home/app", NULL},
	    {"1000:1000:", 0, 1000, 1000, "1000", "/home/app", NULL},
	    {"1000:1000:29,x", -EINVAL, 0, 0, "", "", "supplementary group 'x' is not a number"},
	    /* lines that must never match */
	    {"short", -ENOENT, 0, 0, "", "", "unable to find user 'short'"},
	    {"garbage", -ENOENT, 0, 0, "", "", "unable to find user 'garbage'"},
	    {"+nisuser", -ENOENT, 0, 0, "", "", "unable to find user"},
	    {"huge", -ENOENT, 0, 0, "", "", "unable to find user 'huge'"},
	    {"# a comment line", -ENOENT, 0, 0, "", "", "unable to find user"},
	    {"nobody", -ENOENT, 0, 0, "", "", "unable to find user 'nobody'"},
	    {"nobody:app", -ENOENT, 0, 0, "", "", "unable to find user 'nobody'"},
	    {"app:nogroup", -ENOENT, 0, 0, "", "", "unable to find group 'nogroup'"},
	    {"app:badgid", -ENOENT, 0, 0, "", "", "unable to find group 'badgid'"},
	    {"app:", -EINVAL, 0, 0, "", "", "empty group"},
	    {"99999999999", -ENOENT, 0, 0, "", "", "unable to find user"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(pw_path, gr_path, &cases[i], "fixture");

	/* An image without passwd/group: numeric works, names do not. */
	const struct user_case none[] = {
	    {"", 0, 0, 0, "0", "/", NULL},
	    {"1000:1000", 0, 1000, 1000, "1000", "/", NULL},
	    {"123", 0, 123, 0, "0", "/", NULL},
	    {"app", -ENOENT, 0, 0, "", "", "unable to find user 'app'"},
	    {"0:wheel", -ENOENT, 0, 0, "", "", "unable to find group 'wheel'"},
	};
	char missing[96];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	for (size_t i = 0; i < ARRAY_SIZE(none); i++)
		check(missing, missing, &none[i], "no files");

	/* More groups than setgroups() gets. */
	char big[INIT_USER_GROUPS_MAX * 24 + 64];
	size_t n = 0;
	for (int i = 0; i <= INIT_USER_GROUPS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "g%d:x:%d:app\n", i, 5000 + i);
	char big_path[96];
	snprintf(big_path, sizeof(big_path), "%s/biggroup", dir);
	o2v_write_file_atomic(big_path, big, n, 0644, &err);
	const struct user_case over = {"app", -E2BIG, 0, 0, "", "", "more than 256 groups"};
	check(pw_path, big_path, &over, "many groups");

	o2v_rm_rf(dir, &err);
	return tap_done();
}
