/* test_runmerge.c - Docker's argv and env rules, table-driven.
 *
 * Expected values are what `docker run` produces for the same image config
 * and options (moby's daemon merge + CLI handling).
 */
#include "../../common/o2v.h"

#include <string.h>

#include "../../common/runmerge.h"
#include "tap.h"

/* The functions take char *const *: they never write through it. */
#define V(...) ((char *const *)(const char *[]){__VA_ARGS__, NULL})
#define NONE   ((char *const *)NULL)

/* "a|b|c" for diagnostics and comparison. */
static void join(char *const *v, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; v && v[i]; i++)
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", i ? "|" : "", v[i]);
}

struct argv_case {
	const char *name;
	char *const *ep, *const *cmd;
	const char *entrypoint;
	char *const *args;
	const char *want; /* joined with '|'; NULL = error */
};

static void test_argv(void)
{
	const struct argv_case cases[] = {
	    {"Entrypoint + Cmd", V("/ep", "-x"), V("serve", "--port=1"), NULL, NONE,
	     "/ep|-x|serve|--port=1"},
	    {"Cmd only", NONE, V("redis-server"), NULL, NONE, "redis-server"},
	    {"Entrypoint only", V("/ep"), NONE, NULL, NONE, "/ep"},
	    {"args replace Cmd, keep Entrypoint", V("/ep"), V("default"), NULL, V("a", "b"),
	     "/ep|a|b"},
	    {"args replace Cmd without Entrypoint", NONE, V("default"), NULL, V("sh"), "sh"},
	    {"--entrypoint drops image Cmd", V("/ep"), V("default"), "/bin/other", NONE,
	     "/bin/other"},
	    {"--entrypoint with args", V("/ep"), V("default"), "/bin/other", V("x"),
	     "/bin/other|x"},
	    {"--entrypoint keeps its spaces as one word", NONE, NONE, "my prog", NONE, "my prog"},
	    {"--entrypoint '' clears, args run", V("/ep"), V("default"), "", V("ls", "-l"),
	     "ls|-l"},
	    {"--entrypoint '' without args", V("/ep"), V("default"), "", NONE, NULL},
	    {"nothing at all", NONE, NONE, NULL, NONE, NULL},
	    {"empty vectors", V(NULL), V(NULL), NULL, V(NULL), NULL},
	    {"empty args keep Cmd", V("/ep"), V("c"), NULL, V(NULL), "/ep|c"},
	    {"empty argv[0] from image", V(""), NONE, NULL, NONE, NULL},
	};
	char got[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct argv_case *c = &cases[i];
		struct o2v_error err = {0};
		char **argv = NULL;
		int r = o2v_runmerge_argv(c->ep, c->cmd, c->entrypoint, c->args, &argv, &err);
		if (!c->want) {
			TAP_OK(r == -EINVAL && strstr(err.msg, "no command specified") && !argv,
			       "argv: %s -> error", c->name);
			continue;
		}
		join(argv, got, sizeof(got));
		TAP_IS_STR(r == 0 ? got : err.msg, c->want, "argv: %s", c->name);
		o2v_strv_free(argv);
	}
}

static const char *fake_host(const char *name)
{
	if (!strcmp(name, "HOSTVAR"))
		return "from host";
	if (!strcmp(name, "EMPTYVAR"))
		return "";
	return NULL;
}

struct env_case {
	const char *name;
	char *const *image, *const *over;
	const char *hostname;
	bool terminal;
	const char *want;
};

