#!/usr/bin/env bash
# t_health.sh - Docker's healthchecks: --health-cmd run in the VM every interval, `ps`
# showing (health: starting), then (healthy) once a check passes, (unhealthy) after
# `retries` failures in a row, within interval x retries; no restart for being unhealthy;
# --no-healthcheck; bad durations and retries refused.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup busybox

# until ps shows PATTERN for VM h (at most SECONDS)
wait_ps() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		o2v ps
		[[ $out =~ $1 ]] && return 0
		sleep 0.1
	done
	return 1
}

o2v run -d -q --name h --restart always --health-cmd 'test -f /tmp/ok' --health-interval 1s \
	--health-retries 2 --health-timeout 2s "$BB" sleep 600
is "$rc" 0 "run -d --health-cmd ... --health-interval 1s --health-retries 2" || diag "$errout"
o2v ps
like "$out" "h +.*Up .*\(health: starting\)" "ps: (health: starting) before the first pass"
o2v exec h touch /tmp/ok
wait_ps "h +.*Up .*\(healthy\)" 10
ok $? "a passing check: (healthy)" || diag "$out"
o2v exec h rm /tmp/ok
t0=$(date +%s)
wait_ps "h +.*Up .*\(unhealthy\)" 10
ok $? "two failures in a row: (unhealthy)" || diag "$out"
[ $(($(date +%s) - t0)) -le 6 ]
ok $? "... within interval x retries (and a check's time)"
sleep 2
o2v ps
unlike "$out" "restart" "an unhealthy container is not restarted (as Docker)"
o2v exec h touch /tmp/ok
wait_ps "h +.*Up .*\(healthy\)" 10
ok $? "healthy again once a check passes"
o2v rm -f h

o2v run -d -q --name slow --health-cmd 'sleep 5' --health-interval 1s --health-timeout 500ms \
	--health-retries 1 "$BB" sleep 600
wait_ps "slow +.*\(unhealthy\)" 10
ok $? "a check past its timeout fails"
o2v exec slow sh -c 'sleep 3; ps | grep -c "[s]leep 5"'
[ "$out" -le 1 ] 2>/dev/null
ok $? "... and is killed in the guest: at most the check running now is there ($out)"
o2v rm -f slow

o2v run -d -q --name none --no-healthcheck "$BB" sleep 600
o2v ps
like "$out" "none +.*Up [0-9]+s +" "--no-healthcheck: no health in ps"
o2v rm -f none

for bad in "--health-interval 10|expected a duration" "--health-interval 0s|more than 0" \
	"--health-timeout 1x|expected a duration" "--health-retries 0|positive number" \
	"--health-retries -3|positive number" "--health-start-period 25h|at most 24h"; do
	opt=${bad%%|*}
	# shellcheck disable=SC2086 # the option and its value
	o2v run -d $opt "$BB" true
	is "$rc" 125 "bad input '$opt': exit 125"
	like "$errout" "^oci2vm: error: .*${bad#*|}" "... one line saying why"
done
o2v run -d --no-healthcheck --health-cmd true "$BB" true
is "$rc" 125 "--no-healthcheck with --health-cmd: exit 125"
no_leftovers "health"
done_testing
