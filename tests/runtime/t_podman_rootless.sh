#!/usr/bin/env bash
# t_podman_rootless.sh - oci2vm-runtime under rootless podman: a user made here (empty HOME,
# its own subordinate ids, XDG_RUNTIME_DIR), the installed runtime, images from the test
# registry. Rootless podman runs the runtime as root of its user namespace: the state goes
# to $XDG_RUNTIME_DIR/oci2vm-runtime, the root is shared over 9p (virtiofsd needs the
# machine's root), writes land with the user's mapped ids, and podman's slirp4netns network
# is taken over like any other.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "making a user needs root"
for c in podman newuidmap slirp4netns useradd runuser curl; do
	command -v "$c" >/dev/null || skip_all "$c is not installed"
done
run_setup busybox

dest=$T/inst
env -u OCI2VM_CACHE make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr BUILD="$O2V_BUILD" \
	>"$T/install.log" 2>&1 || bail_out "make install: $(tail -1 "$T/install.log")"
RT=$dest/usr/bin/oci2vm-runtime
chmod 755 "$T" # the user runs the installed runtime from here

user=o2vrl$$
useradd -m -s /bin/bash "$user" || bail_out "useradd"
uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
grep -q "^$user:" /etc/subuid || echo "$user:$((300000 + ($$ % 100) * 65536)):65536" >>/etc/subuid
grep -q "^$user:" /etc/subgid || echo "$user:$((300000 + ($$ % 100) * 65536)):65536" >>/etc/subgid
xdg=/run/user/$uid
mkdir -p "$xdg" && chown "$user:" "$xdg" && chmod 700 "$xdg"
drop_user() {
	pkill -9 -u "$user" 2>/dev/null
	sleep 0.2
	userdel -r "$user" >/dev/null 2>&1
	sed -i "/^$user:/d" /etc/subuid /etc/subgid
	rm -rf "$xdg"
}
trap 'drop_user; _run_cleanup; registry_stop' EXIT

# podman as that user; out, errout, rc
p() {
	runuser -u "$user" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" \
		XDG_RUNTIME_DIR="$xdg" podman --storage-driver vfs --events-backend none \
		--runtime "$RT" "$@" >"$T/p.out" 2>"$T/p.err" </dev/null
	rc=$?
	out=$(cat "$T/p.out") errout=$(grep -v 'is not a shared mount' "$T/p.err")
}
left() {
	[ -z "$(pgrep -u "$user" -f qemu-system)" ] && [ -z "$(ls -A "$xdg/oci2vm-runtime" 2>/dev/null)" ]
}

p pull -q --tls-verify=false "$BB"
is "$rc" 0 "rootless podman pulls from the test registry" || diag "$errout"

p run --rm --network none "$BB" sh -c 'id -u; uname -r; grep " / " /proc/mounts | cut -d" " -f3; exit 4'
is "$rc" 4 "rootless podman run --rm: the workload's exit status" || diag "$errout"
is "$(sed -n 1p <<<"$out")" 0 "... root inside"
[ -n "$(sed -n 2p <<<"$out")" ] && [ "$(sed -n 2p <<<"$out")" != "$(uname -r)" ]
ok $? "... on our kernel, found by the installed runtime for a user with an empty HOME"
is "$(sed -n 3p <<<"$out")" 9p "... its root over 9p (virtiofsd needs the machine's root)"
left
ok $? "... nothing left in \$XDG_RUNTIME_DIR/oci2vm-runtime, no QEMU"

mkdir -p "$home/vol" && echo from-host >"$home/vol/f" && chown -R "$user:" "$home/vol"
p run --rm --network none -v "$home/vol:/v" "$BB" sh -c 'cat /v/f; echo new >/v/g; chown 1000:1000 /v/g'
is "$out" from-host "-v: the user's directory" || diag "$errout"
base=$(grep "^$user:" /etc/subuid | cut -d: -f2)
is "$(stat -c %u "$home/vol/g" 2>/dev/null)" "$((base + 999))" \
	"... a write chowned to 1000 lands as the user's subordinate id $((base + 999))"

port=$(free_port)
p run -d --name w1 --network slirp4netns:port_handler=slirp4netns -p "$port:8080" "$BB" \
	sh -c 'echo hello-rootless >/tmp/i.html; exec httpd -f -p 8080 -h /tmp'
is "$rc" 0 "run -d -p on slirp4netns" || diag "$errout"
for i in $(seq 100); do
	got=$(curl -s --max-time 2 "http://127.0.0.1:$port/i.html") && [ -n "$got" ] && break
	sleep 0.1
done
is "$got" hello-rootless "the published port reaches the VM (slirp4netns forwards to its address)"
p exec w1 sh -c 'echo in-vm; exit 6'
is "$rc/$out" "6/in-vm" "exec: output and exit status"
p stop -t 5 w1
is "$rc" 0 "stop"
p rm w1
left
ok $? "... nothing left"

p run --rm --network none --annotation org.oci2vm.share=virtiofs "$BB" true
ok $([ "$rc" != 0 ]; echo $?) "org.oci2vm.share=virtiofs rootless: refused"
like "$errout" "no virtiofsd to run \(it needs root" "... saying why"
left
ok $? "... nothing left"
done_testing
