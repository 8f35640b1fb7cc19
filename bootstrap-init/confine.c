/* confine.c - what a root workload cannot undo: the devices it may open and its
 * capabilities.
 *
 * Devices. The container's /dev is a tmpfs with Docker's nodes (mounts.c), but hiding the
 * VM's devices is not enough: CAP_MKNOD (in Docker's default set) makes any node anew. As
 * Docker does on a host, the workload runs in a cgroup whose device program (cgroup v2: an
 * eBPF program of type CGROUP_DEVICE) lets it open only null, zero, full, random, urandom,
 * tty, console, ptmx, the pts, /dev/net/tun and, with a terminal, the console it was given.
 * mknod of anything stays allowed (Docker's "c *:* m, b *:* m"); opening such a node does
 * not. So the root disk, the host channel's ports, hvc*, kmsg and mem are out of reach.
 *
 * Capabilities. The workload's bounding set is the run configuration's (Docker's default 14
 * unless --cap-add/--cap-drop): without CAP_SYS_ADMIN and CAP_BPF it can neither detach the
 * program nor remount /sys/fs/cgroup (read-only, mounts.c) to leave the cgroup; a cgroup
 * namespace of its own makes that cgroup its "/".
 *
 * The program is built here as instructions (no libbpf, no headers: musl-gcc sees no
 * <linux/bpf.h>); the constants are the kernel's stable ABI (include/uapi/linux/bpf.h).
 */
#include "init.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

#include "../common/caps.h"

#ifndef SYS_bpf
#define SYS_bpf 321
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define BPF_PROG_LOAD		    5
#define BPF_PROG_ATTACH		    8
#define BPF_PROG_TYPE_CGROUP_DEVICE 15
#define BPF_CGROUP_DEVICE	    6
#define DEVCG_BLOCK		    1
#define DEVCG_CHAR		    2
#define DEVCG_ACC_MKNOD		    1
#define ANY_MINOR		    (-1)

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_DIR  CGROUP_ROOT "/workload"

struct bpf_insn {
	uint8_t code;
	uint8_t regs; /* dst in the low nibble, src in the high one */
	int16_t off;
	int32_t imm;
};

/* The fields of union bpf_attr the two commands use (the kernel zero-checks the rest). */
struct bpf_load_attr {
	uint32_t prog_type, insn_cnt;
	uint64_t insns, license;
	uint32_t log_level, log_size;
	uint64_t log_buf;
	uint32_t kern_version, prog_flags;
};

struct bpf_attach_attr {
	uint32_t target_fd, attach_bpf_fd, attach_type, attach_flags;
};

struct dev_rule {
	int type;
	unsigned major;
	int minor;
};

/* Docker's default device rules (moby's oci/devices defaults), all rwm. */
static const struct dev_rule allowed[] = {
    {DEVCG_CHAR, 1, 3},		  /* null */
    {DEVCG_CHAR, 1, 5},		  /* zero */
    {DEVCG_CHAR, 1, 7},		  /* full */
    {DEVCG_CHAR, 1, 8},		  /* random */
    {DEVCG_CHAR, 1, 9},		  /* urandom */
    {DEVCG_CHAR, 5, 0},		  /* tty: the controlling terminal, whichever it is */
    {DEVCG_CHAR, 5, 1},		  /* console */
    {DEVCG_CHAR, 5, 2},		  /* ptmx */
    {DEVCG_CHAR, 136, ANY_MINOR}, /* pts/N */
    {DEVCG_CHAR, 10, 200},	  /* net/tun */
};

#define INSN(c, dst, src, o, i)                                                                    \
	((struct bpf_insn){                                                                        \
	    .code = (c), .regs = (uint8_t)((dst) | (src) << 4), .off = (o), .imm = (i)})
#define LDX_W(dst, src, o) INSN(0x61, dst, src, o, 0)
#define MOV_X(dst, src)	   INSN(0xbf, dst, src, 0, 0)
#define MOV_K(dst, k)	   INSN(0xb7, dst, 0, 0, k)
#define AND_K(dst, k)	   INSN(0x57, dst, 0, 0, k)
#define RSH_K(dst, k)	   INSN(0x77, dst, 0, 0, k)
#define JEQ_K(dst, k, o)   INSN(0x15, dst, 0, o, k)
#define JNE_K(dst, k, o)   INSN(0x55, dst, 0, o, k)
#define JA(o)		   INSN(0x05, 0, 0, o, 0)
#define EXIT()		   INSN(0x95, 0, 0, 0, 0)
#define PROG_MAX	   128

/* r1: struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor}; r2 access, r3
 * type, r4 major, r5 minor; returns 1 (allow) or 0. The number of instructions. */
