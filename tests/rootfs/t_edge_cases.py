#!/usr/bin/python3
"""tests/rootfs/t_edge_cases.py - every layer edge case, built as ext4 and as cpio.gz.

For each case of edge_cases.py: build with o2v_rootfs_build (through the test_rootfs_build
driver), then read the image back (debugfs / own newc parser) and compare with the expectation;
every ext4 must also pass `e2fsck -fn`. Error cases must fail with a message naming the layer and
containing the expected text, and leave no output file. Prints TAP.
"""
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import edge_cases  # noqa: E402
import imagecheck  # noqa: E402

build = os.environ.get("O2V_BUILD", os.path.join(here, "../../build"))
driver = os.path.join(build, "tests", "test_rootfs_build")
n = 0
failed = 0


def tap(ok, name, diag=()):
    global n, failed
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {name}")
    if not ok:
        failed += 1
        for d in diag:
            print(f"# {d}")
    sys.stdout.flush()


def main():
    if not os.access(driver, os.X_OK):
        print(f"1..0 # SKIP {driver} not built")
        return 0
    env = dict(os.environ, LC_ALL="C.UTF-8")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, layers, expect) in enumerate(edge_cases.cases()):
            d = os.path.join(tmp, str(i))
            blobs = edge_cases.write_case(d, layers)
            args = [f"{p}={diff_id}" for p, diff_id in blobs]
            for fmt in ("ext4", "cpio.gz"):
                out = os.path.join(d, "out." + fmt)
                r = subprocess.run([driver, "build", out, fmt, "--seed", name] + args,
                                   capture_output=True, text=True, env=env)
                if "error" in expect:
                    ok = (r.returncode != 0 and expect["error"] in r.stderr
                          and blobs[0][0].rsplit("/", 1)[0] in r.stderr
                          and not os.path.exists(out) and
                          not any("tmp-" in f for f in os.listdir(d)))
                    tap(ok, f"{name} [{fmt}]: fails cleanly",
                        [f"exit {r.returncode}: {r.stderr.strip()}"])
                    continue
                if r.returncode != 0:
                    tap(False, f"{name} [{fmt}]", [r.stderr.strip()])
                    continue
                diag = []
                if fmt == "ext4":
                    fsck = subprocess.run(["e2fsck", "-fn", out], capture_output=True, text=True)
                    if fsck.returncode != 0:
                        diag.append("e2fsck: " + fsck.stdout.strip().replace("\n", " | "))
                    objs = imagecheck.read_ext4(out, imagecheck.ext4_paths(expect, "/app_root"))
                else:
                    objs = imagecheck.read_cpio(out)
                diag += imagecheck.check(objs, expect, "ext4" if fmt == "ext4" else "cpio")
                tap(not diag, f"{name} [{fmt}]", diag)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
