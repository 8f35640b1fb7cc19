/* assets.h - the files oci2vm puts into every VM besides the image.
 *
 * The guest init: $OCI2VM_INIT, else `init` next to the oci2vm binary (the
 * build tree), else PREFIX/libexec/oci2vm/init (installed). The BusyBox
 * shim: $OCI2VM_BUSYBOX, else Debian's busybox-static at /bin/busybox; it
 * must be statically linked because it runs outside the container's root,
 * where no dynamic loader exists.
 */
#ifndef O2V_ASSETS_H
#define O2V_ASSETS_H

#include "../common/error.h"

int o2v_find_init(char **ret_path, struct o2v_error *err);

/* ret_path is NULL (and 0 is returned) when no static BusyBox exists and
 * $OCI2VM_BUSYBOX is unset: the shim is for debugging and optional. */
int o2v_find_busybox(char **ret_path, struct o2v_error *err);

/* The library preloaded into QEMU for a VM with a network
 * (oci2vm/preload/qemu_net.c): it keeps the guest off the host's loopback and
 * deepens the listen backlog of published ports. Next to the binary or in
 * PREFIX/libexec/oci2vm; NULL when absent (or in a path with a space or a
 * colon, which LD_PRELOAD cannot name): such a VM then does not start unless
 * it may reach the host's loopback anyway. */
#define O2V_QEMU_NET_PRELOAD "oci2vm-qemu-net.so"
char *o2v_find_qemu_net_preload(void);

/* True when path is an ELF executable without a program interpreter. */
bool o2v_is_static_elf(const char *path);

#endif
