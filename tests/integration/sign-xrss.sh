#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Simple signatures through the X-Registry-Supports-Signatures API
# (containers-signature(5)): a registry (tests/integration/sigstore-bundle.py
# serve --signatures) whose /v2/ answer advertises the API serves the
# signatures of a manifest at /extensions/v2/REPO/signatures/DIGEST; the
# signatures are made by skopeo standalone-sign with gpg.  Accepted: a good
# signature (the lookaside of registries.d is then not read, as in
# containers/image); refused (exit 3): another key, a signature of another
# manifest, no signature in the list, a list whose entries are of another
# version/type (skipped); malformed content: an error, not an accept.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in skopeo gpg jq python3 curl; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
SB="python3 $top_srcdir/tests/integration/sigstore-bundle.py"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 9

export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
T_CLEANUP="$T_CLEANUP gpgconf --homedir $GNUPGHOME --kill all 2>/dev/null;"
gen() {
    gpg --batch --pinentry-mode loopback --passphrase '' \
        --quick-gen-key "$1" ed25519 sign never >/dev/null 2>&1 || return 1
    gpg --batch --with-colons --list-keys "$1" | awk -F: '/^fpr/ {print $10; exit}'
}
FA=$(gen "Alice <alice@example.com>")
FB=$(gen "Bob <bob@example.com>")
[ -n "$FA" ] && [ -n "$FB" ] || bail_out "gpg key generation failed"
gpg --batch --export "$FA" >alice.pub

mkdir -p sigs rd
PORT=$(free_port)
$SB serve "$PORT" --signatures "$T/sigs" >"$T/py.log" 2>&1 &
T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
wait_port "$PORT" || bail_out "the registry did not start"
REG=127.0.0.1:$PORT
# a lookaside that would accept anything signed by Bob: must not be read
printf 'default-docker:\n  lookaside: file://%s/lookaside\n' "$T" >rd/a.yaml
printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "%s/alice.pub"}]}}}\n' "$REG" "$T" >p.json
V() { "$COCO_IMG" verify --tls-verify=false --registries.d rd --policy p.json --platform linux/amd64 "$@"; }

# list REPO-DIGEST FILE...: the API's signature list for that digest
list() {
    local hex=${1#sha256:}; shift
    { printf '{"signatures": ['; local sep=
      for f in "$@"; do printf '%s{"version": 2, "type": "atomic", "name": "%s", "content": "%s"}' \
          "$sep" "$(basename "$f")" "$(base64 -w0 "$f")"; sep=,; done
      printf ']}'; } >"sigs/$hex.json"
}
sign() { # sign REPO DIGEST FPR OUT: sign the manifest DIGEST of REPO as REG/REPO:v1
    curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REG/v2/$1/manifests/$2" >"$T/m.json" &&
        skopeo standalone-sign "$T/m.json" "$REG/$1:v1" "$3" -o "$4" 2>/dev/null
}
read -r idx amd < <($SB multiarch "$REG" app v1) || bail_out "push failed"
read -r idx2 amd2 < <($SB multiarch "$REG" app2 v1)
sign app "$amd" "$FA" a.sig || bail_out "skopeo standalone-sign failed"
sign app "$amd" "$FB" b.sig
list "$amd" a.sig
ok "a signature from the API: accepted" V "docker://$REG/app:v1"
list "$amd" b.sig
fails "a signature by another key: refused" 3 V "docker://$REG/app:v1"
ok "the refusal names the API as the source" grep -q "X-Registry-Supports-Signatures" "$T_TMP/out.$T_NUM"
list "$amd" b.sig a.sig
ok "any accepted signature of the list accepts" V "docker://$REG/app:v1"
# Alice's signature of app's manifest, offered for app2 (another manifest)
sign app2 "$amd2" "$FB" c.sig
list "$amd2" a.sig c.sig
fails "a signature of another manifest: refused" 3 V "docker://$REG/app2:v1"
list "$amd"
fails "an empty list: refused" 3 V "docker://$REG/app:v1"
# the lookaside is not consulted when the API is advertised
mkdir -p "lookaside/app@sha256=${amd#sha256:}"
cp a.sig "lookaside/app@sha256=${amd#sha256:}/signature-1"
fails "a lookaside signature is not read when the registry has the API" 3 V "docker://$REG/app:v1"
printf '{"signatures": [{"version": 1, "type": "atomic", "content": "%s"}, {"version": 2, "type": "other", "content": "%s"}]}' \
    "$(base64 -w0 a.sig)" "$(base64 -w0 a.sig)" >"sigs/${amd#sha256:}.json"
fails "entries of another version or type are skipped: refused" 3 V "docker://$REG/app:v1"
printf '{"signatures": [{"version": 2, "type": "atomic", "content": "!!not base64"}]}' >"sigs/${amd#sha256:}.json"
fails "malformed content: an error, not an accept" 1 V "docker://$REG/app:v1"
done_testing
