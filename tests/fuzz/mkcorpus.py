#!/usr/bin/python3
"""tests/fuzz/mkcorpus.py - (re)write the seed corpora tests/fuzz/corpus/NAME/.

  tests/fuzz/mkcorpus.py            write every seed (existing files of the same name are
                                    replaced, others are left alone)

Each seed is a valid (or instructively invalid) example taken from the C unit tests
(tests/unit/test_*.c), encoded the way its harness reads its input (see the comment at the
top of tests/fuzz/fuzz_NAME.c). Layers and archives are built here with tarfile/gzip so
that their digests are right. Keep the whole corpus small (a few KiB per seed).
"""

import gzip
import hashlib
import io
import json
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def b(x):
    return x.encode() if isinstance(x, str) else x


def write(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(b(data))


def sha(data):
    return hashlib.sha256(b(data)).hexdigest()


def dg(c):
    return "sha256:" + c * 64


DA, DB, DC = dg("a"), dg("b"), dg("c")


# ---- reference: the text itself ----
def reference():
    refs = [
        "ubuntu", "ubuntu:22.04", "docker.io/ubuntu", "index.docker.io/ubuntu", "myuser/app",
        "localhost:5000/app", "127.0.0.1:5000/app:v1", "[::1]:5000/app",
        "[fc00::1]:5000/docker", "192.168.0.1:8/debian", "Docker/docker",
        "docker://redis:7", "redis:7@" + dg("f"), "redis@" + dg("f"),
        "a/b__c/d-e.f/g--h:tag_1.2-x", "oci:/tmp/layout:latest", "oci-archive:img.tar",
        "docker-archive:/tmp/x.tar:redis:7", "UPPER", "a" * 64, "x:" + "t" * 129,
        "redis@sha256:abc", "reg.example/a//b",
    ]
    for i, r in enumerate(refs):
        write("reference", "ref%02d" % i, r)


# ---- manifest: content-type byte, platform, 0xff, body ----
def manifest():
    oci_manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": DA, "size": 10},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": DB,
                    "size": 20},
                   {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": DC,
                    "size": 0}]}, separators=(",", ":"))

    def plat(os_, arch, variant=None):
        p = {"os": os_, "architecture": arch}
        if variant:
            p["variant"] = variant
        return p
    entries = [
        ("application/vnd.oci.descriptor.v1+json", DA, 1, plat("linux", "amd64")),
        (MT_OCI_MANIFEST, DB, 2, plat("unknown", "unknown")),
        (MT_OCI_MANIFEST, DC, 3, plat("linux", "arm64", "v8")),
        (MT_OCI_MANIFEST, DA, 4, plat("linux", "amd64")),
        (MT_OCI_MANIFEST, DB, 5, plat("linux", "amd64")),
        (MT_OCI_MANIFEST, DB, 6, plat("linux", "arm", "v6")),
        (MT_DOCKER_MANIFEST, DC, 7, plat("linux", "amd64", "v3")),
        (MT_OCI_INDEX, DA, 8, plat("linux", "x86_64", "v2")),
    ]
    index = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": m, "digest": d, "size": s, "platform": p} for m, d, s, p in entries]},
        separators=(",", ":"))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {
            "Entrypoint": ["/e", "x"], "Cmd": None, "Env": ["A=1", "B=2"], "WorkingDir": "/w",
            "User": "1000:1000", "ExposedPorts": {"6379/tcp": {}, "53/udp": {}},
            "StopSignal": "SIGQUIT"},
        "rootfs": {"type": "layers", "diff_ids": [DA, DB]}}, separators=(",", ":"))
    seeds = [
        (1, "linux/amd64", oci_manifest),
        (0, "linux/arm64/v8", index),
        (2, "linux/arm/v7", index),
        (4, "amd64", index.replace(MT_OCI_INDEX, MT_DOCKER_LIST)),
        (3, "linux/386", oci_manifest.replace(MT_OCI_MANIFEST, MT_DOCKER_MANIFEST)),
        (0, "windows/amd64", config),
        (6, "linux/amd64", '{"schemaVersion":1,"name":"x","fsLayers":[]}'),
        (0, "linux/amd64", '{"schemaVersion":2,"manifests":[],"layers":[]}'),
        (0x80, "darwin/arm64", MT_OCI_INDEX + "; charset=utf-8\n" + index),
    ]
    for i, (ct, p, body) in enumerate(seeds):
        write("manifest", "seed%02d" % i, bytes([ct]) + b(p) + b"\xff" + b(body))


