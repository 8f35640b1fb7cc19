/* supervise.h - run one QEMU process and be its only parent (inside the VM library;
 * o2v_vm_launch() in launch.c is the way in).
 *
 * The supervisor starts QEMU, relays the guest console between a unix socket QEMU serves
 * and the caller's terminal, pipe or log file (relay.c), turns SIGINT / SIGTERM / SIGHUP
 * into a graceful "stop" on the control port (a second one kills QEMU), and after QEMU
 * exits says how the VM ended from what the guest's status port said.
 *
 * Leftovers: QEMU runs with PR_SET_PDEATHSIG=SIGKILL, so if the supervisor itself is killed
 * QEMU dies with it; on every return path QEMU has exited and has been reaped.
 */
#ifndef O2V_VM_SUPERVISE_H
#define O2V_VM_SUPERVISE_H

#include <sys/types.h>

#include "../common/error.h"
#include "layout.h"
#include "spawn.h"
#include "vm.h"

struct o2v_supervise {
	struct o2v_spawn qemu;		  /* how QEMU is started (argv, preload, fds, netns) */
	const struct o2v_vm_files *files; /* the state directory's sockets and files */
	bool serial;			  /* verbose: QEMU serves the serial port too */
	bool stdio_ports;		  /* QEMU serves the workload's stdout and stderr ports */
	bool exec_port;			  /* ... and the exec port (execmux.h) */
	const struct o2v_launch *io;	  /* stdio, stop grace and callbacks */
	/* The network guard's pipe (launch.c, netguard.h): QEMU gets the write end; the guest
	 * is not started until "1" came on the read end. -1: no guard to wait for. */
	int guard_ack;
	int *guard_ack_wr; /* closed (and set to -1) once QEMU has its copy */
	/* Pre-booted VMs (snapshot.h). runconfig: init was booted without one and waits for
	 * it on the control port; it is sent (o2v_vm_configure) when init reports `ready`,
	 * after saving the VM when snapshot is MAKE, or at once when snapshot is RESTORE. */
	const char *runconfig;
	size_t runconfig_len;
	struct o2v_snapshot *snapshot; /* NULL: none */
	bool *restore_failed;	       /* set when a restored VM never said a word */
	bool *saved;		       /* set when the VM was saved and ended (MAKE) */
	/* The launch's helpers (virtiofsd): one that exits takes QEMU down with it (a guest
	 * whose file system is gone would hang). A reaped one becomes -1. */
	pid_t *helpers;
	size_t n_helpers;
};

struct relay;
/* The relay saw `ready` (relay.c calls it; supervise.c acts). */
void o2v_supervise_ready(struct relay *r);

/* Run QEMU to completion. Returns 0 when the VM ran and ended (see ret->code),
 * negative when it could not be started (QEMU missing, refused the options, ...). */
int o2v_supervise_run(const struct o2v_supervise *s, struct o2v_vm_exit *ret,
		      struct o2v_error *err);

/* Send one line to a running VM's control socket; see control.c. */
int o2v_vm_control(const char *ctl_sock, const struct o2v_ctl_msg *msg, struct o2v_error *err);

/* To an init waiting for its run configuration (bootstrap-init/resume.c): fresh entropy,
 * the time of day, the root disk's size (a restored VM; 0: none), then config (len
 * bytes). */
int o2v_vm_configure(const char *ctl_sock, const char *config, size_t len,
		     uint64_t disk_sectors, struct o2v_error *err);

/* The last line of QEMU's log (its reason for refusing to start), sanitized. */
void o2v_qemu_log_tail(const char *path, char *out, size_t outlen);

/* Connect to a unix socket: the fd, or a negative errno. */
int o2v_unix_connect(const char *path);

#endif
