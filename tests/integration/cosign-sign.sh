#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cosign signing: generate-sigstore-key writes cosign's encrypted key format
# (checked by independent code: hashlib scrypt + PyNaCl secretbox, and the
# private key must match P.pub), a key written by Python in cosign's format
# (older "ENCRYPTED COSIGN PRIVATE KEY" label) is read; copy
# --sign-by-sigstore-private-key pushes the sha256-HEX.sig attachment to
# docker-registry: coco-img verify accepts it under sigstoreSigned, the
# payload and signature verify with python3-cryptography, a second signature
# is added next to the first, a wrong passphrase exits 3 without echoing it,
# an unsigned tag is refused, copy --all signs each instance and the index.
# copy --sign-by --sign-to DIR: skopeo's policy-checked copy with a
# lookaside at DIR accepts the simple signature.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci gpg jq curl; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
PY=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import nacl.secret, cryptography' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || bail_out "python3-nacl / python3-cryptography are not installed"
KEYPY="$PY $top_srcdir/tests/integration/cosign-key.py"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
unset COSIGN_PASSWORD
plan 30

PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
fx_umoci_image img t
fx_umoci_image img2 t
echo other >"$T/other"
umoci insert --rootless --image img2:t "$T/other" /other >/dev/null
fx_multiarch multi m
mkdir -p rd
printf 'default-docker:\n  use-sigstore-attachments: true\n' >rd/a.yaml
printf 'Secret-pass-1\nignored\n' >pass1
printf 'other-secret-2\n' >pass2
printf 'Wrong-pass-9\n' >wrong

# --- keys ---
ok "generate-sigstore-key writes P.key and P.pub" \
    "$COCO_IMG" generate-sigstore-key --output-prefix "$T/k" --passphrase-file pass1
ok "P.key is mode 0600" test "$(stat -c %a k.key)" = 600
ok "P.key decrypts with scrypt + NaCl secretbox (Python) and matches P.pub" \
    $KEYPY check k.key k.pub Secret-pass-1
fails "the wrong passphrase does not decrypt it (Python)" '*' $KEYPY check k.key k.pub Secret-pass-2
fails "generate-sigstore-key refuses to overwrite P.key" 1 \
    "$COCO_IMG" generate-sigstore-key --output-prefix "$T/k" --passphrase-file pass1
fails "no passphrase file, no \$COSIGN_PASSWORD, no terminal: refused" '*' \
    setsid "$COCO_IMG" generate-sigstore-key --output-prefix "$T/nokey" </dev/null
ok "and nothing was written" test ! -e nokey.key -a ! -e nokey.pub
COSIGN_PASSWORD=env-pass ok "\$COSIGN_PASSWORD is the passphrase" \
    "$COCO_IMG" generate-sigstore-key --output-prefix "$T/e"
ok "the key made with \$COSIGN_PASSWORD decrypts with it" $KEYPY check e.key e.pub env-pass
$KEYPY write py.key py.pub other-secret-2 || bail_out "python key generation failed"

