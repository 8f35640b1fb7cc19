/* snapshot.h - pre-booted VMs (inside the VM library; launch.c decides, supervise.c saves).
 *
 * A VM whose init was booted without a run configuration stops in a wait for one
 * (bootstrap-init/resume.c) after reporting `ready`: the kernel has booted, init has
 * mounted nothing of any image and has let go of its disks. Saved there, it restores far
 * faster than a boot, and serves every later run of the same shape, whatever the image:
 * the run's configuration, fresh entropy and the time are sent over the control port
 * once it is up.
 *
 * The VM to be saved runs with its RAM in a shared file; QEMU's `migrate` (to a descriptor
 * passed over QMP) then writes only the device state (x-ignore-shared), and the VM is
 * ended, its RAM file kept as it was. A restored VM maps that file privately
 * (copy-on-write: the file never changes) and loads the device state with `-incoming
 * fd:N`, a descriptor since QEMU's sandbox forbids it to spawn anything: no 25 MB copy,
 * the guest faults in what it touches from the page cache all its VMs share. So the first
 * run of a shape boots, saves, and restores; every later one only restores.
 *
 * The shape is everything QEMU needs to be identical for a saved VM to load: QEMU's binary,
 * the kernel, the template initrd, the accelerator, CPU model, memory, vCPUs, the kernel
 * command line (the TSC rate included) and the device set (disk, network, port count,
 * volume count). The key is the sha256 of QEMU's argv for a canonical spec (sockets, disk,
 * ports, volume and RAM paths replaced by placeholders) and the identities (path, size,
 * mtime) of QEMU, the kernel and init, and the initrd's hash: any change makes a new key.
 *
 * In the cache, ROOT/KEY/ (ROOT: the cache's snapshots/ directory) holds, all mode 0600:
 *   state   QEMU's saved device state
 *   ram     the guest's RAM (a sparse file the size of its memory, ~25 MB of data)
 *   initrd  the template initrd the VM was booted from (a restore loads the same)
 *   meta    "file NAME SIZE S NS" of state, initrd and ram, the sha256 of state and ram's
 *           data when made, and the identities the key was made from (for `prune`)
 *   uses    a byte appended per restore (a hit counter; its mtime orders eviction)
 * It is made in ROOT/.make-KEY-PID and renamed into place, under an flock of ROOT/KEY.lock
 * (two first runs at once make it once: the second boots cold without saving). Before
 * each use the files are checked by owner, mode, size and modification time against meta
 * (hashing 25 MB per run would cost 20-30 ms): a file changed behind our back is not used.
 * A restore that fails anyway (QEMU refuses the state, the guest never speaks) is
 * reported, the snapshot removed, and the run boots cold and saves a new one. The
 * snapshots' total size on disk is capped (the least recently used go first).
 */
#ifndef O2V_VM_SNAPSHOT_H
#define O2V_VM_SNAPSHOT_H

#include <stdint.h>

#include "../common/error.h"
#include "qemu.h"

#define O2V_SNAPSHOT_CAP_ENV	 "OCI2VM_SNAPSHOT_CAP_MB" /* total size cap; default below */
#define O2V_SNAPSHOT_CAP_DEFAULT ((uint64_t)2048 << 20)

enum o2v_snapshot_mode {
	O2V_SNAPSHOT_NONE,    /* boot cold; the configuration still comes over the port */
	O2V_SNAPSHOT_RESTORE, /* state_fd, initrd and ram are a valid snapshot of this shape */
	O2V_SNAPSHOT_MAKE,    /* boot with RAM in make_ram, save at `ready` (the lock is ours) */
};

struct o2v_snapshot {
	enum o2v_snapshot_mode mode;
	char *root, *key, *dir; /* ROOT, the key, ROOT/KEY */
	char *identity;		/* the identities part of meta */
	int lock_fd;		/* MAKE: ROOT/KEY.lock, flock()ed */
	int state_fd;		/* RESTORE: the saved state, for -incoming fd:N */
	char *initrd, *ram;	/* RESTORE: ROOT/KEY/initrd and ROOT/KEY/ram */
	bool uses_unrecorded;	/* RESTORE: the hit counter could not be written */
	char *template_initrd;	/* what a VM to be saved boots from (kept with the snapshot) */
	char *make_dir;		/* MAKE: ROOT/.make-KEY-PID, renamed to ROOT/KEY when saved */
	char *make_ram;		/* MAKE: the saved VM's RAM file, in make_dir */
};

/* Decide how a launch of spec (argv shape; spec->r.initrd is the template initrd) starts,
 * with snapshots kept in root; inputs (NULL-terminated, may be NULL) are more files the
 * snapshot depends on (the init the initrd was made from), part of the key and checked by
 * prune. Never fails the launch: a problem (a read-only cache, a damaged snapshot) leaves
 * NONE or MAKE and a sentence in warning (else warning[0] is '\0'). Release with
 * o2v_snapshot_release(). */
void o2v_snapshot_prepare(struct o2v_snapshot *s, const char *root, const struct o2v_vm_spec *spec,
			  char *const *inputs, char *warning, size_t warning_size);

/* MAKE, the VM at `ready`: save it through QEMU's monitor at qmp_sock and publish it under
 * its key. Saved, the VM is ended (*ended: its RAM file is now the snapshot's; the launch
 * restores from it next); not saved, it goes on (an error, mode NONE). */
int o2v_snapshot_save(struct o2v_snapshot *s, const char *qmp_sock, bool *ended,
		      struct o2v_error *err);

/* RESTORE, QEMU started with `-incoming defer`: load the saved state (it runs once
 * loaded), then make QEMU tell the guest its root disk's size (a resize to the size it
 * has), which init waits for: *disk_sectors (0: no root disk). */
int o2v_snapshot_incoming(const struct o2v_snapshot *s, const char *qmp_sock,
			  uint64_t *disk_sectors, struct o2v_error *err);

/* After a save: RESTORE from what was just published (false if it is not there). */
bool o2v_snapshot_reload(struct o2v_snapshot *s);

/* RESTORE failed: remove the snapshot; with remake, MAKE a new one (when the lock is ours,
 * else NONE). */
void o2v_snapshot_discard(struct o2v_snapshot *s, bool remake);

void o2v_snapshot_release(struct o2v_snapshot *s);

/* `oci2vm prune`: remove the snapshots in root whose QEMU, kernel or init changed or
 * disappeared, or whose files no longer match their hash, and saves that were cut off;
 * all: every snapshot. The number removed and the bytes freed. */
int o2v_snapshot_prune(const char *root, bool all, unsigned *removed, uint64_t *freed,
		       struct o2v_error *err);

#endif
