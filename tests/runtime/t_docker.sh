#!/usr/bin/env bash
# t_docker.sh - oci2vm-runtime under Docker (Debian's docker.io 20.10): a dockerd started here
# with its own data root, exec root and socket, in a network namespace of the test's (its
# docker0 bridge and iptables rules stay there) and a mount namespace of its own; the
# installed oci2vm-runtime named in daemon.json's "runtimes", as a user configures it. Images
# come from the test registry (skopeo, then docker load: dockerd's namespace has no route to
# the registry on the host's loopback).
#
# Docker gives the runtime a network namespace without a path and fills it from a prestart
# hook (libnetwork-setkey), and binds single files (/etc/hosts, /etc/resolv.conf,
# /etc/hostname): the paths podman and containerd do not take.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "dockerd needs root"
command -v dockerd >/dev/null && [ -x /usr/bin/docker ] ||
	skip_all "Docker is not installed (apt-get install docker.io)"
command -v skopeo >/dev/null || skip_all "skopeo is not installed"
run_setup busybox redis

dest=$T/inst
env -u OCI2VM_CACHE make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr BUILD="$O2V_BUILD" \
	>"$T/install.log" 2>&1 || bail_out "make install: $(tail -1 "$T/install.log")"
RT=$dest/usr/bin/oci2vm-runtime

dk=$T/dk
ns=o2v-docker-$$
rtroot=$dk/exec/runtime-runc/moby # where dockerd's shim keeps runtime state (--root)
mkdir -p "$dk"
cat >"$dk/daemon.json" <<EOF
{"runtimes": {"oci2vm": {"path": "$RT"}},
 "data-root": "$dk/data", "exec-root": "$dk/exec", "pidfile": "$dk/pid",
 "hosts": ["unix://$dk/sock"]}
EOF
ip netns add "$ns" || bail_out "ip netns add"
ip -n "$ns" link set lo up
env -u OCI2VM_KERNEL -u OCI2VM_CACHE unshare --mount --propagation slave \
	nsenter --net="/run/netns/$ns" dockerd --config-file "$dk/daemon.json" >"$dk/log" 2>&1 &
dk_pid=$!
stop_dockerd() {
	local p
	kill "$dk_pid" 2>/dev/null
	wait "$dk_pid" 2>/dev/null
	for p in $(pgrep -f "containerd.*$dk/exec"); do kill -9 "$p" 2>/dev/null; done
	for p in $(pgrep -f "qemu-system.*$rtroot"); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
}
trap 'stop_dockerd; _run_cleanup; registry_stop' EXIT
D=(/usr/bin/docker -H "unix://$dk/sock")
for i in $(seq 150); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
"${D[@]}" version >/dev/null 2>&1 || bail_out "dockerd did not start: $(tail -3 "$dk/log")"

d() { # docker ARGS...: out, errout, rc
	"${D[@]}" "$@" >"$T/d.out" 2>"$T/d.err" </dev/null
	rc=$?
	out=$(cat "$T/d.out") errout=$(cat "$T/d.err")
}
innet() { nsenter --net="/run/netns/$ns" "$@"; }
left() { # no VM and no state of ours
	[ -z "$(pgrep -f "qemu-system.*$rtroot")" ] && [ -z "$(ls -A "$rtroot" 2>/dev/null)" ]
}

for img in busybox redis; do
	ref=$BB
	[ "$img" = redis ] && ref=$REDIS
	skopeo copy -q --src-tls-verify=false "docker://$ref" "docker-archive:$T/$img.tar:$img:latest" \
		>"$T/skopeo.log" 2>&1 || bail_out "skopeo copy $img: $(tail -1 "$T/skopeo.log")"
	d load -i "$T/$img.tar"
	is "$rc" 0 "docker load $img (from the test registry)" || diag "$errout"
done
d info --format '{{json .Runtimes}}'
like "$out" '"oci2vm":\{"path":"[^"]*oci2vm-runtime"' "docker info lists daemon.json's runtime"

# exit status, output, our kernel
d run --rm --runtime oci2vm busybox sh -c 'echo hello; echo oops >&2; uname -r; exit 3'
is "$rc" 3 "docker run --runtime oci2vm: the workload's exit status"
is "$(head -1 <<<"$out")" hello "... its stdout"
is "$errout" oops "... its stderr, apart"
[ -n "$(tail -1 <<<"$out")" ] && [ "$(tail -1 <<<"$out")" != "$(uname -r)" ]
ok $? "... on our kernel ($(tail -1 <<<"$out")), not the host's"
d run --rm --runtime oci2vm busybox nosuchcommand
is "$rc" 127 "a missing command: 127, as with runc"
left
ok $? "... no QEMU and no state left"

# Docker's network (its prestart hook fills a new namespace) and its /etc files
d run -d --name n1 --runtime oci2vm busybox sleep 100
is "$rc" 0 "docker run -d" || diag "$errout"
d inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}} {{.Config.Hostname}}' n1
read -r ip mac host <<<"$out"
d exec n1 sh -c 'ip -o -4 addr show eth0; cat /sys/class/net/eth0/address; hostname; cat /etc/hosts'
like "$out" "inet $ip/" "the VM's eth0 has Docker's address ($ip)"
like "$out" "$mac" "... and Docker's MAC"
like "$out" "$ip[[:space:]]+$host" "... /etc/hosts is Docker's, with the container's name"
is "$(sed -n 3p <<<"$out")" "$host" "... and the hostname Docker chose"
innet sh -c "echo hello-from-host | timeout 10 busybox nc -l -p 7777 >/dev/null" &
nc_pid=$!
sleep 0.3
d exec n1 sh -c 'echo ping | nc -w 3 172.17.0.1 7777'
is "$out" hello-from-host "the VM reaches the host through Docker's bridge, and back"
kill "$nc_pid" 2>/dev/null
wait "$nc_pid" 2>/dev/null
d rm -f n1
is "$rc" 0 "docker rm -f"
d run --rm --runtime oci2vm --network none busybox sh -c 'ls /sys/class/net | tr "\n" " "'
is "$out" "lo " "--network none: loopback only"

