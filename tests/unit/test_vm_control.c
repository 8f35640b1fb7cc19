/* test_vm_control.c - the host's end of the control port (vm/control.c) against a hostile
 * peer: one that keeps writing after our line and never closes must not hold the sender
 * (QEMU passes on whatever the guest writes to its end of the port). */
#include "../../common/o2v.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "../../vm/supervise.h"
#include "tap.h"

struct peer {
	int listen_fd;
	char got[64];
	volatile bool stop;
};

/* Accept one client, read its line, then trickle bytes at it until told to stop. */
static void *flooding_peer(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, p->got, sizeof(p->got) - 1);
	if (n > 0)
		p->got[n] = '\0';
	while (!p->stop && write(fd, "x", 1) == 1)
		usleep(50000);
	close(fd);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	char dir[] = "/tmp/test_vm_control.XXXXXX";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct peer p = {0};
	struct o2v_error err = {0};
	pthread_t t;

	if (!mkdtemp(dir))
		return 1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl.sock", dir);
	p.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p.listen_fd < 0 || bind(p.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(p.listen_fd, 1) < 0 || pthread_create(&t, NULL, flooding_peer, &p) != 0)
		return 1;
	double t0 = now_s();
	int r = o2v_vm_control(sa.sun_path, &(struct o2v_ctl_msg){.kind = O2V_CTL_STOP}, &err);
	double took = now_s() - t0;
	TAP_IS_INT(r, 0, "control: the line is sent (%s)", err.msg);
	TAP_OK(took < 10, "control: a peer that keeps writing does not hold the sender (%.1f s)",
	       took);
	p.stop = true;
	pthread_join(t, NULL);
	TAP_IS_STR(p.got, "stop\n", "control: the peer received exactly the formatted line");
	close(p.listen_fd);
	unlink(sa.sun_path);
	rmdir(dir);

	/* Nobody listening: an error naming the message, not a hang. */
	r = o2v_vm_control("/nonexistent/ctl.sock", &(struct o2v_ctl_msg){.kind = O2V_CTL_STOP},
			   &err);
	TAP_OK(r < 0 && strstr(err.msg, "stop"), "control: no VM is an error (%s)", err.msg);
	return tap_done();
}
