#!/usr/bin/python3
"""testdata/edge-layers.py - edge-case layer images for the rootfs tests, with expected results.

  testdata/edge-layers.py [--out DIR] [--list]
prints DIR (default: the testdata cache, see testdata/lib.sh; rebuilt only when this script or
mkimage.py changes). DIR holds:
  DIR/layout/         one OCI image layout; one tag per case (oci:DIR/layout:TAG)
  DIR/expected.json   what flattening each case must produce
Checklist numbers are those of shared/reference/registry-and-layers.md, part 5 (items 58-60 and
61-112, plus bad-input cases of issue 5).

expected.json:
  {"format": 1, "layout": "/abs/DIR/layout",
   "cases": {TAG: {"items": [61], "title": "...", "layers": ["sha256:...", ...],
                   "expect": OUTCOME  or  {"one_of": [OUTCOME, ...]}   (any one is correct;
                                           used where implementations legitimately differ)}}}
  OUTCOME is one of
   {"error": {"match_any": ["substr", ...],   the message contains at least one of these
                                              (lower-case compare)
              "layer": I, "layer_digest": "sha256:...",   the layer at fault; the message should
                                              name this digest (issue 5: "naming the layer digest")
              "entry": "name"}}               (optional) the tar entry at fault, also to be named
   {"paths": {PATH: ENTRY, ...},             PATH absolute inside the container root, UTF-8
    "paths_hex": {HEX: ENTRY, ...},          paths that are not UTF-8: hex of the raw bytes
    "absent": [PATH, ...],                   must not exist (lstat fails)
    "escape_canary": "NAME"}                 (optional) a file of this name must not appear
                                              outside the image (check the output's parent, the
                                              cwd, $TMPDIR, /tmp)
  ENTRY: only the keys given are asserted
    "type": "file"|"dir"|"symlink"|"char"|"block"|"fifo"
    "mode": "0644"            permission bits incl. setuid/setgid/sticky (07777), octal string
    "uid", "gid": N
    "size": N, "sha256": HEX  regular files (content)
    "target": "..."           symlink target, verbatim
    "rdev": [MAJOR, MINOR]    devices
    "mtime": N                seconds
    "nlink": N
    "same_inode_as": PATH / "not_same_inode_as": PATH   hardlink identity
    "xattrs": {NAME: HEX}     value as hex; for ext4 output (cpio cannot hold xattrs)
    "xattrs_absent": [NAME]
Every case's root also holds what its layers add; unlisted paths are not asserted. All tar
members have mtime 1700000000 unless the case says otherwise; default owner 0:0, file mode 0644,
dir mode 0755.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mkimage import Image, Layer, Layout, zstd_compress  # noqa: E402

MT = 1700000000
MT1, MT2 = 1600000000, 1650000000
CASES = []  # (tag, items, title, builder)


def case(tag, items, title):
    def reg(fn):
        CASES.append((tag, items, title, fn))
        return fn
    return reg


def L(compression="gzip"):
    return Layer(compression, MT)


def base():
    """What most cases start from: /etc (passwd), /tmp, /usr/lib."""
    b = L()
    for d, m in (("etc", 0o755), ("tmp", 0o1777), ("usr", 0o755), ("usr/lib", 0o755)):
        b.add_dir(d, m)
    b.add_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    return b


def sha(data):
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def f(data, **kw):
    """Expected regular file with this content."""
    data = data.encode() if isinstance(data, str) else data
    return {"type": "file", "size": len(data), "sha256": sha(data), **kw}


def d(**kw):
    return {"type": "dir", **kw}


def ln(target, **kw):
    return {"type": "symlink", "target": target, **kw}


def err(*match, layer, entry=None):
    e = {"match_any": list(match), "layer": layer}
    if entry is not None:
        e["entry"] = entry
    return {"error": e}


def ok(paths=None, absent=None, **kw):
    o = {"paths": paths or {}}
    if absent:
        o["absent"] = absent
    o.update(kw)
    return o


def one_of(*outcomes):
    return {"one_of": list(outcomes)}


PATH_ERRS = ("..", "outside", "escape", "unsafe", "invalid", "travers", "illegal")
WH_ERRS = (".wh.", "whiteout")

# ---- 61-72: paths and symlinks ----------------------------------------------------------------


@case("61-traversal", [61], "entry ../../NAME is rejected or clamped to /NAME")
def _():
    l = L()
    l.add_file("../../o2v-escape-61", "x")
    return [base(), l], one_of(err(*PATH_ERRS, layer=1, entry="../../o2v-escape-61"),
                               ok({"/o2v-escape-61": f("x")}, escape_canary="o2v-escape-61"))


@case("61b-dotdot-inside", [61], "entry a/../../NAME (a name with /..)")
def _():
    l = L()
    l.add_dir("a")
    l.add_file("a/../../o2v-escape-61b", "x")
    return [base(), l], one_of(err(*PATH_ERRS, layer=1, entry="a/../../o2v-escape-61b"),
                               ok({"/o2v-escape-61b": f("x")}, escape_canary="o2v-escape-61b"))


@case("62-absolute", [62], "absolute entry /etc/abs-62 lands in the root")
def _():
    l = L()
    l.add_file("/etc/abs-62", "abs")
    l.add_file("./etc/dot-62", "dot")
    return [base(), l], ok({"/etc/abs-62": f("abs"), "/etc/dot-62": f("dot")})


@case("63-symlink-abs-parent", [63], "localetc -> /etc, then localetc/unbroken (next layer)")
def _():
    b = base()
    b.add_symlink("localetc", "/etc")
    l = L()
    l.add_file("localetc/unbroken", "u")
    return [b, l], ok({"/etc/unbroken": f("u"), "/localetc": ln("/etc")})


@case("63b-symlink-abs-parent-same-layer", [63], "localetc -> /etc and localetc/x, one layer")
def _():
    b = base()
    b.add_symlink("localetc", "/etc")
    b.add_file("localetc/o2v-escape-63b", "u")
    return [b], ok({"/etc/o2v-escape-63b": f("u"), "/localetc": ln("/etc")},
                   escape_canary="o2v-escape-63b")


@case("64-symlink-relative-escape", [64], "link -> ../../../../, then link/file64")
def _():
    l = L()
    l.add_symlink("link", "../../../../")
    l2 = L()
    l2.add_file("link/o2v-escape-64", "64")
    return [base(), l, l2], ok({"/o2v-escape-64": f("64"), "/link": ln("../../../../")},
                               escape_canary="o2v-escape-64")


@case("64b-symlink-relative-escape-same-layer", [64], "link -> ../../../../ and link/x, one layer")
def _():
    l = L()
    l.add_symlink("link", "../../../../")
    l.add_file("link/o2v-escape-64b", "64b")
    return [base(), l], ok({"/o2v-escape-64b": f("64b"), "/link": ln("../../../../")},
                           escape_canary="o2v-escape-64b")


@case("65-symlink-to-root", [65], "foo -> /, then foo/tmp/NAME")
def _():
    l = L()
    l.add_symlink("foo", "/")
    l.add_file("foo/tmp/o2v-escape-65", "65")
    return [base(), l], ok({"/tmp/o2v-escape-65": f("65"), "/foo": ln("/")},
                           escape_canary="o2v-escape-65")


@case("66-symlink-named-dotdot", [66], "symlink entry sub/.. then a hardlink resolving inside")
def _():
    b = base()
    b.add_file("etc/passwd66", "p66")
    l = L()
    l.add_dir("sub")
    l.add_symlink("sub/..", "/tmp")
    l.add_hardlink("hl66", "etc/passwd66")
    return [b, l], one_of(err(*PATH_ERRS, "symlink", "root", layer=1, entry="sub/.."),
                          ok({"/": d(), "/hl66": f("p66", same_inode_as="/etc/passwd66")}))


@case("66b-symlink-named-dotdot-top", [66], "symlink entry .. at the top, then a hardlink")
def _():
    b = base()
    b.add_file("etc/passwd66b", "p66b")
    l = L()
    l.add_symlink("..", "/tmp")
    l.add_hardlink("hl66b", "etc/passwd66b")
    return [b, l], one_of(err(*PATH_ERRS, "symlink", "root", layer=1, entry=".."),
                          ok({"/": d(), "/hl66b": f("p66b", same_inode_as="/etc/passwd66b")}))


@case("67-symlink-root", [67], "a symlink entry for the root itself, then a file")
def _():
    l = L()
    l.add_symlink(".", "/tmp")
    l2 = L()
    l2.add_file("o2v-escape-67", "67")
    return [base(), l, l2], one_of(
        err(*PATH_ERRS, "root", "symlink", layer=1, entry="."),
        ok({"/": d(), "/o2v-escape-67": f("67")}, escape_canary="o2v-escape-67"))


@case("68-symlink-targets-verbatim", [68], "absolute, escaping and dangling targets kept as is")
def _():
    l = L()
    l.add_symlink("alt", "/etc/alternatives/x")
    l.add_symlink("esc", "../../../../etc/shadow")
    l.add_symlink("dangling", "nonexistent/deeper")
    return [base(), l], ok({"/alt": ln("/etc/alternatives/x"),
                            "/esc": ln("../../../../etc/shadow"),
                            "/dangling": ln("nonexistent/deeper")})


@case("69-symlink-mode", [69], "symlink entries with mode bits never chmod their target")
def _():
    l = L()
    l.add_file("target69", "t", 0o644)
    l.add_symlink("link69", "target69", 0o700)
    l2 = L()
    l2.add_symlink("link69", "target69", 0o600)
    l2.add_symlink("link69b", "/etc/passwd", 0o000)
    return [base(), l, l2], ok({"/target69": f("t", mode="0644"),
                                "/link69": ln("target69", mode="0777"),
                                "/etc/passwd": {"type": "file", "mode": "0644"}})


@case("70-wh-dir-component", [70], "an entry under .wh.etc/ (not a whiteout of etc)")
def _():
    l = L()
    l.add_file(".wh.etc/somefile", "s")
    return [base(), l], one_of(err(*WH_ERRS, layer=1, entry=".wh.etc/somefile"),
                               ok({"/etc/passwd": {"type": "file"},
                                   "/.wh.etc/somefile": f("s")}),
                               ok({"/etc/passwd": {"type": "file"}}, absent=["/.wh.etc"]))


LONG = "L" * 255
DEEP = "/".join(["d%03d-" % i + "x" * 90 for i in range(10)])  # ~960 bytes


@case("71-names", [71, 126], "UTF-8, non-UTF-8, 255-byte, ~1000-byte, spaces, newlines")
def _():
    l = L()
    l.add_dir("ünïcødé")
    l.add_file("ünïcødé/文件-ø.txt", "utf8")
    l.add_file(b"latin1-\xe9.txt".decode("utf-8", "surrogateescape"), "latin1")
    l.add_file(LONG, "long")
    l.add_file(DEEP + "/leaf", "deep")
    l.add_file("with space", "sp")
    l.add_file("new\nline", "nl")
    l.add_symlink("longtarget", "t" * 1000)
    paths = {"/ünïcødé/文件-ø.txt": f("utf8"), "/" + LONG: f("long"), "/" + DEEP + "/leaf":
             f("deep"), "/with space": f("sp"), "/new\nline": f("nl"),
             "/longtarget": ln("t" * 1000)}
    return [base(), l], ok(paths, paths_hex={b"/latin1-\xe9.txt".hex(): f("latin1")})


@case("72-pax-global", [72], "a PAX global header is ignored")
def _():
    l = L()
    l.pax_global = {"comment": "o2v global header"}
    l.add_file("after72", "a")
    return [base(), l], ok({"/after72": f("a")}, absent=["/pax_global_header"])


# ---- 73-87: whiteouts ---------------------------------------------------------------------------


@case("73-whiteout-file", [73], "lower file1, upper .wh.file1")
def _():
    b = base()
    b.add_file("file1", "1")
    b.add_file("file2", "2")
    l = L()
    l.add_whiteout("file1")
    return [b, l], ok({"/file2": f("2")}, absent=["/file1", "/.wh.file1"])


@case("74-whiteout-dir", [74], "lower b/..., upper .wh.b removes the subtree")
def _():
    b = base()
    b.add_dir("b")
    b.add_dir("b/c")
    b.add_file("b/c/d", "d")
    l = L()
    l.add_whiteout("b")
    return [b, l], ok({}, absent=["/b", "/.wh.b"])


@case("75-opaque-first", [75], "opaque marker before the new children")
def _():
    b = base()
    b.add_dir("bin")
    for n in ("a", "b"):
        b.add_file("bin/" + n, n)
    b.add_dir("bin/tools")
    b.add_file("bin/tools/x", "x")
    l = L()
    l.add_dir("bin", 0o750, 5, 6, mtime=MT2)
    l.add_opaque("bin")
    l.add_file("bin/new", "new")
    return [b, l], ok({"/bin": d(mode="0750", uid=5, gid=6, mtime=MT2), "/bin/new": f("new")},
                      absent=["/bin/a", "/bin/b", "/bin/tools", "/bin/.wh..wh..opq"])


@case("76-opaque-after", [76], "opaque marker listed after same-layer children")
def _():
    b = base()
    for p in ("a", "a/b", "a/b/c"):
        b.add_dir(p)
    b.add_file("a/b/c/bar", "bar")
    b.add_file("a/lower", "l")
    l = L()
    l.add_dir("a")
    l.add_dir("a/b")
    l.add_dir("a/b/c")
    l.add_file("a/b/c/foo", "foo")
    l.add_opaque("a")
    return [b, l], ok({"/a/b/c/foo": f("foo")},
                      absent=["/a/b/c/bar", "/a/lower", "/a/.wh..wh..opq"])


@case("77-same-layer-whiteout", [77], "fileA and .wh.fileA in one layer: fileA survives")
def _():
    b = base()
    b.add_file("fileA", "old")
    l = L()
    l.add_file("fileA", "new")
    l.add_whiteout("fileA")
    return [b, l], ok({"/fileA": f("new")}, absent=["/.wh.fileA"])


@case("78-same-layer-whiteout-dir", [78], ".wh.dir1, dir1/, dir1/file in one layer")
def _():
    b = base()
    b.add_dir("dir1")
    b.add_file("dir1/old", "o")
    l = L()
    l.add_whiteout("dir1")
    l.add_dir("dir1")
    l.add_file("dir1/file", "f")
    return [b, l], ok({"/dir1": d(), "/dir1/file": f("f")}, absent=["/dir1/old"])


@case("78b-same-layer-whiteout-dir-after", [77, 78], "dir1/file then .wh.dir1 in one layer")
def _():
    b = base()
    b.add_dir("dir1")
    b.add_file("dir1/old", "o")
    l = L()
    l.add_file("dir1/file", "f")
    l.add_whiteout("dir1")
    return [b, l], ok({"/dir1": d(mode="0755"), "/dir1/file": f("f")}, absent=["/dir1/old"])


for _tag, _name in (("79a-wh-empty", ".wh."), ("79b-wh-dot", ".wh.."), ("79c-wh-dotdot", ".wh..."),
                    ("79d-wh-dot-in-dir", "etc/.wh..")):
    def _mk(name=_name):
        l = L()
        l.add_file(name, "")
        return [base(), l], err(*WH_ERRS, layer=1, entry=name)
    case(_tag, [79], f"whiteout entry '{_name}' is an error")(_mk)


@case("80-whiteout-missing", [80], "whiteouts of paths that do not exist are no-ops")
def _():
    l = L()
    l.add_whiteout("nonexistent80")
    l.add_whiteout("etc/nonexistent80")
    l.add_whiteout("no/such/parent80")
    l.add_file("kept80", "k")
    return [base(), l], ok({"/kept80": f("k"), "/etc/passwd": {"type": "file"}},
                           absent=["/nonexistent80", "/.wh.nonexistent80",
                                   "/etc/.wh.nonexistent80"])


@case("81-whiteout-relative", [81], "dne/../.wh.etc removes etc")
def _():
    l = L()
    l.add_file("dne/../.wh.etc", "")
    return [base(), l], one_of(ok({"/tmp": d()}, absent=["/etc"]),
                               err(*PATH_ERRS, *WH_ERRS, layer=1, entry="dne/../.wh.etc"))


@case("82-whiteout-symlinked-parent", [82], "localetc -> /etc; localetc/.wh.x82")
def _():
    b = base()
    b.add_file("etc/x82", "x")
    b.add_symlink("localetc", "/etc")
    l = L()
    l.add_whiteout("localetc/x82")
    return [b, l], one_of(ok({"/localetc": ln("/etc"), "/etc/passwd": {"type": "file"}},
                             absent=["/etc/x82"]),
                          err(*PATH_ERRS, *WH_ERRS, "symlink", layer=1,
                              entry="localetc/.wh.x82"))


@case("83-whiteout-symlink", [83], ".wh.localetc removes the link, not its target")
def _():
    b = base()
    b.add_file("etc/keep83", "k")
    b.add_symlink("localetc", "/etc")
    l = L()
    l.add_whiteout("localetc")
    return [b, l], ok({"/etc/keep83": f("k"), "/etc": d()}, absent=["/localetc"])


@case("84-whiteout-odd-entries", [84], "a whiteout stored as a directory / with a size")
def _():
    b = base()
    b.add_file("f84a", "a")
    b.add_file("f84b", "b")
    l = L()
    l.add_dir(".wh.f84a")
    l.add_file(".wh.f84b", "12345")
    return [b, l], ok({}, absent=["/f84a", "/f84b", "/.wh.f84a", "/.wh.f84b"])


@case("85-whiteout-parent-mtime", [85], "a whiteout does not change its parent's mtime")
def _():
    b = base()
    b.add_dir("d85", mtime=MT1)
    b.add_file("d85/f", "f")
    b.add_file("d85/g", "g")
    l = L()
    l.add_whiteout("d85/f")
    return [b, l], ok({"/d85": d(mtime=MT1), "/d85/g": f("g")}, absent=["/d85/f"])


@case("86-aufs-metadata", [86], ".wh..wh.plnk / .wh..wh.aufs are not extracted")
def _():
    l = L()
    l.add_dir(".wh..wh.plnk")
    l.add_file(".wh..wh.plnk/1234.5678", "plnk content")
    l.add_hardlink("f86", ".wh..wh.plnk/1234.5678")
    l.add_file(".wh..wh.aufs", "")
    return [base(), l], ok({"/f86": f("plnk content")},
                           absent=["/.wh..wh.plnk", "/.wh..wh.aufs"])


@case("87-leaked-overlay-whiteout", [87], "char 0:0 and trusted.overlay.opaque in a layer")
def _():
    l = L()
    l.add_device("chr87", "char", 0, 0, 0o000)
    l.add_dir("d87", xattrs={"trusted.overlay.opaque": "y"})
    l.add_file("d87/kept", "k")
    return [base(), l], ok({"/chr87": {"type": "char", "rdev": [0, 0]}, "/d87": d(),
                            "/d87/kept": f("k")})


# ---- 88-112: replacement, hardlinks, metadata --------------------------------------------------


@case("88-dir-to-file", [88], "lower dir a/ with children, upper file a")
def _():
    b = base()
    b.add_dir("a")
    b.add_file("a/x", "x")
    l = L()
    l.add_file("a", "file")
    return [b, l], ok({"/a": f("file")}, absent=["/a/x"])


@case("89-file-to-dir", [89], "lower file a, upper dir a/")
def _():
    b = base()
    b.add_file("a", "file")
    l = L()
    l.add_dir("a", 0o711)
    l.add_file("a/z", "z")
    return [b, l], ok({"/a": d(mode="0711"), "/a/z": f("z")})


@case("89b-symlink-file-swaps", [88, 89], "symlink replaced by a file and a file by a symlink")
def _():
    b = base()
    b.add_symlink("s89", "x")
    b.add_file("f89", "f")
    b.add_fifo("p89")
    l = L()
    l.add_file("s89", "now a file")
    l.add_symlink("f89", "y")
    l.add_dir("p89")
    return [b, l], ok({"/s89": f("now a file"), "/f89": ln("y"), "/p89": d()})


@case("90-symlink-replaced-by-dir", [90], "lower lib -> usr/lib, upper dir lib/")
def _():
    b = base()
    b.add_file("usr/lib/old.so", "old")
    b.add_symlink("lib", "usr/lib")
    l = L()
    l.add_dir("lib")
    l.add_file("lib/new.so", "new")
    return [b, l], ok({"/lib": d(), "/lib/new.so": f("new"), "/usr/lib/old.so": f("old")},
                      absent=["/usr/lib/new.so", "/lib/old.so"])


@case("91-write-through-symlink", [91], "lower lib -> usr/lib, upper lib/x.so without lib/")
def _():
    b = base()
    b.add_symlink("lib", "usr/lib")
    l = L()
    l.add_file("lib/x.so", "x")
    return [b, l], ok({"/lib": ln("usr/lib"), "/usr/lib/x.so": f("x")})


@case("92-dir-metadata", [92], "dir in both layers: upper's mode/owner/mtime/xattrs win")
def _():
    b = base()
    b.add_dir("d92", 0o755, 0, 0, mtime=MT1, xattrs={"user.old": "1"})
    b.add_file("d92/f", "f")
    l = L()
    l.add_dir("d92", 0o700, 7, 8, mtime=MT2, xattrs={"user.new": "2"})
    return [b, l], ok({"/d92": d(mode="0700", uid=7, gid=8, mtime=MT2,
                                 xattrs={"user.new": b"2".hex()}, xattrs_absent=["user.old"]),
                       "/d92/f": f("f")})


@case("93-nondir-parent", [93], "file nondir, then nondir/foo/bar/baz")
def _():
    b = base()
    b.add_file("nondir", "n")
    l = L()
    l.add_file("nondir/foo/bar/baz", "baz")
    return [b, l], one_of(ok({"/nondir": d(), "/nondir/foo/bar/baz": f("baz")}),
                          err("not a directory", "nondir", layer=1, entry="nondir/foo/bar/baz"))


@case("94-implicit-parents", [94], "a/b/c/file without directory entries")
def _():
    l = L()
    l.add_file("a94/b/c/file", "f")
    return [l], ok({"/a94": d(mode="0755", uid=0, gid=0), "/a94/b": d(mode="0755"),
                    "/a94/b/c": d(mode="0755"), "/a94/b/c/file": f("f")})


@case("95-duplicate", [95], "the same path twice in one layer: last wins")
def _():
    l = L()
    l.add_file("f95", "first", 0o644)
    l.add_file("f95", "second", 0o600)
    l.add_dir("d95", 0o755)
    l.add_dir("d95", 0o750)
    return [base(), l], ok({"/f95": f("second", mode="0600"), "/d95": d(mode="0750")})


@case("96-hardlink-lower", [96], "hardlink to a file from an earlier layer")
def _():
    b = base()
    b.add_file("orig96", "o96", 0o640, 3, 4)
    l = L()
    l.add_hardlink("link96", "orig96")
    return [b, l], ok({"/link96": f("o96", same_inode_as="/orig96", nlink=2),
                       "/orig96": f("o96", mode="0640", uid=3, gid=4, nlink=2)})


@case("96b-hardlink-same-layer", [96, 122], "hardlink within a layer, three names")
def _():
    l = L()
    l.add_file("h96a", "h", 0o755)
    l.add_hardlink("h96b", "h96a")
    l.add_hardlink("sub/h96c", "h96a")
    return [base(), l], ok({"/h96b": f("h", same_inode_as="/h96a", nlink=3),
                            "/sub/h96c": f("h", same_inode_as="/h96a", mode="0755")})


@case("97-hardlink-owner", [97], "hardlinks (relative, /absolute) with header uid+1337 keep the "
      "target's owner")
def _():
    b = base()
    b.add_file("regular97", "r", 0o644, 7, 8)
    l = L()
    l.add_hardlink("hard97", "regular97", 0o600, 1337, 1337)
    l.add_hardlink("abs97", "/regular97", 0o600, 1344, 1344)
    return [b, l], ok({"/hard97": f("r", same_inode_as="/regular97", uid=7, gid=8,
                                    mode="0644"),
                       "/abs97": f("r", same_inode_as="/regular97", uid=7, gid=8, nlink=3)})


@case("98-hardlink-to-symlink", [98], "hardlink to a symlink links the symlink itself")
def _():
    l = L()
    l.add_file("target98", "t")
    l.add_symlink("sym98", "target98")
    l.add_hardlink("hl98", "sym98")
    return [base(), l], ok({"/hl98": ln("target98", same_inode_as="/sym98"),
                            "/target98": f("t", nlink=1)})


@case("99-hardlink-through-symlink", [99], "hardlink target path through an in-image symlink")
def _():
    b = base()
    b.add_file("etc/passwd99", "p99")
    b.add_dir("breakouts")
    b.add_symlink("breakouts/d1", "../../etc")
    l = L()
    l.add_hardlink("hl99", "breakouts/d1/passwd99")
    return [b, l], one_of(ok({"/hl99": f("p99", same_inode_as="/etc/passwd99")}),
                          err(*PATH_ERRS, "hardlink", "link", layer=1, entry="hl99"))


LINK_ERRS = ("hardlink", "hard link", "link", "not found", "no such", "missing", "exist")


@case("100a-hardlink-missing", [100], "hardlink to a path that does not exist")
def _():
    l = L()
    l.add_hardlink("hl100", "does/not/exist")
    return [base(), l], err(*LINK_ERRS, layer=1, entry="hl100")


@case("100b-hardlink-to-dir", [100], "hardlink to a directory")
def _():
    l = L()
    l.add_hardlink("hl100b", "etc")
    return [base(), l], err(*LINK_ERRS, "directory", layer=1, entry="hl100b")


@case("100c-hardlink-outside", [100], "hardlink to ../../etc/passwd")
def _():
    l = L()
    l.add_hardlink("hl100c", "../../etc/passwd")
    return [base(), l], one_of(err(*LINK_ERRS, *PATH_ERRS, layer=1, entry="hl100c"),
                               ok({"/hl100c": {"type": "file", "same_inode_as": "/etc/passwd"}}))


@case("100d-hardlink-self", [100], "hardlink to its own name (a cycle)")
def _():
    l = L()
    l.add_hardlink("self100d", "self100d")
    return [base(), l], err(*LINK_ERRS, layer=1, entry="self100d")


@case("101-hardlink-pair-broken", [101], "a later layer replaces one name of a hardlinked pair")
def _():
    b = base()
    b.add_file("f101a", "old")
    b.add_hardlink("f101b", "f101a")
    l = L()
    l.add_file("f101a", "new")
    return [b, l], ok({"/f101a": f("new", nlink=1),
                       "/f101b": f("old", not_same_inode_as="/f101a", nlink=1)})


@case("102-setuid", [102], "setuid/setgid/sticky bits kept, with owners")
def _():
    l = L()
    l.add_file("su102", "u", 0o4755, 0, 0)
    l.add_file("sg102", "g", 0o2755, 0, 50)
    l.add_file("both102", "b", 0o6711, 1000, 1000)
    l.add_dir("sticky102", 0o1777)
    l.add_dir("sgdir102", 0o2775, 0, 50)
    return [base(), l], ok({"/su102": f("u", mode="4755", uid=0),
                            "/sg102": f("g", mode="2755", gid=50),
                            "/both102": f("b", mode="6711", uid=1000, gid=1000),
                            "/sticky102": d(mode="1777"), "/sgdir102": d(mode="2775", gid=50)})


# struct vfs_cap_data, revision 2, effective, permitted = CAP_NET_RAW (13)
CAP_NET_RAW = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)


@case("103-capability", [103], "security.capability survives (ext4)")
def _():
    l = L()
    l.add_file("ping103", "ping", 0o755, xattrs={"security.capability": CAP_NET_RAW})
    return [base(), l], ok({"/ping103": f("ping", mode="0755",
                                          xattrs={"security.capability": CAP_NET_RAW.hex()})})


@case("104-selinux", [104], "security.selinux dropped, user.* kept")
def _():
    l = L()
    l.add_file("f104", "s", xattrs={"security.selinux": "system_u:object_r:bin_t:s0",
                                    "user.keep": "v"})
    return [base(), l], ok({"/f104": f("s", xattrs={"user.keep": b"v".hex()},
                                       xattrs_absent=["security.selinux"])})


@case("105-user-xattr-non-regular", [105], "user.* on a symlink or device is dropped")
def _():
    l = L()
    l.add_symlink("sym105", "target", xattrs={"user.x": "1", "trusted.ok105": "1"})
    l.add_device("chr105", "char", 1, 3, xattrs={"user.y": "2"})
    l.add_file("reg105", "r", xattrs={"user.z": "3"})
    return [base(), l], ok({"/sym105": ln("target", xattrs_absent=["user.x"],
                                          xattrs={"trusted.ok105": b"1".hex()}),
                            "/chr105": {"type": "char", "rdev": [1, 3],
                                        "xattrs_absent": ["user.y"]},
                            "/reg105": f("r", xattrs={"user.z": b"3".hex()})})


@case("106-devices", [106], "block/char devices (minor > 255 too) and FIFOs exact")
def _():
    l = L()
    l.add_dir("dev", 0o755)
    l.add_device("dev/blk128-42", "block", 128, 42, 0o660, 0, 6)
    l.add_device("dev/blk255-128", "block", 255, 128, 0o600)
    l.add_device("dev/chr133-37", "char", 133, 37, 0o620, 0, 5)
    l.add_device("dev/chr253-97", "char", 253, 97, 0o666)
    l.add_device("dev/null", "char", 1, 3, 0o666)
    l.add_device("dev/chr259-300000", "char", 259, 300000, 0o600)
    l.add_fifo("dev/fifo106", 0o640, 1, 2)
    return [base(), l], ok({
        "/dev/blk128-42": {"type": "block", "rdev": [128, 42], "mode": "0660", "gid": 6},
        "/dev/blk255-128": {"type": "block", "rdev": [255, 128], "mode": "0600"},
        "/dev/chr133-37": {"type": "char", "rdev": [133, 37], "mode": "0620", "gid": 5},
        "/dev/chr253-97": {"type": "char", "rdev": [253, 97], "mode": "0666"},
        "/dev/null": {"type": "char", "rdev": [1, 3]},
        "/dev/chr259-300000": {"type": "char", "rdev": [259, 300000], "mode": "0600"},
        "/dev/fifo106": {"type": "fifo", "mode": "0640", "uid": 1, "gid": 2}})


@case("107-dir-mode-000", [107], "dirs 000 / 0555 still receive children (same and later layer)")
def _():
    b = base()
    b.add_dir("d000", 0o000)
    b.add_file("d000/a", "a")
    b.add_dir("d555", 0o555)
    b.add_file("d555/a", "a")
    l = L()
    l.add_file("d000/b", "b")
    l.add_file("d555/c", "c")
    return [b, l], ok({"/d000": d(mode="0000"), "/d000/a": f("a"), "/d000/b": f("b"),
                       "/d555": d(mode="0555"), "/d555/a": f("a"), "/d555/c": f("c")})


@case("108-file-mode-000", [108], "a mode 000 file keeps its content")
def _():
    l = L()
    l.add_file("shadow108", "secret", 0o000)
    return [base(), l], ok({"/shadow108": f("secret", mode="0000")})


@case("109-dir-mtime", [109], "dir mtime is the header's, after its children are written")
def _():
    l = L()
    l.add_dir("d109", mtime=MT1)
    l.add_file("d109/f", "f", mtime=MT2)
    l.add_dir("d109/sub", mtime=MT2)
    l.add_file("d109/sub/g", "g")
    return [base(), l], ok({"/d109": d(mtime=MT1), "/d109/sub": d(mtime=MT2),
                            "/d109/f": f("f", mtime=MT2)})


@case("110-big-ids", [110], "uid/gid above 65535 and 2^31 (ustar octal and PAX)")
def _():
    l = L()
    l.add_file("f110a", "a", uid=100000, gid=100001)
    l.add_file("f110b", "b", uid=3000000, gid=4000000)
    l.add_file("f110c", "c", uid=100000, gid=4000000000)
    l.add_dir("d110", uid=65536, gid=65537)
    return [base(), l], ok({"/f110a": f("a", uid=100000, gid=100001),
                            "/f110b": f("b", uid=3000000, gid=4000000),
                            "/f110c": f("c", uid=100000, gid=4000000000),
                            "/d110": d(uid=65536, gid=65537)})


SPARSE_SIZE = 10 << 20
# data lengths are whole 512-byte blocks except the last one's: GNU tar starts each region on a
# block boundary, libarchive reads them back to back; real archives satisfy both
SPARSE_SEGS = [(0, b"head".ljust(512, b"H")), (5 << 20, b"middle".ljust(1024, b"M")),
               (SPARSE_SIZE - 3, b"end")]


def sparse_content():
    buf = bytearray(SPARSE_SIZE)
    for off, data in SPARSE_SEGS:
        buf[off:off + len(data)] = data
    return bytes(buf)


@case("111-sparse", [111], "PAX 1.0 sparse file: right size and content")
def _():
    l = L()
    l.add_sparse("sparse111", SPARSE_SIZE, SPARSE_SEGS)
    return [base(), l], ok({"/sparse111": f(sparse_content())},
                           absent=["/GNUSparseFile.0"])


def skippable(payload, n=0):
    return struct.pack("<II", 0x184D2A50 + n, len(payload)) + payload


@case("112-zstd-skippable", [112], "zstd layer with skippable frames before and after")
def _():
    l = L("zstd")
    l.add_file("z112", "zstd content")
    l.blob_transform = lambda blob: (skippable(b"o2v-metadata") + blob +
                                     skippable(b'{"chunked":"toc"}', 14))
    return [base(), l], ok({"/z112": f("zstd content")})


# ---- 58-60 and formats -------------------------------------------------------------------------


@case("58-empty-blob-layer", [58], "a zero-byte layer blob is an empty changeset")
def _():
    e = L("none")
    e.raw_tar = b""
    l = L()
    l.add_file("after58", "a")
    return [base(), e, l], ok({"/after58": f("a")})


@case("59a-gzip-declared-tar", [59], "gzip bytes under the plain tar media type")
def _():
    l = L("gzip")
    l.media_type = "application/vnd.oci.image.layer.v1.tar"
    l.add_file("f59a", "a")
    return [base(), l], ok({"/f59a": f("a")})


@case("59b-tar-declared-gzip", [59], "plain tar under the gzip media type")
def _():
    l = L("none")
    l.media_type = "application/vnd.oci.image.layer.v1.tar+gzip"
    l.add_file("f59b", "b")
    return [base(), l], ok({"/f59b": f("b")})


@case("60-diffid-mismatch", [60], "diff_id does not match the uncompressed layer")
def _():
    l = L()
    l.add_file("f60", "x")
    l.diff_id = "sha256:" + sha("not this layer")
    return [base(), l], err("diff", "digest", "mismatch", "verif", layer=1)


@case("fmt-uncompressed", [], "uncompressed tar layers")
def _():
    b = base()
    b.compression = "none"
    l = L("none")
    l.add_file("plain", "p")
    return [b, l], ok({"/plain": f("p"), "/etc/passwd": {"type": "file"}})


@case("fmt-zstd", [], "zstd layers")
def _():
    b = base()
    b.compression = "zstd"
    l = L("zstd")
    l.add_file("zst", "z")
    return [b, l], ok({"/zst": f("z"), "/etc/passwd": {"type": "file"}})


@case("fmt-docker", [], "Docker schema2 media types")
def _():
    l = L()
    l.add_file("dock", "d")
    return [base(), l], ok({"/dock": f("d")}), "docker"


@case("fmt-many-layers", [], "40 layers, each replacing one file and adding one")
def _():
    layers = [base()]
    for i in range(40):
        l = L()
        l.add_file("counter", str(i))
        l.add_file(f"layer{i:02d}", str(i))
        layers.append(l)
    return layers, ok({"/counter": f("39"), "/layer00": f("0"), "/layer39": f("39")})


# ---- bad input ---------------------------------------------------------------------------------

# a decompressor error, or the diff_id check catching what the decompressor let through
DECOMP_ERRS = ("gzip", "zstd", "decompress", "inflate", "corrupt", "crc", "truncat", "damaged",
               "invalid", "unexpected", "eof", "checksum", "diff", "digest")


def flip_middle(blob):
    b = bytearray(blob)
    for i in range(len(b) // 2, min(len(b) // 2 + 16, len(b) - 8)):
        b[i] ^= 0x5A
    return bytes(b)


def payload_layer(compression, name):
    l = L(compression)
    # incompressible-ish content so damage lands in the data, not only in headers
    l.add_file(name, hashlib.sha256(name.encode()).digest() * 2048)
    return l


@case("bad-gzip-data", [], "gzip stream with damaged deflate data")
def _():
    l = payload_layer("gzip", "g")
    l.blob_transform = flip_middle
    return [base(), l], err(*DECOMP_ERRS, layer=1)


@case("bad-gzip-crc", [], "gzip stream whose CRC32 trailer is wrong")
def _():
    l = payload_layer("gzip", "g")
    l.blob_transform = lambda b: b[:-8] + bytes(x ^ 0xFF for x in b[-8:-4]) + b[-4:]
    return [base(), l], err(*DECOMP_ERRS, layer=1)


@case("bad-gzip-truncated", [], "gzip stream cut in half")
def _():
    l = payload_layer("gzip", "g")
    l.blob_transform = lambda b: b[:len(b) // 2]
    return [base(), l], err(*DECOMP_ERRS, layer=1)


@case("bad-gzip-garbage", [], "a layer of random bytes under the gzip media type")
def _():
    l = L("none")
    l.media_type = "application/vnd.oci.image.layer.v1.tar+gzip"
    l.raw_tar = hashlib.sha512(b"garbage").digest() * 64
    l.diff_id = "sha256:" + sha(l.raw_tar)
    return [base(), l], err(*DECOMP_ERRS, "tar", "format", "archive", layer=1)


@case("bad-zstd-data", [], "zstd frame with damaged data")
def _():
    l = payload_layer("zstd", "z")
    l.blob_transform = flip_middle
    return [base(), l], err(*DECOMP_ERRS, layer=1)


@case("bad-tar-truncated", [], "uncompressed tar cut inside a file's data")
def _():
    l = payload_layer("none", "t")
    tar = l.tar_bytes()
    l.raw_tar = tar[:512 + 20000]
    l.diff_id = "sha256:" + sha(l.raw_tar)
    return [base(), l], err(*DECOMP_ERRS, "tar", "short", layer=1, entry="t")


def raw_header(name, size_field, typeflag=b"0"):
    """A ustar header with a hand-written size field (12 bytes) and a valid checksum."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field
    h[136:148] = b"14567417000\0"
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


