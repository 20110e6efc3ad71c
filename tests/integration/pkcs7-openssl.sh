#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# PKCS7 key wrapper against the openssl CLI, both directions: what we wrap,
# `openssl cms -decrypt` opens; what `openssl cms -encrypt` makes, we open.
. "$top_srcdir/tests/lib.sh"

TOOL="$top_builddir/tests/unit/pkcs7_tool"
K="$OCI_VECTORS/keys"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl"
[ -x "$TOOL" ] || skip_all "no pkcs7_tool"

plan 13
D=$T_TMP
printf '%s' '{"symkey":"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw=","digest":"sha256:29e5757116a62120787e429566616310f7835315f8b8fd3a22b6a87daee7939c","cipheroptions":{"nonce":"PWvES3s5UrZLq4pjz5sXiw=="}}' > "$D/opts"
# a second recipient, made here (serial 0x77, with a subjectKeyIdentifier)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/k2.pem" -subj "/CN=second recipient" \
    -set_serial 0x77 -days 1 -out "$D/c2.pem" 2>/dev/null

ok "wrap to two recipients" sh -c '"$1" wrap "$2" "$3" < "$4" > "$5"' _ \
    "$TOOL" "$K/rsa_cert.pem" "$D/c2.pem" "$D/opts" "$D/two.der"
ok "openssl decrypts it with the vector key" sh -c \
    'openssl cms -decrypt -inform DER -in "$1" -recip "$2" -inkey "$3" -binary -out "$4" && cmp "$4" "$5"' _ \
    "$D/two.der" "$K/rsa_cert.pem" "$K/rsa_priv.pem" "$D/out1" "$D/opts"
ok "openssl decrypts it with the second key" sh -c \
    'openssl cms -decrypt -inform DER -in "$1" -recip "$2" -inkey "$3" -binary -out "$4" && cmp "$4" "$5"' _ \
    "$D/two.der" "$D/c2.pem" "$D/k2.pem" "$D/out2" "$D/opts"
ok "it is AES-256-CBC EnvelopedData" sh -c \
    'openssl asn1parse -inform DER -in "$1" | grep -q "pkcs7-envelopedData" && openssl asn1parse -inform DER -in "$1" | grep -q "aes-256-cbc"' _ "$D/two.der"
ok "describe lists both recipients" sh -c \
    '"$1" describe < "$2" > "$3" && grep -qx "CN=libcocoimg test recipient, serial 0x1234" "$3" && grep -qx "CN=second recipient, serial 0x77" "$3"' _ \
    "$TOOL" "$D/two.der" "$D/desc"

for alg in aes128 aes256 des3 aes-128-gcm aes-256-gcm; do
    ok "we decrypt openssl cms -encrypt -$alg" sh -c \
        'openssl cms -encrypt -"$1" -binary -outform DER -in "$2" -out "$3" "$4" && "$5" unwrap "$6" "$4" < "$3" > "$7" && cmp "$7" "$2"' _ \
        "$alg" "$D/opts" "$D/o-$alg.der" "$D/c2.pem" "$TOOL" "$D/k2.pem" "$D/u-$alg"
done
ok "we decrypt openssl cms -encrypt -keyid (subjectKeyIdentifier)" sh -c \
    'openssl cms -encrypt -aes256 -keyid -binary -outform DER -in "$1" -out "$2" "$3" && "$4" unwrap "$5" "$3" < "$2" | cmp - "$1"' _ \
    "$D/opts" "$D/keyid.der" "$D/c2.pem" "$TOOL" "$D/k2.pem"

fails "wrong key gives ENOKEY" 2 sh -c '"$1" unwrap "$2" "$3" < "$4"' _ \
    "$TOOL" "$K/rsa_priv.pem" "$K/rsa_cert.pem" "$D/o-aes256.der"
fails "truncated blob gives EFORMAT" 4 sh -c 'head -c 300 "$2" | "$1" unwrap "$3" "$4"' _ \
    "$TOOL" "$D/two.der" "$D/k2.pem" "$D/c2.pem"
done_testing
