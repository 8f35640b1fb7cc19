"""tests/rootfs/imagecheck.py - read back what oci2vm built, without root.

  read_cpio(path)            -> {"/path": Obj}   parses newc (plain or gzip) itself
  read_ext4(path, paths)     -> {"/path": Obj}   one `debugfs -f` run for all paths

Obj fields: type (file, dir, symlink, char, block, fifo, socket), mode (permission bits incl.
setuid/setgid/sticky, int), uid, gid, size, nlink, ino, mtime, rdev ("maj:min"), target,
sha256 (files), xattrs (set of names; ext4 only). The expectations these are compared with are
testdata/edge-layers.py's expected.json (t_edge_layers.py) or umoci's tree (t_umoci_diff.py).
"""
import gzip
import hashlib
import os
import re
import subprocess
import tempfile

TYPES = {0o100000: "file", 0o040000: "dir", 0o120000: "symlink", 0o020000: "char",
         0o060000: "block", 0o010000: "fifo", 0o140000: "socket"}


class Obj(dict):
    __getattr__ = dict.get


def read_cpio(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    objs, pos, by_ino = {}, 0, {}
    while True:
        hdr = data[pos:pos + 110]
        if hdr[:6] not in (b"070701", b"070702"):
            raise ValueError(f"bad cpio magic at {pos}: {hdr[:6]!r}")
        f = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        ino, mode, uid, gid, nlink, mtime, size, _, _, rmaj, rmin, namesize, _ = f
        name = data[pos + 110:pos + 110 + namesize - 1].decode("utf-8", "surrogateescape")
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos:pos + size]
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            break
        o = Obj(type=TYPES[mode & 0o170000], mode=mode & 0o7777, uid=uid, gid=gid, nlink=nlink,
                ino=ino, mtime=mtime, size=size, name=name)
        if o.type == "symlink":
            o["target"] = body.decode("utf-8", "surrogateescape")
        if o.type in ("char", "block"):
            o["rdev"] = f"{rmaj}:{rmin}"
        if o.type == "file":
            if nlink > 1:
                by_ino.setdefault(ino, []).append(o)
            o["sha256"] = hashlib.sha256(body).hexdigest()
            if nlink > 1 and size:
                for other in by_ino[ino]:
                    other["size"], other["sha256"] = size, o["sha256"]
            elif nlink > 1 and by_ino[ino][0].size:
                o["size"], o["sha256"] = by_ino[ino][0].size, by_ino[ino][0].sha256
        objs["/" + name] = o
    return objs


def _dq(p):
    return '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_ext4(img, paths):
    """stat (and dump, for contents) every path in one debugfs run."""
    objs = {}
    odd = [p for p in paths if "\n" in p or '"' in p]  # debugfs commands cannot name these
    paths = [p for p in paths if p not in odd]
    for p in odd:
        d, name = p.rsplit("/", 1)
        r = subprocess.run(["debugfs", "-R", f"ls -p {_dq(d or '/')}", img], capture_output=True,
                           text=True, errors="surrogateescape")
        m = re.search(r"^/(\d+)/(\d+)/(\d+)/(\d+)/" + re.escape(name) + r"/(\d*)/$",
                      r.stdout, flags=re.M)
        if m:
            mode = int(m.group(2), 8)
            objs[p] = Obj(ino=int(m.group(1)), type=TYPES[mode & 0o170000], mode=mode & 0o7777,
                          uid=int(m.group(3)), gid=int(m.group(4)),
                          size=int(m.group(5) or 0))
            if objs[p].type == "file":  # by inode number: the name cannot be quoted
                with tempfile.NamedTemporaryFile() as t:
                    subprocess.run(["debugfs", "-R", f"dump <{m.group(1)}> {t.name}", img],
                                   capture_output=True)
                    objs[p]["sha256"] = hashlib.sha256(t.read()).hexdigest()
    with tempfile.TemporaryDirectory() as tmp:
        cmds = []
        for i, p in enumerate(paths):
            cmds.append(f"stat {_dq(p)}")
            cmds.append(f"dump {_dq(p)} {tmp}/{i}")
            cmds.append(f"ea_list {_dq(p)}")
        r = subprocess.run(["debugfs", "-f", "-", img], input="\n".join(cmds) + "\n",
                           capture_output=True, text=True, errors="surrogateescape")
        out = r.stdout
        chunks = re.split(r"^debugfs: ", out, flags=re.M)[1:]
        for i, p in enumerate(paths):
            st, _, ea = chunks[3 * i], chunks[3 * i + 1], chunks[3 * i + 2]
            m = re.search(r"Inode: (\d+)\s+Type: ([a-zA-Z ]+?)\s+Mode:\s+(\d+)", st)
            if not m:
                continue
            t = {"regular": "file", "directory": "dir", "symlink": "symlink",
                 "character special": "char", "block special": "block", "FIFO": "fifo",
                 "socket": "socket"}[m.group(2)]
            o = Obj(type=t, ino=int(m.group(1)), mode=int(m.group(3), 8))
            # debugfs prints ids as signed 32-bit numbers
            m = re.search(r"User:\s+(-?\d+)\s+Group:\s+(-?\d+).*Size: (\d+)", st)
            o["uid"], o["gid"] = int(m.group(1)) & 0xffffffff, int(m.group(2)) & 0xffffffff
            o["size"] = int(m.group(3))
            o["nlink"] = int(re.search(r"Links: (\d+)", st).group(1))
            o["mtime"] = int(re.search(r" mtime: 0x([0-9a-f]+)", st).group(1), 16)
            m = re.search(r"Device major/minor number: (\d+):(\d+)", st)
            if m:
                o["rdev"] = f"{int(m.group(1))}:{int(m.group(2))}"
            o["xattrs"] = set(re.findall(r"^\s+(\S+) \(\d+\)", ea, flags=re.M))
            dumped = os.path.join(tmp, str(i))
            body = b""
            if os.path.exists(dumped):
                with open(dumped, "rb") as f:
                    body = f.read()
            if t == "symlink":
                m = re.search(r'Fast link dest: "(.*)"', st)
                o["target"] = m.group(1) if m else body.decode("utf-8", "surrogateescape")
            if t == "file":
                o["sha256"] = hashlib.sha256(body).hexdigest()
            objs[p] = o
    return objs