# ---- auth: mode byte, parameter byte, value ----
def auth():
    challenges = [
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"',
        "bearer REALM=https://r.example/t , Service = svc",
        'Bearer realm="a\\"b\\\\c",error="insufficient_scope"',
        'Basic realm="Registry Realm", Bearer realm="https://x/t",service="s"',
        "Negotiate, Basic realm=x",
        'Newauth abc123==, Basic realm="r"',
    ]
    for i, c in enumerate(challenges):
        write("auth", "challenge%d" % i, bytes([0, 8]) + b(c))
    tokens = [
        '{"token":"abc"}',
        '{"access_token":"acc","token":"tok","expires_in":300}',
        '{"access_token":"x","expires_in":120,"issued_at":"2026-11-21T11:36:10Z"}',
        '{"token":"x","issued_at":"2026-11-21T12:36:10.123+01:00","expires_in":0}',
        '{"token":"a\\r\\nX: y"}',
    ]
    for i, t in enumerate(tokens):
        write("auth", "token%d" % i, bytes([1, 0]) + b(t))
    realms = [
        (0, "https://auth.docker.io/token\nregistry-1.docker.io"),
        (0, "https://169.254.169.254/latest\nreg.example"),
        (0, "https://[::ffff:10.0.0.1]/t\nreg.example"),
        (1, "http://127.0.0.1:5001/t\n127.0.0.1:5000"),
        (0, "https://10.1.2.3/t\n10.1.2.3"),
    ]
    for i, (plain, r) in enumerate(realms):
        write("auth", "realm%d" % i, bytes([2, plain]) + b(r))
    misc = ["3", "Sat, 21 Nov 2026 11:36:15 GMT", "99999",
            '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required",'
            '"detail":null}]}']
    for i, m in enumerate(misc):
        write("auth", "misc%d" % i, bytes([3, 0]) + b(m))


# ---- credentials: flags, domain, repo, user, pass, helper out, podman, docker, status ----
def credentials():
    def seed(flags, domain, repo, user, pw, helper, podman, docker, status=0):
        return (bytes([flags]) + b("\n".join([domain, repo, user, pw]) + "\n") + b(helper) +
                b"\xff" + b(podman) + b"\xff" + b(docker) + bytes([status]))
    hub = "https://index.docker.io/v1/"
    auth = "dXNlcjpwYXNz"  # user:pass
    docker = json.dumps({"auths": {hub: {"auth": auth},
                                   "127.0.0.1:5000": {"username": "a", "password": "b"},
                                   "https://reg.example:5000/v1/": {"identitytoken": "tok"},
                                   "tok.example": {"registrytoken": "jwt.jwt.jwt"}}})
    helpers = json.dumps({"auths": {}, "credHelpers": {"reg.example": "pass"},
                          "credsStore": "desktop"})
    podman = json.dumps({"auths": {"docker.io/library": {"auth": auth},
                                   "quay.io": {"auth": "Ym9iOnNlY3JldA=="}}})
    seeds = [
        seed(0x00, "docker.io", "library/redis", "", "", "", "", docker),
        seed(0x02, "docker.io", "library/redis", "", "", "", podman, "{}"),
        seed(0x00, "127.0.0.1:5000", "app", "", "", "", "", docker),
        seed(0x00, "reg.example:5000", "", "", "", "", "", docker),
        seed(0x00, "reg.example", "a/b", "", "", '{"Username":"u","Secret":"s"}', "", helpers),
        seed(0x00, "reg.example", "a/b", "", "", '{"Username":"<token>","Secret":"rt"}', "",
             helpers),
        seed(0x00, "other.example", "", "", "", "credentials not found in native keychain\n",
             "", helpers, 3),
        seed(0x04, "docker.io", "", "alice", "s3cret:with:colons", "", "", docker),
        seed(0x0c, "https://Index.Docker.io/v1/", "", "bob", "pw", "", "", "{}"),
        seed(0x14, "reg.example", "", "u", "p", "", "", helpers),
        seed(0x10, "docker.io", "", "", "", "", "", docker),
        seed(0x00, "docker.io", "", "", "", "", "", '{"auths":{"docker.io":{"auth":"OnBhc3M="}}}'),
        seed(0x00, "docker.io", "", "", "", "", "", ""),
    ]
    for i, s in enumerate(seeds):
        write("credentials", "seed%02d" % i, s)


