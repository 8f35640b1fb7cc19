#!/usr/bin/env bash
# t_boot.sh - `oci2vm boot` on bad input, and its clean-up when it is told to stop.
set -u
. "${O2V_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
. "$(dirname "$0")/lib.sh"

[ -x "$oci2vm" ] || skip_all "$oci2vm not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-boot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "cpio" >"$tmp/initrd"
echo "not a kernel" >"$tmp/notes.txt"

# check_fail NAME WANT_TEXT CMD...: exits non-zero and says WANT_TEXT on stderr
check_fail() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [[ $out == *"$want"* ]]; then
		pass "$name"
	else
		not_ok "$name"
		diag "exit $rc, stderr: $out" "wanted text: $want"
	fi
}

check_fail "OCI2VM_KERNEL missing: error names the path" "$tmp/no-such-kernel" \
	env OCI2VM_KERNEL="$tmp/no-such-kernel" "$oci2vm" boot "$tmp/initrd"
check_fail "OCI2VM_KERNEL not a kernel: error names the path" "'$tmp/notes.txt' is not a kernel" \
	env OCI2VM_KERNEL="$tmp/notes.txt" "$oci2vm" boot "$tmp/initrd"
# Outside the build tree and not installed: no kernel beside it, none built for it.
mkdir -p "$tmp/lone"
cp "$oci2vm" "$tmp/lone/oci2vm"
check_fail "no kernel built: error says make kernel" "make kernel" \
	env -u OCI2VM_KERNEL OCI2VM_CACHE="$tmp/empty-cache" "$tmp/lone/oci2vm" boot "$tmp/initrd"
check_fail "unknown --accel value refused" "'hvf'" "$oci2vm" boot --accel hvf "$tmp/initrd"
check_fail "missing initrd named" "$tmp/none.cpio" "$oci2vm" boot "$tmp/none.cpio"

# A fake kernel is enough to get past the kernel check to the QEMU lookup.
printf '\177ELF\002\001\001' >"$tmp/vmlinux"
dd if=/dev/zero bs=1 count=57 status=none >>"$tmp/vmlinux"
printf '\076' | dd of="$tmp/vmlinux" bs=1 seek=18 conv=notrunc status=none
mkdir "$tmp/bin"
check_fail "QEMU missing: error names the Debian package" "qemu-system-x86" \
	env PATH="$tmp/bin" "$oci2vm" boot --kernel "$tmp/vmlinux" "$tmp/initrd"

# SIGTERM: 'stop' goes to the guest (this one ignores it), then QEMU is killed after the grace
# period; oci2vm exits 137 (128 + SIGKILL, Docker's code for a killed container), no QEMU is
# left, and its temporary directory is gone.
kernel_ok=1
if [ -n "${OCI2VM_KERNEL:-}" ]; then
	kernel=$OCI2VM_KERNEL
elif ! kernel=$("$top/kernel/build.sh" --path 2>/dev/null); then
	kernel_ok=0
fi
if [ $kernel_ok = 1 ] && command -v qemu-system-x86_64 >/dev/null && command -v musl-gcc >/dev/null; then
	build_probe "$tmp"
	make_cpio "$tmp" "$tmp/probe.cpio"
	mkdir "$tmp/run"
	TMPDIR=$tmp/run OCI2VM_KERNEL=$kernel "$oci2vm" boot --append o2v_hang=1 "$tmp/probe.cpio" \
		</dev/null >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q 'probe: hanging' "$tmp/out" && break
		sleep 0.1
	done
	grep -q 'probe: hanging' "$tmp/out"
	ok $? "guest started" || diag <"$tmp/err"
	qemu_pid=$(pgrep -P $pid -f qemu-system-x86_64 | head -1)
	[ -n "$qemu_pid" ]
	ok $? "QEMU runs as a child of oci2vm"
	kill -TERM $pid
	wait $pid
	is "$?" 137 "SIGTERM: guest ignored stop, QEMU killed after the grace period: exit 137"
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		not_ok "SIGTERM: QEMU is gone"
		kill -KILL "$qemu_pid"
	else
		pass "SIGTERM: QEMU is gone"
	fi
	is "$(ls -A "$tmp/run")" "" "SIGTERM: temporary directory removed"
else
	skip "kernel not built, or QEMU/musl-gcc missing" 5
fi
done_testing
