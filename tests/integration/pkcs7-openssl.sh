#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# PKCS7 key wrapper against independent peers, both directions.
#
# What we wrap is what ocicrypt writes: EnvelopedData with AES-128-GCM and
# Go's non-DER GCM parameters (10 13 30 11 84 0c <nonce> 02 01 10).
# `openssl cms -decrypt` cannot read that form (d2i fails on the primitive
# tag 16 "SEQUENCE", spec 6.2.2), so it is opened by hand here:
# `openssl asn1parse` shows the structure, `openssl pkeyutl` unwraps the CEK
# with RSA PKCS#1 v1.5 and python3-cryptography's AES-GCM opens the content.
# (skopeo itself decrypts our output in crypt-skopeo.sh.)
# What `openssl cms -encrypt` makes, we open: GCM (AuthEnvelopedData) always,
# CBC and 3DES only with the opt-in for unauthenticated content encryption.
. "$top_srcdir/tests/lib.sh"

TOOL="$top_builddir/tests/unit/pkcs7_tool"
K="$OCI_VECTORS/keys"
command -v openssl >/dev/null 2>&1 || bail_out "openssl is not installed"
python3 -c 'import cryptography' 2>/dev/null || bail_out "python3-cryptography is not installed"
[ -x "$TOOL" ] || bail_out "no $TOOL"
[ -f "$K/rsa_cert.pem" ] || bail_out "no vector keys at $K"

plan 19
D=$T_TMP
printf '%s' '{"symkey":"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw=","digest":"sha256:29e5757116a62120787e429566616310f7835315f8b8fd3a22b6a87daee7939c","cipheroptions":{"nonce":"PWvES3s5UrZLq4pjz5sXiw=="}}' > "$D/opts"
# a second recipient, made here (serial 0x77, with a subjectKeyIdentifier)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/k2.pem" -subj "/CN=second recipient" \
    -set_serial 0x77 -days 1 -out "$D/c2.pem" 2>/dev/null

# open DER KEY OUT: every encryptedKey through openssl pkeyutl, the one that
# gives a 16-byte CEK opens the AES-128-GCM content (tag checked)
cat > "$D/open.py" <<'PY'
import subprocess, sys, tempfile
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
der, key, out = sys.argv[1:4]
b = open(der, 'rb').read()
def tlv(b, i):
    t, l, j = b[i], b[i + 1], i + 2
    if l & 0x80:
        n = l & 0x7f
        l, j = int.from_bytes(b[j:j + n], 'big'), j + n
    return t, b[j:j + l], j + l
def items(b):
    i, r = 0, []
    while i < len(b):
        t, v, i = tlv(b, i)
        r.append((t, v))
    return r
(t, ci), = items(b); assert t == 0x30
(_, oid), (t, ed) = items(ci); assert oid == bytes.fromhex('2a864886f70d010703') and t == 0xa0
(t, ed), = items(ed)
ver, (tset, ris), (teci, eci) = items(ed); assert ver == (2, b'\0') and tset == 0x31
(_, data), (_, alg), (tct, ct) = items(eci)
(_, algoid), (tp, params) = items(alg)
assert algoid == bytes.fromhex('608648016503040106'), 'not id-aes128-GCM'
assert tp == 0x10 and params[:4] == bytes.fromhex('3011840c') and params[16:] == bytes.fromhex('020110'), 'not ocicrypt GCM parameters'
assert tct == 0x80, 'encryptedContent is not [0] IMPLICIT primitive'
nonce = params[4:16]
for _, ri in items(ris):
    v, ias, (_, kea), (_, ek) = items(ri)
    assert v == (2, b'\0') and kea == bytes.fromhex('06092a864886f70d010101'), 'rsaEncryption without parameters'
    with tempfile.NamedTemporaryFile() as f:
        f.write(ek); f.flush()
        p = subprocess.run(['openssl', 'pkeyutl', '-decrypt', '-inkey', key, '-in', f.name,
                            '-pkeyopt', 'rsa_padding_mode:pkcs1'], capture_output=True)
    if p.returncode == 0 and len(p.stdout) == 16:
        open(out, 'wb').write(AESGCM(p.stdout).decrypt(nonce, ct, None))
        sys.exit(0)
sys.exit('no recipient for this key')
PY

