#!/usr/bin/env bash
# t_pull.sh - `oci2vm pull/inspect/images/rmi/prune` against a loopback docker-registry
# (anonymous): OCI and Docker media types, zstd, a multi-arch index with attestations,
# --platform, warm pulls (one request), concurrent pulls, skopeo/umoci reading the cache, and
# the bad-input exit codes.
. "$(dirname "$0")/pullcommon.sh"
pull_setup anon
R=$REGISTRY_HOST

o2v pull -q "$R/busybox:latest"
is "$rc" 0 "pull an OCI image" || diag "$errout"
want=$(layout_manifest_digest latest)
is "$out" "$want" "-q prints only the manifest digest"
o2v pull "$R/busybox:latest" </dev/null
like "$(tail -1 <<<"$out")" "^Digest: $want$" "the final line names the manifest digest"
like "$out" "up to date" "second pull: up to date"
is "$errout" "" "no progress output when stderr is not a terminal"

# warm pull through a counting proxy: exactly one request (HEAD of the manifest)
faultproxy_start || bail_out "faultproxy did not start"
P=$FAULTPROXY_HOST
o2v pull -q "$P/busybox:latest"
is "$rc" 0 "pull through the proxy (cache warm from the same registry data)"
: >"$FAULTPROXY_LOG"
start=$(date +%s%N)
o2v pull -q "$P/busybox:latest"
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 0 "warm pull"
is "$(wc -l <"$FAULTPROXY_LOG")" 1 "a warm pull makes exactly one request"
like "$(cat "$FAULTPROXY_LOG")" '"method": "HEAD".*manifests/latest' "and it is a HEAD of the tag"
diag "warm pull took ${ms} ms (target <= 50 ms, not a pass criterion)"

# cold pull through the proxy: the Accept header question is answered by the registry
: >"$FAULTPROXY_LOG"
o2v pull -q "$P/busybox:zstd"
is "$rc" 0 "pull zstd layers"
is "$(reqs_in "$FAULTPROXY_LOG" '/v2/busybox/blobs/sha256:')" 2 \
	"cold pull fetches the 2 new layers once each (the config is shared with :latest)"

# Docker schema2 media types
o2v pull -q "$R/busybox:docker"
is "$rc" 0 "pull a Docker schema2 image" || diag "$errout"
is "$out" "$(layout_manifest_digest docker)" "its digest"

# multi-arch: host platform, attestations skipped; --platform; no match
o2v pull "$R/busybox:multi"
is "$rc" 0 "pull a multi-arch index" || diag "$errout"
like "$out" "Digest: $(layout_manifest_digest multi)" "the amd64 manifest was chosen"
like "$out" "Index: sha256:" "the index digest is shown"
o2v inspect --platform linux/arm64/v8 "$R/busybox:multi"
is "$rc" 0 "inspect --platform linux/arm64/v8" || diag "$errout"
like "$out" '"Platform": "linux/arm64/v8"' "arm64/v8 chosen"
o2v inspect --platform linux/arm64 "$R/busybox:multi"
like "$out" '"Platform": "linux/arm64/v8"' "arm64 without variant matches arm64/v8"
o2v pull --platform linux/s390x "$R/busybox:multi"
is "$rc" 1 "no matching platform: exit 1"
like "$errout" "linux/s390x.*available: .*linux/amd64.*linux/arm64/v8" \
	"the error lists the available platforms"
[[ $errout != *unknown* ]]
ok $? "attestation entries are not offered as platforms"
o2v pull --platform linux/amd64 "$R/busybox:arm64"
is "$rc" 1 "a single-platform image for another architecture with --platform: exit 1"
like "$errout" "linux/arm64/v8 only" "and says which platform it is for"
o2v pull --platform 'linux//x' "$R/busybox:multi"
is "$rc" 2 "malformed --platform: exit 2"

# inspect without layers
rm -rf "$tmp/c2"
OCI2VM_CACHE=$tmp/c2 o2v inspect "$R/busybox:latest"
is "$rc" 0 "inspect an uncached image" || diag "$errout"
for k in Entrypoint Cmd Env WorkingDir User ExposedPorts Layers Digest Platform; do
	like "$out" "\"$k\":" "inspect shows $k"
