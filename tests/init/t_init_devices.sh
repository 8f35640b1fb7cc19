#!/usr/bin/env bash
# t_init_devices.sh - bootstrap-init with the VM's other devices, in a real microVM:
# an ext4 root disk (the container root on /dev/vda, unmounted cleanly at the end), 9p
# volumes read-write and read-only, and the control port's `signal N` and `winsize R C`
# (plus garbage, a line split across connections, and a host that connects again).
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/init/lib.sh"

init_require_vm
command -v python3 >/dev/null || skip_all "python3 not installed (control socket client)"
PATH=$PATH:/usr/sbin:/sbin
have_e2fs=1
for t in mke2fs e2fsck dumpe2fs debugfs; do command -v $t >/dev/null || have_e2fs=0; done

unlike() { # TEXT REGEX NAME
	if [[ $1 =~ $2 ]]; then
		_tap_result 1 "$3"
		diag "     got: '$1'" "    want no match: /$2/"
		return 1
	fi
	_tap_result 0 "$3"
}

# Send BYTES on the control socket, then expect the console to match REGEX.
ctl_expect() { # BYTES REGEX NAME
	vm_ctl "$1"
	vm_wait_for "$2" 30
	is "$?" 0 "$3"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-initdev.XXXXXX")
trap 'rm -rf "$work"' EXIT

init_pick_boot "$work/pick" || bail_out "cannot build the probe image"
diag "booting with: $BOOT_MODE${PICK_REASON:+ ($PICK_REASON)}"

# --- root disk ------------------------------------------------------------------------------
# The disk holds /app_root and /bin/busybox (docs/vm-contract.md); the initramfs only /init and a
# run.conf naming /dev/vda.
disk_initrd() { # OUT -- RUNCONFIG_ARGS...
	local out=$1 s
	shift 2
	s=$(mktemp -d "$work/initrd.XXXXXX")
	mkdir -p "$s/.oci2vm"
	cp "$INIT_BIN" "$s/init"
	"$OCI2VM" runconfig -o "$s/.oci2vm/run.conf" --rootdisk /dev/vda "$@" &&
		init_cpio "$s" "$out"
}

# e2fsck -fn reads without writing; a journal that still needs replaying shows as
# needs_recovery, and a file system left mounted as "not clean".
disk_clean() { # IMAGE NAME
	local fsck state
	fsck=$(e2fsck -fn "$1" 2>&1)
	is "$?" 0 "$2: e2fsck -fn finds nothing to fix" || diag "$fsck"
	state=$(dumpe2fs -h "$1" 2>/dev/null)
	unlike "$(printf '%s\n' "$state" | grep -i '^Filesystem features')" needs_recovery \
		"$2: no journal replay needed"
	like "$(printf '%s\n' "$state" | grep '^Filesystem state')" 'clean$' \
		"$2: the file system was unmounted (state clean)"
}

if [ "$have_e2fs" = 1 ]; then
	mkdir -p "$work/disk/app_root/data" "$work/disk/bin"
	init_base_root "$work/disk/app_root"
	cp "$BUSYBOX" "$work/disk/bin/busybox"
	echo "hello from the disk" >"$work/disk/app_root/data/hello"
	disk=$work/root.ext4
	if mke2fs -q -t ext4 -d "$work/disk" -F "$disk" 32M >"$work/mke2fs.log" 2>&1; then
		disk_initrd "$work/disk.cpio" -- --no-network -u app -- sh -c '
cat /data/hello; echo "ID $(id -u)"; echo persisted >/tmp/../written 2>/dev/null || echo denied
while read -r dev mnt type rest; do [ "$mnt" = / ] || [ "$mnt" = /proc ] && echo "MNT $mnt $type"; done </proc/mounts
exit 6'
		VM_DISK=$disk init_boot "$work/disk.cpio"
		is "$BOOT_RC" 6 "root disk: the workload's exit code" || diag "$BOOT_OUT"
		like "$BOOT_OUT" "hello from the disk" "root disk: the workload sees the disk's files"
		like "$BOOT_OUT" "ID 1000" "root disk: USER from the disk's /etc/passwd"
		like "$BOOT_OUT" "MNT /proc proc" "root disk: /proc mounted in the container"
		disk_clean "$disk" "root disk"

		# A writable root (Docker's), and the write is on the disk after power-off.
		disk_initrd "$work/disk-w.cpio" -- --no-network -- sh -c 'echo persisted >/written'
		VM_DISK=$disk init_boot "$work/disk-w.cpio"
		is "$BOOT_RC" 0 "root disk: write as root"
		is "$(debugfs -R 'cat /app_root/written' "$disk" 2>/dev/null)" persisted \
			"root disk: the workload's write is on the disk after power-off"
		disk_clean "$disk" "root disk after a write"

		# init's own failure (no such user) still unmounts the disk before power-off.
		disk_initrd "$work/disk-bad.cpio" -- --no-network -u nobody -- true
		VM_DISK=$disk init_boot "$work/disk-bad.cpio"
		is "$BOOT_RC" 125 "root disk, missing user: exit 125"
		like "$BOOT_OUT" "oci2vm-init: unable to find user 'nobody'" \
			"root disk, missing user: one-line error"
		disk_clean "$disk" "root disk after init's failure"

		# A stop request while the workload runs on the disk.
		disk_initrd "$work/disk-stop.cpio" -- --no-network -- sh -c \
			'trap "echo bye >/bye; exit 4" TERM; echo ready; while :; do sleep 0.1; done'
		VM_DISK=$disk vm_start "$work/disk-stop.cpio"
		if vm_wait_for '^ready' 60; then
			vm_stop
			vm_wait
			is "$BOOT_RC" 4 "root disk, stop: the TERM handler's exit code"
			is "$(debugfs -R 'cat /app_root/bye' "$disk" 2>/dev/null)" bye \
				"root disk, stop: what the handler wrote reached the disk"
		else
			vm_not_ready "root disk, stop" 1
		fi
		disk_clean "$disk" "root disk after a stop"
	else
		diag "$(cat "$work/mke2fs.log")"
		for _ in $(seq 22); do skip "mke2fs -d failed: no root disk image"; done
	fi
else
	for _ in $(seq 22); do skip "e2fsprogs (mke2fs, e2fsck, dumpe2fs, debugfs) not installed"; done
fi

# --- 9p volumes ------------------------------------------------------------------------------
mkdir -p "$work/vol-rw" "$work/vol-ro" "$work/vols/app_root"
echo "host rw file" >"$work/vol-rw/in.txt"
echo "host ro file" >"$work/vol-ro/ro.txt"
init_base_root "$work/vols/app_root"
init_image "$work/vols.cpio" "$work/vols" -- --no-network -u app \
	-v "$work/vol-rw:/mnt/rw" -v "$work/vol-ro:/srv/deep/ro:ro" -- sh -c '
cat /mnt/rw/in.txt /srv/deep/ro/ro.txt
echo "from the guest" >/mnt/rw/out.txt && echo RW-WRITTEN
if echo x 2>/dev/null >/srv/deep/ro/new.txt; then echo RO-WRITABLE; else echo RO-REFUSED; fi
grep " 9p " /proc/mounts | while read -r tag mnt type opts rest; do echo "VOL $tag $mnt ${opts%%,*}"; done'
chmod 777 "$work/vol-rw" # the workload runs as uid 1000; 9p passes the host's modes through
VM_VOLUMES=("$work/vol-rw:/mnt/rw" "$work/vol-ro:/srv/deep/ro:ro")
init_boot "$work/vols.cpio"
VM_VOLUMES=()
is "$BOOT_RC" 0 "9p: exit 0" || diag "$BOOT_OUT"
like "$BOOT_OUT" "host rw file" "9p rw: the guest reads the host's file"
like "$BOOT_OUT" "host ro file" "9p ro: the guest reads the host's file"
like "$BOOT_OUT" "RW-WRITTEN" "9p rw: the guest writes"
is "$(cat "$work/vol-rw/out.txt" 2>/dev/null)" "from the guest" "9p rw: the host sees the write"
like "$BOOT_OUT" "RO-REFUSED" "9p ro: a write is refused"
ok "$([ -e "$work/vol-ro/new.txt" ] && echo 1 || echo 0)" "9p ro: nothing created on the host"
like "$BOOT_OUT" "VOL o2v_v0 /mnt/rw rw" "9p rw: mounted read-write at its guest path"
like "$BOOT_OUT" "VOL o2v_v1 /srv/deep/ro ro" "9p ro: mounted read-only, missing parents created"

# --- the control port: signal N, winsize R C ------------------------------------------------
mkdir -p "$work/sig/app_root"
init_base_root "$work/sig/app_root"
init_image "$work/sig.cpio" "$work/sig" -- --no-network -- sh -c '
n=0
trap "n=\$((n + 1)); echo got-usr1-\$n" USR1
trap "echo got-hup; exit 3" HUP
echo ready
while :; do sleep 0.1; done'
vm_start "$work/sig.cpio"
if vm_wait_for '^ready' 60; then
	ctl_expect 'signal 10\n' '^got-usr1-1' "ctl 'signal 10': the workload got SIGUSR1"
	# Garbage is logged and ignored; init keeps serving the port.
	ctl_expect 'reboot now\nsignal 99\n' "ignoring unknown control command 'signal 99'" \
		"ctl garbage: one line per bad command, the workload goes on"
	# Another connection after the host hung up (init must be woken again), with a
	# command split across two connections.
	sleep 0.5
	vm_ctl 'sig'
	sleep 0.5
	ctl_expect 'nal 10\n' '^got-usr1-2' "ctl: a line split across two connections, after a reconnect"
	vm_ctl 'signal 1\n'
	vm_wait
	is "$BOOT_RC" 3 "ctl 'signal 1': the workload's HUP handler decides the exit code"
	like "$BOOT_OUT" "got-hup" "ctl 'signal 1': the HUP handler ran"
	like "$BOOT_OUT" "ignoring unknown control command 'reboot now'" \
		"ctl garbage: the first bad line is reported too"
	unlike "$BOOT_OUT" "got-usr1-3" "ctl: no command was run twice"
else
	vm_not_ready "ctl signal" 7
fi

init_image "$work/winch.cpio" "$work/sig" -- --no-network -t --winsize 10x20 -- sh -c '
trap "echo WINCH \$(stty size)" WINCH
echo "ready $(stty size)"
while :; do sleep 0.1; done'
vm_start "$work/winch.cpio"
if vm_wait_for '^ready 10 20' 60; then
	ctl_expect 'winsize 33 101\n' '^WINCH 33 101' \
		"ctl 'winsize 33 101': the terminal is resized and the workload gets SIGWINCH"
	ctl_expect 'winsize 70000 1\n' "ignoring unknown control command 'winsize 70000 1'" \
		"ctl winsize out of range: refused"
	vm_stop
	vm_wait
	is "$BOOT_RC" 143 "terminal workload stopped: 128+SIGTERM"
	unlike "$BOOT_OUT" "WINCH 70000" "ctl winsize out of range: never applied"
else
	vm_not_ready "ctl winsize" 3
fi

done_testing
