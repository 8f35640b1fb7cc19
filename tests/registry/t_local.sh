#!/usr/bin/env bash
# t_local.sh - images without a registry: oci:DIR[:TAG], oci-archive:FILE[:TAG],
# docker-archive:FILE[:REF], made by testdata/busybox-image.sh and skopeo; corrupt and
# truncated sources fail and leave the cache exactly as it was.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
O2V=${O2V_BUILD:-$top/build}/oci2vm
PY=${O2V_PYTHON:-/usr/bin/python3}

[ -x "$O2V" ] || skip_all "oci2vm is not built ($O2V)"
command -v skopeo >/dev/null || skip_all "skopeo is not installed"
layout=$("$top/testdata/busybox-image.sh") || skip_all "testdata/busybox-image.sh failed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-local.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OCI2VM_CACHE=$tmp/cache HOME=$tmp/home
mkdir -p "$HOME"
sk() { skopeo --insecure-policy "$@"; }

# the manifest digest index.json of an OCI layout names for TAG (through an index: for PLATFORM)
layout_digest() { # DIR TAG [ARCH]
	"$PY" - "$@" <<'EOF'
import json, sys
d, tag = sys.argv[1], sys.argv[2]
arch = sys.argv[3] if len(sys.argv) > 3 else "amd64"
idx = json.load(open(d + "/index.json"))
m = [x for x in idx["manifests"]
     if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
if "index" in m["mediaType"] or "list" in m["mediaType"]:
    sub = json.load(open(d + "/blobs/sha256/" + m["digest"].split(":")[1]))
    m = [x for x in sub["manifests"] if x.get("platform", {}).get("architecture") == arch][0]
print(m["digest"])
EOF
}
json_get() { # EXPR (python, on `j`) < json
	"$PY" -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
# every file of the cache with its hash, index.json included: "unchanged" means equal listings
cache_state() { (cd "$OCI2VM_CACHE" 2>/dev/null && find . -path ./.oci2vm-tmp -prune -o -type f -print0 |
	sort -z | xargs -0r sha256sum); }
blobs_verified() { # every blob's name is its sha256
	local f bad=0
	for f in "$OCI2VM_CACHE"/blobs/sha256/*; do
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad=1
	done
	return $bad
}

# --- oci: ---
want=$(layout_digest "$layout" latest)
out=$("$O2V" pull -q "oci:$layout:latest" 2>&1)
ok $? "pull oci:DIR:latest"
is "$(printf '%s\n' "$out" | tail -1)" "$want" "the last line names the manifest digest"
blobs_verified
ok $? "every blob in the cache matches its digest"
out=$("$O2V" inspect "oci:$layout:latest")
ok $? "inspect oci:DIR:latest"
is "$(json_get 'j["Cmd"]' <<<"$out")" "['sh']" "inspect shows the config's Cmd"
is "$(json_get 'j["Digest"]' <<<"$out")" "$want" "inspect shows the manifest digest"
like "$("$O2V" images)" "oci:$layout:latest" "images lists the normalised name oci:/abs/dir:tag"

(cd "$(dirname "$layout")" && "$O2V" pull -q "oci:./$(basename "$layout"):docker" >/dev/null)
ok $? "a relative directory"
like "$("$O2V" images)" "oci:$layout:docker" "is recorded with its absolute path"

out=$("$O2V" pull -q "oci:$layout" 2>&1)
is $? 2 "a layout with several images and no tag is a usage error (exit 2)"
like "$out" "holds [0-9]+ images.*'latest'.*'multi'" "the message lists the tags"
out=$("$O2V" pull -q "oci:$layout:nope" 2>&1)
is $? 1 "an unknown tag fails (exit 1)"
like "$out" "tag 'nope' not found" "with 'not found'"
out=$("$O2V" pull -q "oci:$tmp/missing:latest" 2>&1)
is $? 1 "a missing directory fails"
like "$out" "$tmp/missing" "naming the directory"

out=$("$O2V" pull -q --platform linux/arm64 "oci:$layout:multi" 2>&1)
is "$(printf '%s\n' "$out" | tail -1)" "$(layout_digest "$layout" multi arm64)" \
	"--platform chooses inside an OCI index"
out=$("$O2V" pull -q "oci:$layout:zstd" 2>&1)
is "$(printf '%s\n' "$out" | tail -1)" "$(layout_digest "$layout" zstd)" "zstd layers"

# --- oci-archive: ---
sk copy -q "oci:$layout:latest" "oci-archive:$tmp/oa.tar:latest"
ok $? "skopeo writes an oci-archive"
out=$("$O2V" pull -q "oci-archive:$tmp/oa.tar" 2>&1)
is "$(printf '%s\n' "$out" | tail -1)" "$want" "pull oci-archive:FILE (its only image)"
out=$("$O2V" pull -q "oci-archive:$tmp/oa.tar:latest" 2>&1)
is "$(printf '%s\n' "$out" | tail -1)" "$want" "pull oci-archive:FILE:TAG"
like "$("$O2V" images)" "oci-archive:$tmp/oa.tar:latest" "tagged as oci-archive:/abs/file:tag"

# --- docker-archive: ---
sk copy -q "oci:$layout:latest" "docker-archive:$tmp/da.tar:busybox:latest"
ok $? "skopeo writes a docker-archive"
out=$("$O2V" pull -q "docker-archive:$tmp/da.tar" 2>&1)
ok $? "pull docker-archive:FILE"
out=$("$O2V" inspect "docker-archive:$tmp/da.tar:busybox")
ok $? "inspect docker-archive:FILE:busybox (REF normalised)"
is "$(json_get 'j["Cmd"]' <<<"$out")" "['sh']" "the config came along"
is "$(json_get 'j["ConfigDigest"]' <<<"$out")" \
	"$(sk inspect --config --raw "oci:$layout:latest" | sha256sum | sed 's/ .*//;s/^/sha256:/')" \
	"the config digest is the original's"
is "$(json_get '[l["Digest"] == l["DiffID"] for l in j["Layers"]]' <<<"$out")" "[True, True]" \
	"uncompressed layers: blob digest = diff_id"
is "$(json_get 'set(l["MediaType"] for l in j["Layers"])' <<<"$out")" \
	"{'application/vnd.docker.image.rootfs.diff.tar'}" "docker layer media types"
like "$("$O2V" images)" "docker-archive:$tmp/da.tar:docker.io/library/busybox:latest" \
	"tagged as docker-archive:/abs/file:normalised-ref"
out=$("$O2V" pull -q "docker-archive:$tmp/da.tar:other" 2>&1)
is $? 1 "a REF the archive does not hold fails"
like "$out" "not found.*docker.io/library/busybox:latest" "listing what it holds"
first=$("$O2V" inspect "docker-archive:$tmp/da.tar" | json_get 'j["Digest"]')
again=$("$O2V" inspect "docker-archive:$tmp/da.tar" | json_get 'j["Digest"]')
is "$again" "$first" "the built manifest is reproducible"

# docker >= 25 style: gzip layers, one named by its digest, one not (hashed in a pass)
"$PY" - "$tmp/da.tar" "$tmp/dagz.tar" <<'EOF'
import gzip, hashlib, io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
m = json.load(src.extractfile("manifest.json"))
out = tarfile.open(sys.argv[2], "w")
def add(name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); out.addfile(ti, io.BytesIO(data))
layers = []
for i, l in enumerate(m[0]["Layers"]):
    gz = gzip.compress(src.extractfile(l).read(), mtime=0)
    name = "layer%d.tar.gz" % i if i == 0 else "blobs/sha256/" + hashlib.sha256(gz).hexdigest()
    add(name, gz)
    layers.append(name)
cfg = src.extractfile(m[0]["Config"]).read()
m[0]["Config"] = "blobs/sha256/" + hashlib.sha256(cfg).hexdigest()
add(m[0]["Config"], cfg)
m[0]["Layers"] = layers
add("manifest.json", json.dumps(m).encode())
EOF
out=$("$O2V" inspect "docker-archive:$tmp/dagz.tar")
ok $? "docker-archive with gzip layers"
is "$(json_get 'set(l["MediaType"] for l in j["Layers"])' <<<"$out")" \
	"{'application/vnd.docker.image.rootfs.diff.tar.gzip'}" "gzip is recognised"
blobs_verified
ok $? "the cache still holds only verified blobs"

# --- corrupt and truncated sources leave the cache as it was ---
# A fresh cache holding another image: the blobs below are not in it, so they must come
# from the (broken) sources (a cached, verified blob is rightly never read again).
export OCI2VM_CACHE=$tmp/cache2
"$O2V" pull -q "oci:$layout:zstd" >/dev/null
ok $? "a second cache with one image"
before=$(cache_state)
cp -r "$layout" "$tmp/bad" && chmod -R u+w "$tmp/bad"
layer=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' \
	"$tmp/bad/blobs/sha256/${want#sha256:}")
"$PY" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' \
	"$tmp/bad/blobs/sha256/$layer"
out=$("$O2V" pull -q "oci:$tmp/bad:latest" 2>&1)
is $? 1 "a corrupted layer blob (same length) fails"
like "$out" "digest mismatch" "with a digest mismatch"
is "$(cache_state)" "$before" "the cache is unchanged"

cp "$tmp/da.tar" "$tmp/da-bad.tar"
"$PY" - "$tmp/da-bad.tar" <<'EOF'
import sys, tarfile
p = sys.argv[1]
t = tarfile.open(p)
m = [x for x in t.getmembers() if x.isfile() and x.name.endswith(".tar") and x.size > 4096][0]
t.close()
with open(p, "r+b") as f:          # flip one byte inside the layer's data
    f.seek(m.offset_data + 2048)
    b = f.read(1)
    f.seek(m.offset_data + 2048)
    f.write(bytes([b[0] ^ 1]))
EOF
out=$("$O2V" pull -q "docker-archive:$tmp/da-bad.tar" 2>&1)
is $? 1 "a docker-archive layer that does not match its diff_id fails"
is "$(cache_state)" "$before" "the cache is unchanged"

size=$(stat -c %s "$tmp/oa.tar")
head -c $((size / 2)) "$tmp/oa.tar" >"$tmp/oa-cut.tar"
out=$("$O2V" pull -q "oci-archive:$tmp/oa-cut.tar" 2>&1)
is $? 1 "a truncated oci-archive fails"
is "$(cache_state)" "$before" "the cache is unchanged"
out=$("$O2V" pull -q "docker-archive:$tmp/oa.tar" 2>&1)
is $? 1 "an OCI archive named as docker-archive fails"
like "$out" "no manifest.json.*oci-archive" "with a hint to use oci-archive:"

done_testing