# the engine's cgroup: QEMU is in it, Docker's statistics and pause see the VM
d run -d --name c1 --runtime oci2vm --cpus 0.5 busybox sh -c 'while :; do echo tick; sleep 0.2; done'
is "$rc" 0 "docker run -d --cpus 0.5" || diag "$errout"
d inspect -f '{{.Id}}' c1
cid=$out
cg=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3; exit}' /proc/"$(pgrep -f "qemu-system.*$rtroot" | head -1)"/cgroup)
is "$cg" "/docker/$cid" "QEMU is in the cgroup Docker named"
is "$(cat "/sys/fs/cgroup/cpu/docker/$cid/cpu.cfs_quota_us" 2>/dev/null || \
	awk '{print $1}' "/sys/fs/cgroup/docker/$cid/cpu.max" 2>/dev/null)" 50000 \
	"... with --cpus 0.5's quota"
d stats --no-stream --format '{{.MemUsage}}' c1
like "$out" "^[1-9][0-9.]*MiB" "docker stats: the VM's memory ($out)"
d pause c1
is "$rc" 0 "docker pause" || diag "$errout"
d ps --filter name=c1 --format '{{.Status}}'
like "$out" "Paused" "... docker ps says paused"
d logs c1
n1=$(wc -l <<<"$out")
sleep 1
d logs c1
is "$(wc -l <<<"$out")" "$n1" "... and the VM is frozen: no output"
d unpause c1
is "$rc" 0 "docker unpause"
sleep 1
d logs c1
[ "$(wc -l <<<"$out")" -gt "$n1" ]
ok $? "... and it runs again"
d pause c1
d rm -f c1
is "$rc" 0 "docker rm -f of a paused container"
[ ! -e "/sys/fs/cgroup/cpu/docker/$cid" ] && [ ! -e "/sys/fs/cgroup/docker/$cid" ]
ok $? "... its cgroup is removed"
left
ok $? "... no QEMU and no state left"

# volumes: read-write, read-only, a single file, and more than QEMU's 8 device slots
vol=$T/vol
mkdir -p "$vol"
args=()
for i in $(seq 10); do
	mkdir -p "$vol/d$i"
	echo "$i" >"$vol/d$i/f"
	args+=(-v "$vol/d$i:/m/d$i")
done
echo single >"$vol/file"
d run --rm --runtime oci2vm "${args[@]}" -v "$vol/file:/etc/single:ro" -v "$vol/d1:/ro:ro" \
	busybox sh -c 'cat /m/d*/f | sort -n | tr "\n" " "; cat /etc/single
		echo new >/m/d2/new && chown 123:45 /m/d2/new && echo wrote
		echo x >/ro/x 2>/dev/null || echo ro-refused
		echo y >/etc/single 2>/dev/null || echo file-ro-refused'
is "$rc" 0 "12 bind mounts in one VM (microvm has 8 device slots)" || diag "$errout"
is "$(head -1 <<<"$out")" "1 2 3 4 5 6 7 8 9 10 single" "... each directory and the single file"
is "$(sed -n 2,4p <<<"$out" | tr '\n' ' ')" "wrote ro-refused file-ro-refused " \
	"... read-write, :ro refused for a directory and for a file"
is "$(stat -c %u:%g "$vol/d2/new" 2>/dev/null)" "123:45" "... the write landed with its owner"

# a terminal
out=$(script -qec "${D[*]} run --rm -it --runtime oci2vm busybox sh -c 'tty; exit 5'" \
	/dev/null </dev/null 2>&1)
rc=$?
like "$out" "/dev/pts/0" "-it: a terminal in the VM"
is "$rc" 5 "... and the exit status"

# redis with a published port: PONG, exec, logs, a graceful stop
d run -d --name r1 --runtime oci2vm -p 6390:6379 redis
is "$rc" 0 "docker run -d -p 6390:6379 redis" || diag "$errout"
for i in $(seq 100); do
	[ "$(innet redis-cli -p 6390 ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
is "$(innet redis-cli -p 6390 ping 2>&1)" PONG "redis-cli through Docker's published port: PONG"
is "$(innet redis-cli -p 6390 set k v 2>&1)/$(innet redis-cli -p 6390 get k 2>&1)" "OK/v" "SET, GET"
d exec r1 redis-cli get k
is "$out" v "docker exec r1 redis-cli"
d ps --filter name=r1 --format '{{.Status}}'
like "$out" "^Up" "docker ps: up"
d stop r1
is "$rc" 0 "docker stop"
d logs r1
like "$out" "ready to exit" "... graceful: redis logged its shutdown"
d inspect -f '{{.State.ExitCode}}' r1
is "$out" 0 "... exit code 0"
d rm r1
left
ok $? "no QEMU and no state left"
done_testing
