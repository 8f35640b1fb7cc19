#!/usr/bin/env bash
# t_run_opts.sh - Docker's run options for the workload's environment, applied inside the
# guest: --read-only (the root refuses writes; /tmp, /run and the /etc files stay writable),
# --tmpfs PATH[:OPTIONS], --ulimit (higher than the host's limits works), --security-opt
# no-new-privileges, --stop-signal, --shm-size; and their bad inputs, refused before anything starts.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup busybox

o2v run --rm --read-only "$BB" sh -c '
touch /written 2>/dev/null && echo root-writable || echo root-refused
touch /tmp/a && echo tmp-ok; touch /run/a && echo run-ok
echo x >>/etc/hosts 2>/dev/null && echo etc-writable || echo etc-refused'
is "$rc" 0 "--read-only: the workload runs" || diag "$errout"
like "$out" "root-refused" "--read-only: writes to / are refused"
like "$out" "tmp-ok" "--read-only: /tmp is writable"
like "$out" "run-ok" "--read-only: /run is writable"
like "$out" "etc-refused" "--read-only: /etc/hosts is read-only too (as Docker mounts it)"

o2v run --rm --tmpfs /cache:size=1m,mode=0700 --tmpfs /scratch:exec "$BB" sh -c '
grep -E " /(cache|scratch) " /proc/mounts; stat -c "%a" /cache'
like "$out" "tmpfs /cache tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700" \
	"--tmpfs /cache:size=1m,mode=0700: Docker's noexec,nosuid,nodev plus the options"
like "$out" "tmpfs /scratch tmpfs rw,nosuid,nodev,relatime" "--tmpfs PATH:exec drops noexec"

host_hard=$(ulimit -Hn)
want=$((host_hard > 100000 ? host_hard + 1000 : 100000))
o2v run --rm --ulimit "nofile=$want" --ulimit nproc=512:1024 "$BB" sh -c \
	'ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu'
is "$out" "$want"$'\n'"$want"$'\n512\n1024' \
	"--ulimit nofile=$want (host's hard limit: $host_hard) and nproc=512:1024, as set" ||
	diag "$errout"

o2v run --rm --security-opt no-new-privileges "$BB" grep NoNewPrivs /proc/self/status
like "$out" "NoNewPrivs:[[:space:]]+1" "--security-opt no-new-privileges"
o2v run --rm "$BB" grep NoNewPrivs /proc/self/status
like "$out" "NoNewPrivs:[[:space:]]+0" "... not by default (as Docker)"

o2v run --rm --cap-add ALL "$BB" sh -c \
	'echo 1 >/proc/sys/net/ipv4/ip_forward; echo $?; wc -c </proc/timer_list'
is "$out" $'1\n0' "/proc/sys read-only and /proc/timer_list masked, even with --cap-add ALL (Docker)"
o2v run --rm --cap-add ALL --security-opt systempaths=unconfined "$BB" sh -c \
	'echo 1 >/proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward; [ "$(wc -c </proc/timer_list)" -gt 0 ] && echo shown'
is "$out" $'1\nshown' "--security-opt systempaths=unconfined: /proc/sys writable, nothing masked" ||
	diag "$errout"

o2v run -d -q --name sig --stop-signal USR1 "$BB" sh -c \
	'trap "echo got-usr1; exit 9" USR1; trap "echo got-term; exit 8" TERM; while :; do sleep 0.1; done'
sleep 1
o2v stop sig
o2v wait sig
is "$out" "9" "--stop-signal USR1: stop sends SIGUSR1 first"
o2v logs sig
is "$out" "got-usr1" "... and not SIGTERM"
o2v rm sig

o2v run --rm "$BB" sh -c 'grep " /dev/shm " /proc/mounts'
like "$out" "size=65536k" "/dev/shm: Docker's 64 MiB by default"
o2v run --rm --shm-size 256m "$BB" sh -c 'grep " /dev/shm " /proc/mounts'
like "$out" "size=262144k" "--shm-size 256m"
o2v run --rm --shm-size 8388608 "$BB" sh -c 'grep " /dev/shm " /proc/mounts'
like "$out" "size=8192k" "--shm-size 8388608: a bare number is bytes, as Docker's"

for bad in "--shm-size 1|at least 4k" "--label =x|expected KEY=VALUE" \
	"--stop-signal BOGUS|unknown signal" "--ulimit nofile=10:5|soft limit is above" "--ulimit files=10|unknown limit 'files'" \
	"--ulimit nofile=ten|expected numbers" "--tmpfs relative|absolute path" \
	"--tmpfs /|absolute path other than" "--security-opt seccomp=unconfined|no-new-privileges" \
	"--security-opt no-new-privileges=maybe|no-new-privileges"; do
	opt=${bad%%|*}
	# shellcheck disable=SC2086 # the option and its value
	o2v run --rm $opt "$BB" true
	is "$rc" 125 "bad input '$opt': exit 125"
	like "$errout" "^oci2vm: error: .*${bad#*|}" "... one line saying why"
done
o2v run --rm --tmpfs /x:bogus=1 "$BB" true
is "$rc" 125 "--tmpfs with an option tmpfs refuses: exit 125"
like "$errout" "--tmpfs '/x:bogus=1'" "... naming it"
no_leftovers "run options"
done_testing
