#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A test double of trustee's Key Broker Service, protocol 0.4.0 (RCAR).

Written from ../shared/specs/coco-guest-spec.md section 1 (not from trustee's
code): POST /kbs/v0/auth, POST /kbs/v0/attest with the `sample` verifier and
the report_data binding of section 1.5, GET /kbs/v0/resource/REPO/TYPE/TAG
answered with a flattened JWE (ECDH-ES+A256KW / A256GCM) to the TEE key of
the token, trustee's error bodies and status codes.

  kbs.py --resources DIR --port-file FILE --log FILE [--policy FILE]
         [--cert CERT --key KEY | --http] [--blackhole]

The port is chosen by the kernel (127.0.0.1:0) and written to --port-file
once the server listens.  --log gets one line per request:

  METHOD PATH STATUS ERROR AUTH [decoy-cookie]

ERROR is the trustee error name or "-", AUTH what a resource request offered
(cookie, even an expired one; bearer; none; "-" for other requests); "decoy-cookie"
marks a request that carried a cookie other than kbs-session-id.

The policy file (JSON, read again on every request, all members optional):
  protocol_version   the version accepted ("=X.Y.Z" semantics), "0.4.0"
  deny               resource paths "repo/type/tag" refused with PolicyDeny
  reject_evidence    true: the verifier refuses every evidence
  session_timeout    seconds a session lives (trustee: 5 minutes)
  cookie_timeout     seconds announced in the cookie's Expires when it should
                     differ from session_timeout (simulates a KBS that forgets
                     sessions early)
  token_lifetime     seconds between the token's iat and exp
  challenge_extra_params  the challenge's extra-params ("" by default)
  corrupt            {"repo/type/tag": MODE}: tamper that resource's JWE; MODE
                     tag|ciphertext|protected|encrypted_key|epk|enc|truncate|iv
  unavailable_auth   the first N /auth requests get 503 (retry tests)
  reject_bearer      true: every Bearer token gets TokenVerifierError (as after
                     a restart of the KBS with a new token key)

--blackhole accepts TCP connections and never answers (a hung KBS).
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import socket
import ssl
import struct
import tomllib
import sys
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

ERR_PREFIX = "https://github.com/confidential-containers/kbs/errors/"
TEES = {"az-snp-vtpm", "az-tdx-vtpm", "sgx", "snp", "tdx", "cca", "csv", "se", "tpm", "sample"}
HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
if "sm3" in hashlib.algorithms_available:
    HASHES["sm3"] = lambda data: hashlib.new("sm3", data)
BODY_MAX = 1 << 20
EAR_PROFILE = "tag:github.com,2024:confidential-containers/Trustee"
ATTEST_FAILED = "Attestation error: RCAR handshake Attest failed"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_dec(s):
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", s) or len(s) % 4 == 1:
        raise ValueError("bad base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64std_dec_strict(s):
    """Standard alphabet, canonical padding required (the sample verifier)."""
    if not isinstance(s, str) or len(s) % 4 != 0 or \
            not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s):
        raise ValueError("bad base64")
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode() != s:
        raise ValueError("non-canonical base64")
    return raw


def jcs(v):
    """RFC 8785 canonical JSON for the values runtime data can hold."""
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(x) for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("not representable in JSON")
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)  # close enough for tests: runtime data has no floats
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            o = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch in "\b\f\n\r\t":
                out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
            elif o < 0x20:
                out.append("\\u%04x" % o)
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    raise ValueError("unsupported JSON value")


SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
                    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")


def tee_pubkey_reserialized(k):
    """kbs-types TeePubKey: keep only the members the server knows."""
    if not isinstance(k, dict):
        raise ValueError("tee-pubkey is not an object")
    if k.get("kty") == "EC":
        out = {"kty": "EC", "crv": k["crv"], "alg": k["alg"], "x": k["x"], "y": k["y"]}
    elif k.get("kty") == "RSA":
        out = {"kty": "RSA", "alg": k["alg"], "n": k["n"], "e": k["e"]}
    else:
        raise ValueError("unknown kty")
    if not all(isinstance(x, str) for x in out.values()):
        raise ValueError("tee-pubkey member is not a string")
    return out


