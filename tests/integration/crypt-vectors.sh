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

plan 35

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
dec rw-pkcs7-cbc rw-pkcs7-openssl-aes256cbc $M --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem"
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
