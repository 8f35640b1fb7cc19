# tests/lib/registry.sh - a private Debian docker-registry (distribution 2.8) for tests (bash, sourced).
#
#   . "$O2V_TOP/tests/lib/registry.sh"
#   registry_start [MODE...] || skip_all "..."    start it; modes combine (see below)
#   registry_push "$layout:latest" busybox:latest  skopeo copy oci:... docker://$REGISTRY_HOST/...
#                                                  (--all --preserve-digests: the registry
#                                                  serves the layout's exact digests; Docker-typed
#                                                  tags go through skopeo's dir: transport)
#   registry_stop                                  (also runs from an EXIT trap)
#
# Modes (default anon):
#   anon                 no authentication
#   htpasswd USER PASS   Basic auth (bcrypt htpasswd file); exports REGISTRY_USER/REGISTRY_PASS
#   token [OPT...]       distribution `token` auth; starts tests/lib/tokenserver.py with OPT...
#                        (every following word starting with "--", e.g. `token --user u:p
#                        --anonymous-actions pull --access-token-only`; see tokenserver.py). The
#                        first --user U:P is exported as REGISTRY_USER/REGISTRY_PASS.
#                        `--realm-query=foo=bar` (registry.sh's own) makes the realm
#                        .../token?foo=bar (a realm that already has a query string).
#                        Options taking a value may be written `--opt VALUE` or `--opt=VALUE`.
#   tls                  HTTPS with a CA generated here (cert for 127.0.0.1, 127.0.0.2, localhost);
#                        the token server and blob server then speak HTTPS too
#   redirect             blob GET/HEAD answered `307` to tests/lib/blobserver.py on 127.0.0.2
#                        (registry `redirect` storage middleware; works with the filesystem driver
#                        in 2.8.2), which logs every request's headers
# htpasswd and token exclude each other; everything else combines.
#
# Exports after registry_start:
#   REGISTRY_HOST=127.0.0.1:PORT  REGISTRY_URL=http[s]://$REGISTRY_HOST  REGISTRY_PID
#   REGISTRY_DIR (temp dir: config.yml, registry.log, data/ = storage root)  REGISTRY_MODES
#   REGISTRY_DATA=$REGISTRY_DIR/data
#   tls:      REGISTRY_CA (CA cert PEM), REGISTRY_CERT_DIR (dir holding ca.crt, for skopeo and
#             docker-style certs.d)
#   token:    REGISTRY_TOKEN_URL (the realm), REGISTRY_TOKEN_LOG, REGISTRY_TOKEN_PID,
#             REGISTRY_TOKEN_SERVICE, REGISTRY_TOKEN_ISSUER
#   redirect: REGISTRY_BLOB_HOST (addr:port), REGISTRY_BLOB_LOG, REGISTRY_BLOB_PID
#
# Other helpers:
#   free_port [ADDR]                 print a free TCP port on ADDR (default 127.0.0.1)
#   registry_token_restart [OPT...]  restart the token server on the same port with new options
#   registry_blob_path DIGEST        path of a blob's file in the registry storage (tests may
#                                    corrupt it in place)
#   registry_inspect REF [ARGS...]   skopeo inspect docker://$REGISTRY_HOST/REF with the mode's
#                                    TLS/creds options
#   registry_fetch NAME:TAG OCI_DIR:TAG   skopeo copy from the registry into an OCI layout
#   registry_skopeo_opts src|dest|""      print the skopeo options for the mode, one per line
#   faultproxy_start [RULE...]       tests/lib/faultproxy.py in front of the registry (it listens
#                                    on plain http, also for a tls registry); exports
#                                    FAULTPROXY_HOST, FAULTPROXY_URL, FAULTPROXY_LOG,
#                                    FAULTPROXY_RULES (the rule file), FAULTPROXY_PID
#   faultproxy_rules [RULE...]       replace the rules (counters restart), see faultproxy.py
#   faultproxy_stop
#   o2v_wait_port_file FILE PID      wait until a server wrote its port (prints it)
# Safe under `set -euo pipefail`. registry_start adds registry_stop to the EXIT trap (keeping a trap the test set before).
# One registry at a time per shell. Needs: docker-registry, skopeo, openssl, jq, python3-jwt,
# python3-cryptography, apache2-utils (htpasswd).

O2V_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
O2V_PYTHON=${O2V_PYTHON:-/usr/bin/python3}
_REG_PIDS=()

