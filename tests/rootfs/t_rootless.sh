#!/usr/bin/env bash
# tests/rootfs/t_rootless.sh - the rootfs suite as an unprivileged user (uid/gid 65534).
#
# Ownership, device nodes, setuid bits and xattrs in the images must come from the layers, not
# from who builds them: the same tests that pass as root must pass under
# `setpriv --reuid 65534 --regid 65534 --clear-groups`, with a private writable cache.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${O2V_BUILD:-$top/build}

[ "$(id -u)" = 0 ] || skip_all "needs root to switch to an unprivileged user"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
[ -x "$build/oci2vm" ] && [ -x "$build/tests/test_rootfs_build" ] || skip_all "not built"

tmp=$(mktemp -d /tmp/o2v-rootless.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
# the edge-layers layout is built (as root) once, then handed to the unprivileged user
edge=$("$top/testdata/edge-layers.py" 2>/dev/null) || bail_out "testdata/edge-layers.py failed"
mkdir -p "$tmp/tdcache" "$tmp/home"
cp -a "$edge" "$tmp/tdcache/"
chown -R 65534:65534 "$tmp/tdcache" "$tmp/home"

as_nobody() {
	setpriv --reuid 65534 --regid 65534 --clear-groups \
		env -i PATH="/usr/sbin:/usr/bin:/sbin:/bin" HOME="$tmp/home" TMPDIR="$tmp/home" \
		OCI2VM_TESTDATA_CACHE="$tmp/tdcache" OCI2VM_CACHE="$tmp/home/cache" \
		O2V_BUILD="$build" LC_ALL=C.UTF-8 "$@"
}

is "$(as_nobody id -u)" 65534 "commands run as uid 65534"
run_ok "unit: build, atomic output, errors, cache (as uid 65534)" \
	as_nobody "$build/tests/test_rootfs_build"
run_ok "testdata/edge-layers.py cases through oci2vm export (as uid 65534)" \
	as_nobody /usr/bin/python3 "$top/tests/rootfs/t_edge_layers.py"
done_testing
