/* caps.h - Linux capabilities by name, and the set a container's process starts with.
 *
 * The workload's bounding set (init drops every other capability before exec) is Docker's
 * default set unless --cap-add / --cap-drop say otherwise: the 14 below. Without
 * CAP_SYS_ADMIN, CAP_BPF and CAP_NET_ADMIN a root workload can neither remount what init
 * mounted read-only nor detach the device rule (docs/vm-contract.md).
 */
#ifndef O2V_CAPS_H
#define O2V_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#define O2V_CAP_LAST 40 /* CAP_CHECKPOINT_RESTORE, the last one Linux 6.1 knows */
#define O2V_CAPS_ALL ((UINT64_C(1) << (O2V_CAP_LAST + 1)) - 1)
#define O2V_CAP(n)   (UINT64_C(1) << (n))
/* CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
 * SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP (moby's oci/caps/defaults.go) */
#define O2V_CAPS_DEFAULT                                                                           \
	(O2V_CAP(0) | O2V_CAP(1) | O2V_CAP(3) | O2V_CAP(4) | O2V_CAP(5) | O2V_CAP(6) |             \
	 O2V_CAP(7) | O2V_CAP(8) | O2V_CAP(10) | O2V_CAP(13) | O2V_CAP(18) | O2V_CAP(27) |         \
	 O2V_CAP(29) | O2V_CAP(31))

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" → 12; -1 if unknown. "ALL" is the caller's. */
int o2v_cap_from_name(const char *name);

/* "CAP_NET_ADMIN" for 12; NULL past O2V_CAP_LAST. */
const char *o2v_cap_name(int cap);

#endif
