#!/usr/bin/python3
"""tests/lib/blobserver.py - the "other host" that registry redirects send blob GETs to.

distribution 2.8's `redirect` storage middleware answers blob GET/HEAD with
`307 Location: BASEURL/<storage path>`, the storage path being the file under the registry's
filesystem root (docker/registry/v2/blobs/sha256/XX/HEX/data). This server serves --root so those
URLs work, with GET, HEAD and single `Range: bytes=A-B` requests (206 / 416).

Every request is logged as one JSON line to --log: n, method, path, range, authorization (the full
header value or null), cookie (or null), headers (all request headers), status. That is how a test
proves a client dropped its registry credentials on the cross-host redirect.
--require-no-auth answers 400 to a request carrying Authorization, like S3 ("only one auth
mechanism allowed").

  blobserver.py --root DIR [--addr 127.0.0.2] [--port 0] --port-file F --log F
                [--tls-cert C --tls-key K] [--require-no-auth]
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpcommon  # noqa: E402

CHUNK = 1 << 16


class BlobHandler(httpcommon.Handler):
    root = None
    log = None
    require_no_auth = False

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        rng = self.headers.get("Range")
        rec = {"method": self.command, "path": self.path, "range": rng,
               "authorization": self.headers.get("Authorization"),
               "cookie": self.headers.get("Cookie"), "headers": dict(self.headers.items())}
        path = os.path.realpath(os.path.join(self.root, self.path.split("?")[0].lstrip("/")))
        if self.require_no_auth and rec["authorization"]:
            return self.finish_json(rec, 400, "only one auth mechanism allowed")
        if not path.startswith(self.root + os.sep) or not os.path.isfile(path):
            return self.finish_json(rec, 404, "not found")
        size = os.path.getsize(path)
        start, end, status = 0, size - 1, 200
        if rng:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if not m or (m.group(1) == "" and m.group(2) == ""):
                return self.finish_json(rec, 416, "bad range")
            if m.group(1) == "":
                start = max(0, size - int(m.group(2)))
            else:
                start = int(m.group(1))
                if m.group(2):
                    end = min(end, int(m.group(2)))
            if start >= size or start > end:
                rec["status"] = 416
                self.log.write(rec)
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        rec["status"] = status
        self.log.write(rec)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                buf = f.read(min(CHUNK, left))
                if not buf:
                    break
                self.wfile.write(buf)
                left -= len(buf)

    def finish_json(self, rec, status, msg):
        rec["status"] = status
        self.log.write(rec)
        self.send_json(status, {"errors": [{"code": "BLOBSERVER", "message": msg}]})


def main():
    ap = argparse.ArgumentParser(description="serve registry storage for redirects (see header)")
    httpcommon.add_server_args(ap, addr="127.0.0.2")
    ap.add_argument("--root", required=True)
    ap.add_argument("--require-no-auth", action="store_true")
    a = ap.parse_args()
    BlobHandler.root = os.path.realpath(a.root)
    BlobHandler.log = httpcommon.JsonLog(a.log)
    BlobHandler.require_no_auth = a.require_no_auth
    return httpcommon.serve(BlobHandler, a)


if __name__ == "__main__":
    sys.exit(main())
