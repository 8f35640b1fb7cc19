#!/usr/bin/env bash
# t_export.sh - `oci2vm export`: formats from extensions and --format, stdout, usage errors,
# byte-identical output for the same image, atomic failure, --size, the VM-image cache (a
# second export reads no layer blob), and booting an exported cpio.gz on our kernel.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
O2V=${O2V_BUILD:-$top/build}/oci2vm
PY=${O2V_PYTHON:-/usr/bin/python3}

[ -x "$O2V" ] || skip_all "oci2vm is not built ($O2V)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-export.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The kernel lives in the user's cache (built once by `make kernel`), unlike this test's.
user_cache=${OCI2VM_CACHE:-}
export OCI2VM_KERNEL=${OCI2VM_KERNEL:-$("$top/kernel/build.sh" --path 2>/dev/null)}
export OCI2VM_CACHE=$tmp/cache HOME=$tmp/home
mkdir -p "$HOME" "$tmp/out"

# A small image: static busybox, sh as a symlink, a command that prints and exits 7.
cat >"$tmp/spec.json" <<JSON
{"mtime": 0, "images": {
 "ok": {"mediatypes": "oci", "config": {"Cmd": ["/bin/sh", "-c", "echo export-boot-ok; exit 7"],
        "Env": ["FOO=bar"], "WorkingDir": "/"},
        "layers": [{"compression": "gzip", "entries": [
          {"type": "dir", "path": "bin", "mode": "0755"},
          {"type": "file", "path": "bin/busybox", "src": "/bin/busybox", "mode": "0755"},
          {"type": "symlink", "path": "bin/sh", "target": "busybox"},
          {"type": "char", "path": "dev/null", "major": 1, "minor": 3, "mode": "0666"},
          {"type": "file", "path": "etc/secret", "data": "s", "mode": "0600", "uid": 1000}]}]},
 "bad": {"mediatypes": "oci", "config": {"Cmd": ["true"]},
         "layers": [{"compression": "none", "entries": [
          {"type": "file", "path": "a/../../escape", "data": "x"}]}]}}}
JSON
"$PY" "$top/testdata/mkimage.py" --out "$tmp/layout" --spec "$tmp/spec.json" >/dev/null ||
	bail_out "mkimage.py failed"
ref="oci:$tmp/layout:ok"

run_ok "export .cpio.gz" "$O2V" export -q "$ref" "$tmp/out/a.cpio.gz"
is "$(head -c2 "$tmp/out/a.cpio.gz" | od -An -tx1 | tr -d ' ')" "1f8b" ".cpio.gz is gzip"
run_ok "export .cpio" "$O2V" export -q "$ref" "$tmp/out/a.cpio"
is "$(head -c6 "$tmp/out/a.cpio")" "070701" ".cpio is newc"
run_ok "export .img" "$O2V" export -q "$ref" "$tmp/out/a.img"
run_ok "the .img passes e2fsck -fn" e2fsck -fn "$tmp/out/a.img"
run_ok "export .ext4" "$O2V" export -q "$ref" "$tmp/out/a.ext4"
cmp -s "$tmp/out/a.img" "$tmp/out/a.ext4"
ok $? ".img and .ext4 are the same image"
list=$(cpio -itv --numeric-uid-gid <"$tmp/out/a.cpio" 2>/dev/null)
like "$list" "crw------- +1 0 +0 +5, +1 .* dev/console" "/dev/console c 5 1 in the cpio"
like "$list" "-rwxr-xr-x .* init" "/init in the cpio"
like "$list" "-rw------- +1 1000 .* app_root/etc/secret" "container files under /app_root"
like "$list" "crw-rw-rw- .* 1, +3 .* app_root/dev/null" "device node from the layer"
conf=$(cd "$tmp/out" && cpio -i --to-stdout .oci2vm/run.conf <a.cpio 2>/dev/null)
like "$conf" $'arg /bin/sh\narg -c\narg echo export-boot-ok; exit 7' "run.conf has the image's command"
like "$conf" "env FOO=bar" "run.conf has the image's Env"
conf=$(debugfs -R 'cat /.oci2vm/run.conf' "$tmp/out/a.ext4" 2>/dev/null)
like "$conf" "rootdisk /dev/vda" "the ext4's run.conf names the root disk"

"$O2V" export -q --format cpio "$ref" - >"$tmp/out/stdout.cpio"
ok $? "export to stdout with --format"
cmp -s "$tmp/out/stdout.cpio" "$tmp/out/a.cpio"
ok $? "stdout output equals the file output"
"$O2V" export -q "$ref" - >/dev/null 2>"$tmp/err"
is "$?" 2 "stdout without --format is a usage error"
"$O2V" export -q "$ref" "$tmp/out/a.tar" 2>"$tmp/err"
is "$?" 2 "unknown extension is a usage error"
like "$(cat "$tmp/err")" "--format" "... and says to use --format"
"$O2V" export -q --size 1G "$ref" "$tmp/out/x.cpio" 2>/dev/null
is "$?" 2 "--size with cpio is a usage error"

