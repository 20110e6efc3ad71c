#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a one-layer OCI image layout whose layer tar is given entry by entry,
so tests can make layers no image builder would (hostile names, fifos where
files belong, odd metadata, decompression bombs).

usage: mkimage.py LAYOUT SPEC.json

SPEC is a JSON object:
  "entries":     [{"name": "a/b", "type": "file"|"dir"|"fifo"|"symlink"|"hardlink",
                   "mode": "644" (octal string), "uid": 0, "gid": 0,
                   "data": "text" | "zeros": N (bytes of file data),
                   "link": "target" (symlink, hardlink),
                   "xattrs": {"user.x": "value"}}, ...]
  "trailing_zeros": N   zero bytes after the end of the archive (part of the
                        diffID, as tar padding is)
  "compression": "gzip" (default) | "zstd" | "none"
  "config":      the image config's "config" object (User, Cmd, ...)
The layout gets index.json with the reference name "t" (use oci:LAYOUT:t).
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

CHUNK = 1 << 20


class Zeros(io.RawIOBase):
    """A file of @n zero bytes."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "fifo": tarfile.FIFOTYPE,
         "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}


def write_tar(out, entries):
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = TYPES[e.get("type", "file")]
            mode = e.get("mode", "755" if ti.type == tarfile.DIRTYPE else "644")
            ti.mode = int(mode, 8) if isinstance(mode, str) else mode
            ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
            ti.mtime = e.get("mtime", 1500000000)
            ti.linkname = e.get("link", "")
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e.get("xattrs", {}).items()}
            data = None
            if "data" in e:
                raw = e["data"].encode()
                ti.size, data = len(raw), io.BytesIO(raw)
            elif "zeros" in e:
                ti.size, data = e["zeros"], io.BufferedReader(Zeros(e["zeros"]))
            t.addfile(ti, data)


class Sink:
    """Hashes the uncompressed stream (diffID) and compresses it into @path."""

    def __init__(self, path, compression):
        self.diff = hashlib.sha256()
        self.f = open(path, "wb")
        self.proc = self.z = None
        if compression == "zstd":
            self.proc = subprocess.Popen(["zstd", "-q", "-1", "-c"], stdin=subprocess.PIPE,
                                         stdout=self.f)
            self.out = self.proc.stdin
        elif compression == "gzip":
            self.z = self.out = gzip.GzipFile(fileobj=self.f, mode="wb", compresslevel=1, mtime=0)
        else:
            self.out = self.f

    def write(self, b):
        self.diff.update(b)
        self.out.write(b)
        return len(b)

    def close(self):
        if self.proc:
            self.proc.stdin.close()
            if self.proc.wait():
                sys.exit("zstd failed")
        elif self.z:
            self.z.close()
        self.f.close()


def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def main():
    layout, spec_path = sys.argv[1:3]
    with open(spec_path) as f:
        spec = json.load(f)
    comp = spec.get("compression", "gzip")
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    tmp = os.path.join(layout, "layer.tmp")
    sink = Sink(tmp, comp)
    write_tar(sink, spec.get("entries", []))
    left = spec.get("trailing_zeros", 0)
    zero = bytes(CHUNK)
    while left > 0:
        n = min(left, CHUNK)
        sink.write(zero[:n])
        left -= n
    sink.close()
    h = hashlib.sha256()
    with open(tmp, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    ld = h.hexdigest()
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar" +
             {"gzip": "+gzip", "zstd": "+zstd", "none": ""}[comp],
             "digest": "sha256:" + ld, "size": os.path.getsize(tmp)}
    os.rename(tmp, os.path.join(layout, "blobs", "sha256", ld))
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    config = {"architecture": arch, "os": "linux", "config": spec.get("config", {}),
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sink.diff.hexdigest()]}}
    cd = blob(layout, json.dumps(config).encode())
    cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cd, "layers": [layer]}
    md = blob(layout, json.dumps(manifest).encode())
    md["mediaType"] = manifest["mediaType"]
    md["annotations"] = {"org.opencontainers.image.ref.name": "t"}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [md]}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


if __name__ == "__main__":
    main()
