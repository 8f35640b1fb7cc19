#!/usr/bin/env bash
# t_pull_tls_redirect.sh - HTTPS with a test CA (trusted through certs.d/HOST/ca.crt, refused
# without it), and blob GETs redirected (307) to another host: the registry's Authorization
# header must not follow (libcurl drops it across hosts; we never set UNRESTRICTED_AUTH).
. "$(dirname "$0")/pullcommon.sh"

pull_setup tls redirect htpasswd carol c-pass
R=$REGISTRY_HOST
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R" "$(printf carol:c-pass | base64 -w0)" \
	>"$DOCKER_CONFIG/config.json"

export OCI2VM_CERTS_DIR=$tmp/certs.d
mkdir -p "$OCI2VM_CERTS_DIR"
o2v pull -q "$R/busybox:latest"
is "$rc" 1 "TLS: an unknown CA is refused"
like "$errout" "TLS|certificate" "the message is about TLS"
like "$errout" "certs.d/$R/ca.crt" "and says where to put the CA"

mkdir -p "$OCI2VM_CERTS_DIR/$R"
cp "$REGISTRY_CA" "$OCI2VM_CERTS_DIR/$R/ca.crt"
: >"$REGISTRY_BLOB_LOG"
o2v pull -q "$R/busybox:latest"
is "$rc" 0 "TLS with the CA from certs.d/HOST/ca.crt, basic auth, redirected blobs" ||
	diag "$errout"
is "$out" "$(layout_manifest_digest latest)" "digest"
n=$(wc -l <"$REGISTRY_BLOB_LOG")
[ "$n" -ge 3 ]
ok $? "blob GETs went to the other host ($n requests there)"
is "$(jq -r 'select(.authorization != null) | .path' "$REGISTRY_BLOB_LOG" | wc -l)" 0 \
	"no Authorization header reached the redirect target"
is "$(jq -r 'select(.cookie != null) | .path' "$REGISTRY_BLOB_LOG" | wc -l)" 0 "nor a cookie"
run_ok "skopeo reads what came through the redirect" \
	skopeo inspect "oci:$OCI2VM_CACHE:$R/busybox:latest"

# --insecure-registry: HTTPS without verification, only when the user asks
rm -rf "$OCI2VM_CACHE" "$OCI2VM_CERTS_DIR/$R"
o2v pull -q --insecure-registry "$R" "$R/busybox:docker"
is "$rc" 0 "--insecure-registry skips verification for that host" || diag "$errout"
done_testing
