# tests/kernel/lib.sh - shared by the tests that boot our kernel (source after tests/lib/tap.sh).
#
#   kernel_or_skip_all          sets $kernel (OCI2VM_KERNEL or the `make kernel` build), or
#                               skips the whole test file when there is none
#   build_probe DIR             builds tests/kernel/probe.c static into DIR/root/init
#   make_cpio DIR OUT           packs DIR/root (owned by root:root) as newc cpio OUT
top=${O2V_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${O2V_BUILD:-$top/build}
oci2vm=$build/oci2vm

kernel_or_skip_all() {
	if [ -n "${OCI2VM_KERNEL:-}" ]; then
		kernel=$OCI2VM_KERNEL
	elif ! kernel=$("$top/kernel/build.sh" --path 2>/dev/null); then
		skip_all "kernel not built: run 'make kernel'"
	fi
	command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
	[ -x "$oci2vm" ] || skip_all "$oci2vm not built"
}

# musl has no linux/ uapi headers; Debian's (linux-libc-dev) are libc-neutral.
build_probe() {
	local dir=$1
	[ -e /usr/include/linux/aio_abi.h ] || skip_all "linux-libc-dev headers missing"
	command -v musl-gcc >/dev/null || skip_all "musl-gcc missing (musl-tools)"
	mkdir -p "$dir/kinc" "$dir/root"
	ln -sfn /usr/include/linux "$dir/kinc/linux"
	ln -sfn /usr/include/asm-generic "$dir/kinc/asm-generic"
	ln -sfn "/usr/include/$(gcc -print-multiarch)/asm" "$dir/kinc/asm"
	musl-gcc -static -O2 -Wall -Wextra -Werror -isystem "$dir/kinc" \
		-o "$dir/root/init" "$top/tests/kernel/probe.c"
}

make_cpio() {
	(cd "$1/root" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) >"$2"
}