# ---- runconfig: the file ----
def runconfig():
    full = ("oci2vm-runconfig 1\narg /bin/sh\narg -c\narg echo\\x20hi\\n\\t\\\\\\r\\x7f\xc3\xa9\n"
            "env PATH=/bin\nenv A=b c\nworkdir /\nuser 1000:1000\nhostname web\nnetwork 1\n"
            "dns 1.1.1.1\nhost 10.0.0.1 db db.local\nvolume o2v_v0 ro /data\\x20dir\n"
            "volume o2v_v1 rw /x\nterminal 1\nstdin 1\nwinsize 24 80\nstop_grace 10\n"
            "verbose 0\nshell 0\nrootdisk /dev/vda\nephemeral 1\nhold 1\nend\n")
    seeds = [
        full,
        "oci2vm-runconfig 1\narg true\nend\n",
        "oci2vm-runconfig 1\nshell 1\nend\n",
        "oci2vm-runconfig 2\narg x\nend\n",
        "oci2vm-runconfig 1\narg x\nen",
        "oci2vm-runconfig 1\narg a\\x4\nend\n",
        "oci2vm-runconfig 1\narg x\nuser a\nuser b\nend\n",
        "oci2vm-runconfig 1\narg x\nwinsize 0 0\nworkdir \nend\n",
    ]
    for i, s in enumerate(seeds):
        write("runconfig", "seed%02d" % i, s)


# ---- envfile: flags byte, the file ----
def envfile():
    seeds = [
        (0, "A=1\nB=two words\n"),
        (2, "# c\n\n   \n  # indented comment\nA=1\n   A= spaced \nHOME\nMULTI\nUNSET\n"),
        (3, "\xef\xbb\xbfA=\xc3\xa9\r\nB=x\r\r\nC==\n"),
        (12, "PATH=/usr/bin\nA=1\nA=2\nHOSTNAME=x\nTERM=vt100\n"),
        (0, "BAD NAME=1\n"),
        (0, "=x\n"),
        (0, "A=\xff\n"),
    ]
    for i, (f, s) in enumerate(seeds):
        write("envfile", "seed%02d" % i, bytes([f]) + b(s))


# ---- vmproto: max byte, chunk seed byte, the stream ----
def vmproto():
    seeds = [
        (0, 5, "held\nstarted\nexit 0\n"),
        (0, 3, "error cannot exec '/bin/x': not found\nexit 127\n"),
        (0, 1, "stop\nsignal 15\nsignal 010\nwinsize 24 80\neof 9223372036854775807\nstart\n"),
        (40, 7, "error " + "x" * 600 + "\nexit 255\nerror \x1b[31mred\x7f\n"),
        (0, 0, "signal 65\nwinsize 65536 1\neof 9223372036854775808\nstop\0junk\nexit 256\n"),
    ]
    for i, (m, c, s) in enumerate(seeds):
        write("vmproto", "seed%02d" % i, bytes([m, c]) + b(s))


