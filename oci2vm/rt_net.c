/* rt_net.c - take over a network namespace's interface; see rt_net.h.
 *
 * iproute2's `ip -j` reads the namespace (JSON, parsed with json-c) and `tc` installs the
 * redirections: both are Debian's, run in the caller's namespace (the VM's supervisor has
 * entered the container's).
 */
#include "../common/o2v.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "rt_net.h"

#define OUTPUT_MAX (256 * 1024)

/* Run argv (ip or tc) in the current namespace; its stdout (NUL-terminated, caller frees)
 * when ret is not NULL. Its stderr's first line goes into err on failure. */
static int run(const char *const argv[], char **ret, struct o2v_error *err)
{
	int out[2], errp[2];
	char *buf = NULL, ebuf[512] = "";
	size_t len = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		return o2v_error_sys(err, -errno, "run %s", argv[0]);
	if ((pid = fork()) == 0) {
		dup2(out[1], 1);
		dup2(errp[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	if (pid < 0) {
		close(out[0]);
		close(errp[0]);
		return o2v_error_sys(err, -errno, "run %s", argv[0]);
	}
	buf = malloc(OUTPUT_MAX + 1);
	for (ssize_t n; buf && len < OUTPUT_MAX &&
			(n = O2V_RETRY(read(out[0], buf + len, OUTPUT_MAX - len))) > 0;)
		len += (size_t)n;
	ssize_t en = O2V_RETRY(read(errp[0], ebuf, sizeof(ebuf) - 1));
	ebuf[en > 0 ? en : 0] = '\0';
	ebuf[strcspn(ebuf, "\n")] = '\0';
	close(out[0]);
	close(errp[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf) {
		return o2v_error_sys(err, -ENOMEM, "run %s", argv[0]);
	}
	buf[len] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		free(buf);
		return o2v_error_set(err, -EIO, "%s %s: %s", argv[0], argv[1],
				     WIFEXITED(status) && WEXITSTATUS(status) == 127
					 ? "not found (install iproute2)"
				     : ebuf[0] ? ebuf
					       : "failed");
	}
	if (ret)
		*ret = buf;
	else
		free(buf);
	return 0;
}

static json_object *run_json(const char *const argv[], struct o2v_error *err)
{
	_cleanup_free_ char *text = NULL;
	json_object *o;

	if (run(argv, &text, err) < 0)
		return NULL;
	if (!(o = json_tokener_parse(text)) || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		o2v_error_set(err, -EPROTO, "%s %s: unexpected output", argv[0], argv[1]);
		return NULL;
	}
	return o;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

/* The one interface besides lo, its MAC, MTU and first IPv4 address; the default route. */
static int inspect(char ifname[IFNAMSIZ], struct o2v_rt_net *ret, unsigned *mtu,
		   struct o2v_error *err)
{
	const char *addr_argv[] = {"ip", "-j", "addr", "show", NULL};
	const char *route_argv[] = {"ip", "-j", "-4", "route", "show", "default", NULL};
	json_object *links = run_json(addr_argv, err), *routes = NULL;
	char addr[64] = "", gw[16] = "-";
	size_t n_links = 0;
	int r = 0;

	if (!links)
		return -EIO;
	for (size_t i = 0; i < json_object_array_length(links); i++) {
		json_object *l = json_object_array_get_idx(links, i), *ai, *v;
		const char *name = str(l, "ifname"), *mac = str(l, "address");
		if (!name || !strcmp(name, "lo"))
			continue;
		if (!strcmp(name, O2V_RT_TAP)) {
			r = o2v_error_set(
			    err, -EBUSY,
			    "the network namespace is taken by another oci2vm VM (one "
			    "VM per namespace)");
			goto out;
		}
		if (n_links++) {
			r = o2v_error_set(
			    err, -EINVAL,
			    "the network namespace has more than one interface ('%s', "
			    "'%s'): oci2vm takes over one",
			    ifname, name);
			goto out;
		}
		snprintf(ifname, IFNAMSIZ, "%s", name);
		snprintf(ret->mac, sizeof(ret->mac), "%s", mac ? mac : "");
		*mtu = json_object_object_get_ex(l, "mtu", &v) ? (unsigned)json_object_get_int(v)
							       : 1500;
		if (!json_object_object_get_ex(l, "addr_info", &ai))
			continue;
		for (size_t k = 0; k < json_object_array_length(ai) && !addr[0]; k++) {
			json_object *a = json_object_array_get_idx(ai, k);
			const char *family = str(a, "family"), *local = str(a, "local");
			if (family && !strcmp(family, "inet") && local &&
			    json_object_object_get_ex(a, "prefixlen", &v))
				snprintf(addr, sizeof(addr), "%s/%d", local,
					 json_object_get_int(v));
		}
	}
	if (!n_links)
		goto out; /* loopback only */
	if (!addr[0] || strlen(ret->mac) != 17) {
		r = o2v_error_set(err, -EINVAL,
				  "interface '%s' of the network namespace has no IPv4 address or "
				  "MAC to take over",
				  ifname);
		goto out;
	}
	if (!(routes = run_json(route_argv, err))) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(routes); i++) {
		const char *g = str(json_object_array_get_idx(routes, i), "gateway");
		if (g && strlen(g) < sizeof(gw)) {
			snprintf(gw, sizeof(gw), "%s", g);
			break;
		}
	}
	snprintf(ret->net_static, sizeof(ret->net_static), "%s %s %u", addr, gw, *mtu);
	r = 1;
out:
	json_object_put(links);
	json_object_put(routes);
	return r;
}

static int open_tap(unsigned mtu, struct o2v_error *err)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	char mtu_s[16];

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), O2V_RT_TAP);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		return o2v_error_sys(err, e, "create the tap device in the network namespace");
	}
	snprintf(mtu_s, sizeof(mtu_s), "%u", mtu);
	const char *up[] = {"ip", "link", "set", O2V_RT_TAP, "mtu", mtu_s, "up", NULL};
	if (run(up, NULL, err) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* Every frame arriving on from leaves by to. */
static int redirect(const char *from, const char *to, struct o2v_error *err)
{
	const char *del[] = {"tc", "qdisc", "del", "dev", from, "ingress", NULL};
	const char *add[] = {"tc", "qdisc", "add", "dev", from, "ingress", NULL};
	const char *filter[] = {"tc",	 "filter",   "add",    "dev",	 from,	   "parent",
				"ffff:", "protocol", "all",    "u32",	 "match",  "u32",
				"0",	 "0",	     "action", "mirred", "egress", "redirect",
				"dev",	 to,	     NULL};
	struct o2v_error ignored;

	run(del, NULL, &ignored); /* a VM that ran in this namespace before */
	if (run(add, NULL, err) < 0 || run(filter, NULL, err) < 0)
		return -EIO;
	return 0;
}

int o2v_rt_net_takeover(struct o2v_rt_net *ret, struct o2v_error *err)
{
	char ifname[IFNAMSIZ] = "";
	unsigned mtu = 1500;
	int r;

	*ret = (struct o2v_rt_net){.tap_fd = -1};
	if ((r = inspect(ifname, ret, &mtu, err)) <= 0)
		return r; /* an error, or loopback only */
	if ((ret->tap_fd = open_tap(mtu, err)) < 0)
		return -EIO;
	if ((r = redirect(ifname, O2V_RT_TAP, err)) < 0 ||
	    (r = redirect(O2V_RT_TAP, ifname, err)) < 0) {
		o2v_closep(&ret->tap_fd);
		return r;
	}
	return 0;
}
