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
#   TD_PY    Debian's python3 (python3-zstandard etc. are installed for it)
#   TD_DIR   the testdata directory

TD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TD_PY=${O2V_PYTHON:-/usr/bin/python3}
TD_CACHE=${OCI2VM_TESTDATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oci2vm-testdata}

td_log() { printf '%s: %s\n' "${TD_NAME:-testdata}" "$*" >&2; }

td_build() {
	local name=$1 fn=$2 key out tmp rc lockfd
	shift 2
	TD_NAME=$name
	key=$(cat "$0" "$TD_DIR/lib.sh" "$TD_DIR/mkimage.py" "$@" | sha256sum | cut -c1-16)
	out=$TD_CACHE/$name-$key
	if [ -f "$out/index.json" ]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$TD_CACHE"
	exec {lockfd}>"$TD_CACHE/.$name.lock"
	flock "$lockfd"
	if [ ! -f "$out/index.json" ]; then
		tmp=$(mktemp -d "$TD_CACHE/.$name-build.XXXXXX")
		local start=$SECONDS
		rc=0
		"$fn" "$tmp" || rc=$?
		if [ $rc -ne 0 ]; then
			rm -rf "$tmp"
			exec {lockfd}>&-
			td_log "build failed (exit $rc)"
			return $rc
		fi
		chmod 755 "$tmp"
		mv "$tmp" "$out"
		td_log "built $out in $((SECONDS - start)) s"
		# older builds of the same image are garbage now
		local old
		for old in "$TD_CACHE/$name"-*; do
			[ "$old" != "$out" ] && [ -f "$old/index.json" ] && rm -rf "$old"
		done
	fi
	exec {lockfd}>&-
	echo "$out"
}
