#!/bin/sh
# scripts/mkdeb.sh - build oci2vm_VERSION_amd64.deb (`make deb`).
#
#   scripts/mkdeb.sh VERSION BUILD OUTDIR
#
# Stages `make install DESTDIR=... PREFIX=/usr` (binary, guest init, preload library,
# kernel), adds the man page, copyright and changelog Debian policy asks for, computes the
# shared-library Depends with dpkg-shlibdeps, and packs it with dpkg-deb as root:root.
set -eu

version=$1 build=$2 outdir=$3
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/oci2vm-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022

make -s -C "$top" install DESTDIR="$root" PREFIX=/usr BUILD="$build" >/dev/null
# Debian keeps private executables in /usr/libexec since bookworm; data in /usr/lib.
install -d "$root/usr/share/man/man1" "$root/usr/share/doc/oci2vm" \
	"$root/usr/share/lintian/overrides" "$root/DEBIAN"
gzip -9n <"$top/doc/oci2vm.1" >"$root/usr/share/man/man1/oci2vm.1.gz"
cat >"$root/usr/share/doc/oci2vm/copyright" <<'EOT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: oci2vm
Source: https://github.com/oci2vm/oci2vm

Files: *
Copyright: 2026 The oci2vm authors
License: GPL-2.0-only
 The microVM kernel (/usr/lib/oci2vm/vmlinux) is built from Debian's linux-source-6.1.
 .
 On Debian systems, the full text of the GNU General Public License version 2 can be
 found in /usr/share/common-licenses/GPL-2.
EOT
printf 'oci2vm (%s-1) unstable; urgency=medium\n\n  * Package built by make deb.\n\n -- oci2vm developers <dev@oci2vm.invalid>  %s\n' \
	"$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" |
	gzip -9n >"$root/usr/share/doc/oci2vm/changelog.Debian.gz"
# Expected in this package, and why (lintian accepts these overrides):
cat >"$root/usr/share/lintian/overrides/oci2vm" <<'EOT'
# The guest's PID 1 runs inside the VM, where no libc exists: static by design.
oci2vm: statically-linked-binary [usr/libexec/oci2vm/init]
# The microVM kernel is a guest image QEMU loads, not a host binary.
oci2vm: statically-linked-binary [usr/lib/oci2vm/vmlinux]
# Built locally by `make deb`, not uploaded to Debian: there is no bug to close.
oci2vm: initial-upload-closes-no-bugs [usr/share/doc/oci2vm/changelog.Debian.gz:1]
EOT
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root/usr/bin/oci2vm" "$root/usr/libexec/oci2vm/oci2vm-qemu-net.so"

# Shared-library dependencies of what runs on the host, as Debian computes them.
mkdir -p "$work/src/debian"
printf 'Source: oci2vm\n\nPackage: oci2vm\nArchitecture: amd64\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/oci2vm" \
	-e"$root/usr/libexec/oci2vm/oci2vm-qemu-net.so" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

cat >"$root/DEBIAN/control" <<EOT
Package: oci2vm
Version: $version-1
Architecture: amd64
Maintainer: oci2vm developers <dev@oci2vm.invalid>
Installed-Size: $(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
Depends: $shlibs, qemu-system-x86 (>= 1:7.2), qemu-utils, e2fsprogs
Recommends: busybox-static
Section: admin
Priority: optional
Homepage: https://github.com/oci2vm/oci2vm
Description: run OCI/Docker container images as QEMU microVMs
 oci2vm pulls an image from a registry, flattens its layers into an ext4 disk
 or a cpio initramfs without root, and boots it with QEMU's microvm machine on
 a minimal kernel shipped in this package, with Docker's options, exit codes
 and port forwards.
EOT
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"
mkdir -p "$outdir"
deb=$outdir/oci2vm_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
