#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layer encryption against the real peer, both directions:
#   coco-img encrypt -> skopeo copy --decryption-key (PKCS7: our AES-128-GCM form)
#   skopeo copy --encryption-key -> coco-img decrypt
# for JWE (RSA, P-256, P-384), PKCS7, OpenPGP, mixed recipients, gzip, zstd
# and plain-tar layers, a Docker schema2 source, --layer selection and
# adding recipients; the decrypted layers must have the original digests.
# Then the refusals on tampered images (DST untouched).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
fx_need skopeo gpg jq python3 openssl
V="$OCI_VECTORS"
[ -d "$V/keys" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"
K="$V/keys"
TAMPER="$top_srcdir/tests/integration/tamper.py"
export GNUPGHOME="$T_TMP/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$K/pgp_secring.gpg" 2>/dev/null
T_CLEANUP='gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null'
cd "$T_TMP" || exit 1

plan 41

# sources: 2 gzip layers; zstd; 1 plain tar layer; Docker schema2; umoci-built
cp -r "$V/layouts/plain-gzip" gz
cp -r "$V/layouts/plain-tar" tar
skopeo copy -q --dest-compress --dest-compress-format zstd oci:gz:v1 oci:zst:v1
fx_docker docker v1 >/dev/null
fx_umoci_image umoci v1

layers() { "$COCO_IMG" inspect "oci:$1" | jq -c .Layers; }
types() { "$COCO_IMG" inspect --raw "oci:$1" | jq -c '[.layers[].mediaType]'; }
manifest_digest() { echo "sha256:$("$COCO_IMG" inspect --raw "oci:$1" | sha256sum | cut -d' ' -f1)"; }
export -f layers types manifest_digest fx_listing
export K

# coco-img encrypts, skopeo decrypts: NAME SRC RECIPIENT-ARGS -- SKOPEO-KEY-ARGS
c2s() {
    local name=$1 src=$2; shift 2
    local rc=() sk=()
    while [ "$1" != -- ]; do rc+=("$1"); shift; done; shift
    sk=("$@")
    ok "coco-img encrypt, skopeo decrypts: $name" bash -c '
        src=$1 name=$2; shift 2
        rc=(); while [ "$1" != -- ]; do rc+=("$1"); shift; done; shift
        "$COCO_IMG" encrypt "${rc[@]}" "oci:$src:v1" "oci:enc-$name:v1" || exit 1
        t=$("$COCO_IMG" inspect --raw "oci:enc-$name:v1" | jq -r "[.layers[].mediaType|endswith(\"+encrypted\")]|all")
        [ "$t" = true ] || { echo "not every layer is encrypted"; exit 1; }
        skopeo copy -q "$@" "oci:enc-$name:v1" "oci:dec-$name:v1" || exit 1
        a=$("$COCO_IMG" inspect "oci:$src:v1" | jq -c .Layers)
        b=$(skopeo inspect "oci:dec-$name:v1" | jq -c .Layers)
        [ "$a" = "$b" ] || { echo "layers $b, wanted $a"; exit 1; }
    ' _ "$src" "$name" "${rc[@]}" -- "${sk[@]}"
}
c2s jwe-rsa gz --recipient "jwe:$K/rsa_pub.pem" -- --decryption-key "$K/rsa_priv.pem"
c2s jwe-p256 gz --recipient "jwe:$K/ec_pub.pem" -- --decryption-key "$K/ec_priv.pem"
c2s jwe-p384 gz --recipient "jwe:$K/ec384_pub.pem" -- --decryption-key "$K/ec384_priv.pem"
c2s pkcs7 gz --recipient "pkcs7:$K/rsa_cert.pem" -- --decryption-key "$K/rsa_priv.pem" --decryption-key "$K/rsa_cert.pem"
# two PKCS7 recipients (one RecipientInfo each, DER-sorted): skopeo opens it with the second
openssl req -x509 -newkey rsa:2048 -nodes -keyout p7b_priv.pem -subj "/CN=second pkcs7 recipient" \
    -set_serial 0x77 -days 1 -out p7b_cert.pem 2>/dev/null
c2s pkcs7-two gz --recipient "pkcs7:$K/rsa_cert.pem" --recipient pkcs7:p7b_cert.pem -- \
    --decryption-key p7b_priv.pem --decryption-key p7b_cert.pem
# issue 12: what skopeo decrypted just above is authenticated, in ocicrypt's own form
# (AES-128-GCM, Go's parameters 10 13 30 11 84 0c <nonce> 02 01 10; RFC 5084
# GCMParameters are refused by skopeo 1.9.3's fullsailor/pkcs7)
ok "coco-img writes PKCS7 as ocicrypt does: AES-128-GCM with Go's parameters" bash -c '
    for i in 0 1; do
        "$COCO_IMG" inspect --raw oci:enc-pkcs7:v1 |
            jq -r ".layers[$i].annotations[\"org.opencontainers.image.enc.keys.pkcs7\"]" | base64 -d >p7.der &&
        openssl asn1parse -inform DER -in p7.der | grep -q ":aes-128-gcm" &&
        od -An -tx1 -v p7.der | tr -d " \n" | grep -Eq "060960864801650304010610133011840c[0-9a-f]{24}020110" || exit 1
    done'
c2s pgp gz --recipient pgp:coco-test@example.com -- --decryption-key "$K/pgp_secring.gpg"
c2s mixed-ec gz --recipient "jwe:$K/rsa_pub.pem" --recipient "pkcs7:$K/rsa_cert.pem" \
    --recipient pgp:coco-test@example.com --recipient "jwe:$K/ec_pub.pem" -- --decryption-key "$K/ec_priv.pem"
c2s mixed-pgp gz --recipient "jwe:$K/rsa_pub.pem" --recipient pgp:coco-test@example.com -- \
    --decryption-key "$K/pgp_secring.gpg"
c2s zstd zst --recipient "jwe:$K/rsa_pub.pem" -- --decryption-key "$K/rsa_priv.pem"
c2s plain-tar tar --recipient "jwe:$K/rsa_pub.pem" -- --decryption-key "$K/rsa_priv.pem"
c2s umoci umoci --recipient "jwe:$K/ec_pub.pem" -- --decryption-key "$K/ec_priv.pem"

ok "coco-img keeps the media types (+encrypted) of gzip, zstd and tar layers" bash -c '
    [ "$(types enc-jwe-rsa:v1)" = "[\"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\",\"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\"]" ] &&
    [ "$(types enc-zstd:v1)" = "[\"application/vnd.oci.image.layer.v1.tar+zstd+encrypted\",\"application/vnd.oci.image.layer.v1.tar+zstd+encrypted\"]" ] &&
    [ "$(types enc-plain-tar:v1)" = "[\"application/vnd.oci.image.layer.v1.tar+encrypted\"]" ]'
ok "skopeo decrypt of coco-img output restores the original manifest byte for byte" bash -c '
    [ "$(manifest_digest gz:v1)" = "$(manifest_digest dec-jwe-rsa:v1)" ]'

# Docker schema2 source: converted to OCI, skopeo decrypts it
ok "Docker schema2 source is converted to OCI and encrypted" bash -c '
    "$COCO_IMG" encrypt --recipient "jwe:$1/rsa_pub.pem" oci:docker:v1 oci:enc-docker:v1 &&
    m=$("$COCO_IMG" inspect --raw oci:enc-docker:v1) &&
    [ "$(echo "$m" | jq -r .mediaType)" = application/vnd.oci.image.manifest.v1+json ] &&
    [ "$(echo "$m" | jq -r .config.mediaType)" = application/vnd.oci.image.config.v1+json ] &&
    [ "$(echo "$m" | jq -r ".layers[0].mediaType")" = application/vnd.oci.image.layer.v1.tar+gzip+encrypted ]' _ "$K"
ok "skopeo decrypts the converted Docker image to the original layers" bash -c '
    skopeo copy -q --decryption-key "$1/rsa_priv.pem" oci:enc-docker:v1 oci:dec-docker:v1 &&
    [ "$(skopeo inspect dir:docker.dir | jq -c .Layers)" = "$(skopeo inspect oci:dec-docker:v1 | jq -c .Layers)" ]' _ "$K"

# --layer selection: only the topmost layer
ok "--layer -1 encrypts only the topmost layer" bash -c '
    "$COCO_IMG" encrypt --recipient "jwe:$1/rsa_pub.pem" --layer -1 oci:gz:v1 oci:enc-last:v1 &&
    t=$(types enc-last:v1) &&
    [ "$t" = "[\"application/vnd.oci.image.layer.v1.tar+gzip\",\"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\"]" ] &&
    [ "$(layers gz:v1 | jq -r ".[0]")" = "$(layers enc-last:v1 | jq -r ".[0]")" ] &&
    skopeo copy -q --decryption-key "$1/rsa_priv.pem" oci:enc-last:v1 oci:dec-last:v1 &&
    [ "$(layers gz:v1)" = "$(skopeo inspect oci:dec-last:v1 | jq -c .Layers)" ]' _ "$K"
fails "--layer out of range is a usage error" 2 "$COCO_IMG" encrypt --recipient "jwe:$K/rsa_pub.pem" --layer 5 oci:gz:v1 oci:enc-bad:v1

# skopeo encrypts, coco-img decrypts: NAME SRC SKOPEO-ENC-ARGS -- COCO-KEY-ARGS
s2c() {
    ok "skopeo encrypts, coco-img decrypts: $1" bash -c '
        name=$1 src=$2; shift 2
        sk=(); while [ "$1" != -- ]; do sk+=("$1"); shift; done; shift
        skopeo copy -q "${sk[@]}" "oci:$src:v1" "oci:senc-$name:v1" || exit 1
        "$COCO_IMG" decrypt "$@" "oci:senc-$name:v1" "oci:cdec-$name:v1" || exit 1
        skopeo copy -q --decryption-key "$K/rsa_priv.pem" --decryption-key "$K/ec_priv.pem" \
            --decryption-key "$K/ec384_priv.pem" --decryption-key "$K/rsa_cert.pem" "oci:senc-$name:v1" "oci:sdec-$name:v1" 2>/dev/null ||
        skopeo copy -q --decryption-key "$K/pgp_secring.gpg" "oci:senc-$name:v1" "oci:sdec-$name:v1" || exit 1
        a=$(skopeo inspect "oci:sdec-$name:v1" | jq -c .Layers)
        b=$(layers "cdec-$name:v1")
        [ "$a" = "$b" ] || { echo "coco-img: $b, skopeo: $a"; exit 1; }
        [ "$(manifest_digest "sdec-$name:v1")" = "$(manifest_digest "cdec-$name:v1")" ] ||
            { echo "manifests differ"; exit 1; }
    ' _ "$@"
}
export K
s2c jwe-rsa gz --encryption-key "jwe:$K/rsa_pub.pem" -- --key "$K/rsa_priv.pem"
s2c jwe-p256 gz --encryption-key "jwe:$K/ec_pub.pem" -- --key "$K/ec_priv.pem"
s2c jwe-p384 gz --encryption-key "jwe:$K/ec384_pub.pem" -- --key "$K/ec384_priv.pem"
s2c pkcs7 gz --encryption-key "pkcs7:$K/rsa_cert.pem" -- --key "$K/rsa_priv.pem" --dec-recipient "pkcs7:$K/rsa_cert.pem"
s2c pgp gz --encryption-key pgp:coco-test@example.com -- --gpg-homedir "$GNUPGHOME"
s2c mixed gz --encryption-key "jwe:$K/rsa_pub.pem" --encryption-key "pkcs7:$K/rsa_cert.pem" \
    --encryption-key pgp:coco-test@example.com --encryption-key "jwe:$K/ec384_pub.pem" -- --key "$K/ec384_priv.pem"
s2c zstd zst --encryption-key "jwe:$K/rsa_pub.pem" -- --key "$K/rsa_priv.pem"
s2c plain-tar tar --encryption-key "jwe:$K/rsa_pub.pem" -- --key "$K/rsa_priv.pem"
s2c umoci umoci --encryption-key "jwe:$K/ec_pub.pem" -- --key "$K/ec_priv.pem"
s2c layer-0 gz --encryption-key "jwe:$K/rsa_pub.pem" --encrypt-layer 0 -- --key "$K/rsa_priv.pem"

# adding recipients to encrypted layers: blobs unchanged, new key works
ok "adding a recipient keeps the blobs and lets the new key decrypt" bash -c '
    "$COCO_IMG" encrypt --key "$K/rsa_priv.pem" --recipient "jwe:$K/ec_pub.pem" oci:enc-jwe-rsa:v1 oci:enc-added:v1 &&
    [ "$(layers enc-jwe-rsa:v1)" = "$(layers enc-added:v1)" ] &&
    skopeo copy -q --decryption-key "$K/ec_priv.pem" oci:enc-added:v1 oci:dec-added-ec:v1 &&
    skopeo copy -q --decryption-key "$K/rsa_priv.pem" oci:enc-added:v1 oci:dec-added-rsa:v1 &&
    [ "$(layers gz:v1)" = "$(skopeo inspect oci:dec-added-ec:v1 | jq -c .Layers)" ] &&
    [ "$("$COCO_IMG" inspect --raw oci:enc-added:v1 | jq -r ".layers[0].annotations[\"org.opencontainers.image.enc.keys.jwe\"]" | tr -cd , | wc -c)" = 1 ]'
fails "adding a recipient without the key is refused" 3 "$COCO_IMG" encrypt --recipient "jwe:$K/ec_pub.pem" oci:enc-jwe-rsa:v1 oci:enc-added2:v1

# refusals: tampered images; exit code, and nothing written at DST
refuse() { # NAME CODE TAMPER-ARGS... -- DECRYPT-ARGS...
    local name=$1 code=$2; shift 2
    local t=()
    while [ "$1" != -- ]; do t+=("$1"); shift; done; shift
    rm -rf "t-$name" && cp -r "${REFUSE_SRC:-enc-jwe-rsa}" "t-$name"
    python3 "$TAMPER" "t-$name" v1 "${t[@]}"
    fails "refuse $name" "$code" bash -c '"$COCO_IMG" decrypt "${@:3}" "oci:$1:v1" "oci:$2:v1"; rc=$?
        [ -e "$2" ] && { echo "$2 was written"; exit 99; }; exit $rc' _ "t-$name" "out-$name" "$@"
}
refuse flipped-ciphertext-byte 3 flip 1 40 -- --key "$K/rsa_priv.pem"
refuse truncated-blob 3 truncate 0 10 -- --key "$K/rsa_priv.pem"
refuse tampered-pubopts-hmac 3 pubopts-hmac 0 -- --key "$K/rsa_priv.pem"
refuse missing-pubopts 1 annotation 0 org.opencontainers.image.enc.pubopts - -- --key "$K/rsa_priv.pem"
refuse malformed-jwe 3 annotation 0 org.opencontainers.image.enc.keys.jwe "bm90IGEgandl" -- --key "$K/rsa_priv.pem"
refuse wrong-key 3 flip 0 0 -- --key "$K/ec_priv.pem"
REFUSE_SRC=enc-pkcs7 refuse malformed-pkcs7 3 annotation 0 org.opencontainers.image.enc.keys.pkcs7 \
    "MIIBAgMEBQ==" -- --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem"
REFUSE_SRC=enc-pkcs7 refuse pkcs7-flipped-pubopts 3 pubopts-hmac 1 -- --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem"
# issue 12: an unauthenticated pubopts nonce is never used: the layers decrypt as encrypted
ok "a nonce added to the public options is ignored" bash -c '
    rm -rf t-nonce && cp -r enc-jwe-rsa t-nonce && python3 "$1" t-nonce v1 pubopts-nonce 0 &&
    "$COCO_IMG" decrypt --key "$K/rsa_priv.pem" oci:t-nonce:v1 oci:out-nonce:v1 &&
    [ "$(layers gz:v1)" = "$(layers out-nonce:v1)" ]' _ "$TAMPER"
# issue 12: every unwrap failure has one message and exit code, no parser context
ok "a malformed and a tampered wrapped key give the same message" bash -c '
    a=$("$COCO_IMG" decrypt --key "$K/rsa_priv.pem" oci:t-malformed-jwe:v1 oci:o1:v1 2>&1 >/dev/null)
    b=$("$COCO_IMG" decrypt --key "$K/rsa_priv.pem" --key "$K/rsa_cert.pem" oci:t-malformed-pkcs7:v1 oci:o2:v1 2>&1 >/dev/null)
    echo "$a"; echo "$b"
    [ "${a##*: }" = "cannot unwrap the layer key" ] && [ "${b##*: }" = "${a##*: }" ] &&
    ! grep -q near <<<"$a$b"'
ok "decrypt into an existing layout leaves it unchanged on failure" bash -c '
    cp -r gz existing && before=$(fx_listing existing) &&
    ! "$COCO_IMG" decrypt --key "$K/rsa_priv.pem" oci:t-flipped-ciphertext-byte:v1 oci:existing:v2 &&
    [ "$before" = "$(fx_listing existing)" ]'
done_testing
