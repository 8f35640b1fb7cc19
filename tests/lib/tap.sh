# tests/lib/tap.sh - tiny TAP producer for shell tests (source it from bash).
#
#   . "$O2V_TOP/tests/lib/tap.sh"
#   plan 5                     print "1..5" up front (or call done_testing at the end instead)
#   ok COND_STATUS "name"      "ok N - name" when the status is 0, else "not ok N - name";
#                              typical: `cmp -s a b; ok $? "files equal"`
#   pass "name" / not_ok "name"  unconditional ok / not ok
#   is GOT WANT "name"         string equality; on failure prints got/want as TAP diagnostics
#   like GOT REGEX "name"      bash regex match ([[ GOT =~ REGEX ]])
#   run_ok "name" CMD ARGS...  runs CMD, ok if it exits 0; its output goes to diag on failure
#   skip "reason" [COUNT]      COUNT (default 1) "ok N # SKIP reason" lines
#   skip_all "reason"          "1..0 # SKIP reason" and exit 0 (nothing else may have been printed)
#   bail_out "reason"          "Bail out! reason" and exit 1
#   diag "text..."             "# text" lines (stdin if no argument)
#   done_testing               prints the plan if none was given; exit status is 1 when any test
#                              failed or the count differs from the plan. Call it last.
# Every helper returns the test's status (0 = passed), so `is "$a" b "x" || diag "..."` works.
# TAP_FAILED holds the number of failures so far. Do not run tests under `set -e`: a failed check
# returns 1 and would end the script.

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=

plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

diag() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

_tap_result() { # STATUS NAME
	TAP_N=$((TAP_N + 1))
	local name=${2//$'\n'/ }
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $name"
		return 0
	fi
	echo "not ok $TAP_N - $name"
	TAP_FAILED=$((TAP_FAILED + 1))
	return 1
}

ok() { _tap_result "$1" "$2"; }
pass() { _tap_result 0 "$1"; }
not_ok() { _tap_result 1 "$1"; }

is() {
	if [ "$1" == "$2" ]; then
		_tap_result 0 "$3"
		return 0
	fi
	_tap_result 1 "$3"
	diag "     got: '$1'" "    want: '$2'"
	return 1
}

like() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
		return 0
	fi
	_tap_result 1 "$3"
	diag "     got: '$1'" "    want match: /$2/"
	return 1
}

unlike() {
	if ! [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
		return 0
	fi
	_tap_result 1 "$3"
	diag "     got: '$1'" "    want no match: /$2/"
	return 1
}

run_ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		_tap_result 0 "$name"
		return 0
	fi
	_tap_result 1 "$name"
	diag "command failed (exit $rc): $*"
	printf '%s\n' "$out" | tail -20 | diag
	return 1
}

skip() {
	local i n=${2:-1}
	for ((i = 0; i < n; i++)); do
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N # SKIP $1"
	done
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

bail_out() {
	echo "Bail out! $1"
	exit 1
}

done_testing() {
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_N"
	elif [ "$TAP_PLANNED" -ne "$TAP_N" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_N"
		return 1
	fi
	[ "$TAP_FAILED" -eq 0 ]
}
