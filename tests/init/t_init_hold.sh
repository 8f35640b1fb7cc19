#!/usr/bin/env bash
# t_init_hold.sh - a run configuration with hold, in a real microVM: init sets everything up,
# reports `held` on the status port and runs the workload only on the control port's
# `start` (what an OCI runtime's create and start need); `stop` or `signal N` while held
# end the VM without running it; garbage while held is ignored.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/init/lib.sh"

init_require_vm
command -v python3 >/dev/null || skip_all "python3 not installed (control socket client)"

work=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-inithold.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Our own QEMU line, whose status port is a file the test can watch (oci2vm boot reads the
# port from a socket itself); init's side of hold is what is tested here.
BOOT_MODE=own
# As oci2vm does under TCG: the host's TSC rate, so the guest does not calibrate it against
# the PIT, which fails on a busy host (and a kernel without it may not boot then).
khz=$(awk -F': *' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
grep -qw constant_tsc /proc/cpuinfo && [ -n "$khz" ] &&
	VM_APPEND="tsc_early_khz=$khz tsc=reliable nolapic_timer no_timer_check"

status_file() { echo "$VM_DIR/status"; }

wait_held() { # SECONDS
	local deadline=$(($(date +%s) + $1)) f
	while [ "$(date +%s)" -lt "$deadline" ]; do
		f=$(status_file)
		[ -n "$f" ] && grep -qx held "$f" 2>/dev/null && return 0
		kill -0 "$VM_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

mkdir -p "$work/h/app_root"
init_base_root "$work/h/app_root"
hold_image() { # OUT: a fresh copy of the held image for each VM
	init_image "$1" "$work/h" -- --no-network --hold -- sh -c 'echo RAN; exit 7'
}

# held, then started
hold_image "$work/hold1.cpio"
vm_start "$work/hold1.cpio"
if wait_held 60; then
	pass "held: init reports held"
	sleep 1
	unlike "$(cat "$VM_OUT")" "RAN" "held: the workload has not run a second later"
	vm_ctl 'bogus\nstart 1\n'
	sleep 0.5
	unlike "$(cat "$VM_OUT")" "RAN" "held: garbage and a malformed start do not start it"
	vm_ctl 'start\n'
	vm_wait
	is "$BOOT_RC" 7 "started: the workload's exit code" || diag "$BOOT_OUT"
	like "$BOOT_OUT" "RAN" "started: the workload ran"
	if [ "$BOOT_MODE" = own ]; then
		like "$BOOT_STATUS" $'held\nstarted\nexit 7' "status port: held, started, exit 7"
	else
		skip "the status port's lines are inside oci2vm boot's run directory"
	fi
else
	diag "QEMU: $(cat "$VM_DIR/qemu.err" 2>/dev/null | tail -3)"
	vm_not_ready "held" 5
fi

# held, then stopped: the workload never runs
hold_image "$work/hold2.cpio"
vm_start "$work/hold2.cpio"
if wait_held 60; then
	vm_ctl 'stop\n'
	vm_wait
	is "$BOOT_RC" 143 "stopped while held: 128+SIGTERM" || diag "$BOOT_OUT"
	unlike "$BOOT_OUT" "RAN" "stopped while held: the workload never ran"
else
	diag "QEMU: $(cat "$VM_DIR/qemu.err" 2>/dev/null | tail -3)"
	vm_not_ready "held, stop" 1
fi

# held, then killed with a signal number
hold_image "$work/hold3.cpio"
vm_start "$work/hold3.cpio"
if wait_held 60; then
	vm_ctl 'signal 9\n'
	vm_wait
	is "$BOOT_RC" 137 "signal 9 while held: 128+9" || diag "$BOOT_OUT"
else
	diag "QEMU: $(cat "$VM_DIR/qemu.err" 2>/dev/null | tail -3)"
	vm_not_ready "held, signal" 0
fi

# A config without hold runs at once.
mkdir -p "$work/n/app_root"
init_base_root "$work/n/app_root"
init_image "$work/nohold.cpio" "$work/n" -- --no-network -- sh -c 'exit 0'
vm_start "$work/nohold.cpio"
qerr=$VM_DIR/qemu.err
vm_wait_for 'x^' 3 # let it run a moment
qemu_err=$(cat "$qerr" 2>/dev/null)
vm_wait
is "$BOOT_RC" 0 "no hold: runs at once" || diag "console: $BOOT_OUT" "status: $BOOT_STATUS" "qemu: $qemu_err"
done_testing
