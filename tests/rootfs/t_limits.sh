#!/usr/bin/env bash
# t_limits.sh - decompression bombs: a small layer that unpacks past its limit (200 times its
# compressed size, past 64 MiB), and an image past the total unpacked-size limit, fail with one
# line naming the layer and the limit, leave nothing half-written in the cache, and the
# limits can be raised (OCI2VM_MAX_EXPANSION, OCI2VM_MAX_UNPACKED).
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/lib/tap.sh"
O2V=$O2V_BUILD/oci2vm
[ -x "$O2V" ] || skip_all "build/oci2vm is not built (make)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-limits.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OCI2VM_CACHE=$tmp/cache

# 300 MiB of zeros: a ~300 KiB gzip layer (about 1000 times smaller).
/usr/bin/python3 - "$tmp/bomb" <<'PY'
import sys
import os
sys.path.insert(0, os.environ["O2V_TOP"] + "/testdata")
from mkimage import Layer, Image, Layout
base = Layer("gzip")
base.add_dir("bin")
base.add_file("bin/hello", b"#!/bin/sh\necho hello\n", mode=0o755)
bomb = Layer("gzip")
bomb.add_file("zeros", bytes(300 << 20))
lay = Layout(sys.argv[1])
cfg = {"Cmd": ["/bin/hello"]}
lay.add("bomb", Image([base, bomb], config=cfg))
lay.add("small", Image([base], config=cfg))
lay.write()
PY
ok $? "a layout with a 300 MiB layer of zeros"

out=$("$O2V" export "oci:$tmp/bomb:bomb" "$tmp/out.ext4" 2>&1)
rc=$?
is "$rc" 1 "the bomb: export fails (1)"
like "$out" "layer sha256:[0-9a-f]+: (entry [^:]*: )?unpacks to more than 200 times its compressed size" \
	"... naming the layer and the limit"
is "$(printf '%s\n' "$out" | wc -l)" 1 "... in one line"
[ ! -e "$tmp/out.ext4" ] && [ -z "$(find "$tmp/cache" -name '*.tmp*' -o -name '.tmp*' | head -1)" ] &&
	[ -z "$(ls -A "$tmp/cache/vmimages" 2>/dev/null)" ]
ok $? "... leaving no output, no VM image and no temporary file"

OCI2VM_MAX_EXPANSION=2000 "$O2V" export "oci:$tmp/bomb:bomb" "$tmp/out.ext4" >"$tmp/err" 2>&1
ok $? "OCI2VM_MAX_EXPANSION=2000 lets it through" || diag <"$tmp/err"
rm -f "$tmp/out.ext4"

# A fresh cache: the VM image built above would be served without reading a layer.
out=$(OCI2VM_CACHE=$tmp/cache2 OCI2VM_MAX_UNPACKED=100M OCI2VM_MAX_EXPANSION=2000 \
	"$O2V" export "oci:$tmp/bomb:bomb" "$tmp/out2.ext4" 2>&1)
is "$?" 1 "past the total limit: export fails"
like "$out" "unpacks to more than 100 MiB in all .*OCI2VM_MAX_UNPACKED" "... naming the limit"
out=$(OCI2VM_MAX_UNPACKED=lots "$O2V" export "oci:$tmp/bomb:small" "$tmp/out3.ext4" 2>&1)
is "$?" 2 "a malformed OCI2VM_MAX_UNPACKED: usage error"
like "$out" "OCI2VM_MAX_UNPACKED" "... naming the variable"
"$O2V" export "oci:$tmp/bomb:small" "$tmp/out4.ext4" >"$tmp/err" 2>&1
ok $? "an ordinary image is not affected" || diag <"$tmp/err"
done_testing
