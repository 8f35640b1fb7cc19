#!/usr/bin/env bash
# t_podman.sh - oci2vm-runtime (the installed `oci2vm` under that name) as podman's OCI
# runtime: real podman (Debian's 4.3, conmon) with --runtime pointing at it, images from the
# test registry; each container is a microVM on our kernel whose root is the rootfs podman
# mounted, shared over 9p. Then the runtime's own command line with bad input: one error
# line (a JSON line with --log-format json), exit 1, no VM and no state left.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "podman with a VM per container needs root here"
command -v podman >/dev/null || skip_all "podman is not installed (apt-get install podman)"
run_setup busybox http redis

dest=$T/inst
env -u OCI2VM_CACHE make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr BUILD="$O2V_BUILD" \
	>"$T/install.log" 2>&1
ok $? "make install DESTDIR" || diag <"$T/install.log"
RT=$dest/usr/bin/oci2vm-runtime
is "$(readlink "$RT")" "oci2vm" "installed: oci2vm-runtime, a link to oci2vm (chosen by its name)"
out=$("$RT" --version)
like "$out" "^oci2vm-runtime version [0-9][^ ]*"$'\n'"spec: 1\.[01]\.[0-9]+$" \
	"--version in runc's format"

# podman's state is the test's own; the runtime's is its default root (podman's cleanup
# process calls the runtime without --runtime-flag), of which only what was there before
# may remain
rtroot=/run/oci2vm-runtime
before=$(ls -A "$rtroot" 2>/dev/null)
# runc (pods' infra containers) cannot raise limits above this host's: podman's defaults do
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' >"$T/containers.conf"
pm=(env -u OCI2VM_KERNEL -u OCI2VM_CACHE CONTAINERS_CONF="$T/containers.conf" podman --root "$T/podman/root" --runroot "$T/podman/run"
	--storage-driver vfs --cgroup-manager cgroupfs --events-backend none --runtime "$RT")
out=$("${pm[@]}" pull -q --tls-verify=false "$BB" 2>&1) ||
	skip_all "podman cannot pull from the test registry: $(tail -1 <<<"$out")"
p() { # podman ARGS...: out, errout, rc
	"${pm[@]}" "$@" >"$T/p.out" 2>"$T/p.err" </dev/null
	rc=$?
	out=$(cat "$T/p.out") errout=$(cat "$T/p.err")
}
left() { # nothing of ours running or kept
	[ -n "${O2V_DEBUG_LEFT:-}" ] && { qemu_left; pgrep -af "qemu-system.*$rtroot"; ls -A "$rtroot"; } >&2
	[ -z "$(qemu_left)" ] && [ -z "$(pgrep -f "qemu-system.*$rtroot")" ] &&
		[ -z "$(pgrep -f "virtiofsd.*$rtroot")" ] &&
		[ "$(ls -A "$rtroot" 2>/dev/null | grep -vx runc)" = "$(grep -vx runc <<<"$before")" ] &&
		[ -z "$(ls -A "$rtroot/runc" 2>/dev/null)" ] # pods' infra containers: runc's
}

p run --rm --network none "$BB" sh -c 'echo out; echo err >&2; uname -r'
is "$rc" 0 "podman run --rm: exit 0" || diag "$errout"
is "$(head -1 <<<"$out")" "out" "... stdout is the workload's"
is "$errout" "err" "... and stderr apart"
guest_kernel=$(tail -1 <<<"$out")
[ -n "$guest_kernel" ] && [ "$guest_kernel" != "$(uname -r)" ]
ok $? "uname -r inside is our kernel ($guest_kernel), not the host's ($(uname -r))"
left
ok $? "... no QEMU and no state left"