class KbsError(Exception):
    def __init__(self, status, name, detail):
        super().__init__(detail)
        self.status, self.name, self.detail = status, name, detail


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.sessions = {}
        self.auth_count = 0
        self.sign_key = ec.generate_private_key(ec.SECP256R1())
        self.log = open(args.log, "a", buffering=1)

    def policy(self):
        if not self.args.policy or not os.path.exists(self.args.policy):
            return {}
        with open(self.args.policy) as f:
            return json.load(f)

    # -- tokens: ES256 JWTs signed by the KBS ---------------------------------
    def make_token(self, claims):
        header = {"alg": "ES256", "typ": "JWT"}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = self.sign_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def verify_token(self, token):
        try:
            h, c, s = token.split(".")
            sig = b64url_dec(s)
            if len(sig) != 64:
                raise ValueError("bad signature length")
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:], "big"))
            self.sign_key.public_key().verify(der, (h + "." + c).encode(),
                                              ec.ECDSA(hashes.SHA256()))
            claims = json.loads(b64url_dec(c))
            if json.loads(b64url_dec(h)).get("alg") != "ES256":
                raise ValueError("bad alg")
        except (ValueError, InvalidSignature, json.JSONDecodeError):
            raise KbsError(401, "TokenVerifierError", "Token Verifier error")
        now = time.time()
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
            raise KbsError(401, "TokenVerifierError", "Token Verifier error")
        return claims



# -- test verifiers for the fake TEEs of tests/integration/fake_tsm.py ----------
# They check what trustee's TDX and SNP verifiers check about the binding
# (REPORTDATA = H(JCS(runtime data)) zero-padded to 64; MRCONFIGID /
# HOST_DATA = the init-data digest, padded or truncated) and the evidence
# shapes of spec 2.2 / 2.3; the quote and report signatures are not checked
# (the fake TEE cannot sign).
def init_digest(init):
    if init is None:
        return None
    alg = tomllib.loads(init["body"])["algorithm"]
    return HASHES[alg](init["body"].encode()).digest()


def regularize(b, n):
    return b.ljust(n, b"\0")[:n]


def verify_tdx(prim, expected, init):
    if set(prim) != {"cc_eventlog", "quote"} or prim["cc_eventlog"] is not None:
        raise ValueError("tdx evidence shape")
    q = b64std_dec_strict(prim["quote"])
    version, tee = struct.unpack_from("<H2xI", q, 0)
    if tee != 0x81 or version not in (4, 5):
        raise ValueError("not a TDX quote")
    body = 48 if version == 4 else 54
    if q[body + 520:body + 584] != regularize(expected, 64):
        raise ValueError("TDX REPORTDATA does not match the runtime data")
    d = init_digest(init)
    if d is not None and q[body + 184:body + 232] != regularize(d, 48):
        raise ValueError("MRCONFIGID does not match the init-data")
    return {"quote": {"body": {"report_data": q[body + 520:body + 584].hex(),
                               "mr_config_id": q[body + 184:body + 232].hex()}}}


SNP_REPORT_KEYS = [
    "version", "guest_svn", "policy", "family_id", "image_id", "vmpl", "sig_algo", "current_tcb",
    "plat_info", "key_info", "report_data", "measurement", "host_data", "id_key_digest",
    "author_key_digest", "report_id", "report_id_ma", "reported_tcb", "cpuid_fam_id",
    "cpuid_mod_id", "cpuid_step", "chip_id", "committed_tcb", "current", "committed",
    "launch_tcb", "launch_mit_vector", "current_mit_vector", "signature"]


def verify_snp(prim, expected, init):
    if list(prim) != ["attestation_report", "cert_chain"]:
        raise ValueError("snp evidence shape")
    r = prim["attestation_report"]
    if list(r) != SNP_REPORT_KEYS:
        raise ValueError("snp report members")
    for k in ("report_data", "host_data", "measurement", "chip_id"):
        if not all(isinstance(x, int) and 0 <= x < 256 for x in r[k]):
            raise ValueError("snp byte array " + k)
    if list(r["current_tcb"]) != ["fmc", "bootloader", "tee", "snp", "microcode"]:
        raise ValueError("snp tcb members")
    if bytes(r["report_data"]) != regularize(expected, 64):
        raise ValueError("SNP REPORT_DATA does not match the runtime data")
    d = init_digest(init)
    if d is not None and bytes(r["host_data"]) != regularize(d, 32):
        raise ValueError("HOST_DATA does not match the init-data")
    chain = prim["cert_chain"]
    if chain is not None and not all(set(c) == {"cert_type", "data"} for c in chain):
        raise ValueError("snp cert_chain shape")
    return {"report_data": bytes(r["report_data"]).hex(), "host_data": bytes(r["host_data"]).hex(),
            "cert_types": [c["cert_type"] for c in chain or []]}

