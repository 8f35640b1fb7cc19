/* The /init of bench/init-floor: how much of init's path to the workload is TCG translating
 * kernel code for the first time. Each step oci2vm's init takes before the exec is done twice
 * in one boot, timed on CLOCK_BOOTTIME: the first time pays for translating the kernel code
 * the step runs, the second only for executing it (QEMU keeps translated code for the life of
 * the VM). The disk is a copy of the probe image's ext4 root (/dev/vda, written freely);
 * eth0 is QEMU's user network. Between the rounds (untimed) a step is undone (unmounted,
 * link down); the second exec finds the probe in the page cache. Prints one
 * "floor STEP FIRST_MS SECOND_MS" line per step, then reboots. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROOT "/disk/app_root"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void step_mount_root(void)
{
	if (mount("/dev/vda", "/disk", "ext4", MS_NOATIME,
		  "noinit_itable,no_prefetch_block_bitmaps,noload") < 0)
		perror("floor: mount /dev/vda");
}

/* The container's pseudo file systems (bootstrap-init/mounts.c), unmounted first on the
 * second round so both rounds do the same work. */
static const char *const pseudo_fs[][2] = {
    {"proc", "proc"},  {"sysfs", "sys"}, {"cgroup2", "cg"}, {"devtmpfs", "dev"},
    {"devpts", "pts"}, {"tmpfs", "shm"}, {"mqueue", "mq"},
};

static void step_pseudo_mounts(void)
{
	char dir[64];

	for (size_t i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++) {
		snprintf(dir, sizeof(dir), "/m/%s", pseudo_fs[i][1]);
		mkdir(dir, 0755);
		if (mount(pseudo_fs[i][0], dir, pseudo_fs[i][0], MS_NOSUID, NULL) < 0)
			perror(dir);
	}
}

static void undo_pseudo_mounts(void)
{
	char dir[64];

	for (size_t i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++) {
		snprintf(dir, sizeof(dir), "/m/%s", pseudo_fs[i][1]);
		umount(dir);
	}
}

static void if_flags(int s, const char *name, int up)
{
	struct ifreq r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &r) < 0)
		perror(name);
	r.ifr_flags = up ? (short)(r.ifr_flags | IFF_UP) : (short)(r.ifr_flags & ~IFF_UP);
	if (ioctl(s, SIOCSIFFLAGS, &r) < 0)
		perror(name);
}

static void link_updown(const char *name, int up)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if_flags(s, name, up);
	close(s);
}

static void step_lo(void)
{
	link_updown("lo", 1);
}

static void undo_lo(void)
{
	link_updown("lo", 0);
}

static void undo_eth0(void)
{
	link_updown("eth0", 0);
}

static void step_eth0(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "eth0");
	struct sockaddr_in *in = (struct sockaddr_in *)&r.ifr_addr;
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(0x0a00020f); /* 10.0.2.15 */
	if (ioctl(s, SIOCSIFADDR, &r) < 0)
		perror("eth0 address");
	if_flags(s, "eth0", 1);
	close(s);
}

/* /etc files: written in RAM and bind-mounted over the image's (bootstrap-init/etcfiles.c). */
static void step_etc_bind(void)
{
	int fd = open("/gen-hosts", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (write(fd, "127.0.0.1\tlocalhost\n", 20) < 0)
			perror("floor: write");
		close(fd);
	}
	if (mount("/gen-hosts", ROOT "/etc/hosts", NULL, MS_BIND, NULL) < 0)
		perror("floor: bind /etc/hosts");
}

static void undo_etc_bind(void)
{
	umount(ROOT "/etc/hosts");
}

static void undo_mount_root(void)
{
	umount("/disk");
}

static void undo_nothing(void)
{
}

/* Start the probe in the container root and wait for it. */
static void step_exec(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		if (chroot(ROOT) < 0 || chdir("/") < 0)
			_exit(125);
		execl("/probe", "/probe", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void), (*undo)(void);
	} steps[] = {
	    {"ext4-root-mount", step_mount_root, undo_mount_root},
	    {"pseudo-mounts", step_pseudo_mounts, undo_pseudo_mounts},
	    {"lo-up", step_lo, undo_lo},
	    {"eth0-up", step_eth0, undo_eth0},
	    {"etc-bind", step_etc_bind, undo_etc_bind},
	    {"spawn-exec", step_exec, undo_nothing},
	};
	double sum[2] = {0, 0};

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mkdir("/disk", 0755);
	mkdir("/m", 0755);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		double t[4];
		t[0] = now_ms();
		steps[i].fn();
		t[1] = now_ms();
		steps[i].undo();
		t[2] = now_ms();
		steps[i].fn();
		t[3] = now_ms();
		/* The disk stays mounted for the later steps: the second mount was the last. */
		printf("floor %s %.2f %.2f\n", steps[i].name, t[1] - t[0], t[3] - t[2]);
		sum[0] += t[1] - t[0];
		sum[1] += t[3] - t[2];
	}
	printf("floor total %.2f %.2f\n", sum[0], sum[1]);
	fflush(stdout);
	reboot(RB_AUTOBOOT);
	return 0;
}
