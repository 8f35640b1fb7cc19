#!/usr/bin/env bash
# testdata/http-image.sh - BusyBox httpd serving a page; prints the path of its OCI layout.
#
#   layout=$(testdata/http-image.sh)   then   oci:$layout:latest
#
# FROM the busybox test image (testdata/busybox-image.sh, its two layers reused as they are)
# plus one layer: /www/index.html (content below; tests compare against it) and /www/big.bin
# (1 MiB of a fixed pattern, for transfer checks). Config: Entrypoint
# ["busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"], no Cmd, ExposedPorts 8080/tcp,
# Env PATH, User unset (root). Tag: latest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HTTP_INDEX='<!doctype html><title>oci2vm</title><p>hello from oci2vm http test image</p>'

build() {
	local out=$1 bb
	bb=$("$TD_DIR/busybox-image.sh") || return 1
	BB=$bb INDEX=$HTTP_INDEX "$TD_PY" - "$out" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TD_DIR"])
from mkimage import Layer, Layout, from_layout

img = from_layout(os.environ["BB"], "latest")
www = Layer("gzip")
www.add_dir("www")
www.add_file("www/index.html", os.environ["INDEX"] + "\n")
www.add_file("www/big.bin", bytes(range(256)) * 4096)
img.layers.append(www)
img.config.pop("Cmd", None)
img.config["Entrypoint"] = ["busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
img.config["ExposedPorts"] = {"8080/tcp": {}}
Layout(sys.argv[1]).add("latest", img)
PY
}

export TD_DIR
# the busybox script is an input: when it changes, this image is rebuilt too
td_build http build "$TD_DIR/busybox-image.sh" /bin/busybox