def tee_pubkey_from_claims(claims):
    paths = [["submods", "cpu0", "ear.veraison.annotated-evidence", "runtime_data_claims",
              "tee-pubkey"], ["customized_claims", "runtime_data", "tee-pubkey"], ["tee-pubkey"]]
    for p in paths:
        v = claims
        for k in p:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, dict):
            return v
    return None


def jwe_encrypt(jwk, plaintext, corrupt=None):
    """Flattened JWE to an EC P-256 TEE key, the way trustee builds it."""
    try:
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or \
                jwk.get("alg") != "ECDH-ES+A256KW":
            raise ValueError("unsupported key")
        x, y = b64url_dec(jwk["x"]), b64url_dec(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinate width")
        peer = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    except (ValueError, KeyError, TypeError):
        raise KbsError(401, "JweError", "JWE failed")
    eph = ec.generate_private_key(ec.SECP256R1())
    z = eph.exchange(ec.ECDH(), peer)
    alg = b"ECDH-ES+A256KW"
    kdf_in = (b"\x00\x00\x00\x01" + z + len(alg).to_bytes(4, "big") + alg +
              b"\x00\x00\x00\x00" * 2 + (256).to_bytes(4, "big"))
    kek = hashlib.sha256(kdf_in).digest()
    cek = secrets.token_bytes(32)
    pub = eph.public_key().public_numbers()
    epk = {"crv": "P-256", "kty": "EC", "x": b64url(pub.x.to_bytes(32, "big")),
           "y": b64url(pub.y.to_bytes(32, "big"))}
    if corrupt == "epk":
        other = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        epk["x"], epk["y"] = b64url(other.x.to_bytes(32, "big")), b64url(other.y.to_bytes(32, "big"))
    header = {"alg": "ECDH-ES+A256KW", "enc": "A128GCM" if corrupt == "enc" else "A256GCM",
              "epk": epk}
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    iv = secrets.token_bytes(12)
    ct_tag = AESGCM(cek).encrypt(iv, plaintext, protected.encode())
    ct, tag = bytearray(ct_tag[:-16]), bytearray(ct_tag[-16:])
    ek = bytearray(aes_key_wrap(kek, cek))
    if corrupt == "tag":
        tag[0] ^= 1
    elif corrupt == "ciphertext" and ct:
        ct[-1] ^= 0x80
    elif corrupt == "encrypted_key":
        ek[5] ^= 4
    elif corrupt == "iv":
        iv = bytes([iv[0] ^ 1]) + iv[1:]
    elif corrupt == "protected":
        # same header, other bytes: the AAD no longer matches
        protected = b64url(json.dumps(header, separators=(", ", ": ")).encode())
    body = {"protected": protected, "encrypted_key": b64url(bytes(ek)), "iv": b64url(iv),
            "ciphertext": b64url(bytes(ct)), "tag": b64url(bytes(tag))}
    out = json.dumps(body, separators=(",", ":")).encode()
    if corrupt == "truncate":
        out = out[: len(out) // 2]
    return out


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls = None

    def finish_request(self, request, client_address):
        # the TLS handshake runs in the connection's thread, so a client that
        # never completes it cannot stall the others
        # headers and body go out as two writes: without TCP_NODELAY, Nagle
        # and the client's delayed ACK add 40 ms to every keep-alive request
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-kbs/0.4.0"
    timeout = 30

    def log_message(self, fmt, *args):
        pass

    # -- plumbing ---------------------------------------------------------------
    def cookies(self):
        out = {}
        for h in self.headers.get_all("Cookie") or []:
            for part in h.split(";"):
                if "=" in part:
                    k, v = part.strip().split("=", 1)
                    out[k] = v
        return out

    def reply(self, status, body=b"", ctype="application/json", cookies=(), err="-", auth="-"):
        st = self.server.state
        self.send_response(status)
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for c in cookies:
            self.send_header("Set-Cookie", c)
        self.end_headers()
        if body:
            self.wfile.write(body)
        decoy = " decoy-cookie" if any(k != "kbs-session-id" for k in self.cookies()) else ""
        with st.lock:
            st.log.write("%s %s %d %s %s%s\n" % (self.command, self.path, status, err, auth, decoy))

    def error(self, e, auth="-"):
        body = json.dumps({"type": ERR_PREFIX + e.name, "detail": e.detail},
                          separators=(",", ":")).encode()
        self.reply(e.status, body, err=e.name, auth=auth)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > BODY_MAX:
            raise KbsError(401, "AttestationError", "request too large")
        return self.rfile.read(n)

    def session_cookie(self, sid, lifetime):
        exp = formatdate(time.time() + lifetime, usegmt=True)
        return ["kbs-session-id=%s; Expires=%s" % (sid, exp), "decoy=1; Path=/"]

    # -- endpoints ----------------------------------------------------------------
    def do_POST(self):
        try:
            body = self.read_body()
        except KbsError as e:
            return self.error(e)
        if self.path == "/kbs/v0/auth":
            return self.auth(body)
        if self.path == "/kbs/v0/attest":
            return self.attest(body)
        if self.path.startswith("/kbs/v0/"):
            name = self.path[len("/kbs/v0/"):].split("/")[0].split("?")[0]
            return self.error(KbsError(404, "PluginNotFound", "Plugin %s not found" % name))
        self.reply(404)

    def do_GET(self):
        if not self.path.startswith("/kbs/v0/"):
            return self.reply(404)
        rest = self.path[len("/kbs/v0/"):]
        plugin, _, path = rest.partition("/")
        plugin = plugin.split("?")[0]
        if plugin != "resource":
            return self.error(KbsError(404, "PluginNotFound", "Plugin %s not found" % plugin))
        return self.resource(path.split("?")[0])

    def auth(self, body):
        st = self.server.state
        pol = st.policy()
        with st.lock:
            st.auth_count += 1
            n = st.auth_count
        if n <= int(pol.get("unavailable_auth", 0)):
            return self.reply(503, b"service unavailable", ctype="text/plain")
        pre = "Attestation error: RCAR handshake Auth failed: "
        try:
            req = json.loads(body)
            if not isinstance(req, dict) or not isinstance(req.get("version"), str) or \
                    req.get("tee") not in TEES or "extra-params" not in req or \
                    not isinstance(req["extra-params"], (str, dict)):
                raise ValueError()
        except ValueError:
            return self.error(KbsError(401, "AttestationError", pre + "deserialize Request"))
        want = pol.get("protocol_version", "0.4.0")
        m = SEMVER.fullmatch(req["version"])
        if not m:
            return self.error(KbsError(401, "AttestationError", pre + "failed to parse KBS version"))
        w = SEMVER.fullmatch(want)
        if m.group(4) or m.group(1, 2, 3) != w.group(1, 2, 3):
            return self.error(KbsError(
                401, "AttestationError",
                pre + "KBS Client Protocol Version Mismatch: expect =%s while the request is %s"
                % (want, req["version"])))
        sid = uuid.uuid4().hex
        nonce = base64.b64encode(secrets.token_bytes(32)).decode()
        extra = pol.get("challenge_extra_params", "")
        timeout = float(pol.get("session_timeout", 300))
        with st.lock:
            now = time.time()
            st.sessions[sid] = {"nonce": nonce, "tee": req["tee"], "expires": now + timeout,
                                "announced": now + float(pol.get("cookie_timeout", timeout)),
                                "token": None, "extra": extra}
        body = json.dumps({"nonce": nonce, "extra-params": extra}, separators=(",", ":")).encode()
        self.reply(200, body, cookies=self.session_cookie(sid, st.sessions[sid]["announced"] - now))

    def live_session(self):
        st = self.server.state
        sid = self.cookies().get("kbs-session-id")
        with st.lock:
            s = st.sessions.get(sid)
            if s and s["expires"] <= time.time():
                del st.sessions[sid]
                s = None
        return sid, s

    def attest(self, body):
        st = self.server.state
        pol = st.policy()
        sid, s = self.live_session()
        fail = KbsError(401, "AttestationError", ATTEST_FAILED)
        if not s:
            return self.error(fail)
        if s["token"]:
            return self.reply(200, json.dumps({"token": s["token"]}).encode(),
                              cookies=self.session_cookie(sid, s["announced"] - time.time()))
        try:
            a = json.loads(body)
            if st.args.evidence_log:
                with st.lock, open(st.args.evidence_log, "a") as f:
                    f.write(json.dumps(a.get("tee-evidence")) + "\n")
            rd, ev = a["runtime-data"], a["tee-evidence"]
            if rd["nonce"] != s["nonce"]:
                raise ValueError("nonce mismatch")
            key = tee_pubkey_reserialized(rd["tee-pubkey"])
            init = a.get("init-data")
            if init is not None and (not isinstance(init, dict) or init.get("format") != "toml"
                                     or not isinstance(init.get("body"), str)):
                raise ValueError("init-data")
            add = ev["additional_evidence"]
            if not isinstance(add, str):
                raise ValueError("additional_evidence is not a string")
            prim = ev["primary_evidence"]
            extra = s["extra"]
            alg = "sha384"
            if isinstance(extra, dict) and "selected-hash-algorithm" in extra:
                alg = extra["selected-hash-algorithm"].lower()
            prd = {"tee-pubkey": key, "nonce": s["nonce"], "additional-evidence": add}
            expected = HASHES[alg](jcs(prd).encode()).digest()
            if not isinstance(prim, dict):
                raise ValueError("evidence is not an object")
            if s["tee"] == "tdx":
                annotated = {"tdx": verify_tdx(prim, expected, init)}
            elif s["tee"] == "snp":
                annotated = {"snp": verify_snp(prim, expected, init)}
            elif s["tee"] != "sample":
                raise ValueError("no verifier for " + s["tee"])
            else:
                if not isinstance(prim.get("svn"), str):
                    raise ValueError("sample evidence")
                got = b64std_dec_strict(prim.get("report_data", ""))
                if got != expected:
                    raise ValueError("report_data does not match the runtime data")
                annotated = {"sample": {"svn": prim["svn"], "report_data": prim["report_data"],
                                        "launch_digest": "abcde",
                                        "platform_version": {"major": 1, "minor": 4},
                                        "debug": False},
                             "report_data": prim["report_data"]}
            d = init_digest(init)
            if pol.get("reject_evidence"):
                raise ValueError("evidence rejected by the attestation policy")
        except (ValueError, KeyError, TypeError, json.JSONDecodeError, struct.error,
                tomllib.TOMLDecodeError) as e:
            print("attest failed: %r" % (e,), file=sys.stderr)
            return self.error(fail)
        now = int(time.time())
        claims = {
            "eat_profile": EAR_PROFILE, "iat": now,
            "exp": now + int(pol.get("token_lifetime", 300)),
            "ear.verifier-id": {"developer": "coco-img tests", "build": "kbs.py"},
            "submods": {"cpu0": {
                "ear.status": "affirming",
                "ear.veraison.annotated-evidence": dict(
                    annotated,
                    init_data=base64.b64encode(d).decode() if d is not None else None,
                    runtime_data_claims={"nonce": s["nonce"], "tee-pubkey": key})}}}
        token = st.make_token(claims)
        with st.lock:
            s["token"] = token
        self.reply(200, json.dumps({"token": token}).encode(),
                   cookies=self.session_cookie(sid, s["announced"] - time.time()))

    def resource(self, path):
        st = self.server.state
        pol = st.policy()
        _, s = self.live_session()
        # how the request tried to authorise: cookie (even a stale one), bearer, none
        auth = "cookie" if "kbs-session-id" in self.cookies() else "none"
        try:
            if s and s["token"]:
                auth = "cookie"
                claims = st.verify_token(s["token"])
            else:
                h = self.headers.get("Authorization", "")
                if not h.startswith("Bearer "):
                    raise KbsError(401, "TokenNotFound", "Attestation Token not found")
                auth = "bearer"
                if pol.get("reject_bearer"):
                    raise KbsError(401, "TokenVerifierError", "Token Verifier error")
                claims = st.verify_token(h[len("Bearer "):])
            if path in pol.get("deny", []):
                raise KbsError(401, "PolicyDeny", "Access denied by policy")
            parts = path.split("/")
            if len(parts) != 3 or any(p in ("", ".", "..") for p in parts):
                raise KbsError(401, "PluginInternalError", "Plugin internal error")
            f = os.path.join(self.server.state.args.resources, *parts)
            if not os.path.isfile(f):
                raise KbsError(401, "PluginInternalError", "Plugin internal error")
            with open(f, "rb") as fh:
                data = fh.read()
            jwk = tee_pubkey_from_claims(claims)
            if jwk is None:
                raise KbsError(401, "JweError", "JWE failed")
            out = jwe_encrypt(jwk, data, pol.get("corrupt", {}).get(path))
        except KbsError as e:
            return self.error(e, auth=auth)
        self.reply(200, out, auth=auth)


def blackhole(args):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    write_port(args.port_file, s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)  # never read, never answer


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--resources")
    p.add_argument("--policy")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--log", default=os.devnull)
    p.add_argument("--evidence-log", help="append every attestation's tee-evidence (one JSON a line)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    p.add_argument("--blackhole", action="store_true")
    args = p.parse_args()
    if args.blackhole:
        return blackhole(args)
    if not args.resources or (not args.http and not (args.cert and args.key)):
        p.error("--resources and either --cert/--key or --http are required")
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(args)
    if not args.http:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(args.cert, args.key)
    write_port(args.port_file, srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
