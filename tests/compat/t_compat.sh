#!/usr/bin/env bash
# tests/compat/t_compat.sh - the differential suite: every probe in tests/compat/probes runs
# under podman with runc and under oci2vm, on the same image from the test registry; stdout
# and exit status must be equal after normalising, unless the probe names a row of README's
# "Differences from a container runtime" table (and then oci2vm's result is checked against
# what the probe says Docker does).
#
#   O2V_COMPAT_SHOW=1   print both sides' normalised results for every probe (diagnostics)
#   O2V_COMPAT_ONLY=RE  only the probes whose name matches the bash regex RE
#   O2V_COMPAT_RUNTIME=1  the second side is podman driving oci2vm-runtime (installed here)
#                       instead of `oci2vm run` (t_compat_runtime.sh): where podman itself
#                       decides (the README table's engine rows), both sides must be equal;
#                       tests/compat/probes-runtime overrides probes for the runtime, whose
#                       own differences are README's "Under oci2vm-runtime" table
#
# podman: crun (its default) refuses this host's hybrid cgroups, hence --runtime runc and
# --cgroup-manager cgroupfs; its storage lives in the test's temp dir. Both sides get a user-mode
# NAT network without the host's loopback: QEMU's for oci2vm, slirp4netns for podman (whose
# default bridge would change the host's firewall and links).
. "$(dirname "$0")/../run/lib.sh"

probes=$O2V_TOP/tests/compat/probes
readme=$O2V_TOP/README.md
runtime=${O2V_COMPAT_RUNTIME:-}
# rows of the table that are podman's own choices: under oci2vm-runtime podman makes them
engine_keys=" podman-caps podman-passwd user-not-found podman-env podman-workdir podman-shm dns-forwarder "

command -v podman >/dev/null || skip_all "podman is not installed (apt-get install podman runc)"
command -v runc >/dev/null || skip_all "runc is not installed (apt-get install runc)"
run_setup busybox
if [ -n "$runtime" ]; then
	env -u OCI2VM_CACHE make -s -C "$O2V_TOP" install DESTDIR="$T/inst" PREFIX=/usr \
		BUILD="$O2V_BUILD" >"$T/install.log" 2>&1 || bail_out "make install: $(tail -1 "$T/install.log")"
	RT=$T/inst/usr/bin/oci2vm-runtime
fi

podman_cmd=(podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver vfs
	--cgroup-manager cgroupfs --runtime runc --events-backend none)
