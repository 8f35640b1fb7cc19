/* relay.h - the supervisor's loop while QEMU runs (inside the VM library).
 *
 * One poll() over a signalfd, the console, serial and stdio-port sockets and the caller's
 * stdin: output goes to the caller's descriptors, stdin to the console, signals become
 * control messages, and the status port is watched for "started".
 */
#ifndef O2V_VM_RELAY_H
#define O2V_VM_RELAY_H

#include <sys/types.h>

#include "../common/clock.h"
#include "execmux.h"
#include "supervise.h"

struct relay {
	const struct o2v_launch *io;
	const struct o2v_supervise *sup;
	const struct o2v_vm_files *files;
	pid_t qemu;
	int con;    /* console socket */
	int sercon; /* serial port socket (verbose), or -1 */
	int outcon; /* stdout port socket, or -1 */
	int errcon; /* stderr port socket, or -1 */
	int stcon;  /* status port socket */
	/* What the status port said so far: read as it comes, line by line and bounded, so a
	 * guest writing without end costs CPU, never memory or disk. */
	struct o2v_line_reader st_reader;
	struct o2v_status_summary st;
	bool err_open; /* err_fd still takes writes */
	int sfd;       /* signalfd */
	bool qemu_done;
	int qemu_status;
	bool in_open;
	uint64_t in_bytes; /* sent from in_fd to the console */
	/* stdin read but not yet taken by the console: written without blocking, so a guest
	 * that does not read its stdin cannot stop us relaying its output */
	char in_buf[16384];
	size_t in_len, in_off;
	/* Console output for a terminal that falls behind (see deliver()): QEMU drops what
	 * a console writes while its socket is full, so the console is read on regardless. */
	int q_to; /* the fd whose output is queued (deliver()); -1: none */
	int q_fd; /* our own non-blocking opening of it */
	char *q;
	size_t q_len;
	bool out_open;
	int64_t kill_at;   /* 0: no deadline */
	bool running_seen; /* the status port said `started` (or nobody asked) */
	bool held_seen;	   /* ... `held` */
	int stops;	   /* stop requests seen */
	struct o2v_execmux *mux; /* exec streams (execmux.h); NULL: none */
	bool ready_seen;	 /* the status port said `ready` */
	/* A restored VM that has not said a word by then is killed: its snapshot did not
	 * restore (0: no such deadline). */
	int64_t restore_deadline;
	bool restore_timed_out;
};

/* Collect QEMU's exit status if it has exited. */
void o2v_relay_reap(struct relay *r);

/* Relay until QEMU has exited and every socket is drained. */
void o2v_relay_loop(struct relay *r);


#endif
