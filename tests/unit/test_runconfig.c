/* test_runconfig.c - the run-config format: round trips and every rejection. */
#include "../../common/o2v.h"

#include <string.h>

#include "../../common/runconfig.h"
#include "../../common/caps.h"
#include "tap.h"

/* The struct holds char *; the literals here are never written through. */
#define S(x) ((char *)(x))

static char *all_bytes_string(void)
{
	char *s = malloc(256);

	for (int i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
	return s;
}

static void test_round_trip(void)
{
	struct o2v_runconfig rc, back;
	struct o2v_error err = {0};
	char *odd = all_bytes_string();
	char *argv[] = {S("/bin/echo"),
			S(""),
			S("two words"),
			S("tab\there"),
			S("new\nline"),
			S("back\\slash"),
			S("\\x41 not an escape"),
			odd,
			NULL};
	char *env[] = {S("A=1"), S("EMPTY="), S("ML=line1\nline2\r\n"), NULL};
	char *dns[] = {S("1.1.1.1"), S("10.0.2.3"), NULL};
	char *hosts[] = {S("10.0.0.5\tdb db.local"), NULL};
	struct o2v_volume vols[] = {{S("o2v_v0"), S("/data"), true, NULL},
				    {S("o2v_v1"), S("/with space/x"), false, NULL},
				    {S("o2v_v2"), S("/etc/hosts"), true, S("7")}};
	char *text = NULL;
	size_t len = 0;

	o2v_runconfig_init(&rc);
	rc.argv = argv;
	rc.env = env;
	rc.workdir = S("/srv/app");
	rc.user = S("1000:1000");
	rc.hostname = S("web");
	rc.network = true;
	rc.dns = dns;
	rc.hosts = hosts;
	rc.volumes = vols;
	rc.n_volumes = 3;
	rc.terminal = true;
	rc.stdin_open = true;
	rc.ephemeral = true;
	rc.rows = 24;
	rc.cols = 80;
	rc.stop_grace = 3;
	rc.verbose = true;
	rc.rootdisk = S("/dev/vda");
	rc.umask = 027;
	rc.oom_set = true;
	rc.oom_score_adj = -999;
	vols[0].virtiofs = true;

	TAP_IS_INT(o2v_runconfig_write(&rc, &text, &len, &err), 0, "write a full config");
	TAP_OK(text && strlen(text) == len, "written text is NUL-terminated with its length");
	TAP_OK(text && !memcmp(text, "oci2vm-runconfig 1\n", 19), "first line is magic + version");
	TAP_OK(text && len > 4 && !strcmp(text + len - 4, "end\n"), "last line is 'end'");
	/* Every line is printable: no raw control byte reaches the file. */
	bool clean = true;
	for (size_t i = 0; text && i < len; i++)
		if (((unsigned char)text[i] < 0x20 && text[i] != '\n') || text[i] == 0x7f)
			clean = false;
	TAP_OK(clean, "no raw control bytes in the text");

	o2v_runconfig_init(&back);
	TAP_IS_INT(o2v_runconfig_parse(&back, text, len, &err), 0, "parse it back");
	bool same = true;
	for (int i = 0; argv[i]; i++)
		same = same && back.argv[i] && !strcmp(back.argv[i], argv[i]);
	TAP_OK(same && !back.argv[8], "argv round-trips, bytes 0x01..0xff included");
	TAP_IS_STR(back.env[2], env[2], "env with newline and CR round-trips");
	TAP_IS_STR(back.env[1], "EMPTY=", "empty value round-trips");
	TAP_IS_STR(back.workdir, "/srv/app", "workdir");
	TAP_IS_STR(back.user, "1000:1000", "user");
	TAP_IS_STR(back.hostname, "web", "hostname");
	TAP_OK(back.network && back.terminal && back.stdin_open && back.verbose && !back.shell &&
		   back.ephemeral,
	       "booleans");
	TAP_IS_INT(back.rows, 24, "rows");
	TAP_IS_INT(back.cols, 80, "cols");
	TAP_IS_INT(back.stop_grace, 3, "stop_grace");
	TAP_IS_STR(back.rootdisk, "/dev/vda", "rootdisk");
	TAP_IS_STR(back.dns[1], "10.0.2.3", "dns list");
	TAP_IS_STR(back.hosts[0], hosts[0], "host line keeps tab and spaces");
	TAP_IS_INT(back.n_volumes, 3, "two volumes and a bind");
	TAP_OK(back.n_volumes == 3 && back.volumes[0].readonly && !back.volumes[1].readonly,
	       "volume modes");
	TAP_IS_STR(back.n_volumes == 3 ? back.volumes[1].guest_path : NULL, "/with space/x",
		   "volume path with a space");
	TAP_OK(back.umask == 027 && back.oom_set && back.oom_score_adj == -999,
	       "umask (octal) and a negative oom_score_adj");
	TAP_OK(back.n_volumes == 3 && back.volumes[0].virtiofs && !back.volumes[1].virtiofs,
	       "the virtio-fs share is marked, the others stay 9p");
	TAP_OK(back.n_volumes == 3 && !back.volumes[0].entry && back.volumes[2].entry &&
		   !strcmp(back.volumes[2].entry, "7") && back.volumes[2].readonly &&
		   !strcmp(back.volumes[2].tag, "o2v_v2") &&
		   !strcmp(back.volumes[2].guest_path, "/etc/hosts"),
	       "a bind: share, entry, mode and path, in order with the volumes");

	char *text2 = NULL;
	TAP_IS_INT(o2v_runconfig_write(&back, &text2, NULL, &err), 0, "write the parsed config");
	TAP_IS_STR(text2, text, "write(parse(write(x))) == write(x)");
	free(text2);
	o2v_runconfig_release(&back);
	free(text);
	free(odd);
}

static void test_minimal_defaults(void)
{
	struct o2v_runconfig rc;
	struct o2v_error err = {0};
	const char *t = "oci2vm-runconfig 1\narg true\nend\n";

	o2v_runconfig_init(&rc);
	TAP_IS_INT(o2v_runconfig_parse(&rc, t, strlen(t), &err), 0, "minimal config parses");
	TAP_OK(!rc.env && !rc.workdir && !rc.user && !rc.hostname && !rc.network && !rc.rootdisk,
	       "absent keys stay unset");
	TAP_IS_INT(rc.stop_grace, 10, "stop_grace defaults to Docker's 10 s");
	TAP_OK(rc.caps == O2V_CAPS_DEFAULT, "capabilities default to Docker's set");
	TAP_IS_INT((int)rc.stop_signal, 15, "stop_signal defaults to SIGTERM");
	o2v_runconfig_release(&rc);

	const char *sh = "oci2vm-runconfig 1\nshell 1\nend\n";
	TAP_IS_INT(o2v_runconfig_parse(&rc, sh, strlen(sh), &err), 0, "shell mode needs no argv");
	o2v_runconfig_release(&rc);
}

struct bad {
	const char *name, *text;
	int code;
	const char *msg; /* substring of the error */
};

static void expect_bad(const char *name, const char *text, size_t len, int code, const char *msg)
{
	struct o2v_runconfig rc;
	struct o2v_error err = {0};

	o2v_runconfig_init(&rc);
	int r = o2v_runconfig_parse(&rc, text, len, &err);
	if (!TAP_OK(r == code && strstr(err.msg, msg), "rejects %s", name))
		printf("#   got %d '%s', want %d containing '%s'\n", r, err.msg, code, msg);
	TAP_OK(!rc.argv && !rc.env && !rc.volumes, "%s: nothing left allocated", name);
	o2v_runconfig_release(&rc);
}

static void test_rejections(void)
{
	static const struct bad bad[] = {
	    {"empty input", "", -EBADMSG, "line 1: truncated"},
	    {"wrong magic", "docker-config 1\nend\n", -EBADMSG, "not an oci2vm run config"},
	    {"version 2", "oci2vm-runconfig 2\narg x\nend\n", -EBADMSG, "unsupported version '2'"},
	    {"version 10", "oci2vm-runconfig 10\narg x\nend\n", -EBADMSG,
	     "unsupported version '10'"},
	    {"no end line", "oci2vm-runconfig 1\narg x\n", -EBADMSG, "line 3: truncated"},
	    {"cut mid-line", "oci2vm-runconfig 1\narg x\nen", -EBADMSG, "line 3: truncated"},
	    {"data after end", "oci2vm-runconfig 1\narg x\nend\nextra\n", -EBADMSG,
	     "line 4: data after the 'end' line"},
	    {"ulimit unknown", "oci2vm-runconfig 1\narg x\nulimit files 1 2\nend\n", -EBADMSG,
	     "expected 'NAME SOFT HARD'"},
	    {"ulimit soft > hard", "oci2vm-runconfig 1\narg x\nulimit nofile 9 2\nend\n",
	     -EBADMSG, "expected 'NAME SOFT HARD'"},
	    {"tmpfs relative", "oci2vm-runconfig 1\narg x\ntmpfs tmp\nend\n", -EBADMSG,
	     "absolute path"},
	    {"tmpfs on /", "oci2vm-runconfig 1\narg x\ntmpfs /:size=1m\nend\n", -EBADMSG,
	     "absolute path"},
	    {"tmpfs escaping", "oci2vm-runconfig 1\narg x\ntmpfs /../etc\nend\n", -EBADMSG,
	     "absolute path"},
	    {"stop_signal 0", "oci2vm-runconfig 1\narg x\nstop_signal 0\nend\n", -ERANGE,
	     "signal 0"},
	    {"stop_signal 65", "oci2vm-runconfig 1\narg x\nstop_signal 65\nend\n", -ERANGE,
	     "out of range"},
	    {"caps not hex", "oci2vm-runconfig 1\narg x\ncaps 0xff\nend\n", -EBADMSG,
	     "not a capability mask"},
	    {"caps in capitals", "oci2vm-runconfig 1\narg x\ncaps FF\nend\n", -EBADMSG,
	     "not a capability mask"},
	    {"caps too long", "oci2vm-runconfig 1\narg x\ncaps 00000000000000001\nend\n",
	     -EBADMSG, "not a capability mask"},
	    {"caps past the last", "oci2vm-runconfig 1\narg x\ncaps 20000000000\nend\n", -ERANGE,
	     "past the last"},
	    {"unknown key", "oci2vm-runconfig 1\narg x\nmemory 512\nend\n", -EBADMSG,
	     "line 3 ('memory'): unknown key"},
	    {"key without value", "oci2vm-runconfig 1\narg\nend\n", -EBADMSG,
	     "line 2 ('arg'): no value"},
	    {"key with capitals", "oci2vm-runconfig 1\nArg x\nend\n", -EBADMSG,
	     "line 2: expected 'KEY VALUE'"},
	    {"bad escape", "oci2vm-runconfig 1\narg a\\qb\nend\n", -EBADMSG,
	     "line 2 ('arg'): unknown escape '\\q'"},
	    {"short \\x", "oci2vm-runconfig 1\narg a\\x4\nend\n", -EBADMSG, "bad \\x escape"},
	    {"\\x00", "oci2vm-runconfig 1\narg a\\x00\nend\n", -EBADMSG, "bad \\x escape"},
	    {"non-hex \\x", "oci2vm-runconfig 1\narg \\xg1\nend\n", -EBADMSG, "bad \\x escape"},
	    {"trailing backslash", "oci2vm-runconfig 1\narg a\\\nend\n", -EBADMSG,
	     "backslash at end"},
	    {"raw tab", "oci2vm-runconfig 1\narg a\tb\nend\n", -EBADMSG, "raw control byte 0x09"},
	    {"raw CR", "oci2vm-runconfig 1\narg a\r\nend\n", -EBADMSG, "raw control byte 0x0d"},
	    {"duplicate scalar", "oci2vm-runconfig 1\narg x\nuser a\nuser b\nend\n", -EBADMSG,
	     "line 4 ('user'): given twice"},
	    {"bad bool", "oci2vm-runconfig 1\narg x\nnetwork yes\nend\n", -EBADMSG,
	     "expected 0 or 1"},
	    {"ephemeral 2", "oci2vm-runconfig 1\narg x\nephemeral 2\nend\n", -EBADMSG,
	     "expected 0 or 1"},
	    {"bad number", "oci2vm-runconfig 1\narg x\nstop_grace -1\nend\n", -EBADMSG,
	     "not a number"},
	    {"number too big", "oci2vm-runconfig 1\narg x\nstop_grace 99999999999\nend\n", -EBADMSG,
	     "not a number"},
	    {"grace out of range", "oci2vm-runconfig 1\narg x\nstop_grace 999999999\nend\n",
	     -ERANGE, "out of range"},
	    {"winsize one field", "oci2vm-runconfig 1\narg x\nwinsize 24\nend\n", -EBADMSG,
	     "not a number"},
	    {"relative workdir", "oci2vm-runconfig 1\narg x\nworkdir srv\nend\n", -EBADMSG,
	     "not an absolute path"},
	    {"env without =", "oci2vm-runconfig 1\narg x\nenv FOO\nend\n", -EBADMSG,
	     "expected 'NAME=VALUE'"},
	    {"env empty name", "oci2vm-runconfig 1\narg x\nenv =v\nend\n", -EBADMSG,
	     "expected 'NAME=VALUE'"},
	    {"volume two fields", "oci2vm-runconfig 1\narg x\nvolume t /d\nend\n", -EBADMSG,
	     "expected 'TAG ro|rw PATH'"},
	    {"volume bad mode", "oci2vm-runconfig 1\narg x\nvolume t rx /d\nend\n", -EBADMSG,
	     "mode must be"},
	    {"volume relative", "oci2vm-runconfig 1\narg x\nvolume t ro d\nend\n", -EBADMSG,
	     "not absolute"},
	    {"volume four fields", "oci2vm-runconfig 1\narg x\nvolume t ro /d x\nend\n", -EBADMSG,
	     "expected 'TAG ro|rw PATH'"},
	    {"bind without a name", "oci2vm-runconfig 1\narg x\nbind t ro /d\nend\n", -EBADMSG,
	     "expected 'TAG NAME ro|rw PATH'"},
	    {"bind name with a slash", "oci2vm-runconfig 1\narg x\nbind t a/b ro /d\nend\n",
	     -EBADMSG, "one path component"},
	    {"bind name ..", "oci2vm-runconfig 1\narg x\nbind t .. ro /d\nend\n", -EBADMSG,
	     "one path component"},
	    {"volume tag with a slash", "oci2vm-runconfig 1\narg x\nvolume a/b ro /d\nend\n",
	     -EBADMSG, "one path component"},
	    {"umask not octal", "oci2vm-runconfig 1\narg x\numask 089\nend\n", -EBADMSG,
	     "not an octal umask"},
	    {"umask too big", "oci2vm-runconfig 1\narg x\numask 1777\nend\n", -ERANGE,
	     "above 0777"},
	    {"oom_score_adj out of range", "oci2vm-runconfig 1\narg x\noom_score_adj -1001\nend\n",
	     -ERANGE, "out of range"},
	    {"virtiofs unknown tag", "oci2vm-runconfig 1\narg x\nvirtiofs t\nend\n", -EBADMSG,
	     "no volume before it has this tag"},
	    {"no argv", "oci2vm-runconfig 1\nuser x\nend\n", -EBADMSG, "no command"},
	    {"empty argv[0]", "oci2vm-runconfig 1\narg \nend\n", -EBADMSG, "no command"},
	    {"hostname too long",
	     "oci2vm-runconfig 1\narg x\nhostname "
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nend\n",
	     -E2BIG, "longer than 64"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_bad(bad[i].name, bad[i].text, strlen(bad[i].text), bad[i].code, bad[i].msg);

	const char nul[] = "oci2vm-runconfig 1\narg a\0b\nend\n";
	expect_bad("NUL byte", nul, sizeof(nul) - 1, -EBADMSG, "line 2: NUL byte");
}

static void test_caps(void)
{
	struct o2v_runconfig rc;
	struct o2v_error err = {0};
	size_t cap = O2V_RUNCONFIG_MAX + 64;
	char *t = malloc(cap);
	size_t len;

	/* A line one byte over the cap. */
	len = (size_t)snprintf(t, cap, "oci2vm-runconfig 1\narg ");
	memset(t + len, 'a', O2V_RUNCONFIG_LINE_MAX);
	len += O2V_RUNCONFIG_LINE_MAX - 4 + 1;
	memcpy(t + len, "\nend\n", 5);
	len += 5;
	expect_bad("over-long line", t, len, -E2BIG, "line 2: longer than 131072 bytes");

	/* Exactly at the cap is fine. */
	len = (size_t)snprintf(t, cap, "oci2vm-runconfig 1\narg ");
	memset(t + len, 'a', O2V_RUNCONFIG_LINE_MAX - 4);
	len += O2V_RUNCONFIG_LINE_MAX - 4;
	memcpy(t + len, "\nend\n", 5);
	len += 5;
	o2v_runconfig_init(&rc);
	TAP_IS_INT(o2v_runconfig_parse(&rc, t, len, &err), 0, "a line exactly at the cap parses");
	o2v_runconfig_release(&rc);

	/* One list entry too many. */
	len = (size_t)snprintf(t, cap, "oci2vm-runconfig 1\n");
	for (int i = 0; i <= O2V_RUNCONFIG_LIST_MAX; i++)
		len += (size_t)snprintf(t + len, cap - len, "arg %d\n", i);
	len += (size_t)snprintf(t + len, cap - len, "end\n");
	expect_bad("too many args", t, len, -E2BIG, "more than 4096 entries");

	/* A whole file over the cap. */
	memset(t, '\n', cap);
	expect_bad("over-size file", t, O2V_RUNCONFIG_MAX + 1, -E2BIG, "more than");

	/* The writer refuses what the parser would refuse. */
	char **many = calloc(O2V_RUNCONFIG_LIST_MAX + 2, sizeof(char *));
	for (int i = 0; i <= O2V_RUNCONFIG_LIST_MAX; i++)
		many[i] = S("x");
	char *out = NULL;
	o2v_runconfig_init(&rc);
	rc.argv = many;
	TAP_IS_INT(o2v_runconfig_write(&rc, &out, NULL, &err), -E2BIG, "writer caps lists");
	char *rel[] = {S("x"), NULL};
	rc.argv = rel;
	rc.workdir = S("relative");
	TAP_IS_INT(o2v_runconfig_write(&rc, &out, NULL, &err), -EBADMSG,
		   "writer rejects a relative workdir");
	TAP_OK(out == NULL, "no text on failure");
	free(many);
	free(t);
}

/* The capability set: written only when it is not Docker's default, read back exactly. */
static void test_capability_set(void)
{
	struct o2v_runconfig rc, back;
	struct o2v_error err = {0};
	static char a0[] = "true";
	static char *argv[] = {a0, NULL};
	_cleanup_free_ char *text = NULL, *dflt = NULL;

	o2v_runconfig_init(&rc);
	rc.argv = argv;
	TAP_IS_INT(o2v_runconfig_write(&rc, &dflt, NULL, &err), 0, "write with the default set");
	TAP_OK(dflt && !strstr(dflt, "\ncaps "), "the default set is not written");
	rc.caps = O2V_CAPS_ALL;
	TAP_IS_INT(o2v_runconfig_write(&rc, &text, NULL, &err), 0, "write with every capability");
	TAP_OK(text && strstr(text, "\ncaps 1ffffffffff\n"), "caps as lowercase hex");
	o2v_runconfig_init(&back);
	TAP_IS_INT(o2v_runconfig_parse(&back, text, strlen(text), &err), 0, "parse it back");
	TAP_OK(back.caps == O2V_CAPS_ALL, "the same set");
	o2v_runconfig_release(&back);
	static char t0[] = "/cache:size=1m", u0[] = "nofile unlimited unlimited";
	static char *tl[] = {t0, NULL}, *ul[] = {u0, NULL};
	_cleanup_free_ char *more = NULL;
	rc.tmpfs = tl;
	rc.ulimits = ul;
	rc.read_only = rc.no_new_privs = rc.proc_unconfined = true;
	rc.stop_signal = 3;
	rc.shm_size = 1ULL << 30;
	TAP_IS_INT(o2v_runconfig_write(&rc, &more, NULL, &err), 0, "write tmpfs, ulimit, flags");
	o2v_runconfig_init(&back);
	TAP_IS_INT(o2v_runconfig_parse(&back, more, strlen(more), &err), 0, "... parse back");
	TAP_OK(back.read_only && back.no_new_privs && back.proc_unconfined && back.stop_signal == 3 &&
		   back.shm_size == 1ULL << 30 && back.tmpfs &&
		   !strcmp(back.tmpfs[0], t0) &&
		   back.ulimits && !strcmp(back.ulimits[0], u0),
	       "... the same read_only, no_new_privs, proc_unconfined, tmpfs and ulimit");
	o2v_runconfig_release(&back);
	rc.tmpfs = rc.ulimits = NULL;
	const char *none = "oci2vm-runconfig 1\narg x\ncaps 0\nend\n";
	o2v_runconfig_init(&back);
	TAP_IS_INT(o2v_runconfig_parse(&back, none, strlen(none), &err), 0, "caps 0 parses");
	TAP_OK(back.caps == 0, "no capability at all");
	o2v_runconfig_release(&back);
}

int main(void)
{
	test_round_trip();
	test_capability_set();
	test_minimal_defaults();
	test_rejections();
	test_caps();
	return tap_done();
}
