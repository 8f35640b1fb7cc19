#!/usr/bin/env bash
# t_install.sh - an installed oci2vm works for any user: `make install DESTDIR=...` puts the
# binary, the guest init, the preload library and the kernel in place, and another user
# (nobody), with an empty HOME, no OCI2VM_* variables and a fresh cache, runs an image from
# the local registry with it. Also: what a binary that has no kernel beside it says.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "installing and switching to another user needs root"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) missing"
run_setup busybox

user=65534 # nobody
dest=$(mktemp -d /tmp/o2v-install.XXXXXX)
home=$(mktemp -d /tmp/o2v-home.XXXXXX)
chmod 755 "$dest"
chown "$user:$user" "$home"
trap '_run_cleanup; registry_stop; rm -rf "$dest" "$home" "/tmp/oci2vm-$user"' EXIT

# The builder's kernel cache, not the test's fresh one (run_setup set OCI2VM_CACHE).
env -u OCI2VM_CACHE make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr BUILD="$O2V_BUILD" \
	>"$T/install.log" 2>&1
ok $? "make install DESTDIR" || diag <"$T/install.log"
for f in usr/bin/oci2vm usr/libexec/oci2vm/init usr/libexec/oci2vm/oci2vm-qemu-net.so \
	usr/lib/oci2vm/vmlinux; do
	[ -f "$dest/$f" ] && [ ! -L "$dest/$f" ]
	ok $? "installed: $f (a file, not a link into the builder's cache)"
done

# As nobody: no HOME of the builder, no OCI2VM_KERNEL, a cache of its own.
as_user() {
	setpriv --reuid=$user --regid=$user --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$home" "$dest/usr/bin/oci2vm" "$@" </dev/null
}
info=$(as_user info 2>&1)
is "$?" 0 "another user: oci2vm info finds every part" || diag "$info"
like "$info" "kernel: +$dest/usr/lib/oci2vm/vmlinux \(installed with oci2vm\)" \
	"another user: the kernel installed with oci2vm"
like "$info" "cache: +$home/.cache/oci2vm" "another user: its own cache"

out=$(as_user run --rm -q "$BB" sh -c 'echo hello-$((1 + 2)) as $(id -u); exit 3' 2>"$T/err")
is "$?" 3 "another user: run --rm returns the workload's exit code" || diag <"$T/err"
is "$out" "hello-3 as 0" "another user: the workload's output"
err=$(as_user run --rm "$BB" true 2>&1 >/dev/null)
if [ -e /dev/kvm ]; then
	like "$err" "running under TCG \(slow\): /dev/kvm is not usable by this user" \
		"another user outside the kvm group: TCG with a one-line hint, not a failure"
else
	skip "no /dev/kvm on this host"
fi
[ -s "$home/.cache/oci2vm/oci-layout" ]
ok $? "another user: the image went into that user's cache"
is "$(pgrep -u $user -f qemu-system | wc -l)" 0 "another user: no QEMU left"

# A binary with no kernel beside it and none named: one line saying how to get one.
mkdir -p "$T/lone/bin"
cp "$dest/usr/bin/oci2vm" "$T/lone/bin/"
err=$(env -u OCI2VM_KERNEL "$T/lone/bin/oci2vm" run --rm "$BB" true 2>&1 >/dev/null)
is "$?" 125 "no kernel: run fails with 125"
like "$err" "no kernel installed with this oci2vm .*reinstall" "no kernel: says how to get one"
is "$(printf '%s\n' "$err" | wc -l)" 1 "no kernel: one line"

# A damaged installed kernel: named, with the way out.
printf 'garbage' >"$T/lone/vmlinux.bad"
mkdir -p "$T/lone/lib/oci2vm" && cp "$T/lone/vmlinux.bad" "$T/lone/lib/oci2vm/vmlinux"
err=$(env -u OCI2VM_KERNEL "$T/lone/bin/oci2vm" run --rm "$BB" true 2>&1 >/dev/null)
is "$?" 125 "damaged kernel: run fails with 125"
like "$err" "installed kernel is damaged, reinstall oci2vm.*is not a kernel" \
	"damaged kernel: says so and names it"
done_testing