static size_t build_program(struct bpf_insn *p, const struct dev_rule *extra, size_t n_extra)
{
	size_t n = 0, to_allow[ARRAY_SIZE(allowed) + 4 + 1], n_jumps = 0;

	p[n++] = LDX_W(2, 1, 0);
	p[n++] = MOV_X(3, 2);
	p[n++] = AND_K(3, 0xffff);
	p[n++] = RSH_K(2, 16);
	p[n++] = LDX_W(4, 1, 4);
	p[n++] = LDX_W(5, 1, 8);
	to_allow[n_jumps++] = n;
	p[n++] = JEQ_K(2, DEVCG_ACC_MKNOD, 0); /* mknod alone: allowed */
	for (size_t i = 0; i < ARRAY_SIZE(allowed) + n_extra; i++) {
		const struct dev_rule *r =
		    i < ARRAY_SIZE(allowed) ? &allowed[i] : &extra[i - ARRAY_SIZE(allowed)];
		/* A rule's block: a jump to the next block per field, then one to "allow". */
		int16_t len = r->minor == ANY_MINOR ? 3 : 4;
		p[n++] = JNE_K(3, r->type, (int16_t)(len - 1));
		p[n++] = JNE_K(4, (int32_t)r->major, (int16_t)(len - 2));
		if (r->minor != ANY_MINOR)
			p[n++] = JNE_K(5, r->minor, 1);
		to_allow[n_jumps++] = n;
		p[n++] = JA(0);
	}
	p[n++] = MOV_K(0, 0);
	p[n++] = EXIT();
	size_t allow = n;
	p[n++] = MOV_K(0, 1);
	p[n++] = EXIT();
	for (size_t i = 0; i < n_jumps; i++)
		p[to_allow[i]].off = (int16_t)(allow - to_allow[i] - 1);
	return n;
}

static int load_program(const struct dev_rule *extra, size_t n_extra, struct o2v_error *err)
{
	static struct bpf_insn prog[PROG_MAX];
	static char log[4096];
	size_t n = build_program(prog, extra, n_extra);
	struct bpf_load_attr a = {
	    .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
	    .insn_cnt = (uint32_t)n,
	    .insns = (uint64_t)(uintptr_t)prog,
	    .license = (uint64_t)(uintptr_t) "Apache-2.0",
	    .log_level = 1,
	    .log_size = sizeof(log),
	    .log_buf = (uint64_t)(uintptr_t)log,
	};
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));

	if (fd < 0)
		return o2v_error_sys(err, -errno, "load the device rule (%.200s)", log);
	return fd;
}

static int confine_make(struct init_confine *c, bool terminal, struct o2v_error *err)
{
	struct dev_rule extra[1];
	size_t n_extra = 0;
	struct stat st;

	c->procs_fd = -1;
	/* With a terminal the workload reopens its console (/dev/console in the container). */
	if (terminal && stat(O2V_GUEST_CONSOLE, &st) == 0 && S_ISCHR(st.st_mode))
		extra[n_extra++] =
		    (struct dev_rule){DEVCG_CHAR, major(st.st_rdev), (int)minor(st.st_rdev)};
	mkdir(CGROUP_ROOT, 0755);
	if (mount("cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    errno != EBUSY)
		return o2v_error_sys(err, -errno, "mount cgroup2 for the workload");
	if (mkdir(CGROUP_DIR, 0755) < 0 && errno != EEXIST)
		return o2v_error_sys(err, -errno, "create the workload's cgroup");
	_cleanup_close_ int dir = open(CGROUP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int prog = load_program(extra, n_extra, err);
	if (dir < 0)
		return o2v_error_sys(err, -errno, "open the workload's cgroup");
	if (prog < 0)
		return prog;
	struct bpf_attach_attr at = {.target_fd = (uint32_t)dir,
				     .attach_bpf_fd = (uint32_t)prog,
				     .attach_type = BPF_CGROUP_DEVICE};
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &at, sizeof(at)) < 0)
		return o2v_error_sys(err, -errno, "attach the device rule");
	c->procs_fd = open(CGROUP_DIR "/cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (c->procs_fd < 0)
		return o2v_error_sys(err, -errno, "open the workload's cgroup.procs");
	return 0;
}

int init_confine_prepare(struct init_confine *c, bool terminal, struct o2v_error *err)
{
	/* Prepared the same way once already (a snapshot's template, resume.c)? The one
	 * cgroup serves: a VM runs one workload. */
	static struct init_confine prepared = {.procs_fd = -1};
	static bool prepared_terminal;
	int r;

	if (prepared.procs_fd >= 0 && prepared_terminal == terminal) {
		*c = prepared;
		return 0;
	}
	if ((r = confine_make(c, terminal, err)) == 0 && prepared.procs_fd < 0) {
		prepared = *c;
		prepared_terminal = terminal;
	}
	return r;
}

int init_confine_enter(const struct init_confine *c, uint64_t caps, struct o2v_error *err)
{
	if (write(c->procs_fd, "0", 1) != 1)
		return o2v_error_sys(err, -errno, "enter the workload's cgroup");
	if (unshare(CLONE_NEWCGROUP) < 0)
		return o2v_error_sys(err, -errno, "a cgroup namespace for the workload");
	/* Past the kernel's last capability PR_CAPBSET_DROP says EINVAL: that is the end. */
	for (int cap = 0; cap < 64; cap++)
		if (!(caps & O2V_CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return o2v_error_sys(err, -errno, "drop %s",
					     o2v_cap_name(cap) ? o2v_cap_name(cap)
							       : "a capability");
		}
	return 0;
}
