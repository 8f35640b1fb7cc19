#!/usr/bin/env bash
# t_dev.sh - the workload's /dev and what it may open, as Docker gives them: a tmpfs with
# Docker's list (console only with -t), Docker's default capability set, and a device rule
# that keeps the VM's own devices (the root disk, the host channel's ports, hvc*, kmsg, mem)
# closed even to a root workload that makes their nodes with CAP_MKNOD, or mounts devtmpfs
# with every capability.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup busybox

# The list README.md documents ("What the host trusts of the guest").
o2v run --rm "$BB" sh -c 'ls /dev | tr "\n" " "'
is "$rc" 0 "ls /dev" || diag "$errout"
is "$out" "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero " \
	"/dev holds Docker's list and nothing of the VM"

if command -v script >/dev/null; then
	got=$(script -qec "$OCI2VM run --rm -it $BB sh -c 'ls /dev | tr \"\\n\" \" \"; tty; test /dev/console -ef /dev/pts/0 && echo console-is-pts'" \
		/dev/null </dev/null 2>&1 | tr -d '\r\0')
	like "$got" "console fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero" \
		"-t: /dev/console too"
	like "$got" "console-is-pts" "-t: /dev/console is the terminal (bind-mounted, as Docker does)"
	like "$got" "/dev/pts/0" "-t: the terminal is a pty of the container's devpts (as Docker's)"
else
	skip 2 "script (util-linux) missing: no terminal to test -t with"
fi

# Make the VM's device nodes again (their numbers from /sys, still readable) and try them:
# read and write must both be refused; the harmless ones keep working.
probe='
mk() { [ -n "$2" ] && mknod "/tmp/$1" "$3" "${2%%:*}" "${2##*:}" 2>&1 && echo "made $1"; }
try() {
	if head -c1 "/tmp/$1" >/dev/null 2>&1; then echo "$1: read"; else echo "$1: no read"; fi
	if echo x 2>/dev/null >"/tmp/$1"; then echo "$1: write"; else echo "$1: no write"; fi
}
mk vda "$(cat /sys/block/vda/dev 2>/dev/null)" b
mk hvc0 "$(cat /sys/class/tty/hvc0/dev)" c
mk kmsg 1:11 c
mk mem 1:1 c
for p in /sys/class/virtio-ports/vport*; do mk "$(basename "$p")" "$(cat "$p/dev")" c; done
for n in /tmp/*; do try "$(basename "$n")"; done
echo hello >/dev/null && head -c4 /dev/zero | wc -c | sed "s/^/zero: /"
echo to-stdout >/dev/stdout
grep CapBnd /proc/self/status
cat /proc/self/cgroup
echo $$ 2>&1 >/sys/fs/cgroup/cgroup.procs || echo "cgroup: stays"
'
o2v run --rm "$BB" sh -c "$probe"
is "$rc" 0 "as root with Docker's default capabilities: the probe ran" || diag "$errout"
like "$out" "made vda" "mknod of the root disk's node is allowed (as Docker's c/b *:* m)"
like "$out" "made vport0p1" "... and of the host channel's ports"
unlike "$out" "(vda|hvc0|kmsg|mem|vport[0-9p]+): (read|write)" \
	"none of them opens, for reading or writing"
like "$out" "vport0p1: no write" "writing to where the status port was fails"
like "$out" "zero: 4" "/dev/zero and /dev/null work"
like "$out" "to-stdout" "/dev/stdout works (images log there)"
like "$out" "CapBnd:[[:space:]]+00000000a80425fb" "the bounding set is Docker's default"
like "$out" "0::/" "the workload's cgroup is its root (a cgroup namespace)"
like "$out" "cgroup: stays" "it cannot move itself out of the cgroup"

o2v run --rm --cap-add ALL "$BB" sh -c '
mkdir -p /tmp/d && mount -t devtmpfs devtmpfs /tmp/d && echo mounted
head -c1 /tmp/d/vda >/dev/null 2>&1 && echo "vda: read"
echo x 2>/dev/null >/tmp/d/vport0p1 && echo "vport0p1: write"
grep CapBnd /proc/self/status'
is "$rc" 0 "--cap-add ALL: the probe ran" || diag "$errout"
like "$out" "mounted" "with every capability the workload mounts devtmpfs"
unlike "$out" "vda: read|vport0p1: write" "... and still opens none of the VM's devices"
like "$out" "CapBnd:[[:space:]]+000001ffffffffff" "--cap-add ALL: every capability"

o2v run --rm --cap-drop ALL --cap-add CHOWN --cap-add net_bind_service "$BB" \
	grep CapBnd /proc/self/status
like "$out" "CapBnd:[[:space:]]+0000000000000401" "--cap-drop ALL --cap-add CHOWN,NET_BIND_SERVICE"
o2v run --rm --cap-drop MKNOD "$BB" sh -c 'mknod /tmp/n c 1 3 2>/dev/null && echo made || echo refused'
is "$out" "refused" "--cap-drop MKNOD: no mknod"
o2v run --rm --cap-add SYS_MAGIC "$BB" true
is "$rc" 125 "--cap-add SYS_MAGIC: exit 125"
like "$errout" "^oci2vm: error: --cap-add 'SYS_MAGIC': not a capability" "... naming it"
no_leftovers "dev"
done_testing
