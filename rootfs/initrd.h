/* initrd.h - the small per-run initramfs.
 *
 * `oci2vm run` never rebuilds an image's root to change how it runs: the
 * run configuration travels in a tiny cpio of its own. With an ext4 root
 * disk that cpio is the whole initramfs (/init, /dev/console,
 * /.oci2vm/run.conf); with a cpio image it is appended to the image's
 * cpio, and the kernel's unpacker lets the later run.conf replace the
 * image's default one (each archive ends with its own TRAILER!!!).
 */
#ifndef O2V_INITRD_H
#define O2V_INITRD_H

#include "../common/error.h"

/* Write a newc cpio to out_fd: /dev/console, /.oci2vm/run.conf = runconfig (none when
 * NULL: init then waits for it on the control port, bootstrap-init/resume.c) and, when
 * init_path is not NULL, /init = that file. Everything is owned
 * by root with mtime 0 so the output depends only on the inputs. */
int o2v_initrd_write(int out_fd, const char *init_path, const char *runconfig,
		     struct o2v_error *err);

#endif
