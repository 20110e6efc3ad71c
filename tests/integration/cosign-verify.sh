#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cosign key-based verification (sigstoreSigned with keyPath/keyData):
# signatures laid out as cosign does (the HOST/REPO:sha256-HEX.sig artifact,
# simplesigning payload layer, signature annotation), made by
# python3-cryptography (no cosign binary exists in Debian, and Debian's
# skopeo has sigstore verification disabled), pushed to docker-registry with
# skopeo.  ECDSA P-256/P-384, RSA PKCS#1 v1.5 and PSS, Ed25519 accepted;
# wrong key, signature of another manifest, attachments not enabled in
# registries.d, the default identity against a repository-only cosign
# identity, fulcio without Rekor support: refused, exit 3, nothing pulled.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci jq python3; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
python3 -c 'import cryptography' 2>/dev/null || bail_out "python3-cryptography is not installed"
SIGN="python3 $top_srcdir/tests/integration/cosign-sign.py"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 17

PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
fx_umoci_image img t
fx_umoci_image img2 t
echo other >"$T/other"
umoci insert --rootless --image img2:t "$T/other" /other >/dev/null
push() { skopeo --insecure-policy copy -q --dest-tls-verify=false "$1" "docker://$REG/$2" >/dev/null 2>&1; }
mkdir -p rd rd-off
printf 'default-docker:\n  use-sigstore-attachments: true\n' >rd/a.yaml
printf 'default-docker:\n  use-sigstore-attachments: false\n' >rd-off/a.yaml
# sign REPO KEYTYPE [ARGS]: push img as REPO:v1 and a cosign signature of it
sign() {
    local repo=$1 kt=$2; shift 2
    push oci:img:t "$repo:v1" || return 1
    local dig
    dig=$(skopeo inspect --tls-verify=false "docker://$REG/$repo:v1" | jq -r .Digest)
    rm -rf "$T/sig-$repo"
    $SIGN "$kt" "$T/keys-$kt" "$dig" "$REG/$repo" "$T/sig-$repo" "$@" || return 1
    push "oci:$T/sig-$repo:sig" "$repo:sha256-${dig#sha256:}.sig"
}
policy() { # policy FILE REQ
    printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [%s]}}}\n' "$REG" "$2" >"$1"
}
sig_by() { echo "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$T/keys-$1/pub.pem\", \"signedIdentity\": {\"type\": \"matchRepository\"}}"; }
V() { "$COCO_IMG" verify --tls-verify=false --registries.d "${RD:-rd}" "$@"; }

for kt in ec256 ec384 rsa rsa-pss ed25519; do
    sign "app-$kt" "$kt" || bail_out "making the $kt signature failed"
    policy "p-$kt.json" "$(sig_by "$kt")"
    ok "cosign $kt signature: accepted" V --policy "p-$kt.json" "docker://$REG/app-$kt:v1"
done
fails "a signature by another key: refused" 3 V --policy p-ec256.json "docker://$REG/app-rsa:v1"
ok "the refusal says the signature does not verify" grep -q "does not verify with the policy's keys" "$T_TMP/out.$T_NUM"
policy p-data.json "{\"type\": \"sigstoreSigned\", \"keyData\": \"$(base64 -w0 keys-ed25519/pub.pem)\", \"signedIdentity\": {\"type\": \"matchRepository\"}}"
ok "keyData: accepted" V --policy p-data.json "docker://$REG/app-ed25519:v1"
RD=rd-off fails "use-sigstore-attachments off: refused" 3 V --policy p-ec256.json "docker://$REG/app-ec256:v1"
policy p-default.json "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$T/keys-ec256/pub.pem\"}"
fails "default identity (matchRepoDigestOrExact) vs a repository-only cosign identity: refused" 3 \
    V --policy p-default.json "docker://$REG/app-ec256:v1"
dig=$(skopeo inspect --tls-verify=false "docker://$REG/app-ec256:v1" | jq -r .Digest)
ok "by digest the default identity accepts it" V --policy p-default.json "docker://$REG/app-ec256@$dig"
# a valid signature of another manifest, attached to this one
push oci:img2:t other:v1
odig=$(skopeo inspect --tls-verify=false "docker://$REG/other:v1" | jq -r .Digest)
push oci:img:t app-swap:v1
rm -rf sig-swap
$SIGN ec256 "$T/keys-ec256" "$dig" "$REG/app-swap" sig-swap --other-digest "$odig"
push oci:sig-swap:sig "app-swap:sha256-${dig#sha256:}.sig"
fails "a signature of another manifest: refused" 3 V --policy p-ec256.json "docker://$REG/app-swap:v1"
ok "the refusal names the digest" grep -q "the signature is for manifest $odig" "$T_TMP/out.$T_NUM"
push oci:img2:t unsigned:v1
fails "no .sig artifact: refused" 3 V --policy p-ec256.json "docker://$REG/unsigned:v1"
policy p-fulcio.json '{"type": "sigstoreSigned", "fulcio": {"caData": "AAEC", "oidcIssuer": "https://i", "subjectEmail": "a@b"}, "rekorPublicKeyData": "AAEC"}'
fails "keyless (fulcio) with a CA that is not PEM: refused" 3 V --policy p-fulcio.json "docker://$REG/app-ec256:v1"
fails "pull with the wrong key: refused" 3 "$COCO_IMG" pull --tls-verify=false --registries.d rd \
    --policy p-ec256.json "docker://$REG/app-rsa:v1" "$T/bundle"
ok "and nothing is left" test ! -e "$T/bundle"
done_testing
