#!/usr/bin/python3
"""testdata/mkimage.py - build OCI image layouts without docker or root.

Output is a valid OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`) that skopeo
(`oci:DIR:TAG`), umoci and oci2vm read. Everything is reproducible: fixed mtimes (default 0 or
$SOURCE_DATE_EPOCH), gzip header mtime 0, sorted directory walks, sorted JSON keys. Adding a tag to
an existing layout keeps its other tags (a tag that exists is replaced).

Run it with Debian's interpreter (/usr/bin/python3): zstd needs python3-zstandard (else the `zstd`
CLI is used).

CLI, simple form (one image, one layer per --dir/--tar):
  mkimage.py --out DIR --tag TAG [--dir ROOTFS[:PREFIX]]... [--compression gzip|zstd|none]
             [--docker] [--platform linux/amd64[/VARIANT]] [--entrypoint JSON] [--cmd JSON]
             [--env K=V]... [--workdir DIR] [--user U] [--expose 8080/tcp]... [--label K=V]...
             [--owner UID:GID]       force the owner of --dir files (default: as on disk)
CLI, conversion (for skopeo, whose oci: transport skips Docker-typed entries):
  mkimage.py --layout-to-dir LAYOUT:TAG DIR      write TAG in skopeo's dir: format
CLI, spec form:
  mkimage.py --out DIR --spec SPEC.json
  SPEC = {"mtime": 0, "images": {TAG: IMAGE_OR_INDEX, ...}}
  IMAGE = {"mediatypes": "oci"|"docker", "platform": {"os": "linux", "architecture": "amd64",
           "variant": "v7"}, "config": {"Entrypoint": [...], "Cmd": [...], "Env": [...],
           "WorkingDir": "/", "User": "", "ExposedPorts": {"8080/tcp": {}}, "Labels": {}},
           "layers": [LAYER, ...]}
  INDEX = {"mediatypes": "oci"|"docker", "manifests": [IMAGE, ...], "attestations": true}
          (attestations: add one `unknown/unknown` attestation manifest per image, like buildx;
          OCI only)
  LAYER = {"compression": "gzip"|"zstd"|"none", "media_type": "override",
           "dir": "ROOTFS", "prefix": "", "owner": [uid, gid],   (a host tree, optional)
           "entries": [ENTRY, ...]}                              (added after the tree)
  ENTRY = {"type": "file"|"dir"|"symlink"|"hardlink"|"char"|"block"|"fifo"|"whiteout"|
                   "opaque"|"sparse",
           "path": "etc/x", "data": "utf-8 text" | "data_b64": "..." | "src": "HOSTFILE",
           "target": "for symlink/hardlink", "major": 1, "minor": 3, "mode": "0644",
           "uid": 0, "gid": 0, "mtime": 0, "xattrs": {"user.k": "v"},
           "size": N, "segments": [[offset, "data"], ...]}          (sparse)
  whiteout: path "a/b" writes "a/.wh.b"; opaque: path "dir" writes "dir/.wh..wh..opq".

Python API (import mkimage), used by the testdata scripts for what JSON cannot say:
  l = Layer(compression="gzip")          add_file/add_dir/add_symlink/add_hardlink/add_device/
                                          add_fifo/add_whiteout/add_opaque/add_sparse/add_tree/
                                          add_member(TarInfo, data)
  l.raw_tar = bytes                       use these tar bytes instead of the members
  l.blob_transform = fn(bytes) -> bytes   alter the compressed blob (bad gzip, skippable frames)
  l.diff_id = "sha256:..."                override the computed diff_id
  img = Image(layers, config={...}, platform={...}, mediatypes="oci")
  lay = Layout(DIR); lay.add(TAG, img) / lay.add(TAG, Index([img, ...], attestations=True))
  img = from_layout(DIR, TAG)             `FROM`: that image's layers and config, to extend
                                          (append to img.layers, edit img.config)
  desc = lay.add(...) returns the manifest/index descriptor (dict with "digest", "size")
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

OCI = {
    "manifest": "application/vnd.oci.image.manifest.v1+json",
    "index": "application/vnd.oci.image.index.v1+json",
    "config": "application/vnd.oci.image.config.v1+json",
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
DOCKER = {
    "manifest": "application/vnd.docker.distribution.manifest.v2+json",
    "index": "application/vnd.docker.distribution.manifest.list.v2+json",
    "config": "application/vnd.docker.container.image.v1+json",
    "none": "application/vnd.docker.image.rootfs.diff.tar",
    "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "zstd": "application/vnd.docker.image.rootfs.diff.tar.zstd",
}
MEDIATYPES = {"oci": OCI, "docker": DOCKER}
REF_NAME = "org.opencontainers.image.ref.name"


def default_mtime():
    return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def zstd_compress(data):
    try:
        import zstandard
    except ImportError:
        return subprocess.run(["zstd", "-q", "-3", "-c", "-T0", "--check"], input=data,
                              check=True, stdout=subprocess.PIPE).stdout
    # with a content checksum, as the zstd CLI writes by default
    return zstandard.ZstdCompressor(level=3, write_content_size=True,
                                    write_checksum=True).compress(data)


def compress(data, compression):
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstd_compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown compression '{compression}'")


def _mode(m, default):
    if m is None:
        return default
    return int(m, 8) if isinstance(m, str) else int(m)


class Layer:
    """One layer: tar members in the order added, compressed on build()."""

    def __init__(self, compression="gzip", mtime=None, media_type=None):
        self.compression = compression
        self.mtime = default_mtime() if mtime is None else mtime
        self.media_type = media_type
        self.members = []  # (TarInfo, bytes or None)
        self.raw_tar = None
        self.blob_transform = None
        self.diff_id = None
        self.pax_global = None  # dict -> a PAX global header first
        self._built = None

    def _info(self, path, type_, mode, uid, gid, mtime, xattrs):
        ti = tarfile.TarInfo(path)
        ti.type = type_
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = self.mtime if mtime is None else mtime
        if xattrs:
            for k, v in xattrs.items():
                if isinstance(v, bytes):
                    v = v.decode("utf-8", "surrogateescape")
                ti.pax_headers["SCHILY.xattr." + k] = v
        return ti

    def add_member(self, ti, data=None):
        if data is not None:
            ti.size = len(data)
        self.members.append((ti, data))
        return ti

    def add_file(self, path, data=b"", mode=0o644, uid=0, gid=0, mtime=None, xattrs=None):
        if isinstance(data, str):
            data = data.encode()
        return self.add_member(self._info(path, tarfile.REGTYPE, mode, uid, gid, mtime, xattrs),
                               data)

    def add_dir(self, path, mode=0o755, uid=0, gid=0, mtime=None, xattrs=None):
        return self.add_member(self._info(path, tarfile.DIRTYPE, mode, uid, gid, mtime, xattrs))

    def add_symlink(self, path, target, mode=0o777, uid=0, gid=0, mtime=None, xattrs=None):
        ti = self._info(path, tarfile.SYMTYPE, mode, uid, gid, mtime, xattrs)
        ti.linkname = target
        return self.add_member(ti)

    def add_hardlink(self, path, target, mode=0o644, uid=0, gid=0, mtime=None):
        ti = self._info(path, tarfile.LNKTYPE, mode, uid, gid, mtime, None)
        ti.linkname = target
        return self.add_member(ti)

    def add_device(self, path, kind, major, minor, mode=0o644, uid=0, gid=0, mtime=None,
                   xattrs=None):
        t = {"char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE}[kind]
        ti = self._info(path, t, mode, uid, gid, mtime, xattrs)
        ti.devmajor, ti.devminor = major, minor
        return self.add_member(ti)

    def add_fifo(self, path, mode=0o644, uid=0, gid=0, mtime=None):
        return self.add_member(self._info(path, tarfile.FIFOTYPE, mode, uid, gid, mtime, None))

    def add_whiteout(self, path, **kw):
        d, _, base = path.rstrip("/").rpartition("/")
        return self.add_file((d + "/" if d else "") + ".wh." + base, b"", mode=0o600, **kw)

    def add_opaque(self, dirpath, **kw):
        return self.add_file(dirpath.rstrip("/") + "/.wh..wh..opq", b"", mode=0o600, **kw)

    def add_sparse(self, path, size, segments, mode=0o644, uid=0, gid=0, mtime=None):
        """PAX sparse format 1.0 (GNU.sparse.major=1): a map block, then the data segments."""
        segments = [(off, d.encode() if isinstance(d, str) else d) for off, d in segments]
        m = f"{len(segments)}\n" + "".join(f"{off}\n{len(d)}\n" for off, d in segments)
        m = m.encode()
        m += b"\0" * (-len(m) % 512)
        d, _, base = path.rpartition("/")
        ti = self._info(f"{d + '/' if d else ''}GNUSparseFile.0/{base}", tarfile.REGTYPE, mode,
                        uid, gid, mtime, None)
        ti.pax_headers.update({"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                               "GNU.sparse.name": path, "GNU.sparse.realsize": str(size)})
        return self.add_member(ti, m + b"".join(d for _, d in segments))

    def add_tree(self, root, prefix="", owner=None, xattrs=True, overlay_upper=False):
        """Add a host directory tree (sorted; hardlinks kept; owner None = as on disk).
        overlay_upper: ROOT is an overlayfs upper dir; its whiteouts (char 0:0) and opaque
        dirs (trusted.overlay.opaque=y) become OCI `.wh.` entries, as docker does."""
        self._overlay = overlay_upper
        seen = {}
        root = os.path.abspath(root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in [None] + sorted(filenames + [d for d in dirnames
                                                    if os.path.islink(os.path.join(dirpath, d))]):
                full = dirpath if name is None else os.path.join(dirpath, name)
                rel = os.path.relpath(full, root)
                if rel == "." and not prefix:
                    continue
                arc = os.path.normpath(os.path.join(prefix, rel)) if rel != "." else prefix
                self._add_host_path(full, arc.lstrip("/"), owner, xattrs, seen)

    def _add_host_path(self, full, arc, owner, want_xattrs, seen):
        st = os.lstat(full)
        uid, gid = owner if owner is not None else (st.st_uid, st.st_gid)
        xa = {}
        if want_xattrs and not stat.S_ISLNK(st.st_mode):
            try:
                for k in os.listxattr(full, follow_symlinks=False):
                    if not k.startswith("security.selinux"):
                        xa[k] = os.getxattr(full, k, follow_symlinks=False)
            except OSError:
                pass
        mode = stat.S_IMODE(st.st_mode)
        if getattr(self, "_overlay", False):
            opaque = xa.pop("trusted.overlay.opaque", None) == b"y"
            for k in [k for k in xa if k.startswith("trusted.overlay.")]:
                del xa[k]
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                self.add_whiteout(arc)
                return
            if stat.S_ISDIR(st.st_mode) and opaque:
                self.add_dir(arc, mode, uid, gid, xattrs=xa)
                self.add_opaque(arc)
                return
        if stat.S_ISDIR(st.st_mode):
            self.add_dir(arc, mode, uid, gid, xattrs=xa)
        elif stat.S_ISLNK(st.st_mode):
            self.add_symlink(arc, os.readlink(full), 0o777, uid, gid)
        elif stat.S_ISREG(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in seen:
                self.add_hardlink(arc, seen[key], mode, uid, gid)
                return
            seen[key] = arc
            with open(full, "rb") as f:
                self.add_file(arc, f.read(), mode, uid, gid, xattrs=xa)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            self.add_device(arc, "char" if stat.S_ISCHR(st.st_mode) else "block",
                            os.major(st.st_rdev), os.minor(st.st_rdev), mode, uid, gid, xattrs=xa)
        elif stat.S_ISFIFO(st.st_mode):
            self.add_fifo(arc, mode, uid, gid)
        # sockets cannot be in a tar: skipped

    def tar_bytes(self):
        if self.raw_tar is not None:
            return self.raw_tar
        buf = io.BytesIO()
        kw = {"pax_headers": self.pax_global} if self.pax_global else {}
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT,
                          encoding="utf-8", errors="surrogateescape", **kw) as tf:
            for ti, data in self.members:
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()

    @classmethod
    def prebuilt(cls, blob, media_type, diff_id):
        """A layer that already exists as a blob (see from_layout)."""
        layer = cls(media_type=media_type)
        layer._built = (blob, diff_id)
        return layer

    def build(self, mediatypes="oci"):
        """Returns (blob bytes, media type, diff_id)."""
        if self._built is None:
            tar = self.tar_bytes()
            blob = compress(tar, self.compression)
            if self.blob_transform:
                blob = self.blob_transform(blob)
            self._built = (blob, self.diff_id or sha256_digest(tar))
        blob, diff_id = self._built
        mt = self.media_type or MEDIATYPES[mediatypes][self.compression]
        return blob, mt, diff_id


class Image:
    def __init__(self, layers, config=None, platform=None, mediatypes="oci", annotations=None,
                 created="1970-01-01T00:00:00Z", config_extra=None):
        self.layers = layers
        self.config = config or {}
        self.platform = dict(platform or {"os": "linux", "architecture": "amd64"})
        self.mediatypes = mediatypes
        self.annotations = annotations
        self.created = created
        self.config_extra = config_extra or {}


def from_layout(path, tag):
    """`FROM path:tag`: an Image with that image's layers and config, to extend."""
    def blob(digest):
        with open(os.path.join(path, "blobs", "sha256", digest[7:]), "rb") as f:
            return f.read()
    with open(os.path.join(path, "index.json")) as f:
        idx = json.load(f)
    desc = [m for m in idx["manifests"] if m.get("annotations", {}).get(REF_NAME) == tag]
    if not desc:
        raise SystemExit(f"mkimage: no tag '{tag}' in {path}")
    manifest = json.loads(blob(desc[0]["digest"]))
    if "layers" not in manifest:
        raise SystemExit(f"mkimage: {path}:{tag} is an index, not an image")
    cfg = json.loads(blob(manifest["config"]["digest"]))
    layers = [Layer.prebuilt(blob(d["digest"]), d["mediaType"], diff)
              for d, diff in zip(manifest["layers"], cfg["rootfs"]["diff_ids"])]
    platform = {k: cfg[k] for k in ("os", "architecture", "variant") if k in cfg}
    mediatypes = "docker" if "docker" in manifest.get("mediaType", "") else "oci"
    return Image(layers, dict(cfg.get("config") or {}), platform, mediatypes)


