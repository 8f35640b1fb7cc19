#!/usr/bin/python3
"""tests/lib/faultproxy.py - HTTP/1.1 reverse proxy that injects faults, for registry client tests.

  faultproxy.py --upstream http[s]://127.0.0.1:PORT [--upstream-ca CA.pem] [--rules FILE]
                [--rule 'RULE']... [--addr 127.0.0.1] [--port 0] --port-file F --log F

Forwards every request (any method, body passed through, `Host` kept as the client sent it so
the registry's absolute URLs point back at the proxy; `Range` passes through so resume works) to
--upstream, one upstream connection per request; keeps client connections alive. Redirects from
upstream are passed back untouched (the client follows them, not the proxy).

RULES, one per line (file re-read whenever it changes, counters restart; `#` comments):
  PATH_REGEX ACTION [OPTION...]          regex searched (re.search) in the request path+query
  ACTION:
    status=CODE       answer CODE with a registry-style JSON error, upstream not contacted
    reset=N           forward upstream headers, N body bytes, then a TCP RST (connection reset)
    truncate=N        upstream headers (true Content-Length), N body bytes, then close (FIN)
    corrupt=OFFSET    flip every bit of the body byte at OFFSET (length unchanged; the last byte
                      if the body is shorter)
    slow=BYTES_PER_S  throttle the body
    delay=SECONDS     wait before answering (headers included), then forward normally
    close             close the connection without any answer
    pass              forward untouched (use with skip/times to count requests)
  OPTION:
    times=N|inf       how many matching requests get the fault (default 1)
    skip=N            let the first N matching requests through first (default 0)
    method=GET        only this method (default any)
    retry_after=S     add `Retry-After: S` (with status=429/503)
    header=NAME:VALUE add a response header (repeatable)
The first rule that matches and still has budget wins. Example: the second blob GET fails once
with a reset after 1000 bytes:  `/blobs/sha256: reset=1000 skip=1 method=GET`

LOG (--log), one JSON line per request, written before the body is sent:
  n, method, path, range (or null), authorization (the scheme only: "Bearer", "Basic" or null),
  rule (the rule's line text or null), status (what the client got; null for `close`)
"""

import argparse
import http.client
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpcommon  # noqa: E402

CHUNK = 1 << 16
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "proxy-authorization", "proxy-authenticate"}
ACTIONS = ("status", "reset", "truncate", "corrupt", "slow", "delay", "close", "pass")


class Rule:
    def __init__(self, line):
        self.text = line
        words = line.split()
        self.regex = re.compile(words[0])
        self.action, self.arg = None, None
        self.times, self.skip, self.method = 1, 0, None
        self.headers = []
        for w in words[1:]:
            k, _, v = w.partition("=")
            if k in ACTIONS:
                self.action, self.arg = k, v
            elif k == "times":
                self.times = float("inf") if v == "inf" else int(v)
            elif k == "skip":
                self.skip = int(v)
            elif k == "method":
                self.method = v.upper()
            elif k == "retry_after":
                self.headers.append(("Retry-After", v))
            elif k == "header":
                name, _, val = v.partition(":")
                self.headers.append((name, val))
            else:
                raise ValueError(f"unknown rule word '{w}' in '{line}'")
        if self.action is None:
            raise ValueError(f"rule without an action: '{line}'")
        self.seen = 0
        self.fired = 0

    def take(self, method, path):
        """Called under the rules lock: does this rule fault this request?"""
        if self.method and self.method != method:
            return False
        if not self.regex.search(path):
            return False
        self.seen += 1
        if self.seen <= self.skip or self.fired >= self.times:
            return False
        self.fired += 1
        return True


class Rules:
    def __init__(self, path, cli):
        self.path, self.cli = path, cli
        self.stamp = None
        self.rules = [Rule(r) for r in cli]
        self.lock = threading.Lock()

    def _reload(self):
        if not self.path:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self.stamp:
            return
        self.stamp = stamp
        with open(self.path) as f:
            lines = [ln.strip() for ln in f]
        rules = [Rule(r) for r in self.cli] + [
            Rule(ln) for ln in lines if ln and not ln.startswith("#")]
        self.rules = rules

    def load(self):
        with self.lock:
            self._reload()

    def match(self, method, path):
        with self.lock:
            try:
                self._reload()
            except (ValueError, re.error) as e:  # keep the old rules; the test sees the log
                print(f"faultproxy: bad rules file: {e}", file=sys.stderr)
            for r in self.rules:
                if r.take(method, path):
                    return r
        return None


