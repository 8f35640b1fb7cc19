#!/usr/bin/env bash
# t_pull_auth.sh - authentication: htpasswd Basic (none / wrong / right credentials from
# ~/.docker/config.json), the bearer token flow against distribution's `token` auth (exact
# request sequence, token vs access_token, refresh once on a rejected token and no loop,
# credentials sent to the token server), and secrets never landing in the cache.
. "$(dirname "$0")/pullcommon.sh"

config_auth() { # USER PASS
	printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REGISTRY_HOST" \
		"$(printf '%s:%s' "$1" "$2" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
}

# ---- htpasswd ---------------------------------------------------------------------------
pull_setup htpasswd alice s3cret-pw
R=$REGISTRY_HOST
rm -f "$DOCKER_CONFIG/config.json"
o2v pull "$R/busybox:latest"
is "$rc" 1 "basic: no credentials: exit 1"
like "$errout" "authentication required for $R" "says authentication is required for the host"
config_auth alice wrong-pw
o2v pull "$R/busybox:latest"
is "$rc" 1 "basic: wrong password: exit 1"
like "$errout" "authentication failed for $R" "says authentication failed for HOST"
[[ $errout != *wrong-pw* ]]
ok $? "the password is not in the message"
config_auth alice s3cret-pw
o2v pull -q "$R/busybox:latest"
is "$rc" 0 "basic: right credentials" || diag "$errout"
is "$out" "$(layout_manifest_digest latest)" "digest"
! grep -rqa -e s3cret-pw -e "$(printf 'alice:s3cret-pw' | base64 -w0)" "$OCI2VM_CACHE"
ok $? "no credential in the cache"
registry_stop

# ---- bearer tokens -----------------------------------------------------------------------
pull_setup token --user pusher:push-pw --anonymous-actions pull
R=$REGISTRY_HOST
faultproxy_start || bail_out "faultproxy did not start"
P=$FAULTPROXY_HOST
: >"$REGISTRY_TOKEN_LOG"
o2v pull -q "$P/busybox:latest"
is "$rc" 0 "bearer: anonymous pull" || diag "$errout"
is "$(wc -l <"$REGISTRY_TOKEN_LOG")" 1 "one token request for the whole pull"
tok=$(head -1 "$REGISTRY_TOKEN_LOG")
like "$tok" '"service": "'"$REGISTRY_TOKEN_SERVICE"'"' "token request names the service"
like "$tok" '"scopes": \["repository:busybox:pull"\]' "and the pull scope"
like "$tok" '"user": null' "anonymously"
# exact sequence at the registry: 401 without auth, then everything with the bearer token
seq=$(jq -r '[.method, .path, (.authorization // "none"), (.status|tostring)] | join(" ")' \
	"$FAULTPROXY_LOG")
is "$(sed -n 1p <<<"$seq")" "GET /v2/busybox/manifests/latest none 401" \
	"1st request: manifest without credentials, 401"
is "$(sed -n 2p <<<"$seq")" "GET /v2/busybox/manifests/latest Bearer 200" \
	"2nd request: the same with the bearer token"
is "$(sed -n '3,$p' <<<"$seq" | grep -vc ' Bearer 200$')" 0 \
	"every later request carries the token and succeeds"
is "$(wc -l <<<"$seq")" 5 "5 requests: 2 for the manifest, config, 2 layers"

# access_token only, no expires_in / issued_at
registry_token_restart --anonymous-actions pull --access-token-only --omit-expires-in \
	--omit-issued-at
rm -rf "$OCI2VM_CACHE"
o2v pull -q "$R/busybox:docker"
is "$rc" 0 "bearer: response with access_token only, no expiry fields" || diag "$errout"

# a rejected token is refreshed once
registry_token_restart --anonymous-actions pull --bad-tokens 1
rm -rf "$OCI2VM_CACHE"
: >"$REGISTRY_TOKEN_LOG"
o2v pull -q "$R/busybox:latest"
is "$rc" 0 "bearer: a token the registry rejects is refreshed once" || diag "$errout"
is "$(wc -l <"$REGISTRY_TOKEN_LOG")" 2 "two token requests"

# ... and never in a loop
registry_token_restart --anonymous-actions pull --bad-tokens 100
rm -rf "$OCI2VM_CACHE"
: >"$REGISTRY_TOKEN_LOG"
o2v pull -q "$R/busybox:latest"
is "$rc" 1 "bearer: tokens always rejected: exit 1"
is "$(wc -l <"$REGISTRY_TOKEN_LOG")" 2 "gives up after one refresh (no loop)"
like "$errout" "$R" "the message names the registry"
is "$(find "$OCI2VM_CACHE/blobs" -type f 2>/dev/null | wc -l)" 0 "nothing cached"

# a private repository: credentials go to the token server
registry_token_restart --user bob:tok-pw --anonymous-actions none
rm -rf "$OCI2VM_CACHE" "$DOCKER_CONFIG/config.json"
o2v pull -q "$R/busybox:latest"
is "$rc" 1 "bearer: no credentials for a private repository: exit 1"
like "$errout" "authentication required for $R|access to '$R/busybox:latest' denied" \
	"says a login is needed"
config_auth bob not-it
o2v pull -q "$R/busybox:latest"
is "$rc" 1 "bearer: wrong credentials: exit 1"
like "$errout" "authentication failed for $R" "says authentication failed for HOST"
config_auth bob tok-pw
: >"$REGISTRY_TOKEN_LOG"
o2v pull -q "$R/busybox:latest"
is "$rc" 0 "bearer: right credentials" || diag "$errout"
like "$(head -1 "$REGISTRY_TOKEN_LOG")" '"user": "bob"' "the token request carried bob's credentials"
! grep -rqa -e tok-pw "$OCI2VM_CACHE"
ok $? "no credential in the cache"
done_testing
