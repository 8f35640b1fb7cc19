/* qemu_net.c - preloaded into QEMU (LD_PRELOAD) for a VM with a network: two fixes to its
 * user network (libslirp) where its sockets are made.
 *
 * 1. The host's loopback is not the guest's (vm/netguard.h): connect(), sendto() and
 *    sendmsg() to it fail as if nothing listened there, unless the launch set
 *    OCI2VM_HOST_LOOPBACK=1 (--host-loopback).
 *
 * 2. The listen backlog. QEMU's user network (libslirp, at least up to 4.7.0 as shipped with Debian 12's QEMU 7.2)
 * listens on every forwarded host port with listen(s, 1). A burst of simultaneous clients
 * (`redis-benchmark -c 50`, a connection pool warming up) overflows that accept queue: the
 * host kernel drops the SYNs it has no room for, or with SYN cookies completes handshakes
 * nobody will ever accept, and those clients hang. A listener that a server accepts from in
 * a loop loses nothing by a deeper queue, so every TCP listen() here gets at least
 * SOMAXCONN (the kernel caps it at net.core.somaxconn). Other sockets keep what QEMU asked.
 *
 * Built without sanitizers: it runs inside QEMU, which is not instrumented.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../vm/netguard.h"

#define RESOLV_CONF	"/etc/resolv.conf"
#define RESOLV_CONF_MAX 65536

static struct o2v_netguard guard;
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *,
			      socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);

static bool in_qemu(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *base;

	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	return !strncmp(base ? base + 1 : exe, "qemu-system-", 12);
}

/* Before QEMU's main() and its seccomp filter: the rule and the resolvers, read once
 * (bounded; an unreadable resolv.conf leaves no exception). */
__attribute__((constructor)) static void guard_init(void)
{
	static char text[RESOLV_CONF_MAX];
	const char *opt_in = getenv(O2V_NETGUARD_ENV);
	ssize_t n = 0;
	int fd = open(RESOLV_CONF, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	text[n > 0 ? n : 0] = '\0';
	o2v_netguard_init(&guard, opt_in && !strcmp(opt_in, "1"), text);
	real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	real_sendto = (ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
				  socklen_t))dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	/* Tell the launch the rule is in place in QEMU itself (netguard.h): not in a wrapper
	 * script's shell, which might exec QEMU without us. */
	const char *ack = getenv(O2V_NETGUARD_ACK_ENV);
	if (ack && real_connect && real_sendto && real_sendmsg && in_qemu()) {
		int afd = atoi(ack);
		if (afd > 2 && write(afd, "1", 1) == 1)
			close(afd);
		unsetenv(O2V_NETGUARD_ACK_ENV);
	}
}

static bool datagram(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type != SOCK_STREAM;
}

/* The socket's type is asked only for what the rule would refuse a stream (a syscall less
 * per datagram on the common path). */
static bool allowed(int fd, const struct sockaddr *sa, socklen_t len)
{
	return o2v_netguard_permits(&guard, sa, len, false) ||
	       o2v_netguard_permits(&guard, sa, len, datagram(fd));
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!real_connect) {
		errno = ENOSYS;
		return -1;
	}
	if (!allowed(fd, sa, len)) {
		/* Not ECONNREFUSED: libslirp (4.7.0) answers that with a reset built in the
		 * guest's own SYN buffer, which it then frees while the reset may still wait
		 * for the guest's link address (an IPv6 address still tentative, a spoofed
		 * source): QEMU crashed on it. This errno makes it send an ICMP unreachable
		 * from a fresh buffer; the guest's connect() fails at once either way. */
		errno = ENETUNREACH;
		return -1;
	}
	return real_connect(fd, sa, len);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
	       socklen_t len)
{
	if (!real_sendto) {
		errno = ENOSYS;
		return -1;
	}
	if (sa && !allowed(fd, sa, len)) {
		errno = ENETUNREACH;
		return -1;
	}
	return real_sendto(fd, buf, n, flags, sa, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!real_sendmsg) {
		errno = ENOSYS;
		return -1;
	}
	if (msg && msg->msg_name && !allowed(fd, msg->msg_name, msg->msg_namelen)) {
		errno = ENETUNREACH;
		return -1;
	}
	return real_sendmsg(fd, msg, flags);
}

int listen(int fd, int backlog)
{
	static int (*real_listen)(int, int);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type;
	socklen_t tlen = sizeof(type);

	if (!real_listen)
		real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
	if (!real_listen) {
		errno = ENOSYS;
		return -1;
	}
	if (backlog < SOMAXCONN && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM)
		backlog = SOMAXCONN;
	return real_listen(fd, backlog);
}
