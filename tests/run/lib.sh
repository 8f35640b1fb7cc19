# tests/run/lib.sh - shared setup for the `oci2vm run` tests (bash, sourced).
#
#   . "$(dirname "$0")/lib.sh"
#   run_setup IMAGE...        kernel (skip_all without one), private TMPDIR, OCI2VM_CACHE and
#                             OCI2VM_RUNTIME_DIR under one temp dir T, one registry, each IMAGE
#                             (busybox, busybox-arm64, http, redis) pushed; exports R (registry
#                             host:port), KERNEL, OCI2VM_KERNEL, T, and BB/HTTP/REDIS as refs
#   o2v ARGS...               run oci2vm; sets out, errout, rc (stdin from /dev/null)
#   qemu_left                 pids of QEMU processes of this test (their argv names our runtime
#                             dir); empty when none
#   no_leftovers NAME         one test point: no QEMU of ours, no VM state dir, no temp file in
#                             TMPDIR, no partial file in the cache, cached VM images unchanged
#   vmimage_sums              sha256 of every cached VM image (CACHE/vmimages/*), sorted
#   wait_port PORT [SECONDS]  poll until PORT on 127.0.0.1 accepts a connection
#   wait_gone PID [SECONDS]   poll until PID is gone
#   todo STATUS NAME REASON   a known bug outside oci2vm/ (init, contract): "not ok N - NAME #
#                             TODO REASON" while it fails, "ok N - NAME # TODO ..." once fixed
# Every oci2vm this file starts runs with OCI2VM_CACHE/OCI2VM_RUNTIME_DIR inside T, never the
# user's. The EXIT trap stops every VM still known to the runtime dir, then removes T.

. "$O2V_TOP/tests/lib/tap.sh"
. "$O2V_TOP/tests/lib/registry.sh"
OCI2VM=${O2V_BUILD:?}/oci2vm

run_find_kernel() {
	if [ -n "${OCI2VM_KERNEL:-}" ] && [ -f "$OCI2VM_KERNEL" ]; then
		KERNEL=$OCI2VM_KERNEL
		return 0
	fi
	# the kernel lives in the user's cache (built once by `make kernel`), unlike the test's
	KERNEL=$(env -u OCI2VM_CACHE "$O2V_TOP/kernel/build.sh" --path 2>/dev/null) && [ -f "$KERNEL" ]
}

_run_cleanup() {
	local id
	if [ -d "${OCI2VM_RUNTIME_DIR:-}/vms" ]; then
		for id in $("$OCI2VM" ps -aq 2>/dev/null); do
			"$OCI2VM" rm -f "$id" >/dev/null 2>&1
		done
	fi
	for id in $(qemu_left); do kill -9 "$id" 2>/dev/null; done
	[ -n "${T:-}" ] && rm -rf "$T"
}

run_setup() {
	local img layout
	[ -x "$OCI2VM" ] || skip_all "build/oci2vm is not built (make)"
	run_find_kernel || skip_all "no kernel yet (make kernel, or set OCI2VM_KERNEL)"
	command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
	export OCI2VM_KERNEL=$KERNEL
	T=$(mktemp -d "${TMPDIR:-/tmp}/o2v-run.XXXXXX")
	mkdir -p "$T/cache" "$T/rt" "$T/tmp"
	export OCI2VM_CACHE=$T/cache OCI2VM_RUNTIME_DIR=$T/rt
	registry_start || skip_all "docker-registry did not start"
	# only oci2vm's own temp files land here (the registry's dir is made before)
	export TMPDIR=$T/tmp
	# registry_start installed its own EXIT trap; ours runs first (VMs), then the registry's
	trap '_run_cleanup; registry_stop' EXIT
	R=$REGISTRY_HOST
	for img in "$@"; do
		case $img in
		busybox)
			layout=$("$O2V_TOP/testdata/busybox-image.sh") || bail_out "busybox image"
			registry_push "$layout:latest" busybox:latest >/dev/null || bail_out "push"
			BB=$R/busybox:latest ;;
		busybox-arm64)
			layout=$("$O2V_TOP/testdata/busybox-image.sh") || bail_out "busybox image"
			registry_push "$layout:arm64" busybox:arm64 >/dev/null || bail_out "push" ;;
		http)
			layout=$("$O2V_TOP/testdata/http-image.sh") || bail_out "http image"
			registry_push "$layout:latest" http:latest >/dev/null || bail_out "push"
			HTTP=$R/http:latest ;;
		redis)
			layout=$("$O2V_TOP/testdata/redis-image.sh") ||
				skip_all "the redis test image cannot be built here (needs root + apt)"
			registry_push "$layout:latest" redis:latest >/dev/null || bail_out "push"
			REDIS=$R/redis:latest ;;
		esac
	done
}

