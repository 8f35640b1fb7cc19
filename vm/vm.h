/* vm.h - the VM library: launch one microVM, supervise it, and learn how it ended.
 *
 * One call, o2v_vm_launch(), turns resources (kernel, initrd, disk, memory, CPUs, ports,
 * volumes), a state directory and the caller's stdio into a running QEMU microVM that it
 * supervises to its end. `run`, `boot`, and the runtime and `exec` to come all launch
 * through it; nothing else in the tree starts QEMU. The library never prints: errors come
 * back in struct o2v_error, the workload's output goes to the descriptors it is given.
 *
 * Who owns what: every pointer in struct o2v_launch is borrowed for the call; the state
 * directory must exist and belongs to the caller (the library creates its sockets, status
 * file and log in it, see vm/layout.h, and leaves them for the caller to remove).
 *
 * The host <-> guest messages are common/vmproto.h; the rules both sides keep are
 * docs/vm-contract.md.
 */
#ifndef O2V_VM_H
#define O2V_VM_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../common/vmproto.h"

/* The platform of the images our x86-64 kernel runs. */
#define O2V_VM_PLATFORM "linux/amd64"
/* The guest's side of QEMU's user network (init configures it statically, no DHCP). */
#define O2V_NET_GUEST_ADDR "10.0.2.15"
#define O2V_NET_GATEWAY	   "10.0.2.2" /* QEMU maps it to the host's loopback (host_loopback) */
#define O2V_NET_DNS	   "10.0.2.3" /* QEMU forwards it to the host's resolvers */

/* Limits every command applies (oci2vm/values.c parses against them). */
#define O2V_MEMORY_MIN_MIB     64
#define O2V_MEMORY_DEFAULT_MIB 512
#define O2V_MEMORY_MAX_MIB     (1024u * 1024) /* 1 TiB */
#define O2V_CPUS_MAX	       64
#define O2V_STOP_TIMEOUT_MAX   3600 /* seconds */

enum o2v_accel { O2V_ACCEL_AUTO, O2V_ACCEL_KVM, O2V_ACCEL_TCG };

/* out_fd / err_fd of a launch writing into its log instead of a descriptor. */
#define O2V_OUT_LOG (-2)
struct o2v_logfile;

/* A forwarded host port (QEMU user network hostfwd). */
struct o2v_port {
	char bind[64]; /* host address to listen on; default 127.0.0.1 */
	uint16_t host;
	uint16_t guest;
	bool udp;
};

/* How the guest's ownership and modes land on the host (QEMU's 9p security models). */
enum o2v_9p_model {
	/* Default: the guest's uid, gid, mode and device nodes are kept in user.virtfs.*
	 * xattrs; on the host every file the guest makes is a plain file or directory owned
	 * by whoever runs QEMU (0600/0700). No setuid file, foreign owner or device node. */
	O2V_9P_AUTO, /* mapped-xattr, or mapped-file where the directory takes no user xattrs */
	O2V_9P_MAPPED_XATTR,
	O2V_9P_MAPPED_FILE, /* the same kept in .virtfs_metadata files (tmpfs before 6.6) */
	O2V_9P_PASSTHROUGH, /* real ownership, as runc gives (an engine's runtime wants it) */
};

/* A shared host directory; volume i has the 9p tag o2v_proto_volume_tag(i). */
struct o2v_vm_volume {
	const char *host; /* directory exported over 9p */
	bool readonly;
	enum o2v_9p_model model;
	/* virtio-fs instead of 9p: the vhost-user socket a virtiofsd serves host on (one of
	 * the launch's helpers, which waits for the socket). The guest's RAM is then a shared
	 * memfd, as vhost-user needs; with a snapshot's private RAM file it is an error. */
	const char *vhost_user;
};

/* A process whose lifetime the launch owns (virtiofsd, passt): started before QEMU, in the
 * same network namespace, and ended (SIGTERM, then SIGKILL) after QEMU has exited. */
struct o2v_vm_helper {
	char *const *argv;	/* argv[0] looked up in PATH */
	const char *ready_path; /* wait until this path exists before starting QEMU; NULL: none */
};

/* What the VM is made of. Strings are borrowed; NULL means "absent". */
struct o2v_vm_resources {
	const char *kernel;	 /* uncompressed PVH vmlinux (bzImage also boots, slower) */
	const char *initrd;	 /* one cpio(.gz) file */
	const char *disk;	 /* root disk image → /dev/vda; NULL: none */
	const char *disk_format; /* "raw" (NULL) or "qcow2" */
	bool disk_snapshot; /* guest writes go to a throw-away overlay; the file never changes */
	const char *append; /* extra kernel arguments, appended last */
	uint64_t memory_mib;
	unsigned cpus;
	enum o2v_accel accel; /* AUTO is resolved by the launch */
	bool verbose;	      /* kernel messages on the console, early ones on the serial port */
	bool net;	      /* virtio-net with user-mode networking (implied by ports) */
	/* The guest may reach services on the host's loopback (at O2V_NET_GATEWAY, as QEMU's
	 * user network maps it). Off: the launch's net_guard refuses it (vm/netguard.h). */
	bool host_loopback;
	const struct o2v_port *ports;
	size_t n_ports;
	const struct o2v_vm_volume *volumes;
	size_t n_volumes;
	/* The workload's stdout and stderr on ports of their own (our init without a
	 * terminal); false: the console carries everything. */
	bool stdio_ports;
	/* A port for `oci2vm exec` (common/muxproto.h), multiplexed by the supervisor on the
	 * state directory's exec.sock. */
	bool exec_port;
	const char *incoming;	/* QEMU -incoming URI (e.g. "fd:N" with N in pass_fds): resume a
				 * saved VM instead of booting the kernel; NULL: boot */
	char *const *qemu_args; /* extra QEMU arguments, after ours (for pass_fds); NULL: none */
};