class ProxyHandler(httpcommon.Handler):
    upstream = None  # urllib SplitResult
    ssl_ctx = None
    rules = None
    log = None

    def do_GET(self):
        self.proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def record(self, rule, status):
        auth = self.headers.get("Authorization")
        self.log.write({"method": self.command, "path": self.path,
                        "range": self.headers.get("Range"),
                        "authorization": auth.split(" ", 1)[0] if auth else None,
                        "rule": rule.text if rule else None, "status": status})

    def proxy(self):
        body = self.read_body()
        rule = self.rules.match(self.command, self.path)
        act, arg = (rule.action, rule.arg) if rule else ("pass", None)
        if act == "close":
            self.record(rule, None)
            self.close_connection = True
            self.hard_close(reset=False)
            return
        if act == "status":
            code = int(arg)
            self.record(rule, code)
            errcode = "TOOMANYREQUESTS" if code == 429 else "UNKNOWN"
            return self.send_json(code, {"errors": [{"code": errcode,
                                                     "message": "injected by faultproxy"}]},
                                  dict(rule.headers))
        if act == "delay":
            time.sleep(float(arg))
        try:
            resp, conn = self.forward(body)
        except OSError as e:
            self.record(rule, 502)
            return self.send_json(502, {"errors": [{"code": "UNKNOWN",
                                                    "message": f"upstream: {e}"}]})
        try:
            self.relay(resp, rule, act, arg)
        finally:
            conn.close()

    def forward(self, body):
        u = self.upstream
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname, u.port, context=self.ssl_ctx,
                                               timeout=120)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP and k.lower() != "content-length":
                conn.putheader(k, v)
        if body or self.command in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        return conn.getresponse(), conn

    def relay(self, resp, rule, act, arg):
        length = resp.getheader("Content-Length")
        has_body = self.command != "HEAD" and resp.status not in (204, 304)
        chunked = has_body and length is None
        self.record(rule, resp.status)
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        for k, v in (rule.headers if rule else []):
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if resp.getheader("Connection", "").lower() == "close" or act in ("reset", "truncate"):
            self.close_connection = True
        self.end_headers()
        if not has_body:
            return
        sent, limit = 0, None
        if act in ("reset", "truncate"):
            limit = int(arg)
        corrupt_at = int(arg) if act == "corrupt" else None
        total = int(length) if length is not None else None
        bps = float(arg) if act == "slow" else None
        while True:
            want = CHUNK if bps is None else max(1, min(CHUNK, int(bps / 10)))
            buf = resp.read(want)
            if not buf:
                break
            if limit is not None and sent + len(buf) >= limit:
                self.write_body(buf[:limit - sent], chunked)
                self.wfile.flush()
                self.hard_close(reset=act == "reset")
                return
            if corrupt_at is not None:
                at = corrupt_at
                if total is not None and at >= total:
                    at = total - 1
                if sent <= at < sent + len(buf):
                    b = bytearray(buf)
                    b[at - sent] ^= 0xFF
                    buf = bytes(b)
            self.write_body(buf, chunked)
            sent += len(buf)
            if bps is not None:
                time.sleep(len(buf) / bps)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        if limit is not None:  # body shorter than the limit: still end the connection
            self.hard_close(reset=act == "reset")

    def write_body(self, buf, chunked):
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(buf), buf))
        else:
            self.wfile.write(buf)

    def hard_close(self, reset):
        self.close_connection = True
        try:
            self.wfile.flush()
            if reset:  # SO_LINGER 0: close() sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


def main():
    ap = argparse.ArgumentParser(description="fault-injecting reverse proxy (see file header)")
    httpcommon.add_server_args(ap)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--upstream-ca")
    ap.add_argument("--rules")
    ap.add_argument("--rule", action="append", default=[])
    a = ap.parse_args()
    ProxyHandler.upstream = urllib.parse.urlsplit(a.upstream)
    if ProxyHandler.upstream.scheme == "https":
        ProxyHandler.ssl_ctx = ssl.create_default_context(cafile=a.upstream_ca)
    try:
        ProxyHandler.rules = Rules(a.rules, a.rule)
        ProxyHandler.rules.load()  # a bad rule fails at start
    except (ValueError, re.error) as e:
        httpcommon.die(str(e))
    ProxyHandler.log = httpcommon.JsonLog(a.log)
    return httpcommon.serve(ProxyHandler, a)


if __name__ == "__main__":
    sys.exit(main())
