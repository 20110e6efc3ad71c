#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Simple signing with a signing subkey, then its revocation (issue 9:
# "signing subkeys of an accepted primary key accepted; ... revoked keys,
# and signatures made after a subkey was revoked, refused").  gpg makes a
# certify-only primary key with an Ed25519 signing subkey; the atomic
# container signatures are made by gpg --sign with that subkey at chosen
# times (--faked-system-time): one before and one after the time the
# subkey is revoked.  The policy trusts the primary key (as exported,
# with or without the revocation).  Images from the small registry of
# sigstore-bundle.py; signatures in a file:// lookaside.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in gpg jq python3; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
SB="python3 $top_srcdir/tests/integration/sigstore-bundle.py"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 6

export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
T_CLEANUP="$T_CLEANUP gpgconf --homedir $GNUPGHOME --kill all 2>/dev/null;"
NOW=$(date +%s)
at() { echo "$((NOW - $1 * 3600))"; } # at HOURS-AGO: epoch seconds
G() { gpg --batch --pinentry-mode loopback --passphrase '' "$@"; }
G --faked-system-time "$(at 72)" --quick-gen-key "Carol <carol@example.com>" ed25519 cert never \
    >/dev/null 2>&1 || bail_out "gpg key generation failed"
FPR=$(gpg --batch --with-colons --list-keys carol@example.com | awk -F: '/^fpr/ {print $10; exit}')
G --faked-system-time "$(at 72)" --quick-add-key "$FPR" ed25519 sign never >/dev/null 2>&1 ||
    bail_out "adding the subkey failed"
SUB=$(gpg --batch --with-colons --list-keys "$FPR" | awk -F: '/^fpr/ {n++; if (n == 2) {print $10; exit}}')
[ -n "$SUB" ] || bail_out "no subkey"
gpg --batch --export "$FPR" >carol.pub

PORT=$(free_port)
$SB serve "$PORT" >"$T/py.log" 2>&1 &
T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
wait_port "$PORT" || bail_out "the registry did not start"
REG=127.0.0.1:$PORT
read -r _ amd < <($SB multiarch "$REG" app v1) || bail_out "push failed"
read -r _ amd2 < <($SB multiarch "$REG" app2 v1) || bail_out "push failed"
mkdir -p rd
printf 'default-docker:\n  lookaside: file://%s/ls\n' "$T" >rd/a.yaml
policy() { printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "%s"}]}}}\n' "$REG" "$1" >"$2"; }
policy "$T/carol.pub" p.json
V() { "$COCO_IMG" verify --tls-verify=false --registries.d rd --platform linux/amd64 "$@"; }
# sign REPO DIGEST HOURS-AGO: an atomic container signature by the subkey, made then
sign() {
    local dir="ls/$1@sha256=${2#sha256:}"
    mkdir -p "$dir"
    printf '{"critical":{"identity":{"docker-reference":"%s/%s:v1"},"image":{"docker-manifest-digest":"%s"},"type":"atomic container signature"},"optional":{}}' \
        "$REG" "$1" "$2" | G --faked-system-time "$(at "$3")" -u "$SUB!" --sign -o "$dir/signature-1" 2>/dev/null
}
sign app "$amd" 48 || bail_out "signing failed"
sign app2 "$amd2" 12 || bail_out "signing failed"
ok "a signature by the signing subkey: accepted" V --policy p.json "docker://$REG/app:v1"
ok "a later one too (the subkey is not revoked yet)" V --policy p.json "docker://$REG/app2:v1"
# revoke the subkey 24 hours ago: after app's signature, before app2's
printf 'key 1\nrevkey\ny\n0\n\ny\nsave\n' |
    G --faked-system-time "$(at 24)" --command-fd 0 --status-fd 2 --edit-key "$FPR" >/dev/null 2>&1
gpg --batch --with-colons --list-keys "$FPR" | grep -q '^sub:r:' || bail_out "the subkey is not revoked"
gpg --batch --export "$FPR" >carol-rev.pub
policy "$T/carol-rev.pub" p-rev.json
fails "a signature made after the subkey was revoked: refused" 3 V --policy p-rev.json "docker://$REG/app2:v1"
ok "the refusal says the key is revoked" grep -q "signature-1: signed by a revoked key" "$T_TMP/out.$T_NUM"
fails "the revoked subkey's earlier signature: refused too" 3 V --policy p-rev.json "docker://$REG/app:v1"
ok "the key without the revocation still accepts it (the revocation is what refuses)" \
    V --policy p.json "docker://$REG/app:v1"
done_testing
