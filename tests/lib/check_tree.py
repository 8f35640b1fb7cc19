#!/usr/bin/python3
"""tests/lib/check_tree.py - assert a flattened root against testdata/edge-layers.py's expectations.

  check_tree.py EXPECTED_JSON TAG --root DIR [--no-xattrs] [--no-owners]
      the flattening succeeded and DIR is the container root (an extracted cpio, a mounted or
      debugfs-rdumped ext4, an `umoci unpack` rootfs...): passes if one expected outcome with
      "paths" holds for DIR
  check_tree.py EXPECTED_JSON TAG --error MESSAGE
      the flattening failed with MESSAGE: passes if an expected outcome is an error whose
      match_any matches (case-insensitive) and, with --strict-error, whose layer digest (full or
      the first 12 hex digits) and entry appear in MESSAGE
  check_tree.py EXPECTED_JSON --list       tags, one a line
Prints what differs (one line per difference, prefixed "# ") and exits 0 (pass) or 1 (fail).
--no-xattrs skips xattr keys (cpio output cannot hold them); --no-owners skips uid/gid (a tree
extracted without root). Mode, type, size, content, link targets, devices, mtimes and inode
identity are always checked.
"""

import argparse
import hashlib
import json
import os
import stat
import sys

TYPES = {"file": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK,
         "char": stat.S_ISCHR, "block": stat.S_ISBLK, "fifo": stat.S_ISFIFO}


def fsencode_hex(h):
    return bytes.fromhex(h)


def check_entry(root, path, want, opts):
    """path: bytes relative to root ('/x'). Returns a list of differences."""
    p = os.path.join(os.fsencode(root), path.lstrip(b"/"))
    shown = path.decode("utf-8", "backslashreplace")
    try:
        st = os.lstat(p)
    except OSError as e:
        return [f"{shown}: missing ({e.strerror})"]
    diffs = []

    def bad(key, got, exp):
        diffs.append(f"{shown}: {key} is {got!r}, want {exp!r}")

    t = want.get("type")
    if t and not TYPES[t](st.st_mode):
        bad("type", stat.filemode(st.st_mode)[0], t)
        return diffs
    if "mode" in want and stat.S_IMODE(st.st_mode) != int(want["mode"], 8):
        bad("mode", "%04o" % stat.S_IMODE(st.st_mode), want["mode"])
    if not opts.no_owners:
        for k, v in (("uid", st.st_uid), ("gid", st.st_gid)):
            if k in want and v != want[k]:
                bad(k, v, want[k])
    if "size" in want and st.st_size != want["size"]:
        bad("size", st.st_size, want["size"])
    if "sha256" in want and stat.S_ISREG(st.st_mode):
        h = hashlib.sha256()
        try:
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            if h.hexdigest() != want["sha256"]:
                bad("sha256", h.hexdigest()[:16] + "...", want["sha256"][:16] + "...")
        except OSError as e:
            diffs.append(f"{shown}: cannot read ({e.strerror})")
    if "target" in want:
        got = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
        if got != os.fsencode(want["target"]):
            bad("target", got, want["target"])
    if "rdev" in want:
        got = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        if got != want["rdev"]:
            bad("rdev", got, want["rdev"])
    if "mtime" in want and int(st.st_mtime) != want["mtime"]:
        bad("mtime", int(st.st_mtime), want["mtime"])
    if "nlink" in want and st.st_nlink != want["nlink"]:
        bad("nlink", st.st_nlink, want["nlink"])
    for key, same in (("same_inode_as", True), ("not_same_inode_as", False)):
        if key in want:
            try:
                o = os.lstat(os.path.join(os.fsencode(root), os.fsencode(want[key]).lstrip(b"/")))
                if ((o.st_ino, o.st_dev) == (st.st_ino, st.st_dev)) != same:
                    diffs.append(f"{shown}: {'not ' if same else ''}the same inode as {want[key]}")
            except OSError:
                diffs.append(f"{shown}: {key} {want[key]} is missing")
    if not opts.no_xattrs:
        for k, v in want.get("xattrs", {}).items():
            try:
                got = os.getxattr(p, k, follow_symlinks=False).hex()
            except OSError:
                got = None
            if got != v:
                bad(f"xattr {k}", got, v)
        for k in want.get("xattrs_absent", []):
            try:
                os.getxattr(p, k, follow_symlinks=False)
                diffs.append(f"{shown}: xattr {k} present, want none")
            except OSError:
                pass
    return diffs


def check_tree(root, outcome, opts):
    diffs = []
    items = [(os.fsencode(k), v) for k, v in outcome.get("paths", {}).items()]
    items += [(bytes.fromhex(k), v) for k, v in outcome.get("paths_hex", {}).items()]
    for path, want in items:
        diffs += check_entry(root, path, want, opts)
    for path in outcome.get("absent", []):
        if os.path.lexists(os.path.join(os.fsencode(root), os.fsencode(path).lstrip(b"/"))):
            diffs.append(f"{path}: exists, want absent")
    return diffs


def check_error(msg, outcome, opts):
    e = outcome["error"]
    low = msg.lower()
    if not any(m.lower() in low for m in e["match_any"]):
        return [f"error message matches none of {e['match_any']}: {msg!r}"]
    diffs = []
    if opts.strict_error:
        hexd = e["layer_digest"].split(":", 1)[1]
        if hexd[:12] not in msg:
            diffs.append(f"error message does not name layer {e['layer_digest'][:19]}...")
        if "entry" in e and e["entry"] not in msg:
            diffs.append(f"error message does not name entry {e['entry']!r}")
    return diffs


def main():
    ap = argparse.ArgumentParser(description="check a flattened root (see the file header)")
    ap.add_argument("expected")
    ap.add_argument("tag", nargs="?")
    ap.add_argument("--root")
    ap.add_argument("--error")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-xattrs", action="store_true")
    ap.add_argument("--no-owners", action="store_true")
    ap.add_argument("--strict-error", action="store_true")
    a = ap.parse_args()
    with open(a.expected) as f:
        doc = json.load(f)
    if a.list:
        print("\n".join(doc["cases"]))
        return 0
    if not a.tag or (a.root is None) == (a.error is None):
        ap.error("give TAG and exactly one of --root or --error")
    c = doc["cases"][a.tag]
    outcomes = c["expect"].get("one_of", [c["expect"]])
    report = []
    for o in outcomes:
        if a.error is not None:
            if "error" not in o:
                report.append(["the flattening should have succeeded: " + a.error])
                continue
            d = check_error(a.error, o, a)
        else:
            if "error" in o:
                report.append([f"the flattening should have failed ({o['error']['match_any']})"])
                continue
            d = check_tree(a.root, o, a)
        if not d:
            return 0
        report.append(d)
    for i, d in enumerate(report):
        if len(report) > 1:
            print(f"# outcome {i + 1} of {len(report)}:")
        for line in d:
            print("# " + line.replace("\n", "\\n"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
