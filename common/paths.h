/* paths.h - where oci2vm keeps things.
 *
 * Cache (pulled blobs, built VM images, the kernel): $OCI2VM_CACHE, else
 * $XDG_CACHE_HOME/oci2vm, else ~/.cache/oci2vm.
 * Runtime state of VMs (sockets, pid files, logs): $OCI2VM_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/oci2vm, else /tmp/oci2vm-UID.
 * Both return a malloc'ed absolute path; neither creates the directory.
 */
#ifndef O2V_PATHS_H
#define O2V_PATHS_H

#include "error.h"

int o2v_cache_dir(char **ret_path, struct o2v_error *err);
int o2v_runtime_dir(char **ret_path, struct o2v_error *err);

#endif