o2v() {
	local f=$T/o2v.$$
	"$OCI2VM" "$@" >"$f.out" 2>"$f.err" </dev/null
	rc=$?
	out=$(cat "$f.out")
	errout=$(cat "$f.err")
	rm -f "$f.out" "$f.err"
	return 0
}

qemu_left() {
	pgrep -f "qemu-system.*$OCI2VM_RUNTIME_DIR/" || true
}

vmimage_sums() {
	[ -d "$OCI2VM_CACHE/vmimages" ] || return 0
	find "$OCI2VM_CACHE/vmimages" -type f -print0 | sort -z | xargs -0r sha256sum
}

# The cache's images as they were after the first pull/build: everything later must leave
# them byte-identical (no_leftovers checks).
VMIMAGE_SUMS=
remember_vmimages() { VMIMAGE_SUMS=$(vmimage_sums); }

no_leftovers() {
	local what=$1 problems=() q
	q=$(qemu_left)
	[ -z "$q" ] || problems+=("QEMU still running: $q")
	if [ -d "$OCI2VM_RUNTIME_DIR/vms" ] && [ -n "$(ls -A "$OCI2VM_RUNTIME_DIR/vms")" ]; then
		problems+=("VM state left: $(ls "$OCI2VM_RUNTIME_DIR/vms" | tr '\n' ' ')")
	fi
	if [ -d "$OCI2VM_RUNTIME_DIR/names" ] && [ -n "$(ls -A "$OCI2VM_RUNTIME_DIR/names")" ]; then
		problems+=("name links left: $(ls "$OCI2VM_RUNTIME_DIR/names" | tr '\n' ' ')")
	fi
	[ -z "$(ls -A "$TMPDIR")" ] || problems+=("temp files: $(ls -A "$TMPDIR" | tr '\n' ' ')")
	local partial
	partial=$(find "$OCI2VM_CACHE" -name '*.tmp*' -o -name '.tmp*' -o -name '*.partial' |
		head -5)
	[ -z "$partial" ] || problems+=("partial files in the cache: $partial")
	# every image cached before is byte-identical (a new one may appear: when build/init is
	# rebuilt meanwhile, the VM image key changes)
	local changed
	changed=$(grep -vxFf <(vmimage_sums) <<<"$VMIMAGE_SUMS")
	[ -z "$changed" ] || problems+=("cached VM images changed: $changed")
	if [ ${#problems[@]} -eq 0 ]; then
		pass "no leftovers: $what"
		return 0
	fi
	not_ok "no leftovers: $what"
	diag "${problems[@]}"
	return 1
}

wait_port() { # PORT [SECONDS]
	local deadline=$((SECONDS + ${2:-60}))
	while [ $SECONDS -lt $deadline ]; do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_gone() { # PID [SECONDS]
	local deadline=$((SECONDS + ${2:-30}))
	while kill -0 "$1" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
	return 0
}

todo() { # STATUS NAME REASON
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2 # TODO $3 (passes now: drop the TODO)"
	else
		echo "not ok $TAP_N - $2 # TODO $3"
	fi
}
