#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare two extracted rootfs trees: file list, types, modes, owners,
sizes, content hashes, symlink targets, hardlink identity (same inode
groups), xattrs and (non-directory) mtimes.  Exit 0 when equal, 1 with a
list of differences otherwise.

usage: tree-compare.py [--no-mtime] A B
"""
import hashlib
import os
import stat
import sys

IGNORED_XATTRS = {"security.selinux"}


def scan(root, with_mtime):
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [""] + dirnames + filenames if dirpath == root else dirnames + filenames:
            path = os.path.join(dirpath, name) if name else dirpath
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            info = {
                "type": stat.S_IFMT(st.st_mode),
                "mode": oct(stat.S_IMODE(st.st_mode)),
                "uid": st.st_uid,
                "gid": st.st_gid,
            }
            if stat.S_ISREG(st.st_mode):
                info["size"] = st.st_size
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 16), b""):
                        h.update(chunk)
                info["sha256"] = h.hexdigest()
                inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                info["target"] = os.readlink(path)
                del info["mode"]  # symlink modes are meaningless
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                info["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            if with_mtime and not stat.S_ISDIR(st.st_mode):
                info["mtime"] = int(st.st_mtime)
            try:
                names = os.listxattr(path, follow_symlinks=False)
            except OSError:
                names = []
            info["xattrs"] = {
                n: os.getxattr(path, n, follow_symlinks=False).hex()
                for n in sorted(names)
                if n not in IGNORED_XATTRS
            }
            entries[rel] = info
    groups = sorted(sorted(v) for v in inodes.values() if len(v) > 1)
    return entries, groups


def main():
    args = sys.argv[1:]
    with_mtime = True
    if args and args[0] == "--no-mtime":
        with_mtime = False
        args = args[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, ga = scan(args[0], with_mtime)
    b, gb = scan(args[1], with_mtime)
    diffs = []
    for rel in sorted(set(a) | set(b)):
        if rel not in a:
            diffs.append(f"only in B: {rel}")
        elif rel not in b:
            diffs.append(f"only in A: {rel}")
        elif a[rel] != b[rel]:
            for k in sorted(set(a[rel]) | set(b[rel])):
                if a[rel].get(k) != b[rel].get(k):
                    diffs.append(f"{rel}: {k}: {a[rel].get(k)!r} != {b[rel].get(k)!r}")
    if ga != gb:
        diffs.append(f"hardlink groups differ: {ga} != {gb}")
    for d in diffs:
        print(d)
    print(f"# compared {len(a)} entries, {len(ga)} hardlink groups", file=sys.stderr)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
