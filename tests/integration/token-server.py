#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A tiny Docker registry token server for tests.

Issues RS256 JWTs (x5c header carrying the signing certificate, which the
registry trusts through auth.token.rootcertbundle) for
GET /token?service=S&scope=repository:NAME:ACTIONS...

  token-server.py PORT KEY.pem CERT.pem ISSUER SERVICE USER:PASS LOGFILE [BADKEY.pem]

Valid Basic credentials get every requested action, no credentials get an
empty grant, wrong credentials 401.  Each request appends one line to
LOGFILE ("user scope...").  If the file LOGFILE.bad-once exists it is
removed and that one token is signed with BADKEY (the registry rejects it:
lets a test check that the client renews its token on 401).  With
TOKEN_SERVER_TLS=CERT:KEY in the environment it serves https.
"""
import base64
import json
import os
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, key_path, cert_path, issuer, service, creds, log_path = sys.argv[1:8]
bad_key_path = sys.argv[8] if len(sys.argv) > 8 else None


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


KEY = load_key(key_path)
BAD_KEY = load_key(bad_key_path) if bad_key_path else None
with open(cert_path, "rb") as f:
    CERT_DER = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_token(sub, access, key):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(CERT_DER).decode()]}
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 300, "nbf": now - 10,
              "iat": now, "jti": str(uuid.uuid4()), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        if u.path != "/token":
            self.send_error(404)
            return
        q = parse_qs(u.query)
        user = "-"
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            got = base64.b64decode(auth[6:]).decode(errors="replace")
            if got != creds:
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
                with open(log_path, "a") as f:
                    f.write("REJECTED\n")
                return
            user = got.split(":", 1)[0]
        access = []
        if user != "-":
            for s in q.get("scope", []):
                parts = s.split(":")
                if len(parts) >= 3:
                    access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                                   "actions": parts[-1].split(",")})
        key = KEY
        if BAD_KEY and os.path.exists(log_path + ".bad-once"):
            os.unlink(log_path + ".bad-once")
            key = BAD_KEY
        tok = make_token(user, access, key)
        with open(log_path, "a") as f:
            f.write("%s %s\n" % (user, " ".join(q.get("scope", []))))
        body = json.dumps({"token": tok, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
if os.environ.get("TOKEN_SERVER_TLS"):
    # TOKEN_SERVER_TLS=CERT:KEY: serve https (a registry's credentials go to
    # a plain-http realm only on the registry's own host:port)
    import ssl
    tls_cert, tls_key = os.environ["TOKEN_SERVER_TLS"].split(":", 1)
    tctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tctx.load_cert_chain(tls_cert, tls_key)
    srv.socket = tctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