free_port() {
	"$O2V_PYTHON" -c 'import socket,sys
s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

# wait for a python server's --port-file; fails if the process died first
o2v_wait_port_file() {
	local file=$1 pid=$2 i
	for ((i = 0; i < 200; i++)); do
		if [ -s "$file" ]; then
			cat "$file"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

_reg_log() { echo "registry.sh: $*" >&2; }

# _reg_cert DIR NAME CA_NAME [SAN]: key + cert signed by CA_NAME (or self-signed CA when CA_NAME
# is empty) in DIR/NAME.{key,crt}
_reg_cert() {
	local dir=$1 name=$2 ca=$3 san=${4:-}
	openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null || return 1
	if [ -z "$ca" ]; then
		openssl req -x509 -new -key "$dir/$name.key" -days 30 -subj "/CN=oci2vm test $name" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
			-out "$dir/$name.crt" 2>/dev/null
		return
	fi
	openssl req -new -key "$dir/$name.key" -subj "/CN=oci2vm test $name" \
		-out "$dir/$name.csr" 2>/dev/null || return 1
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		[ -n "$san" ] && echo "subjectAltName=$san" && echo "extendedKeyUsage=serverAuth"
	} >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
		-CAcreateserial -days 30 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}

_reg_start_token() {
	local d=$REGISTRY_DIR scheme=http tls=() port
	REGISTRY_TOKEN_SERVICE=o2v-test-registry
	REGISTRY_TOKEN_ISSUER=o2v-test-issuer
	REGISTRY_TOKEN_LOG=$d/token.log
	if [ ! -f "$d/tokenca.crt" ]; then
		_reg_cert "$d" tokenca "" && _reg_cert "$d" tokensign tokenca || return 1
	fi
	[ -n "${REGISTRY_CA:-}" ] && scheme=https tls=(--tls-cert "$d/server.crt" --tls-key "$d/server.key")
	port=${_REG_TOKEN_PORT:-0}
	rm -f "$d/token.port"
	"$O2V_PYTHON" "$O2V_LIB/tokenserver.py" --addr 127.0.0.1 --port "$port" \
		--port-file "$d/token.port" --log "$REGISTRY_TOKEN_LOG" "${tls[@]}" \
		--key "$d/tokensign.key" --cert "$d/tokensign.crt" \
		--issuer "$REGISTRY_TOKEN_ISSUER" --service "$REGISTRY_TOKEN_SERVICE" \
		"$@" 2>>"$d/token.stderr" &
	REGISTRY_TOKEN_PID=$!
	_REG_PIDS+=("$REGISTRY_TOKEN_PID")
	port=$(o2v_wait_port_file "$d/token.port" "$REGISTRY_TOKEN_PID") || {
		_reg_log "token server did not start: $(tail -5 "$d/token.stderr")"
		return 1
	}
	_REG_TOKEN_PORT=$port
	REGISTRY_TOKEN_URL=$scheme://127.0.0.1:$port/token${_REG_REALM_QUERY:+?$_REG_REALM_QUERY}
	export REGISTRY_TOKEN_URL REGISTRY_TOKEN_LOG REGISTRY_TOKEN_PID REGISTRY_TOKEN_SERVICE \
		REGISTRY_TOKEN_ISSUER
}

registry_token_restart() {
	[ -n "${REGISTRY_TOKEN_PID:-}" ] || { _reg_log "no token server running"; return 1; }
	kill "$REGISTRY_TOKEN_PID" 2>/dev/null || true
	wait "$REGISTRY_TOKEN_PID" 2>/dev/null || true
	_reg_start_token "$@"
}

_reg_start_blobserver() {
	local d=$REGISTRY_DIR addr=127.0.0.2 tls=() port scheme=http
	# 127.0.0.0/8 is all loopback on Linux; fall back to another port on 127.0.0.1 elsewhere
	"$O2V_PYTHON" -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null ||
		addr=127.0.0.1
	[ -n "${REGISTRY_CA:-}" ] && scheme=https tls=(--tls-cert "$d/server.crt" --tls-key "$d/server.key")
	REGISTRY_BLOB_LOG=$d/blob.log
	"$O2V_PYTHON" "$O2V_LIB/blobserver.py" --root "$REGISTRY_DATA" --addr "$addr" \
		--port-file "$d/blob.port" --log "$REGISTRY_BLOB_LOG" "${tls[@]}" 2>>"$d/blob.stderr" &
	REGISTRY_BLOB_PID=$!
	_REG_PIDS+=("$REGISTRY_BLOB_PID")
	port=$(o2v_wait_port_file "$d/blob.port" "$REGISTRY_BLOB_PID") || {
		_reg_log "blob server did not start: $(tail -5 "$d/blob.stderr")"
		return 1
	}
	REGISTRY_BLOB_HOST=$addr:$port
	_REG_BLOB_BASEURL=$scheme://$REGISTRY_BLOB_HOST
	export REGISTRY_BLOB_HOST REGISTRY_BLOB_LOG REGISTRY_BLOB_PID
}

_reg_write_config() { # PORT
	local d=$REGISTRY_DIR
	{
		echo "version: 0.1"
		echo "log: {level: info, formatter: text}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: \"$REGISTRY_DATA\"}"
		echo "  delete: {enabled: true}"
		echo "  maintenance: {uploadpurging: {enabled: false}}"
		echo "http:"
		echo "  addr: 127.0.0.1:$1"
		echo "  secret: o2v-test-$RANDOM$RANDOM"
		if [ -n "${REGISTRY_CA:-}" ]; then
			echo "  tls: {certificate: \"$d/server.crt\", key: \"$d/server.key\"}"
		fi
		if [ -n "$_REG_HTPASSWD" ]; then
			echo "auth:"
			echo "  htpasswd: {realm: o2v-test, path: \"$d/htpasswd\"}"
		elif [ -n "${REGISTRY_TOKEN_URL:-}" ]; then
			echo "auth:"
			echo "  token:"
			echo "    realm: \"$REGISTRY_TOKEN_URL\""
			echo "    service: $REGISTRY_TOKEN_SERVICE"
			echo "    issuer: $REGISTRY_TOKEN_ISSUER"
			echo "    rootcertbundle: \"$d/tokenca.crt\""
		fi
		if [ -n "${_REG_BLOB_BASEURL:-}" ]; then
			echo "middleware:"
			echo "  storage:"
			echo "    - name: redirect"
			echo "      options: {baseurl: \"$_REG_BLOB_BASEURL\"}"
		fi
	} >"$d/config.yml"
}

# registry_stop on EXIT, added to (not replacing) a trap the test has set; INT/TERM exit so the
# EXIT trap runs, unless the test traps them itself
_reg_trap() {
	local cur
	cur=$(trap -p EXIT)
	if [[ $cur != *registry_stop* ]]; then
		if [ -n "$cur" ]; then
			eval "set -- $cur" # trap -- 'CMD' EXIT
			trap -- "$3; registry_stop" EXIT
		else
			trap registry_stop EXIT
		fi
	fi
	[ -n "$(trap -p INT)" ] || trap 'exit 130' INT
	[ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM
}

_reg_set_user() { REGISTRY_USER=${1%%:*} REGISTRY_PASS=${1#*:}; }

registry_start() {
	local tls=0 token=0 redirect=0 token_opts=() port try code curlopts=()
	_REG_HTPASSWD=
	REGISTRY_MODES="$*"
	REGISTRY_USER= REGISTRY_PASS= REGISTRY_CA= REGISTRY_CERT_DIR=
	REGISTRY_TOKEN_URL= REGISTRY_TOKEN_PID= REGISTRY_BLOB_HOST= REGISTRY_BLOB_PID=
	_REG_BLOB_BASEURL= _REG_TOKEN_PORT= _REG_REALM_QUERY=
	while [ $# -gt 0 ]; do
		case $1 in
		anon) ;;
		tls) tls=1 ;;
		redirect) redirect=1 ;;
		htpasswd)
			[ $# -ge 3 ] || { _reg_log "usage: htpasswd USER PASS"; return 2; }
			REGISTRY_USER=$2 REGISTRY_PASS=$3 _REG_HTPASSWD=1
			shift 2
			;;
		token)
			token=1
			while [ $# -gt 1 ] && [[ $2 == --* ]]; do
				token_opts+=("$2")
				case $2 in
				--realm-query=*) # registry.sh's own: the realm URL gets ?QUERY
					_REG_REALM_QUERY=${2#--realm-query=}
					unset 'token_opts[-1]'
					;;
				--user=*) [ -n "$REGISTRY_USER" ] || _reg_set_user "${2#--user=}" ;;
				--*=* | --refuse-credentials | --access-token-only | --token-only | \
					--omit-expires-in | --omit-issued-at) ;;
				*) # the option's value follows
					[ $# -ge 3 ] || { _reg_log "token option $2 needs a value"; return 2; }
					[ "$2" = --user ] && [ -z "$REGISTRY_USER" ] && _reg_set_user "$3"
					token_opts+=("$3")
					shift
					;;
				esac
				shift
			done
			;;
		*)
			_reg_log "unknown mode '$1' (anon, htpasswd USER PASS, token [OPT...], tls, redirect)"
			return 2
			;;
		esac
		shift
	done
	if [ -n "$_REG_HTPASSWD" ] && [ $token = 1 ]; then
		_reg_log "htpasswd and token modes exclude each other"
		return 2
	fi
	command -v docker-registry >/dev/null || { _reg_log "docker-registry is not installed"; return 1; }
	_reg_trap

	REGISTRY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/o2v-registry.XXXXXX") || return 1
	REGISTRY_DATA=$REGISTRY_DIR/data
	mkdir -p "$REGISTRY_DATA"
	if [ $tls = 1 ]; then
		_reg_cert "$REGISTRY_DIR" ca "" &&
			_reg_cert "$REGISTRY_DIR" server ca "IP:127.0.0.1,IP:127.0.0.2,DNS:localhost" ||
			{ _reg_log "openssl failed"; return 1; }
		REGISTRY_CA=$REGISTRY_DIR/ca.crt
		REGISTRY_CERT_DIR=$REGISTRY_DIR/certs.d
		mkdir -p "$REGISTRY_CERT_DIR"
		cp "$REGISTRY_CA" "$REGISTRY_CERT_DIR/ca.crt"
		curlopts=(--cacert "$REGISTRY_CA")
	fi
	if [ -n "$_REG_HTPASSWD" ]; then
		htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASS" >"$REGISTRY_DIR/htpasswd" 2>/dev/null ||
			{ _reg_log "htpasswd -B failed (apache2-utils)"; return 1; }
	fi
	if [ $token = 1 ]; then
		_reg_start_token "${token_opts[@]}" || return 1
	fi
	if [ $redirect = 1 ]; then
		_reg_start_blobserver || return 1
	fi
	local scheme=http
	[ $tls = 1 ] && scheme=https
	for try in 1 2 3 4 5; do
		port=$(free_port) || return 1
		_reg_write_config "$port"
		docker-registry serve "$REGISTRY_DIR/config.yml" >>"$REGISTRY_DIR/registry.log" 2>&1 &
		REGISTRY_PID=$!
		local i
		for ((i = 0; i < 200; i++)); do
			code=$(curl -s -o /dev/null -w '%{http_code}' "${curlopts[@]}" \
				"$scheme://127.0.0.1:$port/v2/" 2>/dev/null) || true
			case $code in 200 | 401) break ;; esac
			kill -0 "$REGISTRY_PID" 2>/dev/null || break
			sleep 0.05
		done
		case $code in 200 | 401)
			_REG_PIDS+=("$REGISTRY_PID")
			REGISTRY_HOST=127.0.0.1:$port
			REGISTRY_URL=$scheme://$REGISTRY_HOST
			export REGISTRY_HOST REGISTRY_URL REGISTRY_DIR REGISTRY_DATA REGISTRY_PID \
				REGISTRY_MODES REGISTRY_USER REGISTRY_PASS REGISTRY_CA REGISTRY_CERT_DIR
			return 0
			;;
		esac
		kill "$REGISTRY_PID" 2>/dev/null || true
		wait "$REGISTRY_PID" 2>/dev/null || true
		grep -q 'address already in use' "$REGISTRY_DIR/registry.log" || break
		_reg_log "port $port taken, retrying"
	done
	_reg_log "docker-registry did not come up; log: $(tail -5 "$REGISTRY_DIR/registry.log")"
	return 1
}

