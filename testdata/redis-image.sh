#!/usr/bin/env bash
# testdata/redis-image.sh - a realistic multi-layer Debian + redis image; prints its OCI layout.
#
#   layout=$(testdata/redis-image.sh)   then   oci:$layout:latest
#
# Needs root (debootstrap, chroot, an overlay mount) and Debian's archive (the mirror of this
# machine's apt sources). Layers, built like `docker build` would:
#   1. Debian bookworm minbase: `debootstrap --variant=minbase` (cached separately, keyed by the
#      debootstrap arguments, so editing this script does not rerun it), /dev emptied, apt sources
#      for bookworm, bookworm-updates, bookworm-security (deb822, like the official image)
#   2. `apt-get install redis-server` in a chroot on an overlayfs over layer 1, then the docs and
#      man pages deleted (as "slim" images do); the layer is the overlay's upper dir, so deleted
#      lower files become `.wh.` whiteouts (and opaque dirs `.wh..wh..opq`) as docker makes them
#   3. more of Debian (REDIS_IMAGE_EXTRA below: ca-certificates curl procps less netbase), so the
#      image passes 50 MB compressed like the real-world images the benchmarks are about
#   4. /usr/local/bin/docker-entrypoint.sh (like the official redis image: run as root with
#      `redis-server`, chown /data and re-exec as user redis via `setpriv`; adds
#      `--protected-mode no` when no config file is given) and /data owned by redis
# Config: Entrypoint ["docker-entrypoint.sh"], Cmd ["redis-server"], WorkingDir /data,
# ExposedPorts 6379/tcp, Volumes /data, Env PATH. Tag: latest (OCI, gzip).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUITE=bookworm
# mirror: the first Debian archive URI in this machine's apt sources (the one that is reachable)
MIRROR=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
	/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
	awk '{print $2}' | head -1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${MIRROR%/debian*}/debian-security
# what layer 3 adds: common tools a real service image carries
REDIS_IMAGE_EXTRA="ca-certificates curl procps less netbase"
# bump when minbase() changes (its cache is keyed by this, not by the script)
MINBASE_VERSION=2

minbase() { # OUT: debootstrap into OUT/rootfs
	local out=$1 root=$1/rootfs
	mkdir -p "$TD_CACHE/debs"
	td_log "debootstrap $SUITE from $MIRROR"
	debootstrap --variant=minbase --cache-dir="$TD_CACHE/debs" "$SUITE" "$root" "$MIRROR" \
		>"$out/debootstrap.log" 2>&1 || { tail -20 "$out/debootstrap.log" >&2; return 1; }
	find "$root/dev" -mindepth 1 -delete
	# the host's name and resolver are not part of an image (the runtime provides them)
	rm -f "$root/etc/apt/sources.list" "$root/etc/resolv.conf" "$root/etc/hostname"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# like the official image: no apt lists, caches or logs in the base layer
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
		"$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
	: >"$root/etc/machine-id"
}

MOUNTS=()
cleanup_mounts() {
	local i
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${MOUNTS[i]}" 2>/dev/null || true
	done
	MOUNTS=()
}
trap cleanup_mounts EXIT

# chroot_layer LOWERS UPPER WORK MERGED SCRIPT: run SCRIPT in a chroot on overlay(LOWERS + UPPER)
chroot_layer() {
	local lowers=$1 upper=$2 work=$3 merged=$4 script=$5
	local rc=0
	mkdir -p "$upper" "$work" "$merged" || return 1
	mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$upper,workdir=$work" "$merged" ||
		{ td_log "overlayfs mount failed"; return 1; }
	MOUNTS+=("$merged")
	mount -t proc proc "$merged/proc" && MOUNTS+=("$merged/proc") &&
		mount --rbind /dev "$merged/dev" && mount --make-rslave "$merged/dev" &&
		MOUNTS+=("$merged/dev") || rc=1
	# created in the upper dir and removed again: no trace in the layer
	cp /etc/resolv.conf "$merged/etc/resolv.conf" || rc=1
	printf '#!/bin/sh\nexit 101\n' >"$merged/usr/sbin/policy-rc.d" || rc=1
	chmod 755 "$merged/usr/sbin/policy-rc.d"
	[ $rc = 0 ] && { chroot "$merged" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C /bin/sh -exc "$script" >&2 || rc=$?; }
	rm -f "$merged/usr/sbin/policy-rc.d" "$merged/etc/resolv.conf"
	cleanup_mounts
	# overlay work dirs may hold a root-only 'work' dir; the upper dir is the layer
	rm -rf "$work"
	return $rc
}

