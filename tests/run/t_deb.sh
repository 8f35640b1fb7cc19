#!/usr/bin/env bash
# t_deb.sh - `make deb` builds a Debian package that lintian accepts (no errors, overrides
# explained in the package), whose Depends name the libraries, QEMU and e2fsprogs, and that
# works installed: for another user (nobody) with an empty HOME, a run of an image from the
# local registry. The package is installed with apt only where that changes nothing else
# (root, no oci2vm package yet, O2V_TEST_SYSTEM_INSTALL=1 as .ci/run sets on its throw-away
# machine); otherwise its files are unpacked with dpkg-deb and run from there.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "building a package as root:root and switching users need root"
command -v dpkg-deb >/dev/null || skip_all "dpkg-deb missing"
run_setup busybox

user=65534
out=$(mktemp -d /tmp/o2v-deb.XXXXXX)
home=$(mktemp -d /tmp/o2v-home.XXXXXX)
chmod 755 "$out"
chown "$user:$user" "$home"
installed=0
cleanup() {
	[ "$installed" = 1 ] && apt-get purge -y -q oci2vm >/dev/null 2>&1
	_run_cleanup
	registry_stop
	rm -rf "$out" "$home" "/tmp/oci2vm-$user"
}
trap cleanup EXIT

deb=$(env -u OCI2VM_CACHE make -s -C "$top" deb BUILD="$O2V_BUILD" DEB_DIR="$out" 2>"$out/err")
ok $? "make deb" || diag <"$out/err"
deb=$(printf '%s\n' "$deb" | tail -1)
[ -f "$deb" ]
ok $? "the package file exists: $(basename "$deb")"
fields=$(dpkg-deb -f "$deb" Package Version Architecture Depends 2>&1)
like "$fields" "Architecture: amd64" "control: amd64"
for dep in libcurl libjson-c libssl libarchive libext2fs qemu-system-x86 e2fsprogs; do
	like "$fields" "Depends:.*$dep" "control: Depends names $dep"
done
files=$(dpkg-deb -c "$deb")
for f in ./usr/bin/oci2vm ./usr/libexec/oci2vm/init ./usr/lib/oci2vm/vmlinux \
	./usr/share/man/man1/oci2vm.1.gz ./usr/share/doc/oci2vm/copyright; do
	like "$files" "root/root .* $f" "contains $f, owned by root"
done

if command -v lintian >/dev/null; then
	lint=$(lintian --tag-display-limit 0 "$deb" 2>&1)
	errors=$(printf '%s\n' "$lint" | grep -E '^E: ' || true)
	is "$errors" "" "lintian: no errors" || diag "$lint"
	[ -n "$lint" ] && diag "lintian: $(printf '%s\n' "$lint" | head -20)"
else
	skip "lintian is not installed"
fi

# Installed with apt on a throw-away machine, else unpacked: either way, run as nobody.
if [ "${O2V_TEST_SYSTEM_INSTALL:-0}" = 1 ] && ! dpkg -s oci2vm >/dev/null 2>&1; then
	apt-get install -y -q "$deb" >"$out/apt.log" 2>&1
	ok $? "apt-get install ./$(basename "$deb")" || diag <"$out/apt.log"
	installed=1
	prefix=
else
	dpkg-deb -x "$deb" "$out/root"
	ok $? "dpkg-deb -x (not installed system-wide: set O2V_TEST_SYSTEM_INSTALL=1 for that)"
	prefix=$out/root
fi
as_user() {
	setpriv --reuid=$user --regid=$user --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$home" "$prefix/usr/bin/oci2vm" "$@" </dev/null
}
info=$(as_user info 2>&1)
is "$?" 0 "packaged oci2vm info, as nobody" || diag "$info"
like "$info" "kernel: +$prefix/usr/lib/oci2vm/vmlinux" "packaged: the kernel of the package"
got=$(as_user run --rm -q "$BB" sh -c 'echo packaged; exit 4' 2>"$out/run.err")
is "$?" 4 "packaged: run --rm as nobody returns the workload's code" || diag <"$out/run.err"
is "$got" "packaged" "packaged: the workload's output"
if [ "$installed" = 1 ]; then
	list=$(dpkg -L oci2vm | while read -r f; do [ -f "$f" ] && echo "$f"; done)
	apt-get purge -y -q oci2vm >"$out/purge.log" 2>&1
	ok $? "apt-get purge oci2vm" || diag <"$out/purge.log"
	installed=0
	left=$(for f in $list; do [ -e "$f" ] && echo "$f"; done)
	is "$left" "" "purged: none of its files is left"
fi
done_testing