# ---- layer ----
def small_tar(entries, fmt=tarfile.PAX_FORMAT):
    """A tar of (name, type, data, link, mode) without tarfile's 10 KiB record padding."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=fmt) as tf:
        for name, typ, data, link, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.linkname, ti.mode, ti.mtime = typ, len(data), link, mode, 1700000000
            tf.addfile(ti, io.BytesIO(data) if data else None)
    # tarfile wrote the entries, then two zero blocks, then padding to 10 KiB
    raw = bio.getvalue()
    end = len(raw)
    while end > 0 and raw[end - 512:end] == b"\0" * 512:
        end -= 512
    return raw[:end] + b"\0" * 1024


def layer():
    def ent(op, perm, owner, name, data=b"", extra=b""):
        return bytes([op]) + struct.pack(">H", perm) + bytes([owner]) + b(name) + b"\0" + b(data) + b"\0" + b(extra)
    s = bytes([0x00, 0x00])
    s += ent(1, 0o755, 0, "etc")
    s += ent(0, 0o644, 0, "etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    s += ent(2, 0o777, 0, "bin", "usr/bin")
    s += ent(1, 0o755, 0, "usr/bin")
    s += ent(0 | 8, 0o755, 0, "usr/bin/sh", "#!", b"user.test\0value")
    s += ent(3, 0o755, 0, "usr/bin/ash", "usr/bin/sh")
    s += ent(4, 0o600, 0, "dev/console", "", bytes([5, 1]))
    s += ent(5, 0o644, 0x11, "run/fifo")
    s += bytes([6, 0x04])  # next layer: pax + gzip
    s += ent(0, 0o644, 0, "etc/.wh.passwd")
    s += ent(0, 0o644, 0, "usr/bin/.wh..wh..opq")
    s += ent(0, 0o644, 0, "usr/bin/new", "x")
    s += ent(0, 0o644, 0, "bin/viasymlink", "y")
    s += bytes([6, 0x01])  # next layer: GNU tar
    s += ent(0 | 0x10, 0o4755, 0x80, "a/" + "b" * 120 + "/long", "z", bytes([0xff, 3]))
    s += ent(2, 0o777, 0, "abs", "/etc/../usr/./bin")
    s += ent(0, 0o644, 0, "abs/through-absolute", "q")
    write("layer", "structured", s)

    R, D, S, H = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    raw = small_tar([
        ("etc", D, b"", "", 0o755),
        ("etc/hosts", R, b"127.0.0.1 localhost\n", "", 0o644),
        ("lib", S, b"", "/usr/lib", 0o777),
        ("usr/lib/libc.so", R, b"\x7fELF", "", 0o755),
        ("usr/lib/libc2.so", H, b"", "usr/lib/libc.so", 0o755),
        (".wh.old", R, b"", "", 0o644),
        ("var/.wh..wh..opq", R, b"", "", 0o644),
        (".wh..wh.plnk/123", R, b"p", "", 0o644),
        ("x", H, b"", ".wh..wh.plnk/123", 0o644),
    ])
    write("layer", "raw-tar", b"\x01" + raw)
    write("layer", "raw-targz", b"\x03" + gzip.compress(raw, mtime=0))
    gnu = small_tar([("d/" + "n" * 150, R, b"long name", "", 0o644),
                     ("l", S, b"", "t" * 150, 0o777)], fmt=tarfile.GNU_FORMAT)
    write("layer", "raw-gnu", b"\x11" + gnu)
    write("layer", "raw-empty", b"\x01")


# ---- local ----
def local():
    def ent(op, name, data=b""):
        return bytes([op]) + b(name) + b"\0" + len(b(data)).to_bytes(3, "big") + b(data)
    R = tarfile.REGTYPE
    L1 = small_tar([("etc/hostname", R, b"x\n", "", 0o644)], fmt=tarfile.USTAR_FORMAT)
    L2 = small_tar([("bin/sh", R, b"#!", "", 0o755)], fmt=tarfile.USTAR_FORMAT)
    L2gz = gzip.compress(L2, mtime=0)
    cfg = b(json.dumps({"architecture": "amd64", "os": "linux",
                        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                        "rootfs": {"type": "layers",
                                   "diff_ids": ["sha256:" + sha(L1), "sha256:" + sha(L2)]}}))
    man = json.dumps([{"Config": sha(cfg) + ".json", "RepoTags": ["redis:7"],
                       "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}])
    write("local", "docker-save",
          bytes([0x05]) + ent(0, "manifest.json", man) + ent(0, sha(cfg) + ".json", cfg) +
          ent(2, "aaa") + ent(0, "aaa/layer.tar", L1) + ent(0, "bbb/layer.tar", L2) +
          ent(0, ".tag", "redis:7"))
    man2 = json.dumps([{"Config": sha(cfg) + ".json",
                        "RepoTags": ["docker.io/library/redis:7", "x:1"],
                        "Layers": ["aaa/layer.tar", sha(L2gz) + ".tar"]}])
    write("local", "skopeo-symlinks",
          bytes([0x01]) + ent(0, "./manifest.json", man2) + ent(0, sha(cfg) + ".json", cfg) +
          ent(0, sha(L1) + ".tar", L1) + ent(1, "aaa/layer.tar", "../" + sha(L1) + ".tar") +
          ent(0, sha(L2gz) + ".tar", L2gz) + ent(0, ".tag", "x:1"))
    man3 = json.dumps([{"Config": "blobs/sha256/" + sha(cfg), "RepoTags": None,
                        "Layers": ["blobs/sha256/" + sha(L1), "blobs/sha256/" + sha(L2)]}])
    write("local", "docker25-blobs",
          bytes([0x05]) + ent(0, "manifest.json", man3) + ent(0, "blobs/sha256/" + sha(cfg), cfg) +
          ent(0, "blobs/sha256/" + sha(L1), L1) + ent(0, "blobs/sha256/" + sha(L2), L2))
    om = b(json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                       "config": {"mediaType": MT_OCI_CONFIG, "digest": "sha256:" + sha(cfg),
                                  "size": len(cfg)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                   "digest": "sha256:" + sha(L1), "size": len(L1)},
                                  {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": "sha256:" + sha(L2gz), "size": len(L2gz)}]}))
    d_om = {"mediaType": MT_OCI_MANIFEST, "digest": "sha256:" + sha(om), "size": len(om),
            "platform": {"os": "linux", "architecture": "amd64"}}
    oi = b(json.dumps({"schemaVersion": 2, "manifests": [
        d_om, dict(d_om, platform={"os": "linux", "architecture": "arm64"})]}))
    idx = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": MT_OCI_INDEX, "digest": "sha256:" + sha(oi), "size": len(oi),
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]})
    write("local", "oci-archive",
          bytes([0x07]) + ent(0, "oci-layout", '{"imageLayoutVersion": "1.0.0"}') +
          ent(0, "index.json", idx) + ent(0, "blobs/sha256/" + sha(oi), oi) +
          ent(0, "blobs/sha256/" + sha(om), om) + ent(0, "blobs/sha256/" + sha(cfg), cfg) +
          ent(0, "blobs/sha256/" + sha(L1), L1) + ent(0, "blobs/sha256/" + sha(L2gz), L2gz) +
          ent(0, ".tag", "latest"))
    links = (b"aaa/layer.tar\0../" + b(sha(L1)) + b".tar\0./x/../y\0/abs/../../z\0"
             b"loop/a\0loop/b\0loop/b\0loop/a\0")
    write("local", "parsers", bytes([0x00]) + b"redis:7\n" + links + b"\xff" + b(man2))
    write("local", "parsers-index", bytes([0x00]) + b"latest\n\xff" + b(idx))


if __name__ == "__main__":
    for f in (reference, manifest, auth, credentials, runconfig, envfile, vmproto, layer, local):
        f()
