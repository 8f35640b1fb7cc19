#!/usr/bin/env bash
# t_kernel_features.sh - boot our kernel with tests/kernel/probe.c as /init and relay one TAP
# line per kernel feature it exercised (syscall families, filesystems, sockets, namespaces,
# cgroup v2, virtio devices). A fragment change that drops a feature fails here.
set -u
. "${O2V_TOP:-$(dirname "$0")/../..}/tests/lib/tap.sh"
. "$(dirname "$0")/lib.sh"

kernel_or_skip_all
command -v mke2fs >/dev/null || skip_all "mke2fs missing (e2fsprogs)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-kernel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

build_probe "$tmp"
make_cpio "$tmp" "$tmp/probe.cpio"

# The probe reads this marker from the ext4 disk and from the 9p share, and writes back.
marker=oci2vm-probe-marker
mkdir "$tmp/ext4root" "$tmp/share"
echo "$marker" >"$tmp/ext4root/marker"
echo "$marker" >"$tmp/share/marker"
mke2fs -q -F -t ext4 -d "$tmp/ext4root" "$tmp/disk.img" 16M >/dev/null

OCI2VM_KERNEL=$kernel timeout 300 "$oci2vm" boot --net --disk "$tmp/disk.img" \
	--volume "$tmp/share:/probe" "$tmp/probe.cpio" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?

features=0
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in
	"probe: ok "*) pass "${line#probe: ok }"; features=$((features + 1)) ;;
	"probe: not ok "*) not_ok "${line#probe: not ok }"; features=$((features + 1)) ;;
	"probe: skip "*) skip "${line#probe: skip }"; features=$((features + 1)) ;;
	"probe: uptime at /init "*) diag "kernel clock at /init: ${line#probe: uptime at /init }" ;;
	esac
done <"$tmp/out"

# 31 features in probe.c's table; fewer lines means the probe died on the way.
is "$features" 31 "probe reported every feature"
grep -q '^probe: done' "$tmp/out"
ok $? "probe ran to the end" || { tail -n 20 "$tmp/out" "$tmp/err" | diag; }
is "$rc" 0 "oci2vm boot exits with the guest's status (exit 0)" || diag <"$tmp/err"
is "$(cat "$tmp/share/from-guest" 2>/dev/null)" "$marker" "9p write reached the host directory"
debugfs -R 'stat /written' "$tmp/disk.img" 2>/dev/null | grep -q 'Type: regular'
ok $? "ext4 write reached the disk image"
# Two vCPUs take the other timer path (local APIC timers calibrated, see vm/qemu_argv.c):
# every feature, including high-resolution timers, must hold there too.
OCI2VM_KERNEL=$kernel timeout 300 "$oci2vm" boot --cpus 2 --net --disk "$tmp/disk.img" \
	--volume "$tmp/share:/probe" "$tmp/probe.cpio" </dev/null >"$tmp/out2" 2>"$tmp/err2"
is "$?" 0 "two vCPUs: every feature passes" || grep -a -e '^probe: not ok' "$tmp/out2" | diag
done_testing
