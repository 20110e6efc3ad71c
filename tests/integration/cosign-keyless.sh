#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cosign keyless (fulcio + rekorPublicKey*), PKI and key-based + Rekor
# verification, fully offline: certificates, Rekor SETs and signatures made
# by python3-cryptography (sigstore-gen.py) and laid out as cosign does,
# pushed to docker-registry with skopeo.  Each refusal exits 3 with its
# cause.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci jq python3; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
python3 -c 'import cryptography' 2>/dev/null || bail_out "python3-cryptography is not installed"
GEN="python3 $top_srcdir/tests/integration/sigstore-gen.py"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 51

PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
fx_umoci_image img t
$GEN init k || bail_out "sigstore-gen.py init failed"
push() { skopeo --insecure-policy copy -q --dest-tls-verify=false "$1" "docker://$REG/$2" >/dev/null 2>&1; }
mkdir -p rd
printf 'default-docker:\n  use-sigstore-attachments: true\n' >rd/a.yaml
# sign REPO [GEN OPTIONS]: push img as REPO:v1 and a signature made with the options
sign() {
    local repo=$1; shift
    push oci:img:t "$repo:v1" || return 1
    local dig
    dig=$(skopeo inspect --tls-verify=false "docker://$REG/$repo:v1" | jq -r .Digest)
    rm -rf "sig-$repo"
    $GEN sign k "$dig" "$REG/$repo" "sig-$repo" "$@" || return 1
    push "oci:sig-$repo:sig" "$repo:sha256-${dig#sha256:}.sig"
}
policy() { # policy FILE REQ
    printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [%s]}}}\n' "$REG" "$2" >"$1"
}
ID='"signedIdentity": {"type": "matchRepository"}'
fulcio() { # fulcio CA ISSUER EMAIL [REKOR]
    echo "{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"$T/k/$1.pem\", \"oidcIssuer\": \"$2\", \"subjectEmail\": \"$3\"}, \"rekorPublicKeyPath\": \"$T/k/${4:-rekor}.pem\", $ID}"
}
V() { "$COCO_IMG" verify --tls-verify=false --registries.d rd "$@"; }
# refused NAME REPO REASON POLICY
refused() {
    fails "$1: refused" 3 V --policy "$4" "docker://$REG/$2:v1"
    ok "$1: the reason says '$3'" grep -qF "$3" "$T_TMP/out.$T_NUM"
}

ISS=https://oidc.example.com
policy p-ok.json "$(fulcio fulcio-root $ISS dev@example.com)"
sign good || bail_out "signing failed"
ok "keyless: accepted" V --policy p-ok.json "docker://$REG/good:v1"
policy p-data.json "{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caData\": \"$(base64 -w0 k/fulcio-root.pem)\", \"oidcIssuer\": \"$ISS\", \"subjectEmail\": \"dev@example.com\"}, \"rekorPublicKeyData\": \"$(base64 -w0 k/rekor.pem)\", $ID}"
ok "keyless with caData and rekorPublicKeyData: accepted" V --policy p-data.json "docker://$REG/good:v1"
sign v1only --issuer-v2 '' && ok "issuer in the v1 extension only: accepted" V --policy p-ok.json "docker://$REG/v1only:v1"
sign v2only --issuer-v1 '' && ok "issuer in the v2 extension only: accepted" V --policy p-ok.json "docker://$REG/v2only:v1"
sign expired --expired
ok "an expired certificate with a valid SET inside its validity: accepted" V --policy p-ok.json "docker://$REG/expired:v1"

