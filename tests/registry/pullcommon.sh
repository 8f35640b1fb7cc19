# tests/registry/pullcommon.sh - what the t_pull*.sh tests share (sourced, bash).
#
#   pull_setup MODE...     skip unless oci2vm/skopeo/the registry work; start the registry in
#                          MODE (tests/lib/registry.sh), push the BusyBox test image as
#                          busybox:latest, :docker, :multi, :zstd; a fresh OCI2VM_CACHE in $tmp
#   o2v ARGS...            run oci2vm; stdout in $out, stderr in $errout, status in $rc
#   cache_snapshot         print a sorted "path sha256" listing of the cache (before/after)
#   reqs_in LOG REGEX      count JSON-log lines whose path matches REGEX
top=${O2V_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/registry.sh"
O2V=${O2V_BUILD:-$top/build}/oci2vm
PY=${O2V_PYTHON:-/usr/bin/python3}
: "${O2V_REAL_HOME:=$HOME}" # testdata builds stay in the user's cache across pull_setup calls

o2v() {
	"$O2V" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	errout=$(cat "$tmp/err")
	return $rc
}

cache_snapshot() {
	(cd "$OCI2VM_CACHE" && find . -path ./.oci2vm-tmp -prune -o -type f ! -name .oci2vm-lock \
		-print0 | sort -z | xargs -0 -r sha256sum)
}

reqs_in() { # LOG REGEX
	grep -cE "\"path\": \"[^\"]*$2" "$1" 2>/dev/null || true
}

pull_setup() {
	[ -x "$O2V" ] || skip_all "oci2vm is not built ($O2V)"
	command -v skopeo >/dev/null || skip_all "skopeo is not installed"
	command -v docker-registry >/dev/null || skip_all "docker-registry is not installed"
	layout=$(HOME=$O2V_REAL_HOME "$top/testdata/busybox-image.sh") ||
		skip_all "testdata/busybox-image.sh failed"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-pull.XXXXXX")
	registry_start "$@" || { rm -rf "$tmp"; skip_all "registry did not start ($*)"; }
	trap 'registry_stop; rm -rf "$tmp"' EXIT
	local t
	for t in latest docker multi zstd arm64; do
		registry_push "$layout:$t" "busybox:$t" ||
			{ diag "push $t failed"; bail_out "cannot push the test image"; }
	done
	export OCI2VM_CACHE=$tmp/cache HOME=$tmp/home DOCKER_CONFIG=$tmp/docker
	export XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run OCI2VM_RETRY_BASE_MS=50
	mkdir -p "$HOME" "$DOCKER_CONFIG" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
}

# digest of TAG in the test layout (for an index: the linux/amd64 manifest)
layout_manifest_digest() { # TAG
	"$PY" - "$layout" "$1" <<'EOF2'
import json, sys
d, tag = sys.argv[1], sys.argv[2]
idx = json.load(open(d + "/index.json"))
m = [x for x in idx["manifests"]
     if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
if "index" in m["mediaType"] or "list" in m["mediaType"]:
    sub = json.load(open(d + "/blobs/sha256/" + m["digest"].split(":")[1]))
    m = [x for x in sub["manifests"] if x.get("platform", {}).get("architecture") == "amd64"][0]
print(m["digest"])
EOF2
}
