#!/usr/bin/env bash
# t_run_volumes.sh - what a guest can do to the host through `run -v`: nothing beyond writing
# file contents. As root in the container it sets a setuid-root file, a foreign owner and a
# device node; the host directory gets none of them (QEMU's 9p mapped security model keeps
# them in xattrs), while the guest reads back what it set.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup busybox
vol=$T/shared
mkdir -p "$vol"
echo "from the host" >"$vol/hostfile"

o2v run --rm -v "$vol:/v" "$BB" sh -c '
cd /v && echo data >suid && chown 0:0 suid && chmod 4755 suid &&
echo data >foreign && chown 4321:4321 foreign &&
mknod null c 1 3 && mkdir dir && chmod 2775 dir && cat hostfile'
is "$rc" 0 "as root in the guest: chown, chmod 4755, mknod on the volume" || diag "$errout"
is "$out" "from the host" "the guest reads the host's file"

is "$(find "$vol" -perm /6000 | sed "s|$vol|V|")" "" "host: no setuid or setgid file"
is "$(find "$vol" \( -uid 4321 -o -gid 4321 \) | sed "s|$vol|V|")" "" \
	"host: no file owned by the guest's uid 4321"
is "$(find "$vol" \( -type b -o -type c -o -type p \) | sed "s|$vol|V|")" "" "host: no device node"
is "$(cat "$vol/suid")" "data" "host: the file's contents are there"
owner=$(stat -c %u "$vol/suid")
is "$owner" "$(id -u)" "host: the guest's files belong to whoever ran oci2vm"

o2v run --rm -v "$vol:/v:ro" "$BB" sh -c '
stat -c "%n %a %u:%g" /v/suid /v/foreign /v/dir; ls -l /v/null | cut -c1'
is "$rc" 0 "a second run reads the volume back" || diag "$errout"
like "$out" "/v/suid 4755 0:0" "guest: the setuid bit and root owner it set"
like "$out" "/v/foreign 644 4321:4321" "guest: the uid and gid it set"
like "$out" "/v/dir 2775" "guest: the setgid directory it made"
like "$out" "(^|$(printf '\n'))c" "guest: the character device it made"
no_leftovers "volumes"
done_testing