registry_stop() {
	local pid
	faultproxy_stop
	for pid in "${_REG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${_REG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	_REG_PIDS=()
	if [ -n "${REGISTRY_DIR:-}" ] && [ -d "$REGISTRY_DIR" ]; then
		if [ "${O2V_KEEP_REGISTRY:-0}" = 1 ]; then
			_reg_log "kept $REGISTRY_DIR"
		else
			rm -rf "$REGISTRY_DIR"
		fi
	fi
	REGISTRY_DIR= REGISTRY_DATA= REGISTRY_PID= REGISTRY_HOST= REGISTRY_URL= REGISTRY_MODES=
	REGISTRY_USER= REGISTRY_PASS= REGISTRY_CA= REGISTRY_CERT_DIR=
	REGISTRY_TOKEN_URL= REGISTRY_TOKEN_LOG= REGISTRY_TOKEN_PID=
	REGISTRY_BLOB_HOST= REGISTRY_BLOB_LOG= REGISTRY_BLOB_PID=
}

registry_skopeo_opts() { # src|dest|"" -> option prefix ("--src-", "--dest-", "--")
	local p=--${1:+$1-}
	if [ -n "${REGISTRY_CERT_DIR:-}" ]; then
		echo "${p}cert-dir=$REGISTRY_CERT_DIR"
	else
		echo "${p}tls-verify=false"
	fi
	[ -n "${REGISTRY_USER:-}" ] && echo "${p}creds=$REGISTRY_USER:$REGISTRY_PASS"
	return 0
}