@case("bad-tar-absurd-size", [], "header claims an 8 GiB file in a 2 KiB layer")
def _():
    l = L("gzip")
    l.raw_tar = raw_header(b"huge", b"77777777777\0") + b"x" * 1024 + b"\0" * 1024
    return [base(), l], err(*DECOMP_ERRS, "tar", "size", "short", layer=1, entry="huge")


@case("bad-tar-absurd-size-base256", [], "header claims a 2^62-byte file (base-256 size)")
def _():
    l = L("gzip")
    l.raw_tar = (raw_header(b"huge256", b"\x80" + b"\0" * 3 + struct.pack(">Q", 1 << 62))
                 + b"y" * 1024 + b"\0" * 1024)
    return [base(), l], err(*DECOMP_ERRS, "tar", "size", "large", "short", layer=1,
                            entry="huge256")


@case("bad-tar-checksum", [], "tar header with a wrong checksum")
def _():
    l = L("none")
    h = bytearray(raw_header(b"badsum", b"00000000004\0"))
    h[148:156] = b"000001\0 "
    l.raw_tar = bytes(h) + b"abcd" + b"\0" * 508 + b"\0" * 1024
    return [base(), l], err("checksum", "tar", "header", "damaged", "invalid", "format", layer=1)


# ---- build -------------------------------------------------------------------------------------


