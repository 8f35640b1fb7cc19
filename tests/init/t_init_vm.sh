#!/usr/bin/env bash
# t_init_vm.sh - bootstrap-init as PID 1 in a real microVM (QEMU TCG, our kernel).
#
# Each case builds a tiny initramfs (/init = build/init, the busybox shim, a
# container root with busybox, users and groups, and a run.conf from
# `oci2vm runconfig`), boots it, and checks the console and the exit code the
# host receives. Without a built kernel every case is skipped.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/init/lib.sh"

init_require_vm

work=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-init.XXXXXX")
trap 'rm -rf "$work"' EXIT

init_pick_boot "$work/pick" || bail_out "cannot build the probe image"
diag "booting with: $BOOT_MODE${PICK_REASON:+ ($PICK_REASON)}"
n=0

# image NAME [--extra FN] -- RUNCONFIG_ARGS...: builds $work/NAME.cpio, sets IMG.
image() {
	local name=$1 extra=
	shift
	if [ "$1" = --extra ]; then
		extra=$2
		shift 2
	fi
	local s=$work/$name
	mkdir -p "$s/app_root"
	init_base_root "$s/app_root"
	[ -n "$extra" ] && "$extra" "$s/app_root"
	IMG=$work/$name.cpio
	init_image "$IMG" "$s" "$@"
}

# expect_exit NAME CODE RUNCONFIG_ARGS...: boot, compare the exit code.
expect_exit() {
	local name=$1 code=$2
	shift 2
	image "$name" -- --no-network "$@" || { not_ok "$name: build image"; return 1; }
	init_boot "$IMG"
	is "$BOOT_RC" "$code" "$name: exit $code" || diag "$BOOT_OUT"
}

# --- exit codes ---------------------------------------------------------------------------
expect_exit exit0 0 -- true
expect_exit exit1 1 -- false
expect_exit exit42 42 -- sh -c 'exit 42'
expect_exit signal 138 -- sh -c 'kill -USR1 $$; sleep 5'
expect_exit notfound-path 127 -- /nonexistent/binary
like "$BOOT_OUT" "oci2vm-init: exec '/nonexistent/binary': No such file or directory" \
	"not found: one-line oci2vm-init error"
if [ "$BOOT_MODE" = own ]; then
	like "$BOOT_STATUS" $'^error exec .*\nexit 127$' \
		"not found: 'error' then 'exit 127' on the status port"
else
	skip "status port lines are inside oci2vm boot's run directory"
fi
expect_exit notfound-lookup 127 -- no-such-command arg
like "$BOOT_OUT" "executable file not found in \\\$PATH" "PATH lookup miss says so"
expect_exit notexec 126 -- /etc/passwd
like "$BOOT_OUT" "oci2vm-init: exec '/etc/passwd': Permission denied" "not executable: message"

# --- a #!/bin/sh entrypoint with image Cmd as its arguments --------------------------------
add_script() {
	printf '#!/bin/sh\necho "script-ran $# $*"\nexit 9\n' >"$1/entry.sh"
	chmod 755 "$1/entry.sh"
}
image script --extra add_script -- --no-network --image-entrypoint /entry.sh \
	--image-cmd one --image-cmd 'two words'
init_boot "$IMG"
is "$BOOT_RC" 9 "#! script entrypoint: its exit code"
like "$BOOT_OUT" "script-ran 2 one two words" "#! script entrypoint: got Cmd as arguments"

# --- the container's world: user, groups, workdir, env, files, network, mounts -------------
image world -- -u app -w /srv/new/dir -h testhost -e FOO='bar baz' --image-env IMG=1 \
	--add-host db:10.0.0.5 -- sh -c '
echo "ID $(id)"; echo "PWD $(pwd)"; echo "ENV FOO=$FOO IMG=$IMG HOME=$HOME HOSTNAME=$HOSTNAME"
echo "PATHENV $PATH"; echo "UNAME $(hostname)"; echo "ETCHOSTNAME $(cat /etc/hostname)"
echo "RESOLV $(cat /etc/resolv.conf)"; grep -E "testhost|db|localhost" /etc/hosts | sed "s/^/HOSTS /"
ip -4 addr show lo | sed -n "s/.*inet \([^ ]*\).*/LO \1/p"
ip -4 addr show eth0 | sed -n "s/.*inet \([^ ]*\).*/ETH0 \1/p"
ip link show eth0 | grep -q "UP" && echo "ETH0UP yes"
ip route | sed -n "s/^default via \([^ ]*\).*/GW \1/p"
stat -c "WD %U %a" /srv/new/dir
while read -r dev mnt type rest; do echo "MNT $mnt $type"; done </proc/mounts
echo "SID $(cut -d" " -f6 /proc/self/stat) $$"
printf "RAW a\nb\n"'
init_boot "$IMG" --net
is "$BOOT_RC" 0 "world: exit 0" || diag "$BOOT_OUT"
out=$BOOT_OUT
line() { printf '%s\n' "$out" | sed -n "s/^$1 //p" | head -1; }
# setgroups() sorts the list, so id shows it ascending.
is "$(line ID)" "uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)" \
	"USER by name: uid, gid and supplementary groups"
