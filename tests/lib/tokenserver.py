#!/usr/bin/python3
"""tests/lib/tokenserver.py - a Docker token server for distribution 2.8's `token` auth.

Protocol (distribution docs/spec/auth/token.md): GET REALM?service=S&scope=T:NAME:ACTIONS (scope may
repeat; also `account=`), optional `Authorization: Basic`. Answers 200 with JSON
  {"token": JWT, "access_token": JWT, "expires_in": N, "issued_at": "RFC3339"}
or 401 {"errors": [...]} with `WWW-Authenticate: Basic realm="tokenserver"`.

The JWT is what registry 2.8 verifies (registry/auth/token/token.go): RS256, header `x5c` = [signing
cert (DER, base64)] chaining to the registry's `rootcertbundle`, plus `kid` = the libtrust key id of
the signing key; claims iss (--issuer), aud (--service, a string: 2.8 does not take a list), sub,
exp, nbf, iat, jti, access = the granted scopes. The registry allows 60 s clock leeway on exp/nbf.

Options:
  --key KEY.pem --cert CERT.pem   signing key and its certificate (registry.sh makes them)
  --issuer ISS --service SVC      must match the registry config
  --path /token                   the realm's path (default /token; other paths get 404)
  --user USER:PASS                valid credentials (repeatable); wrong credentials -> 401
  --anonymous-actions LIST        actions granted without credentials: comma list, or "none" for
                                  401 (default: everything asked if no --user, else "pull")
  --refuse-credentials            any request carrying credentials -> 401
  --access-token-only / --token-only   answer only that field
  --expires-in N                  the `expires_in` reported (default 300)
  --omit-expires-in / --omit-issued-at
  --jwt-lifetime N                JWT exp = now + N (default: --expires-in; negative is fine: the
                                  registry accepts a token until exp + 60 s)
  --bad-tokens N                  the first N tokens are signed with a throwaway key, so the
                                  registry answers 401 to them (tests "refresh once on 401")
  --log FILE                      one JSON line per request: n, path, query (raw), service,
                                  scopes (list),
                                  account, user (Basic user or null), status, granted (list of
                                  "type:name:actions"), token_n (sequence of the token issued)
Plus --addr/--port/--port-file/--tls-cert/--tls-key (tests/lib/httpcommon.py).
"""

import argparse
import base64
import datetime
import hashlib
import os
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpcommon  # noqa: E402

import jwt  # noqa: E402  (python3-jwt)
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402


def libtrust_kid(public_key):
    """distribution's key id: base32(sha256(DER SubjectPublicKeyInfo)[:30]) in groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def parse_scope(s):
    """type:name:actions where name may hold ':' (a registry port): split at first and last."""
    typ, _, rest = s.partition(":")
    name, _, actions = rest.rpartition(":")
    if not typ or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


class State:
    def __init__(self, a):
        self.a = a
        with open(a.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        with open(a.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.kid = libtrust_kid(cert.public_key())
        self.bad_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.users = dict(u.split(":", 1) for u in a.user)
        if a.anonymous_actions is None:
            self.anon = None if not self.users else {"pull"}
        elif a.anonymous_actions == "none":
            self.anon = set()
        else:
            self.anon = set(a.anonymous_actions.split(","))
        self.tokens = 0
        self.lock = threading.Lock()
        self.log = httpcommon.JsonLog(a.log)

    def issue(self, sub, access):
        with self.lock:
            self.tokens += 1
            n = self.tokens
        now = int(time.time())
        lifetime = self.a.jwt_lifetime if self.a.jwt_lifetime is not None else self.a.expires_in
        claims = {"iss": self.a.issuer, "sub": sub, "aud": self.a.service, "exp": now + lifetime,
                  "nbf": now - 1, "iat": now, "jti": str(uuid.uuid4()), "access": access}
        key = self.bad_key if n <= self.a.bad_tokens else self.key
        tok = jwt.encode(claims, key, algorithm="RS256",
                         headers={"kid": self.kid, "x5c": self.x5c})
        return n, tok, now


class TokenHandler(httpcommon.Handler):
    state = None

    def do_GET(self):
        st, a = self.state, self.state.a
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        rec = {"method": "GET", "path": u.path, "query": u.query,
               "service": (q.get("service") or [None])[0],
               "account": (q.get("account") or [None])[0], "scopes": scopes, "user": None}
        if u.path != a.path:
            rec["status"] = 404
            st.log.write(rec)
            return self.send_json(404, {"errors": [{"code": "NOT_FOUND"}]})
        user, authed = None, False
        auth = self.headers.get("Authorization", "")
        if auth:
            scheme, _, cred = auth.partition(" ")
            if scheme.lower() == "basic":
                try:
                    user, _, pw = base64.b64decode(cred).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    user, pw = "", None
                rec["user"] = user
                authed = st.users.get(user) == pw and not a.refuse_credentials
                if not authed:
                    return self.deny(rec, "invalid credentials")
            else:
                rec["user"] = scheme
                return self.deny(rec, "unsupported authorization scheme")
        allowed = None if authed or st.anon is None else st.anon
        if allowed is not None and not allowed:
            return self.deny(rec, "authentication required")
        access = []
        for s in scopes:
            p = parse_scope(s)
            if not p:
                continue
            acts = [x for x in p[2] if allowed is None or x in allowed]
            access.append({"type": p[0], "name": p[1], "actions": acts})
        n, tok, now = st.issue(user or "", access)
        body = {}
        if not a.access_token_only:
            body["token"] = tok
        if not a.token_only:
            body["access_token"] = tok
        if not a.omit_expires_in:
            body["expires_in"] = a.expires_in
        if not a.omit_issued_at:
            body["issued_at"] = datetime.datetime.fromtimestamp(
                now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        rec.update(status=200, token_n=n, bad=n <= a.bad_tokens,
                   granted=[f"{x['type']}:{x['name']}:{','.join(x['actions'])}" for x in access])
        st.log.write(rec)
        self.send_json(200, body)

    def deny(self, rec, why):
        rec.update(status=401, error=why)
        self.state.log.write(rec)
        self.send_json(401, {"errors": [{"code": "UNAUTHORIZED", "message": why}]},
                       {"WWW-Authenticate": 'Basic realm="tokenserver"'})


def main():
    ap = argparse.ArgumentParser(description="Docker token server for tests (see file header)")
    httpcommon.add_server_args(ap)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", default="o2v-test-issuer")
    ap.add_argument("--service", default="o2v-test-registry")
    ap.add_argument("--path", default="/token")
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--anonymous-actions")
    ap.add_argument("--refuse-credentials", action="store_true")
    ap.add_argument("--access-token-only", action="store_true")
    ap.add_argument("--token-only", action="store_true")
    ap.add_argument("--expires-in", type=int, default=300)
    ap.add_argument("--omit-expires-in", action="store_true")
    ap.add_argument("--omit-issued-at", action="store_true")
    ap.add_argument("--jwt-lifetime", type=int)
    ap.add_argument("--bad-tokens", type=int, default=0)
    a = ap.parse_args()
    TokenHandler.state = State(a)
    return httpcommon.serve(TokenHandler, a)


if __name__ == "__main__":
    sys.exit(main())
