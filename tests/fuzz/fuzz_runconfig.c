/* fuzz_runconfig.c - the run-config text the guest's init reads from /.oci2vm/run.conf
 * (common/runconfig.c).
 *
 * Input: the file's bytes (NULs included). Checks: an error is negative with a message
 * and leaves the struct empty; a parsed config satisfies what init relies on (argv[0]
 * non-empty unless shell, env entries NAME=VALUE, absolute workdir/volume paths, bounded
 * lists and window size), and write -> parse -> write is a fixed point: the second parse
 * gives the same struct and the second text is byte for byte the first. */
#include "fuzz.h"

#include "../../common/runconfig.h"

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static bool strv_eq(char *const *a, char *const *b)
{
	size_t n = strv_len(a);

	if (n != strv_len(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool rc_eq(const struct o2v_runconfig *a, const struct o2v_runconfig *b)
{
	if (!strv_eq(a->argv, b->argv) || !strv_eq(a->env, b->env) || !strv_eq(a->dns, b->dns) ||
	    !strv_eq(a->hosts, b->hosts) || !str_eq(a->workdir, b->workdir) ||
	    !str_eq(a->user, b->user) || !str_eq(a->hostname, b->hostname) ||
	    !str_eq(a->rootdisk, b->rootdisk) || a->n_volumes != b->n_volumes)
		return false;
	for (size_t i = 0; i < a->n_volumes; i++)
		if (!str_eq(a->volumes[i].tag, b->volumes[i].tag) ||
		    !str_eq(a->volumes[i].guest_path, b->volumes[i].guest_path) ||
		    a->volumes[i].readonly != b->volumes[i].readonly)
			return false;
	return a->network == b->network && a->terminal == b->terminal &&
	       a->stdin_open == b->stdin_open && a->rows == b->rows && a->cols == b->cols &&
	       a->stop_grace == b->stop_grace && a->verbose == b->verbose && a->shell == b->shell &&
	       a->ephemeral == b->ephemeral && a->hold == b->hold;
}

static void check_valid(const struct o2v_runconfig *rc)
{
	FUZZ_CHECK(rc->shell || (rc->argv && rc->argv[0][0]), "no command");
	FUZZ_CHECK(strv_len(rc->argv) <= O2V_RUNCONFIG_LIST_MAX &&
		       strv_len(rc->env) <= O2V_RUNCONFIG_LIST_MAX &&
		       strv_len(rc->dns) <= O2V_RUNCONFIG_LIST_MAX &&
		       strv_len(rc->hosts) <= O2V_RUNCONFIG_LIST_MAX &&
		       rc->n_volumes <= O2V_RUNCONFIG_LIST_MAX,
		   "list too long");
	for (char **e = rc->env; e && *e; e++)
		FUZZ_CHECK(strchr(*e, '=') && (*e)[0] != '=', "env entry '%s'", *e);
	FUZZ_CHECK(!rc->workdir || !rc->workdir[0] || rc->workdir[0] == '/', "workdir '%s'",
		   rc->workdir);
	FUZZ_CHECK(!rc->rootdisk || rc->rootdisk[0] == '/', "rootdisk '%s'", rc->rootdisk);
	FUZZ_CHECK(!rc->hostname || strlen(rc->hostname) <= 64, "hostname");
	for (size_t i = 0; i < rc->n_volumes; i++)
		FUZZ_CHECK(rc->volumes[i].tag && rc->volumes[i].tag[0] &&
			       rc->volumes[i].guest_path && rc->volumes[i].guest_path[0] == '/',
			   "volume %zu", i);
	FUZZ_CHECK(rc->rows <= 65535 && rc->cols <= 65535, "winsize %u %u", rc->rows, rc->cols);
	FUZZ_CHECK(rc->stop_grace <= 7 * 24 * 3600u, "stop_grace %u", rc->stop_grace);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct o2v_runconfig rc, rc2, empty;
	struct o2v_error err = {0};
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;

	if (size > O2V_RUNCONFIG_MAX + 16)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	FUZZ_CHECK(buf, "oom");
	memcpy(buf, data, size);

	o2v_runconfig_init(&rc);
	o2v_runconfig_init(&empty);
	int r = o2v_runconfig_parse(&rc, buf, size, &err);
	if (r < 0) {
		FUZZ_CHECK(err.code == r && err.msg[0], "r=%d", r);
		FUZZ_CHECK(rc_eq(&rc, &empty) && !rc.argv && !rc.volumes, "not empty on failure");
		free(buf);
		return 0;
	}
	FUZZ_CHECK(r == 0, "r=%d", r);
	check_valid(&rc);

	r = o2v_runconfig_write(&rc, &text, &len, &err);
	FUZZ_CHECK(r == 0, "a parsed config does not write: %s", err.msg);
	FUZZ_CHECK(strlen(text) == len, "NUL inside the written text");
	o2v_runconfig_init(&rc2);
	r = o2v_runconfig_parse(&rc2, text, len, &err);
	FUZZ_CHECK(r == 0, "written text does not parse: %s", err.msg);
	FUZZ_CHECK(rc_eq(&rc, &rc2), "parse -> write -> parse changed the config");
	r = o2v_runconfig_write(&rc2, &text2, &len2, &err);
	FUZZ_CHECK(r == 0 && len == len2 && !memcmp(text, text2, len),
		   "write -> parse -> write changed the text");

	o2v_runconfig_release(&rc);
	o2v_runconfig_release(&rc2);
	free(text);
	free(text2);
	free(buf);
	return 0;
}
