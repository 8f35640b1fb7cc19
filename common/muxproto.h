/* muxproto.h - the exec streams: frames on one virtio port, many processes at once.
 *
 * `oci2vm exec` runs processes in a running VM. QEMU's microvm cannot add ports after boot,
 * so every exec's stdin, stdout and stderr share one port ("oci2vm.exec"), cut into frames,
 * each naming its stream. The same frames go between the CLI and the VM's supervisor (which
 * gives each client connection a stream id and forwards).
 *
 * Flow control is per stream and per direction, by credit: a side sends at most as many
 * DATA bytes on a channel as the other side granted (O2V_MUX_WINDOW to begin with) and
 * grants more (CREDIT) once it has passed what it got on. One slow reader holds back only
 * its own stream, and no side buffers more than a window per stream.
 *
 * A frame: a 12-byte header (type, channel, 0, 0, stream id and payload length, both little
 * endian u32), then the payload (at most O2V_MUX_PAYLOAD_MAX bytes). Both ends parse what
 * they get as hostile: a bad header ends the connection.
 */
#ifndef O2V_MUXPROTO_H
#define O2V_MUXPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define O2V_PORT_EXEC	    "oci2vm.exec"
#define O2V_MUX_HDR	    12
#define O2V_MUX_PAYLOAD_MAX 65536
#define O2V_MUX_WINDOW	    (256 * 1024) /* initial credit per channel */
#define O2V_MUX_STREAMS_MAX 64		 /* execs at once in one VM */

enum o2v_mux_type {
	O2V_MUX_OPEN = 1, /* host → guest: the exec request (o2v_mux_exec_format()) */
	O2V_MUX_STARTED,  /* guest → host: the process runs (payload: its pid, u32) */
	O2V_MUX_DATA,	  /* either way: bytes of the channel */
	O2V_MUX_CREDIT,	  /* either way: u32 more bytes the sender may send on the channel */
	O2V_MUX_EOF,	  /* either way: the channel ended */
	O2V_MUX_EXIT,	  /* guest → host: u32 exit status (Docker's: 0-255, 128+N), then an
			   * optional message (why it never ran) */
	O2V_MUX_SIGNAL,	  /* host → guest: u32 signal number for the process */
	O2V_MUX_WINSIZE,  /* host → guest: u16 rows, u16 cols */
	O2V_MUX_CLOSE,	  /* host → guest: the client is gone (its process is killed) */
	O2V_MUX_TYPE_MAX = O2V_MUX_CLOSE,
};

enum o2v_mux_chan { O2V_MUX_STDIN, O2V_MUX_STDOUT, O2V_MUX_STDERR, O2V_MUX_CHANS };

struct o2v_mux_hdr {
	uint8_t type, chan;
	uint32_t stream, len;
};

void o2v_mux_hdr_put(uint8_t out[O2V_MUX_HDR], const struct o2v_mux_hdr *h);
/* -EBADMSG for an unknown type or channel, a length past O2V_MUX_PAYLOAD_MAX, or a payload
 * the type does not allow. */
int o2v_mux_hdr_get(const uint8_t in[O2V_MUX_HDR], struct o2v_mux_hdr *h);

/* What to run. Strings are borrowed (parse: they point into the payload). */
#define O2V_MUX_ARGS_MAX 256
#define O2V_MUX_ENV_MAX	 256
struct o2v_mux_exec {
	const char *argv[O2V_MUX_ARGS_MAX + 1];
	const char *env[O2V_MUX_ENV_MAX + 1]; /* "K=V" over the container's environment */
	const char *user, *workdir;	      /* NULL: the container's */
	bool tty, stdin_open, detach;
	unsigned rows, cols;
};

/* The payload: "key=value" strings, each ended by a NUL (argv and env cannot hold one).
 * -E2BIG past O2V_MUX_PAYLOAD_MAX. ret is malloc'ed. */
int o2v_mux_exec_format(const struct o2v_mux_exec *e, char **ret, size_t *ret_len,
			struct o2v_error *err);
/* payload is modified in place (and must outlive e). -EBADMSG naming what was wrong. */
int o2v_mux_exec_parse(char *payload, size_t len, struct o2v_mux_exec *e, struct o2v_error *err);

/* Frames arriving in pieces on a non-blocking descriptor (a socket or the guest's port). */
struct o2v_mux_reader {
	uint8_t hdr[O2V_MUX_HDR];
	size_t hdr_len;
	struct o2v_mux_hdr h;
	uint8_t *payload; /* O2V_MUX_PAYLOAD_MAX + 1, allocated on first use */
	size_t payload_len;
};

/* Read on from fd: 1 when a whole frame is in (r->h; r->payload, NUL-terminated after
 * h.len bytes), 0 when more is needed, -EBADMSG for a bad header (dropped: the next bytes
 * are read as a header), -EPIPE at EOF or an error, -ENOMEM. */
int o2v_mux_read(struct o2v_mux_reader *r, int fd);
void o2v_mux_reader_release(struct o2v_mux_reader *r);

/* Frames waiting for a non-blocking descriptor that takes them when it can. */
struct o2v_mux_queue {
	char *p;
	size_t len, off, cap;
};

/* Add a frame; -ENOBUFS when it would hold more than max bytes, -ENOMEM. */
int o2v_mux_queue_frame(struct o2v_mux_queue *q, size_t max, uint8_t type, uint8_t chan,
			uint32_t stream, const void *payload, size_t len);
/* What fd takes now (write(): a peer that is gone must not raise SIGPIPE, the caller
 * ignores it); false on an error other than EAGAIN. */
bool o2v_mux_queue_flush(struct o2v_mux_queue *q, int fd);
void o2v_mux_queue_release(struct o2v_mux_queue *q);

static inline size_t o2v_mux_queued(const struct o2v_mux_queue *q)
{
	return q->len - q->off;
}

static inline void o2v_mux_u32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t o2v_mux_u32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
