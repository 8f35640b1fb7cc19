#!/usr/bin/env bash
# t_restart.sh - a container keeps its writes until rm, as Docker's: a redis with data,
# stop then start, the data is there; restart; rm drops the layer. Restart policies:
# on-failure:2 runs exactly 3 times, always comes back after the workload is killed inside
# the VM and ps shows the count, stop ends it. And the bad inputs.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup redis busybox

pong() {
	local i
	for i in $(seq 600); do
		[ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}

port=$(free_port)
o2v run -d -q --name db -p "$port:6379" "$REDIS"
is "$rc" 0 "run -d --name db (a redis)" || diag "$errout"
pong "$port" || bail_out "redis did not answer"
redis-cli -p "$port" set kept "across stop and start" >/dev/null
redis-cli -p "$port" save >/dev/null
id=$("$OCI2VM" ps -q | head -1)
layer=$OCI2VM_CACHE/containers/$id/disk.qcow2
ok "$([ -f "$layer" ]; echo $?)" "the container's layer is in the cache"
is "$(stat -c %a "$layer")" 600 "... private"
o2v stop db
is "$rc" 0 "stop db"
o2v start db
is "$rc" 0 "start db" || diag "$errout"
is "$out" "db" "... prints its name"
pong "$port" || bail_out "redis did not answer after start"
is "$(redis-cli -p "$port" get kept)" "across stop and start" "the data written before stop is there"
o2v start db
is "$out" "db" "start of a running container: nothing to do"
o2v restart -t 5 db
is "$rc" 0 "restart db"
pong "$port"
is "$(redis-cli -p "$port" get kept)" "across stop and start" "... the data again"
o2v rm -f db
ok "$([ ! -e "$OCI2VM_CACHE/containers/$id" ]; echo $?)" "rm drops the layer"

o2v run --rm "$BB" sh -c 'echo gone >/tmp/x'
ok "$([ -z "$(ls "$OCI2VM_CACHE/containers" 2>/dev/null)" ]; echo $?)" "run --rm keeps no layer"

# on-failure:2 — the first run and two restarts, each seeing the last one's writes
o2v run -d -q --name rf --restart on-failure:2 "$BB" sh -c 'echo x >>/count; wc -l </count; exit 3'
is "$rc" 0 "run -d --restart on-failure:2"
o2v wait rf
is "$out" "3" "... ends with the workload's 3"
o2v logs rf
is "$out" $'1\n2\n3' "... after exactly 3 runs"
o2v ps -a
like "$out" "rf +.*Exited \(3\)" "ps -a: exited"
o2v rm rf

o2v run -d -q --name ra --restart always "$BB" sh -c 'echo started; exec sleep 1000'
is "$rc" 0 "run -d --restart always"
sleep 2
o2v exec ra sh -c 'kill -TERM $(pidof sleep)'
back=1
for _ in $(seq 100); do
	o2v ps
	[[ $out =~ ra\ +.*Up\ .*\(1\ restart\) ]] && back=0 && break
	sleep 0.2
done
ok "$back" "killed inside the VM, it comes back; ps shows the restart" || diag "$out"
o2v stop -t 2 ra
o2v ps -a
like "$out" "ra +.*Exited" "stop ends it for good"
sleep 1
o2v ps
unlike "$out" "ra " "... it does not come back"
o2v rm ra

for bad in "sometimes|expected no, on-failure" "on-failure:-1|positive number" \
	"on-failure:0|positive number" "always:3|expected no, on-failure"; do
	o2v run -d --restart "${bad%%|*}" "$BB" true
	is "$rc" 125 "--restart ${bad%%|*}: exit 125"
	like "$errout" "^oci2vm: error: .*${bad#*|}" "... saying why"
done
o2v run -d --rm --restart always "$BB" true
is "$rc" 125 "--restart with --rm: exit 125"
o2v run --restart always "$BB" true
is "$rc" 125 "--restart without -d: exit 125"
like "$errout" "needs -d" "... saying why"
o2v start nosuchvm
is "$rc" 1 "start of an unknown VM: exit 1"
no_leftovers "restart"
done_testing
