# testdata/lib.sh - shared by the testdata/*-image.sh scripts (sourced, bash).
#
# Test images are built once into a cache and never committed:
#   ${OCI2VM_TESTDATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oci2vm-testdata}/NAME-KEY/
# KEY hashes the building script, this file, mkimage.py and any extra inputs, so editing a script
# rebuilds and reruns are instant. Each script prints the path of its OCI layout on stdout (one
# line, nothing else) and logs to stderr.
#
#   td_build NAME FUNCTION [EXTRA_INPUT...]
#       if the cached layout NAME-KEY exists, print it; else run FUNCTION OUTDIR under an flock
#       (concurrent callers wait), with OUTDIR a fresh temp dir renamed into place on success.
#   td_cached NAME KEY FUNCTION   the same with a key of the caller's choosing (build stages
#                                 that must survive edits of the script, e.g. debootstrap)
#   TD_PY    Debian's python3 (python3-zstandard etc. are installed for it)
#   TD_DIR   the testdata directory

TD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TD_PY=${O2V_PYTHON:-/usr/bin/python3}
TD_CACHE=${OCI2VM_TESTDATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oci2vm-testdata}

td_log() { printf '%s: %s\n' "${TD_NAME:-testdata}" "$*" >&2; }

# td_cached NAME KEY FUNCTION: the cache entry NAME-KEY, built by FUNCTION OUTDIR if missing
# (under an flock, into a temp dir renamed into place, older NAME-* entries then removed); prints
# its path. FUNCTION's stdout goes to stderr.
td_cached() {
	local name=$1 key=$2 fn=$3 out tmp rc=0 lockfd start old
	out=$TD_CACHE/$name-$key
	if [ -f "$out/.td-done" ]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$TD_CACHE" || return 1
	exec {lockfd}>"$TD_CACHE/.$name.lock"
	flock "$lockfd"
	if [ ! -f "$out/.td-done" ]; then
		start=$SECONDS
		tmp=$(mktemp -d "$TD_CACHE/.$name-build.XXXXXX") || rc=1
		[ $rc = 0 ] && { "$fn" "$tmp" >&2 || rc=$?; }
		if [ $rc != 0 ]; then
			rm -rf "$tmp"
			exec {lockfd}>&-
			td_log "build failed (exit $rc)"
			return $rc
		fi
		touch "$tmp/.td-done"
		chmod 755 "$tmp"
		rm -rf "$out"
		mv "$tmp" "$out"
		td_log "built $out in $((SECONDS - start)) s"
		for old in "$TD_CACHE/$name"-*; do
			[ "$old" != "$out" ] && [ -f "$old/.td-done" ] && rm -rf "$old"
		done
	fi
	exec {lockfd}>&-
	echo "$out"
}

# td_build NAME FUNCTION [EXTRA_INPUT...]: an image keyed by the calling script, this file,
# mkimage.py and the extra inputs
td_build() {
	TD_NAME=$1
	td_cached "$1" "$(cat "$0" "$TD_DIR/lib.sh" "$TD_DIR/mkimage.py" "${@:3}" |
		sha256sum | cut -c1-16)" "$2"
}
