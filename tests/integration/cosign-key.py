#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Independent cosign key-file and signature checks for cosign-sign.sh, from
# cosign's documented scheme (go-securesystemslib encrypted: scrypt, NaCl
# secretbox over a PKCS#8 key) with hashlib, PyNaCl and python3-cryptography.
#   check KEY PUB PASS      decrypt KEY, its public key must equal PUB
#   write KEY PUB PASS      write an encrypted P-256 key pair (old cosign label)
#   verify PUB PAYLOAD SIG  PAYLOAD (file) signed by SIG (base64) under PUB
#   pub KEY PASS            print the PEM public key of the encrypted KEY
import base64
import hashlib
import json
import sys

import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def pem_body(text, labels):
    lines = text.strip().splitlines()
    label = lines[0][len("-----BEGIN "):-5]
    if label not in labels or lines[-1] != "-----END %s-----" % label:
        sys.exit("unexpected PEM label %r" % label)
    return base64.b64decode("".join(l for l in lines[1:-1] if ":" not in l))


def decrypt(key, pw):
    doc = json.loads(pem_body(open(key).read(), ["ENCRYPTED SIGSTORE PRIVATE KEY"]))
    kdf, cipher = doc["kdf"], doc["cipher"]
    assert kdf["name"] == "scrypt" and cipher["name"] == "nacl/secretbox"
    assert kdf["params"] == {"N": 65536, "r": 8, "p": 1}, kdf["params"]
    salt = base64.b64decode(kdf["salt"])
    assert len(salt) == 32
    k = hashlib.scrypt(pw, salt=salt, n=65536, r=8, p=1, maxmem=128 << 20, dklen=32)
    der = nacl.secret.SecretBox(k).decrypt(base64.b64decode(doc["ciphertext"]),
                                           base64.b64decode(cipher["nonce"]))
    return serialization.load_der_private_key(der, None)


def main():
    cmd = sys.argv[1]
    if cmd == "pub":
        priv = decrypt(sys.argv[2], sys.argv[3].encode())
        sys.stdout.write(priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    elif cmd == "check":
        key, pub, pw = sys.argv[2], sys.argv[3], sys.argv[4].encode()
        priv = decrypt(key, pw)
        assert isinstance(priv, ec.EllipticCurvePrivateKey) and priv.curve.name == "secp256r1"
        mine = priv.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        theirs = serialization.load_pem_public_key(open(pub, "rb").read()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert mine == theirs, "the private key does not match the public key"
    elif cmd == "write":
        key, pub, pw = sys.argv[2], sys.argv[3], sys.argv[4].encode()
        priv = ec.generate_private_key(ec.SECP256R1())
        der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        salt = nacl.utils.random(32)
        k = hashlib.scrypt(pw, salt=salt, n=32768, r=8, p=1, maxmem=128 << 20, dklen=32)
        box = nacl.secret.SecretBox(k).encrypt(der)
        doc = {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1},
                       "salt": base64.b64encode(salt).decode()},
               "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(box.nonce).decode()},
               "ciphertext": base64.b64encode(box.ciphertext).decode()}
        b = base64.b64encode(json.dumps(doc).encode()).decode()
        with open(key, "w") as f:
            f.write("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n")
            f.write("\n".join(b[i:i + 64] for i in range(0, len(b), 64)))
            f.write("\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")
        with open(pub, "wb") as f:
            f.write(priv.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    elif cmd == "verify":
        pub = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
        payload = open(sys.argv[3], "rb").read()
        pub.verify(base64.b64decode(sys.argv[4]), payload, ec.ECDSA(hashes.SHA256()))
    else:
        sys.exit("unknown command")


import nacl.utils  # noqa: E402

main()
