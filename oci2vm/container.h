/* container.h - what a container keeps from `run` to `rm`, as Docker's does: its writable
 * layer and the command line it was created with.
 *
 * The layer is a qcow2 file whose backing file is the cached VM image, hard-linked beside it
 * (CACHE/containers/ID/{base.ext4,disk.qcow2}): `rmi` and `prune` cannot pull the image
 * from under a container, and the layer costs only what the container wrote. It is on the
 * cache's disk, not in the (often RAM-backed) runtime directory. `run --rm` keeps nothing:
 * its root is QEMU's throw-away snapshot of the image.
 */
#ifndef O2V_CONTAINER_H
#define O2V_CONTAINER_H

#include "../common/error.h"
#include "../vm/state.h"

/* The container's layer: made over vmimage when create (it must not exist yet), else the
 * existing one (-ENOENT if it is gone). ret_path malloc'ed. */
int o2v_container_disk(const char *cache_dir, const char *id, const char *vmimage, bool create,
		       char **ret_path, struct o2v_error *err);

/* Remove the layer (nothing if there is none). */
void o2v_container_disk_remove(const char *cache_dir, const char *id);

/* The `run` arguments (after "run") in the VM's state directory, and back. */
int o2v_container_args_save(const struct o2v_vm *vm, int argc, char **argv, struct o2v_error *err);
int o2v_container_args_load(const struct o2v_vm *vm, char ***ret_argv, int *ret_argc,
			    struct o2v_error *err);

#endif
