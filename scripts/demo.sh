#!/usr/bin/env bash
# scripts/demo.sh - the README's first command (`make demo`): on a fresh
# machine, boot a Redis container image as a microVM and talk to it.
#
# 1. builds the test image (Debian minbase + redis-server, entrypoint like the
#    official image's) from Debian packages, since this machine has no internet;
# 2. starts Debian's docker-registry on 127.0.0.1 and pushes the image to it;
# 3. `oci2vm run -d -p PORT:6379 127.0.0.1:REG/redis:7` (pull, build, boot);
# 4. `redis-cli -p PORT` PING, SET, GET through the port forward;
# 5. `oci2vm stop`, shows the VM's log (redis's own shutdown lines), cleans up.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export O2V_TOP=$top
oci2vm=${OCI2VM:-$top/build/oci2vm}

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "building the Redis test image from Debian packages (cached after the first time)"
layout=$("$top/testdata/redis-image.sh")

. "$top/tests/lib/registry.sh"
say "starting a local registry (Debian's docker-registry) and pushing the image"
registry_start
registry_push "$layout:latest" redis:7 >/dev/null
ref="$REGISTRY_HOST/redis:7"

port=$(free_port)
name=oci2vm-demo-$$
cleanup() {
	"$oci2vm" rm -f "$name" >/dev/null 2>&1 || true
	registry_stop
}
trap cleanup EXIT

say "oci2vm run -d --name $name -p $port:6379 $ref"
start=$(date +%s.%N)
"$oci2vm" run -d --name "$name" -p "$port:6379" "$ref"
for _ in $(seq 1 300); do
	[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
printf 'first PONG after %.2f s (pull + build + boot, cold cache)\n' \
	"$(echo "$(date +%s.%N) - $start" | bc)"

say "redis-cli -p $port (on the host) talking to redis-server (in the VM)"
set -x
redis-cli -p "$port" ping
redis-cli -p "$port" set greeting "hello from a microVM"
redis-cli -p "$port" get greeting
redis-cli -p "$port" info server | grep -E '^(redis_version|os|process_id):'
set +x
"$oci2vm" ps

say "oci2vm stop $name (SIGTERM through the VM's init; redis saves and exits)"
"$oci2vm" stop "$name"
"$oci2vm" logs "$name" | tail -5
"$oci2vm" ps -a | grep -E "^ID|$name"
say "done"
