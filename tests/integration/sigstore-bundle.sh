#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Sigstore bundle v0.3 signatures as cosign 3 attaches them (OCI 1.1
# referrers, DSSE in-toto statement), made by python3-cryptography
# (tests/integration/sigstore-bundle.py).  Debian's docker-registry 2.8 has
# no referrers API, so against it the referrers tag schema (REPO:sha256-HEX
# index) is exercised; the referrers API against the small registry of
# sigstore-bundle.py.  Accepted: EC P-256, RSA, Ed25519 keys, by tag schema
# and by the API, a signature on the index digest for an instance (bundle
# and legacy .sig).  Refused (exit 3): another key, another manifest, a
# tampered payload, a signature not over the DSSE PAE, a wrong bundle media
# type, payload type, predicate type, a messageSignature bundle, a keyless
# bundle, an identity the bundle cannot carry, no bundle, attachments off, a
# signature of another instance.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci jq python3; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
python3 -c 'import cryptography' 2>/dev/null || bail_out "python3-cryptography is not installed"
SB="python3 $top_srcdir/tests/integration/sigstore-bundle.py"
SIGN="python3 $top_srcdir/tests/integration/cosign-sign.py"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 44

PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
PPORT=$(free_port)
$SB serve "$PPORT" >"$T/py.log" 2>&1 &
T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
wait_port "$PPORT" || bail_out "the referrers registry did not start"
PREG=127.0.0.1:$PPORT
fx_umoci_image img t
push() { skopeo --insecure-policy copy -q --dest-tls-verify=false "$1" "docker://$2" >/dev/null 2>&1; }
digest_of() { skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | sed 's/^/sha256:/; s/ .*//'; }
mkdir -p rd rd-off
printf 'default-docker:\n  use-sigstore-attachments: true\n' >rd/a.yaml
printf 'default-docker:\n  use-sigstore-attachments: false\n' >rd-off/a.yaml
policy() { # policy FILE HOST KEYTYPE [IDENTITY]
    printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "sigstoreSigned", "keyPath": "%s", "signedIdentity": %s}]}}}\n' \
        "$2" "$T/keys-$3/pub.pem" "${4:-{\"type\": \"matchRepository\"\}}" >"$1"
}
V() { "$COCO_IMG" verify --tls-verify=false --registries.d "${RD:-rd}" "$@"; }
# bundle REPO KEYTYPE [OPTIONS]: push img as $REG/REPO:v1 and attach a bundle
bundle() {
    local repo=$1 kt=$2; shift 2
    push oci:img:t "$REG/$repo:v1" || return 1
    local dig
    dig=$(digest_of "$REG/$repo:v1")
    $SB sign "$kt" "$T/keys-$kt" "$REG" "$repo" "$dig" "$@"
}
last_has() { grep -q -- "$1" "$2"; }

for kt in ec256 rsa ed25519; do
    bundle "app-$kt" "$kt" || bail_out "making the $kt bundle failed"
    policy "p-$kt.json" "$REG" "$kt"
    ok "bundle, $kt key (referrers tag schema): accepted" V --policy "p-$kt.json" "docker://$REG/app-$kt:v1"
