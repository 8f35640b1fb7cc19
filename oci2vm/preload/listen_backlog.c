/* listen_backlog.c - preloaded into QEMU (LD_PRELOAD) when a VM publishes ports.
 *
 * QEMU's user network (libslirp, at least up to 4.7.0 as shipped with Debian 12's QEMU 7.2)
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
#include <sys/socket.h>

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
