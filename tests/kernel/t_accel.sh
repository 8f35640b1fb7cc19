#!/usr/bin/env bash
# t_accel.sh - choosing the accelerator on this very host: `--accel auto` never hangs, and
# `--accel kvm` either works (where a test guest boots under KVM) or fails at once with the
# reason, never hangs. On these build machines /dev/kvm exists but guests hang under it
# (nested, no vmx/svm), which is exactly the case the probe is for.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/init/lib.sh"

init_require_vm
oci2vm=$O2V_BUILD/oci2vm
work=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-accel.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OCI2VM_RUNTIME_DIR=$work/rt

mkdir -p "$work/s/app_root"
init_base_root "$work/s/app_root"
init_image "$work/t.cpio" "$work/s" -- --no-network -- sh -c \
	'cat /sys/devices/system/clocksource/clocksource0/current_clocksource; exit 5'

info=$("$oci2vm" info 2>&1)
auto=$(printf '%s\n' "$info" | sed -n 's/^accel: *--accel auto picks \([a-z]*\):.*/\1/p')
diag "this host: $(printf '%s\n' "$info" | grep '^accel:')"
ok "$([ "$auto" = kvm ] || [ "$auto" = tcg ]; echo $?)" "info says what auto picks ($auto)"

out=$(timeout 120 "$oci2vm" boot --accel auto --kernel "$KERNEL" "$work/t.cpio" 2>&1 </dev/null)
is "$?" 5 "auto: boots (never hangs)" || diag "$out"

out=$(timeout 60 "$oci2vm" boot --accel kvm --kernel "$KERNEL" "$work/t.cpio" 2>&1 </dev/null)
rc=$?
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -s "$OCI2VM_RUNTIME_DIR/kvm-probe" ] &&
	grep -q ' yes$' "$OCI2VM_RUNTIME_DIR/kvm-probe"; then
	is "$rc" 5 "kvm: the test guest booted, so the VM runs under KVM" || diag "$out"
	like "$out" "kvm-clock" "kvm: the guest's clocksource is kvm-clock"
else
	is "$rc" 125 "kvm where KVM cannot run a guest: fails (125) instead of hanging" ||
		diag "$out"
	like "$out" "--accel kvm: .*(KVM cannot run a guest|/dev/kvm|neither vmx nor svm).*use --accel tcg" \
		"kvm: one line with the reason and the way out"
	is "$(printf '%s\n' "$out" | wc -l)" 1 "kvm: exactly one line"
fi
if [ -e "$OCI2VM_RUNTIME_DIR/kvm-probe" ]; then
	like "$(cat "$OCI2VM_RUNTIME_DIR/kvm-probe")" "^[0-9a-f-]+ (yes|no)$" \
		"the verdict is kept for this host boot"
	out2=$(timeout 60 "$oci2vm" boot --accel kvm --kernel "$KERNEL" "$work/t.cpio" 2>&1 </dev/null)
	is "$?" "$rc" "a second --accel kvm gives the same answer (from the kept verdict)"
else
	skip "no probe was needed on this host (no usable /dev/kvm, or a CPU without vmx/svm)" 2
fi
done_testing
