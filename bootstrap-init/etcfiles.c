/* etcfiles.c - /etc/hostname, /etc/hosts and /etc/resolv.conf for the container.
 *
 * Written to INIT_GEN_DIR (initramfs RAM) and bind-mounted over the image's
 * paths, as Docker does, rather than written into the image:
 *  - the image's own files are untouched underneath, so a root disk that is
 *    booted again (or exported) carries no run-time state, and the next run
 *    with another hostname or DNS gets fresh files;
 *  - the workload can still edit them, like in Docker, unless the root is
 *    read-only: then they are too (moby's Container.NetworkMounts);
 *  - a path the image made a symlink (resolv.conf -> ../run/...) is followed
 *    inside the container root, and a missing file is created empty first.
 * resolv.conf is only replaced when the network is on: without a network
 * the image's file cannot be wrong in a way ours would fix.
 */
#include "init.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fsutil.h"

#define ETC_GEN_MAX (64 * 1024)
#define GUEST_ADDR  "10.0.2.15"
#define DEFAULT_DNS "10.0.2.3"

/* A plain write: the file is new, in RAM, and read by nobody before the bind mount. */
static int gen_file(const char *path, const char *text, struct o2v_error *err)
{
	if (mkdir(INIT_GEN_DIR, 0755) < 0 && errno != EEXIST)
		return o2v_error_sys(err, -errno, "create '%s'", INIT_GEN_DIR);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || o2v_write_all(fd, text, strlen(text)) < 0)
		return o2v_error_sys(err, -errno, "write '%s'", path);
	return 0;
}

static int bind_file(int root_fd, const char *name, const char *text, bool readonly,
		     struct o2v_error *err)
{
	char src[sizeof(INIT_GEN_DIR) + 32], target[32];
	int r;

	snprintf(src, sizeof(src), INIT_GEN_DIR "/%s", name);
	snprintf(target, sizeof(target), "/etc/%s", name);
	if ((r = gen_file(src, text, err)) < 0)
		return r;
	return init_bind_in_root(root_fd, src, target, readonly, err);
}

struct text {
	char buf[ETC_GEN_MAX];
	size_t len;
};

static void add(struct text *t, const char *s1, const char *s2, const char *s3)
{
	int n = snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%s%s%s\n", s1, s2, s3);

	if (n > 0 && (size_t)n < sizeof(t->buf) - t->len)
		t->len += (size_t)n;
}

/* Some line of hosts has name as one of its names (an engine's /etc/hosts lists the
 * container itself). */
static bool names(char *const *hosts, const char *name)
{
	size_t n = strlen(name);

	for (; hosts && *hosts; hosts++)
		for (const char *p = *hosts; (p = strstr(p, name)); p += n)
			if ((p == *hosts || p[-1] == ' ' || p[-1] == '\t') &&
			    (!p[n] || p[n] == ' ' || p[n] == '\t'))
				return true;
	return false;
}

int init_etc_files(int root_fd, const struct o2v_runconfig *rc, struct o2v_error *err)
{
	static struct text t; /* 64 KiB: not on PID 1's stack */
	int r;

	if (rc->hostname && rc->hostname[0]) {
		if (sethostname(rc->hostname, strlen(rc->hostname)) < 0)
			return o2v_error_sys(err, -errno, "set hostname '%s'", rc->hostname);
		t.len = 0;
		add(&t, rc->hostname, "", "");
		if ((r = bind_file(root_fd, "hostname", t.buf, rc->read_only, err)) < 0)
			return r;
	}

	/* Docker's /etc/hosts, with --add-host lines and the container's own name. */
	t.len = 0;
	add(&t, "127.0.0.1\tlocalhost", "", "");
	add(&t, "::1\tlocalhost ip6-localhost ip6-loopback", "", "");
	add(&t, "fe00::0\tip6-localnet", "", "");
	add(&t, "ff00::0\tip6-mcastprefix", "", "");
	add(&t, "ff02::1\tip6-allnodes", "", "");
	add(&t, "ff02::2\tip6-allrouters", "", "");
	for (size_t i = 0; rc->hosts && rc->hosts[i]; i++)
		add(&t, rc->hosts[i], "", "");
	if (rc->network && rc->hostname && rc->hostname[0] && !names(rc->hosts, rc->hostname)) {
		/* our address: the taken-over interface's (net_static "ADDR/PREFIX ...") */
		char own[24] = GUEST_ADDR "\t";
		if (rc->net_static)
			snprintf(own, sizeof(own), "%.*s\t", (int)strcspn(rc->net_static, "/ "),
				 rc->net_static);
		add(&t, own, rc->hostname, "");
	}
	if ((r = bind_file(root_fd, "hosts", t.buf, rc->read_only, err)) < 0)
		return r;

	if (!rc->network)
		return 0;
	t.len = 0;
	for (size_t i = 0; rc->dns && rc->dns[i]; i++)
		add(&t, "nameserver ", rc->dns[i], "");
	if (!rc->dns || !rc->dns[0])
		add(&t, "nameserver " DEFAULT_DNS, "", "");
	return bind_file(root_fd, "resolv.conf", t.buf, rc->read_only, err);
}