# the root: virtio-fs where virtiofsd can run (root, Debian's qemu-system-common), else 9p
if [ -x /usr/lib/qemu/virtiofsd ]; then
	p run --rm --network none "$BB" sh -c 'grep " / " /proc/mounts | cut -d" " -f3'
	is "$out" virtiofs "the root is virtio-fs (virtiofsd)" || diag "$errout"
	p run --name vfs1 --network none "$BB" sh -c 'echo x >/made; chown 77:88 /made'
	p mount vfs1
	is "$(stat -c %u:%g "$out/made" 2>/dev/null)" "77:88" "... writes land in the engine's rootfs with their owner"
	p diff vfs1
	like "$out" "A /made" "... and podman diff sees them"
	p rm vfs1
	p run --rm --network none --annotation org.oci2vm.share=9p "$BB" sh -c 'grep " / " /proc/mounts | cut -d" " -f3'
	is "$out" 9p "annotation org.oci2vm.share=9p: the root over 9p"
	p run -d --name vfs2 --network none "$BB" sleep 100
	vpid=$(pgrep -f "virtiofsd.*$rtroot" | head -1)
	kill -9 "$vpid" 2>/dev/null
	for i in $(seq 100); do p ps -a --format '{{.Names}} {{.Status}}'; [[ $out == *"vfs2 Exited"* ]] && break; sleep 0.1; done
	like "$out" "vfs2 Exited" "virtiofsd killed: the VM ends with it, nothing hangs"
	p rm -f vfs2
	[ -z "$(pgrep -f "virtiofsd.*$rtroot")" ]
	ok $? "no virtiofsd left"
else
	skip "no /usr/lib/qemu/virtiofsd: the root is 9p" 7
fi
p run --rm --network none --annotation org.oci2vm.share=nfs "$BB" true
ok $([ "$rc" != 0 ]; echo $?) "annotation org.oci2vm.share=nfs: refused"
like "$errout" "org.oci2vm.share 'nfs': expected 9p or virtiofs" "... saying why"
left
ok $? "... no QEMU, no virtiofsd and no state left"

# -it: the terminal's master goes to conmon over --console-socket; its size and input
out=$(timeout 60 /usr/bin/python3 "$O2V_TOP/tests/lib/ptyrun.py" 33 101 'hello\r' -- "${pm[@]}" run \
	--rm -it --network none "$BB" sh -c 'echo ready; read line; echo "got:$line"; stty size; tty; exit 7')
is "$?" 7 "podman run -it: the exit status"
like "$out" "got:hello" "... typed input read by line"
like "$out" "33 101" "... the terminal's size"
like "$out" "/dev/pts/0" "... a terminal"

p run --rm --network none "$BB" sh -c 'exit 3'
is "$rc" 3 "exit 3"
p run --rm --network none "$BB" nosuchcommand
is "$rc" 127 "a missing command: 127"
like "$errout" "nosuchcommand" "... named"
p run --rm --network none "$BB" sh -c 'kill -9 $$'
is "$rc" 137 "killed by SIGKILL: 137"

p run --rm --network none -e GREETING=hi -u 1000:1000 -w /tmp "$BB" \
	sh -c 'echo "$GREETING $(id -u):$(id -g) $(pwd)"'
is "$out" "hi 1000:1000 /tmp" "-e, -u, -w" || diag "$errout"

p run --rm --network none --hostname box7 --cap-drop CHOWN --ulimit nofile=2048:4096 \
	--tmpfs /scratch --memory 256m "$BB" sh -c 'hostname; chown 1 /tmp 2>/dev/null &&
	echo chown-ok || echo chown-refused; ulimit -n; ulimit -Hn; grep -c " /scratch tmpfs" /proc/mounts
	awk "/MemTotal/ {print (\$2 < 262144) ? \"memory-ok\" : \$2}" /proc/meminfo'
is "$out" $'box7\nchown-refused\n2048\n4096\n1\nmemory-ok' \
	"--hostname, --cap-drop CHOWN, --ulimit (inside the guest), --tmpfs, --memory 256m" ||
	diag "$errout"

p run --rm --network none --umask 0027 --oom-score-adj 500 "$BB" sh -c 'umask; cat /proc/self/oom_score_adj'
is "$out" $'0027\n500' "--umask, --oom-score-adj: the workload's, inside the guest" || diag "$errout"
p run --rm --network none "$BB" sh -c 'grep -c " /proc/sys " /proc/mounts'
is "$out" 1 "/proc/sys read-only, as podman's readonlyPaths say"
p run --rm --network none --security-opt unmask=ALL --security-opt systempaths=unconfined "$BB" \
	sh -c 'grep -c " /proc/sys " /proc/mounts'
is "$out" 0 "... none with empty maskedPaths and readonlyPaths (unmask=ALL)"
p run --rm --network none --preserve-fds 1 "$BB" true 3</dev/null
ok $([ "$rc" != 0 ]; echo $?) "--preserve-fds 1: refused"
like "$errout" "file descriptors cannot be passed into a VM" "... saying why"