ok "wrap to two recipients" sh -c '"$1" wrap "$2" "$3" < "$4" > "$5"' _ \
    "$TOOL" "$K/rsa_cert.pem" "$D/c2.pem" "$D/opts" "$D/two.der"
ok "openssl asn1parse: envelopedData with aes-128-gcm and two RSA recipients" sh -c \
    'openssl asn1parse -inform DER -in "$1" > "$2" && grep -q "pkcs7-envelopedData" "$2" && grep -q "aes-128-gcm" "$2" &&
     [ "$(grep -c rsaEncryption "$2")" = 2 ]' _ "$D/two.der" "$D/asn1"
ok "openssl pkeyutl + AES-GCM open it with the vector key" sh -c \
    'python3 "$1" "$2" "$3" "$4" && cmp "$4" "$5"' _ "$D/open.py" "$D/two.der" "$K/rsa_priv.pem" "$D/out1" "$D/opts"
ok "openssl pkeyutl + AES-GCM open it with the second key" sh -c \
    'python3 "$1" "$2" "$3" "$4" && cmp "$4" "$5"' _ "$D/open.py" "$D/two.der" "$D/k2.pem" "$D/out2" "$D/opts"
ok "we unwrap it with either key" sh -c \
    '"$1" unwrap "$2" "$3" < "$6" | cmp - "$7" && "$1" unwrap "$4" "$5" < "$6" | cmp - "$7"' _ \
    "$TOOL" "$K/rsa_priv.pem" "$K/rsa_cert.pem" "$D/k2.pem" "$D/c2.pem" "$D/two.der" "$D/opts"
ok "describe lists both recipients" sh -c \
    '"$1" describe < "$2" > "$3" && grep -qx "CN=libcocoimg test recipient, serial 0x1234" "$3" && grep -qx "CN=second recipient, serial 0x77" "$3"' _ \
    "$TOOL" "$D/two.der" "$D/desc"

for alg in aes-128-gcm aes-256-gcm; do
    ok "we decrypt openssl cms -encrypt -$alg" sh -c \
        'openssl cms -encrypt -"$1" -binary -outform DER -in "$2" -out "$3" "$4" && "$5" unwrap "$6" "$4" < "$3" > "$7" && cmp "$7" "$2"' _ \
        "$alg" "$D/opts" "$D/o-$alg.der" "$D/c2.pem" "$TOOL" "$D/k2.pem" "$D/u-$alg"
done
for alg in aes128 aes256 des3; do
    openssl cms -encrypt -"$alg" -binary -outform DER -in "$D/opts" -out "$D/o-$alg.der" "$D/c2.pem"
    fails "openssl cms -encrypt -$alg (unauthenticated) is refused" 5 sh -c \
        '"$1" unwrap "$2" "$3" < "$4" 2>"$5"' _ "$TOOL" "$D/k2.pem" "$D/c2.pem" "$D/o-$alg.der" "$D/e-$alg"
    ok "  naming the opt-in, before the RSA key is used" sh -c \
        'grep -q -- "--pkcs7-allow-unauthenticated" "$1" && "$2" unwrap "$3" "$4" < "$5" 2>&1 | cmp - "$1"' _ \
        "$D/e-$alg" "$TOOL" "$K/rsa_priv.pem" "$K/rsa_cert.pem" "$D/o-$alg.der"
    ok "we decrypt openssl cms -encrypt -$alg with the opt-in" sh -c \
        '"$1" unwrap --allow-unauthenticated "$2" "$3" < "$4" | cmp - "$5"' _ \
        "$TOOL" "$D/k2.pem" "$D/c2.pem" "$D/o-$alg.der" "$D/opts"
done
ok "we decrypt openssl cms -encrypt -keyid (subjectKeyIdentifier)" sh -c \
    'openssl cms -encrypt -aes-128-gcm -keyid -binary -outform DER -in "$1" -out "$2" "$3" && "$4" unwrap "$5" "$3" < "$2" | cmp - "$1"' _ \
    "$D/opts" "$D/keyid.der" "$D/c2.pem" "$TOOL" "$D/k2.pem"

fails "wrong key gives ENOKEY" 2 sh -c '"$1" unwrap "$2" "$3" < "$4"' _ \
    "$TOOL" "$K/rsa_priv.pem" "$K/rsa_cert.pem" "$D/o-aes-256-gcm.der"
done_testing
