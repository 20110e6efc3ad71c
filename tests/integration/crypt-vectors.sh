#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Decrypt every skopeo-encrypted layout of the shared vectors: the result
# must be the very manifest skopeo itself produces when it decrypts
# (skopeo-results.txt), so layer digests, media types and annotations are
# restored byte for byte.  Then the refusals: wrong key, tampered blob,
# missing or wrong password.
. "$top_srcdir/tests/lib.sh"
V="$OCI_VECTORS"
[ -d "$V/layouts" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"
K="$V/keys"
export GNUPGHOME="$T_TMP/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$K/pgp_secring.gpg" 2>/dev/null
T_CLEANUP='gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null'

plan 41

n=0
# dec NAME LAYOUT EXPECTED-MANIFEST-DIGEST COCO-IMG-ARGS...
dec() {
    local name=$1 layout=$2 want=$3; shift 3
    n=$((n + 1))
    local out="$T_TMP/out-$n"
    ok "decrypt $name ($layout)" bash -c '
        "$COCO_IMG" decrypt "${@:4}" "oci:$1:v1" "oci:$2:v1" || exit 1
        got=$("$COCO_IMG" inspect --raw "oci:$2:v1" | sha256sum | cut -d" " -f1)
        [ "sha256:$got" = "$3" ] || { echo "manifest sha256:$got, skopeo gives $3"; exit 1; }
    ' _ "$V/layouts/$layout" "$out" "$want" "$@"
}
M=sha256:b1af2547db922e034225b06de8b96713423415323df18ce8d495fab98ea61b49
dec jwe-rsa-pkcs8pem enc-jwe-rsa $M --key "$K/rsa_priv.pem"
dec jwe-rsa-pkcs1pem enc-jwe-rsa $M --key "$K/rsa_priv_pkcs1.pem"
dec jwe-rsa-pkcs8der enc-jwe-rsa $M --key "$K/rsa_priv_pkcs8.der"
dec jwe-rsa-legacyenc-pw enc-jwe-rsa $M --key "$K/rsa_priv_pkcs1_enc.pem:testpass"
dec jwe-rsa-legacyenc-pass= enc-jwe-rsa $M --key "$K/rsa_priv_pkcs1_enc.pem:pass=testpass"
dec jwe-rsa-pkcs8enc enc-jwe-rsa $M --key "$K/rsa_priv_pkcs8_enc.pem:testpass"
dec jwe-ec-pkcs8 enc-jwe-ec $M --key "$K/ec_priv.pem"
dec jwe-ec-sec1 enc-jwe-ec $M --key "$K/ec_priv_sec1.pem"
dec jwe-multi-ec enc-jwe-multi $M --key "$K/ec_priv.pem"
dec jwe-multi-rsa enc-jwe-multi $M --key "$K/rsa_priv.pem"
dec pkcs7-key+cert enc-pkcs7 $M --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem"
dec pkcs7-dec-recipient enc-pkcs7 $M --key "$K/rsa_priv.pem" --dec-recipient "pkcs7:$K/rsa_cert.pem"
dec pgp-gpg-homedir enc-pgp $M --gpg-homedir "$GNUPGHOME"
dec mixed-pgp enc-mixed $M --gpg-homedir "$GNUPGHOME"
# skopeo parity: an OpenPGP secret keyring given as a key (private GnuPG home, removed after)
mkdir -p "$T_TMP/tmpdir"
TMPDIR="$T_TMP/tmpdir" dec pgp-secring-as-key enc-pgp $M --key "$K/pgp_secring.gpg"
ok "the private GnuPG home of a keyring key is removed" bash -c '[ -z "$(ls -A "$1")" ]' _ "$T_TMP/tmpdir"
dec mixed-pkcs7 enc-mixed $M --key "$K/rsa_cert.pem" --key "$K/rsa_priv.pem"
dec mixed-ec enc-mixed $M --key "$K/ec_priv.pem"
dec layer-last enc-layer-last $M --key "$K/rsa_priv.pem"
dec from-tar enc-from-tar sha256:79383b22d24c0a79b80b80e9fa30b88a053545a895b4d73faf4a7032797518b6 --key "$K/rsa_priv.pem"
dec big enc-big sha256:ecd1ae5c72e73e5662baae202d6f4076c4752d35f62590622479eb9da11358f2 --key "$K/rsa_priv.pem"
dec from-docker enc-from-docker sha256:269a46612a89505bee0d27a1c254d3abaac251740ba573722d6e419fa78c170e --key "$K/rsa_priv.pem"
dec myenc-rsa myenc-rsa $M --key "$K/rsa_priv.pem"
dec myenc-multi-p384 myenc-multi $M --key "$K/ec384_priv.pem"
dec rw-jwe-compact rw-jwe-compact-rsa $M --key "$K/rsa_priv.pem"
dec rw-jwe-oaep256 rw-jwe-flat-rsa-oaep256 $M --key "$K/rsa_priv.pem"
dec rw-pkcs7-cbc rw-pkcs7-openssl-aes256cbc $M --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem" --pkcs7-allow-unauthenticated
# the password from the environment, not the command line
COCOIMG_KEY_PASSWORD=testpass dec env-password enc-jwe-rsa $M --key "$K/rsa_priv_pkcs1_enc.pem"

# refusals: exit 3 = verification failed / no usable key, 2 = usage; nothing at DST
refused() {
    local name=$1 code=$2; shift 2
    local dst="$T_TMP/refused-$name"
    fails "refuse $name (exit $code, nothing at DST)" "$code" bash -c '
        "$COCO_IMG" decrypt "${@:3}" "oci:$2:v1"; rc=$?
        if [ -e "$2" ]; then echo "$2 was left behind"; exit 99; fi
        exit $rc' _ "$code" "$dst" "$@"
}
refused tampered-hmac 3 --key "$K/rsa_priv.pem" "oci:$V/layouts/enc-tampered:v1"
refused wrong-key 3 --key "$K/rsa_priv.pem" "oci:$V/layouts/enc-jwe-ec:v1"
refused pkcs7-without-cert 3 --key "$K/rsa_priv.pem" "oci:$V/layouts/enc-pkcs7:v1"
refused missing-password 2 --key "$K/rsa_priv_pkcs1_enc.pem" "oci:$V/layouts/enc-jwe-rsa:v1"
refused wrong-password 3 --key "$K/rsa_priv_pkcs1_enc.pem:wrong" "oci:$V/layouts/enc-jwe-rsa:v1"

# issue 12: PKCS7 with unauthenticated content encryption (AES-256-CBC)
A=org.opencontainers.image.enc.keys.pkcs7
CBC="$V/layouts/rw-pkcs7-openssl-aes256cbc"
TAMPER="$top_srcdir/tests/integration/tamper.py"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/k2.pem" -subj /CN=other -days 1 \
    -out "$T_TMP/c2.pem" 2>/dev/null
# cbc_msg OUT-PREFIX LAYOUT KEY-ARGS...: decrypt, keep stderr and the exit code
cbc_msg() {
    local o=$1 l=$2; shift 2
    "$COCO_IMG" decrypt "$@" "oci:$l:v1" "oci:$T_TMP/cbc-out-${o##*/}:v1" 2>"$o.err"
    echo $? >"$o.rc"
}
ok "CBC is refused without --pkcs7-allow-unauthenticated (exit 1, the message names it)" bash -c '
    "$1" decrypt --key "$2/rsa_priv.pem" --key "$2/rsa_cert.pem" "oci:$3:v1" "oci:$4:v1" 2>"$4.err"; rc=$?
    cat "$4.err"; [ $rc = 1 ] && grep -q -- "--pkcs7-allow-unauthenticated" "$4.err" && [ ! -e "$4" ]' \
    _ "$COCO_IMG" "$K" "$CBC" "$T_TMP/cbc-refused"
ok "  before any key is used: the same answer with a key that is not a recipient" bash -c '
    "$1" decrypt --key "$2" --key "$3" "oci:$4:v1" "oci:$5:v1" 2>"$5.err"; rc=$?
    [ $rc = 1 ] && cmp "$5.err" "$6.err"' \
    _ "$COCO_IMG" "$T_TMP/k2.pem" "$T_TMP/c2.pem" "$CBC" "$T_TMP/cbc-other" "$T_TMP/cbc-refused"
# with the opt-in: a bad padding and a good padding over bad JSON must not be
# told apart (the padding oracle of issue 12)
ok "make a CBC key with a bad padding and one with good padding over bad JSON" bash -c '
    set -e
    cp -r "$1" "$4/cbc-pad" && cp -r "$1" "$4/cbc-json"
    m=$("$5" inspect --raw "oci:$1:v1" | jq -r ".layers[0].annotations[\"$3\"]")
    # the last byte of the next-to-last block: the padding byte goes from p to p^1, never valid
    b=$(printf %s "$m" | base64 -d | python3 -c "import sys, base64
b = bytearray(sys.stdin.buffer.read()); b[len(b) - 17] ^= 1
print(base64.b64encode(b).decode())")
    python3 "$6" "$4/cbc-pad" v1 annotation 0 "$3" "$b"
    printf "{\"symkey\": not json, quoted nowhere" >"$4/bad.json"
    openssl cms -encrypt -aes256 -binary -outform DER -in "$4/bad.json" -out "$4/bad.der" "$2/rsa_cert.pem"
    python3 "$6" "$4/cbc-json" v1 annotation 0 "$3" "$(base64 -w0 "$4/bad.der")"' \
    _ "$CBC" "$K" "$A" "$T_TMP" "$COCO_IMG" "$TAMPER"
cbc_msg "$T_TMP/pad" "$T_TMP/cbc-pad" --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem" --pkcs7-allow-unauthenticated
cbc_msg "$T_TMP/json" "$T_TMP/cbc-json" --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem" --pkcs7-allow-unauthenticated
ok "bad padding and bad JSON after good padding: the same message" bash -c '
    cat "$1.err" "$2.err"; grep -q "cannot unwrap the layer key" "$1.err" && cmp "$1.err" "$2.err" &&
    ! grep -qi -e near -e json -e symkey -e padding "$1.err"' _ "$T_TMP/pad" "$T_TMP/json"
ok "  and the same exit code (3)" bash -c '[ "$(cat "$1.rc")" = 3 ] && [ "$(cat "$2.rc")" = 3 ]' \
    _ "$T_TMP/pad" "$T_TMP/json"
ok "  and a good CBC key still decrypts with the opt-in (the untampered layout)" bash -c '
    "$1" decrypt --key "$2/rsa_priv.pem" --key "$2/rsa_cert.pem" --pkcs7-allow-unauthenticated \
        "oci:$3:v1" "oci:$4:v1"' _ "$COCO_IMG" "$K" "$CBC" "$T_TMP/cbc-good"

# layerinfo names schemes and recipients without keys
ok "layerinfo enc-mixed" bash -c '
    "$COCO_IMG" layerinfo --json "oci:$1:v1" | python3 -c "
import json, sys
ls = json.load(sys.stdin)
assert len(ls) == 2 and all(l[\"encrypted\"] for l in ls), ls
l = ls[0]
assert sorted(l[\"schemes\"]) == [\"jwe\", \"pgp\", \"pkcs7\"], l
r = \" \".join(l[\"recipients\"])
assert \"12F1CD5F6A142AAA\" in r and \"libcocoimg test recipient\" in r and \"RSA-OAEP\" in r, r
"' _ "$V/layouts/enc-mixed"
ok "layerinfo table" bash -c '"$COCO_IMG" layerinfo "oci:$1:v1" | grep -q "jwe,pgp,pkcs7"' _ "$V/layouts/enc-mixed"
done_testing
