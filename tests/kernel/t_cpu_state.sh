#!/usr/bin/env bash
# t_cpu_state.sh - the guest CPU state that kernel/patches/0009 sets early, and the flags oci2vm
# gives TCG, as user space sees them, with the boot options that make the kernel take back what
# 0009 enabled early: noxsave, clearcpuid=avx, clearcpuid=smap, clearcpuid=umip.
set -u
. "${O2V_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
. "$(dirname "$0")/lib.sh"

kernel_or_skip_all
command -v musl-gcc >/dev/null || skip_all "musl-gcc missing (musl-tools)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-cpu.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root"
musl-gcc -static -O2 -Wall -Wextra -Werror -o "$tmp/root/init" "$top/tests/kernel/cpustate.c"
make_cpio "$tmp" "$tmp/init.cpio"

# boot NAME [APPEND]: boots with --accel tcg (the state under test is TCG's), output in $tmp/NAME
boot() {
	OCI2VM_KERNEL=$kernel timeout 60 "$oci2vm" boot --accel tcg ${2:+--append "$2"} \
		"$tmp/init.cpio" </dev/null >"$tmp/$1" 2>"$tmp/$1.err"
	grep -q '^cpustate: done' "$tmp/$1"
	ok $? "$1: user space runs and prints" || tail -n 20 "$tmp/$1" "$tmp/$1.err" | diag
}
# field NAME KEY: the value printed for KEY ("xcr0", "osxsave", "flag avx")
field() { sed -n "s/^cpustate: $2 //p" "$tmp/$1" | tr -d '\r' | head -1; }

boot default
is "$(field default osxsave)" 1 "default: XSAVE enabled for user space"
xcr0=$(field default xcr0)
[ -n "$xcr0" ] && [ $((xcr0 & 7)) -eq 7 ]
ok $? "default: XCR0 enables x87, SSE and AVX ($xcr0)"
is "$(field default 'flag avx')" 1 "default: the kernel reports AVX"
is "$(field default 'flag smap')" 1 "default: SMAP in use"
is "$(field default 'flag erms')" 0 "default: no ERMS under TCG (rep movsb runs a byte per step)"

boot noxsave noxsave
is "$(field noxsave osxsave)" 0 "noxsave: CR4.OSXSAVE is clear again"
is "$(field noxsave 'flag xsave')" 0 "noxsave: no xsave flag"
is "$(field noxsave 'flag avx')" 0 "noxsave: no AVX"

boot no-avx clearcpuid=avx
xcr0=$(field no-avx xcr0)
[ -n "$xcr0" ] && [ $((xcr0 & 4)) -eq 0 ]
ok $? "clearcpuid=avx: XCR0 without AVX state ($xcr0)"

boot no-smap clearcpuid=smap
is "$(field no-smap 'flag smap')" 0 "clearcpuid=smap: no SMAP"

boot no-umip clearcpuid=umip
is "$(field no-umip 'flag umip')" 0 "clearcpuid=umip: no UMIP"
done_testing