done
fails "a bundle by another key: refused" 3 V --policy p-ec256.json "docker://$REG/app-rsa:v1"
ok "the refusal says the DSSE signature does not verify" last_has "DSSE signature does not verify with the policy's keys" "$T_TMP/out.$T_NUM"
bundle swap ec256 --other-digest "sha256:$(printf other | sha256sum | cut -d' ' -f1)"
fails "a bundle signing another manifest: refused" 3 V --policy p-ec256.json "docker://$REG/swap:v1"
ok "the refusal names the subject" last_has "subject is not manifest" "$T_TMP/out.$T_NUM"
bundle tamper ec256 --tamper
fails "a tampered payload: refused" 3 V --policy p-ec256.json "docker://$REG/tamper:v1"
bundle nopae ec256 --bad-pae
fails "a signature over the bare payload, not the DSSE PAE: refused" 3 V --policy p-ec256.json "docker://$REG/nopae:v1"
bundle badmt ec256 --media-type application/vnd.dev.sigstore.bundle.v0.2+json
fails "a bundle of another media type: refused" 3 V --policy p-ec256.json "docker://$REG/badmt:v1"
ok "the refusal names the media type" last_has "media type 'application/vnd.dev.sigstore.bundle.v0.2+json'" "$T_TMP/out.$T_NUM"
bundle badpt ec256 --payload-type text/plain
fails "a DSSE payload type other than in-toto: refused" 3 V --policy p-ec256.json "docker://$REG/badpt:v1"
bundle badpred ec256 --predicate https://slsa.dev/provenance/v1
fails "an attestation of another predicate type: refused" 3 V --policy p-ec256.json "docker://$REG/badpred:v1"
ok "the refusal names the predicate type" last_has "predicate type 'https://slsa.dev/provenance/v1'" "$T_TMP/out.$T_NUM"
bundle msg ec256 --message
fails "a messageSignature bundle: refused" 3 V --policy p-ec256.json "docker://$REG/msg:v1"
bundle cert ec256 --cert
fails "a bundle with a certificate under a key-only requirement: refused" 3 V --policy p-ec256.json "docker://$REG/cert:v1"
ok "the refusal says the requirement has only keys" last_has "requirement has only keys" "$T_TMP/out.$T_NUM"
# keyless, as cosign 3 signs by default: Fulcio certificate, Rekor dsse entry and SET
python3 "$top_srcdir/tests/integration/sigstore-gen.py" init "$T/k" || bail_out "sigstore-gen.py init"
cat "$T/k/fulcio-root.pem" "$T/k/fulcio-inter.pem" >"$T/k/fulcio-ca.pem"
kpolicy() { # kpolicy FILE EMAIL [REKOR]
    printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "sigstoreSigned", "fulcio": {"caPath": "%s", "oidcIssuer": "https://oidc.example.com", "subjectEmail": "%s"}, "rekorPublicKeyPath": "%s", "signedIdentity": {"type": "matchRepository"}}]}}}\n' \
        "$REG" "$T/k/fulcio-ca.pem" "$2" "$T/k/${3:-rekor}.pem" >"$1"
}
kpolicy p-kl.json dev@example.com
bundle kl ec256 --keyless "$T/k"
ok "a keyless bundle (Fulcio certificate, Rekor dsse entry and SET): accepted" V --policy p-kl.json "docker://$REG/kl:v1"
kpolicy p-kl-mail.json eve@example.com
fails "  ... with another subjectEmail: refused" 3 V --policy p-kl-mail.json "docker://$REG/kl:v1"
ok "  ... the refusal names the email" last_has "required email eve@example.com not found" "$T_TMP/out.$T_NUM"
kpolicy p-kl-rekor.json dev@example.com rekor-other
fails "  ... under another Rekor key: refused" 3 V --policy p-kl-rekor.json "docker://$REG/kl:v1"
bundle kl-noset ec256 --keyless "$T/k" --no-set
fails "a keyless bundle without an inclusion promise: refused" 3 V --policy p-kl.json "docker://$REG/kl-noset:v1"
ok "  ... no Rekor SET" last_has "no Rekor SET" "$T_TMP/out.$T_NUM"
bundle kl-set ec256 --keyless "$T/k" --set-key other
fails "a keyless bundle whose SET another key made: refused" 3 V --policy p-kl.json "docker://$REG/kl-set:v1"
ok "  ... SET signature invalid" last_has "SET signature invalid" "$T_TMP/out.$T_NUM"
bundle kl-sig ec256 --keyless "$T/k" --body-sig-other
fails "a Rekor entry logging another signature: refused" 3 V --policy p-kl.json "docker://$REG/kl-sig:v1"
ok "  ... the entry is for another signature" last_has "the Rekor entry is for another signature" "$T_TMP/out.$T_NUM"
bundle kl-cert ec256 --keyless "$T/k" --body-cert-other
fails "a Rekor entry naming another certificate: refused" 3 V --policy p-kl.json "docker://$REG/kl-cert:v1"
ok "  ... the entry is for another certificate" last_has "the Rekor entry is for another certificate" "$T_TMP/out.$T_NUM"
bundle kl-iss ec256 --keyless "$T/k" --issuer https://evil.example.com
fails "a certificate from another OIDC issuer: refused" 3 V --policy p-kl.json "docker://$REG/kl-iss:v1"
bundle kl-swap ec256 --keyless "$T/k" --other-digest "sha256:$(printf other | sha256sum | cut -d' ' -f1)"
fails "a keyless bundle signing another manifest: refused" 3 V --policy p-kl.json "docker://$REG/kl-swap:v1"
policy p-exact.json "$REG" ec256 "{\"type\": \"exactReference\", \"dockerReference\": \"$REG/app-ec256:v1\"}"
fails "exactReference (the bundle signs no reference): refused" 3 V --policy p-exact.json "docker://$REG/app-ec256:v1"
push oci:img:t "$REG/unsigned:v1"
fails "no bundle: refused" 3 V --policy p-ec256.json "docker://$REG/unsigned:v1"
RD=rd-off fails "use-sigstore-attachments off: refused" 3 V --policy p-ec256.json "docker://$REG/app-ec256:v1"

