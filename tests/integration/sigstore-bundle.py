#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sigstore bundles laid out as cosign 3 (`sign --new-bundle-format`) does,
with python3-cryptography, independent of coco-img's C code; and a small
OCI 1.1 registry with the referrers API (Debian's docker-registry 2.8 has
none).

  sigstore-bundle.py sign KEYTYPE KEYDIR REGISTRY REPO DIGEST [options]
      DSSE envelope (payloadType application/vnd.in-toto+json) of an in-toto
      Statement v1 {subject: [{digest: {sha256: HEX}}], predicateType
      https://sigstore.dev/cosign/sign/v1, predicate {}}, signed over the
      DSSE PAE; verificationMaterial.publicKey.hint.  Pushed over HTTP: the
      bundle blob, the empty config, the referrer manifest (artifactType,
      subject) by digest, and unless --no-tag-index the referrers tag
      schema index REPO:sha256-HEX (merged with an existing one).
      Options: --other-digest D (sign another manifest), --tamper (payload
      changed after signing), --bad-pae (signed over the bare payload),
      --media-type MT, --payload-type PT, --predicate P, --message
      (a messageSignature bundle), --cert (a certificate in the material).
      --keyless GENDIR: keyless, as cosign 3 signs with Fulcio and Rekor: a
      fresh P-256 key, a leaf certificate issued by GENDIR/fulcio-inter
      (made by sigstore-gen.py init: SAN --email, default dev@example.com,
      both Fulcio issuer extensions https://oidc.example.com, codeSigning,
      valid for 10 minutes) in verificationMaterial.certificate.rawBytes, and
      tlogEntries[0] a Rekor "dsse" 0.0.1 entry (payloadHash of the
      statement, the signature and the certificate as verifier) with its
      inclusionPromise, the SET by GENDIR/rekor over the canonical JSON of
      {body, integratedTime, logID, logIndex}.  With --set-key other (SET by
      GENDIR/rekor-other), --no-set (no inclusionPromise), --body-sig-other
      (the entry logs another signature), --body-cert-other (another
      verifier), --issuer I (both extensions).
  sigstore-bundle.py serve PORT
      the registry: /v2/, blobs (monolithic POST+PUT), manifests by tag and
      digest, /v2/REPO/referrers/DIGEST[?artifactType=] built from the
      stored manifests' subject.
  sigstore-bundle.py serve PORT --signatures DIR
      the same, advertising X-Registry-Supports-Signatures: 1 on /v2/ and
      serving GET /extensions/v2/REPO/signatures/ALG:HEX from the file
      DIR/HEX.json ({"signatures": []} when there is none).
  sigstore-bundle.py serve PORT --referrers-status CODE
      the same, answering CODE (e.g. 405) to every referrers request, as a
      registry without the API that does not say 404.
  sigstore-bundle.py multiarch REGISTRY REPO TAG
      an OCI index of two instance manifests (linux/amd64, linux/arm64; the
      configs name REPO, so each repository's digests differ); prints the
      index digest and the amd64 digest.
KEYTYPE: ec256 | rsa | ed25519."""
import base64, hashlib, json, os, re, sys, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUNDLE_MT = 'application/vnd.dev.sigstore.bundle.v0.3+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
EMPTY_MT = 'application/vnd.oci.empty.v1+json'


def sha(b):
    return 'sha256:' + hashlib.sha256(b).hexdigest()


def req(method, url, data=None, ctype=None, ok404=False):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype:
        r.add_header('Content-Type', ctype)
    r.add_header('Accept', OCI_INDEX + ', ' + OCI_MANIFEST)
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        if ok404 and e.code == 404:
            return 404, b'', {}
        raise


def push_blob(base, repo, data):
    d = sha(data)
    _, _, h = req('POST', f'{base}/v2/{repo}/blobs/uploads/', b'')
    loc = h['Location']
    if loc.startswith('/'):
        loc = base + loc
    loc += ('&' if '?' in loc else '?') + 'digest=' + d
    req('PUT', loc, data, 'application/octet-stream')
    return {'digest': d, 'size': len(data)}


def push_manifest(base, repo, ref, data, mt):
    req('PUT', f'{base}/v2/{repo}/manifests/{ref}', data, mt)
    return {'mediaType': mt, 'digest': sha(data), 'size': len(data)}


def load_key(kt, keydir):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    os.makedirs(keydir, exist_ok=True)
    kp = os.path.join(keydir, 'key.pem')
    if os.path.exists(kp):
        return serialization.load_pem_private_key(open(kp, 'rb').read(), None)
    key = {'ec256': lambda: ec.generate_private_key(ec.SECP256R1()),
           'rsa': lambda: rsa.generate_private_key(65537, 2048),
           'ed25519': ed25519.Ed25519PrivateKey.generate}[kt]()
    open(kp, 'wb').write(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    open(os.path.join(keydir, 'pub.pem'), 'wb').write(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def sign_bytes(kt, key, msg):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    if kt == 'ec256':
        return key.sign(msg, ec.ECDSA(hashes.SHA256()))
    if kt == 'rsa':
        return key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(msg)


def pae(t, p):
    return b'DSSEv1 %d %s %d %s' % (len(t), t, len(p), p)


def opt(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def keyless(gd, ptype, stmt):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

    def priv(name):
        return serialization.load_pem_private_key(open(os.path.join(gd, name + '.key'), 'rb').read(), None)

    now = datetime.datetime.now(datetime.timezone.utc)
    interk = priv('fulcio-inter')
    interc = x509.load_pem_x509_certificate(open(os.path.join(gd, 'fulcio-inter.pem'), 'rb').read())
    key = ec.generate_private_key(ec.SECP256R1())
    iss = opt('--issuer', 'https://oidc.example.com').encode()
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([]))
            .issuer_name(interc.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(minutes=9))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(opt('--email', 'dev@example.com'))]),
                           critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.UnrecognizedExtension(ObjectIdentifier('1.3.6.1.4.1.57264.1.1'), iss),
                           critical=False)
            .add_extension(x509.UnrecognizedExtension(ObjectIdentifier('1.3.6.1.4.1.57264.1.8'),
                                                      bytes([0x0c, len(iss)]) + iss), critical=False)
            .sign(interk, hashes.SHA256()))
    sig = key.sign(pae(ptype.encode(), stmt), ec.ECDSA(hashes.SHA256()))
    env = {'payload': base64.b64encode(stmt).decode(), 'payloadType': ptype,
           'signatures': [{'sig': base64.b64encode(sig).decode(), 'keyid': ''}]}
    logged_sig = key.sign(b'another message', ec.ECDSA(hashes.SHA256())) \
        if '--body-sig-other' in sys.argv else sig
    verifier = interc if '--body-cert-other' in sys.argv else leaf
    body = {'apiVersion': '0.0.1', 'kind': 'dsse', 'spec': {
        'envelopeHash': {'algorithm': 'sha256',
                         'value': hashlib.sha256(json.dumps(env, sort_keys=True,
                                                            separators=(',', ':')).encode()).hexdigest()},
        'payloadHash': {'algorithm': 'sha256', 'value': hashlib.sha256(stmt).hexdigest()},
        'signatures': [{'signature': base64.b64encode(logged_sig).decode(),
                        'verifier': base64.b64encode(verifier.public_bytes(
                            serialization.Encoding.PEM)).decode()}]}}
    cb = base64.b64encode(json.dumps(body, sort_keys=True, separators=(',', ':')).encode()).decode()
    rk = priv('rekor-other' if opt('--set-key') == 'other' else 'rekor')
    keyid = hashlib.sha256(priv('rekor').public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    it, li = int(now.timestamp()), 4321
    pl = {'body': cb, 'integratedTime': it, 'logID': keyid.hex(), 'logIndex': li}
    set_sig = rk.sign(json.dumps(pl, sort_keys=True, separators=(',', ':')).encode(),
                      ec.ECDSA(hashes.SHA256()))
    entry = {'logIndex': str(li), 'logId': {'keyId': base64.b64encode(keyid).decode()},
             'kindVersion': {'kind': 'dsse', 'version': '0.0.1'}, 'integratedTime': str(it),
             'inclusionPromise': {'signedEntryTimestamp': base64.b64encode(set_sig).decode()},
             'canonicalizedBody': cb}
    if '--no-set' in sys.argv:
        del entry['inclusionPromise']
    material = {'certificate': {'rawBytes': base64.b64encode(
        leaf.public_bytes(serialization.Encoding.DER)).decode()}, 'tlogEntries': [entry]}
    return {'dsseEnvelope': env}, material


def cmd_sign():
    kt, keydir, reg, repo, digest = sys.argv[2:7]
    base = 'http://' + reg
    key = load_key(kt, keydir)
    signed = opt('--other-digest', digest)
    ptype = opt('--payload-type', 'application/vnd.in-toto+json')
    stmt = json.dumps({'_type': 'https://in-toto.io/Statement/v1',
                       'subject': [{'digest': {'sha256': signed.split(':', 1)[1]}}],
                       'predicateType': opt('--predicate', 'https://sigstore.dev/cosign/sign/v1'),
                       'predicate': {}}, separators=(',', ':')).encode()
    if '--keyless' in sys.argv:
        content, material = keyless(opt('--keyless'), ptype, stmt)
    elif '--message' in sys.argv:
        content = {'messageSignature': {
            'messageDigest': {'algorithm': 'SHA2_256',
                              'digest': base64.b64encode(bytes.fromhex(signed.split(':')[1])).decode()},
            'signature': base64.b64encode(sign_bytes(kt, key, stmt)).decode()}}
    else:
        msg = stmt if '--bad-pae' in sys.argv else pae(ptype.encode(), stmt)
        sig = sign_bytes(kt, key, msg)
        payload = stmt.replace(b'"predicate":{}', b'"predicate":{"x":1}') \
            if '--tamper' in sys.argv else stmt
        content = {'dsseEnvelope': {'payload': base64.b64encode(payload).decode(),
                                    'payloadType': ptype,
                                    'signatures': [{'sig': base64.b64encode(sig).decode(),
                                                    'keyid': ''}]}}
    if '--keyless' in sys.argv:
        pass
    elif '--cert' in sys.argv:
        material = {'certificate': {'rawBytes': base64.b64encode(b'\x30\x03\x02\x01\x01').decode()},
                    'tlogEntries': []}
    else:
        material = {'publicKey': {'hint': 'test'}, 'tlogEntries': []}
    bundle = dict({'mediaType': opt('--media-type', BUNDLE_MT),
                   'verificationMaterial': material}, **content)
    bb = json.dumps(bundle).encode()
    layer = push_blob(base, repo, bb)
    layer.update({'mediaType': BUNDLE_MT, 'annotations': {
        'org.opencontainers.image.title': sha(bb).replace(':', '-') + '.sigstore.json'}})
    config = push_blob(base, repo, b'{}')
    config['mediaType'] = EMPTY_MT
    _, mbytes, h = req('GET', f'{base}/v2/{repo}/manifests/{digest}')
    subject = {'mediaType': h.get('Content-Type', OCI_MANIFEST), 'digest': digest,
               'size': len(mbytes)}
    man = json.dumps({'schemaVersion': 2, 'mediaType': OCI_MANIFEST, 'artifactType': BUNDLE_MT,
                      'config': config, 'layers': [layer], 'subject': subject,
                      'annotations': {'dev.sigstore.bundle.content': 'dsse-envelope',
                                      'dev.sigstore.bundle.predicateType':
                                      'https://sigstore.dev/cosign/sign/v1'}}).encode()
    desc = push_manifest(base, repo, sha(man), man, OCI_MANIFEST)
    desc['artifactType'] = BUNDLE_MT
    if '--no-tag-index' in sys.argv:
        return
    tag = digest.replace(':', '-')
    st, old, _ = req('GET', f'{base}/v2/{repo}/manifests/{tag}', ok404=True)
    ix = json.loads(old) if st == 200 else {'schemaVersion': 2, 'mediaType': OCI_INDEX,
                                            'manifests': []}
    ix['manifests'].append(desc)
    push_manifest(base, repo, tag, json.dumps(ix).encode(), OCI_INDEX)


def cmd_multiarch():
    reg, repo, tag = sys.argv[2:5]
    base = 'http://' + reg
    descs = []
    for arch in ('amd64', 'arm64'):
        cfg = json.dumps({'architecture': arch, 'os': 'linux',
                          'config': {'Labels': {'repo': repo}},
                          'rootfs': {'type': 'layers', 'diff_ids': []}}).encode()
        c = push_blob(base, repo, cfg)
        c['mediaType'] = 'application/vnd.oci.image.config.v1+json'
        m = json.dumps({'schemaVersion': 2, 'mediaType': OCI_MANIFEST, 'config': c,
                        'layers': []}).encode()
        d = push_manifest(base, repo, sha(m), m, OCI_MANIFEST)
        d['platform'] = {'os': 'linux', 'architecture': arch}
        descs.append(d)
    ix = json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': descs}).encode()
    push_manifest(base, repo, tag, ix, OCI_INDEX)
    print(sha(ix), descs[0]['digest'])


class Registry(BaseHTTPRequestHandler):
    blobs, manifests, uploads = {}, {}, {}  # manifests: (repo, ref) -> (bytes, type)
    sigdir = None
    referrers_status = None

    def log_message(self, *a):
        pass

    def send(self, code, body=b'', headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def do_GET(self):
        path, _, query = self.path.partition('?')
        if path == '/v2/':
            h = {'Content-Type': 'application/json'}
            if self.sigdir:
                h['X-Registry-Supports-Signatures'] = '1'
            return self.send(200, b'{}', h)
        m = re.fullmatch(r'/extensions/v2/(.+)/signatures/sha256:([0-9a-f]{64})', path)
        if m and self.sigdir:
            f = os.path.join(self.sigdir, m.group(2) + '.json')
            body = open(f, 'rb').read() if os.path.exists(f) else b'{"signatures": []}'
            return self.send(200, body, {'Content-Type': 'application/json'})
        m = re.fullmatch(r'/v2/(.+)/(manifests|blobs|referrers)/([^/]+)', path)
        if not m:
            return self.send(404)
        repo, kind, ref = m.groups()
        if kind == 'blobs':
            b = self.blobs.get(ref)
            return self.send(200, b, {'Docker-Content-Digest': ref}) if b is not None \
                else self.send(404)
        if kind == 'manifests':
            e = self.manifests.get((repo, ref))
            if not e:
                return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return self.send(200, e[0], {'Content-Type': e[1], 'Docker-Content-Digest': sha(e[0])})
        if self.referrers_status:
            return self.send(self.referrers_status, b'{"errors":[{"code":"UNSUPPORTED"}]}')
        at = re.search(r'artifactType=([^&]+)', query)
        out = []
        for (r, d), (b, t) in sorted(self.manifests.items()):
            if r != repo or not d.startswith('sha256:'):
                continue
            j = json.loads(b)
            if (j.get('subject') or {}).get('digest') != ref:
                continue
            if at and j.get('artifactType') != urllib.parse.unquote(at.group(1)):
                continue
            out.append({'mediaType': t, 'digest': d, 'size': len(b),
                        'artifactType': j.get('artifactType'),
                        'annotations': j.get('annotations', {})})
        ix = json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': out}).encode()
        self.send(200, ix, {'Content-Type': OCI_INDEX})

    do_HEAD = do_GET

    def do_POST(self):
        self.body()
        m = re.fullmatch(r'/v2/(.+)/blobs/uploads/', self.path.partition('?')[0])
        if not m:
            return self.send(404)
        uid = hashlib.sha256(os.urandom(8)).hexdigest()[:16]
        self.send(202, b'', {'Location': f'/v2/{m.group(1)}/blobs/uploads/{uid}'})

    def do_PUT(self):
        path, _, query = self.path.partition('?')
        data = self.body()
        if '/blobs/uploads/' in path:
            d = urllib.parse.unquote(re.search(r'digest=([^&]+)', query).group(1))
            if sha(data) != d:
                return self.send(400)
            self.blobs[d] = data
            return self.send(201, b'', {'Docker-Content-Digest': d})
        m = re.fullmatch(r'/v2/(.+)/manifests/([^/]+)', path)
        if not m:
            return self.send(404)
        t = self.headers.get('Content-Type', OCI_MANIFEST)
        self.manifests[(m.group(1), m.group(2))] = (data, t)
        self.manifests[(m.group(1), sha(data))] = (data, t)
        self.send(201, b'', {'Docker-Content-Digest': sha(data)})


if __name__ == '__main__':
    import urllib.parse
    if sys.argv[1] == 'sign':
        cmd_sign()
    elif sys.argv[1] == 'multiarch':
        cmd_multiarch()
    elif sys.argv[1] == 'serve':
        Registry.sigdir = opt('--signatures')
        Registry.referrers_status = int(opt('--referrers-status', '0'))
        ThreadingHTTPServer(('127.0.0.1', int(sys.argv[2])), Registry).serve_forever()
    else:
        sys.exit(__doc__)