class Index:
    def __init__(self, images, mediatypes="oci", attestations=False):
        if attestations and mediatypes != "oci":
            raise ValueError("attestation manifests need an OCI index")
        self.images = images
        self.mediatypes = mediatypes
        self.attestations = attestations


class Layout:
    def __init__(self, path):
        self.path = path
        self.blobdir = os.path.join(path, "blobs", "sha256")
        os.makedirs(self.blobdir, exist_ok=True)
        idx = os.path.join(path, "index.json")
        if os.path.exists(idx):
            with open(idx) as f:
                self.index = json.load(f)
        else:
            self.index = {"schemaVersion": 2, "mediaType": OCI["index"], "manifests": []}

    def put_blob(self, data, media_type, extra=None):
        digest = sha256_digest(data)
        p = os.path.join(self.blobdir, digest[7:])
        if not os.path.exists(p):
            fd, tmp = tempfile.mkstemp(dir=self.blobdir)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.rename(tmp, p)
        desc = {"mediaType": media_type, "digest": digest, "size": len(data)}
        desc.update(extra or {})
        return desc

    def _put_image(self, img):
        mts = MEDIATYPES[img.mediatypes]
        layer_descs, diff_ids = [], []
        for layer in img.layers:
            blob, mt, diff_id = layer.build(img.mediatypes)
            layer_descs.append(self.put_blob(blob, mt))
            diff_ids.append(diff_id)
        cfg = {"created": img.created, "os": img.platform["os"],
               "architecture": img.platform["architecture"],
               "config": img.config,
               "rootfs": {"type": "layers", "diff_ids": diff_ids},
               "history": [{"created": img.created, "created_by": f"mkimage.py layer {i}"}
                           for i in range(len(img.layers))]}
        if "variant" in img.platform:
            cfg["variant"] = img.platform["variant"]
        cfg.update(img.config_extra)
        config_desc = self.put_blob(canonical_json(cfg), mts["config"])
        manifest = {"schemaVersion": 2, "mediaType": mts["manifest"], "config": config_desc,
                    "layers": layer_descs}
        if img.annotations:
            manifest["annotations"] = img.annotations
        return self.put_blob(canonical_json(manifest), mts["manifest"])

    def _put_attestation(self, subject_digest):
        statement = {"_type": "https://in-toto.io/Statement/v0.1",
                     "predicateType": "https://spdx.dev/Document",
                     "subject": [{"name": "mkimage", "digest": {"sha256": subject_digest[7:]}}],
                     "predicate": {"spdxVersion": "SPDX-2.3", "name": "mkimage test sbom"}}
        layer = self.put_blob(canonical_json(statement), "application/vnd.in-toto+json",
                              {"annotations": {"in-toto.io/predicate-type":
                                               "https://spdx.dev/Document"}})
        cfg = self.put_blob(canonical_json({"architecture": "unknown", "os": "unknown",
                                            "config": {}, "rootfs": {"type": "layers",
                                                                     "diff_ids": [layer["digest"]]}}),
                            OCI["config"])
        manifest = {"schemaVersion": 2, "mediaType": OCI["manifest"], "config": cfg,
                    "layers": [layer]}
        return self.put_blob(canonical_json(manifest), OCI["manifest"], {
            "platform": {"architecture": "unknown", "os": "unknown"},
            "annotations": {"vnd.docker.reference.digest": subject_digest,
                            "vnd.docker.reference.type": "attestation-manifest"}})

    def _put_index(self, index):
        mts = MEDIATYPES[index.mediatypes]
        entries, attest = [], []
        for img in index.images:
            if img.mediatypes != index.mediatypes:
                img.mediatypes = index.mediatypes
            d = self._put_image(img)
            d["platform"] = dict(img.platform)
            entries.append(d)
            if index.attestations:
                attest.append(self._put_attestation(d["digest"]))
        doc = {"schemaVersion": 2, "mediaType": mts["index"], "manifests": entries + attest}
        return self.put_blob(canonical_json(doc), mts["index"])

    def add(self, tag, what):
        desc = self._put_index(what) if isinstance(what, Index) else self._put_image(what)
        ref = dict(desc)
        ref["annotations"] = {REF_NAME: tag}
        self.index["manifests"] = [m for m in self.index["manifests"]
                                   if m.get("annotations", {}).get(REF_NAME) != tag] + [ref]
        self.write()
        return desc

    def write(self):
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        tmp = os.path.join(self.path, "index.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.index, f, indent=1, sort_keys=True)
            f.write("\n")
        os.rename(tmp, os.path.join(self.path, "index.json"))


def layout_to_dir(layout, tag, out):
    """Write TAG of an OCI layout in containers/image's `dir:` format (manifest.json, instance
    manifests as HEX.manifest.json, blobs named by hex). skopeo 1.9's `oci:` transport ignores
    index.json entries with Docker media types; its `dir:` transport takes any manifest."""
    with open(os.path.join(layout, "index.json")) as f:
        idx = json.load(f)
    desc = [m for m in idx["manifests"] if m.get("annotations", {}).get(REF_NAME) == tag]
    if not desc:
        raise SystemExit(f"mkimage: no tag '{tag}' in {layout}")
    os.makedirs(out, exist_ok=True)

    def blob(digest):
        return os.path.join(layout, "blobs", "sha256", digest[7:])

    def put_manifest(digest, name):
        shutil.copyfile(blob(digest), os.path.join(out, name))
        with open(blob(digest)) as f:
            m = json.load(f)
        for d in m.get("manifests", []):
            put_manifest(d["digest"], d["digest"][7:] + ".manifest.json")
        for d in ([m["config"]] if "config" in m else []) + m.get("layers", []):
            dst = os.path.join(out, d["digest"][7:])
            if not os.path.exists(dst):
                os.link(blob(d["digest"]), dst) if os.stat(blob(d["digest"])).st_dev == \
                    os.stat(out).st_dev else shutil.copyfile(blob(d["digest"]), dst)

    put_manifest(desc[0]["digest"], "manifest.json")
    with open(os.path.join(out, "version"), "w") as f:
        f.write("Directory Transport Version: 1.1\n")


# ---- spec form -------------------------------------------------------------------------------

def _entry_data(e):
    if "data_b64" in e:
        return base64.b64decode(e["data_b64"])
    if "src" in e:
        with open(e["src"], "rb") as f:
            return f.read()
    return e.get("data", "").encode()


def layer_from_spec(spec, mtime):
    layer = Layer(spec.get("compression", "gzip"), mtime, spec.get("media_type"))
    if "dir" in spec:
        owner = tuple(spec["owner"]) if "owner" in spec else None
        layer.add_tree(spec["dir"], spec.get("prefix", ""), owner)
    for e in spec.get("entries", []):
        t, p = e["type"], e["path"]
        own = {"uid": e.get("uid", 0), "gid": e.get("gid", 0), "mtime": e.get("mtime")}
        xa = {"xattrs": e.get("xattrs")}
        if t == "file":
            layer.add_file(p, _entry_data(e), _mode(e.get("mode"), 0o644), **own, **xa)
        elif t == "dir":
            layer.add_dir(p, _mode(e.get("mode"), 0o755), **own, **xa)
        elif t == "symlink":
            layer.add_symlink(p, e["target"], _mode(e.get("mode"), 0o777), **own, **xa)
        elif t == "hardlink":
            layer.add_hardlink(p, e["target"], _mode(e.get("mode"), 0o644), **own)
        elif t in ("char", "block"):
            layer.add_device(p, t, e["major"], e["minor"], _mode(e.get("mode"), 0o644), **own,
                             **xa)
        elif t == "fifo":
            layer.add_fifo(p, _mode(e.get("mode"), 0o644), **own)
        elif t == "whiteout":
            layer.add_whiteout(p)
        elif t == "opaque":
            layer.add_opaque(p)
        elif t == "sparse":
            layer.add_sparse(p, e["size"], e["segments"], _mode(e.get("mode"), 0o644), **own)
        else:
            raise ValueError(f"unknown entry type '{t}'")
    return layer


def image_from_spec(spec, mtime):
    return Image([layer_from_spec(ls, mtime) for ls in spec.get("layers", [])],
                 spec.get("config"), spec.get("platform"), spec.get("mediatypes", "oci"),
                 spec.get("annotations"))


def build_spec(out, spec):
    mtime = spec.get("mtime", default_mtime())
    layout = Layout(out)
    for tag, s in spec["images"].items():
        if "manifests" in s:
            what = Index([image_from_spec(m, mtime) for m in s["manifests"]],
                         s.get("mediatypes", "oci"), s.get("attestations", False))
        else:
            what = image_from_spec(s, mtime)
        layout.add(tag, what)


def parse_platform(s):
    parts = s.split("/")
    p = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        p["variant"] = parts[2]
    return p


def main(argv=None):
    ap = argparse.ArgumentParser(description="build an OCI image layout (see the file header)")
    ap.add_argument("--out", help="the OCI layout to write (created or extended)")
    ap.add_argument("--layout-to-dir", nargs=2, metavar=("LAYOUT:TAG", "DIR"),
                    help="convert a tag to skopeo's dir: format instead of building")
    ap.add_argument("--spec")
    ap.add_argument("--tag", default="latest")
    ap.add_argument("--dir", action="append", default=[], help="ROOTFS[:PREFIX], one layer each")
    ap.add_argument("--tar", action="append", default=[], help="an existing tar as one layer")
    ap.add_argument("--compression", default="gzip", choices=["gzip", "zstd", "none"])
    ap.add_argument("--docker", action="store_true", help="Docker schema2 media types")
    ap.add_argument("--platform", default="linux/amd64")
    ap.add_argument("--owner")
    ap.add_argument("--entrypoint")
    ap.add_argument("--cmd")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--workdir")
    ap.add_argument("--user")
    ap.add_argument("--expose", action="append", default=[])
    ap.add_argument("--label", action="append", default=[])
    a = ap.parse_args(argv)
    if a.layout_to_dir:
        src, _, tag = a.layout_to_dir[0].rpartition(":")
        layout_to_dir(src, tag, a.layout_to_dir[1])
        return 0
    if not a.out:
        ap.error("--out is required")
    if a.spec:
        with open(a.spec) as f:
            build_spec(a.out, json.load(f))
        return 0
    owner = tuple(int(x) for x in a.owner.split(":")) if a.owner else None
    layers = []
    for d in a.dir:
        src, _, prefix = d.partition(":")
        layer = Layer(a.compression)
        layer.add_tree(src, prefix, owner)
        layers.append(layer)
    for t in a.tar:
        layer = Layer(a.compression)
        with open(t, "rb") as f:
            layer.raw_tar = f.read()
        layers.append(layer)
    cfg = {}
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    if a.env:
        cfg["Env"] = a.env
    if a.workdir:
        cfg["WorkingDir"] = a.workdir
    if a.user:
        cfg["User"] = a.user
    if a.expose:
        cfg["ExposedPorts"] = {p: {} for p in a.expose}
    if a.label:
        cfg["Labels"] = dict(kv.split("=", 1) for kv in a.label)
    img = Image(layers, cfg, parse_platform(a.platform), "docker" if a.docker else "oci")
    desc = Layout(a.out).add(a.tag, img)
    print(desc["digest"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
