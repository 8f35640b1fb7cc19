#!/usr/bin/env bash
# t_cri.sh - the Kubernetes path: containerd's CRI plugin (Debian's containerd 1.6, started here
# with its own config, root, state and socket) with oci2vm-runtime as the runtime handler
# "oci2vm" (runc v2 shim + BinaryName, what a RuntimeClass selects), driven over the CRI's
# gRPC API the way the kubelet drives it (tests/lib/cri.py). The pod's network is CNI's bridge
# plugin on a bridge of the test's own; images come from the test registry through CRI's
# PullImage. The pod sandbox runs under runc (the runtime delegates it), each application
# container is a VM that takes over the pod's interface.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "containerd needs root"
command -v containerd >/dev/null || skip_all "containerd is not installed"
command -v runc >/dev/null || skip_all "runc is not installed (the pod sandbox runs under it)"
[ -x /usr/lib/cni/bridge ] || skip_all "CNI plugins are not installed (containernetworking-plugins)"
/usr/bin/python3 -c 'import grpc' 2>/dev/null || skip_all "python3-grpcio is not installed"
command -v umoci >/dev/null || skip_all "umoci is not installed"
run_setup busybox

dest=$T/inst
env -u OCI2VM_CACHE make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr BUILD="$O2V_BUILD" \
	>"$T/install.log" 2>&1 || bail_out "make install: $(tail -1 "$T/install.log")"
RT=$dest/usr/bin/oci2vm-runtime

# the pod's sandbox image: busybox that sleeps (the role of Kubernetes' pause)
layout=$("$top/testdata/busybox-image.sh") || bail_out "busybox image"
cp -r "$layout" "$T/pause-layout"
umoci config --image "$T/pause-layout:latest" --tag pause --config.cmd sleep \
	--config.cmd 2147483647 >"$T/umoci.log" 2>&1 || bail_out "umoci config: $(tail -1 "$T/umoci.log")"
registry_push "$T/pause-layout:pause" pause:latest >/dev/null || bail_out "push pause"
PAUSE=$R/pause:latest

cd=$T/cd
br=o2vcri$$
net=10.$((100 + $$ % 100)).$(($$ / 100 % 250)).0
mkdir -p "$cd/cni" "$cd/logs"
cat >"$cd/cni/10-o2v.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "o2v-cri", "plugins": [
  {"type": "bridge", "bridge": "$br", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$net/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$cd/ipam"}}]}
EOF
cat >"$cd/config.toml" <<EOF
version = 2
root = "$cd/root"
state = "$cd/state"
[grpc]
  address = "$cd/sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  # the kubelet's -998 for sandboxes is more than a test machine may lower a score to
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cd/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.oci2vm]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.oci2vm.options]
      BinaryName = "$RT"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$R"]
    endpoint = ["http://$R"]
EOF
env -u OCI2VM_KERNEL -u OCI2VM_CACHE containerd --config "$cd/config.toml" >"$cd/log" 2>&1 &
cd_pid=$!
rtroot=/run/containerd/runc/k8s.io
stop_containerd() {
	kill "$cd_pid" 2>/dev/null
	wait "$cd_pid" 2>/dev/null
	pkill -9 -f "containerd-shim-runc-v2.*$cd/sock" 2>/dev/null
	for p in $(pgrep -f "qemu-system.*$rtroot"); do kill -9 "$p"; done
	# what a failed run leaves: the snapshots' mounts, pods' namespaces, runc's sandboxes
	grep " $cd/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l
	for n in $pods; do ip netns del "$n" 2>/dev/null; done
	ip link del "$br" 2>/dev/null
}
trap 'stop_containerd; _run_cleanup; registry_stop' EXIT
for i in $(seq 100); do [ -S "$cd/sock" ] && break; sleep 0.1; done
[ -S "$cd/sock" ] || bail_out "containerd did not start: $(tail -3 "$cd/log")"

