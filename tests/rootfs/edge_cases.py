"""tests/rootfs/edge_cases.py - layer edge cases of the reference checklist (items 58-112).

Each case: (name, [Layer, ...], expectation) - expectation as in imagecheck.py; paths are
relative to the container root. Layers are testdata/mkimage.py Layer objects (the shared
tar/compression code), so the same cases can be written as OCI layouts for `oci2vm export`.
write_case(dir, case) writes N.blob files and returns [(blob_path, diff_id), ...].
"""
import io
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../testdata"))
import mkimage  # noqa: E402

CAP = b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


def L(compression="none", **kw):
    return mkimage.Layer(compression=compression, mtime=1000, **kw)


def F(**kw):
    d = {"type": "file"}
    d.update(kw)
    return d


def D(**kw):
    d = {"type": "dir"}
    d.update(kw)
    return d


def S(target, **kw):
    d = {"type": "symlink", "target": target}
    d.update(kw)
    return d


def cases():
    c = []

    def case(name, layers, **expect):
        c.append((name, layers, expect))

    # --- paths and symlinks (61-72)
    l = L(); l.add_file("../../etc/passwd", "x")
    case("61 '..' traversal is rejected", [l], error="'..' component")
    l = L(); l.add_file("/etc/passwd", "abs")
    case("62 absolute name lands in the root", [l], paths={"etc/passwd": F(data="abs")})
    l1 = L(); l1.add_dir("etc"); l1.add_symlink("localetc", "/etc")
    l2 = L(); l2.add_file("localetc/unbroken", "u")
    case("63 absolute symlink parent is re-rooted", [l1, l2],
         paths={"etc/unbroken": F(data="u"), "localetc": S("/etc")})
    l = L(); l.add_symlink("link", "../../../../"); l.add_file("link/file", "f")
    case("64 escaping relative symlink parent clamps at the root", [l],
         paths={"file": F(data="f"), "link": S("../../../../")})
    l = L(); l.add_symlink("foo", "/"); l.add_file("foo/tmp/x", "x")
    case("65 'foo -> /' then foo/tmp/x", [l], paths={"tmp/x": F(data="x"), "foo": S("/")})
    l = L(); l.add_symlink("..", "/etc")
    case("66 symlink named '..' is rejected", [l], error="'..' component")
    l = L(); l.add_symlink(".", "/etc")
    case("67 symlink replacing the root is refused", [l], error="root directory")
    l = L(); l.add_symlink("abs", "/etc/alternatives/x"); l.add_symlink("esc", "../../../etc/shadow")
    case("68 symlink targets kept verbatim", [l],
         paths={"abs": S("/etc/alternatives/x"), "esc": S("../../../etc/shadow")})
    l = L(); l.add_file("target", "t", mode=0o640); l.add_symlink("lnk", "target", mode=0o600)
    case("69 symlink mode ignored, target untouched", [l],
         paths={"lnk": S("target", mode="0777"), "target": F(mode="0640")})
    l = L(); l.add_file(".wh.etc/somefile", "x")
    case("70 directory named like a whiteout is rejected", [l], error="whiteout")
    long = "d" * 200 + "/" + "e" * 200 + "/" + "f" * 250
    l = L(); l.add_file("utf8-ñ-名前.txt", "u"); l.add_file(long, "long")
    case("71 UTF-8 and long names byte-exact", [l],
         paths={"utf8-ñ-名前.txt": F(data="u"), long: F(data="long")})
    l = L(); l.pax_global = {"comment": "global"}; l.add_file("after-global", "g")
    case("72 PAX global header ignored", [l], paths={"after-global": F(data="g")})

    # --- whiteouts (73-87)
    low = L(); low.add_file("file1", "1"); low.add_dir("b"); low.add_file("b/c/d", "d")
    up = L(); up.add_whiteout("file1"); up.add_whiteout("b")
    case("73/74 whiteout of a file and of a subtree", [low, up],
         absent=["file1", "b", "b/c/d", ".wh.file1", ".wh.b"])
    low = L(); low.add_file("bin/a", "a"); low.add_file("bin/b", "b"); low.add_file("bin/tools/x", "x")
    up = L(); up.add_dir("bin", mode=0o711); up.add_opaque("bin"); up.add_file("bin/new", "n")
    case("75 opaque directory", [low, up], paths={"bin/new": F(), "bin": D(mode="0711")},
         absent=["bin/a", "bin/b", "bin/tools", "bin/.wh..wh..opq"])
    low = L(); low.add_file("a/b/c/bar", "bar")
    up = L(); up.add_dir("a"); up.add_file("a/b/c/foo", "foo"); up.add_opaque("a")
    case("76 opaque marker after same-layer children", [low, up],
         paths={"a/b/c/foo": F(data="foo")}, absent=["a/b/c/bar"])
    l = L(); l.add_file("fileA", "A"); l.add_whiteout("fileA")
    case("77 same-layer whiteout does not hide same-layer file", [l], paths={"fileA": F(data="A")})
    low = L(); low.add_file("dir1/old", "o")
    up = L(); up.add_whiteout("dir1"); up.add_dir("dir1"); up.add_file("dir1/file", "f")
    case("78 whiteout then recreate in the same layer", [low, up],
         paths={"dir1/file": F(data="f")}, absent=["dir1/old"])
    low = L(); low.add_file("dir1/old", "o")
    up = L(); up.add_file("dir1/file", "f"); up.add_whiteout("dir1")
    case("78b recreate then whiteout in the same layer (order-independent)", [low, up],
         paths={"dir1/file": F(data="f"), "dir1": D(mode="0755")}, absent=["dir1/old"])
    for bad in (".wh.", ".wh..", "etc/.wh.."):
        l = L(); l.add_file(bad, "")
        case(f"79 invalid whiteout '{bad}'", [l], error="whiteout")
    l = L(); l.add_whiteout("does/not/exist"); l.add_file("ok", "ok")
    case("80 whiteout of a missing path is a no-op", [l], paths={"ok": F()})
    low = L(); low.add_dir("etc"); low.add_file("etc/x", "x"); low.add_symlink("localetc", "/etc")
    up = L(); up.add_whiteout("localetc/x")
    case("82 whiteout under a symlinked parent stays inside", [low, up],
         absent=["etc/x"], paths={"localetc": S("/etc")})
    low = L(); low.add_file("etc/keep", "k"); low.add_symlink("localetc", "/etc")
    up = L(); up.add_whiteout("localetc")
    case("83 whiteout of a symlink removes only the link", [low, up],
         absent=["localetc"], paths={"etc/keep": F(data="k")})
    low = L(); low.add_file("x", "x"); low.add_file("y", "y")
    up = L(); up.add_dir(".wh.x"); up.add_file(".wh.y", "not empty")
    case("84 whiteout stored as a dir or with data is still a whiteout", [low, up],
         absent=["x", "y", ".wh.x", ".wh.y"])
    low = L(); low.add_dir("p", mtime=777); low.add_file("p/f", "f", mtime=777)
    up = L(); up.add_whiteout("p/f")
    case("85 whiteout leaves the parent's mtime alone", [low, up],
         paths={"p": D(mtime=777)}, absent=["p/f"])
    l = L(); l.add_dir(".wh..wh.plnk"); l.add_file(".wh..wh.plnk/123.456", "x")
    l.add_file(".wh..wh.aufs", ""); l.add_file("real", "r")
    case("86 AUFS metadata is not extracted", [l], paths={"real": F()},
         absent=[".wh..wh.plnk", ".wh..wh.aufs"])
    l = L(); l.add_device("leaked", "char", 0, 0)
    case("87 char 0:0 is a device node", [l], paths={"leaked": {"type": "char", "rdev": "0:0"}})

    # --- replacement, parents, hardlinks, metadata (88-112)
    low = L(); low.add_file("a/child", "c")
    up = L(); up.add_file("a", "file now")
    case("88 dir replaced by a file", [low, up], paths={"a": F(data="file now")},
         absent=["a/child"])
    low = L(); low.add_file("a", "f")
    up = L(); up.add_dir("a", mode=0o700)
    case("89 file replaced by a dir", [low, up], paths={"a": D(mode="0700")})
    low = L(); low.add_dir("usr/lib"); low.add_symlink("lib", "usr/lib")
    up = L(); up.add_dir("lib"); up.add_file("lib/y", "y")
    case("90 symlink replaced by a dir entry", [low, up],
         paths={"lib": D(), "lib/y": F()}, absent=["usr/lib/y"])
    low = L(); low.add_dir("usr/lib"); low.add_symlink("lib", "usr/lib")
    up = L(); up.add_file("lib/x.so", "so")
    case("91 write through an in-image symlink", [low, up],
         paths={"usr/lib/x.so": F(data="so"), "lib": S("usr/lib")})
    low = L(); low.add_dir("d", mode=0o755, uid=1, gid=1, xattrs={"user.old": "1"})
    low.add_file("d/keep", "k")
    up = L(); up.add_dir("d", mode=0o750, uid=2, gid=3, mtime=4242, xattrs={"user.new": "2"})
    case("92 dir over dir merges and takes the upper attributes", [low, up],
         paths={"d": D(mode="0750", uid=2, gid=3, mtime=4242, xattrs=["user.new"],
                       no_xattrs=["user.old"]), "d/keep": F()})
    l = L(); l.add_file("nondir", "f"); l.add_file("nondir/foo/bar/baz", "b")
    case("93 file parent becomes a directory chain", [l],
         paths={"nondir": D(), "nondir/foo/bar/baz": F(data="b")})
    l = L(); l.add_file("a/b/c/file", "f", uid=5, gid=5)
    case("94 missing parents are 0755 root-owned", [l],
         paths={"a": D(mode="0755", uid=0, gid=0), "a/b/c": D(mode="0755", uid=0, gid=0),
                "a/b/c/file": F(uid=5, gid=5)})
    l = L(); l.add_file("dup", "first", mode=0o600); l.add_file("dup", "second", mode=0o644)
    case("95 duplicate entries: last wins", [l], paths={"dup": F(data="second", mode="0644")})
    low = L(); low.add_file("regular", "r")
    up = L(); up.add_hardlink("hard", "regular")
    case("96 hardlink to a lower-layer file", [low, up], same_inode=[["regular", "hard"]],
         paths={"hard": F(data="r", nlink=2)})
    l = L(); l.add_file("regular", "r", uid=7); l.add_hardlink("hard", "/regular", uid=1344)
    case("97 hardlink header metadata is not applied", [l],
         paths={"regular": F(uid=7), "hard": F(uid=7)}, same_inode=[["regular", "hard"]])
    l = L(); l.add_file("t", "t"); l.add_symlink("sym", "t"); l.add_hardlink("hsym", "sym")
    case("98 hardlink to a symlink is the symlink inode", [l],
         paths={"hsym": S("t")}, same_inode=[["sym", "hsym"]])
    l = L(); l.add_file("etc/passwd", "p"); l.add_symlink("breakouts/d1", "../../etc")
    l.add_hardlink("pw", "/breakouts/d1/passwd")
    case("99 hardlink target through an in-image symlink", [l], same_inode=[["pw", "etc/passwd"]])
    l = L(); l.add_hardlink("h", "missing")
    case("100 hardlink to a missing target", [l], error="does not exist")
    l = L(); l.add_dir("d"); l.add_hardlink("h", "d")
    case("100b hardlink to a directory", [l], error="directory")
    l = L(); l.add_hardlink("self", "self")
    case("100c hardlink to itself (cycle)", [l], error="does not exist")
    low = L(); low.add_file("one", "old"); low.add_hardlink("two", "one")
    up = L(); up.add_file("one", "new")
    case("101 replacing one name breaks the pair", [low, up],
         paths={"one": F(data="new", nlink=1), "two": F(data="old", nlink=1)})
    l = L(); l.add_file("suid", "s", mode=0o4755); l.add_file("sgid", "g", mode=0o2711)
    l.add_dir("sticky", mode=0o1777)
    case("102 setuid/setgid/sticky kept", [l],
         paths={"suid": F(mode="4755"), "sgid": F(mode="2711"), "sticky": D(mode="1777")})
    l = L(); l.add_file("ping", "p", mode=0o755, xattrs={"security.capability": CAP})
    case("103 security.capability kept (ext4)", [l],
         paths={"ping": F(xattrs=["security.capability"])})
    l = L(); l.add_file("lab", "l", xattrs={"security.selinux": "system_u:object_r:bin_t:s0",
                                            "user.keep": "k"})
    case("104 security.selinux dropped, user.* kept", [l],
         paths={"lab": F(xattrs=["user.keep"], no_xattrs=["security.selinux"])})
    l = L(); l.add_symlink("sl", "x", xattrs={"user.bad": "1", "trusted.ok": "1"})
    l.add_device("dev", "char", 1, 3, xattrs={"user.bad": "1"})
    case("105 user.* on symlinks and devices dropped", [l],
         paths={"sl": S("x", no_xattrs=["user.bad"], xattrs=["trusted.ok"]),
                "dev": {"type": "char", "no_xattrs": ["user.bad"]}})
    l = L()
    l.add_device("b1", "block", 128, 42); l.add_device("b2", "block", 255, 128)
    l.add_device("c1", "char", 133, 37); l.add_device("c2", "char", 253, 97)
    l.add_device("c3", "char", 259, 300000); l.add_fifo("ff", mode=0o600)
    case("106 device numbers and FIFOs exact", [l],
         paths={"b1": {"type": "block", "rdev": "128:42"}, "b2": {"type": "block", "rdev": "255:128"},
                "c1": {"type": "char", "rdev": "133:37"}, "c2": {"type": "char", "rdev": "253:97"},
                "c3": {"type": "char", "rdev": "259:300000"}, "ff": {"type": "fifo", "mode": "0600"}})
    low = L(); low.add_dir("locked", mode=0o000); low.add_dir("ro", mode=0o555)
    low.add_file("ro/a", "a")
    up = L(); up.add_file("locked/late", "l"); up.add_file("ro/b", "b")
    case("107 mode 000/0555 dirs keep their mode and get children", [low, up],
         paths={"locked": D(mode="0000"), "locked/late": F(), "ro": D(mode="0555"),
                "ro/a": F(), "ro/b": F()})
    l = L(); l.add_file("etc/shadow", "secret", mode=0o000)
    case("108 mode 000 file keeps content", [l], paths={"etc/shadow": F(mode="0000", data="secret")})
    l = L(); l.add_dir("dm", mtime=5555); l.add_file("dm/child", "c", mtime=9999)
    case("109 directory mtime from its header, after children", [l], paths={"dm": D(mtime=5555)})
    l = L(); l.add_file("big-ids", "i", uid=100000, gid=4000000000)
    case("110 uid/gid above 65535", [l], paths={"big-ids": F(uid=100000, gid=4000000000)})
    l = L()
    l.add_sparse("sparse", 5 * 1024 * 1024, [(0, "head"), (3 * 1024 * 1024, "middle")])
    body = bytearray(5 * 1024 * 1024)
    body[0:4] = b"head"
    body[3 * 1024 * 1024:3 * 1024 * 1024 + 6] = b"middle"
    import hashlib
    case("111 sparse file: size and content", [l],
         paths={"sparse": F(size=5 * 1024 * 1024, sha256=hashlib.sha256(body).hexdigest())})
    l = L("zstd"); l.add_file("z", "zstd")
    skippable = b"\x50\x2a\x4d\x18" + (8).to_bytes(4, "little") + b"metadata"
    l.blob_transform = lambda b: skippable + b + skippable
    case("112 zstd with skippable frames", [l], paths={"z": F(data="zstd")})

    # --- blobs and bad input (58-60 and the issue's bad-input list)
    l = L(); l.raw_tar = b""
    l.blob_transform = lambda b: b""
    case("58 zero-byte blob is an empty layer", [l, mk_file("after", "a")],
         paths={"after": F()})
    l = L("gzip"); l.add_file("g", "gz")
    case("59 gzip sniffed by magic", [l], paths={"g": F(data="gz")})
    l = L(); l.add_file("x", "x"); l.diff_id = "sha256:" + "0" * 64
    case("60 diff_id mismatch", [l], error="expected sha256:0000")
    l = L("gzip"); l.add_file("x", "x" * 1000)
    l.blob_transform = lambda b: b[:10] + bytes(x ^ 0x55 for x in b[10:])
    case("bad gzip", [l], error="corrupt gzip")
    l = L("zstd"); l.add_file("x", "x" * 1000)
    l.blob_transform = lambda b: b[:4] + b"\xff" * (len(b) - 4)
    case("bad zstd", [l], error="corrupt zstd")
    l = L(); l.add_file("x", "y" * 5000); l.raw_tar = l.tar_bytes()[:3000]
    case("truncated tar", [l], error="runcated")
    l = L(); l.raw_tar = absurd_size_tar()
    case("absurd header size", [l], error="layer ")
    l = L(); l.add_file("a/../../x", "x")
    case("name with /..", [l], error="'..' component")
    return c


def mk_file(path, data):
    l = L()
    l.add_file(path, data)
    return l


def absurd_size_tar():
    ti = tarfile.TarInfo("huge")
    ti.size = 0
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        t.addfile(ti, io.BytesIO(b""))
    raw = bytearray(buf.getvalue())
    raw[124:136] = b"77777777777\0"  # 8 GiB of data that is not there
    raw[148:156] = b"        "
    csum = sum(raw[:512])
    raw[148:156] = f"{csum:06o}\0 ".encode()
    return bytes(raw)


def write_case(d, layers):
    os.makedirs(d, exist_ok=True)
    out = []
    for i, l in enumerate(layers):
        blob, _, diff_id = l.build()
        p = os.path.join(d, f"{i}.blob")
        with open(p, "wb") as f:
            f.write(blob)
        out.append((p, diff_id))
    return out
