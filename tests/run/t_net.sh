#!/usr/bin/env bash
# t_net.sh - the VM's network keeps the host's loopback out of the guest's reach, and
# everything else working: with real HTTP servers on the host's loopback (IPv4 and IPv6) and
# in a network namespace this test creates (a veth pair: the "outside"), a real dnsmasq as a
# loopback resolver, and a root workload that routes 127.0.0.1 onto its own wire.
#   - default: 10.0.2.2, [fec0::2] (QEMU's names for the host's loopback), 127.0.0.1 and
#     0.0.0.0 sent raw over eth0 by a workload with every capability all fail; the namespace's server answers (outbound works)
#   - --host-loopback (the opt-in): the loopback servers answer
#   - run inside a namespace with a loopback resolver (127.0.0.53): names resolve through
#     10.0.2.3; --add-host NAME:host-gateway reaches a server bound to 0.0.0.0 there, not one
#     bound to 127.0.0.1
#   - without the guard library, or with a QEMU that does not load it, a VM with a network
#     does not start (and says why)
# Needs root (ip netns, veth) and dnsmasq.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
command -v ip >/dev/null || skip_all "needs iproute2"
command -v dnsmasq >/dev/null || skip_all "needs dnsmasq (dnsmasq-base)"
run_setup busybox

py=/usr/bin/python3
[ -x "$py" ] || py=python3
ns=o2vt$$
veth=o2v$$
net=10.213.$(($$ % 250))
pids=()
net_cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	ip link del "${veth}a" 2>/dev/null
}
trap 'net_cleanup; _run_cleanup; registry_stop' EXIT

# serve DIR's index over HTTP on ADDR:PORT, in namespace NS ("" = ours)
serve() {
	local in_ns=$1 addr=$2 port=$3 dir=$4
	mkdir -p "$dir"
	echo "served by $dir" >"$dir/index.html"
	if [ -n "$in_ns" ]; then
		ip netns exec "$in_ns" "$py" -m http.server --bind "$addr" --directory "$dir" "$port" \
			>/dev/null 2>&1 &
	else
		"$py" -m http.server --bind "$addr" --directory "$dir" "$port" >/dev/null 2>&1 &
	fi
	pids+=($!)
}

ip netns add "$ns" || bail_out "ip netns add"
ip link add "${veth}a" type veth peer name "${veth}b" || bail_out "veth"
ip link set "${veth}b" netns "$ns"
ip addr add "$net.1/30" dev "${veth}a"
ip link set "${veth}a" up
ip netns exec "$ns" ip addr add "$net.2/30" dev "${veth}b"
ip netns exec "$ns" ip link set "${veth}b" up
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip route add default via "$net.1"

# wait until ADDR:PORT accepts in namespace NS ("" = ours)
wait_tcp() {
	local in_ns=$1 addr=$2 port=$3 run=()
	[ -n "$in_ns" ] && run=(ip netns exec "$in_ns")
	"${run[@]}" "$py" -c 'import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$addr" "$port"
}

p_lo=$(free_port) p_any=$(free_port) p_v6=$(free_port) p_out=$(free_port)
serve "" 127.0.0.1 "$p_lo" "$T/www-lo"
serve "" 0.0.0.0 "$p_any" "$T/www-any"
serve "" ::1 "$p_v6" "$T/www-v6"
serve "$ns" "$net.2" "$p_out" "$T/www-out"
serve "$ns" 127.0.0.1 "$p_lo" "$T/www-ns-lo"
serve "$ns" 0.0.0.0 "$p_any" "$T/www-ns-any"
wait_tcp "" 127.0.0.1 "$p_lo" && wait_tcp "" 127.0.0.1 "$p_any" && wait_tcp "" ::1 "$p_v6" &&
	wait_tcp "$ns" "$net.2" "$p_out" && wait_tcp "$ns" 127.0.0.1 "$p_lo" &&
	wait_tcp "$ns" 127.0.0.1 "$p_any" || bail_out "the test's HTTP servers did not start"

# Each probe prints "NAME: <first line of the answer or the error>".
probes='
get() { printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 "$2" "$3" 2>&1 | head -1 | sed "s/^/$1: /"; }
get gw4 10.0.2.2 '"$p_lo"'
get out '"$net.2 $p_out"'
echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad
ip -6 addr add fec0::15/64 dev eth0 && sleep 1
get gw6 fec0::2 '"$p_v6"'
# a root workload puts 127.0.0.1 and 0.0.0.0 on its wire: QEMU sees them as destinations
echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet
echo 1 >/proc/sys/net/ipv4/conf/eth0/route_localnet
ip route del local 127.0.0.1 dev lo table local
ip route del local 127.0.0.0/8 dev lo table local
ip addr del 127.0.0.1/8 dev lo
ip route add 127.0.0.1/32 via 10.0.2.2 dev eth0 onlink
ip route add 0.0.0.0/32 via 10.0.2.2 dev eth0 onlink
get raw127 127.0.0.1 '"$p_lo"'
get raw0 0.0.0.0 '"$p_any"'
'
answer() { sed -n "s/^$1: //p" <<<"$out"; }