# both sides: the same limits (podman's defaults exceed this host's)
common=(--rm --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

HOSTDIR=$T/hostdir
mkdir -p "$HOSTDIR"
echo "from the host" >"$HOSTDIR/file"
printf 'A=one\n# a comment\nB=two\n' >"$HOSTDIR/envfile"
chmod -R a+rX "$HOSTDIR"
export O2V_COMPAT_HOST="host value"

out=$("${podman_cmd[@]}" pull -q --tls-verify=false "$BB" 2>&1) ||
	skip_all "podman cannot pull from the test registry: $(tail -1 <<<"$out")"
out=$("${podman_cmd[@]}" run "${common[@]}" --network slirp4netns "$BB" true 2>&1) ||
	skip_all "podman cannot run a container here: $(tail -1 <<<"$out")"
"$OCI2VM" pull -q "$BB" >/dev/null || bail_out "oci2vm pull $BB"

# normalise: ids (hostnames), addresses, and ls -l's times (the two sides run a minute apart
# now and then)
normalise() {
	sed -E -e 's/\b[0-9a-f]{64}\b/<ID>/g' -e 's/\b[0-9a-f]{12}\b/<ID>/g' \
		-e 's/\b[A-Z][a-z]{2} +[0-9]{1,2} +[0-9]{2}:[0-9]{2}\b/<TIME>/g' \
		-e 's/\b(12[0-689]|1[013-9][0-9]|[2-9][0-9]?|1[0-9]?)\.[0-9]+\.[0-9]+\.[0-9]+\b/<IP>/g'
}

# run_side podman|oci2vm OPTS... -- CMD: prints normalised stdout, then "[exit N]"
run_side() {
	local side=$1 stdin=/dev/null o rc
	shift
	local opts=() cmd
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	cmd=$1
	for o in "${opts[@]}"; do [ "$o" = -i ] && stdin=$T/stdin; done
	local argv=()
	[ -n "$cmd" ] && argv=(sh -c "$cmd")
	if [ "$side" = podman ]; then
		o=$(timeout 120 "${podman_cmd[@]}" run "${common[@]}" --network slirp4netns "${opts[@]}" "$BB" "${argv[@]}" \
			<"$stdin" 2>"$T/stderr")
	elif [ -n "${RT:-}" ]; then # podman driving oci2vm-runtime
		o=$(timeout 120 "${podman_cmd[@]}" --runtime "$RT" run "${common[@]}" --network slirp4netns \
			"${opts[@]}" "$BB" "${argv[@]}" <"$stdin" 2>"$T/stderr")
	else
		o=$(timeout 120 "$OCI2VM" run -q "${common[@]}" "${opts[@]}" "$BB" "${argv[@]}" \
			<"$stdin" 2>"$T/stderr")
	fi
	rc=$?
	printf '%s\n[exit %d]\n' "$o" "$rc" | normalise
}
printf 'hello\nworld\n' >"$T/stdin"

# the README table's keys: | `key` | ...
readme_keys=$(sed -n '/^## Differences from a container runtime/,/^##* /p' "$readme" |
	sed -nE 's/^\| `([a-z0-9-]+)` \|.*/\1/p' | sort -u)
declare -A override=()
if [ -n "$runtime" ]; then
	# the runtime's own table, and its overrides of probes
	readme_keys=$(sed -n '/^### Under oci2vm-runtime/,/^##* [^U]/p' "$readme" |
		sed -nE 's/^\| `([a-z0-9-]+)` \|.*/\1/p' | sort -u)
	while IFS='|' read -r name rest; do
		name=$(echo $name)
		case $name in '' | '#'*) continue ;; esac
		override[$name]=${rest# }
	done <"$O2V_TOP/tests/compat/probes-runtime"
fi
used_keys=

line_re='^([^|]+)\|([^|]*)\|(.*) \| (same|differ .*)$'
while IFS= read -r line; do
	case $line in '' | '#'*) continue ;; esac
	if ! [[ $line =~ $line_re ]]; then
		not_ok "probe line parses: $line"
		continue
	fi
	name=$(echo ${BASH_REMATCH[1]})
	optstr=${BASH_REMATCH[2]}
	cmd=${BASH_REMATCH[3]}
	cmd=${cmd# }
	expect=${BASH_REMATCH[4]}
	[ -n "${O2V_COMPAT_ONLY:-}" ] && ! [[ $name =~ $O2V_COMPAT_ONLY ]] && continue
	eval "opts=($optstr)"
	if [ -n "$runtime" ]; then
		if [ -n "${override[$name]:-}" ]; then
			expect=${override[$name]}
		elif [[ $expect == differ\ * ]] && [[ $engine_keys == *" $(set -- $expect; echo "$2") "* ]]; then
			expect=same # podman decides it, for both sides
		elif [[ $expect == differ\ * ]] && ! grep -qx -- "$(set -- $expect; echo "$2")" <<<"$readme_keys"; then
			# a difference of oci2vm's VM that the runtime's shares: the main table's row
			readme_keys+=$'\n'"$(set -- $expect; echo "$2")"
		fi
	fi
	p=$(run_side podman "${opts[@]}" -- "$cmd")
	o=$(run_side oci2vm "${opts[@]}" -- "$cmd")
	if [ -n "${O2V_COMPAT_SHOW:-}" ]; then
		diag "== $name: podman"; diag "$p"; diag "== $name: oci2vm"; diag "$o"
	fi
	case $expect in
	same)
		is "$o" "$p" "$name: as under podman${runtime:+ (oci2vm-runtime)}" ;;
	differ\ *)
		set -- $expect
		key=$2
		re=${expect#differ "$key" }
		used_keys+="$key"$'\n'
		if ! grep -qx -- "$key" <<<"$readme_keys"; then
			not_ok "$name: difference '$key' is a row of README's table"
		elif [ "$o" = "$p" ]; then
			not_ok "$name: differs from podman ($key)" &&:
			diag "now equal: make the probe 'same' and drop '$key' if nothing else uses it"
		else
			like "$o" "$re" "$name: differs ($key) and does what Docker does"
		fi ;;
	esac
done <"$probes"

# every row of the table is exercised by a probe
if [ -z "${O2V_COMPAT_ONLY:-}" ]; then
	for k in $readme_keys; do
		grep -qx -- "$k" <<<"$used_keys"
		ok $? "README difference '$k' is exercised by a probe"
	done
fi
done_testing
