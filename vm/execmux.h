/* execmux.h - the supervisor's side of `oci2vm exec` (inside the VM library).
 *
 * The VM's supervisor listens on the state directory's exec.sock; each client connection is
 * one exec stream. Frames (common/muxproto.h) from a client get the stream id of its
 * connection and go to the guest on the exec port; the guest's frames go back to the client
 * of their stream. Credit is end to end (the client grants the guest's output, the guest the
 * client's input), so per stream this side holds at most a window of data. What the guest
 * sends is parsed as hostile: bad headers, frames for unknown streams and data past a
 * client's window are dropped. A client that goes away has its stream CLOSEd: the guest
 * kills its process.
 */
#ifndef O2V_VM_EXECMUX_H
#define O2V_VM_EXECMUX_H

#include <poll.h>
#include <stddef.h>

#include "../common/error.h"

struct o2v_execmux;

#define O2V_EXECMUX_POLL_MAX (2 + 64)

/* port: the connected exec port socket (taken over); listen_path: where clients connect. */
int o2v_execmux_new(int port, const char *listen_path, struct o2v_execmux **ret,
		    struct o2v_error *err);
size_t o2v_execmux_poll(struct o2v_execmux *m, struct pollfd *p, size_t max);
void o2v_execmux_events(struct o2v_execmux *m, const struct pollfd *p, size_t n);
/* Close every client (their streams end without an exit status) and the listener. */
void o2v_execmux_free(struct o2v_execmux *m);

#endif
