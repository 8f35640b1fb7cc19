#!/usr/bin/env bash
# Pre-booted VMs (vm/snapshot.h): the first `run` of a VM shape boots, saves the VM once
# init waits for its configuration, and restores it; every later run of that shape restores
# it, whatever the image. Hits are counted by the snapshot's `uses` file (a byte per
# restore). Restored VMs must not share random state, must have the host's time, must see
# their own disk; a damaged snapshot means a cold boot, a warning and a new snapshot; a
# read-only cache means cold boots and one warning; OCI2VM_SNAPSHOT=0 and --no-snapshot
# turn it off; nothing restored is written back.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup busybox redis

S=$OCI2VM_CACHE/snapshots
uses() { cat "$S"/*/uses 2>/dev/null | wc -c; }  # restores, all shapes
shapes() { find "$S" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l; }

o2v run --rm "$BB" echo first
is "$rc" 0 "first run of a shape: the workload runs" || diag "$errout"
is "$out" "first" "... its output"
is "$errout" "" "... and no warning"
is "$(shapes)" 1 "... one snapshot saved"
dir=$(find "$S" -mindepth 1 -maxdepth 1 -type d ! -name '.*')
is "$(stat -c '%a %U' "$dir"/state "$dir"/ram "$dir"/initrd "$dir"/meta | sort -u)" \
	"600 $(id -un)" "the snapshot's files are private (0600) and ours"
is "$(uses)" 1 "... and the first run itself restored from it"
ram_sum=$(sha256sum <"$dir/ram") state_sum=$(sha256sum <"$dir/state")

before=$(uses)
o2v run --rm "$BB" sh -c 'echo $((6*7))'
is "$out" 42 "second run: restored ($errout)"
is "$(uses)" $((before + 1)) "... a hit"

# the shapes users run: ports, detached, a terminal (a volume adds a device: a shape of its own)
port=$(free_port)
before=$(uses)
o2v run --rm -p "$port:80" "$BB" true
is "$rc/$(uses)" "0/$((before + 1))" "-p: restored from the default shape's snapshot"
before=$(uses)
o2v run -d -q --name det "$BB" sleep 60
is "$rc/$(uses)" "0/$((before + 1))" "-d: restored"
o2v exec det sh -c 'echo exec-ok'
is "$out" "exec-ok" "-d: exec into a restored VM"
o2v stop -t 1 det
is "$rc" 0 "-d: stop"
o2v rm det
before=$(uses)
out=$(/usr/bin/python3 "$O2V_TOP/tests/lib/ptyrun.py" 24 80 '' -- "$OCI2VM" run --rm -it "$BB" \
	sh -c 'tty; stty size' 2>&1)
like "$out" "/dev/pts/0" "-it: a terminal in a restored VM"
like "$out" "24 80" "... with the window size"
is "$(uses)" $((before + 1)) "-it: restored"
mkdir -p "$T/vol"
echo from-host >"$T/vol/f"
o2v run --rm -v "$T/vol:/v" "$BB" cat /v/f
is "$out" "from-host" "-v: first run of its shape" || diag "$errout"
is "$(shapes)" 2 "-v: a shape of its own (one more device)"
before=$(uses)
o2v run --rm -v "$T/vol:/v" "$BB" sh -c 'cat /v/f; echo back >/v/g'
is "$out/$(uses)" "from-host/$((before + 1))" "-v: restored, the volume mounted"
is "$(cat "$T/vol/g")" "back" "-v: writes reach the host"

# no two restored VMs share random state
o2v run --rm "$BB" sh -c 'head -c 16 /dev/urandom | od -An -tx1; cat /proc/sys/kernel/random/uuid'
a=$out
o2v run --rm "$BB" sh -c 'head -c 16 /dev/urandom | od -An -tx1; cat /proc/sys/kernel/random/uuid'
b=$out
isnt() { [ "$1" != "$2" ]; ok $? "$3"; }
isnt "$(head -1 <<<"$a")" "$(head -1 <<<"$b")" "two restored VMs read different bytes from /dev/urandom"
isnt "$(tail -1 <<<"$a")" "$(tail -1 <<<"$b")" "... and different random UUIDs"
o2v run --rm "$BB" date +%s
guest=$out host=$(date +%s)
[ $((host - guest)) -le 1 ] && [ $((guest - host)) -le 1 ]
ok $? "the guest's clock is the host's, within a second (guest $guest, host $host)"

# images of very different sizes from one snapshot: each sees its own disk
bb_img=$(ls "$OCI2VM_CACHE"/vmimages/*.ext4 | head -1)
before=$(uses)
o2v run --rm "$BB" cat /sys/block/vda/size
bb_sectors=$out
o2v run --rm --entrypoint /bin/sh "$REDIS" -- -c 'cat /sys/block/vda/size; command -v redis-server'
redis_out=$out
is "$(uses)" $((before + 2)) "busybox and redis restored from one snapshot"
redis_sectors=$(head -1 <<<"$redis_out")
[ "$redis_sectors" -gt "$bb_sectors" ]
ok $? "... each sees its own disk size (busybox $bb_sectors, redis $redis_sectors sectors)"
like "$redis_out" "redis-server" "... and its own files"
sizes=""
for img in "$OCI2VM_CACHE"/vmimages/*.ext4; do sizes="$sizes $(($(stat -c %s "$img") / 512))"; done
like "$sizes" " $bb_sectors( |\$)" "busybox's size is its cached image's"
like "$sizes" " $redis_sectors( |\$)" "redis's size is its cached image's"

is "$(sha256sum <"$dir/ram")" "$ram_sum" "nothing restored is written back into the snapshot's RAM"
is "$(sha256sum <"$dir/state")" "$state_sum" "... nor into its state"
remember_vmimages

# off switches
before=$(uses)
OCI2VM_SNAPSHOT=0 o2v run --rm "$BB" echo cold
is "$out/$(uses)" "cold/$before" "OCI2VM_SNAPSHOT=0: a cold boot, no restore"
o2v run --rm --no-snapshot "$BB" echo cold
is "$out/$(uses)" "cold/$before" "--no-snapshot: a cold boot, no restore"

# a damaged snapshot: a cold boot, one warning, a new snapshot
truncate -s 100 "$dir/state"
o2v run --rm "$BB" echo after-truncate
is "$rc/$out" "0/after-truncate" "a truncated snapshot: the run still runs"
like "$errout" "^oci2vm: warning: the snapshot of this VM's shape is damaged \(its state has 100 bytes" \
	"... with one warning naming what is wrong"
is "$(grep -c . <<<"$errout")" 1 "... one line"
o2v run --rm "$BB" echo again
is "$rc/$errout" "0/" "... and it was replaced: the next run restores without a word"
# changed behind our back without changing size or mtime: QEMU refuses it
dd if=/dev/urandom of="$dir/state" bs=1 count=64 seek=64 conv=notrunc status=none
# (meta keeps the nanoseconds as a plain number: padded to 9 digits, they are the fraction)
read -r sec nsec < <(sed -n 's/^file state [0-9]* \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$dir/meta")
touch -d "@$sec.$(printf %09d "$((10#$nsec))")" "$dir/state"
o2v run --rm "$BB" echo after-tamper
is "$rc/$out" "0/after-tamper" "a tampered snapshot that passes the checks: the run still runs"
like "$errout" "snapshot of this VM's shape did not restore" "... after one warning"
o2v run --rm "$BB" echo again
is "$rc/$errout" "0/" "... and it was replaced"

# a read-only cache: cold boots, one warning, nothing written
rm -rf "$S"
unshare -m bash -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
	exec "$2" run --rm "$3" echo ro' - "$OCI2VM_CACHE" "$OCI2VM" "$BB" >"$T/ro.out" 2>"$T/ro.err"
is "$?/$(cat "$T/ro.out")" "0/ro" "a read-only cache: the run runs"
like "$(cat "$T/ro.err")" "^oci2vm: warning: snapshots are off: cannot write in '.*' \(Read-only file system\); booting cold$" \
	"... with one warning"
[ ! -e "$S" ]
ok $? "... and writes nothing"

# two first runs at once save one snapshot
rm -rf "$S"
"$OCI2VM" run --rm "$BB" echo one >"$T/c1" 2>&1 &
p1=$!
"$OCI2VM" run --rm "$BB" echo two >"$T/c2" 2>&1
wait "$p1"
is "$(cat "$T/c1" "$T/c2" | sort | tr '\n' ' ')" "one two " "two first runs at once both run"
is "$(shapes)" 1 "... and one snapshot was saved"
is "$(find "$S" -name '.make-*' | wc -l)" 0 "... nothing half-made left"

# prune: a snapshot whose kernel changed is stale
dir=$(find "$S" -mindepth 1 -maxdepth 1 -type d ! -name '.*')
o2v prune
like "$out" "0 stale snapshots" "prune keeps a snapshot whose inputs are unchanged"
sed -i "s|^input \($OCI2VM_KERNEL\) [0-9]*|input \1 1|" "$dir/meta"
o2v prune
like "$out" "1 stale snapshots" "prune removes one whose kernel changed"
is "$(shapes)" 0 "... gone"
o2v run --rm "$BB" true
o2v prune --snapshots
like "$out" "1 snapshots" "prune --snapshots removes every snapshot"

# any part of the shape makes a key of its own; the total size is capped
o2v run --rm "$BB" true
o2v run --rm -m 256m "$BB" true
is "$rc/$(shapes)" "0/2" "-m 256m: a shape of its own"
OCI2VM_SNAPSHOT_CAP_MB=1 o2v run --rm --cpus 2 "$BB" nproc
is "$rc/$out/$(shapes)" "0/2/1" \
	"over OCI2VM_SNAPSHOT_CAP_MB the least recently used go (only the newest is left)"

is "$(vmimage_sums)" "$VMIMAGE_SUMS" "nothing restored is written back into the cached images"
no_leftovers "snapshots"
done_testing
