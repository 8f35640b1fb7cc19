/* vmproto.h - the host <-> guest protocol, one module for both sides.
 *
 * The host (vm/) and the guest's init (bootstrap-init/) talk over virtio-serial ports that
 * QEMU gives names; this header is the only place those names, the messages on them and
 * the exit codes are spelled. docs/vm-contract.md is the prose version: which side sends
 * what, when, maximum lengths and flow control.
 *
 *   status port (guest -> host, a file on the host)   control port (host -> guest)
 *     held            set up, waiting for start          start         run the held workload
 *     started                                            stop
 *     exit N          0..255                             signal N      1..64
 *     error MESSAGE   printable ASCII, one line          winsize R C   0..65535 each
 *     ready           booted without a run               eof N         0..2^63-1
 *                     configuration: waiting for one     entropy HEX   1..48 bytes, in hex
 *                     (a VM about to be saved as a       time S NS     the host's clock
 *                     snapshot, vm/snapshot.h)           disk N        the root disk's size
 *                                                                      in 512-byte sectors
 *                                                        config N      N bytes of run.conf
 *                                                                      follow the line
 *
 * Every message is one line ending in '\n', exactly as above: no other spaces, no sign, no
 * CR, numbers in decimal. Both sides treat what they read as hostile: a line longer than
 * its maximum is dropped whole, a NUL cannot shorten a line into a command, a message that
 * does not parse is ignored (never printed raw: o2v_proto_sanitize()).
 *
 * Libc only, no allocation: the static guest init links it.
 */
#ifndef O2V_VMPROTO_H
#define O2V_VMPROTO_H

#include "o2v.h"

/* ---- the ports ---- */

/* Guest-side names of the virtio-serial ports (the guest init looks them up by name). */
#define O2V_PORT_STATUS	 "oci2vm.status"
#define O2V_PORT_CONTROL "oci2vm.ctl"
/* The workload's stdout and stderr have ports of their own, so the host keeps them apart as
 * Docker does. Ports, not consoles: QEMU drops what a console writes while the host falls
 * behind reading it, where a port makes the guest wait. With a terminal, stdout carries the
 * pty's output (and stderr nothing); a VM booted without these ports (an exported image by
 * hand) has the console (hvc0) carry both. */
#define O2V_PORT_STDOUT "oci2vm.stdout"
#define O2V_PORT_STDERR "oci2vm.stderr"
/* Where the host's device order puts them (console 0, then these): the guest tries these
 * device names first and checks their names, which saves a directory scan. */
#define O2V_PORT_STATUS_GUESS  "vport0p1"
#define O2V_PORT_CONTROL_GUESS "vport0p2"
#define O2V_PORT_STDOUT_GUESS  "vport0p3"
#define O2V_PORT_STDERR_GUESS  "vport0p4"
#define O2V_GUEST_CONSOLE      "/dev/hvc0"

/* Shared directory i (a -v volume, in command-line order) has the 9p mount tag "o2v_vI". */
#define O2V_VOLUME_TAG_MAX 16
void o2v_proto_volume_tag(size_t index, char buf[O2V_VOLUME_TAG_MAX]);

/* ---- exit codes (Docker's) ---- */

#define O2V_EXIT_INIT_FAILED 125 /* init (or oci2vm itself) failed: the workload never ran */
#define O2V_EXIT_CANNOT_EXEC 126 /* the command exists but could not be executed */
#define O2V_EXIT_NOT_FOUND   127 /* the command was not found */
#define O2V_EXIT_SIGNAL_BASE 128 /* + N: the workload was killed by signal N */

/* ---- control messages, host -> guest ---- */

#define O2V_CTL_LINE_MAX 128 /* with the '\0': longer lines are dropped whole */