policy() { # policy FILE PUB...: sigstoreSigned by any of the keys, default identity
    local f=$1 paths; shift
    paths=$(printf '"%s",' "$@")
    printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "sigstoreSigned", "keyPaths": [%s]}]}}}\n' \
        "$REG" "${paths%,}" >"$f"
}
policy p-k.json "$T/k.pub"
policy p-py.json "$T/py.pub"
V() { "$COCO_IMG" verify --tls-verify=false --registries.d rd "$@"; }
C() { "$COCO_IMG" copy --insecure-policy --dest-tls-verify=false "$@"; }
sigman() { # sigman REPO DIGEST: the .sig manifest
    curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REG/v2/$1/manifests/sha256-${2#sha256:}.sig"
}

# --- signing with a pushed .sig ---
ok "copy --sign-by-sigstore-private-key pushes and signs" \
    C --sign-by-sigstore-private-key k.key --sign-passphrase-file pass1 oci:img:t "docker://$REG/app:v1"
DIG=$(skopeo inspect --tls-verify=false "docker://$REG/app:v1" | jq -r .Digest)
ok "coco-img verify (sigstoreSigned, default identity) accepts it" V --policy p-k.json "docker://$REG/app:v1"
sigman app "$DIG" >sig1.json
L0=$(jq -r '.layers[0].digest' sig1.json)
curl -sf "http://$REG/v2/app/blobs/$L0" -o payload1
ok "the payload names the manifest digest, the tag and cosign's type" \
    test "$(jq -r '[.critical.image."docker-manifest-digest", .critical.identity."docker-reference", .critical.type, (.optional == null)] | join(" ")' payload1)" \
    = "$DIG $REG/app:v1 cosign container image signature true"
ok "python3-cryptography verifies the signature over the payload" \
    $KEYPY verify k.pub payload1 "$(jq -r '.layers[0].annotations."dev.cosignproject.cosign/signature"' sig1.json)"
ok "the layer media type is cosign's simplesigning type" \
    test "$(jq -r '.layers[0].mediaType' sig1.json)" = application/vnd.dev.cosign.simplesigning.v1+json
fails "the Python key's policy refuses it before the second signature" 3 V --policy p-py.json "docker://$REG/app:v1"
ok "a key in cosign's format written by Python signs (second signature)" \
    C --sign-by-sigstore-private-key py.key --sign-passphrase-file pass2 oci:img:t "docker://$REG/app:v1"
ok "the .sig artifact keeps both layers" test "$(sigman app "$DIG" | jq '.layers | length')" = 2
ok "and the second signature is accepted by its key" V --policy p-py.json "docker://$REG/app:v1"
ok "and the first still is" V --policy p-k.json "docker://$REG/app:v1"
fails "a wrong passphrase exits 3" 3 \
    C --sign-by-sigstore-private-key k.key --sign-passphrase-file wrong oci:img2:t "docker://$REG/wrong:v1"
ok "the error does not print the passphrase" sh -c "! grep -q Wrong-pass-9 '$T_TMP/out.$T_NUM'"
ok "and nothing was pushed" sh -c "! skopeo inspect --tls-verify=false docker://$REG/wrong:v1"
GOKEY=$top_srcdir/tests/fixtures/cosign/go-cosign-empty-pass.key
$KEYPY pub "$GOKEY" "" >go.pub || bail_out "the cosign vector does not decrypt in Python"
policy p-go.json "$T/go.pub"
COSIGN_PASSWORD= ok "a key written by Go cosign (published vector, empty passphrase) signs" \
    C --sign-by-sigstore-private-key "$GOKEY" oci:img2:t "docker://$REG/gokey:v1"
ok "and its signature is accepted by the key Python derived from it" V --policy p-go.json "docker://$REG/gokey:v1"
fails "and refused under another key" 3 V --policy p-k.json "docker://$REG/gokey:v1"
C oci:img2:t "docker://$REG/unsigned:v1" >/dev/null 2>&1
fails "an unsigned tag is refused" 3 V --policy p-k.json "docker://$REG/unsigned:v1"

# --- multi-arch ---
ok "copy --all signs each instance and the index" \
    C --all --sign-by-sigstore-private-key k.key --sign-passphrase-file pass1 oci:multi:m "docker://$REG/multi:v1"
skopeo inspect --raw --tls-verify=false "docker://$REG/multi:v1" >index.json
IDIG=sha256:$(sha256sum index.json | cut -d' ' -f1)
good=0
for d in $IDIG $(jq -r '.manifests[].digest' index.json); do
    V --policy p-k.json "docker://$REG/multi@$d" >/dev/null 2>&1 && good=$((good + 1))
done
ok "all three signatures verify (index + 2 instances)" test "$good" = 3

# --- --sign-to DIR (simple signing) ---
export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
T_CLEANUP="$T_CLEANUP gpgconf --homedir $GNUPGHOME --kill all 2>/dev/null;"
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "Sig <s@example.com>" ed25519 sign never >/dev/null 2>&1
FPR=$(gpg --batch --with-colons --list-keys "s@example.com" | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --export "$FPR" >s.pub
ok "copy --sign-by --sign-to DIR writes the signature there" \
    C --sign-by "$FPR" --sign-to "$T/lookaside" oci:img:t "docker://$REG/gapp:v1"
mkdir -p rd2
printf 'default-docker:\n  lookaside: file://%s/lookaside\n' "$T" >rd2/a.yaml
printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "%s/s.pub"}]}}}\n' \
    "$REG" "$T" >p-gpg.json
ok "skopeo's policy-checked copy with that lookaside accepts it" \
    skopeo --policy p-gpg.json --registries.d rd2 copy -q --src-tls-verify=false \
    --remove-signatures "docker://$REG/gapp:v1" "oci:$T/sk-out:x"
done_testing
