"""tests/lib/httpcommon.py - what the test servers (tokenserver, blobserver, faultproxy) share.

  add_server_args(argparser)   --addr, --port (0 = free), --port-file, --log, --tls-cert, --tls-key
  serve(handler_class, args)   binds, writes the bound port to --port-file (atomically, so a reader
                               never sees a partial number), serves until SIGTERM/SIGINT
  JsonLog(path)                .write(dict) appends one JSON line with "n" (1-based sequence),
                               thread-safe, flushed at once so a test can read it right after its
                               client finished
  Handler                      BaseHTTPRequestHandler speaking HTTP/1.1 keep-alive, quiet, with
                               send_json(status, obj, headers) and read_body()

Only the Python standard library; run with /usr/bin/python3.
"""

import http.server
import json
import os
import signal
import ssl
import sys
import threading


def add_server_args(ap, addr="127.0.0.1"):
    ap.add_argument("--addr", default=addr)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--log", help="JSON-lines request log")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")


class JsonLog:
    def __init__(self, path):
        self.path = path
        self.n = 0
        self.lock = threading.Lock()

    def write(self, rec):
        with self.lock:
            self.n += 1
            rec = {"n": self.n, **rec}
            if self.path:
                with open(self.path, "a") as f:
                    f.write(json.dumps(rec, sort_keys=True) + "\n")
            return self.n


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "o2v-test"
    sys_version = ""

    def log_message(self, fmt, *args):  # the JSON log is the record; keep stderr quiet
        pass

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler_class, args):
    srv = _Server((args.addr, args.port), handler_class)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.rename(tmp, args.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()
    return 0


def die(msg):
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(2)