registry_push() { # OCI_DIR:TAG NAME:TAG
	local opts src=oci:$1 dir= rc=0 mt
	mapfile -t opts < <(registry_skopeo_opts dest)
	# skopeo's oci: transport skips index.json entries with Docker media types: go via dir:
	mt=$(jq -r --arg t "${1##*:}" '.manifests[] |
		select(.annotations["org.opencontainers.image.ref.name"] == $t) | .mediaType' \
		"${1%:*}/index.json" 2>/dev/null) || true
	if [[ $mt == application/vnd.docker.* ]]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/o2v-push.XXXXXX") || return 1
		"$O2V_PYTHON" "$O2V_LIB/../../testdata/mkimage.py" --layout-to-dir "$1" "$dir" ||
			{ rm -rf "$dir"; return 1; }
		src=dir:$dir
	fi
	skopeo --insecure-policy copy -q --all --preserve-digests "${opts[@]}" \
		"$src" "docker://$REGISTRY_HOST/$2" || rc=$?
	[ -z "$dir" ] || rm -rf "$dir"
	return $rc
}

registry_fetch() { # NAME:TAG OCI_DIR:TAG
	local opts
	mapfile -t opts < <(registry_skopeo_opts src)
	skopeo --insecure-policy copy -q --all --preserve-digests "${opts[@]}" \
		"docker://$REGISTRY_HOST/$1" "oci:$2"
}

registry_inspect() { # REF [ARGS...]
	local opts ref=$1
	shift
	mapfile -t opts < <(registry_skopeo_opts "")
	skopeo --insecure-policy inspect "${opts[@]}" "$@" "docker://$REGISTRY_HOST/$ref"
}

registry_blob_path() { # sha256:HEX
	local hex=${1#sha256:}
	echo "$REGISTRY_DATA/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

faultproxy_rules() {
	[ -n "${FAULTPROXY_RULES:-}" ] || { _reg_log "no fault proxy running"; return 1; }
	printf '%s\n' "$@" >"$FAULTPROXY_RULES.tmp" && mv "$FAULTPROXY_RULES.tmp" "$FAULTPROXY_RULES"
}

faultproxy_start() {
	local d=$REGISTRY_DIR up=(--upstream "$REGISTRY_URL") port
	[ -n "${REGISTRY_CA:-}" ] && up+=(--upstream-ca "$REGISTRY_CA")
	FAULTPROXY_RULES=$d/faultproxy.rules
	FAULTPROXY_LOG=$d/faultproxy.log
	faultproxy_rules "$@"
	rm -f "$d/faultproxy.port"
	"$O2V_PYTHON" "$O2V_LIB/faultproxy.py" "${up[@]}" --rules "$FAULTPROXY_RULES" \
		--log "$FAULTPROXY_LOG" --port-file "$d/faultproxy.port" 2>>"$d/faultproxy.stderr" &
	FAULTPROXY_PID=$!
	port=$(o2v_wait_port_file "$d/faultproxy.port" "$FAULTPROXY_PID") || {
		_reg_log "fault proxy did not start: $(tail -5 "$d/faultproxy.stderr")"
		return 1
	}
	FAULTPROXY_HOST=127.0.0.1:$port
	FAULTPROXY_URL=http://$FAULTPROXY_HOST
	export FAULTPROXY_HOST FAULTPROXY_URL FAULTPROXY_LOG FAULTPROXY_RULES FAULTPROXY_PID
}

faultproxy_stop() {
	[ -n "${FAULTPROXY_PID:-}" ] || return 0
	kill "$FAULTPROXY_PID" 2>/dev/null || true
	wait "$FAULTPROXY_PID" 2>/dev/null || true
	FAULTPROXY_PID= FAULTPROXY_HOST= FAULTPROXY_URL=
}
