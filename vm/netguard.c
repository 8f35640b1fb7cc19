/* netguard.c - the host-loopback rule of QEMU's user network; see netguard.h.
 *
 * Compiled twice: into the VM library (tests) and into the preload library QEMU runs with,
 * so it uses nothing but libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netguard.h"

/* 127.0.0.0/8 or 0.0.0.0/8: the host itself (Linux connects 0.0.0.0 to the loopback). */
static bool local4(const struct in_addr *a)
{
	uint8_t first = (uint8_t)(ntohl(a->s_addr) >> 24);

	return first == 127 || first == 0;
}

static bool local6(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a))
		return true;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		struct in_addr v4;
		memcpy(&v4, &a->s6_addr[12], sizeof(v4));
		return local4(&v4);
	}
	return false;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

static void add_dns(struct o2v_netguard *g, const char *word)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	if (g->n_dns >= O2V_NETGUARD_DNS_MAX)
		return;
	if (inet_pton(AF_INET, word, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, word, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		return;
	g->dns[g->n_dns++] = ss;
}

void o2v_netguard_init(struct o2v_netguard *g, bool allow_loopback, const char *resolv_conf)
{
	memset(g, 0, sizeof(*g));
	g->allow_loopback = allow_loopback;
	for (const char *p = resolv_conf; p && *p;) {
		size_t n = strcspn(p, "\n");
		char line[256], word[64];

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			/* "nameserver ADDR", ADDR without a %zone (QEMU would not use it) */
			if (sscanf(line, " nameserver %63[0-9a-fA-F.:]", word) == 1)
				add_dns(g, word);
		}
		p += n + (p[n] == '\n');
	}
}

bool o2v_netguard_permits(const struct o2v_netguard *g, const struct sockaddr *sa, socklen_t len,
			  bool datagram)
{
	in_port_t port;
	bool local;

	if (g->allow_loopback || !sa)
		return true;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		local = local4(&in->sin_addr);
		port = in->sin_port;
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		local = local6(&in6->sin6_addr);
		port = in6->sin6_port;
	} else {
		/* A short address of an IP family is refused; other families are not ours. */
		return sa->sa_family != AF_INET && sa->sa_family != AF_INET6;
	}
	if (!local)
		return true;
	if (datagram && port == htons(53))
		for (size_t i = 0; i < g->n_dns; i++)
			if (same_addr(&g->dns[i], sa))
				return true;
	return false;
}