def build(out, final=None):
    """Build into OUT; expected.json names FINAL/layout (where OUT will be renamed to)."""
    layout = Layout(os.path.join(out, "layout"))
    cases = {}
    cfg = {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}
    for tag, items, title, fn in CASES:
        r = fn()
        layers, expect = r[0], r[1]
        mediatypes = r[2] if len(r) > 2 else "oci"
        desc = layout.add(tag, Image(layers, cfg, mediatypes=mediatypes))
        digests = [layout.put_blob(*l.build(mediatypes)[:2])["digest"] for l in layers]
        for o in expect.get("one_of", [expect]):
            if "error" in o:
                o["error"]["layer_digest"] = digests[o["error"]["layer"]]
        cases[tag] = {"items": items, "title": title, "manifest": desc["digest"],
                      "layers": digests, "expect": expect}
    doc = {"format": 1, "layout": os.path.abspath(os.path.join(final or out, "layout")),
           "cases": cases}
    with open(os.path.join(out, "expected.json"), "w") as fp:
        json.dump(doc, fp, indent=1, ensure_ascii=False, sort_keys=True)
        fp.write("\n")


def cache_dir():
    c = os.environ.get("OCI2VM_TESTDATA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "oci2vm-testdata")
    h = hashlib.sha256()
    for p in (__file__, os.path.join(HERE, "mkimage.py")):
        with open(p, "rb") as fp:
            h.update(fp.read())
    return c, os.path.join(c, "edge-layers-" + h.hexdigest()[:16])


def main():
    ap = argparse.ArgumentParser(description="edge-case layer images (see the file header)")
    ap.add_argument("--out", help="build here (default: the testdata cache)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    a = ap.parse_args()
    if a.list:
        for tag, items, title, _ in CASES:
            print(f"{tag:40} {','.join(map(str, items)):8} {title}")
        return 0
    if a.out:
        build(a.out)
        print(os.path.abspath(a.out))
        return 0
    root, out = cache_dir()
    if not os.path.exists(os.path.join(out, "expected.json")):
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".edge-layers-build.", dir=root)
        try:
            build(tmp, out)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, out)
            except OSError:  # a concurrent build won
                shutil.rmtree(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for old in os.listdir(root):
            if old.startswith("edge-layers-") and os.path.join(root, old) != out:
                shutil.rmtree(os.path.join(root, old), ignore_errors=True)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
