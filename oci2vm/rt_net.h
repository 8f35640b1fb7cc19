/* rt_net.h - a container's VM takes over its network namespace's interface (runtime.c).
 *
 * An engine (podman with CNI, containerd with CNI, a user's `--network ns:PATH`) hands the
 * runtime a network namespace holding one interface (a veth's end, usually eth0) with an
 * address, a default route and an MTU. The VM takes it over as Kata does: a tap device in
 * that namespace, and tc redirections (ingress u32 match-all + mirred egress) from the
 * interface to the tap and back, so every frame the namespace receives goes to the VM and
 * every frame the VM sends leaves by the interface. The guest's eth0 gets the interface's
 * MAC, address, gateway and MTU: the engine's port publishing, DNS and container-to-
 * container traffic work unchanged. Only IPv4 is carried over (IPv6 addresses are not).
 * A namespace with no interface but lo: loopback only. One VM per namespace.
 */
#ifndef O2V_RT_NET_H
#define O2V_RT_NET_H

#include "../common/error.h"

#define O2V_RT_TAP "o2v0" /* the tap's name in the namespace: present means taken */

struct o2v_rt_net {
	int tap_fd;	     /* -1: no interface to take over (loopback only) */
	char mac[18];	     /* the interface's, for the guest's eth0 */
	char net_static[96]; /* "ADDR/PREFIX GATEWAY|- MTU" (common/runconfig.c) */
};

/* Take over the interface of the caller's network namespace. 0 and ret filled (tap_fd -1:
 * loopback only), or an error naming what is wrong (more than one interface, taken
 * already, no address). */
int o2v_rt_net_takeover(struct o2v_rt_net *ret, struct o2v_error *err);

#endif
