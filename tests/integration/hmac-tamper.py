#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Flip one ciphertext byte in the middle of the largest layer of the OCI
layout LAYOUT (its first manifest) and store it under its new digest, with
the manifest and index.json rewritten to point at it: the blob is intact,
its HMAC is not.  Fails when that layer is not larger than MIN_SIZE bytes.

  hmac-tamper.py LAYOUT [MIN_SIZE]"""
import hashlib, json, os, sys

lay = sys.argv[1]
min_size = int(sys.argv[2]) if len(sys.argv) > 2 else 0


def blob(d):
    return os.path.join(lay, "blobs", *d.split(":"))


def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(d), "wb") as f:
        f.write(data)
    return d


idx = json.load(open(os.path.join(lay, "index.json")))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
big = max(m["layers"], key=lambda l: l["size"])
if big["size"] <= min_size:
    sys.exit(f"the largest layer has {big['size']} bytes, not more than {min_size}")
data = bytearray(open(blob(big["digest"]), "rb").read())
data[len(data) // 2] ^= 0x01
big["digest"] = put(bytes(data))
raw = json.dumps(m).encode()
idx["manifests"][0].update(digest=put(raw), size=len(raw))
with open(os.path.join(lay, "index.json"), "w") as f:
    json.dump(idx, f)
