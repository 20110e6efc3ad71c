#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Simple signing against skopeo (Debian): skopeo signs (copy --sign-by into a
# registries.d lookaside store, standalone-sign) and coco-img verifies, with
# the same verdict as skopeo's own policy-checked copy for each case: good
# signature, wrong key, unsigned, tampered signature, wrong identity,
# signature of another manifest, expired key, reject, matchRepository and
# exactReference identities, keyPaths, keyData, scope lookup; lookaside over
# file:// and http://; pull enforces the policy before it fetches a blob (the
# registry's access log shows no blob request) and leaves nothing behind; an
# invalid or missing policy exits 1.  The signing-subkey case is where
# coco-img follows upstream containers/image (subkeys accepted since 2025)
# and Debian's skopeo (containers/image 5.2x) does not: checked as such.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci gpg jq python3; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
[ "$("$COCO_IMG" verify --help 2>&1 | head -1 | cut -c1-22)" = "Usage: coco-img verify" ] ||
    bail_out "coco-img has no verify command"

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 58

export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
T_CLEANUP="$T_CLEANUP gpgconf --homedir $GNUPGHOME --kill all 2>/dev/null;"
gen() { # gen UID [EXPIRE]: a key without passphrase; prints its fingerprint
    gpg --batch --pinentry-mode loopback --passphrase '' \
        --quick-gen-key "$1" ed25519 sign "${2:-never}" >/dev/null 2>&1 || return 1
    gpg --batch --with-colons --list-keys "$1" | awk -F: '/^fpr/ {print $10; exit}'
}
FA=$(gen "Alice <alice@example.com>")
FB=$(gen "Bob <bob@example.com>")
gpg --batch --export "$FA" >alice.pub
gpg --batch --export "$FB" >bob.pub
gpg --batch --armor --export "$FA" >alice.asc
[ -n "$FA" ] && [ -n "$FB" ] || bail_out "gpg key generation failed"

PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
fx_umoci_image img t
fx_umoci_image img2 t
echo other >"$T/other"
umoci insert --rootless --image img2:t "$T/other" /other >/dev/null

mkdir -p rd sigstore
cat >rd/default.yaml <<EOF
default-docker:
  lookaside: file://$T/sigstore
  lookaside-staging: file://$T/sigstore
EOF
SK="--registries.d $T/rd"

# skopeo signs while it pushes
skopeo $SK --insecure-policy copy -q --dest-tls-verify=false --sign-by "$FA" oci:img:t \
    "docker://$REG/app:v1" >skopeo-sign.log 2>&1 || { cat skopeo-sign.log; bail_out "skopeo copy --sign-by failed"; }
