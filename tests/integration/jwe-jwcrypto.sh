#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Cross-check the JWE key wrapper with an independent JOSE implementation
# (python3-jwcrypto): our output decrypts there, theirs decrypts here.
. "$top_srcdir/tests/lib.sh"

TOOL="$top_builddir/tests/unit/jwe_tool"
KEYS="$OCI_VECTORS/keys"
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jwcrypto' 2>/dev/null; then
        PY=$p
        break
    fi
done
[ -n "$PY" ] || skip_all "python3-jwcrypto not installed"
[ -x "$TOOL" ] || skip_all "jwe_tool not built"
[ -d "$KEYS" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"

cat >"$T_TMP/jw.py" <<'PYEOF'
import json, sys
from jwcrypto import jwe, jwk
from jwcrypto.common import json_encode

ALGS = ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256", "ECDH-ES+A128KW", "ECDH-ES+A192KW",
        "ECDH-ES+A256KW", "A128GCM", "A192GCM", "A256GCM"]

def key(path):
    with open(path, "rb") as f:
        return jwk.JWK.from_pem(f.read())

def decrypt(keyfile):
    data = sys.stdin.read()
    e = jwe.JWE()
    e.allowed_algs = ALGS
    e.deserialize(data, key=key(keyfile))
    sys.stdout.buffer.write(e.payload)

def encrypt(mode, enc, *recips):
    # recips: ALG:KEYFILE[:extra-json]
    pt = sys.stdin.buffer.read()
    prot = {"enc": enc}
    e = jwe.JWE(pt, protected=json_encode(prot) if mode == "general" else None)
    e.allowed_algs = ALGS
    for r in recips:
        alg, path, *extra = r.split(":", 2)
        hdr = {"alg": alg}
        if extra:
            hdr.update(json.loads(extra[0]))
        if mode == "general":
            e.add_recipient(key(path), header=json_encode(hdr))
        else:
            hdr["enc"] = enc
            e = jwe.JWE(pt, protected=json_encode(hdr))
            e.allowed_algs = ALGS
            e.add_recipient(key(path))
    out = e.serialize(compact=(mode == "compact"))
    sys.stdout.write(out)

def tamper():
    j = json.loads(sys.stdin.read())
    c = list(j["ciphertext"])
    c[3] = "A" if c[3] != "A" else "B"
    j["ciphertext"] = "".join(c)
    sys.stdout.write(json.dumps(j))

if __name__ == "__main__":
    {"decrypt": decrypt, "encrypt": encrypt, "tamper": tamper}[sys.argv[1]](*sys.argv[2:])
PYEOF

PT='{"symkey":"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw=","digest":"sha256:29e5757116a62120787e429566616310f7835315f8b8fd3a22b6a87daee7939c","cipheroptions":{"nonce":"PWvES3s5UrZLq4pjz5sXiw=="}}'
printf '%s' "$PT" >"$T_TMP/pt"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$T_TMP/p521.pem" 2>/dev/null
openssl pkey -in "$T_TMP/p521.pem" -pubout -out "$T_TMP/p521_pub.pem" 2>/dev/null

# ours -> jwcrypto: WRAP_THEN_DECRYPT NAME PRIVKEY PUBKEY...
ours_theirs() {
    priv=$1; shift
    "$TOOL" wrap "$@" <"$T_TMP/pt" >"$T_TMP/w.jwe" || return 1
    "$PY" "$T_TMP/jw.py" decrypt "$priv" <"$T_TMP/w.jwe" >"$T_TMP/w.out" || return 1
    cmp "$T_TMP/pt" "$T_TMP/w.out"
}
# jwcrypto -> ours: THEIRS_OURS PRIVKEY MODE ENC RECIPIENT...
theirs_ours() {
    priv=$1; shift
    "$PY" "$T_TMP/jw.py" encrypt "$@" <"$T_TMP/pt" >"$T_TMP/t.jwe" || return 1
    "$TOOL" unwrap "$priv" <"$T_TMP/t.jwe" >"$T_TMP/t.out" || return 1
    cmp "$T_TMP/pt" "$T_TMP/t.out"
}
# the 4-recipient general JWE decrypts in jwcrypto with each key
multi() {
    "$TOOL" wrap "$KEYS/rsa_pub.pem" "$KEYS/ec_pub.pem" "$KEYS/ec384_pub.pem" "$T_TMP/p521_pub.pem" \
        <"$T_TMP/pt" >"$T_TMP/m.jwe" || return 1
    for k in "$KEYS/rsa_priv.pem" "$KEYS/ec_priv.pem" "$KEYS/ec384_priv.pem" "$T_TMP/p521.pem"; do
        "$PY" "$T_TMP/jw.py" decrypt "$k" <"$T_TMP/m.jwe" >"$T_TMP/m.out" || return 1
        cmp "$T_TMP/pt" "$T_TMP/m.out" || return 1
    done
}
unwrap_code() {
    "$TOOL" unwrap "$@" <"$T_TMP/t.jwe" >/dev/null
}

