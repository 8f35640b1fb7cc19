#!/usr/bin/env bash
# t_escapes.sh - strings from an image never reach the terminal raw: an image whose config
# names its architecture with an escape sequence and a bell, and whose layer has a media type
# carrying a newline and an OSC sequence, make oci2vm fail with one line in which every
# control character is shown as '?'.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/lib/tap.sh"
O2V=$O2V_BUILD/oci2vm
[ -x "$O2V" ] || skip_all "build/oci2vm is not built (make)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-t-escapes.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OCI2VM_CACHE=$tmp/cache

/usr/bin/python3 - "$tmp/lay" <<'PY'
import os, sys
sys.path.insert(0, os.environ["O2V_TOP"] + "/testdata")
from mkimage import Layer, Image, Layout
l = Layer("gzip")
l.add_file("hello", b"hi\n")
evil = Layer("gzip", media_type="application/vnd.oci.image.layer.v1.tar\n\x1b]0;pwned\x07")
evil.add_file("x", b"x\n")
lay = Layout(sys.argv[1])
lay.add("arch", Image([l], config={"Cmd": ["/hello"]},
                      platform={"os": "linux", "architecture": "\x1b[2Jarm\x07"}))
lay.add("media", Image([evil], config={"Cmd": ["/hello"]}))
lay.write()
PY
ok $? "a layout with escape-bearing fields"

controls() { LC_ALL=C tr -d '\n' <"$1" | LC_ALL=C grep -c '[[:cntrl:]]'; }
"$O2V" run --rm "oci:$tmp/lay:arch" 2>"$tmp/err1" </dev/null
ok "$([ $? -ne 0 ]; echo $?)" "an image for '\\e[2Jarm\\a': refused"
is "$(controls "$tmp/err1")" 0 "... and no control character reaches stderr" ||
	diag "$(od -c "$tmp/err1" | head -5)"
like "$(cat "$tmp/err1")" "\?\[2Jarm\?" "... the escape shown as '?'"
is "$(wc -l <"$tmp/err1")" 1 "... in one line"

"$O2V" export "oci:$tmp/lay:media" "$tmp/m.ext4" 2>"$tmp/err2"
ok "$([ $? -ne 0 ]; echo $?)" "a layer media type with a newline and an OSC sequence: refused"
is "$(controls "$tmp/err2")" 0 "... and no control character reaches stderr" ||
	diag "$(od -c "$tmp/err2" | head -5)"
is "$(wc -l <"$tmp/err2")" 1 "... in one line (the newline cannot fake a second message)"
done_testing