o2v run --rm --cap-add ALL --security-opt systempaths=unconfined "$BB" sh -c "$probes"
is "$rc" 0 "default network: the probes ran" || diag "$errout"
unlike "$(answer gw4)" "200 OK" "default: the host's loopback at 10.0.2.2 does not answer ($(answer gw4))"
unlike "$(answer gw6)" "200 OK" "default: the host's ::1 at fec0::2 does not answer ($(answer gw6))"
like "$(answer out)" "200 OK" "default: a server in another network namespace answers"
unlike "$(answer raw127)" "200 OK" "default: 127.0.0.1 sent raw by a root guest is refused ($(answer raw127))"
unlike "$(answer raw0)" "200 OK" "default: 0.0.0.0 sent raw by a root guest is refused ($(answer raw0))"

# A refused connection to the host's loopback must not take QEMU down: libslirp 4.7.0
# freed the guest's SYN under a queued reset when the guest's address was still being
# resolved (here an IPv6 address still tentative), and QEMU died of SIGSEGV.
o2v run --rm --cap-add NET_ADMIN "$BB" sh -c '
ip -6 addr add fec0::15/64 dev eth0 && sleep 1
printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 fec0::2 '"$p_v6"' 2>&1 | head -1
echo still-running'
is "$rc" 0 "a refused connect from a tentative IPv6 address: QEMU survives" || diag "$errout"
like "$out" "still-running" "... and the workload goes on"

o2v run --rm --cap-add ALL --security-opt systempaths=unconfined --host-loopback "$BB" \
	sh -c "$probes"
is "$rc" 0 "--host-loopback: the probes ran" || diag "$errout"
like "$(answer gw4)" "200 OK" "--host-loopback: the host's loopback answers at 10.0.2.2"
like "$(answer gw6)" "200 OK" "--host-loopback: the host's ::1 answers at fec0::2"
like "$(answer out)" "200 OK" "--host-loopback: outbound still works"

o2v run --rm --network none --host-loopback "$BB" true
is "$rc" 125 "--host-loopback with --network none: exit 125"
like "$errout" "^oci2vm: error: .*--host-loopback.*--network none" "... saying why"

# Inside the namespace: its own loopback resolver (a private mount of resolv.conf) and a
# host-gateway. The image is cached: no registry is needed there.
cat >"$T/in-ns.sh" <<EOF
set -e
echo 'nameserver 127.0.0.53' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
dnsmasq --keep-in-foreground --no-resolv --no-hosts --listen-address=127.0.0.53 \
	--bind-interfaces --address=/probe.o2v.test/10.9.8.7 --user=root --pid-file= \
	--log-facility=- 2>/dev/null &
sleep 0.5
"$OCI2VM" run --rm --pull never --add-host hg:host-gateway "$BB" sh -c '
nslookup probe.o2v.test 2>&1 | sed -n "s/^Address: /dns: /p"
grep -w hg /etc/hosts | sed "s/^/hosts: /"
printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 hg $p_any 2>&1 | head -1 | sed "s/^/hg-any: /"
printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 hg $p_lo 2>&1 | head -1 | sed "s/^/hg-lo: /"'
kill %1
EOF
out=$(ip netns exec "$ns" unshare -m bash "$T/in-ns.sh" 2>"$T/in-ns.err" </dev/null)
rc=$?
is "$rc" 0 "in a namespace with a loopback resolver: the run worked" || diag "$(cat "$T/in-ns.err")"
is "$(answer dns)" "10.9.8.7" "a name resolves through 10.0.2.3 to the host's 127.0.0.53"
like "$(answer hosts)" "^$net\.2[[:space:]]+hg$" "host-gateway: the host's own address ($net.2)"
like "$(answer hg-any)" "200 OK" "host-gateway: a server bound to 0.0.0.0 answers"
unlike "$(answer hg-lo)" "200 OK" "host-gateway: a server bound to 127.0.0.1 does not ($(answer hg-lo))"

# Without the guard library (an install missing it), a networked VM refuses to start.
mkdir -p "$T/noguard"
cp "$OCI2VM" "$O2V_BUILD/init" "$T/noguard/"
before=$(vmimage_sums)
"$T/noguard/oci2vm" run --rm --pull never "$BB" true >"$T/ng.out" 2>"$T/ng.err" </dev/null
is "$?" 125 "no guard library: exit 125"
like "$(cat "$T/ng.err")" "oci2vm-qemu-net\.so.*missing.*--host-loopback" \
	"... naming it and the way out"
is "$(wc -l <"$T/ng.err")" 1 "... on one line"
"$T/noguard/oci2vm" run --rm --pull never --network none "$BB" true >/dev/null 2>&1 </dev/null
is "$?" 0 "no guard library: --network none still runs"

# A QEMU that does not load the guard (as a statically linked one ignores LD_PRELOAD): the
# guest never starts.
mkdir -p "$T/static-qemu"
printf '#!/bin/sh\nexec env -u LD_PRELOAD %s "$@"\n' "$(command -v qemu-system-x86_64)" \
	>"$T/static-qemu/qemu-system-x86_64"
chmod +x "$T/static-qemu/qemu-system-x86_64"
PATH=$T/static-qemu:$PATH o2v run --rm --pull never "$BB" echo reached
is "$rc" 125 "a QEMU without the guard: exit 125"
like "$errout" "did not load the network guard" "... saying so" || diag "$errout"
unlike "$out" "reached" "... and the workload never ran"
is "$(qemu_left)" "" "... no QEMU left"
is "$(vmimage_sums)" "$before" "cached images unchanged"
no_leftovers "network"
done_testing
