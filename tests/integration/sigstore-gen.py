#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Make keyless (Fulcio + Rekor), PKI and key-based+Rekor cosign signatures
with python3-cryptography, independently of coco-img's C code.

  sigstore-gen.py init DIR
      DIR/{fulcio-root,fulcio-inter,other-root,pki-root,pki-inter}.{pem,key},
      DIR/rekor.{pem,key}, DIR/rekor-other.{pem,key}, DIR/ec.{pem,key}
  sigstore-gen.py sign DIR DIGEST DOCKER-REF LAYOUT [options]
      --mode fulcio|pki|key   (fulcio)
      --ca other              leaf issued by an unrelated CA
      --issuer-v1 S --issuer-v2 S   ('' leaves an extension out)
      --email E --host H      SAN
      --no-codesign           leaf without the codeSigning EKU
      --expired               leaf valid [now-2h, now-110m], entry integrated in it
      --no-set                no bundle annotation
      --set-key other         SET signed by another key
      --body-sig-other        entry names another signature
      --body-cert-other       entry names another certificate
      --tamper-time           integratedTime changed after signing the SET
      --time-outside          integratedTime one hour after the leaf expired
      --chain root            chain annotation: root only (no intermediate)
The attachment layout is cosign's (see cosign-sign.py): one simplesigning
layer with the annotations dev.cosignproject.cosign/signature,
dev.sigstore.cosign/certificate, dev.sigstore.cosign/chain and
dev.sigstore.cosign/bundle."""
import argparse, base64, datetime, hashlib, json, os, sys
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

NOW = datetime.datetime.now(datetime.timezone.utc)
D = datetime.timedelta


def newkey():
    return ec.generate_private_key(ec.SECP256R1())


def save(d, name, key, cert=None):
    open(os.path.join(d, name + '.key'), 'wb').write(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    if cert is not None:
        data = cert.public_bytes(serialization.Encoding.PEM)
    else:
        data = key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    open(os.path.join(d, name + '.pem'), 'wb').write(data)


def load(d, name):
    key = serialization.load_pem_private_key(open(os.path.join(d, name + '.key'), 'rb').read(), None)
    pem = open(os.path.join(d, name + '.pem'), 'rb').read()
    cert = x509.load_pem_x509_certificate(pem) if b'CERTIFICATE' in pem else None
    return key, cert, pem


def ca(name, key, issuer_cert=None, issuer_key=None, pathlen=None):
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder().subject_name(subj)
         .issuer_name(issuer_cert.subject if issuer_cert else subj)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW - D(days=30)).not_valid_after(NOW + D(days=3650))
         .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                        critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False))
    return b.sign(issuer_key or key, hashes.SHA256())


def init(d):
    os.makedirs(d, exist_ok=True)
    for root, inter in (('fulcio-root', 'fulcio-inter'), ('pki-root', 'pki-inter')):
        rk, ik = newkey(), newkey()
        rc = ca(root, rk)
        ic = ca(inter, ik, rc, rk, 0)
        save(d, root, rk, rc)
        save(d, inter, ik, ic)
    ok = newkey()
    save(d, 'other-root', ok, ca('other-root', ok))
    for n in ('rekor', 'rekor-other', 'ec'):
        save(d, n, newkey())


def der_utf8(s):
    b = s.encode()
    assert len(b) < 128
    return bytes([0x0c, len(b)]) + b


def sign(a):
    d = a.dir
    payload = json.dumps({"critical": {"identity": {"docker-reference": a.ref},
                                       "image": {"docker-manifest-digest": a.digest},
                                       "type": "cosign container image signature"},
                          "optional": None}, separators=(',', ':')).encode()
    ann = {}
    leaf = None
    if a.mode == 'key':
        key, _, keypem = load(d, 'ec')
        entry_pem = keypem
    else:
        prefix = 'fulcio' if a.mode == 'fulcio' else 'pki'
        rootk, rootc, rootpem = load(d, prefix + '-root')
        interk, interc, interpem = load(d, prefix + '-inter')
        if a.ca == 'other':
            interk, interc, _ = load(d, 'other-root')
        key = newkey()
        nb, na = (NOW - D(hours=2), NOW - D(minutes=110)) if a.expired else \
            (NOW - D(minutes=1), NOW + D(minutes=9))
        sans = [x509.RFC822Name(a.email)]
        if a.host:
            sans.append(x509.DNSName(a.host))
        b = (x509.CertificateBuilder().subject_name(x509.Name([]))
             .issuer_name(interc.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.SubjectAlternativeName(sans), critical=True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                          False), critical=True))
        if not a.no_codesign:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                                critical=False)
        else:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                                critical=False)
        if a.issuer_v1:
            b = b.add_extension(x509.UnrecognizedExtension(
                ObjectIdentifier('1.3.6.1.4.1.57264.1.1'), a.issuer_v1.encode()), critical=False)
        if a.issuer_v2:
            b = b.add_extension(x509.UnrecognizedExtension(
                ObjectIdentifier('1.3.6.1.4.1.57264.1.8'), der_utf8(a.issuer_v2)), critical=False)
        leaf = b.sign(interk, hashes.SHA256())
        entry_pem = leaf.public_bytes(serialization.Encoding.PEM)
        ann['dev.sigstore.cosign/certificate'] = entry_pem.decode()
        ann['dev.sigstore.cosign/chain'] = (rootpem if a.chain == 'root' else
                                            interc.public_bytes(serialization.Encoding.PEM) +
                                            rootpem).decode()
        if a.body_cert_other:
            entry_pem = interc.public_bytes(serialization.Encoding.PEM)
    sig = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    ann['dev.cosignproject.cosign/signature'] = base64.b64encode(sig).decode()
    body_sig = key.sign(payload, ec.ECDSA(hashes.SHA256())) if a.body_sig_other else sig
    body = {"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"data": {"hash": {"algorithm": "sha256",
                                       "value": hashlib.sha256(payload).hexdigest()}},
                     "signature": {"content": base64.b64encode(body_sig).decode(),
                                   "publicKey": {"content": base64.b64encode(entry_pem).decode()}}}}
    t = int(NOW.timestamp())
    if a.expired:
        t = int((NOW - D(minutes=115)).timestamp())
    if a.time_outside:
        t = int((NOW + D(hours=1)).timestamp())
    rk, _, rpem = load(d, 'rekor-other' if a.set_key == 'other' else 'rekor')
    rder = rk.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    pl = {"body": base64.b64encode(json.dumps(body).encode()).decode(), "integratedTime": t,
          "logIndex": 1234, "logID": hashlib.sha256(rder).hexdigest()}
    # RFC 8785 for these members: sorted keys, no whitespace
    canon = json.dumps(pl, sort_keys=True, separators=(',', ':')).encode()
    set_sig = rk.sign(canon, ec.ECDSA(hashes.SHA256()))
    if a.tamper_time:
        pl["integratedTime"] = t - 60
    if not a.no_set:
        ann['dev.sigstore.cosign/bundle'] = json.dumps(
            {"SignedEntryTimestamp": base64.b64encode(set_sig).decode(), "Payload": pl})

    blobs = os.path.join(a.layout, 'blobs', 'sha256')
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        open(os.path.join(blobs, h), 'wb').write(data)
        return {"digest": "sha256:" + h, "size": len(data)}

    config = put(json.dumps({"architecture": "", "os": "", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    layer = put(payload)
    layer.update({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                  "annotations": ann})
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config, "layers": [layer]}).encode()
    m = put(manifest)
    m.update({"mediaType": "application/vnd.oci.image.manifest.v1+json",
              "annotations": {"org.opencontainers.image.ref.name": "sig"}})
    open(os.path.join(a.layout, 'oci-layout'), 'w').write('{"imageLayoutVersion": "1.0.0"}')
    open(os.path.join(a.layout, 'index.json'), 'w').write(
        json.dumps({"schemaVersion": 2, "manifests": [m]}))


if sys.argv[1] == 'init':
    init(sys.argv[2])
    sys.exit(0)
p = argparse.ArgumentParser()
p.add_argument('cmd')
for n in ('dir', 'digest', 'ref', 'layout'):
    p.add_argument(n)
p.add_argument('--mode', default='fulcio')
p.add_argument('--ca', default='')
p.add_argument('--issuer-v1', default='https://oidc.example.com')
p.add_argument('--issuer-v2', default='https://oidc.example.com')
p.add_argument('--email', default='dev@example.com')
p.add_argument('--host', default='')
p.add_argument('--chain', default='full')
p.add_argument('--set-key', default='')
for f in ('no-codesign', 'expired', 'no-set', 'body-sig-other', 'body-cert-other', 'tamper-time',
          'time-outside'):
    p.add_argument('--' + f, action='store_true')
sign(p.parse_args())