is "$(line PWD)" "/srv/new/dir" "WorkingDir: created and entered"
is "$(line WD)" "root 755" "WorkingDir: created by root, 0755 (as Docker)"
is "$(line ENV)" "FOO=bar baz IMG=1 HOME=/home/app HOSTNAME=testhost" \
	"Env: run-time, image, HOME from passwd, HOSTNAME"
is "$(line PATHENV)" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	"Env: Docker's default PATH when the image has none"
is "$(line UNAME)" "testhost" "hostname set"
is "$(line ETCHOSTNAME)" "testhost" "/etc/hostname"
is "$(line RESOLV)" "nameserver 10.0.2.3" "/etc/resolv.conf points at the user-net DNS"
like "$out" $'HOSTS 10.0.2.15\ttesthost' "/etc/hosts maps the hostname to 10.0.2.15"
like "$out" $'HOSTS 10.0.0.5\tdb' "/etc/hosts has --add-host entries"
is "$(line LO)" "127.0.0.1/8" "lo up with 127.0.0.1"
is "$(line ETH0)" "10.0.2.15/24" "eth0 has 10.0.2.15/24"
is "$(line ETH0UP)" "yes" "eth0 is up"
is "$(line GW)" "10.0.2.2" "default route via 10.0.2.2"
for m in "/proc proc" "/sys sysfs" "/sys/fs/cgroup cgroup2" "/dev tmpfs" "/dev/pts devpts" \
	"/dev/shm tmpfs" "/dev/mqueue mqueue" "/tmp tmpfs" "/run tmpfs" "/etc/resolv.conf" \
	"/etc/hosts" "/etc/hostname"; do
	like "$out" "MNT $m" "mounted in the container: $m"
done
like "$out" "RAW a"$'\n'"b" "console is raw without a terminal (no CR added)"
sid=$(line SID)
is "${sid% *}" "${sid#* }" "workload leads its own session"

image uidgid -- --no-network -u 2000:50 -- sh -c 'echo "ID $(id)"; echo "HOME $HOME"'
init_boot "$IMG"
out=$BOOT_OUT
is "$(line ID)" "uid=2000(svc) gid=50(staff) groups=50(staff)" \
	"USER uid:gid: explicit group, no supplementary groups"
is "$(line HOME)" "/srv/svc" "USER uid:gid: HOME from passwd"

image numeric -- --no-network -u 4242 -- sh -c 'echo "ID $(id)"; echo "HOME $HOME"'
init_boot "$IMG"
out=$BOOT_OUT
is "$(line ID)" "uid=4242 gid=0(root) groups=0(root)" "USER uid not in passwd: gid 0"
is "$(line HOME)" "/" "USER uid not in passwd: HOME /"

keep_tmp() { echo keep >"$1/tmp/image-file"; }
image tmpkept --extra keep_tmp -- --no-network -- sh -c 'cat /tmp/image-file; grep -c " /tmp " /proc/mounts'
init_boot "$IMG"
like "$BOOT_OUT" $'keep\n0' "a non-empty /tmp of the image is not hidden by a tmpfs"

# --- terminal mode ------------------------------------------------------------------------
image tty -- --no-network -t --winsize 33x101 -- sh -c 'tty; stty size; echo "TERM=$TERM"'
init_boot "$IMG"
like "$BOOT_OUT" "/dev/console" "terminal: the console (hvc0 as the container's /dev/console) is the controlling tty"
like "$BOOT_OUT" "33 101" "terminal: window size from the config"
like "$BOOT_OUT" "TERM=xterm" "terminal: TERM=xterm (Docker's -t)"

# --- PID 1 duties ----------------------------------------------------------------------------
image zombies -- --no-network -- sh -c '
for i in 1 2 3 4 5; do ( sleep 0.2 & ); done
sleep 1.5
echo "ORPHANS $(ps -o ppid,stat,comm | grep -c "^ *1 .*sleep")"
echo "ZOMBIES $(ps -o stat | grep -c "^Z")"'
init_boot "$IMG"
out=$BOOT_OUT
is "$(line ZOMBIES)" "0" "orphaned children are reaped: no zombies"
is "$(line ORPHANS)" "0" "orphans gone after they exit"

image forward -- --no-network -- sh -c 'trap "echo got-usr1" USR1; kill -USR1 1; sleep 1; echo done'
init_boot "$IMG"
like "$BOOT_OUT" "got-usr1" "a signal sent to PID 1 is forwarded to the workload"

image stop -- --no-network -- sh -c 'trap "echo term-handled; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
vm_start "$IMG"
if vm_wait_for '^ready' 60; then
	t0=$(date +%s%N)
	vm_stop
	vm_wait
	ms=$((($(date +%s%N) - t0) / 1000000))
	is "$BOOT_RC" 7 "stop: the workload's TERM handler decides the exit code"
	like "$BOOT_OUT" "term-handled" "stop: SIGTERM handler ran"
	diag "stop to VM exit: ${ms} ms"
