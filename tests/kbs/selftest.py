#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check the test KBS itself against the spec vectors and an independent JOSE
library, so a bug in kbs.py cannot hide a matching bug in the C client.

  selftest.py VECTORS_DIR                 offline: JCS and report_data vectors
  selftest.py VECTORS_DIR URL CA RESOURCE EXPECTED_FILE
                                          online: one RCAR round with the
                                          TEST-ONLY key, the resource JWE
                                          decrypted with jwcrypto

Prints TAP.
"""
import base64
import hashlib
import http.client
import json
import os
import ssl
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbs  # noqa: E402

N = 0
FAILED = 0


def check(name, cond, why=""):
    global N, FAILED
    N += 1
    print("%sok %d - %s" % ("" if cond else "not ", N, name))
    if not cond:
        FAILED += 1
        if why:
            print("# " + str(why))


def load(vec, name):
    with open(os.path.join(vec, "kbs", name)) as f:
        return json.load(f)


def offline(vec):
    v7 = load(vec, "07-jcs-sha384-vector.json")
    check("jcs of the trustee unit-test input", kbs.jcs(v7["input"]) == v7["jcs"])
    check("  ... sha384", hashlib.sha384(kbs.jcs(v7["input"]).encode()).hexdigest() ==
          v7["sha384_hex"])
    v3 = load(vec, "03-attest-request-sample.json")
    v3a = load(vec, "03a-report-data-derivation.json")
    rd = v3["runtime-data"]
    prd = {"tee-pubkey": rd["tee-pubkey"], "nonce": rd["nonce"], "additional-evidence": ""}
    check("canonical primary runtime data", kbs.jcs(prd) == v3a["primary_runtime_data_jcs"])
    digest = hashlib.sha384(kbs.jcs(prd).encode()).digest()
    check("report_data sha384", digest.hex() == v3a["primary_report_data_sha384_hex"])
    check("sample evidence report_data",
          base64.b64encode(digest).decode() == v3["tee-evidence"]["primary_evidence"]["report_data"])
    try:
        kbs.b64std_dec_strict("QUJ=")
        refused = False
    except ValueError:
        refused = True
    check("the sample verifier's base64 refuses non-canonical padding bits",
          refused and kbs.b64std_dec_strict("QUI=") == b"AB")
    # the JWE vector decrypts with jwcrypto (the vector itself, not kbs.py)
    from jwcrypto import jwe, jwk
    v5 = load(vec, "05-resource-response-ecdh-es-a256kw-p256.json")
    key = jwk.JWK(**load(vec, "tee-key-p256.TEST-ONLY.jwk.json")["jwk"])
    t = jwe.JWE()
    t.deserialize(json.dumps(v5["response"]), key=key)
    check("the JWE vector decrypts with jwcrypto", t.payload == v5["expected_plaintext_utf8"].encode())
    # kbs.py's own JWE decrypts with jwcrypto
    pub = key.export_public(as_dict=True)
    pub["alg"] = "ECDH-ES+A256KW"
    body = kbs.jwe_encrypt(pub, b"kbs.py secret")
    t = jwe.JWE()
    t.deserialize(body.decode(), key=key)
    check("kbs.py's JWE decrypts with jwcrypto", t.payload == b"kbs.py secret")
    hdr = json.loads(kbs.b64url_dec(json.loads(body)["protected"]))
    check("  ... header alg, enc first like trustee", list(hdr)[:2] == ["alg", "enc"])


def online(vec, url, ca, resource, expected):
    from jwcrypto import jwe, jwk
    u = urllib.parse.urlparse(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    keyd = load(vec, "tee-key-p256.TEST-ONLY.jwk.json")["jwk"]
    pub = {k: keyd[k] for k in ("kty", "crv", "alg", "x", "y")}

    def post(path, body, cookie=None):
        h = {"Content-Type": "application/json"}
        if cookie:
            h["Cookie"] = cookie
        conn.request("POST", path, json.dumps(body), h)
        r = conn.getresponse()
        return r, r.read()

    r, b = post("/kbs/v0/auth", load(vec, "01-auth-request.json"))
    check("auth: 200", r.status == 200, b)
    chal = json.loads(b)
    cookie = [c for c in r.headers.get_all("Set-Cookie") if c.startswith("kbs-session-id=")]
    check("auth: kbs-session-id cookie with Expires", len(cookie) == 1 and "Expires=" in cookie[0])
    sid = cookie[0].split(";")[0]
    prd = {"tee-pubkey": pub, "nonce": chal["nonce"], "additional-evidence": ""}
    rdata = base64.b64encode(hashlib.sha384(kbs.jcs(prd).encode()).digest()).decode()
    att = {"init-data": None, "runtime-data": {"nonce": chal["nonce"], "tee-pubkey": pub},
           "tee-evidence": {"primary_evidence": {"svn": "1", "report_data": rdata},
                            "additional_evidence": ""}}
    bad = json.loads(json.dumps(att))
    bad["runtime-data"]["tee-pubkey"]["kid"] = "extra member"
    bad["tee-evidence"]["primary_evidence"]["report_data"] = base64.b64encode(
        hashlib.sha384(kbs.jcs({"tee-pubkey": bad["runtime-data"]["tee-pubkey"],
                                "nonce": chal["nonce"], "additional-evidence": ""}).encode())
        .digest()).decode()
    r, b = post("/kbs/v0/attest", bad, sid)
    check("attest: an extra JWK member breaks the binding (section 1.4)", r.status == 401, b)
    r, b = post("/kbs/v0/attest", att, sid)
    check("attest: 200", r.status == 200, b)
    token = json.loads(b)["token"]
    conn.request("GET", "/kbs/v0/resource/" + resource, headers={"Cookie": sid})
    r = conn.getresponse()
    b = r.read()
    check("resource: 200", r.status == 200, b)
    t = jwe.JWE()
    t.deserialize(b.decode(), key=jwk.JWK(**keyd))
    with open(expected, "rb") as f:
        check("resource: jwcrypto decrypts the expected bytes", t.payload == f.read())
    conn.request("GET", "/kbs/v0/resource/" + resource,
                 headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    r.read()
    check("resource with the Bearer token: 200", r.status == 200)
    conn.request("GET", "/kbs/v0/resource/" + resource)
    r = conn.getresponse()
    b = json.loads(r.read())
    check("resource without credentials: 401 TokenNotFound",
          r.status == 401 and b == {"type": kbs.ERR_PREFIX + "TokenNotFound",
                                    "detail": "Attestation Token not found"}, b)


def main():
    vec = sys.argv[1]
    if len(sys.argv) > 2:
        online(vec, *sys.argv[2:6])
    else:
        offline(vec)
    print("1..%d" % N)
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
