/* test_netguard.c - the host-loopback rule QEMU's network runs under (vm/netguard.c). */
#include "../../common/o2v.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../vm/netguard.h"
#include "tap.h"

static bool permits4(const struct o2v_netguard *g, const char *addr, int port, bool dgram)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	inet_pton(AF_INET, addr, &in.sin_addr);
	return o2v_netguard_permits(g, (struct sockaddr *)&in, sizeof(in), dgram);
}

static bool permits6(const struct o2v_netguard *g, const char *addr, int port, bool dgram)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};

	inet_pton(AF_INET6, addr, &in6.sin6_addr);
	return o2v_netguard_permits(g, (struct sockaddr *)&in6, sizeof(in6), dgram);
}

int main(void)
{
	struct o2v_netguard g, open_gw, none;
	static const char resolv[] = "# systemd-resolved\nsearch example\n"
				     "nameserver 127.0.0.53\n  nameserver   ::1\n"
				     "nameserver fe80::1%eth0\nnameserver bogus\noptions edns0\n";

	o2v_netguard_init(&g, false, resolv);
	TAP_IS_INT((int)g.n_dns, 3, "resolv.conf: three nameservers kept, a bogus one skipped");
	TAP_OK(!permits4(&g, "127.0.0.1", 8080, false), "127.0.0.1: refused");
	TAP_OK(!permits4(&g, "127.255.0.9", 22, false), "127.0.0.0/8: refused");
	TAP_OK(!permits4(&g, "0.0.0.0", 6379, false), "0.0.0.0 (Linux: the loopback): refused");
	TAP_OK(!permits4(&g, "0.1.2.3", 6379, false), "0.0.0.0/8: refused");
	TAP_OK(!permits6(&g, "::1", 80, false), "::1: refused");
	TAP_OK(!permits6(&g, "::", 80, false), ":: refused");
	TAP_OK(!permits6(&g, "::ffff:127.0.0.1", 80, false), "IPv4-mapped loopback: refused");
	TAP_OK(!permits6(&g, "::ffff:0.0.0.0", 80, false), "IPv4-mapped 0.0.0.0: refused");
	TAP_OK(permits4(&g, "10.213.0.1", 80, false), "another address: allowed");
	TAP_OK(permits4(&g, "192.0.2.2", 53, true), "DNS elsewhere: allowed");
	TAP_OK(permits6(&g, "2001:db8::1", 443, false), "IPv6 elsewhere: allowed");
	TAP_OK(permits6(&g, "::ffff:10.0.0.1", 443, false), "IPv4-mapped elsewhere: allowed");
	TAP_OK(permits4(&g, "127.0.0.53", 53, true), "the loopback resolver: UDP 53 allowed");
	TAP_OK(permits6(&g, "::1", 53, true), "... an IPv6 one too");
	TAP_OK(!permits4(&g, "127.0.0.53", 53, false), "... but not over TCP");
	TAP_OK(!permits4(&g, "127.0.0.53", 5353, true), "... nor another port");
	TAP_OK(!permits4(&g, "127.0.0.1", 53, true), "... nor another loopback address");

	struct sockaddr_in short_in = {.sin_family = AF_INET};
	TAP_OK(!o2v_netguard_permits(&g, (struct sockaddr *)&short_in, 4, false),
	       "a short IPv4 address: refused");
	struct sockaddr unix_sa = {.sa_family = AF_UNIX};
	TAP_OK(o2v_netguard_permits(&g, &unix_sa, sizeof(unix_sa), false),
	       "another family: not the rule's");
	TAP_OK(o2v_netguard_permits(&g, NULL, 0, true), "no address (a connected socket)");

	o2v_netguard_init(&open_gw, true, NULL);
	TAP_OK(permits4(&open_gw, "127.0.0.1", 8080, false), "opted in: the loopback allowed");
	o2v_netguard_init(&none, false, NULL);
	TAP_OK(!permits4(&none, "127.0.0.53", 53, true), "no resolv.conf: no exception");
	return tap_done();
}