enum o2v_ctl_kind {
	O2V_CTL_STOP,
	O2V_CTL_SIGNAL,
	O2V_CTL_WINSIZE,
	O2V_CTL_EOF,
	O2V_CTL_START,
	/* A VM restored from a snapshot (init sent `ready` before it was saved): fresh random
	 * state, the time of day, then the run configuration; see docs/vm-contract.md. */
	O2V_CTL_ENTROPY,
	O2V_CTL_TIME,
	O2V_CTL_CONFIG,
	O2V_CTL_DISK,
};

#define O2V_CTL_ENTROPY_MAX 48		    /* bytes: 96 hex digits fit a control line */
#define O2V_CTL_TIME_MAX    (1ull << 40)    /* seconds since the epoch */
#define O2V_CTL_CONFIG_MAX  (1024 * 1024)   /* = O2V_RUNCONFIG_MAX */
#define O2V_CTL_DISK_MAX    (1ull << 50)    /* sectors: 512 PiB */

struct o2v_ctl_msg {
	enum o2v_ctl_kind kind;
	uint64_t a; /* signal: the number; winsize: rows; eof: the byte total; entropy: the
		     * byte count; time: seconds; config: the byte count that follows; disk:
		     * sectors */
	uint64_t b; /* winsize: columns; time: nanoseconds */
	uint8_t data[O2V_CTL_ENTROPY_MAX]; /* entropy: the bytes */
};

/* One line without its '\n' → msg; -EINVAL for anything not exactly in the table above. */
int o2v_ctl_parse(const char *line, struct o2v_ctl_msg *ret);

/* msg → "LINE\n" in buf (NUL-terminated); returns the length without the NUL, or -EINVAL
 * for a message out of range (never sent: the guest would drop it). */
int o2v_ctl_format(const struct o2v_ctl_msg *msg, char *buf, size_t size);

/* ---- status messages, guest -> host ---- */

#define O2V_STATUS_LINE_MAX 512		/* with the '\n' */

enum o2v_status_kind {
	O2V_STATUS_STARTED,
	O2V_STATUS_EXIT,
	O2V_STATUS_ERROR,
	O2V_STATUS_HELD,
	O2V_STATUS_READY,
};

struct o2v_status_msg {
	enum o2v_status_kind kind;
	int code;			    /* exit: 0..255 */
	char text[O2V_STATUS_LINE_MAX - 6]; /* error: the message, sanitized */
};

/* One line without its '\n' → msg (error text sanitized); -EINVAL otherwise. */
int o2v_status_parse(const char *line, struct o2v_status_msg *ret);

/* msg → "LINE\n" in buf (at most O2V_STATUS_LINE_MAX bytes + NUL; an error text is cut
 * and sanitized); returns the length without the NUL, or -EINVAL (exit code out of range). */
int o2v_status_format(const struct o2v_status_msg *msg, char *buf, size_t size);

/* What a whole status port says: the last exit code and error message. */
struct o2v_status_summary {
	bool ready;
	bool held;
	bool started;
	bool exited;
	int code;
	char error[O2V_STATUS_LINE_MAX - 6]; /* "" when none */
};
void o2v_status_summarize(const char *text, size_t len, struct o2v_status_summary *ret);
/* One more line of the port (NULL: an over-long one, ignored) into a running summary. */
void o2v_status_note(struct o2v_status_summary *s, const char *line);

/* ---- lines from a byte stream ---- */

/* Reassembles lines from reads that split or join them. A line longer than max - 1 bytes
 * is dropped whole and reported once as fn(NULL, ud), never cut into a command; a NUL byte
 * becomes '?'. A partial line waits for the next feed. */
struct o2v_line_reader {
	char buf[O2V_STATUS_LINE_MAX];
	size_t max; /* <= sizeof(buf); 0 means sizeof(buf) */
	size_t len;
	bool skip; /* inside an over-long line: drop it up to its '\n' */
};
void o2v_line_feed(struct o2v_line_reader *r, const char *data, size_t n,
		   void (*fn)(const char *line, void *ud), void *ud);

/* Replace control bytes and non-ASCII in s with '?' (untrusted text before printing). */
void o2v_proto_sanitize(char *s);

#endif