mkdir -p "$T/runvol" && echo below-run >"$T/runvol/f"
p run --rm --network none --read-only -v "$T/runvol:/run/data" "$BB" sh -c 'cat /run/data/f; touch /run/x /tmp/x && echo writable; touch /x 2>/dev/null || echo ro'
is "$out" $'below-run\nwritable\nro' "--read-only: a volume below /run is on top of the /run tmpfs, / read-only" || diag "$errout"

mkdir -p "$T/vol"
echo from-host >"$T/vol/f"
p run --rm --network none -v "$T/vol:/v" "$BB" sh -c 'cat /v/f; echo back >/v/g; chown 1234:55 /v/g'
is "$out" "from-host" "-v: the host's directory" || diag "$errout"
is "$(stat -c '%u:%g %s' "$T/vol/g")" "1234:55 5" "-v: writes land on the host with real ownership"
p run --rm --network none -v "$T/vol:/v:ro" "$BB" sh -c 'echo x >/v/h'
ok $([ "$rc" != 0 ] && [ ! -e "$T/vol/h" ]; echo $?) "-v ...:ro: writes refused ($errout)"
vols=()
for i in $(seq 12); do mkdir -p "$T/v$i"; echo "$i" >"$T/v$i/f"; vols+=(-v "$T/v$i:/v$i"); done
p run --rm --network none "${vols[@]}" "$BB" sh -c 'cat /v*/f | sort -n | tr "\n" " "; cat /run/.containerenv >/dev/null && echo containerenv'
is "$out" "1 2 3 4 5 6 7 8 9 10 11 12 containerenv" \
	"12 volumes (past microvm's 8 device slots) and podman's /run/.containerenv, one share" ||
	diag "$errout"
left
ok $? "... and nothing left"
p run --rm --network none "${vols[@]:0:10}" "$BB" sh -c 'ls -d /v1 /v5'
is "$out" $'/v1\n/v5' "five directory volumes: the most a VM without a network takes"
p run --rm --network none "$BB" sh -c 'echo kept >/written'
p run --rm --network none --read-only "$BB" sh -c 'echo x >/written'
ok $([ "$rc" != 0 ]; echo $?) "--read-only: the root refuses writes"

p run -d --name d1 --network none "$BB" sh -c \
	'echo started; trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done'
is "$rc" 0 "podman run -d" || diag "$errout"
for i in $(seq 50); do p logs d1; [ "$out" = started ] && break; sleep 0.1; done
is "$out" "started" "podman logs"
p ps --format '{{.Names}} {{.Status}}'
like "$out" "^d1 Up " "podman ps: running"
p exec d1 sh -c 'echo in-vm $(id -u) $(pwd); exit 5'
is "$rc/$out" "5/in-vm 0 /" "podman exec: output and exit status" || diag "$errout"
p exec -e X=1 -u 1000 -w /tmp d1 sh -c 'echo "$X $(id -u) $(pwd)"'
is "$out" "1 1000 /tmp" "podman exec -e -u -w"
out=$(echo piped | "${pm[@]}" exec -i d1 cat 2>&1)
is "$out" "piped" "podman exec -i: stdin"
p exec d1 nosuchcommand
is "$rc" 127 "podman exec of a missing command: 127"
out=$(timeout 60 /usr/bin/python3 "$O2V_TOP/tests/lib/ptyrun.py" 30 90 '' -- "${pm[@]}" exec -it d1 \
	sh -c 'tty; stty size; exit 6')
is "$?" 6 "podman exec -it: the exit status"
like "$out" "/dev/pts/0" "... on a terminal"
like "$out" "30 90" "... of the caller's size"
p stop -t 10 d1
is "$rc" 0 "podman stop"
p logs d1
like "$out" "got-term" "... graceful: the workload got SIGTERM"
p ps -a --format '{{.Names}} {{.Status}}'
like "$out" "^d1 Exited \(0\)" "podman ps -a: exited 0"
p rm d1
is "$rc" 0 "podman rm"
left
ok $? "... no QEMU and no state left"

