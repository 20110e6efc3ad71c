#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a benchmark OCI layout DIR (ref v1) of about SIZE_MIB MiB in LAYERS
gzip layers (default 4): incompressible ones plus one compressible one.

  mkimage.py DIR SIZE_MIB [LAYERS [COMPRESSION]]

COMPRESSION: gzip (default) or none; with none every layer is
incompressible (uncompressed tar: big layers are made at disk speed).

Streams; never holds a
layer in memory.  Also leaves DIR.manifest.json (a copy) for the script."""
import gzip, hashlib, io, json, os, sys, tarfile

out, size_mib = sys.argv[1], int(sys.argv[2])
n_layers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
compression = sys.argv[4] if len(sys.argv) > 4 else "gzip"
if compression not in ("gzip", "none"):
    sys.exit("COMPRESSION is gzip or none")
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)

def put_blob(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    d = h.hexdigest()
    os.replace(path, f"{out}/blobs/sha256/{d}")
    return "sha256:" + d, os.path.getsize(f"{out}/blobs/sha256/{d}")

class Gen(io.RawIOBase):
    def __init__(self, n, random):
        self.left, self.random, self.seed = n, random, b"cocoimg"
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left)
        if n == 0: return 0
        if self.random:
            data = os.urandom(n)
        else:
            line = b"compressible benchmark text line for coco-img 0123456789\n"
            data = (line * (n // len(line) + 1))[:n]
        b[:n] = data
        self.left -= n
        return n

layers, diff_ids = [], []
per = size_mib * (1 << 20) // n_layers
for i in range(n_layers):
    tmp = f"{out}/layer.tmp"
    raw = hashlib.sha256()
    class Tee(io.RawIOBase):
        def __init__(self, f): self.f = f
        def writable(self): return True
        def write(self, b): raw.update(b); return self.f.write(b)
    with open(tmp, "wb") as f:
        gz = gzip.GzipFile(fileobj=f, mode="wb", compresslevel=1, mtime=0) if compression == "gzip" else f
        random = compression == "none" or i != n_layers - 1
        with tarfile.open(fileobj=Tee(gz), mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20) as t:
            ti = tarfile.TarInfo(f"data{i}.bin"); ti.size = per; ti.mtime = 0
            t.addfile(ti, io.BufferedReader(Gen(per, random=random), 1 << 20))
        if compression == "gzip":
            gz.close()
    d, s = put_blob(tmp)
    mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compression == "gzip" else "")
    layers.append({"mediaType": mt, "digest": d, "size": s})
    diff_ids.append("sha256:" + raw.hexdigest())

config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
with open(f"{out}/c.tmp", "wb") as f: f.write(config)
cd, cs = put_blob(f"{out}/c.tmp")
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                       "layers": layers}).encode()
with open(f"{out}/m.tmp", "wb") as f: f.write(manifest)
md, ms = put_blob(f"{out}/m.tmp")
with open(f"{out}/oci-layout", "w") as f: json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(f"{out}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
               "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
with open(f"{out}.manifest.json", "wb") as f: f.write(manifest)
