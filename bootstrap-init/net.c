/* net.c - the user-mode network's static addresses, by ioctl.
 *
 * QEMU's user network (slirp) always hands out 10.0.2.15 with gateway
 * 10.0.2.2 and DNS 10.0.2.3, so a DHCP round trip would only cost boot time. A VM that
 * took over an engine's network namespace (oci2vm-runtime) is told that interface's
 * address, gateway and MTU instead (net_static).
 * Five ioctls on a datagram socket do what `ip` would do over netlink.
 */
#include "init.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define GUEST_ADDR "10.0.2.15"
#define GUEST_MASK "255.255.255.0"
#define GATEWAY	   "10.0.2.2"

static void set_addr(struct sockaddr *sa, const char *addr)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &in->sin_addr);
}

static int if_up(int s, const char *name, struct o2v_error *err)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return o2v_error_sys(err, -errno, "bring up '%s'", name);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return o2v_error_sys(err, -errno, "bring up '%s'", name);
	return 0;
}

static int if_addr(int s, const char *name, unsigned long req, const char *addr,
		   struct o2v_error *err)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	set_addr(&ifr.ifr_addr, addr);
	if (ioctl(s, req, &ifr) < 0)
		return o2v_error_sys(err, -errno, "set address %s on '%s'", addr, name);
	return 0;
}

/* "ADDR/PREFIX GATEWAY|- MTU" (the run configuration's net_static) into its parts. */
static int parse_static(const char *spec, char addr[16], char mask[16], char gw[16], unsigned *mtu,
			struct o2v_error *err)
{
	unsigned prefix;
	struct in_addr a, m;

	if (sscanf(spec, "%15[0-9.]/%u %15[0-9.-] %u", addr, &prefix, gw, mtu) != 4 ||
	    prefix > 32 || *mtu < 68 || *mtu > 65535 || inet_pton(AF_INET, addr, &a) != 1 ||
	    (strcmp(gw, "-") && inet_pton(AF_INET, gw, &a) != 1))
		return o2v_error_set(err, -EINVAL,
				     "net_static '%s': expected ADDR/PREFIX GATEWAY MTU", spec);
	m.s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
	inet_ntop(AF_INET, &m, mask, 16);
	return 0;
}

int init_net_setup(bool eth0, const char *net_static, struct o2v_error *err)
{
	char addr[16] = GUEST_ADDR, mask[16] = GUEST_MASK, gw[16] = GATEWAY;
	unsigned mtu = 0;
	static int done = -1; /* configured already (a snapshot's template), with eth0 or not */
	_cleanup_close_ int s = -1;
	struct rtentry rt = {0};
	int r;

	if (done == eth0 && !net_static)
		return 0;
	if (net_static && parse_static(net_static, addr, mask, gw, &mtu, err) < 0)
		return -EINVAL;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return o2v_error_sys(err, -errno, "configure network: socket");
	/* The kernel gives lo 127.0.0.1/8 and ::1 when it comes up; Docker's --network none
	 * keeps lo too. */
	if ((r = if_up(s, "lo", err)) < 0 || !eth0) {
		done = r < 0 ? -1 : 0;
		return r;
	}
	if (mtu) {
		struct ifreq ifr = {.ifr_mtu = (int)mtu};
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			return o2v_error_sys(err, -errno, "set eth0's MTU to %u", mtu);
	}
	if ((r = if_addr(s, "eth0", SIOCSIFADDR, addr, err)) < 0 ||
	    (r = if_addr(s, "eth0", SIOCSIFNETMASK, mask, err)) < 0 ||
	    (r = if_up(s, "eth0", err)) < 0)
		return r;
	if (strcmp(gw, "-")) {
		set_addr(&rt.rt_dst, "0.0.0.0");
		set_addr(&rt.rt_genmask, "0.0.0.0");
		set_addr(&rt.rt_gateway, gw);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			return o2v_error_sys(err, -errno, "add default route via %s", gw);
	}
	done = 1;
	return 0;
}