cri() { # cri.py COMMAND ARGS...: out, errout, rc
	CRI_LOGDIR=$cd/logs /usr/bin/python3 "$top/tests/lib/cri.py" "$cd/sock" "$@" \
		>"$T/c.out" 2>"$T/c.err" </dev/null
	rc=$?
	out=$(cat "$T/c.out") errout=$(cat "$T/c.err")
}
left() {
	[ -z "$(pgrep -f "qemu-system.*$rtroot")" ] &&
		[ -z "$(ls -A "$rtroot" 2>/dev/null | grep -vx runc)" ] &&
		[ -z "$(ls -A "$rtroot/runc" 2>/dev/null)" ]
}
status_is() { # ID WANT: poll ContainerStatus until its state is WANT (5 s)
	for i in $(seq 50); do
		cri status "$1"
		[[ $out == "$2"* ]] && return 0
		sleep 0.1
	done
	return 1
}

cri version
like "$out" "^containerd " "CRI Version: containerd answers" || diag "$errout $(grep -i "level=error\|level=fatal\|failed to load plugin" "$cd/log" | tail -3)"
for img in "$BB" "$PAUSE"; do
	cri pull "$img"
	is "$rc" 0 "CRI PullImage $img (the registry mirror)" || diag "$errout"
done

pods=""
cri runp pod1 oci2vm
is "$rc" 0 "RunPodSandbox with runtime handler oci2vm" || diag "$errout $(tail -5 "$cd/log")"
pod=$out
pods=$(ls /var/run/netns 2>/dev/null | grep '^cni-')
cri podip "$pod"
podip=$out
like "$podip" "^${net%.0}\.[0-9]+$" "... the pod has CNI's address ($podip)"

cri create "$pod" pod1 "$BB" web sh -c 'echo hello-pod >/tmp/i.html; exec httpd -f -p 8080 -h /tmp'
is "$rc" 0 "CreateContainer in the pod" || diag "$errout"
web=$out
cri start "$web"
is "$rc" 0 "StartContainer" || diag "$errout"
status_is "$web" RUNNING
ok $? "ContainerStatus: RUNNING"
cri exec "$web" sh -c 'uname -r; hostname; ip -o -4 addr show eth0'
is "$rc" 0 "ExecSync" || diag "$errout"
[ -n "$(sed -n 1p <<<"$out")" ] && [ "$(sed -n 1p <<<"$out")" != "$(uname -r)" ]
ok $? "... in a VM on our kernel ($(sed -n 1p <<<"$out")), not the host's"
is "$(sed -n 2p <<<"$out")" pod1 "... with the pod's hostname"
like "$(sed -n 3p <<<"$out")" "inet $podip/" "... and the pod's address on eth0 (the VM took over the pod's interface)"
got=$(curl -s --max-time 5 "http://$podip:8080/i.html")
is "$got" hello-pod "the host reaches the VM's server at the pod's IP, through CNI's bridge"
cri exec "$web" sh -c 'exit 5'
is "$rc" 5 "ExecSync: the exit status"

# a second application container in the same pod: one VM per network namespace (a limit)
cri create "$pod" pod1 "$BB" side true
side=$out
cri start "$side"
ok $([ "$rc" != 0 ]; echo $?) "a second VM in the pod's network namespace: refused"
like "$errout" "taken by another oci2vm VM" "... saying why"
cri rm "$side"

# another pod: a container's exit status
cri runp pod2 oci2vm
pod2=$out
cri create "$pod2" pod2 "$BB" job sh -c 'exit 3'
job=$out
cri start "$job"
status_is "$job" EXITED
is "$out" "EXITED 3" "ContainerStatus of a finished container: EXITED, its exit code"
cri rm "$job"
cri stopp "$pod2"
cri rmp "$pod2"
is "$rc" 0 "... its pod removed"

cri stop "$web" 10
is "$rc" 0 "StopContainer" || diag "$errout"
status_is "$web" EXITED
ok $? "... EXITED ($out)"
cri rm "$web"
is "$rc" 0 "RemoveContainer"
# the next container of the pod (as init containers run one after another): a new VM takes
# the pod's interface over again
cri create "$pod" pod1 "$BB" next sh -c 'ip -o -4 addr show eth0 | grep -q "inet '"$podip"'/" && exit 7'
next=$out
cri start "$next"
status_is "$next" EXITED
is "$out" "EXITED 7" "a later container in the same pod has the pod's address again"
cri rm "$next"
cri stopp "$pod"
is "$rc" 0 "StopPodSandbox" || diag "$errout"
cri rmp "$pod"
is "$rc" 0 "RemovePodSandbox" || diag "$errout"
left
ok $? "no QEMU and no state left"
done_testing
