/* netguard.h - the rule that keeps a guest off the host's loopback through QEMU's user
 * network.
 *
 * QEMU's user network (libslirp) turns each connection and datagram of the guest into a
 * socket of QEMU's on the host, and maps the gateway (10.0.2.2) to the host's loopback. A
 * root guest can also address 127.0.0.1 or 0.0.0.0 on its own wire (route_localnet) and
 * libslirp connects there all the same. The rule is applied where those sockets are made,
 * in QEMU's process on the host, by a library preloaded into it
 * (oci2vm/preload/qemu_net.c): no guest can lift it. passt (Debian's 2023.03) was measured
 * to follow the same raw packets to the host's loopback even with --no-map-gw.
 *
 * Refused: destinations on the host's loopback or unspecified (127.0.0.0/8, 0.0.0.0/8, ::1,
 * ::, and their IPv4-mapped forms). Kept: datagrams to port 53 of a nameserver listed in the
 * host's resolv.conf, which is how QEMU's DNS forwarder (10.0.2.3) reaches a resolver
 * listening on loopback (systemd-resolved's 127.0.0.53, dnsmasq). Pure: no I/O.
 */
#ifndef O2V_VM_NETGUARD_H
#define O2V_VM_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* QEMU's environment: "1" lets the guest reach the host's loopback (the opt-in); the launch
 * always sets it, so an inherited value never decides. Anything else: the rule holds. */
#define O2V_NETGUARD_ENV "OCI2VM_HOST_LOOPBACK"

/* QEMU's environment: the descriptor on which the library, once loaded into a process whose
 * executable is named qemu-system-*, writes "1" and which it then closes. The launch waits
 * for it: a QEMU that ignores LD_PRELOAD (a static build) or a wrapper that drops it never
 * writes it, and does not get to start the guest. */
#define O2V_NETGUARD_ACK_ENV "OCI2VM_NETGUARD_FD"

#define O2V_NETGUARD_DNS_MAX 8

struct o2v_netguard {
	bool allow_loopback;
	size_t n_dns;
	struct sockaddr_storage dns[O2V_NETGUARD_DNS_MAX]; /* port 0: compared by address */
};

/* resolv_conf: the text of /etc/resolv.conf (NULL: none); its loopback nameservers are the
 * exceptions. */
void o2v_netguard_init(struct o2v_netguard *g, bool allow_loopback, const char *resolv_conf);

/* May QEMU connect or send to sa? datagram: a UDP (or ICMP) socket. */
bool o2v_netguard_permits(const struct o2v_netguard *g, const struct sockaddr *sa, socklen_t len,
			  bool datagram);

#endif
