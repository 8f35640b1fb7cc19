#!/usr/bin/env bash
# t_run_services.sh - detached VMs with real services and real clients: the redis test image
# (`run -d -p H:6379` → redis-cli PING/SET/GET, ps, a graceful stop that redis logs, ps -a,
# rm, the entrypoint's privilege drop), the http image through curl, two VMs at once, `kill`,
# a supervisor killed with SIGKILL (QEMU dies with it, ps -a shows it exited), `run -d --rm`.
# After each exit path: no QEMU, no state, no temp files, the cached VM images unchanged.
. "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || skip_all "redis-cli missing (apt-get install redis-tools)"
command -v curl >/dev/null || skip_all "curl missing"
run_setup http redis

redis_wait() { # PORT [SECONDS]: poll until PING answers PONG
	local deadline=$((SECONDS + ${2:-90}))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}

http_wait() { # PORT [SECONDS]: poll until / answers
	local deadline=$((SECONDS + ${2:-90}))
	while [ $SECONDS -lt $deadline ]; do
		curl -fsS --max-time 5 "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

state_of() { # NAME: the STATUS column (and PORTS) of `ps -a`
	"$OCI2VM" ps -a | awk -v n="$1" '$2 == n { $1 = $2 = $3 = ""; sub(/^ +/, ""); print }'
}

# --- redis: the mission ----------------------------------------------------------------------
rport=$(free_port)
o2v run -d --name red -p "$rport:6379" "$REDIS"
is "$rc" 0 "run -d redis" || diag "$errout"
like "$out" "^[0-9a-f]{12}$" "run -d prints the VM id"
redid=$out
remember_vmimages
redis_wait "$rport"
ok $? "redis-cli -p $rport ping -> PONG" || diag "$("$OCI2VM" logs red 2>&1 | tail -20)"
is "$(redis-cli -p "$rport" set greeting 'hello vm' 2>&1)" OK "SET"
is "$(redis-cli -p "$rport" get greeting 2>&1)" "hello vm" "GET returns what SET stored"
ps_line=$("$OCI2VM" ps | awk -v n=red '$2 == n')
like "$ps_line" "^$redid +red +$R/redis:latest +Up [0-9]+[smhd] +127\.0\.0\.1:$rport->6379/tcp$" \
	"ps: id, name, image, Up, ports" || diag "$("$OCI2VM" ps)"
"$OCI2VM" ps -q | grep -qx "$redid"
ok $? "ps -q lists the id"
qpid=$(awk -F= '$1 == "qemu_pid" { print $2 }' "$OCI2VM_RUNTIME_DIR/vms/$redid/state")
[ -n "$qpid" ] && [ -d "/proc/$qpid" ]
ok $? "the state names a live QEMU pid"
o2v stop red
is "$rc" 0 "stop red" || diag "$errout"
is "$out" "red" "stop prints the name"
[ -z "$(pgrep -f "qemu-system.*$redid")" ]
ok $? "stop: QEMU is gone when stop returns"
o2v logs red
like "$out" "Ready to accept connections" "logs: redis's start-up lines"
like "$out" "Received SIGTERM scheduling shutdown" "logs: redis got SIGTERM (graceful stop)"
like "$out" "Redis is now ready to exit" "logs: redis shut down by itself"
like "$(state_of red)" "^Exited \(0\) " "ps -a: Exited (0)" || diag "$("$OCI2VM" ps -a)"
[ -z "$("$OCI2VM" ps -q)" ]
ok $? "ps (without -a) no longer lists it"
o2v rm red
is "$rc" 0 "rm red" || diag "$errout"
[ ! -e "$OCI2VM_RUNTIME_DIR/vms/$redid" ]
ok $? "rm removed the state dir"
o2v logs red
[ "$rc" -ne 0 ] && [[ $errout == *"no VM named 'red'"* ]]
ok $? "logs of a removed VM: a clear error" || diag "$rc $errout"
no_leftovers "redis: stop + rm"

# the entrypoint drops privileges (setpriv) before exec'ing redis-server
o2v run --rm --entrypoint sh "$REDIS" -- -c \
	'docker-entrypoint.sh redis-server --daemonize yes --save ""; sleep 1; ps -o user=,args= -C redis-server; id -un'
like "$out" "^redis +redis-server" "the image's entrypoint runs redis-server as user redis" ||
	diag "$out" "$errout"
like "$out" $'\nroot$' "(the entrypoint itself was started as root)"
no_leftovers "redis privilege drop run"

# --- http through curl -------------------------------------------------------------------------
hport=$(free_port)
o2v run -d --name web -p "$hport:8080" "$HTTP"
is "$rc" 0 "run -d http" || diag "$errout"
http_wait "$hport"
ok $? "curl reaches the http VM on $hport"
page=$(curl -fsS "http://127.0.0.1:$hport/index.html")
like "$page" "hello from oci2vm http test image" "curl gets the image's index.html"
curl -fsS "http://127.0.0.1:$hport/big.bin" | cmp -s - <("$O2V_PYTHON" -c \
	'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)')
ok $? "curl gets the 1 MiB file intact through the forwarded port"

# --- two VMs at once ---------------------------------------------------------------------------
rport2=$(free_port)
o2v run -d --name red2 -p "$rport2:6379" "$REDIS"
is "$rc" 0 "a second VM (redis) while http runs" || diag "$errout"
redis_wait "$rport2"
ok $? "redis answers on $rport2"
curl -fsS --max-time 5 "http://127.0.0.1:$hport/" >/dev/null
ok $? "http still answers on $hport at the same time"
o2v run -d --name dup -p "$hport:8080" "$HTTP"
is "$rc" 125 "a host port a running VM uses: exit 125"
like "$errout" "^oci2vm: error: [^"$'\n'"]*$hport[^"$'\n'"]*already in use[^"$'\n'"]*$" \
	"a host port a running VM uses: one clear line"
[ -z "$out" ] && ! "$OCI2VM" ps -a | awk '{print $2}' | grep -qx dup
ok $? "a host port a running VM uses: nothing started, no state"
o2v run -d --name web -p "$(free_port):8080" "$HTTP"
is "$rc" 125 "a name in use: exit 125"
like "$errout" "name 'web' is already in use" "a name in use: clear error"

# --- kill: at once -----------------------------------------------------------------------------
webid=$(awk '$2 == "web" { print $1 }' < <("$OCI2VM" ps))
start=$SECONDS
o2v kill web
is "$rc" 0 "kill web" || diag "$errout"
[ $((SECONDS - start)) -lt 5 ] && [ -z "$(pgrep -f "qemu-system.*$webid")" ]
ok $? "kill: QEMU gone at once"
like "$(state_of web)" "^Exited \(137\) " "ps -a after kill: Exited (137), as Docker shows" ||
	diag "$("$OCI2VM" ps -a)"
o2v rm web

# --- the supervisor killed with SIGKILL: QEMU dies with it (PR_SET_PDEATHSIG) -----------------
red2id=$(awk '$2 == "red2" { print $1 }' < <("$OCI2VM" ps))
spid=$(awk -F= '$1 == "supervisor_pid" { print $2 }' "$OCI2VM_RUNTIME_DIR/vms/$red2id/state")
qpid=$(awk -F= '$1 == "qemu_pid" { print $2 }' "$OCI2VM_RUNTIME_DIR/vms/$red2id/state")
[ -n "$spid" ] && [ -n "$qpid" ] && kill -9 "$spid"
wait_gone "$qpid" 10
ok $? "supervisor SIGKILLed: QEMU ($qpid) is gone"
like "$(state_of red2)" "^Exited " "ps -a shows it exited" || diag "$("$OCI2VM" ps -a)"
o2v stop red2
is "$rc" 0 "stop on an already-dead VM succeeds (as docker stop)" || diag "$errout"
o2v rm red2
is "$rc" 0 "rm it" || diag "$errout"
no_leftovers "kill, supervisor killed, rm"

# --- run -d --rm: the state goes away with the VM ----------------------------------------------
rport3=$(free_port)
o2v run -d --rm --name tmpred -p "$rport3:6379" "$REDIS"
is "$rc" 0 "run -d --rm" || diag "$errout"
redis_wait "$rport3"
ok $? "it answers"
o2v stop -t 5 tmpred
is "$rc" 0 "stop -t 5" || diag "$errout"
[ -z "$("$OCI2VM" ps -aq)" ]
ok $? "--rm: gone from ps -a after stop"
no_leftovers "run -d --rm + stop"

done_testing
