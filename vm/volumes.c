/* volumes.c - which 9p security model a shared directory gets; see vm.h.
 *
 * mapped-xattr keeps what the guest sets (owner, mode, device nodes) in user.virtfs.* extended
 * attributes, so the host never gets a setuid file, a foreign owner or a device node from a
 * guest. Some file systems take no user xattrs (tmpfs before Linux 6.6, some network file
 * systems): there QEMU's 9p would fail on the first chown, so such a directory gets
 * mapped-file, which keeps the same in .virtfs_metadata files next to them. Which one is found
 * by setting and removing a user xattr on the directory itself: a read-only check cannot tell.
 */
#include "../common/o2v.h"

#include <sys/xattr.h>

#include "host.h"

#define PROBE_XATTR "user.oci2vm.probe"

enum o2v_9p_model o2v_volume_model(const char *dir)
{
	if (lsetxattr(dir, PROBE_XATTR, "1", 1, 0) == 0) {
		lremovexattr(dir, PROBE_XATTR);
		return O2V_9P_MAPPED_XATTR;
	}
	if (errno == ENOTSUP || errno == EOPNOTSUPP)
		return O2V_9P_MAPPED_FILE;
	/* Not ours to set (EPERM, EACCES: a read-only share of someone else's directory): the
	 * file system takes user xattrs as far as we can tell. */
	return O2V_9P_MAPPED_XATTR;
}
