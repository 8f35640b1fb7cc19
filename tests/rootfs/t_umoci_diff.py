#!/usr/bin/python3
"""tests/rootfs/t_umoci_diff.py - differential test against `umoci unpack` (needs root).

The realistic multi-layer image (testdata/redis-image.sh) is flattened by umoci (the oracle)
and exported by oci2vm as cpio.gz and ext4. Every path must agree on type, mode, owner, size,
symlink target, device number and content hash, and hardlink groups must match; the ext4 is
read back with `debugfs rdump` (as root, which keeps owners and modes) and must pass e2fsck.
What oci2vm adds on purpose, like Docker's init layer (rootfs/build.c: mount points and the
/etc files init bind-mounts over, where the image lacks them), is added to umoci's tree first,
with the exact attributes expected.
"""
import hashlib
import os
import stat
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.abspath(os.path.join(here, "../.."))
sys.path.insert(0, here)
import imagecheck  # noqa: E402

oci2vm = os.path.join(os.environ.get("O2V_BUILD", os.path.join(top, "build")), "oci2vm")
n = 0
failed = 0


def tap(ok, name, diag=()):
    global n, failed
    n += 1
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {name}")
    for d in list(diag)[:30] if not ok else []:
        print(f"# {d}")
    sys.stdout.flush()


def walk(root):
    """{"/path": Obj} of a directory tree, like imagecheck's readers."""
    objs = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = "/" + os.path.relpath(full, root)
            t = imagecheck.TYPES[stat.S_IFMT(st.st_mode)]
            o = imagecheck.Obj(type=t, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid,
                               gid=st.st_gid, ino=st.st_ino, nlink=st.st_nlink)
            if t == "file":
                with open(full, "rb") as f:
                    o["sha256"] = hashlib.sha256(f.read()).hexdigest()
                o["size"] = st.st_size
            elif t == "symlink":
                o["target"] = os.readlink(full)
            elif t in ("char", "block"):
                o["rdev"] = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            objs[rel] = o
    return objs


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
INIT_LAYER = [
    ("/proc", imagecheck.Obj(type="dir", mode=0o755, uid=0, gid=0)),
    ("/sys", imagecheck.Obj(type="dir", mode=0o755, uid=0, gid=0)),
    ("/dev", imagecheck.Obj(type="dir", mode=0o755, uid=0, gid=0)),
    ("/etc", imagecheck.Obj(type="dir", mode=0o755, uid=0, gid=0)),
    ("/etc/hosts", imagecheck.Obj(type="file", mode=0o644, uid=0, gid=0, size=0,
                                  sha256=EMPTY_SHA256)),
    ("/etc/hostname", imagecheck.Obj(type="file", mode=0o644, uid=0, gid=0, size=0,
                                     sha256=EMPTY_SHA256)),
    ("/etc/resolv.conf", imagecheck.Obj(type="file", mode=0o644, uid=0, gid=0, size=0,
                                        sha256=EMPTY_SHA256)),
    ("/etc/mtab", imagecheck.Obj(type="symlink", mode=0o777, uid=0, gid=0,
                                 target="/proc/mounts")),
]


def with_init_layer(objs):
    """objs plus what oci2vm's init layer adds where an image lacks it (not behind symlinks)."""
    out = dict(objs)
    for path, obj in INIT_LAYER:
        parent = os.path.dirname(path)
        if path in out or (parent != "/" and out.get(parent, {}).get("type") != "dir"):
            continue
        out[path] = imagecheck.Obj(obj, ino=("init layer", path))  # no hardlink group
    return out


def compare(want, got, what):
    diag = []
    for p in sorted(set(want) | set(got)):
        a, b = want.get(p), got.get(p)
        if a is None or b is None:
            diag.append(f"{p}: only in {'oci2vm' if a is None else 'umoci'}")
            continue
        for k in ("type", "mode", "uid", "gid", "size", "sha256", "target", "rdev"):
            if k == "size" and a.type != "file":
                continue
            if a.get(k) != b.get(k):
                diag.append(f"{p}: {k} umoci={a.get(k)!r} {what}={b.get(k)!r}")
    # hardlink groups: same partition of regular files by inode
    def groups(objs):
        g = {}
        for p, o in objs.items():
            if o.type == "file":
                g.setdefault(o.ino, []).append(p)
        return sorted(sorted(v) for v in g.values() if len(v) > 1)
    if groups(want) != groups(got):
        diag.append(f"hardlink groups differ: umoci {groups(want)[:5]} {what} {groups(got)[:5]}")
    return diag


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP umoci unpack needs root")
        return 0
    if not os.access(oci2vm, os.X_OK):
        print(f"1..0 # SKIP {oci2vm} not built")
        return 0
    r = subprocess.run([os.path.join(top, "testdata/redis-image.sh")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print(f"1..0 # SKIP testdata/redis-image.sh failed: {r.stderr.strip()[-200:]}")
        return 0
    layout = r.stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", f"{tmp}/bundle"],
                       check=True, capture_output=True)
        want = with_init_layer(walk(f"{tmp}/bundle/rootfs"))
        env = dict(os.environ, OCI2VM_CACHE=f"{tmp}/cache")
        for fmt in ("cpio.gz", "ext4"):
            out = f"{tmp}/image.{fmt}"
            r = subprocess.run([oci2vm, "export", "-q", f"oci:{layout}:latest", out],
                               capture_output=True, text=True, env=env)
            if r.returncode:
                tap(False, f"export {fmt}", [r.stderr])
                continue
            if fmt == "cpio.gz":
                got = {p[len("/app_root"):]: o for p, o in imagecheck.read_cpio(out).items()
                       if p.startswith("/app_root/")}
            else:
                fsck = subprocess.run(["e2fsck", "-fn", out], capture_output=True, text=True)
                tap(fsck.returncode == 0, "redis ext4 passes e2fsck -fn", [fsck.stdout])
                # debugfs rdump would lose setuid bits and hardlinks: stat every path
                got = {p[len("/app_root"):]: o for p, o in
                       imagecheck.read_ext4(out, ["/app_root" + p for p in want]).items()}
            diag = compare(want, got, "oci2vm")
            tap(not diag, f"redis image: oci2vm {fmt} equals umoci unpack "
                f"({len(want)} paths)", diag)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
