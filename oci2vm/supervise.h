/* supervise.h - run one QEMU process and be its only parent.
 *
 * The supervisor (the foreground `oci2vm run`/`boot`, or the background
 * process of `run -d`) starts QEMU, relays the guest console between a unix
 * socket QEMU serves and the user's terminal or a log file, turns SIGINT /
 * SIGTERM / SIGHUP into a graceful "stop" on the control port (a second one
 * kills QEMU), and after QEMU exits reads the guest's status line.
 *
 * Leftovers: QEMU runs with PR_SET_PDEATHSIG=SIGKILL, so if the supervisor
 * itself is killed QEMU dies with it; on every return path QEMU has exited
 * and has been reaped.
 */
#ifndef O2V_SUPERVISE_H
#define O2V_SUPERVISE_H

#include <sys/types.h>

#include "../common/error.h"

struct o2v_supervise {
	char *const *qemu_argv;	  /* argv[0] is the QEMU binary (looked up in PATH) */
	const char *console_sock; /* QEMU serves the console here (server=on,wait=on) */
	const char *serial_sock;  /* ... and the serial port here (verbose; NULL: none) */
	const char *ctl_sock;	  /* QEMU serves the control port here (server=on,wait=off) */
	const char *stdout_sock;  /* QEMU serves the stdout and stderr ports here (wait=on); */
	const char *stderr_sock;  /* NULL: none, the console carries stdout and stderr */
	const char *status_path;  /* QEMU writes the status port into this file */
	const char *qemu_log;	  /* QEMU's stdout and stderr */
	const char *qemu_preload; /* library QEMU runs with (LD_PRELOAD, first); NULL: none */
	int in_fd;		  /* forwarded to the console; -1: none */
	int out_fd;		  /* the workload's stdout (stdout port, else the console) */
	int err_fd;		  /* its stderr, and the console's messages with stdio ports */
	bool tty;		  /* in_fd is our terminal: raw mode, window size updates */
	bool stdin_after_start;	  /* forward in_fd only once init reported "started" (our init
				   * says so; an arbitrary /init booted by `boot` does not) */
	bool stdin_eof;		  /* when in_fd ends, send "eof N" on the control port (our
				   * init without a terminal: it ends the workload's stdin) */
	unsigned stop_grace;	  /* seconds the guest gets after "stop" before QEMU is killed */
	void (*started)(pid_t qemu_pid, void *userdata); /* QEMU is up; may be NULL */
	/* The guest's init reported "started" (the workload's exec succeeded); may be NULL. */
	void (*running)(void *userdata);
	void *userdata;
};

#define O2V_VM_MESSAGE_MAX 512

struct o2v_vm_exit {
	int code;	/* the workload's status (0-255); when nothing was reported 128+N if
			 * QEMU was killed by signal N (`oci2vm kill`, a second Ctrl-C, the OOM
			 * killer: Docker's 137 for a killed container), else 125 */
	bool reported;	/* the guest's init reported `exit N` */
	int signal;	/* QEMU was killed by this signal (0: it exited) */
	char message[O2V_VM_MESSAGE_MAX]; /* init's `error` line, or why QEMU ended early */
};

/* Run QEMU to completion. Returns 0 when the VM ran and ended (see ret->code),
 * negative when it could not be started (QEMU missing, refused the options, ...). */
int o2v_supervise_run(const struct o2v_supervise *s, struct o2v_vm_exit *ret,
		      struct o2v_error *err);

/* Send one line to a running VM's control socket ("stop", "signal 15", ...). */
int o2v_vm_control(const char *ctl_sock, const char *line, struct o2v_error *err);

/* Read the status port file: the last "exit N" and any "error ..." line. */
void o2v_status_read(const char *status_path, struct o2v_vm_exit *ret);

#endif