done
is "$(find "$tmp/c2/blobs" -type f | wc -l)" 0 "inspect downloaded nothing into the cache"
jq -e . >/dev/null <<<"$out"
ok $? "inspect prints valid JSON"

# images / skopeo / umoci
o2v images
is "$rc" 0 "images"
like "$out" "$R/busybox:latest +sha256:" "images lists the tag and digest"
like "$out" "linux/amd64" "images shows the platform"
run_ok "skopeo inspect oci:CACHE:REF reads the cache" \
	skopeo inspect "oci:$OCI2VM_CACHE:$R/busybox:latest"
run_ok "umoci ls reads the cache" umoci ls --layout "$OCI2VM_CACHE"
# A private image stays private: nothing in the cache is open to other users.
open_to_others=$(find "$OCI2VM_CACHE/blobs" "$OCI2VM_CACHE/index.json" \
	"$OCI2VM_CACHE/oci-layout" -perm /o=rwx | head -3)
is "$open_to_others" "" "cache: blobs, their directories and the index are private (0600/0700)"
if [ "$(id -u)" = 0 ]; then
	run_ok "umoci unpack of a cached image" \
		umoci unpack --image "$OCI2VM_CACHE:$R/busybox:latest" "$tmp/bundle"
	[ -x "$tmp/bundle/rootfs/bin/busybox" ]
	ok $? "the unpacked rootfs has /bin/busybox"
else
	skip "umoci unpack needs root"
	skip "umoci unpack needs root"
fi

# concurrent pulls of one image into a fresh cache
rm -rf "$tmp/c3"
pids=()
for i in 1 2 3; do
	OCI2VM_CACHE=$tmp/c3 "$O2V" pull -q "$R/busybox:docker" >"$tmp/conc$i" 2>&1 &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "three concurrent pulls of one image all succeed"
is "$(jq '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "'"$R/busybox:docker"'")] | length' "$tmp/c3/index.json")" 1 \
	"one index.json entry"
is "$(find "$tmp/c3/blobs/sha256" -type f | wc -l)" 4 "one copy of each blob (manifest, config, 2 layers)"
is "$(find "$tmp/c3/.oci2vm-tmp" -mindepth 1 | wc -l)" 0 "no staging leftovers"

# bad input
o2v pull "$R/nosuch:latest"
is "$rc" 1 "unknown repository: exit 1"
like "$errout" "'$R/nosuch:latest' not found" "message says not found with the normalised name"
o2v pull "$R/busybox:nosuchtag"
is "$rc" 1 "unknown tag: exit 1"
like "$errout" "'$R/busybox:nosuchtag' not found" "names the normalised reference"
o2v pull "$R/Busybox"
is "$rc" 2 "malformed reference: exit 2"
like "$errout" "'Busybox'" "the message shows the offending part"
o2v pull "busybox@sha256:abc"
is "$rc" 2 "malformed digest: exit 2"

# pull by digest, rmi, prune
d=$(layout_manifest_digest latest)
before=$(cache_snapshot)
o2v pull -q "$R/busybox@$d"
is "$rc" 0 "pull by digest (cached content)"
o2v rmi "$R/busybox@$d"
is "$rc" 0 "rmi by digest reference"
o2v rmi "$R/busybox:nosuch"
is "$rc" 1 "rmi of an unknown tag: exit 1"
like "$errout" "not found" "says not found"
o2v rmi "$R/BAD"
is "$rc" 2 "rmi of a malformed reference: exit 2"
nblobs=$(find "$OCI2VM_CACHE/blobs/sha256" -type f | wc -l)
o2v rmi "$P/busybox:zstd"
is "$rc" 0 "rmi the zstd image (pulled through the proxy)"
o2v prune
is "$rc" 0 "prune"
like "$out" "removed [1-9][0-9]* unreferenced blobs" "prune removed zstd's blobs"
after=$(find "$OCI2VM_CACHE/blobs/sha256" -type f | wc -l)
[ "$after" -lt "$nblobs" ]
ok $? "fewer blobs after prune ($nblobs -> $after)"
o2v pull -q "$R/busybox:latest"
is "$rc" 0 "remaining images still load after prune"
run_ok "skopeo still reads the cache after prune" \
	skopeo inspect "oci:$OCI2VM_CACHE:$R/busybox:multi"
done_testing
