#!/usr/bin/env bash
# tests/run.sh - run every test and summarize.
#
# Runs each C unit test (build/tests/test_*) and each integration test
# (tests/*/t_*.sh, tests/*/t_*.py), each printing TAP. Counts the test
# points of all of them and ends with the line
#   N passed, N failed, N skipped
# Exit status is non-zero if any test point failed or a test program
# exited non-zero without reporting a failure (a crash counts).
#
#   tests/run.sh                 everything
#   tests/run.sh PATTERN...      only tests whose path contains a PATTERN
#   O2V_TEST_VERBOSE=1           print every TAP line, not only failures
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export O2V_BUILD=${O2V_BUILD:-$top/build}
export O2V_TOP=$top
export PATH="$O2V_BUILD:$PATH"
# Debian's python3 has the modules the tests import (jwt, zstandard): prefer it
# over another python3 earlier in PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
logdir=$(mktemp -d "${TMPDIR:-/tmp}/o2v-tests.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

progs=()
for t in "$O2V_BUILD"/tests/test_*; do [ -x "$t" ] && progs+=("$t"); done
for t in "$top"/tests/*/t_*.sh "$top"/tests/*/t_*.py; do [ -f "$t" ] && progs+=("$t"); done

if [ $# -gt 0 ]; then
	sel=()
	for t in "${progs[@]}"; do
		for pat in "$@"; do case "$t" in *"$pat"*) sel+=("$t"); break ;; esac; done
	done
	progs=("${sel[@]}")
fi

passed=0 failed=0 skipped=0 todo=0 bad_progs=()
for t in "${progs[@]}"; do
	name=${t#"$top"/}; name=${name#"$O2V_BUILD"/}
	log="$logdir/$(echo "$name" | tr / _).log"
	start=$(date +%s)
	case "$t" in
	*.py) "$py" "$t" >"$log" 2>&1 ;;
	*.sh) bash "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# *(SKIP|skip)' "$log" | head -1)
	# TAP: "not ok ... # TODO" is a known gap, reported but not a failure.
	t=$(grep -cE '^not ok [0-9]+.*# *(TODO|todo)' "$log" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
	p=$((p - s)) f=$((f - t))
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s)) todo=$((todo + t))
	status="ok"
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		status="FAIL (exit $rc)"
		bad_progs+=("$name")
		[ "$f" -eq 0 ] && failed=$((failed + 1)) # crashed or died without a TAP failure
	fi
	printf '%-50s %3d passed %2d failed %2d skipped  %3ss  %s\n' "$name" "$p" "$f" "$s" \
		"$(($(date +%s) - start))" "$status"
	if [ "${O2V_TEST_VERBOSE:-0}" = 1 ]; then
		sed 's/^/    /' "$log"
	elif [ "$status" != ok ] || [ "$t" -gt 0 ]; then
		grep -vE '^ok [0-9]+' "$log" | tail -40 | sed 's/^/    /'
	fi
done
[ ${#bad_progs[@]} -gt 0 ] && printf 'failing: %s\n' "${bad_progs[*]}"
[ "$todo" -gt 0 ] && echo "$todo known gaps (TAP TODO), listed above"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