# reproducible: another cache, same bytes
OCI2VM_CACHE=$tmp/cache2 "$O2V" export -q "$ref" "$tmp/out/b.ext4" &&
	OCI2VM_CACHE=$tmp/cache2 "$O2V" export -q "$ref" "$tmp/out/b.cpio.gz"
cmp -s "$tmp/out/a.ext4" "$tmp/out/b.ext4"
ok $? "ext4 is byte-identical when built again from scratch"
cmp -s "$tmp/out/a.cpio.gz" "$tmp/out/b.cpio.gz"
ok $? "cpio.gz is byte-identical when built again from scratch"

# the cache: a second export opens no layer blob
if command -v strace >/dev/null; then
	layers=$("$PY" -c 'import json,sys
i=json.load(open(sys.argv[1]+"/index.json"))
for m in i["manifests"]:
    if m.get("annotations",{}).get("org.opencontainers.image.ref.name")=="ok":
        man=json.load(open(sys.argv[1]+"/blobs/sha256/"+m["digest"][7:]))
        print(" ".join(l["digest"][7:] for l in man["layers"]))' "$tmp/layout")
	strace -f -e trace=open,openat -o "$tmp/strace" "$O2V" export -q "$ref" "$tmp/out/c.ext4"
	hits=0
	for l in $layers; do grep -q "$l" "$tmp/strace" && hits=$((hits + 1)); done
	is "$hits" 0 "a second export (cached VM image) opens no layer blob"
else
	skip "strace not installed"
fi

# --size
run_ok "export --size 300M" "$O2V" export -q --size 300M "$ref" "$tmp/out/big.ext4"
is "$(stat -c %s "$tmp/out/big.ext4")" $((300 * 1024 * 1024)) "--size sets the image size"
"$O2V" export -q --size 1M "$ref" "$tmp/out/small.ext4" 2>"$tmp/err"
is "$?" 1 "--size too small fails"
like "$(cat "$tmp/err")" "too small" "... with a clear message: $(cat "$tmp/err")"
[ ! -e "$tmp/out/small.ext4" ]
ok $? "... and leaves no output"

# bad input: error, no output, no temporary file
"$O2V" export -q "oci:$tmp/layout:bad" "$tmp/out/bad.cpio" 2>"$tmp/err"
is "$?" 1 "a layer with '..' fails"
like "$(cat "$tmp/err")" "layer sha256:[0-9a-f]{64}: entry 'a/../../escape'" \
	"... naming the layer digest and the entry"
is "$(ls "$tmp/out" | grep -c -e bad -e tmp-)" 0 "... and leaves nothing behind"
[ ! -e "$tmp/escape" ] && [ ! -e "$tmp/out/escape" ]
ok $? "... and wrote nothing outside"

# boot the exported initramfs on our kernel
if "$O2V" boot --help >/dev/null 2>&1 && command -v qemu-system-x86_64 >/dev/null; then
	out=$(timeout 120 "$O2V" boot "$tmp/out/a.cpio.gz" </dev/null 2>&1)
	rc=$?
	if printf '%s' "$out" | grep -qiE 'no kernel|kernel not found|make kernel'; then
		skip "no kernel built ('make kernel')" 2
	else
		like "$out" "export-boot-ok" "the exported cpio.gz boots and runs the image's command" ||
			diag "$out"
		is "$rc" 7 "the exit status of the image's command comes back"
	fi
else
	skip "oci2vm boot or QEMU not available" 2
fi

# ... and with the exact QEMU command the README shows for that, taken from the README
# (its code block after "Booting an exported image by hand"), so the two cannot drift.
readme_cmd=$(awk '/^### Booting an exported image by hand/ { f = 1 } f && /^qemu-system-x86_64/ { c = 1 }
	c { print } c && !/\\$/ { exit }' "$top/README.md")
if [ -z "$readme_cmd" ]; then
	not_ok "the README shows a QEMU command for an exported image"
elif [ ! -f "${OCI2VM_KERNEL:-}" ]; then
	skip "no kernel built ('make kernel')" 1
else
	out=$(cd "$tmp/out" && ln -sf a.cpio.gz image.cpio.gz && mkdir -p kernel &&
		printf '#!/bin/sh\necho "%s"\n' "$OCI2VM_KERNEL" >kernel/build.sh &&
		chmod +x kernel/build.sh && timeout 120 bash -c "$readme_cmd" </dev/null 2>&1)
	like "$out" "export-boot-ok" "the README's QEMU command boots the exported cpio.gz" ||
		diag "$readme_cmd" "$out"
fi
done_testing
