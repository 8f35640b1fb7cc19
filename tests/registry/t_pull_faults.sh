#!/usr/bin/env bash
# t_pull_faults.sh - a fault-injecting proxy between oci2vm and the registry: 5xx and 429 are
# retried (Retry-After honoured), connection resets and truncated bodies resume with Range,
# 404 is not retried, corrupted bodies fail the digest check; every failure leaves the cache
# byte-for-byte as it was. Plus a full disk (tmpfs, root only).
. "$(dirname "$0")/pullcommon.sh"
pull_setup anon
faultproxy_start || bail_out "faultproxy did not start"
P=$FAULTPROXY_HOST

big=$(jq -r '.layers | max_by(.size) | .digest' \
	"$layout/blobs/sha256/$(layout_manifest_digest latest | cut -d: -f2)")
bigsize=$(jq -r '.layers | max_by(.size) | .size' \
	"$layout/blobs/sha256/$(layout_manifest_digest latest | cut -d: -f2)")
diag "largest layer: $big ($bigsize bytes)"

# a cache holding another image, to prove failures leave it untouched
o2v pull -q "$P/busybox:zstd"
is "$rc" 0 "seed the cache with another image"

fresh() { # drop busybox:latest and its blobs again (keep the seed image)
	"$O2V" rmi "$P/busybox:latest" >/dev/null 2>&1
	"$O2V" prune -q >/dev/null 2>&1
	: >"$FAULTPROXY_LOG"
}
gets() { jq -r "select(.method == \"GET\" and (.path | test(\"$1\"))) | .path" \
	"$FAULTPROXY_LOG" | wc -l; }

fresh
faultproxy_rules "/blobs/$big status=500 times=2 method=GET"
o2v pull -q "$P/busybox:latest"
is "$rc" 0 "HTTP 500 twice: retried, then success" || diag "$errout"
is "$(gets "$big")" 3 "three GETs of that blob"

fresh
faultproxy_rules "/manifests/latest status=429 retry_after=1 method=GET" \
	"/blobs/$big status=503 method=GET"
o2v pull "$P/busybox:latest"
is "$rc" 0 "429 with Retry-After and 503: retried" || diag "$errout"
is "$(gets /manifests/latest)" 2 "manifest asked twice"
like "$errout" "HTTP 429; retrying in 1.0 s" "Retry-After: 1 honoured (message)"

fresh
faultproxy_rules "/blobs/$big reset=300000 method=GET"
o2v pull -q "$P/busybox:latest"
is "$rc" 0 "connection reset mid-blob: resumed" || diag "$errout"
like "$(jq -r "select(.path | test(\"$big\")) | .range // empty" "$FAULTPROXY_LOG")" \
	"^bytes=[1-9][0-9]*-$" "the retry asked for the rest with Range"
is "$(sha256sum <"$OCI2VM_CACHE/blobs/sha256/${big#sha256:}" | cut -d' ' -f1)" "${big#sha256:}" \
	"the resumed blob is intact"

fresh
faultproxy_rules "/blobs/$big truncate=1000 method=GET"
o2v pull -q "$P/busybox:latest"
is "$rc" 0 "truncated body: retried" || diag "$errout"

fresh
faultproxy_rules "/manifests/latest close method=GET"
o2v pull -q "$P/busybox:latest"
is "$rc" 0 "connection closed without an answer: retried" || diag "$errout"

# failures: the cache must be exactly as before
fresh
before=$(cache_snapshot)
faultproxy_rules "/blobs/$big corrupt=1000 times=inf method=GET"
o2v pull -q "$P/busybox:latest"
is "$rc" 1 "corrupted blob: exit 1"
like "$errout" "digest mismatch" "says digest mismatch"
is "$(cache_snapshot)" "$before" "cache unchanged after a digest mismatch"

faultproxy_rules "/blobs/$big status=404 times=inf method=GET"
: >"$FAULTPROXY_LOG"
o2v pull -q "$P/busybox:latest"
is "$rc" 1 "404 on a blob: exit 1"
is "$(gets "$big")" 1 "404 is not retried"
is "$(cache_snapshot)" "$before" "cache unchanged"

faultproxy_rules "/blobs/$big status=500 times=inf method=GET"
: >"$FAULTPROXY_LOG"
o2v pull -q "$P/busybox:latest"
is "$rc" 1 "persistent 500: exit 1 after bounded retries"
is "$(gets "$big")" 5 "5 attempts, no more"
like "$errout" "HTTP 500" "the message names the status"
is "$(cache_snapshot)" "$before" "cache unchanged"

faultproxy_rules "/blobs/$big truncate=1000 times=inf method=GET"
o2v pull -q "$P/busybox:latest"
is "$rc" 1 "always truncated: exit 1"
is "$(cache_snapshot)" "$before" "cache unchanged"

faultproxy_rules "/manifests/latest status=500 times=inf"
o2v pull -q "$P/busybox:latest"
is "$rc" 1 "manifest always 500: exit 1"
is "$(cache_snapshot)" "$before" "cache unchanged"
faultproxy_rules

# a full disk
if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/small" && mount -t tmpfs -o size=400k o2vtest "$tmp/small" 2>/dev/null; then
	OCI2VM_CACHE=$tmp/small/cache o2v pull -q "$P/busybox:latest"
	is "$rc" 1 "disk full: exit 1"
	like "$errout" "disk full" "says the disk is full"
	is "$(find "$tmp/small/cache/blobs" -type f | wc -l)" 0 "no blob left behind"
	is "$(find "$tmp/small/cache/.oci2vm-tmp" -mindepth 1 | wc -l)" 0 "no staging left behind"
	is "$(jq '.manifests | length' "$tmp/small/cache/index.json")" 0 "index.json unchanged"
	umount "$tmp/small"
else
	skip "disk-full test needs root to mount a small tmpfs" 5
fi
done_testing