# A network namespace of our own with a veth (what CNI would make): the VM takes over its
# interface, keeps its address and MAC, and the host reaches the service through it.
ns=o2v-rt-$$ net=10.213.$(($$ % 200)).0
ip netns add "$ns" && ip link add "o2vh$$" type veth peer name "o2vp$$" &&
	ip link set "o2vp$$" netns "$ns" && ip -n "$ns" link set "o2vp$$" name eth0 &&
	ip addr add "${net%.0}.1/24" dev "o2vh$$" && ip link set "o2vh$$" up &&
	ip -n "$ns" addr add "${net%.0}.2/24" dev eth0 && ip -n "$ns" link set eth0 up &&
	ip -n "$ns" link set lo up && ip -n "$ns" route add default via "${net%.0}.1" ||
	bail_out "could not make a network namespace with a veth"
trap 'ip netns del "$ns" 2>/dev/null; ip link del "o2vh$$" 2>/dev/null; _run_cleanup; registry_stop' EXIT
mac=$(ip -n "$ns" -j link show eth0 | jq -r '.[0].address')
out=$("${pm[@]}" pull -q --tls-verify=false "$HTTP" 2>&1) || bail_out "podman pull $HTTP: $out"
p run -d --name web --network "ns:/run/netns/$ns" "$HTTP"
is "$rc" 0 "podman run -d --network ns:PATH (a namespace with a veth)" || diag "$errout"
body=
for i in $(seq 100); do
	body=$(curl -s --max-time 2 "http://${net%.0}.2:8080/index.html") && [ -n "$body" ] && break
	sleep 0.1
done
like "$body" "hello from oci2vm http test image" \
	"the host reaches the VM's service at the namespace's address"
p exec web sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"; cat /sys/class/net/eth0/address'
is "$out" "${net%.0}.2/24"$'\n'"$mac" "... the guest's eth0 has the namespace's address and MAC"
p run --rm --network "ns:/run/netns/$ns" "$BB" true
ok $([ "$rc" != 0 ]; echo $?) "a second VM in the same namespace is refused"
like "$errout" "taken by another oci2vm VM" "... saying why"
p rm -f web
left
ok $? "no QEMU and no state left"

