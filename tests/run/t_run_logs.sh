#!/usr/bin/env bash
# t_run_logs.sh - a detached VM's console log is capped and rotated as Docker's json-file
# logs are (--log-opt max-size / max-file): a workload writing 200 MB to stdout leaves at
# most max-file files of at most max-size each, and `oci2vm logs` still shows its last line;
# bad --log-opt values are refused (125, as docker run) naming the value.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup busybox

o2v run -d --log-opt max-size=size --log-opt max-file=2 "$BB" true
is "$rc" 125 "--log-opt max-size=size: refused (125, as docker run)"
like "$errout" "max-size=size" "... naming the value"
o2v run -d --log-opt max-file=0 "$BB" true
is "$rc" 125 "--log-opt max-file=0: refused"
o2v run -d --log-opt color=red "$BB" true
is "$rc" 125 "an unknown --log-opt: refused"
like "$errout" "max-size=SIZE or max-file=N" "... saying which options exist"

# 200 lines of 1 MiB, then a last line to look for.
o2v run -d --name flood --log-opt max-size=1m --log-opt max-file=2 "$BB" sh -c \
	'i=0; while [ $i -lt 200 ]; do head -c 1048576 /dev/zero | tr "\0" x; echo; i=$((i + 1)); done; echo LAST-LINE'
is "$rc" 0 "run -d with --log-opt" || diag "$errout"
dir=$OCI2VM_RUNTIME_DIR/vms/$out
deadline=$((SECONDS + 600))
while "$OCI2VM" ps -q | grep -qx "$out" && [ $SECONDS -lt $deadline ]; do sleep 1; done
"$OCI2VM" ps -q | grep -qx "$out"
ok "$((1 - $?))" "the workload wrote 200 MB and ended"
files=$(ls "$dir" | grep -cE '^console\.log(\.[0-9]+)?$')
ok "$([ "$files" -le 2 ]; echo $?)" "at most max-file=2 log files ($files)"
bytes=$(cat "$dir"/console.log "$dir"/console.log.[0-9] 2>/dev/null | wc -c)
ok "$([ "$bytes" -le $((2 * 1048576)) ]; echo $?)" \
	"the logs hold at most 2 x 1 MiB ($bytes bytes, 200 MB written)"
o2v logs flood
is "$(printf '%s\n' "$out" | tail -1)" "LAST-LINE" "logs: the last line is there"
ok "$([ "${#out}" -ge 1048576 ]; echo $?)" "logs: the rotated file is shown too (${#out} bytes)"
times=$(ls "$dir" | grep -cE '^console\.log(\.[0-9]+)?\.times$')
ok "$([ "$times" -le 2 ]; echo $?)" "the time indexes rotate with their logs ($times)"
o2v logs --since 1h flood
is "$(printf '%s\n' "$out" | tail -1)" "LAST-LINE" "logs --since 1h: across the rotated files too"
o2v rm flood
is "$rc" 0 "rm"
ok "$([ ! -e "$dir" ]; echo $?)" "rm removes the logs with the VM"
no_leftovers "logs"
done_testing