else
	vm_wait
	not_ok "stop: workload never became ready"
	diag "$BOOT_OUT"
	skip "stop not tested"
fi

image stopkill -- --no-network --stop-timeout 1 -- sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done'
vm_start "$IMG"
if vm_wait_for '^ready' 60; then
	vm_stop
	vm_wait
	is "$BOOT_RC" 137 "stop: a workload ignoring SIGTERM is SIGKILLed after the grace period"
else
	vm_wait
	not_ok "stopkill: workload never became ready"
fi

# --- the run config arrives in a second cpio appended at run time ----------------------------
image layered -- --no-network -- sh -c 'exit 3'
mkdir -p "$work/over/.oci2vm"
t0=$(date +%s%N)
"$OCI2VM" runconfig --no-network -o "$work/over/.oci2vm/run.conf" -- sh -c 'exit 5'
init_cpio "$work/over" "$work/over.cpio"
cat "$IMG" "$work/over.cpio" >"$work/layered-all.cpio"
ms=$((($(date +%s%N) - t0) / 1000000))
init_boot "$work/layered-all.cpio"
is "$BOOT_RC" 5 "an appended cpio's run.conf overrides the image's"
diag "run-config delivery: runconfig + cpio + concatenation ${ms} ms, $(stat -c %s "$work/over.cpio") bytes appended"

# --- bad input: one line, documented code, clean power-off -----------------------------------
image badconf -- --no-network -- true
head -c 40 "$work/badconf/.oci2vm/run.conf" >"$work/badconf/.oci2vm/run.conf.cut"
mv "$work/badconf/.oci2vm/run.conf.cut" "$work/badconf/.oci2vm/run.conf"
init_cpio "$work/badconf" "$IMG"
init_boot "$IMG"
is "$BOOT_RC" 125 "truncated config: exit 125"
like "$BOOT_OUT" "oci2vm-init: run config line [0-9]+.*truncated" "truncated config: says so"
is "$(printf '%s\n' "$BOOT_OUT" | grep -c 'oci2vm-init:')" 1 "truncated config: exactly one line"
if [ "$BOOT_MODE" = own ]; then
	like "$BOOT_STATUS" $'^error run config .*truncated.*\nexit 125$' \
		"truncated config: error + exit 125 on the status port"
else
	skip "status port lines are inside oci2vm boot's run directory"
fi

expect_exit nouser 125 -u nobody -- true
like "$BOOT_OUT" "oci2vm-init: unable to find user 'nobody'" "missing user: one-line error"

expect_exit badworkdir 125 -w /etc/passwd/sub -- true
like "$BOOT_OUT" "oci2vm-init: working directory '/etc/passwd/sub'" "bad workdir: one-line error"

# --- shell mode: the busybox shim outside the container root ---------------------------------
# A console never reads EOF, so the shell gets its commands on the console.
image shell -- --no-network --shell
printf 'echo "SHELL $(readlink /proc/$$/exe) $(ls /app_root/etc/passwd)"\nexit 4\n' >"$work/shell.in"
VM_STDIN=$work/shell.in init_boot "$IMG"
is "$BOOT_RC" 4 "shell mode: the shell's exit code"
like "$BOOT_OUT" "SHELL /bin/busybox /app_root/etc/passwd" \
	"shell mode: the shim runs outside the container root"

# --- boot time: kernel hands over to /init -> the workload's first instruction --------------
if command -v musl-gcc >/dev/null; then
	add_clock() { musl-gcc -static -Os -o "$1/bin/bootclock" "$top/tests/init/bootclock.c"; }
	# A TSC clock for sub-jiffy stamps: under TCG the guest TSC runs at the host's rate.
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	[ -n "$khz" ] && VM_APPEND="tsc_early_khz=$khz tsc=reliable"
	for i in 1 2 3; do
		image clock$i --extra add_clock -- --verbose --no-network -- /bin/bootclock
		init_boot "$IMG"
		entry=$(printf '%s\n' "$BOOT_OUT" | sed -n 's/.*boot trace.* entry=\([0-9.]*\).*/\1/p')
		first=$(printf '%s\n' "$BOOT_OUT" | sed -n 's/^bootclock \([0-9.]*\).*/\1/p')
		if [ -n "$entry" ] && [ -n "$first" ]; then
			pass "boot clock measured (run $i)"
			d=$(awk -v a="$first" -v b="$entry" 'BEGIN { printf "%.1f", a - b }')
			diag "clock ${VM_APPEND:-jiffies}: /init entry -> workload's first instruction ${d} ms"
			diag "$(printf '%s\n' "$BOOT_OUT" | grep -o 'boot trace.*')"
		else
			not_ok "boot clock measured (run $i)"
			diag "$BOOT_OUT"
		fi
	done
	VM_APPEND=
else
	skip "musl-gcc missing: no boot clock measurement"
fi

done_testing
