#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Make a cosign signature artifact the way cosign lays it out, with
python3-cryptography (independent of coco-img's C code):

  cosign-sign.py KEYTYPE KEYDIR DIGEST DOCKER-REF LAYOUT [--other-digest D]

KEYTYPE: ec256 | ec384 | rsa | rsa-pss | ed25519.  A key is made in KEYDIR
(key.pem, pub.pem) unless there.  LAYOUT becomes an OCI image layout whose
image ("sig") is the .sig artifact: one layer of media type
application/vnd.dev.cosign.simplesigning.v1+json (the payload) with the
base64 signature in the annotation dev.cosignproject.cosign/signature."""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

kt, keydir, digest, ref, layout = sys.argv[1:6]
payload_digest = digest
if '--other-digest' in sys.argv:
    payload_digest = sys.argv[sys.argv.index('--other-digest') + 1]
os.makedirs(keydir, exist_ok=True)
kp = os.path.join(keydir, 'key.pem')
if os.path.exists(kp):
    key = serialization.load_pem_private_key(open(kp, 'rb').read(), None)
else:
    key = {'ec256': lambda: ec.generate_private_key(ec.SECP256R1()),
           'ec384': lambda: ec.generate_private_key(ec.SECP384R1()),
           'rsa': lambda: rsa.generate_private_key(65537, 2048),
           'rsa-pss': lambda: rsa.generate_private_key(65537, 2048),
           'ed25519': ed25519.Ed25519PrivateKey.generate}[kt]()
    open(kp, 'wb').write(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    open(os.path.join(keydir, 'pub.pem'), 'wb').write(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

payload = json.dumps({"critical": {"identity": {"docker-reference": ref},
                                   "image": {"docker-manifest-digest": payload_digest},
                                   "type": "cosign container image signature"},
                      "optional": None}, separators=(',', ':')).encode()
if kt == 'ec256':
    sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
elif kt == 'ec384':
    sig = key.sign(payload, ec.ECDSA(hashes.SHA384()))
elif kt == 'rsa':
    sig = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
elif kt == 'rsa-pss':
    sig = key.sign(payload, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH),
                   hashes.SHA256())
else:
    sig = key.sign(payload)

blobs = os.path.join(layout, 'blobs', 'sha256')
os.makedirs(blobs, exist_ok=True)


def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, h), 'wb').write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


config = put(json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode())
layer = put(payload)
layer.update({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
              "annotations": {"dev.cosignproject.cosign/signature":
                              base64.b64encode(sig).decode()}})
config["mediaType"] = "application/vnd.oci.image.config.v1+json"
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": config, "layers": [layer]}).encode()
m = put(manifest)
m.update({"mediaType": "application/vnd.oci.image.manifest.v1+json",
          "annotations": {"org.opencontainers.image.ref.name": "sig"}})
open(os.path.join(layout, 'oci-layout'), 'w').write('{"imageLayoutVersion": "1.0.0"}')
open(os.path.join(layout, 'index.json'), 'w').write(json.dumps({"schemaVersion": 2, "manifests": [m]}))
