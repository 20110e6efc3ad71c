#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tamper with one layer of an OCI layout (first manifest of index.json, or
the one with ref name REF) and re-seal the manifest and index digests, so
only the targeted check can catch it.

  tamper.py LAYOUT REF flip LAYER OFFSET        flip one byte of the layer blob
  tamper.py LAYOUT REF truncate LAYER N         drop the last N bytes
  tamper.py LAYOUT REF annotation LAYER KEY VAL set (VAL '-' removes) an annotation
  tamper.py LAYOUT REF pubopts-hmac LAYER       replace the HMAC in pubopts
  tamper.py LAYOUT REF pubopts-nonce LAYER      add a (zero) cipheroptions.nonce to pubopts
  tamper.py LAYOUT REF diffid LAYER             change config rootfs.diff_ids[LAYER]
"""
import base64, hashlib, json, os, sys

layout, ref, op, layer = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
args = sys.argv[5:]

def blob(d):
    return os.path.join(layout, "blobs", *d.split(":", 1))

def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(d), "wb") as f:
        f.write(data)
    return d, len(data)

index = json.load(open(os.path.join(layout, "index.json")))
entry = next(m for m in index["manifests"]
             if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref)
manifest = json.load(open(blob(entry["digest"])))
desc = manifest["layers"][layer]

if op in ("flip", "truncate"):
    data = bytearray(open(blob(desc["digest"]), "rb").read())
    if op == "flip":
        data[int(args[0])] ^= 0x01
    else:
        del data[len(data) - int(args[0]):]
    desc["digest"], desc["size"] = put(bytes(data))
elif op == "annotation":
    ann = desc.setdefault("annotations", {})
    if args[1] == "-":
        ann.pop(args[0], None)
    else:
        ann[args[0]] = args[1]
elif op == "pubopts-hmac":
    ann = desc["annotations"]
    pub = json.loads(base64.b64decode(ann["org.opencontainers.image.enc.pubopts"]))
    pub["hmac"] = base64.b64encode(bytes(32)).decode()
    ann["org.opencontainers.image.enc.pubopts"] = base64.b64encode(
        json.dumps(pub, separators=(",", ":")).encode()).decode()
elif op == "pubopts-nonce":
    ann = desc["annotations"]
    pub = json.loads(base64.b64decode(ann["org.opencontainers.image.enc.pubopts"]))
    pub["cipheroptions"] = {"nonce": base64.b64encode(bytes(16)).decode()}
    ann["org.opencontainers.image.enc.pubopts"] = base64.b64encode(
        json.dumps(pub, separators=(",", ":")).encode()).decode()
elif op == "diffid":
    cfg = json.load(open(blob(manifest["config"]["digest"])))
    cfg["rootfs"]["diff_ids"][layer] = "sha256:" + "0" * 64
    manifest["config"]["digest"], manifest["config"]["size"] = put(
        json.dumps(cfg, separators=(",", ":")).encode())
else:
    sys.exit(f"unknown operation {op}")

entry["digest"], entry["size"] = put(json.dumps(manifest, separators=(",", ":")).encode())
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(index, f, separators=(",", ":"))
