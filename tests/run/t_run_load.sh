#!/usr/bin/env bash
# t_run_load.sh - a redis VM under load through its published port: redis-benchmark with one
# connection, then with 50 opened at once (`-n 20000 -c 50 -t set,get`), each bounded by
# `timeout`; both SET and GET must complete (no timing is asserted). Then redis still answers,
# stop, no leftovers.
#
# The burst is what QEMU's user network alone gets wrong: libslirp (4.7, Debian 12) listens on
# a forwarded port with backlog 1, so a burst of connects overflows the host's accept queue and
# (with SYN cookies) the clients believe they are connected while nobody will accept them.
# oci2vm preloads oci2vm-qemu-net.so into QEMU to give those listeners a real backlog; the test
# checks the backlog the forwarded port got (ss's Send-Q) and that the burst completes.
. "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || skip_all "redis-cli missing (apt-get install redis-tools)"
command -v redis-benchmark >/dev/null || skip_all "redis-benchmark missing (apt-get install redis-tools)"
run_setup redis

LOAD_TIMEOUT=60

pong() { [ "$(timeout 5 redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; }

# bench PORT ARGS...: redis-benchmark -q under `timeout`; sets bench_rc and bench_out (the
# final per-test lines; -q redraws its progress with \r)
bench() {
	local port=$1
	shift
	bench_out=$(timeout "$LOAD_TIMEOUT" redis-benchmark -p "$port" -q "$@" 2>&1)
	bench_rc=$?
	bench_out=$(tr '\r' '\n' <<<"$bench_out" | grep -E '^[A-Z]+: .*requests per second')
}

# completed: did both SET and GET report their totals, with redis-benchmark exiting 0?
completed() {
	[ "$bench_rc" -eq 0 ] && grep -q '^SET: .*requests per second' <<<"$bench_out" &&
		grep -q '^GET: .*requests per second' <<<"$bench_out"
}

# The listen backlog QEMU's user network gave the forwarded port (ss prints it as Send-Q).
hostfwd_backlog() {
	ss -Htln "sport = :$1" 2>/dev/null | awk '{ print $3; exit }'
}

port=$(free_port)
o2v run -d --name load -p "$port:6379" "$REDIS"
is "$rc" 0 "run -d redis" || diag "$errout"
remember_vmimages
deadline=$((SECONDS + 90))
until pong || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
pong
ok $? "redis answers PING on 127.0.0.1:$port" || diag "$("$OCI2VM" logs load 2>&1 | tail -20)"

bench "$port" -n 20000 -c 1 -t set,get
completed
ok $? "redis-benchmark -n 20000 -c 1 -t set,get completes within ${LOAD_TIMEOUT}s" ||
	diag "rc=$bench_rc" "$bench_out"

backlog=$(hostfwd_backlog "$port")
[ "${backlog:-0}" -gt 1 ]
ok $? "the forwarded port listens with a real backlog (ss Send-Q: ${backlog:-none})"
bench "$port" -n 20000 -c 50 -t set,get
completed
ok $? "redis-benchmark -n 20000 -c 50 -t set,get completes within ${LOAD_TIMEOUT}s" ||
	diag "rc=$bench_rc" "${bench_out:-no test completed}"

pong
ok $? "redis still answers PING after the load"
o2v stop load
is "$rc" 0 "stop" || diag "$errout"
o2v rm load
is "$rc" 0 "rm" || diag "$errout"
no_leftovers "after the load test"

done_testing
