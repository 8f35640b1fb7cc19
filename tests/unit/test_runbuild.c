/* test_runbuild.c - the one run-configuration builder (common/runbuild.c): the image's
 * defaults and what run, export and runconfig ask for → what init reads. */
#include "../../common/o2v.h"

#include <string.h>

#include "../../common/runbuild.h"
#include "../../common/strv.h"
#include "tap.h"

static char *joined(char **v)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (; v && *v && n < sizeof(buf); v++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "|" : "", *v);
	return buf;
}

static const char *lookup(const char *name)
{
	return !strcmp(name, "FROM_HOST") ? "host-value" : NULL;
}

static char ep0[] = "/entry", cmd0[] = "serve", cmd1[] = "--port=1", env0[] = "PATH=/img/bin",
	    env1[] = "MODE=image";
static char *img_ep[] = {ep0, NULL}, *img_cmd[] = {cmd0, cmd1, NULL},
	    *img_env[] = {env0, env1, NULL};
static const struct o2v_image_defaults img = {img_ep, img_cmd, img_env, "/srv", "app"};

/* export: nothing asked, the image's own defaults. */
static void test_image_defaults(void)
{
	struct o2v_run_request req = {.rootdisk = "/dev/vda", .stop_grace = 10};
	struct o2v_runconfig rc;
	struct o2v_error err = {0};

	TAP_IS_INT(o2v_runconfig_build(&img, &req, &rc, &err), 0, "defaults: builds");
	TAP_IS_STR(joined(rc.argv), "/entry|serve|--port=1", "defaults: Entrypoint + Cmd");
	TAP_IS_STR(joined(rc.env), "PATH=/img/bin|MODE=image", "defaults: the image's Env");
	TAP_IS_STR(rc.workdir, "/srv", "defaults: the image's WorkingDir");
	TAP_IS_STR(rc.user, "app", "defaults: the image's User");
	TAP_OK(rc.hostname == NULL && !rc.network && rc.n_volumes == 0, "defaults: no hostname, "
									"no network, no volumes");
	TAP_IS_STR(rc.rootdisk, "/dev/vda", "defaults: the root disk asked for");
	TAP_IS_INT((int)rc.stop_grace, 10, "defaults: stop grace");
	o2v_runconfig_release(&rc);
}

/* run: Docker's overrides on top. */
static void test_overrides(void)
{
	static char a0[] = "sh", a1[] = "-c", a2[] = "exit 3", e0[] = "MODE=cli",
		    e1[] = "FROM_HOST", e2[] = "UNSET_HERE";
	static char *args[] = {a0, a1, a2, NULL}, *env[] = {e0, e1, e2, NULL};
	static const struct o2v_run_volume vols[] = {
	    {"/data", false, NULL, 0}, {"/etc/conf", true, NULL, 0}, {"/etc/hosts", true, "0", 5}};
	struct o2v_run_request req = {
	    .entrypoint = "",
	    .args = args,
	    .env = env,
	    .lookup = lookup,
	    .workdir = "/tmp",
	    .user = "1000:1000",
	    .hostname = "box",
	    .network = true,
	    .volumes = vols,
	    .n_volumes = 3,
	    .terminal = true,
	    .rows = 24,
	    .cols = 80,
	    .ephemeral = true,
	};
	struct o2v_runconfig rc;
	struct o2v_error err = {0};

	TAP_IS_INT(o2v_runconfig_build(&img, &req, &rc, &err), 0, "overrides: builds");
	TAP_IS_STR(joined(rc.argv), "sh|-c|exit 3", "overrides: --entrypoint '' and a command");
	TAP_IS_STR(joined(rc.env),
		   "PATH=/img/bin|HOSTNAME=box|TERM=xterm|MODE=cli|FROM_HOST=host-value",
		   "overrides: Docker's env order, -e NAME from the host, an unset NAME dropped");
	TAP_OK(!strcmp(rc.workdir, "/tmp") && !strcmp(rc.user, "1000:1000") &&
		   !strcmp(rc.hostname, "box"),
	       "overrides: -w, -u, -h");
	TAP_OK(rc.n_volumes == 3 && !strcmp(rc.volumes[2].tag, "o2v_v5") &&
		   !strcmp(rc.volumes[2].entry, "0") && !rc.volumes[0].entry,
	       "overrides: a bind names its share's tag and its entry");
	TAP_OK(rc.n_volumes == 3 && !strcmp(rc.volumes[0].tag, "o2v_v0") &&
		   !strcmp(rc.volumes[0].guest_path, "/data") && !rc.volumes[0].readonly &&
		   !strcmp(rc.volumes[1].tag, "o2v_v1") && rc.volumes[1].readonly,
	       "overrides: volume i has the tag o2v_v<i> the host gives it");
	TAP_OK(rc.terminal && rc.rows == 24 && rc.cols == 80 && rc.network && rc.ephemeral &&
		   rc.rootdisk == NULL,
	       "overrides: terminal, window size, network, ephemeral, initramfs root");
	o2v_runconfig_release(&rc);
}

static void test_shell_and_errors(void)
{
	const struct o2v_image_defaults none = {0};
	struct o2v_run_request req = {.shell = true};
	struct o2v_runconfig rc;
	struct o2v_error err = {0};
	char *text = NULL;

	TAP_IS_INT(o2v_runconfig_build_text(&none, &req, &text, NULL, &err), 0,
		   "shell: an image without a command still builds");
	TAP_OK(text && strstr(text, "shell 1\n") && !strstr(text, "\narg "),
	       "shell: no command written");
	free(text);
	req.shell = false;
	TAP_IS_INT(o2v_runconfig_build(&none, &req, &rc, &err), -EINVAL,
		   "no command and no shell: refused");
	o2v_runconfig_release(&rc);
	static char bad[] = "=x";
	static char *env[] = {bad, NULL};
	req = (struct o2v_run_request){.env = env};
	TAP_IS_INT(o2v_runconfig_build(&img, &req, &rc, &err), -EINVAL,
		   "an override with an empty name: refused (%s)", err.msg);
	o2v_runconfig_release(&rc);
}

int main(void)
{
	test_image_defaults();
	test_overrides();
	test_shell_and_errors();
	return tap_done();
}