policy p-wrongca.json "$(fulcio other-root $ISS dev@example.com)"
refused "wrong Fulcio CA in the policy" good "certificate not issued by the policy's Fulcio CA" p-wrongca.json
sign otherca --ca other
refused "a certificate from another CA" otherca "certificate not issued by the policy's Fulcio CA" p-ok.json
policy p-iss.json "$(fulcio fulcio-root https://other.example.com dev@example.com)"
refused "wrong issuer (both extensions)" good "OIDC issuer \"$ISS\" does not match \"https://other.example.com\"" p-iss.json
refused "wrong issuer (v1 extension)" v1only "does not match \"https://other.example.com\"" p-iss.json
refused "wrong issuer (v2 extension)" v2only "does not match \"https://other.example.com\"" p-iss.json
sign incons --issuer-v1 https://a.example.com --issuer-v2 https://b.example.com
refused "inconsistent issuer extensions" incons "inconsistent OIDC issuer v1 and v2 extensions" p-ok.json
policy p-mail.json "$(fulcio fulcio-root $ISS eve@example.com)"
refused "wrong email" good "required email eve@example.com not found in the certificate (got dev@example.com)" p-mail.json
sign noset --no-set
refused "no SET" noset "no Rekor SET" p-ok.json
sign setkey --set-key other
refused "SET by another key" setkey "SET signature invalid" p-ok.json
policy p-rekor2.json "$(fulcio fulcio-root $ISS dev@example.com rekor-other)"
refused "policy with another Rekor key" good "SET signature invalid" p-rekor2.json
sign bodysig --body-sig-other
refused "SET entry for another signature" bodysig "the Rekor entry is for another signature" p-ok.json
sign bodycert --body-cert-other
refused "SET entry for another certificate" bodycert "the Rekor entry is for another certificate" p-ok.json
sign tamper --tamper-time
refused "tampered integratedTime" tamper "SET signature invalid" p-ok.json
sign outside --time-outside
refused "integratedTime outside the certificate's validity" outside "certificate not valid at the Rekor integrated time" p-ok.json
sign nocs --no-codesign
refused "certificate without codeSigning" nocs "no codeSigning extended key usage" p-ok.json

# PKI
pki() { # pki ROOT EXTRA
    echo "{\"type\": \"sigstoreSigned\", \"pki\": {\"caRootsPath\": \"$T/k/$1.pem\"$2}, $ID}"
}
sign pkigood --mode pki --host build.example.com
sign pkinoint --mode pki --chain root
policy p-pki.json "$(pki pki-root ', "subjectEmail": "dev@example.com", "subjectHostname": "build.example.com"')"
ok "PKI: accepted" V --policy p-pki.json "docker://$REG/pkigood:v1"
policy p-pki-int.json "$(pki pki-root ", \"caIntermediatesPath\": \"$T/k/pki-inter.pem\", \"subjectEmail\": \"dev@example.com\"")"
ok "PKI, intermediate from the policy only: accepted" V --policy p-pki-int.json "docker://$REG/pkinoint:v1"
policy p-pki-mail.json "$(pki pki-root ', "subjectEmail": "dev@example.com"')"
refused "PKI: intermediate missing" pkinoint "certificate not issued by the policy's PKI roots" p-pki-mail.json
policy p-pki-root.json "$(pki fulcio-root ', "subjectEmail": "dev@example.com"')"
refused "PKI: wrong root" pkigood "certificate not issued by the policy's PKI roots" p-pki-root.json
policy p-pki-eve.json "$(pki pki-root ', "subjectEmail": "eve@example.com"')"
refused "PKI: wrong email" pkigood "required email eve@example.com not found" p-pki-eve.json
policy p-pki-host.json "$(pki pki-root ', "subjectHostname": "other.example.com"')"
refused "PKI: wrong hostname" pkigood "subject hostname other.example.com does not match" p-pki-host.json

# key-based + Rekor
keyrq() { echo "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$T/k/ec.pem\", \"rekorPublicKeyPath\": \"$T/k/$1.pem\", $ID}"; }
sign keygood --mode key
sign keybad --mode key --set-key other
sign keynoset --mode key --no-set
policy p-key.json "$(keyrq rekor)"
ok "key-based with a good SET: accepted" V --policy p-key.json "docker://$REG/keygood:v1"
refused "key-based with a SET by another key" keybad "SET signature invalid" p-key.json
refused "key-based without a SET" keynoset "no Rekor SET" p-key.json
policy p-key-nor.json "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$T/k/ec.pem\", $ID}"
ok "key-based without rekor keys ignores the SET" V --policy p-key-nor.json "docker://$REG/keybad:v1"
done_testing