plan 17
ok "RSA-OAEP wrap decrypts in jwcrypto" ours_theirs "$KEYS/rsa_priv.pem" "$KEYS/rsa_pub.pem"
ok "P-256 ECDH-ES+A256KW wrap decrypts in jwcrypto" ours_theirs "$KEYS/ec_priv.pem" "$KEYS/ec_pub.pem"
ok "P-384 wrap decrypts in jwcrypto" ours_theirs "$KEYS/ec384_priv.pem" "$KEYS/ec384_pub.pem"
ok "P-521 wrap decrypts in jwcrypto" ours_theirs "$T_TMP/p521.pem" "$T_TMP/p521_pub.pem"
ok "4-recipient general JWE decrypts in jwcrypto with each key" multi
ok "jwcrypto compact RSA-OAEP-256/A256GCM" \
    theirs_ours "$KEYS/rsa_priv.pem" compact A256GCM "RSA-OAEP-256:$KEYS/rsa_pub.pem"
ok "jwcrypto flattened ECDH-ES+A128KW/A128GCM P-384" \
    theirs_ours "$KEYS/ec384_priv.pem" flat A128GCM "ECDH-ES+A128KW:$KEYS/ec384_pub.pem"
ok "jwcrypto P-521 ECDH-ES+A256KW" \
    theirs_ours "$T_TMP/p521.pem" flat A256GCM "ECDH-ES+A256KW:$T_TMP/p521_pub.pem"
ok "jwcrypto general RSA-OAEP + ECDH-ES+A192KW with apu/apv, A192GCM (EC key)" \
    theirs_ours "$KEYS/ec_priv.pem" general A192GCM "RSA-OAEP:$KEYS/rsa_pub.pem" \
    "ECDH-ES+A192KW:$KEYS/ec_pub.pem:{\"apu\":\"QWxpY2U\",\"apv\":\"Qm9i\"}"
ok "same general JWE with the RSA key" unwrap_code "$KEYS/rsa_priv.pem"
fails "wrong key gives ENOKEY" 10 unwrap_code "$KEYS/ec384_priv.pem"
ok "encrypted key with password" unwrap_code "$KEYS/rsa_priv_pkcs1_enc.pem:testpass" \
    "$KEYS/ec_priv.pem"
fails "wrong password gives EAUTH" 9 unwrap_code "$KEYS/rsa_priv_pkcs1_enc.pem:nope"
"$PY" "$T_TMP/jw.py" encrypt flat A256GCM "RSA-OAEP:$KEYS/rsa_pub.pem" <"$T_TMP/pt" >"$T_TMP/f.jwe"
"$PY" "$T_TMP/jw.py" tamper <"$T_TMP/f.jwe" >"$T_TMP/t.jwe"
fails "tampered ciphertext gives EAUTH" 9 unwrap_code "$KEYS/rsa_priv.pem"
"$PY" "$T_TMP/jw.py" encrypt flat A256GCM "RSA1_5:$KEYS/rsa_pub.pem" <"$T_TMP/pt" >"$T_TMP/t.jwe"
fails "RSA1_5 is refused with ENOTSUP" 6 unwrap_code "$KEYS/rsa_priv.pem"
printf '{"protected":' >"$T_TMP/t.jwe"
fails "malformed JSON gives EFORMAT" 7 unwrap_code "$KEYS/rsa_priv.pem"
describe() {
    "$TOOL" describe <"$T_TMP/m.jwe" >"$T_TMP/d.out" &&
        grep -qx '\["RSA-OAEP","ECDH-ES+A256KW P-256","ECDH-ES+A256KW P-384","ECDH-ES+A256KW P-521"\]' \
            "$T_TMP/d.out"
}
ok "describe lists every recipient" describe
done_testing
