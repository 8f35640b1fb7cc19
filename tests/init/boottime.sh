#!/usr/bin/env bash
# tests/init/boottime.sh - measure bootstrap-init's boot path: /init entry -> workload's first
# instruction, with the kernel's clock (CLOCK_BOOTTIME), over several boots.
#
#   tests/init/boottime.sh [RUNS] [RUNCONFIG_ARGS...]   (default 9 runs, --no-network)
#
# Without --no-network among the arguments the VM gets a user-mode network (eth0).
#
# Each boot runs tests/init/bootclock.c as the workload with init's verbose boot trace on.
# Prints each run's phases (ms since the previous stamp) and the total, then the median and
# spread of the total and of each phase. A measurement tool, not a test: never pass/fail.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/init/lib.sh"

runs=${1:-9}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --no-network
net=--net
for a in "$@"; do [ "$a" = --no-network ] && net=; done
init_find_kernel || { echo "no kernel (make kernel, or set OCI2VM_KERNEL)" >&2; exit 1; }
command -v musl-gcc >/dev/null || { echo "musl-gcc missing" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/o2v-boottime.XXXXXX")
trap 'rm -rf "$work"' EXIT
BOOT_MODE=${BOOT_MODE:-boot}
mkdir -p "$work/s/app_root/bin"
init_base_root "$work/s/app_root"
musl-gcc -static -Os -o "$work/s/app_root/bin/bootclock" "$top/tests/init/bootclock.c" || exit 1
init_image "$work/img.cpio" "$work/s" -- --verbose "$@" -- /bin/bootclock || exit 1
# A TSC clock for sub-jiffy stamps: under TCG the guest TSC runs at the host's rate.
khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
[ -n "$khz" ] && VM_APPEND="tsc_early_khz=$khz tsc=reliable"
# BOOTTIME_APPEND: more kernel arguments, to compare kernel settings.
VM_APPEND="${VM_APPEND:-}${BOOTTIME_APPEND:+ $BOOTTIME_APPEND}"
echo "kernel $KERNEL"
echo "boot mode $BOOT_MODE, $runs runs, load $(cut -d' ' -f1-3 /proc/loadavg)"

for i in $(seq "$runs"); do
	init_boot "$work/img.cpio" $net
	trace=$(printf '%s\n' "$BOOT_OUT" | sed -n 's/.*boot trace (CLOCK_BOOTTIME ms)://p' | tail -1)
	first=$(printf '%s\n' "$BOOT_OUT" | sed -n 's/^bootclock \([0-9.]*\).*/\1/p' | tail -1)
	if [ -z "$trace" ] || [ -z "$first" ]; then
		echo "run $i: no trace (exit $BOOT_RC)" >&2
		printf '%s\n' "$BOOT_OUT" | tail -5 >&2
		continue
	fi
	# Stamps in time order (the workload may start before init's last stamps).
	echo "$trace first=$first" | tr ' ' '\n' | grep = | sort -t= -k2 -n | tr '\n' ' ' |
	awk -v run="$i" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); name[i] = kv[1]; t[i] = kv[2] }
		line = sprintf("run %d:", run)
		for (i = 2; i <= NF; i++) line = line sprintf(" %s=%.1f", name[i], t[i] - t[i-1])
		for (i = 1; i <= NF; i++) if (name[i] == "entry") t0 = t[i]; else if (name[i] == "first") t1 = t[i]
		printf "%s total=%.1f\n", line, t1 - t0
	}'
done | tee "$work/runs"
awk '{
	for (i = 3; i <= NF; i++) {
		split($i, kv, "="); if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++n] = kv[1] }
		v[kv[1], ++c[kv[1]]] = kv[2]
	}
} END {
	for (k = 1; k <= n; k++) {
		name = order[k]; m = c[name]
		for (i = 1; i <= m; i++) a[i] = v[name, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
		med = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		printf "%-10s median %6.1f  min %6.1f  max %6.1f  (n=%d)\n", name, med, a[1], a[m], m
	}
}' "$work/runs"
