/* net_host.c - where the host is from inside a VM (Docker's "host-gateway"); see host.h.
 *
 * QEMU's user network reaches the host's loopback at its gateway, which the network guard
 * closes (netguard.h). Any other address of the host works: QEMU connects to it from the
 * host, so the packets never leave it, and services bound to 0.0.0.0 or to that address
 * answer - what Docker's host-gateway (the bridge's address on the host) gives.
 */
#include "../common/o2v.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>

#include "host.h"

/* The interface of the IPv4 default route (/proc/net/route); "" if there is none. */
static void default_route_if(char name[IF_NAMESIZE + 1])
{
	_cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
	char line[256];

	name[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char ifname[IF_NAMESIZE + 1];
		unsigned long dest, gw, flags;

		if (sscanf(line, "%16s %lx %lx %lx", ifname, &dest, &gw, &flags) == 4 &&
		    dest == 0 && (flags & RTF_UP)) {
			memcpy(name, ifname, sizeof(ifname));
			return;
		}
	}
}

/* An IPv4 address of the host that is not loopback: the default route's interface's
 * first, else the first of any interface that is up. */
static bool host_address4(char *buf, size_t len)
{
	char route_if[IF_NAMESIZE + 1];
	struct ifaddrs *ifa;
	const struct sockaddr_in *best = NULL;

	default_route_if(route_if);
	if (getifaddrs(&ifa) < 0)
		return false;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)i->ifa_addr;
		if (!in || in->sin_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) || (ntohl(in->sin_addr.s_addr) >> 24) == 127)
			continue;
		if (!best || !strcmp(i->ifa_name, route_if))
			best = in;
		if (!strcmp(i->ifa_name, route_if))
			break;
	}
	bool ok = best && inet_ntop(AF_INET, &best->sin_addr, buf, (socklen_t)len);
	freeifaddrs(ifa);
	return ok;
}

int o2v_net_host_gateway(bool net, bool host_loopback, char *buf, size_t len, struct o2v_error *err)
{
	if (!net)
		return o2v_error_set(err, -ENETUNREACH,
				     "host-gateway: the VM has no network (--network none)");
	if (host_address4(buf, len))
		return 0;
	if (host_loopback) {
		snprintf(buf, len, "%s", O2V_NET_GATEWAY);
		return 0;
	}
	return o2v_error_set(err, -EADDRNOTAVAIL,
			     "host-gateway: this host has no IPv4 address but loopback; add "
			     "--host-loopback to reach it at " O2V_NET_GATEWAY);
}
