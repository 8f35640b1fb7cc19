#!/bin/sh
# scripts/deps.sh - install every Debian package that building oci2vm, its
# kernel and its tests need. Idempotent; needs root (or sudo). One package
# per line, sorted, with what needs it.
set -eu

PACKAGES="
apache2-utils
bc
bison
build-essential
busybox-static
ca-certificates
catatonit
clang
clang-format
containerd
containernetworking-plugins
cpio
curl
debootstrap
dnsmasq-base
docker-registry
docker.io
e2fsprogs
flex
git
iproute2
iptables
jq
kmod
libarchive-dev
libclang-rt-dev
libcurl4-openssl-dev
libelf-dev
libext2fs-dev
libjson-c-dev
libssl-dev
lintian
linux-image-cloud-amd64
linux-source-6.1
musl-tools
openssl
patch
pkg-config
podman
python3
python3-cryptography
python3-grpcio
python3-jwt
python3-zstandard
qemu-system-x86
qemu-utils
redis-tools
runc
skopeo
slirp4netns
strace
uidmap
umoci
util-linux
xz-utils
zlib1g-dev
zstd
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo $PACKAGES | wc -w) packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
