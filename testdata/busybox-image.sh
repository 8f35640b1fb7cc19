#!/usr/bin/env bash
# testdata/busybox-image.sh - a tiny BusyBox image; prints the path of its OCI layout.
#
#   layout=$(testdata/busybox-image.sh)   then   oci:$layout:latest   (skopeo / oci2vm)
#
# Source: Debian's busybox-static (/bin/busybox). Two layers: busybox + one symlink per applet in
# /bin; then /etc (passwd, group, hosts...), /root, /home/app, /tmp, /www-less. Users: root 0:0,
# app 1000:1000 (also in group `extra` 1001 = supplementary), nobody 65534:65534.
# Config: Env PATH=...; Cmd ["sh"]. Tags in the layout:
#   latest        OCI manifest, gzip layers, linux/amd64
#   docker        the same with Docker schema2 media types
#   zstd          OCI manifest, zstd layers
#   uncompressed  OCI manifest, plain tar layers
#   multi         OCI index: linux/amd64, linux/arm64/v8, linux/arm/v7 (configs say so; the
#                 busybox binary is the host's amd64 one) + one unknown/unknown attestation
#                 manifest per platform (buildx style, in-toto layer)
#   multi-docker  Docker manifest list: linux/amd64, linux/arm64/v8 (no attestations)
#   arm64         only linux/arm64/v8 (an image for another architecture)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build() {
	local out=$1
	[ -x /bin/busybox ] || { td_log "need /bin/busybox (apt-get install busybox-static)"; return 1; }
	BUSYBOX=/bin/busybox "$TD_PY" - "$out" <<'EOF'
import os, subprocess, sys
sys.path.insert(0, os.environ["TD_DIR"])
from mkimage import Layer, Image, Index, Layout

out = sys.argv[1]
bb = open(os.environ["BUSYBOX"], "rb").read()
applets = [a for a in subprocess.run([os.environ["BUSYBOX"], "--list"], check=True,
                                     capture_output=True, text=True).stdout.split()
           if a != "busybox"]

def layers(compression):
    l1 = Layer(compression)
    l1.add_dir("bin")
    l1.add_file("bin/busybox", bb, 0o755)
    for a in sorted(applets):
        l1.add_symlink("bin/" + a, "busybox")
    l2 = Layer(compression)
    l2.add_dir("etc")
    l2.add_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                "app:x:1000:1000:app:/home/app:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    l2.add_file("etc/group", "root:x:0:\napp:x:1000:\nextra:x:1001:app\nnogroup:x:65534:\n")
    l2.add_file("etc/shadow", "root:*:19000:0:99999:7:::\napp:*:19000:0:99999:7:::\n", 0o640)
    l2.add_file("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n")
    l2.add_file("etc/os-release", 'NAME="oci2vm busybox test image"\nID=busybox\n')
    for d, mode, uid in (("root", 0o700, 0), ("home", 0o755, 0), ("home/app", 0o755, 1000),
                         ("tmp", 0o1777, 0), ("var", 0o755, 0), ("dev", 0o755, 0),
                         ("proc", 0o555, 0), ("sys", 0o555, 0)):
        l2.add_dir(d, mode, uid, uid)
    return [l1, l2]

cfg = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
       "Cmd": ["sh"]}
amd64 = {"os": "linux", "architecture": "amd64"}
arm64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}
armv7 = {"os": "linux", "architecture": "arm", "variant": "v7"}
lay = Layout(out)
lay.add("latest", Image(layers("gzip"), cfg, amd64))
lay.add("docker", Image(layers("gzip"), cfg, amd64, "docker"))
lay.add("zstd", Image(layers("zstd"), cfg, amd64))
lay.add("uncompressed", Image(layers("none"), cfg, amd64))
lay.add("multi", Index([Image(layers("gzip"), cfg, p) for p in (amd64, arm64, armv7)],
                       attestations=True))
lay.add("multi-docker", Index([Image(layers("gzip"), cfg, p, "docker") for p in (amd64, arm64)],
                              "docker"))
lay.add("arm64", Image(layers("gzip"), cfg, arm64))
EOF
}

export TD_DIR
td_build busybox build /bin/busybox