# podman's own network (its CNI bridge) and port publishing, with the redis image
out=$("${pm[@]}" pull -q --tls-verify=false "$REDIS" 2>&1) || bail_out "podman pull $REDIS: $out"
port=$(free_port)
p run -d --name r1 -p "127.0.0.1:$port:6379" "$REDIS"
is "$rc" 0 "podman run -d -p H:6379 redis (podman's bridge network)" || diag "$errout"
for i in $(seq 300); do
	[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
is "$(redis-cli -p "$port" ping 2>&1)" "PONG" "redis-cli -p H ping through podman's port publishing"
redis-cli -p "$port" set greeting hello >/dev/null
is "$(redis-cli -p "$port" get greeting 2>&1)" "hello" "... SET/GET"
p exec r1 redis-cli ping
is "$out" "PONG" "podman exec r1 redis-cli ping"
p exec r1 cat /etc/hosts /etc/resolv.conf
like "$out" "host\.containers\.internal" "/etc/hosts: podman's entries"
unlike "$out" "nameserver 10\.0\.2\.3" "/etc/resolv.conf: podman's nameservers, not QEMU's user network's"
p stop r1
is "$rc" 0 "podman stop redis"
p logs r1
like "$out" "ready to exit" "... graceful: redis logs its shutdown"
p rm r1
left
ok $? "no QEMU and no state left"

# A pod: its infra container (catatonit pausing) runs under runc and holds the namespaces;
# the redis VM in the pod takes over the pod's interface; the pod's published port answers.
if command -v runc >/dev/null; then
	port=$(free_port)
	p pod create --name pod1 -p "127.0.0.1:$port:6379"
	is "$rc" 0 "podman pod create -p" || diag "$errout"
	p run -d --name pr1 --pod pod1 "$REDIS"
	is "$rc" 0 "podman run -d --pod" || diag "$errout"
	for i in $(seq 300); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
		sleep 0.1
	done
	is "$(redis-cli -p "$port" ping 2>&1)" "PONG" "the pod's published port reaches the redis VM"
	p ps -a --pod --format '{{.Names}} {{.Status}}'
	like "$out" "infra Up" "... the pod's infra container runs (under runc)"
	p pod rm -f pod1
	is "$rc" 0 "podman pod rm -f"
	left
	ok $? "... no QEMU and no state left"
else
	skip "runc is not installed: no pods" 6
fi

# The runtime's own command line, as an engine would call it, with bad input.
bundle=$T/bundle
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/"
config() { # FILTER: config.json from a minimal valid one
	jq "$1" >"$bundle/config.json" <<'JSON'
{"ociVersion":"1.0.2","root":{"path":"rootfs"},"hostname":"c1",
 "process":{"args":["/bin/busybox","true"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}},
 "linux":{"namespaces":[{"type":"pid"}]}}
JSON
}
rtc() { "$RT" --log "$T/rt.log" --log-format json "$@" >"$T/r.out" 2>"$T/r.err"; rc=$?; }
bad() { # NAME PATTERN: exit 1, one error line naming it, a JSON log line, nothing left
	is "$rc" 1 "$1: exit 1"
	like "$(cat "$T/r.err")" "^oci2vm-runtime: error: .*$2" "$1: says so"
	is "$(wc -l <"$T/r.err")" 1 "$1: one line"
	like "$(tail -1 "$T/rt.log" | jq -r '.level + " " + .msg')" "^error .*$2" \
		"$1: a JSON log line with level and msg"
	left
	ok $? "$1: no QEMU and no state left"
}
refused() { # FILTER NAME PATTERN: create with config.json made by FILTER must be refused
	config "$1"
	rtc create --bundle "$bundle" --pid-file "$T/pid" c1
	bad "$2" "$3"
}
config .
echo '{"ociVersion":' >"$bundle/config.json"
rtc create --bundle "$bundle" --pid-file "$T/pid" c1
bad "malformed config.json" "not a JSON object"
refused '.ociVersion = "2.0.0"' \
	"ociVersion 2.0.0" "ociVersion '2.0.0' is not supported"
refused '.root.path = "nowhere"' \
	"a missing rootfs" "rootfs .* is not a directory"
rm "$bundle/config.json"
rtc create --bundle "$bundle" --pid-file "$T/pid" c1
bad "no config.json" "config.json"
refused '.linux.namespaces += [{"type":"network","path":"/run/netns/o2v-nonexistent"}]' \
	"a network namespace that does not exist" "network namespace .* does not exist"
refused '.process.capabilities.bounding = ["CAP_CHOWN","CAP_BOGUS"]' \
	"an unknown capability" "unknown capability 'CAP_BOGUS'"
for cmd in start kill state; do
	rtc "$cmd" nosuch
	bad "$cmd of an unknown id" "container 'nosuch' does not exist"
done
rtc delete nosuch
bad "delete of an unknown id" "does not exist"
rtc delete --force nosuch
is "$rc" 0 "delete --force of an unknown id: 0, as runc"

# create / state / start / delete by hand: the pid file, the states, the exit status
config '.process.args = ["/bin/busybox","sh","-c","exit 5"]'
rtc create --bundle "$bundle" --pid-file "$T/pid" c1
is "$rc" 0 "create" || diag "$(cat "$T/r.err")"
rtc create --bundle "$bundle" --pid-file "$T/pid2" c1
bad_id=$(cat "$T/r.err")
like "$bad_id" "container 'c1' already exists" "an id in use: refused"
pid=$(cat "$T/pid")
like "$pid" "^[0-9]+$" "the pid file holds a bare pid (no newline: containerd's shim)"
rtc state c1
is "$(jq -r '.status + " " + (.pid|tostring) + " " + .id' "$T/r.out")" "created $pid c1" \
	"state: created, the supervisor's pid"
rtc start c1
is "$rc" 0 "start"
for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
rtc state c1
is "$(jq -r .status "$T/r.out")" "stopped" "state: stopped once the workload ended"
rtc delete c1
is "$rc" 0 "delete"
left
ok $? "nothing left after delete"

# OCI hooks, on the host, each with the state on stdin, at the specification's points
hook() { printf '{"path":"/bin/sh","args":["sh","-c","echo %s $(cat) >>%s"]}' "$1" "$T/hooks.log"; }
all_hooks=""
for k in prestart createRuntime createContainer startContainer poststart poststop; do
	all_hooks="$all_hooks, \"$k\": [$(hook "$k")]"
done
config ".hooks = {${all_hooks#, }} | .process.args = [\"/bin/busybox\",\"true\"]"
rtc create --bundle "$bundle" --pid-file "$T/pid" c2
is "$rc" 0 "create with hooks" || diag "$(cat "$T/r.err")"
rtc start c2
for i in $(seq 100); do rtc state c2; [ "$(jq -r .status "$T/r.out")" = stopped ] && break; sleep 0.05; done
rtc delete c2
is "$(sed -E 's/^([a-zA-Z]+) .*"status":"([a-z]+)".*"id":"c2".*/\1 \2/;s/^([a-zA-Z]+) .*"id":"c2".*"status":"([a-z]+)".*/\1 \2/' "$T/hooks.log" | tr '\n' ' ')" \
	"prestart creating createRuntime creating createContainer creating startContainer created poststart running poststop stopped " \
	"hooks: each kind once, in order, with the container's state on stdin"
refused '.hooks = {"createRuntime": [{"path": "/bin/false"}]}' \
	"a failing createRuntime hook" "createRuntime hook '/bin/false' failed"

# org.oci2vm.kernel: another kernel, if root's and out of everybody else's reach
kpath=$(env -u OCI2VM_CACHE "$top/kernel/build.sh" --path 2>/dev/null)
config ".annotations = {\"org.oci2vm.kernel\": \"$kpath\"}"
rtc create --bundle "$bundle" --pid-file "$T/pid" c7
is "$rc" 0 "annotation org.oci2vm.kernel naming root's kernel file" || diag "$(cat "$T/r.err")"
rtc delete --force c7
cp "$kpath" "$T/tmp/vmlinux"
refused ".annotations = {\"org.oci2vm.kernel\": \"$T/tmp/vmlinux\"}" \
	"a kernel in a directory others may write to" "org.oci2vm.kernel .* must belong to root and be writable by nobody else"
refused '.annotations = {"org.oci2vm.kernel": "vmlinux"}' \
	"a relative kernel path" "org.oci2vm.kernel 'vmlinux': expected an absolute path"

# a virtiofsd that exits at once (a host that forbids its sandbox): the root falls back to 9p
config '.process.args = ["/bin/busybox","sh","-c","/bin/busybox grep \" / \" /proc/mounts >/fs"]'
OCI2VM_VIRTIOFSD=/bin/false rtc create --bundle "$bundle" --pid-file "$T/pid" c6
is "$rc" 0 "create with a virtiofsd that cannot run" || diag "$(cat "$T/r.err")"
rtc start c6
for i in $(seq 100); do rtc state c6; [ "$(jq -r .status "$T/r.out")" = stopped ] && break; sleep 0.05; done
like "$(cat "$bundle/rootfs/fs" 2>/dev/null)" " / 9p " "... the root falls back to 9p"
rtc delete c6
rm -f "$bundle/rootfs/fs"

# pause, then kill -9: a frozen VM reads no control message; the runtime ends it from outside
cg=/o2v-test-$$
config ".linux.cgroupsPath = \"$cg\" | .process.args = [\"/bin/busybox\",\"sleep\",\"100\"]"
rtc create --bundle "$bundle" --pid-file "$T/pid" c5
is "$rc" 0 "create with a cgroupsPath" || diag "$(cat "$T/r.err")"
rtc start c5
pid=$(cat "$T/pid")
grep -q "$cg\$" "/proc/$pid/cgroup"
ok $? "... the supervisor is in that cgroup"
rtc pause c5
rtc state c5
is "$rc/$(jq -r .status "$T/r.out")" "0/paused" "pause: state says paused"
rtc kill c5 KILL
is "$rc" 0 "kill KILL of a paused container"
for i in $(seq 100); do rtc state c5; [ "$(jq -r .status "$T/r.out")" = stopped ] && break; sleep 0.05; done
is "$(jq -r .status "$T/r.out")" stopped "... it stops"
rtc delete c5
is "$rc" 0 "delete"
[ -z "$(find /sys/fs/cgroup -maxdepth 2 -name "o2v-test-$$" 2>/dev/null)" ]
ok $? "... and its cgroup is gone from every hierarchy"
left
ok $? "... nothing left"
rtc kill c5 KILL
is "$rc" 1 "kill of an unknown container: an error"
done_testing
