#!/usr/bin/env bash
# t_run_basic.sh - `oci2vm run --rm` of the BusyBox test image in the foreground: exit codes
# (0, 3, 127, 126, 128+SIGKILL), -e/--env-file/-w/-u/--entrypoint/command/-v/--hostname, Ctrl-C
# (SIGINT to oci2vm: the workload's TERM handler runs, its exit code comes back, nothing is
# left), and bad input (one line on stderr, exit 125, nothing started or left behind).
# One registry and one cache for the whole file; every case checks for leftovers.
. "$(dirname "$0")/lib.sh"
run_setup busybox busybox-arm64

# first run: pulls and builds the VM image; from here on the cached image must not change
o2v run --rm "$BB" true
is "$rc" 0 "first run (pull + build): exit 0" || diag "$errout"
remember_vmimages
[ -n "$VMIMAGE_SUMS" ]
ok $? "the VM image is cached" || diag "$(ls -R "$OCI2VM_CACHE" | head)"

# The cached image is booted as a throw-away snapshot, so init mounts it without its journal
# (ext4 shows that as "norecovery"). An image somebody booted writable by hand and did not shut
# down cleanly still runs, quietly: init sees the journal needs replaying (ext4 would refuse
# noload, with a kernel error on the console) and mounts it with the journal.
o2v run --rm "$BB" cat /proc/fs/ext4/vda/options
like "$out" "norecovery" "the ephemeral root disk is mounted without its journal" || diag "$errout"
img=$(ls "$OCI2VM_CACHE"/vmimages/*.ext4 | head -n 1)
[ -f "$img" ] || bail_out "no cached ext4 VM image in $OCI2VM_CACHE/vmimages"
debugfs -w -R "feature needs_recovery" "$img" >/dev/null 2>&1 || bail_out "debugfs $img"
o2v run --rm "$BB" cat /proc/fs/ext4/vda/options
is "$rc" 0 "a cached image marked as needing journal recovery still runs" || diag "$errout"
like "$out" "journal_checksum" "... mounted with its journal" || diag "$out"
unlike "$out" "norecovery" "... not with noload"
is "$errout" "" "... and no kernel error reaches the user"
debugfs -w -R "feature -needs_recovery" "$img" >/dev/null 2>&1 || bail_out "debugfs $img"
remember_vmimages

# --- exit codes -------------------------------------------------------------------------------
for n in 0 3; do
	o2v run --rm "$BB" sh -c "echo out-$n; exit $n"
	is "$rc" "$n" "sh -c 'exit $n' -> $n" || diag "$errout"
	is "$out" "out-$n" "the workload's output reaches stdout"
done
o2v run --rm "$BB" no-such-command
is "$rc" 127 "missing command -> 127"
like "$errout" "no-such-command" "the error names the command"
o2v run --rm "$BB" /etc/passwd
is "$rc" 126 "a file that is not executable -> 126"
o2v run --rm "$BB" sh -c 'kill -9 $$'
is "$rc" 137 "killed by SIGKILL -> 137"
o2v run --rm "$BB" sh -c 'echo to-stdout; echo to-stderr >&2; exit 1'
is "$rc" 1 "exit 1"
# Without -t the workload's stdout and stderr have ports of their own, so the streams stay
# apart as with Docker.
is "$out" "to-stdout" "the workload's stdout is oci2vm's stdout, and only that"
is "$errout" "to-stderr" "the workload's stderr is oci2vm's stderr, and only that"
# A reader that falls behind loses nothing: the guest waits (QEMU drops what a console
# writes while the host lags; ports hold the writer back), and the last of it is taken
# before the VM powers off.
# ... which the workload may reopen by name (nginx's error log is a link to /dev/stderr).
o2v run --rm "$BB" sh -c 'echo a >/dev/stdout; echo b >/dev/stderr; echo c >/proc/self/fd/2'
is "$rc:$out:$errout" $'0:a:b\nc' "/dev/stdout, /dev/stderr and /proc/self/fd/2 can be reopened"
out=$(timeout 120 "$OCI2VM" run --rm "$BB" seq 1 300000 2>"$T/seq.err" | { sleep 3; wc -l; })
is "$out" 300000 "a slow reader of stdout gets all 300000 lines" || diag "$(cat "$T/seq.err")"
out=$(timeout 120 "$OCI2VM" run --rm "$BB" sh -c 'seq 1 300000 >&2' 2>&1 >/dev/null |
	{ sleep 3; tail -n 1; })
is "$out" 300000 "... and of stderr, up to the last line"
out=$(yes | timeout 120 "$OCI2VM" run --rm -i "$BB" seq 1 200000 2>"$T/seq.err" | tail -n 1)
is "$out" 200000 "-i with endless stdin the workload never reads: its output still flows" ||
	diag "$(cat "$T/seq.err")"
no_leftovers "after the exit-code runs"

# --- options ----------------------------------------------------------------------------------
o2v run --rm -e FOO=bar -e EMPTY= "$BB" sh -c 'echo "$FOO|${EMPTY-unset}"'
is "$out" "bar|" "-e K=V and -e K= set variables"
HOSTVAR="from host" o2v run --rm -e HOSTVAR "$BB" sh -c 'echo "$HOSTVAR"'
is "$out" "from host" "-e K takes K from oci2vm's environment"
o2v run --rm -e NOT_IN_HOST_ENV_X "$BB" sh -c 'echo "${NOT_IN_HOST_ENV_X-unset}"'
is "$out" "unset" "-e K with K unset on the host leaves it unset (as Docker)"
printf '# comment\nA=1\n\nB=two words\nC=x=y\n' >"$T/env"
o2v run --rm --env-file "$T/env" -e B=override "$BB" sh -c 'echo "$A|$B|$C"'
is "$out" "1|override|x=y" "--env-file, with -e overriding it" || diag "$errout"
o2v run --rm -e PATH=/bin "$BB" sh -c 'echo "$PATH"'
is "$out" "/bin" "-e overrides the image's Env"

o2v run --rm -w /does/not/exist/yet "$BB" sh -c 'pwd; ls -ld . | cut -c1'
is "$out" $'/does/not/exist/yet\nd' "-w DIR: created if missing and used as cwd" || diag "$errout"
o2v run --rm -u app "$BB" id
is "$out" "uid=1000(app) gid=1000(app) groups=1000(app),1001(extra)" \
	"-u app: uid, gid and the supplementary group" || diag "$errout"
o2v run --rm -u 1000:1000 "$BB" id
is "$out" "uid=1000(app) gid=1000(app) groups=1000(app)" \
	"-u 1000:1000: explicit group, no supplementary groups (Docker's rule)" || diag "$errout"
o2v run --rm -u app "$BB" sh -c 'echo $HOME'
is "$out" "/home/app" "-u app: HOME from the image's passwd"
o2v run --rm --entrypoint echo "$BB" via entrypoint
is "$out" "via entrypoint" "--entrypoint replaces the entrypoint, the command is its argument"
o2v run --rm "$BB" echo command override
is "$out" "command override" "a command replaces the image's Cmd"
o2v run --rm "$BB" -e X=after-ref -- sh -c 'echo "$X"'
is "$out" "after-ref" "options right after IMAGE, command after --" || diag "$errout"
o2v run --rm --hostname web1 "$BB" sh -c 'hostname; cat /etc/hostname'
is "$out" $'web1\nweb1' "--hostname sets hostname and /etc/hostname"

o2v run --rm "$BB" sh -c 'ip -4 -o addr show | awk "{ print \$2, \$4 }"; ip route | awk "/^default/ { print \$1, \$2, \$3, \$4, \$5 }"'
is "$out" $'lo 127.0.0.1/8\neth0 10.0.2.15/24\ndefault via 10.0.2.2 dev eth0' \
	"default network: lo and eth0 with the user network's address and route" || diag "$errout"
o2v run --rm --network none "$BB" sh -c 'ip -4 -o addr show | awk "{ print \$2, \$4 }"; ls /sys/class/net'
is "$out" $'lo 127.0.0.1/8\nlo' "--network none: only lo, and it is up" || diag "$errout"

o2v run --rm --add-host db:10.1.2.3 --add-host gw:host-gateway --dns 192.0.2.53 "$BB" \
	sh -c 'grep -E "[[:space:]](db|gw)$" /etc/hosts; cat /etc/resolv.conf'
like "$out" $'^10\\.1\\.2\\.3\tdb\n[0-9.]+\tgw\nnameserver 192\\.0\\.2\\.53$' \
	"--add-host (host-gateway is the host) and --dns reach /etc/hosts and /etc/resolv.conf" ||
	diag "$errout"
unlike "$out" $'(127\\.[0-9.]+|10\\.0\\.2\\.2)\tgw' \
	"host-gateway is the host's own address, not its loopback (the gateway)"

mkdir -p "$T/vol" "$T/rovol"
echo host-file >"$T/vol/from-host"
echo ro-file >"$T/rovol/keep"
o2v run --rm -v "$T/vol:/data" "$BB" sh -c 'cat /data/from-host; echo guest-wrote >/data/from-guest'
is "$rc" 0 "-v HOSTDIR:/data read-write" || diag "$errout"
is "$out" "host-file" "the guest reads the host's file"
is "$(cat "$T/vol/from-guest" 2>/dev/null)" "guest-wrote" "the host sees the file the guest wrote"
o2v run --rm -v "$T/rovol:/ro:ro" "$BB" sh -c 'cat /ro/keep; echo x >/ro/new && echo WROTE'
out="$out$errout"
like "$out" "^ro-file" "-v ...:ro: readable"
[[ $out != *WROTE* ]]
ok $? "-v ...:ro: the write failed"
[ ! -e "$T/rovol/new" ]
ok $? "-v ...:ro: nothing was written on the host"
like "$out" "[Rr]ead-only file system" "-v ...:ro: the guest sees a read-only file system"
no_leftovers "after the option runs"

# --- Ctrl-C: SIGINT to a foreground oci2vm ----------------------------------------------------
start_bg() { # ARGS...: oci2vm run in the background until its workload printed "started"
	# The previous run's output must not count: the shell opens bg.out for the new run only
	# when it gets to it, after this function may already have looked.
	rm -f "$T/bg.out" "$T/bg.err"
	"$OCI2VM" run "$@" >"$T/bg.out" 2>"$T/bg.err" </dev/null &
	pid=$!
	local deadline=$((SECONDS + 60))
	until grep -q started "$T/bg.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do
		sleep 0.1
	done
	vmid=$(ls "$OCI2VM_RUNTIME_DIR/vms" 2>/dev/null)
	qpid=$(pgrep -f "qemu-system.*$vmid")
}
start_bg --rm "$BB" sh -c 'trap "echo got TERM; exit 7" TERM; echo started; while :; do sleep 1; done'
grep -q started "$T/bg.out"
ok $? "the workload started" || diag "$(cat "$T/bg.err")"
kill -INT "$pid"
wait "$pid"
is "$?" 7 "Ctrl-C: oci2vm exits with the workload's code from its TERM handler"
like "$(cat "$T/bg.out")" "got TERM" "Ctrl-C: the workload's TERM handler ran"
[ -n "$vmid" ] && [ -z "$(pgrep -f "qemu-system.*$vmid")" ]
ok $? "Ctrl-C: no QEMU left for VM '$vmid'"
no_leftovers "after Ctrl-C"

# a second Ctrl-C does not wait for the grace period: the workload ignores TERM
start_bg --rm "$BB" sh -c 'trap "" TERM; echo started; while :; do sleep 1; done'
kill -INT "$pid"
sleep 0.5
kill -INT "$pid"
start=$SECONDS
wait "$pid"
rc=$?
[ "$rc" -eq 137 ] && [ $((SECONDS - start)) -lt 8 ]
ok $? "a second Ctrl-C kills the VM at once: exit 137 (got $rc), not after the 10 s grace"
no_leftovers "after a double Ctrl-C"

# --- QEMU dies under a foreground run; oci2vm itself SIGKILLed ---------------------------------
start_bg --rm "$BB" sh -c 'echo started; sleep 600'
kill -9 "$qpid"
wait "$pid"
is "$?" 137 "QEMU killed under a foreground run: exit 137"
like "$(cat "$T/bg.err")" "QEMU was killed by signal 9" "and oci2vm says so"
no_leftovers "QEMU killed"

start_bg --rm "$BB" sh -c 'echo started; sleep 600'
kill -9 "$pid"
wait "$pid" 2>/dev/null
wait_gone "$qpid" 10
ok $? "oci2vm SIGKILLed: its QEMU died with it (PR_SET_PDEATHSIG)"
o2v ps -a
is "$out" "ID            NAME                  IMAGE                             STATUS              PORTS" \
	"ps -a: the --rm VM whose supervisor died is not listed"
no_leftovers "oci2vm SIGKILLed (after the next ps)"

# --- detached: logs -f, stop of a workload that ignores TERM ----------------------------------
o2v run -d --name lf "$BB" sh -c 'echo one; sleep 1; echo two; exit 5'
is "$rc" 0 "run -d" || diag "$errout"
o2v logs -f lf
is "$out" $'one\ntwo' "logs -f follows until the VM ends"
like "$("$OCI2VM" ps -a)" "lf +$R/busybox:latest +Exited \(5\) " "ps -a: Exited (5)"
o2v rm lf
o2v run -d --name stubborn "$BB" sh -c 'trap "echo ignoring TERM" TERM; echo started; while :; do sleep 1; done'
deadline=$((SECONDS + 60))
until "$OCI2VM" logs stubborn 2>/dev/null | grep -q started || [ $SECONDS -ge $deadline ]; do
	sleep 0.1
done
start=$SECONDS
o2v stop -t 1 stubborn
is "$rc" 0 "stop -t 1 of a workload that ignores TERM" || diag "$errout"
[ $((SECONDS - start)) -lt 8 ]
ok $? "it was killed after the 1 s grace ($((SECONDS - start)) s)"
like "$("$OCI2VM" logs stubborn)" "ignoring TERM" "the workload saw SIGTERM first"
like "$("$OCI2VM" ps -a)" "stubborn +$R/busybox:latest +Exited \(137\) " "ps -a: Exited (137)"
o2v rm stubborn
no_leftovers "detached runs removed"

# --- bad input: one line on stderr, exit 125, nothing started -------------------------------
bad() { # NAME REGEX ARGS...
	local name=$1 re=$2
	shift 2
	o2v run --rm "$@"
	is "$rc" 125 "$name: exit 125" || diag "$errout"
	like "$errout" "^oci2vm: error: [^"$'\n'"]*$re[^"$'\n'"]*$" "$name: one clear line" ||
		diag "stderr: $errout"
	[ -z "$out" ]
	ok $? "$name: nothing on stdout"
	no_leftovers "$name"
}
bad "unknown image" "'$R/no-such-image:latest' not found" "$R/no-such-image" true
bad "-p 70000:1" "70000" -p 70000:1 "$BB" true
bad "-p a:b" "'a:b'" -p a:b "$BB" true
bad "duplicate host port" "18080.*twice" -p 18080:80 -p 18080:81 "$BB" true
bad "-v /missing:/x" "'/missing-o2v-dir'.*does not exist" -v /missing-o2v-dir:/x "$BB" true
bad "--memory 1K" "--memory 1K" --memory 1K "$BB" true
OCI2VM_KERNEL=/nonexistent bad "missing kernel" "kernel '/nonexistent'" "$BB" true
bad "image for another architecture" "arm64" "$R/busybox:arm64" true

# a host port somebody else listens on (SO_REUSEADDR, as most servers set it)
port=$(free_port)
"$O2V_PYTHON" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("ready", flush=True)
time.sleep(120)' "$port" >"$T/listener.out" &
lpid=$!
deadline=$((SECONDS + 10))
until grep -q ready "$T/listener.out" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
bad "host port in use" "$port.*already in use" -p "$port:80" "$BB" true
kill "$lpid"
wait "$lpid" 2>/dev/null

# an image with neither Entrypoint nor Cmd, and no command given
"$O2V_PYTHON" - "$T/nocmd" "$(testdata_bb=$("$O2V_TOP/testdata/busybox-image.sh") && echo "$testdata_bb")" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["O2V_TOP"], "testdata"))
from mkimage import Layout, from_layout
img = from_layout(sys.argv[2], "latest")
img.config.pop("Cmd", None)
img.config.pop("Entrypoint", None)
Layout(sys.argv[1]).add("latest", img)
PY
registry_push "$T/nocmd:latest" nocmd:latest >/dev/null || bail_out "push nocmd"
rm -rf "$T/nocmd"
o2v run --rm "$R/nocmd" sh -c 'echo with-command'
is "$out" "with-command" "the no-command image runs when a command is given" || diag "$errout"
remember_vmimages
bad "no Entrypoint/Cmd and no command" "command" "$R/nocmd"

# stdin: without -i the workload reads /dev/null (as Docker), so `cat` ends at once; with -i
# it reads what oci2vm is given, once (no echo from the guest's console).
o2v run --rm "$BB" cat
is "$rc" 0 "without -i, cat reads end-of-file at once (stdin is /dev/null)"
is "$out" "" "... and prints nothing"
out=$(printf 'line-one\nline-two\n' | timeout 60 "$OCI2VM" run --rm -i "$BB" head -n 1 2>"$T/i.err")
rc=$?
is "$rc" 0 "-i: head -n 1 reads from oci2vm's stdin" || diag "$(cat "$T/i.err")"
is "$out" "line-one" "-i: the workload got the input, once"
# The end of oci2vm's stdin reaches the workload as end-of-file (init's stdin pipe, closed
# after the byte count the host sends on the control port), and binary data arrives intact.
out=$(printf 'a\nb\n' | timeout 60 "$OCI2VM" run --rm -i "$BB" sh -c 'cat; echo "[eof]"' 2>"$T/i.err")
rc=$?
is "$rc" 0 "-i: cat ends when oci2vm's stdin ends" || diag "$(cat "$T/i.err")"
is "$out" $'a\nb\n[eof]' "-i: all input, then end-of-file"
out=$(timeout 60 "$OCI2VM" run --rm -i "$BB" sh -c 'cat; echo "[eof]"' </dev/null 2>"$T/i.err")
is "$out" "[eof]" "-i with an empty stdin: end-of-file at once" || diag "$(cat "$T/i.err")"
head -c 300000 /dev/urandom >"$T/random"
out=$(timeout 120 "$OCI2VM" run --rm -i "$BB" md5sum <"$T/random" 2>"$T/i.err")
is "${out%% *}" "$(md5sum <"$T/random" | cut -d' ' -f1)" \
	"-i: 300 kB of binary stdin arrive byte for byte" || diag "$(cat "$T/i.err")"
# -it: a real terminal (a pty here). Its window size reaches the guest at start, typed input
# is echoed and read by line, and the exit status is the workload's.
out=$(/usr/bin/python3 "$O2V_TOP/tests/lib/ptyrun.py" 33 101 'hello\r' -- "$OCI2VM" run --rm -it \
	"$BB" sh -c 'echo ready; read line; echo "got:$line"; stty size; tty; exit 7')
rc=$?
is "$rc" 7 "-it: the workload's exit status"
like "$out" "got:hello" "-it: typed input is read by line"
like "$out" "33 101" "-it: the terminal's window size"
like "$out" "/dev/pts/0" "-it: stdin is a terminal, a pty of the container (as Docker's)"
# A terminal that falls behind: the workload's pty in the guest is relayed over the stdout
# port, which holds the writer back: every line arrives, in order.
PTYRUN_READ_DELAY=3 /usr/bin/python3 "$O2V_TOP/tests/lib/ptyrun.py" 24 80 '' -- \
	"$OCI2VM" run --rm -t "$BB" seq 1 100000 | tr -d '\r' >"$T/tty.out"
is "$(tail -n 1 "$T/tty.out")" 100000 "-t: a terminal that reads late gets the output to its end"
[ "$(wc -l <"$T/tty.out")" -eq 100000 ] && [ "$(seq 1 100000 | md5sum)" = "$(md5sum <"$T/tty.out")" ]
ok $? "-t: ... all 100000 lines, in order"

# --verbose adds the serial port (early kernel messages) on a socket of its own: QEMU's mux
# of it with the console corrupted the input (and takes Ctrl-A as commands: C-a s commits
# the disk).
printf '\001x\001s\001c' >>"$T/random"
out=$(timeout 120 "$OCI2VM" run --rm -i --verbose "$BB" md5sum <"$T/random" 2>"$T/i.err")
is "${out%% *}" "$(md5sum <"$T/random" | cut -d' ' -f1)" \
	"-i --verbose: binary stdin, Ctrl-A bytes too, arrive intact" || diag "$(tail -3 "$T/i.err")"
grep -q 'Linux version' "$T/i.err"
ok $? "--verbose: the kernel's messages are on stderr"
out=$(yes | timeout 60 "$OCI2VM" run --rm -i "$BB" head -n 2 2>"$T/i.err")
rc=$?
is "$rc:$out" $'0:y\ny' "-i: endless stdin, the workload stops reading: it exits, so does oci2vm" ||
	diag "$(cat "$T/i.err")"
no_leftovers "after the stdin runs"

# run -d reports success only once the workload's exec succeeded: a missing command is the
# command's exit status and one line, like a foreground run.
o2v run -d --rm "$BB" no-such-command-o2v
is "$rc" 127 "run -d of a missing command exits 127"
like "$errout" "^oci2vm: error: [^"$'\n'"]*no-such-command-o2v[^"$'\n'"]*$" \
	"run -d of a missing command: one line naming it" || diag "$errout"
[ -z "$out" ]
ok $? "run -d of a missing command prints no VM id"
no_leftovers "run -d of a missing command"

# --pull missing (the default) uses a cached image without asking the registry, as Docker
# does: with the registry gone the cached image still runs; --pull always must fail clearly.
registry_stop
o2v run --rm "$BB" sh -c 'echo offline'
is "$out" "offline" "a cached image runs with the registry down (--pull missing)" ||
	diag "$errout"
OCI2VM_RETRY_BASE_MS=5 o2v run --rm --pull always "$BB" true
is "$rc" 125 "--pull always with the registry down fails (125)"
like "$errout" $'(^|\n)oci2vm: error: [^\n]*'"$R" "--pull always: an error naming the registry" ||
	diag "$errout"
no_leftovers "--pull always with the registry down"

done_testing
