#!/usr/bin/env bash
# t_login.sh - `oci2vm login` / `logout` against Debian's docker-registry on 127.0.0.1:
# htpasswd (Basic) and distribution's token auth (Bearer, the tests/lib token server).
# Wrong credentials: "authentication failed for HOST", exit 1, config.json byte-identical.
# Right ones: stored as docker does (auths[HOST].auth, other keys and mode 0600 kept), a
# pull then works with them; logout removes them and the pull is refused again.
# (no `set -u`: tests/lib/registry.sh registry_push reads an unset local under it)
top=${O2V_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/registry.sh"
O2V=${O2V_BUILD:-$top/build}/oci2vm
PY=${O2V_PYTHON:-/usr/bin/python3}

[ -x "$O2V" ] || skip_all "oci2vm is not built ($O2V)"
command -v skopeo >/dev/null || skip_all "skopeo is not installed"
layout=$("$top/testdata/busybox-image.sh") || skip_all "testdata/busybox-image.sh failed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2v-login.XXXXXX")
cleanup() { registry_stop; rm -rf "$tmp"; }
trap cleanup EXIT
export HOME=$tmp/home DOCKER_CONFIG=$tmp/docker XDG_CONFIG_HOME=$tmp/xdg \
	XDG_RUNTIME_DIR=$tmp/run OCI2VM_CACHE=$tmp/cache OCI2VM_RETRY_BASE_MS=20
mkdir -p "$HOME" "$DOCKER_CONFIG" "$XDG_RUNTIME_DIR"
cfg=$DOCKER_CONFIG/config.json
USER_NAME=alice
PASSWORD='s3cr3t pass:word'

json_get() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$cfg" "$1"; }

login_suite() { # MODE-LABEL
	local label=$1 out rc auth
	printf '%s\n' '{' '	"auths": {' '		"other.example:5000": {"auth": "b3RoZXI6b3RoZXI="}' '	},' \
		'	"detachKeys": "ctrl-q",' '	"HttpHeaders": {"X-Test": "1"}' '}' >"$cfg"
	chmod 600 "$cfg"
	cp "$cfg" "$tmp/config.before"

	out=$("$O2V" pull -q "$REGISTRY_HOST/busybox:latest" 2>&1)
	is $? 1 "$label: pull without credentials is refused"

	out=$(printf '%s\n' "wrong" | "$O2V" login -u "$USER_NAME" --password-stdin "$REGISTRY_HOST" 2>&1)
	rc=$?
	is $rc 1 "$label: login with a wrong password exits 1"
	like "$out" "authentication failed for $REGISTRY_HOST" "$label: 'authentication failed for HOST'"
	cmp -s "$cfg" "$tmp/config.before"
	ok $? "$label: config.json is unchanged"

	out=$(printf '%s\n' "$PASSWORD" | "$O2V" login -u nobody --password-stdin "$REGISTRY_HOST" 2>&1)
	is $? 1 "$label: login with an unknown user exits 1"
	[[ $out != *"$PASSWORD"* ]]
	ok $? "$label: the password never appears in messages"

	out=$(printf '%s\n' "$PASSWORD" | "$O2V" login -u "$USER_NAME" --password-stdin "$REGISTRY_HOST" 2>&1)
	rc=$?
	is $rc 0 "$label: login with the right password"
	like "$out" "Login Succeeded" "$label: says so"
	auth=$(json_get "j['auths']['$REGISTRY_HOST']['auth']")
	is "$(printf '%s' "$auth" | base64 -d)" "$USER_NAME:$PASSWORD" \
		"$label: auths[HOST].auth = base64(user:password)"
	is "$(json_get "(j['detachKeys'], j['HttpHeaders'], sorted(j['auths']))")" \
		"('ctrl-q', {'X-Test': '1'}, ['$REGISTRY_HOST', 'other.example:5000'])" \
		"$label: every other key is kept"
	is "$(stat -c %a "$cfg")" 600 "$label: config.json stays 0600"

	out=$("$O2V" pull -q "$REGISTRY_HOST/busybox:latest" 2>&1)
	ok $? "$label: pull with the stored credentials"
	like "$(printf '%s\n' "$out" | tail -1)" "^sha256:[0-9a-f]{64}$" "$label: pull names the digest"

	out=$("$O2V" logout "$REGISTRY_HOST" 2>&1)
	ok $? "$label: logout"
	is "$(json_get "sorted(j['auths'])")" "['other.example:5000']" "$label: the entry is gone, others stay"
	rm -rf "$OCI2VM_CACHE"
	out=$("$O2V" pull -q "$REGISTRY_HOST/busybox:latest" 2>&1)
	is $? 1 "$label: pull is refused again after logout"
	out=$("$O2V" logout "$REGISTRY_HOST" 2>&1)
	ok $? "$label: logout again succeeds"
	like "$out" "not logged in" "$label: saying there was nothing to remove"
}

# --- htpasswd (Basic) ---
if registry_start htpasswd "$USER_NAME" "$PASSWORD"; then
	registry_push "$layout:latest" busybox:latest
	ok $? "push the test image (htpasswd registry)"
	login_suite htpasswd
	registry_stop
else
	skip "could not start an htpasswd registry" 20
fi

# --- token auth (Bearer) ---
if registry_start token --user "$USER_NAME:$PASSWORD" --anonymous-actions none; then
	registry_push "$layout:latest" busybox:latest
	ok $? "push the test image (token registry)"
	login_suite token
	registry_stop
else
	skip "could not start a token registry" 20
fi

# --- usage ---
out=$("$O2V" login -u x --password-stdin -p y 127.0.0.1:1 2>&1 </dev/null)
is $? 2 "--password and --password-stdin together are a usage error"
out=$("$O2V" login --password-stdin 127.0.0.1:1 2>&1 </dev/null)
is $? 2 "--password-stdin needs --username"
out=$("$O2V" login -u x 127.0.0.1:1 2>&1 </dev/null)
is $? 2 "no password and no terminal: usage error"
out=$("$O2V" login -u x -p y 'user@host' 2>&1 </dev/null)
is $? 2 "a malformed server is a usage error"
port=$(free_port)
out=$(printf 'pw\n' | "$O2V" login -u x --password-stdin "127.0.0.1:$port" 2>&1)
is $? 1 "a registry that is not there: exit 1"
like "$out" "127.0.0.1:$port" "naming it"

done_testing
