#!/usr/bin/env bash
# t_containerd.sh - oci2vm-runtime under containerd (Debian's 1.6): containerd started here
# with its own root, state and socket, its runc v2 shim driving the installed
# oci2vm-runtime (`ctr run --runc-binary`, what a RuntimeClass's BinaryName selects), the
# image pulled from the test registry. Exit status, detached tasks, exec, kill, delete, and
# nothing left behind.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "containerd needs root"
command -v containerd >/dev/null && command -v ctr >/dev/null ||
	skip_all "containerd is not installed (apt-get install containerd)"
run_setup busybox

dest=$T/inst
env -u OCI2VM_CACHE make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr BUILD="$O2V_BUILD" \
	>"$T/install.log" 2>&1 || bail_out "make install: $(tail -1 "$T/install.log")"
RT=$dest/usr/bin/oci2vm-runtime

cd="$T/cd"
mkdir -p "$cd"
env -u OCI2VM_KERNEL -u OCI2VM_CACHE containerd --root "$cd/root" --state "$cd/state" \
	--address "$cd/sock" >"$cd/log" 2>&1 &
cd_pid=$!
stop_containerd() {
	kill "$cd_pid" 2>/dev/null
	wait "$cd_pid" 2>/dev/null
	pkill -9 -f "containerd-shim-runc-v2.*$cd/sock" 2>/dev/null
	rm -rf "/run/containerd/runc/o2v-test"
}
trap 'stop_containerd; _run_cleanup; registry_stop' EXIT
for i in $(seq 100); do [ -S "$cd/sock" ] && break; sleep 0.1; done
[ -S "$cd/sock" ] || bail_out "containerd did not start: $(tail -3 "$cd/log")"
C=(ctr -a "$cd/sock" -n o2v-test)
out=$("${C[@]}" images pull --plain-http "$BB" 2>&1)
ok $? "ctr images pull --plain-http from the test registry" || diag "$out"

c() { # ctr ARGS...: out, errout, rc
	"${C[@]}" "$@" >"$T/c.out" 2>"$T/c.err" </dev/null
	rc=$?
	out=$(cat "$T/c.out") errout=$(cat "$T/c.err")
}
left() { # no VM, no state (runc's root for sandboxes may stay, empty)
	local r=/run/containerd/runc/o2v-test
	[ -z "$(pgrep -f "qemu-system.*$r")" ] && [ -z "$(ls -A "$r" 2>/dev/null | grep -vx runc)" ] &&
		[ -z "$(ls -A "$r/runc" 2>/dev/null)" ]
}

c run --rm --runc-binary "$RT" "$BB" t1 sh -c 'echo hello; uname -r; exit 3'
is "$rc" 3 "ctr run --rm: the workload's exit status" || diag "$errout"
is "$(head -1 <<<"$out")" "hello" "... its output"
[ "$(tail -1 <<<"$out")" != "$(uname -r)" ]
ok $? "... on our kernel ($(tail -1 <<<"$out")), not the host's"
left
ok $? "... no QEMU and no state left"

c run -d --runc-binary "$RT" "$BB" t2 sleep 100
is "$rc" 0 "ctr run -d" || diag "$errout"
c task ls
like "$out" "t2 +[0-9]+ +RUNNING" "ctr task ls: running"
c task exec --exec-id e1 t2 sh -c 'echo exec-ok; exit 4'
is "$rc/$out" "4/exec-ok" "ctr task exec: output and exit status"
c task ps t2
like "$out" "[0-9]+ +-" "ctr task ps: the VM's host processes"
c task kill t2
is "$rc" 0 "ctr task kill (SIGTERM)"
for i in $(seq 50); do c task ls; [[ $out == *STOPPED* ]] && break; sleep 0.1; done
like "$out" "t2 +[0-9]+ +STOPPED" "... the task stopped"
c task delete t2
is "$rc" 0 "ctr task delete"
like "$errout" "exit code 143" "... which reports 128+SIGTERM"
c container rm t2
left
ok $? "no QEMU and no state left"

# a pod's sandbox (containerd's CRI marks it): runc's, not a VM, and so are its commands
if command -v runc >/dev/null; then
	c run --rm --runc-binary "$RT" --annotation io.kubernetes.cri.container-type=sandbox \
		"$BB" sb1 sh -c 'uname -r; exit 4'
	is "$rc" 4 "a sandbox container: its exit status" || diag "$errout"
	is "$out" "$(uname -r)" "... it ran under runc, on the host's kernel"
	c run -d --runc-binary "$RT" --annotation io.kubernetes.cri.container-type=sandbox \
		"$BB" sb2 sleep 100
	c task kill -s SIGKILL sb2
	for i in $(seq 50); do c task ls; [[ $out == *STOPPED* ]] && break; sleep 0.1; done
	c task delete sb2
	is "$rc" 0 "... kill and delete go to runc too"
	c container rm sb2
	left
	ok $? "... and nothing is left"
else
	skip "runc is not installed: no sandbox containers" 4
fi

c run --rm --runc-binary "$RT" "$BB" t3 nosuchcommand
isnt_zero=$([ "$rc" != 0 ]; echo $?)
ok "$isnt_zero" "a missing command: ctr run fails ($rc)"
like "$errout" "nosuchcommand" "... naming it"
c container rm t3
left
ok $? "... and leaves nothing"
done_testing
