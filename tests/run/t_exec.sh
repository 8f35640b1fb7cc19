#!/usr/bin/env bash
# t_exec.sh - `oci2vm exec` into a running redis VM, as `docker exec` is used: a command's
# output and exit status (0, 3, 126, 127), the container's user, directory and environment
# and the request's own, stdout and stderr apart and streamed live, stdin of 100 MB intact,
# several at once, a terminal (-it through a real pty), -d, a client killed mid-exec leaving
# nothing in the guest, and the bad inputs: unknown VM, stopped VM, bad options. Also
# `oci2vm wait` and `oci2vm cp`.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup redis busybox

port=$(free_port)
o2v run -d -q --name ex -e FROM_RUN=yes -p "$port:6379" "$REDIS"
is "$rc" 0 "run -d a redis VM" || diag "$errout"
for _ in $(seq 600); do
	[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done

o2v exec ex redis-cli ping
is "$out" "PONG" "exec ex redis-cli ping: the server answers from inside"
is "$rc" 0 "... exit 0"

o2v exec ex sh -c 'echo out; echo err >&2; exit 3'
is "$rc" 3 "exit status 3 comes back"
is "$out" "out" "stdout on stdout"
is "$errout" "err" "stderr on stderr"

o2v exec ex no-such-command
is "$rc" 127 "a missing command: 127"
like "$errout" "^oci2vm: error: .*no-such-command.*not found" "... with one line saying so"
o2v exec ex /etc/passwd
is "$rc" 126 "a file that is not executable: 126"
o2v exec -u no-such-user ex true
is "$rc" 125 "an unknown user: 125" || diag "$errout"

o2v exec ex sh -c 'echo "$(id -u) $(pwd) $FROM_RUN $HOME"'
is "$out" "0 /data yes /root" \
	"the container's user, working directory and environment by default" || diag "$errout"
o2v exec -u 0 -w /tmp -e FROM_RUN=overridden -e EXTRA=1 ex sh -c 'echo "$(id -u) $(pwd) $FROM_RUN $EXTRA"'
is "$out" "0 /tmp overridden 1" "-u, -w and -e override them"
o2v exec ex sh -c 'grep CapBnd /proc/self/status; cat /proc/self/cgroup'
like "$out" "CapBnd:[[:space:]]+00000000a80425fb" "the container's capabilities"
like "$out" "0::/" "... and its cgroup"

# Streaming: the first line arrives while the command still runs.
first=$("$OCI2VM" exec ex sh -c 'echo first; sleep 3; echo second' | {
	read -r line
	echo "$line $(date +%s.%N)"
	cat >/dev/null
})
done_at=$(date +%s.%N)
like "$first" "^first " "the first line arrives"
[ "$(echo "${done_at} - ${first#first } > 2" | bc)" = 1 ]
ok $? "... before the command ends (3 s later)"

head -c 100000000 /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
got=$("$OCI2VM" exec -i ex cat <"$T/big" | sha256sum | cut -d' ' -f1)
is "$got" "$want" "exec -i ex cat: 100 MB through and back, intact"
got=$("$OCI2VM" exec -i ex sh -c 'sha256sum | cut -d" " -f1' <"$T/big")
is "$got" "$want" "... and as the guest received it"
rm -f "$T/big"

# Two at once: each its own output, in its own time.
"$OCI2VM" exec ex sh -c 'sleep 1; echo one' >"$T/one" &
p1=$!
"$OCI2VM" exec ex sh -c 'echo two' >"$T/two"
wait "$p1"
is "$(cat "$T/one") $(cat "$T/two")" "one two" "two execs at once"

if command -v script >/dev/null; then
	got=$(script -qec "$OCI2VM exec -it ex sh -c 'tty; test -t 0 && echo tty-in; exit 4'" \
		/dev/null </dev/null | tr -d '\r')
	rc=$?
	like "$got" "/dev/pts/[0-9]+" "-it: a terminal of the container's devpts"
	like "$got" "tty-in" "-it: stdin is that terminal"
else
	skip 2 "script (util-linux) missing: no terminal to test -it with"
fi

o2v exec -d ex sh -c 'sleep 1; echo done >/tmp/detached'
is "$rc" 0 "exec -d returns at once"
is "$out" "" "... printing nothing"
sleep 2
o2v exec ex cat /tmp/detached
is "$out" "done" "... and the command ran"

# A client killed mid-exec: its process does not outlive it.
"$OCI2VM" exec ex sleep 300 >/dev/null 2>&1 &
client=$!
sleep 1.5
o2v exec ex sh -c 'pgrep -x sleep | wc -l'
is "$out" "1" "the exec's process runs"
kill -9 "$client"
wait "$client" 2>/dev/null
gone=1
for _ in $(seq 50); do
	o2v exec ex sh -c 'pgrep -x sleep | wc -l'
	[ "$out" = 0 ] && gone=0 && break
	sleep 0.1
done
ok "$gone" "client killed: its process is gone from the guest"

o2v exec nosuchvm true
is "$rc" 1 "exec into an unknown VM: exit 1"
like "$errout" "^oci2vm: error: no VM named 'nosuchvm'" "... naming it"
o2v exec ex
is "$rc" 2 "exec without a command: usage error"
o2v exec -d -i ex true
is "$rc" 2 "-d with -i: usage error"
o2v exec -w relative ex true
is "$rc" 2 "a relative -w: usage error"

# cp: a tree in, a file in under a new name, both out again; bad inputs
mkdir -p "$T/cp/tree/sub" "$T/cp/out"
echo deep >"$T/cp/tree/sub/file"
chmod 750 "$T/cp/tree/sub"
echo alone >"$T/cp/single"
o2v cp "$T/cp/tree" ex:/tmp
is "$rc" 0 "cp DIR ex:/tmp: into the directory" || diag "$errout"
o2v cp "$T/cp/single" ex:/tmp/renamed
is "$rc" 0 "cp FILE ex:/tmp/renamed: as a new name" || diag "$errout"
o2v exec ex sh -c 'cat /tmp/tree/sub/file /tmp/renamed; stat -c %a /tmp/tree/sub'
is "$out" $'deep\nalone\n750' "... contents and modes arrived"
o2v cp ex:/tmp/tree "$T/cp/out"
o2v cp ex:/tmp/renamed "$T/cp/out/back"
is "$(cat "$T/cp/out/tree/sub/file" "$T/cp/out/back" 2>&1)" $'deep\nalone' \
	"cp ex:DIR HOSTDIR and ex:FILE HOST/NEWNAME: back out"
is "$(ls -A "$T/cp/out")" $'back\ntree' "... and no temporary left beside them"
o2v cp ex:/no/such "$T/cp/out"
is "$rc" 1 "cp of a missing path in the container: exit 1"
like "$errout" "could not read '/no/such'" "... naming it"
o2v cp "$T/cp/single" "$T/cp/other"
is "$rc" 2 "cp between two host paths: usage error"
o2v cp "$T/cp/single" ex:relative
is "$rc" 2 "cp to a relative container path: usage error"

# wait: blocks until the VM stops, prints its exit code (docker wait).
o2v run -d -q --name waited "$BB" sh -c 'sleep 1; exit 7'
t0=$(date +%s.%N)
o2v wait waited
is "$out" "7" "wait prints the exit code"
[ "$(echo "$(date +%s.%N) - $t0 >= 0.5" | bc)" = 1 ]
ok $? "... once the VM has stopped"
o2v wait waited nosuchvm
is "$out" "7" "wait on a stopped VM: at once"
is "$rc" 1 "wait on an unknown VM: exit 1"
o2v rm waited

o2v stop ex
o2v exec ex true
is "$rc" 1 "exec into a stopped VM: exit 1"
like "$errout" "^oci2vm: error: VM 'ex' is not running" "... saying so"
o2v rm ex
no_leftovers "exec"
done_testing
