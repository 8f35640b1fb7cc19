#!/usr/bin/env bash
# t_inspect.sh - what Docker users look a container up with: `inspect NAME` (its state,
# exit code, times, health, restarts, ports, arguments, as JSON), `--type container|image`,
# `-P` publishing the image's exposed ports on free host ports, `port NAME`, logs --tail.
set -u
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export O2V_TOP=$top O2V_BUILD=${O2V_BUILD:-$top/build}
. "$top/tests/run/lib.sh"

run_setup redis busybox
command -v jq >/dev/null || skip_all "jq missing"

o2v run -d -q --name web -P -l team=cache --label tier --health-cmd 'redis-cli ping' \
	--health-interval 1s "$REDIS"
is "$rc" 0 "run -d -P (the redis image exposes 6379/tcp)" || diag "$errout"
o2v port web
like "$out" '^6379/tcp -> 127\.0\.0\.1:[0-9]+$' "port web: 6379/tcp on a free port of 127.0.0.1"
hp=${out##*:}
for _ in $(seq 600); do
	[ "$(redis-cli -p "$hp" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
is "$(redis-cli -p "$hp" ping 2>/dev/null)" "PONG" "... and redis answers there"
o2v port web 6379/tcp
is "$out" "6379/tcp -> 127.0.0.1:$hp" "port web 6379/tcp"
o2v port web 80
is "$rc" 1 "port web 80: not published, exit 1"

for _ in $(seq 100); do
	o2v inspect web
	[ "$(jq -r .State.Health.Status <<<"$out")" = healthy ] && break
	sleep 0.1
done
is "$(jq -r '.Name + " " + .State.Status + " " + (.State.Running|tostring)' <<<"$out")" \
	"web running true" "inspect web: name, status, running"
is "$(jq -r .State.Health.Status <<<"$out")" "healthy" "inspect web: health"
is "$(jq -r '.Ports[0] | .HostIp + ":" + .HostPort + "->" + .ContainerPort + "/" + .Protocol' \
	<<<"$out")" "127.0.0.1:$hp->6379/tcp" "inspect web: ports"
is "$(jq -r '.Args[-1]' <<<"$out")" "$REDIS" "inspect web: the run arguments"
is "$(jq -c .Labels <<<"$out")" '{"team":"cache","tier":""}' "inspect web: the labels"
like "$(jq -r .State.StartedAt <<<"$out")" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "inspect web: started at"
o2v stop web
o2v inspect web
is "$(jq -r '.State.Status + " " + (.State.ExitCode|tostring)' <<<"$out")" "exited 0" \
	"after stop: exited, its code"
unlike "$(jq -r .State.FinishedAt <<<"$out")" "^0001" "... and when"

o2v run -d -q --name lg "$BB" sh -c 'seq 1 10; printf last'
o2v wait lg
o2v logs --tail 3 lg
is "$out" $'9\n10\nlast' "logs --tail 3: the last three lines (one without its newline)"
o2v logs -n 0 lg
is "$out" "" "logs -n 0: nothing"
o2v logs --tail all lg
is "$(wc -l <<<"$out")" 11 "logs --tail all: every line"
# --since: output of two seconds apart, the cut taken between them
o2v run -d -q --name ts "$BB" sh -c 'echo early; sleep 3; echo late; sleep 600'
deadline=$((SECONDS + 60))
until "$OCI2VM" logs ts 2>/dev/null | grep -q early || [ $SECONDS -gt $deadline ]; do sleep 0.1; done
sleep 1
cut=$(date -u +%Y-%m-%dT%H:%M:%SZ)
until "$OCI2VM" logs ts 2>/dev/null | grep -q late || [ $SECONDS -gt $deadline ]; do sleep 0.2; done
o2v logs --since "$cut" ts
is "$out" "late" "logs --since RFC3339: only what came from then on"
o2v logs --since "$(date -d "$cut" +%s)" ts
is "$out" "late" "logs --since a Unix time: the same"
o2v logs --since 10m ts
is "$out" $'early\nlate' "logs --since 10m: both"
o2v logs --since 2099-01-01 ts
is "$out" "" "logs --since a future date: nothing"
o2v logs --since 10m --tail 1 ts
is "$out" "late" "logs --since with --tail"
o2v logs --since yesterday ts
is "$rc" 2 "logs --since yesterday: a usage error"
like "$errout" "--since 'yesterday': expected a time" "... naming the value and the forms"
o2v rm -f ts
o2v logs --tail x lg
is "$rc" 2 "logs --tail x: usage error"
o2v rm lg

o2v inspect --type image "$BB"
is "$(jq -r .Reference <<<"$out")" "$BB" "inspect --type image REF: the image"
o2v inspect "$BB"
is "$(jq -r .Reference <<<"$out")" "$BB" "inspect REF (no container of that name): the image"
o2v inspect --type container "$BB"
is "$rc" 1 "inspect --type container of an image: exit 1"
like "$errout" "no VM named" "... saying there is no such container"
o2v inspect --type volume web
is "$rc" 2 "--type volume: usage error"
o2v rm web
no_leftovers "inspect"
done_testing