static void test_env(void)
{
	const struct env_case cases[] = {
	    {"image without PATH gets Docker's", V("A=1"), NONE, "h", false,
	     "PATH=" O2V_DEFAULT_PATH "|HOSTNAME=h|A=1"},
	    {"image PATH replaces the default in place", V("A=1", "PATH=/x"), NONE, "h", false,
	     "PATH=/x|HOSTNAME=h|A=1"},
	    {"-e overrides by key, user entries first", V("A=1", "B=2"), V("B=3", "C=4"), "h",
	     false, "PATH=" O2V_DEFAULT_PATH "|HOSTNAME=h|B=3|C=4|A=1"},
	    {"-e NAME takes the host value", V("A=1"), V("HOSTVAR"), "h", false,
	     "PATH=" O2V_DEFAULT_PATH "|HOSTNAME=h|HOSTVAR=from host|A=1"},
	    {"-e NAME set empty on host", NONE, V("EMPTYVAR"), NULL, false,
	     "PATH=" O2V_DEFAULT_PATH "|EMPTYVAR="},
	    {"-e NAME unset on host removes the image's", V("A=1", "GONE=x"), V("GONE"), "h", false,
	     "PATH=" O2V_DEFAULT_PATH "|HOSTNAME=h|A=1"},
	    {"-e PATH unset removes even PATH", NONE, V("PATH"), NULL, false, ""},
	    {"later -e wins", NONE, V("A=1", "A=2"), NULL, false, "PATH=" O2V_DEFAULT_PATH "|A=2"},
	    {"value keeps '=' and spaces", NONE, V("A=b=c d"), NULL, false,
	     "PATH=" O2V_DEFAULT_PATH "|A=b=c d"},
	    {"terminal adds TERM=xterm", NONE, NONE, "h", true,
	     "PATH=" O2V_DEFAULT_PATH "|HOSTNAME=h|TERM=xterm"},
	    {"image TERM overrides the default", V("TERM=dumb"), NONE, NULL, true,
	     "PATH=" O2V_DEFAULT_PATH "|TERM=dumb"},
	    {"image HOSTNAME overrides", V("HOSTNAME=img"), NONE, "h", false,
	     "PATH=" O2V_DEFAULT_PATH "|HOSTNAME=img"},
	    {"empty name is an error", NONE, V("=x"), NULL, false, NULL},
	};
	char got[1024];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct env_case *c = &cases[i];
		struct o2v_error err = {0};
		char **env = NULL;
		int r = o2v_runmerge_env(c->image, c->over, fake_host, c->hostname, c->terminal,
					 &env, &err);
		if (!c->want) {
			TAP_OK(r == -EINVAL && strstr(err.msg, "invalid environment variable"),
			       "env: %s -> error", c->name);
			continue;
		}
		join(env, got, sizeof(got));
		TAP_IS_STR(r == 0 ? got : err.msg, c->want, "env: %s", c->name);
		TAP_OK(r != 0 || env != NULL, "env: %s: a vector even when empty", c->name);
		o2v_strv_free(env);
	}
}

struct file_case {
	const char *name, *text;
	const char *want; /* NULL = error containing err_sub */
	const char *err_sub;
};

static void test_env_file(void)
{
	const struct file_case cases[] = {
	    {"plain lines", "A=1\nB=two words\n", "A=1|B=two words", NULL},
	    {"comments and blank lines", "# c\n\n   \n  # indented comment\nA=1\n", "A=1", NULL},
	    {"leading whitespace trimmed, value kept", "   A= spaced \n", "A= spaced ", NULL},
	    {"quotes are literal", "A=\"q\"\n", "A=\"q\"", NULL},
	    {"bare name from host", "HOSTVAR\nNOPE\n", "HOSTVAR=from host", NULL},
	    {"no final newline", "A=1", "A=1", NULL},
	    {"CRLF line ends", "A=1\r\nB=2\r\n", "A=1|B=2", NULL},
	    {"UTF-8 BOM",
	     "\xef\xbb\xbf"
	     "A=1\n",
	     "A=1", NULL},
	    {"UTF-8 value", "A=caf\xc3\xa9\n", "A=caf\xc3\xa9", NULL},
	    {"empty value", "A=\n", "A=", NULL},
	    {"space in name", "MY VAR=1\n", NULL, "line 1: variable name contains whitespace"},
	    {"bare name with trailing space", "A \n", NULL, "variable name contains whitespace"},
	    {"no name", "=1\n", NULL, "line 1: no variable name"},
	    {"invalid UTF-8", "A=1\nB=\xff\n", NULL, "line 2: invalid UTF-8"},
	    {"overlong UTF-8", "A=\xc0\xaf\n", NULL, "invalid UTF-8"},
	    {"truncated UTF-8", "A=\xe2\x82", NULL, "invalid UTF-8"},
	};
	char got[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct file_case *c = &cases[i];
		struct o2v_error err = {0};
		char **list = NULL;
		int r = o2v_runmerge_env_file(c->text, strlen(c->text), "f.env", fake_host, &list,
					      &err);
		if (!c->want) {
			if (!TAP_OK(r == -EINVAL && strstr(err.msg, c->err_sub) && !list,
				    "env file: %s -> error", c->name))
				printf("#   got %d '%s'\n", r, err.msg);
			continue;
		}
		join(list, got, sizeof(got));
		TAP_IS_STR(r == 0 ? got : err.msg, c->want, "env file: %s", c->name);
		o2v_strv_free(list);
	}

	/* NUL inside a line, and appending to an existing list. */
	struct o2v_error err = {0};
	char **list = NULL;
	TAP_IS_INT(o2v_runmerge_env_file("A=1\0x\n", 6, "f", NULL, &list, &err), -EINVAL,
		   "env file: NUL byte rejected");
	TAP_IS_INT(o2v_runmerge_env_file("A=1\n", 4, "f", NULL, &list, &err), 0, "first file");
	TAP_IS_INT(o2v_runmerge_env_file("B=2\n", 4, "g", NULL, &list, &err), 0, "second file");
	join(list, got, sizeof(got));
	TAP_IS_STR(got, "A=1|B=2", "env files append in order");
	o2v_strv_free(list);
}

int main(void)
{
	test_argv();
	test_env();
	test_env_file();
	return tap_done();
}
