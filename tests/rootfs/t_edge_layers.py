#!/usr/bin/python3
"""tests/rootfs/t_edge_layers.py - testdata/edge-layers.py's cases through `oci2vm export`.

For every tag of the edge-layers layout: `oci2vm export oci:LAYOUT:TAG` to ext4 and cpio.gz
(a private OCI2VM_CACHE), read the result back with imagecheck.py and compare with
expected.json (OUTCOME, or any of "one_of"); error outcomes must fail with the expected text,
name the layer digest, and leave no output. Every ext4 must pass `e2fsck -fn`. Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.abspath(os.path.join(here, "../.."))
sys.path.insert(0, here)
import imagecheck  # noqa: E402

build = os.environ.get("O2V_BUILD", os.path.join(top, "build"))
oci2vm = os.path.join(build, "oci2vm")


def entry_fails(p, want, o, fmt):
    if o is None:
        return [f"{p}: missing"]
    f = []
    for k, v in want.items():
        if k == "mode":
            if o.mode != int(v, 8):
                f.append(f"{p}: mode {o.mode:04o}, want {v}")
        elif k == "rdev":
            if o.rdev != f"{v[0]}:{v[1]}":
                f.append(f"{p}: rdev {o.rdev}, want {v}")
        elif k in ("same_inode_as", "not_same_inode_as"):
            continue  # checked by the caller, which has all objects
        elif k == "xattrs":
            if fmt == "ext4" and not set(v) <= (o.xattrs or set()):
                f.append(f"{p}: xattrs {sorted(o.xattrs or [])}, want {sorted(v)}")
        elif k == "xattrs_absent":
            if set(v) & (o.xattrs or set()):
                f.append(f"{p}: xattrs {sorted(set(v) & o.xattrs)} should be absent")
        elif k == "nlink" and o.type == "dir":
            continue
        elif o.get(k) != v:
            f.append(f"{p}: {k} {o.get(k)!r}, want {v!r}")
    return f


def outcome_fails(outcome, objs, fmt, root):
    f = []
    paths = outcome.get("paths", {})
    for p, want in paths.items():
        key = root + ("" if p == "/" else p)
        o = objs.get(key) if p != "/" else imagecheck.Obj(type="dir")
        f += entry_fails(p, want, o, fmt)
        for rel, same in (("same_inode_as", True), ("not_same_inode_as", False)):
            if rel in want and o is not None:
                other = objs.get(root + want[rel])
                if other is None or (other.ino == o.ino) != same:
                    f.append(f"{p}: {rel} {want[rel]} does not hold")
    for p in outcome.get("absent", []):
        if root + p in objs:
            f.append(f"{p}: present, want absent")
    if outcome.get("paths_hex"):
        for hx in outcome["paths_hex"]:
            p = bytes.fromhex(hx).decode("utf-8", "surrogateescape")
            if root + p not in objs:
                f.append(f"{p!r}: missing")
    return f


def all_paths(outcome):
    ps = set(outcome.get("paths", {})) | set(outcome.get("absent", []))
    for want in outcome.get("paths", {}).values():
        for rel in ("same_inode_as", "not_same_inode_as"):
            if rel in want:
                ps.add(want[rel])
    for hx in outcome.get("paths_hex", {}):
        ps.add(bytes.fromhex(hx).decode("utf-8", "surrogateescape"))
    return ps - {"/"}


def main():
    if not os.access(oci2vm, os.X_OK):
        print(f"1..0 # SKIP {oci2vm} not built")
        return 0
    r = subprocess.run([os.path.join(top, "testdata/edge-layers.py")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print(f"1..0 # SKIP testdata/edge-layers.py failed: {r.stderr.strip()[-200:]}")
        return 0
    exp = json.load(open(os.path.join(r.stdout.strip(), "expected.json")))
    layout = os.path.join(r.stdout.strip(), "layout")  # the recorded path may be elsewhere
    n = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, OCI2VM_CACHE=os.path.join(tmp, "cache"), LC_ALL="C.UTF-8")
        for tag, case in sorted(exp["cases"].items()):
            outcomes = case["expect"].get("one_of", [case["expect"]])
            for fmt in ("ext4", "cpio.gz"):
                out = os.path.join(tmp, f"out.{fmt}")
                res = subprocess.run([oci2vm, "export", "-q", f"oci:{layout}:{tag}", out],
                                     capture_output=True, text=True, env=env)
                diag = []
                if res.returncode != 0:
                    msg = res.stderr.lower()
                    ok = any("error" in o and
                             any(s.lower() in msg for s in o["error"]["match_any"]) and
                             o["error"]["layer_digest"] in res.stderr
                             for o in outcomes)
                    if os.path.exists(out) or any(".tmp-" in f for f in os.listdir(tmp)):
                        ok = False
                        diag.append("output or temporary file left behind")
                    diag.append(res.stderr.strip())
                else:
                    paths = set().union(*(all_paths(o) for o in outcomes if "error" not in o))
                    if fmt == "ext4":
                        fsck = subprocess.run(["e2fsck", "-fn", out], capture_output=True,
                                              text=True)
                        if fsck.returncode:
                            diag.append("e2fsck: " + fsck.stdout.replace("\n", " | "))
                        objs = imagecheck.read_ext4(out, sorted("/app_root" + p for p in paths))
                    else:
                        objs = imagecheck.read_cpio(out)
                    results = [outcome_fails(o, objs, fmt, "/app_root")
                               for o in outcomes if "error" not in o]
                    ok = not diag and any(not x for x in results)
                    if not ok:
                        diag += results[0] if results else ["succeeded, an error was expected"]
                    os.unlink(out)
                n += 1
                failed += not ok
                print(f"{'ok' if ok else 'not ok'} {n} - {tag} [{fmt}]")
                if not ok:
                    for d in diag:
                        print(f"# {d}")
                sys.stdout.flush()
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
