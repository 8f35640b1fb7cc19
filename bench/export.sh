#!/usr/bin/env bash
# bench/export.sh - `oci2vm export` of the realistic multi-layer image (testdata/redis-image.sh)
# to ext4, cold cache, against the rootful peer pipeline in the same run:
#   skopeo copy oci:LAYOUT:latest oci:TMP:latest && umoci unpack && mke2fs -t ext4 -d rootfs
# Both read the same local OCI layout (no registry in between), so the numbers compare layer
# flattening + image building. Prints medians of N runs (default 5), the ratio (target <= 0.33),
# the warm (cached) export, peak RSS (target <= 64 MB), and image sizes vs the unpacked size.
# Needs root for the peer (umoci unpack). Never part of pass/fail.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
oci2vm=${O2V_BUILD:-$top/build}/oci2vm
runs=${1:-5}
layout=$("$top/testdata/redis-image.sh" 2>/dev/null)
work=$(mktemp -d "${TMPDIR:-/tmp}/o2v-bench-export.XXXXXX")
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

ours=() peer=() warm=() rss=()
for i in $(seq "$runs"); do
	rm -rf "$work/cache" "$work/out.ext4"
	t0=$(now)
	OCI2VM_CACHE=$work/cache /usr/bin/time -f '%M' -o "$work/rss" \
		"$oci2vm" export -q "oci:$layout:latest" "$work/out.ext4"
	t1=$(now)
	ours+=("$(echo "$t1 - $t0" | bc)")
	rss+=("$(cat "$work/rss")")
	t0=$(now)
	OCI2VM_CACHE=$work/cache "$oci2vm" export -q "oci:$layout:latest" "$work/warm.ext4"
	t1=$(now)
	warm+=("$(echo "$t1 - $t0" | bc)")

	rm -rf "$work/peer"
	mkdir -p "$work/peer"
	t0=$(now)
	skopeo copy -q "oci:$layout:latest" "oci:$work/peer/layout:latest"
	umoci unpack --image "$work/peer/layout:latest" "$work/peer/bundle" >/dev/null
	size=$(du -sb "$work/peer/bundle/rootfs" | cut -f1)
	truncate -s $((size * 5 / 4 + 64 * 1024 * 1024)) "$work/peer/disk.ext4"
	mke2fs -q -F -t ext4 -d "$work/peer/bundle/rootfs" "$work/peer/disk.ext4"
	t1=$(now)
	peer+=("$(echo "$t1 - $t0" | bc)")
done
mo=$(printf '%s\n' "${ours[@]}" | median)
mp=$(printf '%s\n' "${peer[@]}" | median)
mw=$(printf '%s\n' "${warm[@]}" | median)
mr=$(printf '%s\n' "${rss[@]}" | median)
OCI2VM_CACHE=$work/cache "$oci2vm" export -q "oci:$layout:latest" "$work/out.cpio.gz"
unpacked=$(du -sb "$work/peer/bundle/rootfs" | cut -f1)
compressed=$(du -sb "$layout/blobs" | cut -f1)
echo "image: $layout (blobs $((compressed / 1048576)) MiB, unpacked $((unpacked / 1048576)) MiB)"
echo "runs: $runs"
printf 'oci2vm export ext4 (cold cache)        median %6.2f s   [%s]\n' "$mo" "${ours[*]}"
printf 'skopeo copy + umoci unpack + mke2fs -d median %6.2f s   [%s]\n' "$mp" "${peer[*]}"
printf 'ratio                                  %6.3f   (target <= 0.33)\n' "$(echo "$mo / $mp" | bc -l)"
printf 'oci2vm export ext4 (warm, cached)      median %6.3f s   (target <= 0.05; includes copying the image out)\n' "$mw"
printf 'peak RSS (cold export)                 median %6.1f MB  (target <= 64)\n' "$(echo "$mr / 1024" | bc -l)"
printf 'ext4 image: %d MiB apparent, %d MiB allocated; cpio.gz: %d MiB; unpacked: %d MiB\n' \
	$(($(stat -c %s "$work/out.ext4") / 1048576)) $(($(du -sb --apparent-size "$work/out.ext4" >/dev/null; du -sk "$work/out.ext4" | cut -f1) / 1024)) \
	$(($(stat -c %s "$work/out.cpio.gz") / 1048576)) $((unpacked / 1048576))