struct o2v_launch {
	struct o2v_vm_resources vm;
	const char *qemu; /* binary; NULL: qemu-system-x86_64 from PATH */

	/* Where and how QEMU runs. */
	const char *state_dir;	  /* existing directory for sockets, status and QEMU's log */
	/* The library QEMU runs with (LD_PRELOAD, first) that keeps its user network off the
	 * host's loopback (vm/netguard.h); a VM with a network and without vm.host_loopback
	 * does not start without it. NULL: none. */
	const char *net_guard;
	const char *netns;	  /* network namespace (a path such as /run/netns/X) QEMU and
				   * the helpers enter; NULL: ours */
	const int *pass_fds;	  /* kept open in QEMU under the same numbers (a tap device, a */
	size_t n_pass_fds;	  /* console socket, a snapshot) for vm.qemu_args to refer to */
	const struct o2v_vm_helper *helpers;
	size_t n_helpers;

	/* Pre-booted VMs. runconfig (NUL-terminated): vm.initrd holds an init but no run
	 * configuration, so init reports `ready` and waits (bootstrap-init/resume.c); this is
	 * sent to it over the control port with fresh entropy and the time. With snapshot_dir
	 * too, the VM is saved at that point into snapshot_dir the first time, and later
	 * launches of the same shape restore it instead of booting (vm/snapshot.h);
	 * snapshot_inputs (NULL-terminated) name the files vm.initrd was made from. */
	const char *runconfig;
	const char *snapshot_dir;
	char *const *snapshot_inputs;

	/* The caller's side. */
	/* A detached VM's capped log (logfile.h): out_fd and err_fd O2V_OUT_LOG write there. */
	struct o2v_logfile *log;
	int in_fd;		/* forwarded to the console; -1: none */
	int out_fd;		/* the workload's stdout (stdout port, else the console) */
	int err_fd;		/* its stderr, and the console's messages with stdio ports */
	bool tty;		/* in_fd is our terminal: raw mode, window size updates */
	bool stdin_after_start; /* forward in_fd only once init reported `started` (our init
				 * does; an arbitrary /init booted by `boot` does not) */
	bool stdin_eof;		/* when in_fd ends, send `eof N` (our init without a terminal) */
	unsigned stop_grace;	/* seconds the guest gets after `stop` before QEMU is killed */
	void (*started)(pid_t qemu_pid, void *userdata); /* QEMU is up; may be NULL */
	void (*running)(void *userdata);		 /* init reported `started`; may be NULL */
	/* init reported `held`: set up, waiting for `start` (a run configuration with hold;
	 * o2v_vm_send() an O2V_CTL_START to run the workload); may be NULL. */
	void (*held)(void *userdata);
	/* Something the user should know that does not stop the VM (a snapshot that could
	 * not be used or saved): one sentence, sanitized; may be NULL. */
	void (*warn)(const char *message, void *userdata);
	void *userdata;
};

/* o2v_launch with the defaults: no devices, 512 MiB, 1 CPU, AUTO, no stdio (-1). */
void o2v_launch_init(struct o2v_launch *l);

#define O2V_VM_MESSAGE_MAX 512

struct o2v_vm_exit {
	int code;      /* the workload's status (0-255); when nothing was reported 128+N if QEMU
			* was killed by signal N (`oci2vm kill`, a second Ctrl-C, the OOM killer:
			* Docker's 137 for a killed container), else 125 */
	bool reported; /* the guest's init reported its exit status */
	int signal;    /* QEMU was killed by this signal (0: it exited) */
	char message[O2V_VM_MESSAGE_MAX]; /* init's error, or why QEMU ended early (sanitized) */
};

/* Launch the VM and supervise it to its end. Returns 0 when the VM ran and ended (see
 * ret->code), negative when it could not be started (QEMU missing, refused the options, a
 * helper failed...). On every return QEMU and the helpers have exited and been reaped;
 * QEMU runs with PR_SET_PDEATHSIG, so killing the caller never leaves one behind. */
int o2v_vm_launch(const struct o2v_launch *l, struct o2v_vm_exit *ret, struct o2v_error *err);

/* `oci2vm exec`: run req (common/muxproto.h) in the running VM whose state directory is
 * state_dir, with io's descriptors as its stdio (-1: none), until it ends; with tty the
 * caller's terminal (in_fd) is raw meanwhile and follows its size; SIGINT, SIGTERM and
 * SIGHUP are passed to the process. detach: return once it runs. 0 with ret->code Docker's
 * status (0-255, 128+N); when it never ran (not found: 127, not executable: 126, a bad user
 * or directory: 125) ret->message says why, sanitized. Negative when nothing could be asked
 * (no exec socket) or the VM stopped first (-ECONNRESET). */
struct o2v_mux_exec;
struct o2v_exec_io {
	int in_fd, out_fd, err_fd;
	bool detach;
	int timeout_ms; /* > 0: give up (-ETIMEDOUT; the process is killed) after this long */
};
struct o2v_exec_result {
	int code;
	char message[O2V_VM_MESSAGE_MAX];
};
int o2v_vm_exec(const char *state_dir, const struct o2v_mux_exec *req,
		const struct o2v_exec_io *io, struct o2v_exec_result *ret, struct o2v_error *err);

/* Send one control message to the running VM whose state directory is state_dir. */
int o2v_vm_send(const char *state_dir, const struct o2v_ctl_msg *msg, struct o2v_error *err);

#endif