skopeo --insecure-policy copy -q --dest-tls-verify=false oci:img2:t "docker://$REG/app:unsigned" >/dev/null 2>&1
skopeo --insecure-policy copy -q --dest-tls-verify=false oci:img2:t "docker://$REG/app:v2" >/dev/null 2>&1
DIG=$(skopeo inspect --tls-verify=false "docker://$REG/app:v1" | jq -r .Digest)
HEX=${DIG#sha256:}
SIGDIR=sigstore/app@sha256=$HEX
ok "skopeo wrote signature-1 into the lookaside store" test -s "$SIGDIR/signature-1"

policy() { # policy FILE REQ-JSON: the requirement for docker 127.0.0.1:PORT/app, reject otherwise
    cat >"$1" <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REG/app": [$2]}}}
EOF
}
signed_by() { echo "{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"$T/$1\"${2:+, \"signedIdentity\": $2}}"; }

# verdict NAME WANT POLICY REF: coco-img verify exits WANT (0 or 3) and skopeo's
# policy-checked copy agrees (succeeds for 0, fails for 3)
verdict() {
    local name=$1 want=$2 pol=$3 ref=$4
    T_NUM=$((T_NUM + 1))
    "$COCO_IMG" verify --tls-verify=false --policy "$pol" $SK "docker://$REG/$ref" >"$T/v.$T_NUM" 2>&1
    local rc=$? src=0
    rm -rf "$T/sk-out"
    skopeo --policy "$pol" $SK copy -q --remove-signatures --src-tls-verify=false "docker://$REG/$ref" "oci:$T/sk-out:x" \
        >"$T/s.$T_NUM" 2>&1 || src=3
    if [ "$rc" -eq "$want" ] && [ "$src" -eq "$want" ]; then
        echo "ok $T_NUM - $name"
    else
        echo "not ok $T_NUM - $name (coco-img $rc, skopeo $src, wanted $want)"
        sed 's/^/# coco-img: /' "$T/v.$T_NUM" | tail -5
        sed 's/^/# skopeo: /' "$T/s.$T_NUM" | tail -5
        T_FAILED=$((T_FAILED + 1))
    fi
}
# msg NAME PATTERN: the last verify's message matches
msg() { ok "$1" sh -c 'grep -q -- "$1" "$2" || { cat "$2"; exit 1; }' _ "$2" "$T/v.$T_NUM"; }

policy good.json "$(signed_by alice.pub)"
verdict "signed by the trusted key: accepted" 0 good.json app:v1
policy wrongkey.json "$(signed_by bob.pub)"
verdict "signed by another key: refused" 3 wrongkey.json app:v1
msg "the refusal names the requirement and the reason" 'transports.docker\["'"$REG"'/app"\]\[0\] (signedBy).*signature-1: not signed by a key of the policy'
verdict "unsigned image: refused" 3 good.json app:unsigned
msg "unsigned: no signatures" "no signatures for manifest"
# a digest reference is checked against the signature of that digest
verdict "by digest: accepted" 0 good.json "app@$DIG"

# a tampered signature
cp "$SIGDIR/signature-1" sig.good
python3 - "$SIGDIR/signature-1" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x01
open(p, 'wb').write(b)
EOF
verdict "tampered signature: refused" 3 good.json app:v1
cp sig.good "$SIGDIR/signature-1"

# a signature made for another identity, in the store of this digest
skopeo inspect --raw --tls-verify=false "docker://$REG/app:v1" >m1.json
skopeo standalone-sign -o sig.other m1.json "$REG/other:v1" "$FA" >/dev/null 2>&1
cp sig.other "$SIGDIR/signature-1"
verdict "signature for another identity: refused" 3 good.json app:v1
msg "identity refusal says so" "signed identity $REG/other:v1"
policy exactref.json "$(signed_by alice.pub '{"type": "exactReference", "dockerReference": "'"$REG"'/other:v1"}')"
verdict "exactReference names the signed identity: accepted" 0 exactref.json app:v1
policy matchrepo.json "$(signed_by alice.pub '{"type": "matchRepository"}')"
verdict "matchRepository, other repository signed: refused" 3 matchrepo.json app:v1
# signed as app:latest: matchRepository accepts it for app:v1, the default does not
skopeo standalone-sign -o sig.latest m1.json "$REG/app:latest" "$FA" >/dev/null 2>&1
cp sig.latest "$SIGDIR/signature-1"
verdict "matchRepository, same repository other tag: accepted" 0 matchrepo.json app:v1
verdict "matchRepoDigestOrExact, other tag: refused" 3 good.json app:v1

# a signature of another manifest put into this digest's store
skopeo inspect --raw --tls-verify=false "docker://$REG/app:v2" >m2.json
skopeo standalone-sign -o sig.m2 m2.json "$REG/app:v1" "$FA" >/dev/null 2>&1
cp sig.m2 "$SIGDIR/signature-1"
verdict "signature of another manifest: refused" 3 good.json app:v1
msg "digest refusal says so" "the signature is for manifest sha256:"
# a bad signature-1 and a good signature-2: accepted (any signature will do)
cp sig.good "$SIGDIR/signature-2"
verdict "a bad and a good signature: accepted" 0 good.json app:v1
rm -f "$SIGDIR/signature-2"
cp sig.good "$SIGDIR/signature-1"

# keyPaths, keyData (armored key, base64), and a scope for the whole registry
cat >keypaths.json <<EOF
{"default": [{"type": "reject"}], "transports": {"docker": {"$REG": [
 {"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["$T/bob.pub", "$T/alice.pub"]}]}}}
EOF
verdict "keyPaths with the key second, host scope: accepted" 0 keypaths.json app:v1
cat >keydata.json <<EOF
{"default": [{"type": "reject"}], "transports": {"docker": {"$REG/app:v1": [
 {"type": "signedBy", "keyType": "GPGKeys", "keyData": "$(base64 -w0 alice.asc)"}],
 "$REG/app": [{"type": "reject"}]}}}
EOF
verdict "keyData (armored), the tag scope wins over the repository: accepted" 0 keydata.json app:v1
verdict "keyData policy, other tag falls to the repository scope: refused" 3 keydata.json app:unsigned
policy reject.json '{"type": "reject"}'
verdict "reject: refused" 3 reject.json app:v1
msg "reject is named" "(reject)"

# an expired key: signed while valid, verified after it expired
FE=$(gen "Eve <eve@example.com>" seconds=4)
gpg --batch --export "$FE" >eve.pub
skopeo standalone-sign -o sig.eve m1.json "$REG/app:v1" "$FE" >/dev/null 2>&1
sleep 5
cp sig.eve "$SIGDIR/signature-1"
policy expired.json "$(signed_by eve.pub)"
verdict "signed by a key that has expired since: refused" 3 expired.json app:v1
cp sig.good "$SIGDIR/signature-1"

# a revoked key: signed before the revocation, verified after it was imported
FR=$(gen "Rex <rex@example.com>")
skopeo standalone-sign -o sig.rex m1.json "$REG/app:v1" "$FR" >/dev/null 2>&1
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$FR.rev" | gpg --batch --import >/dev/null 2>&1
gpg --batch --export "$FR" >rex.pub
cp sig.rex "$SIGDIR/signature-1"
policy revoked.json "$(signed_by rex.pub)"
verdict "signed by a key that was revoked since: refused" 3 revoked.json app:v1
cp sig.good "$SIGDIR/signature-1"

# a multi-arch index signed with skopeo copy --all --sign-by: each image has its own signature
fx_multiarch multi m
skopeo $SK --insecure-policy copy -q --all --dest-tls-verify=false --sign-by "$FA" oci:multi:m \
    "docker://$REG/app:multi" >/dev/null 2>&1
ok "multi-arch, the arm64 image with its own signature: accepted" \
    "$COCO_IMG" verify --tls-verify=false --policy good.json $SK --platform linux/arm64 "docker://$REG/app:multi"
armdig=$(skopeo inspect --raw --tls-verify=false "docker://$REG/app:multi" |
    jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
rm -f "sigstore/app@sha256=${armdig#sha256:}/signature-1"
fails "multi-arch, the arm64 image's signature removed: refused (the index's does not count)" 3 \
    "$COCO_IMG" verify --tls-verify=false --policy good.json $SK --platform linux/arm64 "docker://$REG/app:multi"
ok "multi-arch, the amd64 image still: accepted" \
    "$COCO_IMG" verify --tls-verify=false --policy good.json $SK --platform linux/amd64 "docker://$REG/app:multi"

# a signing subkey of the trusted primary key (certify-only primary)
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "Sub <sub@example.com>" ed25519 cert never >/dev/null 2>&1
FS=$(gpg --batch --with-colons --list-keys sub@example.com | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --pinentry-mode loopback --passphrase '' --quick-add-key "$FS" ed25519 sign never >/dev/null 2>&1
gpg --batch --export "$FS" >sub.pub
skopeo standalone-sign -o sig.sub m1.json "$REG/app:v1" "$FS" >/dev/null 2>&1
cp sig.sub "$SIGDIR/signature-1"
policy subkey.json "$(signed_by sub.pub)"
"$COCO_IMG" verify --tls-verify=false --policy subkey.json $SK "docker://$REG/app:v1" >subkey.log 2>&1
ok "signing subkey of the trusted key: coco-img accepts (upstream containers/image since 2025)" \
    test $? -eq 0
skopeo --policy subkey.json $SK copy -q --remove-signatures --src-tls-verify=false "docker://$REG/app:v1" "oci:$T/sub-out:x" >/dev/null 2>&1
ok "signing subkey: Debian's skopeo (older containers/image) refuses it" test $? -ne 0
cp sig.good "$SIGDIR/signature-1"

# lookaside over http://
HPORT=$(free_port)
(cd "$T/sigstore" && exec python3 -m http.server --bind 127.0.0.1 "$HPORT") >http.log 2>&1 &
T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
wait_port "$HPORT"
mkdir -p rdhttp
printf 'docker:\n  %s:\n    lookaside: http://127.0.0.1:%s\n' "$REG/app" "$HPORT" >rdhttp/a.yaml
printf 'default-docker:\n  lookaside: file:///nonexistent\n' >rdhttp/b.yaml
ok "lookaside over http (the repository scope of registries.d wins)" \
    "$COCO_IMG" verify --tls-verify=false --policy good.json --registries.d rdhttp "docker://$REG/app:v1"
ok "lookaside over http: the signature was fetched from it" grep -q "GET /app@sha256=$HEX/signature-1" http.log
fails "lookaside over http, unsigned image: refused" 3 \
    "$COCO_IMG" verify --tls-verify=false --policy good.json --registries.d rdhttp "docker://$REG/app:unsigned"
printf 'docker:\n  %s:\n    lookaside: http://127.0.0.1:1\n' "$REG/app" >rdhttp/c.yaml
fails "a scope defined in two registries.d files: invalid" 1 \
    "$COCO_IMG" verify --tls-verify=false --policy good.json --registries.d rdhttp "docker://$REG/app:v1"

# pull enforces the policy before any blob is fetched, and leaves nothing
before=$(wc -l <"$T/reg/log")
fails "pull of an unsigned image: refused" 3 \
    "$COCO_IMG" pull --tls-verify=false --policy good.json $SK "docker://$REG/app:unsigned" "$T/bundle"
ok "refused pull left nothing" test ! -e "$T/bundle"
tail -n +"$((before + 1))" "$T/reg/log" >pull-access.log
ok "refused pull: the registry saw the manifest request" grep -q "/v2/app/manifests/unsigned" pull-access.log
ok "refused pull: and no blob request (config or layer)" sh -c '! grep -q "/blobs/" pull-access.log' 
ok "pull of the signed image: accepted" \
    "$COCO_IMG" pull --tls-verify=false --policy good.json $SK "docker://$REG/app:v1" "$T/bundle"
ok "the accepted pull has its rootfs" test -s "$T/bundle/rootfs/etc/hello"

# coco-img signs, skopeo verifies
"$COCO_IMG" standalone-sign -o sig.coco m1.json "$REG/app:v1" "$FA" >csign.log 2>&1
ok "coco-img standalone-sign" test -s sig.coco
ok "skopeo standalone-verify accepts coco-img's signature" \
    skopeo standalone-verify m1.json "$REG/app:v1" "$FA" sig.coco
ok "coco-img standalone-verify accepts it too" \
    "$COCO_IMG" standalone-verify m1.json "$REG/app:v1" "$FA" sig.coco
skopeo standalone-sign -o sig.sk m1.json "$REG/app:v1" "$FA" >/dev/null 2>&1
ok "coco-img standalone-verify accepts skopeo's signature (--public-key-file, any)" \
    "$COCO_IMG" standalone-verify --public-key-file alice.pub m1.json "$REG/app:v1" any sig.sk
fails "standalone-verify: another reference is refused" 3 \
    "$COCO_IMG" standalone-verify m1.json "$REG/app:v2" "$FA" sig.coco
fails "standalone-verify: another manifest is refused" 3 \
    "$COCO_IMG" standalone-verify m2.json "$REG/app:v1" "$FA" sig.coco
fails "standalone-verify: a key that did not sign is refused" 3 \
    "$COCO_IMG" standalone-verify m1.json "$REG/app:v1" "$FB" sig.coco
fails "skopeo agrees: the key that did not sign is refused" '*' \
    skopeo standalone-verify m1.json "$REG/app:v1" "$FB" sig.coco

# a protected key: the passphrase comes from a file and is never printed
gpg --batch --pinentry-mode loopback --passphrase 'pw-S3cr3t' --quick-gen-key "Pat <pat@example.com>" ed25519 sign never >/dev/null 2>&1
FP=$(gpg --batch --with-colons --list-keys pat@example.com | awk -F: '/^fpr/ {print $10; exit}')
echo 'pw-S3cr3t' >pass.txt
echo 'wrong-pw-W0rd' >wrong.txt
# (a fresh agent: nothing cached from the key generation)
gpgconf --homedir "$GNUPGHOME" --kill gpg-agent
fails "a wrong passphrase fails" 3 \
    "$COCO_IMG" standalone-sign --passphrase-file wrong.txt -o sig.bad m1.json "$REG/app:v1" "$FP"
ok "without printing it" sh -c '! grep -q "wrong-pw" "$1"' _ "$T_TMP/out.$T_NUM"
ok "standalone-sign with --passphrase-file" \
    "$COCO_IMG" standalone-sign --passphrase-file pass.txt -o sig.pat m1.json "$REG/app:v1" "$FP"
ok "and skopeo verifies it" skopeo standalone-verify m1.json "$REG/app:v1" "$FP" sig.pat

# coco-img copy --sign-by: signed into the lookaside store; skopeo's policy-checked copy accepts it
ok "coco-img copy --sign-by" \
    "$COCO_IMG" copy --insecure-policy $SK --dest-tls-verify=false --sign-by "$FA" oci:img2:t "docker://$REG/app:cocosigned"
verdict "signed by coco-img copy: coco-img and skopeo accept it" 0 good.json app:cocosigned
fails "copy --sign-by to an oci: destination is refused" 2 \
    "$COCO_IMG" copy --insecure-policy --sign-by "$FA" oci:img2:t "oci:$T/signed-oci:x"
ok "and leaves nothing" test ! -e "$T/signed-oci"

# invalid and missing policies exit 1
echo '{"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}' >bad.json
fails "invalid policy: exit 1" 1 "$COCO_IMG" verify --tls-verify=false --policy bad.json "docker://$REG/app:v1"
msg2() { ok "$1" grep -q -- "$2" "$T/out.$T_NUM"; }
msg2 "invalid policy names the path" "invalid policy bad.json: default\[0\]: exactly one of keyPath"
fails "missing policy file: exit 1" 1 "$COCO_IMG" verify --tls-verify=false --policy "$T/none.json" "docker://$REG/app:v1"
done_testing