# the referrers API (no tag-schema index at all)
policy pp-ec256.json "$PREG" ec256
policy pp-rsa.json "$PREG" rsa
read -r pidx pamd < <($SB multiarch "$PREG" api v1) || bail_out "multiarch push failed"
$SB sign ec256 "$T/keys-ec256" "$PREG" api "$pamd" --no-tag-index || bail_out "signing failed"
ok "bundle found with the referrers API: accepted" V --policy pp-ec256.json --platform linux/amd64 "docker://$PREG/api:v1"
fails "the same with another key: refused" 3 V --policy pp-rsa.json --platform linux/amd64 "docker://$PREG/api:v1"
fails "the arm64 instance (its own digest unsigned): refused" 3 V --policy pp-ec256.json --platform linux/arm64 "docker://$PREG/api:v1"

# a registry that answers 405 (not 404) to the referrers API: the tag schema
QPORT=$(free_port)
$SB serve "$QPORT" --referrers-status 405 >"$T/py405.log" 2>&1 &
T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
wait_port "$QPORT" || bail_out "the 405 registry did not start"
QREG=127.0.0.1:$QPORT
policy pq-ec256.json "$QREG" ec256
read -r _ qamd < <($SB multiarch "$QREG" q v1)
$SB sign ec256 "$T/keys-ec256" "$QREG" q "$qamd"
ok "referrers API answering 405: the tag-schema bundle is accepted" V --policy pq-ec256.json --platform linux/amd64 "docker://$QREG/q:v1"
read -r _ qamd2 < <($SB multiarch "$QREG" q2 v1)
$SB sign ec256 "$T/keys-ec256" "$QREG" q2 "$qamd2" --no-tag-index
fails "and without a tag-schema index nothing is found: refused" 3 V --policy pq-ec256.json --platform linux/amd64 "docker://$QREG/q2:v1"

# a signature on the index digest accepts each instance (cosign's rule)
read -r idx amd < <($SB multiarch "$PREG" multi v1)
$SB sign ec256 "$T/keys-ec256" "$PREG" multi "$idx" --no-tag-index
ok "a bundle on the index digest: the arm64 instance accepted" V --policy pp-ec256.json --platform linux/arm64 "docker://$PREG/multi:v1"
read -r idx2 amd2 < <($SB multiarch "$REG" multi2 v1)
policy p-legacy.json "$REG" ec256
rm -rf sig-idx
$SIGN ec256 "$T/keys-ec256" "$idx2" "$REG/multi2" sig-idx && push oci:sig-idx:sig "$REG/multi2:sha256-${idx2#sha256:}.sig"
ok "a legacy cosign .sig on the index digest: the amd64 instance accepted" V --policy p-legacy.json --platform linux/amd64 "docker://$REG/multi2:v1"
read -r idx3 amd3 < <($SB multiarch "$REG" multi3 v1)
fails "an unsigned multi-arch image: refused" 3 V --policy p-legacy.json --platform linux/amd64 "docker://$REG/multi3:v1"
fails "pull with the wrong key: refused" 3 "$COCO_IMG" pull --tls-verify=false --registries.d rd \
    --policy p-ec256.json "docker://$REG/app-rsa:v1" "$T/out-bundle"
ok "and nothing is left" test ! -e "$T/out-bundle"
done_testing
