#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile registry for tests (tests/integration/registry-hostile.sh).

  hostile-registry.py PORT MODE LOG OTHER_PORT

Serves test/app:v1, an OCI image of one gzip layer (a 600 kB file) and
its config, on 127.0.0.1:PORT (https when HOSTILE_TLS=CERT:KEY is set) and
appends one line per request to LOG: "PORT METHOD PATH AUTHORIZATION"
(AUTHORIZATION '-' when none; "PORT INJECTED ..." for a header that only
a header injection can produce).  Writes "LAYER_DIGEST LAYER_SIZE" to
LOG.PORT.info.  MODE:

  realm-other   Bearer auth, realm http://127.0.0.1:OTHER_PORT/token
  realm-same    Bearer auth, realm on this server (plain http)
  realm-crlf    Bearer auth, realm on this server, whose token has CR/LF
  token         a token server: /token gives a token to anyone
  upload-other  Basic auth (alice:s3cret-pw); an upload's Location is
                http://127.0.0.1:OTHER_PORT/upload/1
  upload-same   Basic auth; the Location is relative, on this server
  sink          accepts any PUT/PATCH (an upload Location elsewhere)
  stall         the layer: headers and 100 kB, then nothing, every time
  stall-once    the first layer GET stalls; later ones answer Range (206)
  stall-once-200  the first layer GET stalls; later ones ignore Range (200)
"""
import base64
import gzip
import hashlib
import io
import json
import os
import random
import re
import sys
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, mode, log_path, other = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
CREDS = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
TOKEN = "tok-ok"
LOCK = threading.Lock()
LAYER_GETS = [0]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def make_image():
    data = random.Random(7).randbytes(600000)
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("big")
        ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
        tf.addfile(ti, io.BytesIO(data))
    tar = tbuf.getvalue()
    layer = gzip.compress(tar, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(tar)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + sha(layer), "size": len(layer)}]}).encode()
    return layer, config, manifest


LAYER, CONFIG, MANIFEST = make_image()
BLOBS = {"sha256:" + sha(LAYER): LAYER, "sha256:" + sha(CONFIG): CONFIG}
with open("%s.%d.info" % (log_path, port), "w") as f:
    f.write("sha256:%s %d\n" % (sha(LAYER), len(LAYER)))


def log(line):
    with LOCK:
        with open(log_path, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def challenge(self):
        if mode == "realm-other":
            realm = "http://127.0.0.1:%d/token" % other
        else:
            realm = "http://127.0.0.1:%d/token" % port
        return ("WWW-Authenticate", 'Bearer realm="%s",service="hostile"' % realm)

    def authorized(self):
        auth = self.headers.get("Authorization")
        if mode.startswith("realm-"):
            if auth == "Bearer " + TOKEN:
                return True
            self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [self.challenge()])
            return False
        if mode.startswith("upload-"):
            if auth == CREDS:
                return True
            self.answer(401, b"", [("WWW-Authenticate", 'Basic realm="hostile"')])
            return False
        return True

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break

    def handle_any(self):
        path = self.path
        log("%d %s %s %s" % (port, self.command, path, self.headers.get("Authorization") or "-"))
        for k in self.headers.keys():
            if k.lower() == "x-injected":
                log("%d INJECTED %s" % (port, self.headers[k]))
        if self.command in ("PUT", "PATCH", "POST"):
            self.body()
        if path.startswith("/token"):
            if mode == "realm-crlf":
                tok = TOKEN + "\r\nX-Injected: yes"
            else:
                tok = TOKEN
            return self.answer(200, json.dumps({"token": tok, "expires_in": 300}).encode(),
                               [("Content-Type", "application/json")])
        if mode == "sink" or path.startswith("/upload/"):
            m = re.search(r"digest=(sha256(:|%3A)[0-9a-f]{64})", path)
            dg = m.group(1).replace("%3A", ":") if m else ""
            return self.answer(201 if self.command == "PUT" else 202, b"",
                               [("Docker-Content-Digest", dg), ("Location", path.split("?")[0])])
        if not path.startswith("/v2/"):
            return self.answer(404)
        if not self.authorized():
            return
        if path == "/v2/":
            return self.answer(200, b"{}")
        if path.startswith("/v2/test/app/manifests/"):
            return self.answer(200, MANIFEST,
                               [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                ("Docker-Content-Digest", "sha256:" + sha(MANIFEST))])
        if path.startswith("/v2/test/app/blobs/uploads/"):
            if self.command == "POST":
                if mode == "upload-other":
                    loc = "http://127.0.0.1:%d/upload/1" % other
                else:
                    loc = "/upload/1"
                return self.answer(202, b"", [("Location", loc), ("Range", "0-0")])
            return self.answer(404)
        m = re.match(r"/v2/test/app/blobs/(sha256:[0-9a-f]{64})$", path)
        if not m:
            return self.answer(404)
        blob = BLOBS.get(m.group(1))
        if blob is None:
            return self.answer(404)
        if blob is not LAYER or self.command == "HEAD":
            return self.answer(200, blob, [("Content-Type", "application/octet-stream")])
        return self.layer()

    def layer(self):
        with LOCK:
            LAYER_GETS[0] += 1
            n = LAYER_GETS[0]
        rm = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        start = int(rm.group(1)) if rm else 0
        stall = mode == "stall" or (mode.startswith("stall-once") and n == 1)
        if start and not (mode == "stall-once-200" and not stall):
            code, body = 206, LAYER[start:]
            extra = [("Content-Range", "bytes %d-%d/%d" % (start, len(LAYER) - 1, len(LAYER)))]
        else:
            code, body, extra = 200, LAYER, []
        if not stall:
            return self.answer(code, body, extra)
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:min(100000, len(body) // 2)])
        self.wfile.flush()
        time.sleep(3600)  # headers and some bytes, then nothing

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", port), Handler)
if os.environ.get("HOSTILE_TLS"):
    import ssl
    cert, key = os.environ["HOSTILE_TLS"].split(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
