#!/bin/sh
# Build the oci2vm microVM kernel (`make kernel`).
#
#   kernel/build.sh           build (or reuse) and print the path of the cached vmlinux
#   kernel/build.sh --key     print the cache key only (the Makefile embeds it in oci2vm)
#   kernel/build.sh --path    print the cached vmlinux path if it is built, else fail
#   kernel/build.sh --source  print the unpacked, patched source tree (tests compile from it)
#
# Source: Debian's linux-source-6.1 tarball with kernel/patches/*.patch applied in name order
# (small boot-time fixes for emulated machines; each patch says why).  Config: `make
# allnoconfig` with KCONFIG_ALLCONFIG=kernel/oci2vm.config, then every assignment of the
# fragment is checked against the final .config.  Output: $CACHE/kernel/<key>/vmlinux where key
# is the sha256 of the fragment, the patches and the source package version, so a rerun with
# nothing changed is a no-op and a changed fragment, patch or source update builds a new kernel
# next to the old one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/oci2vm.config
patchdir=$here/patches
pkg=linux-source-6.1
tarball=${O2V_KERNEL_TARBALL:-/usr/src/$pkg.tar.xz}

die() {
	echo "kernel/build.sh: $*" >&2
	exit 1
}

cache_dir() {
	if [ -n "${OCI2VM_CACHE:-}" ]; then
		echo "$OCI2VM_CACHE"
	elif [ -n "${XDG_CACHE_HOME:-}" ]; then
		echo "$XDG_CACHE_HOME/oci2vm"
	else
		echo "${HOME:?HOME is not set}/.cache/oci2vm"
	fi
}

# The version is part of the key: a Debian security update of the source is a new kernel.
# Without the package the key still exists (oci2vm is built before the kernel) but no
# kernel can be built for it.
src_version() {
	dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || echo none
}

# The patches in the order they are applied (file names sort by their number).
patches() {
	for p in "$patchdir"/*.patch; do
		[ -f "$p" ] && echo "$p"
	done
	return 0
}

patches_hash() {
	patches | while IFS= read -r p; do basename "$p"; cat "$p"; done | sha256sum | cut -c1-16
}

# The unpacked, patched source tree for this (source version, patch set).
src_dir() {
	echo "$(cache_dir)/kernel/src-$(src_version)-$(patches_hash)"
}

cache_key() {
	{
		cat "$fragment"
		printf '%s=%s\n' "$pkg" "$(src_version)"
		patches | while IFS= read -r p; do basename "$p"; cat "$p"; done
	} | sha256sum | cut -d' ' -f1
}

case "${1:-}" in
--key)
	cache_key
	exit 0
	;;
--path)
	out=$(cache_dir)/kernel/$(cache_key)/vmlinux
	[ -f "$out" ] || die "no kernel built for this fragment: run 'make kernel'"
	echo "$out"
	exit 0
	;;
--source)
	src=$(src_dir)
	[ -d "$src" ] || die "no patched kernel source unpacked: run 'make kernel'"
	echo "$src"
	exit 0
	;;
esac
[ $# -eq 0 ] || die "usage: kernel/build.sh [--key|--path|--source]"

version=$(src_version)
[ "$version" != none ] || die "package '$pkg' is not installed: run 'make deps'"
key=$(cache_key)
kdir=$(cache_dir)/kernel
out=$kdir/$key/vmlinux
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

[ -r "$tarball" ] || die "'$tarball' not found: install the kernel source with 'make deps'"
for tool in make gcc flex bison bc objcopy patch; do
	command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found: run 'make deps'"
done
[ -e /usr/include/libelf.h ] || die "libelf headers not found: run 'make deps'"
mkdir -p "$kdir"

# One build at a time per cache: a second `make kernel` waits, then finds the result.
exec 9>"$kdir/.lock"
flock 9
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

# Unpack and patch once per (source version, patch set); build out of tree (O=) so fragments
# share the source. A tree for an older patch set is removed: only one is ever built from.
src=$(src_dir)
if [ ! -d "$src" ]; then
	echo "kernel: unpacking $tarball" >&2
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	patches | while IFS= read -r p; do
		echo "kernel: applying $(basename "$p")" >&2
		# --batch --forward --fuzz=0: fail (never ask, never guess) if a source update
		# already has the change or moved the lines.
		patch -d "$src.tmp" -p1 -s --batch --forward --fuzz=0 --no-backup-if-mismatch <"$p" ||
			die "$(basename "$p") does not apply to $pkg $version"
	done || exit 1
	for old in "$kdir"/src-*; do
		if [ "$old" != "$src.tmp" ] && [ -d "$old" ]; then
			rm -rf "$old"
		fi
	done
	mv "$src.tmp" "$src"
fi

# One object directory for all fragments: after a fragment change, make rebuilds only what
# the changed options touch (minutes instead of a full build).
obj=$kdir/build
mkdir -p "$obj"
echo "kernel: configuring ($obj)" >&2
make -s -C "$src" O="$obj" ARCH=x86_64 KCONFIG_ALLCONFIG="$fragment" allnoconfig >&2

# Kconfig silently drops an option whose dependencies are not met; catch that here.
missing=$(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$fragment" | while IFS= read -r line; do
	grep -qxF "$line" "$obj/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
	echo "kernel/build.sh: options requested by $fragment are not in the final .config" >&2
	echo "(a dependency is missing; see 'make menuconfig' in $src with O=$obj):" >&2
	echo "$missing" | sed 's/^/  /' >&2
	exit 1
fi

echo "kernel: building vmlinux with $(nproc) jobs (about 5 minutes on 2 cores)" >&2
make -s -C "$src" O="$obj" ARCH=x86_64 -j"$(nproc)" vmlinux >&2

# The symbol table is not loaded by QEMU; stripping it halves the file QEMU reads per boot.
mkdir -p "$kdir/$key"
objcopy --strip-all "$obj/vmlinux" "$out.tmp"
cp "$obj/.config" "$kdir/$key/config"
# Symbols for profiling tools (bench/tcg-profile); QEMU never reads them.
cp "$obj/System.map" "$kdir/$key/System.map"
mv "$out.tmp" "$out"
echo "$out"