APT_SCRIPT='
apt-get update -q
apt-get install -y -q --no-install-recommends PKGS
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log /var/cache/debconf/*-old
CLEANUP'

build() {
	local out=$1 base work
	[ "$(id -u)" = 0 ] || { td_log "needs root (debootstrap, chroot, overlayfs)"; return 1; }
	base=$(TD_NAME=debootstrap-$SUITE td_cached "debootstrap-$SUITE-minbase" \
		"$(echo "$SUITE $MIRROR $MINBASE_VERSION" | sha256sum | cut -c1-16)" minbase) ||
		return 1
	base=$base/rootfs
	work=$(mktemp -d "$TD_CACHE/.redis-work.XXXXXX")
	# (td_build runs this in a `||` context, where set -e does nothing: check each step)
	local rc=0
	# layer 2 also drops the docs and man pages the base layer brought (as many "slim" images
	# do): deleting lower-layer files makes the whiteouts a real image has
	local s2=${APT_SCRIPT/PKGS/redis-server} s3=${APT_SCRIPT/PKGS/$REDIS_IMAGE_EXTRA}
	s2=${s2/CLEANUP/rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/*}
	s3=${s3/CLEANUP/}
	chroot_layer "$base" "$work/l2" "$work/w2" "$work/m2" "$s2" &&
		chroot_layer "$work/l2:$base" "$work/l3" "$work/w3" "$work/m3" "$s3" &&
		BASE=$base WORK=$work "$TD_PY" - "$out" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["TD_DIR"])
from mkimage import Layer, Image, Layout

out, base, work = sys.argv[1], os.environ["BASE"], os.environ["WORK"]
l1 = Layer("gzip"); l1.add_tree(base)
l2 = Layer("gzip"); l2.add_tree(work + "/l2", overlay_upper=True)
l3 = Layer("gzip"); l3.add_tree(work + "/l3", overlay_upper=True)
ids = {}
for passwd in (work + "/l3/etc/passwd", work + "/l2/etc/passwd"):
    if os.path.exists(passwd):
        for line in open(passwd):
            f = line.split(":")
            ids.setdefault(f[0], (int(f[2]), int(f[3])))
uid, gid = ids["redis"]
entry = open(os.path.join(os.environ["TD_DIR"], "redis-entrypoint.sh"), "rb").read()
l4 = Layer("gzip")
l4.add_dir("usr/local/bin")
l4.add_file("usr/local/bin/docker-entrypoint.sh", entry, 0o755)
l4.add_dir("data", 0o755, uid, gid)
cfg = {"Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["redis-server"], "WorkingDir": "/data",
       "ExposedPorts": {"6379/tcp": {}}, "Volumes": {"/data": {}},
       "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
d = Layout(out).add("latest", Image([l1, l2, l3, l4], cfg))
sizes = [l.build()[0].__len__() for l in (l1, l2, l3, l4)]
print(f"redis: layers {[round(s / 1e6, 1) for s in sizes]} MB, total "
      f"{sum(sizes) / 1e6:.1f} MB compressed, manifest {d['digest']}", file=sys.stderr)
if sum(sizes) < 50e6:
    print("redis: below the 50 MB the benchmarks want: add packages to REDIS_IMAGE_EXTRA",
          file=sys.stderr)
EOF
	rc=$?
	rm -rf "$work"
	return $rc
}

export TD_DIR
td_build redis build "$TD_DIR/redis-entrypoint.sh"
