#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Key release in the puller: an image encrypted for the attestation-agent
# key provider (the packet coco_keyprovider writes: kid, wrapped_data, iv,
# A256GCM), its KEK registered as a resource of the test KBS
# (tests/kbs/kbs.py), pushed to docker-registry; `coco-img pull --kbs-url`
# attests once (sample attester), fetches the KEK, unwraps every layer key
# and unpacks; `decrypt --kbs-url` too.  Refused, with the KBS's answer, exit
# 3 and no bundle: the KBS policy denies the key; the KBS holds another
# KEK; no --kbs-url.  The packet matches the spec vector's shape and a
# Python AES-GCM (python3-cryptography) opens it with the KEK.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/kbs/kbs-fixtures.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci jq openssl htpasswd; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
[ -n "$KBS_PY" ] || bail_out "python3-cryptography is not installed"
T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
plan 29

kbs_make_ca "$T/ca" || bail_out "cannot make the test CA"
mkdir -p res/default/key
head -c 32 /dev/urandom >kek
cp kek res/default/key/image-kek
head -c 32 /dev/urandom >res/default/key/other-kek
cp kek res/default/key/denied-kek
echo '{"deny": ["default/key/denied-kek"]}' >kbs-policy.json
kbs_start "$T/kbs" --resources "$T/res" --policy "$T/kbs-policy.json" --cert "$T/ca/srv.crt" \
    --key "$T/ca/srv.key" || bail_out "the test KBS did not start"
K=(--kbs-url "https://127.0.0.1:$KBS_PORT" --kbs-cert "$T/ca/ca.crt" --attester sample)

PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
# a second registry that wants a password (htpasswd, basic auth)
APORT=$(free_port)
htpasswd -Bbn user s3cret >"$T/htpasswd" 2>/dev/null || bail_out "htpasswd (apache2-utils) failed"
start_registry areg "$APORT" "auth:
  htpasswd:
    realm: test
    path: $T/htpasswd" || bail_out "docker-registry with auth did not start"
AREG=127.0.0.1:$APORT
fx_umoci_image img t
enc() { # enc KID TAG
    "$COCO_IMG" encrypt --recipient "provider:attestation-agent:keyid=$1::keypath=$T/kek" \
        oci:img:t "oci:$T/enc-$2:t" &&
        "$COCO_IMG" copy --dest-tls-verify=false "oci:$T/enc-$2:t" "docker://$REG/app:$2"
}
ok "encrypt for provider:attestation-agent with a keypath KEK" enc kbs:///default/key/image-kek good
skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds user:s3cret "oci:$T/enc-good:t" \
    "docker://$AREG/app:good" >/dev/null 2>&1 || bail_out "push to the registry with auth failed"
enc kbs:///default/key/other-kek other >/dev/null 2>&1
enc kbs:///default/key/denied-kek denied >/dev/null 2>&1

# the annotation packet, checked independently
"$COCO_IMG" inspect --raw "oci:$T/enc-good:t" >m.json
dg=$(jq -r '.layers[0].digest' m.json)
jq -r '.layers[0].annotations["org.opencontainers.image.enc.keys.provider.attestation-agent"]' m.json |
    base64 -d >packet.json
ok "the packet has kid, wrapped_data, iv and wrap_type A256GCM" \
    jq -e '.kid == "kbs:///default/key/image-kek" and .wrap_type == "A256GCM" and (.iv | length) == 16 and (.wrapped_data | length) > 0' packet.json
ok "python3-cryptography opens wrapped_data with the KEK into ocicrypt private options" "$KBS_PY" -c '
import base64, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
p = json.load(open(sys.argv[1])); k = open(sys.argv[2], "rb").read()
o = json.loads(AESGCM(k).decrypt(base64.b64decode(p["iv"]), base64.b64decode(p["wrapped_data"]), None))
assert len(base64.b64decode(o["symkey"])) == 32 and len(base64.b64decode(o["cipheroptions"]["nonce"])) == 16
' packet.json kek

before=$(kbs_count "$T/kbs" "attest")
kek_before=$(kbs_count "$T/kbs" "GET /kbs/v0/resource/default/key/image-kek")
ok "pull --kbs-url: attests, fetches the KEK, decrypts and unpacks" \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" "docker://$REG/app:good" "$T/bundle"
ok "the bundle has the image's files" test -s "$T/bundle/rootfs/etc/hello"
ok "one attestation for the whole pull" test "$(( $(kbs_count "$T/kbs" "attest") - before ))" -eq 1
ok "one KEK request for its $(jq '.layers | length' m.json) layers that share the kid" bash -c '
    [ "$(jq ".layers | length" m.json)" -ge 2 ] &&
    [ "$(( $(grep -c "GET /kbs/v0/resource/default/key/image-kek" "$1") - $2 ))" -eq 1 ]' _ \
    "$T/kbs/log" "$kek_before"
ok "decrypt --kbs-url gives the plain layers" bash -c '
    "$1" decrypt --src-tls-verify=false "${@:4}" "docker://$2/app:good" "oci:$3/plain:t" &&
    [ "$("$1" inspect "oci:$3/plain:t" | jq -c .Layers)" = "$("$1" inspect oci:img:t | jq -c .Layers)" ]' \
    _ "$COCO_IMG" "$REG" "$T" "${K[@]}"

fails "the KBS policy denies the key: refused" 3 \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" "docker://$REG/app:denied" "$T/b-denied"
ok "the message carries the KBS's answer" grep -qi "denied\|policy" "$T_TMP/out.$T_NUM"
ok "and no bundle is left" test ! -e "$T/b-denied"
fails "the KBS holds another KEK: refused" 3 \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" "docker://$REG/app:other" "$T/b-other"
ok "with the uniform unwrap error, and no bundle" bash -c '
    grep -q "cannot unwrap the layer key with the KBS key" "$1" && [ ! -e "$2" ]' _ "$T_TMP/out.$T_NUM" "$T/b-other"
fails "without --kbs-url: no key" 3 \
    "$COCO_IMG" pull --tls-verify=false "docker://$REG/app:good" "$T/b-nokbs"

# --- configuration fetched from the KBS (--policy, --authfile, policy keys as kbs:///) ---
# a cosign signature (python3-cryptography) of app:good; its public key and a
# policy that asks for it live in the KBS, not on the guest's disk
gdig=$(skopeo inspect --tls-verify=false "docker://$REG/app:good" | jq -r .Digest)
python3 "$top_srcdir/tests/integration/cosign-sign.py" ec256 "$T/ckeys" "$gdig" "$REG/app" "$T/sig" &&
    skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$T/sig:sig" \
        "docker://$REG/app:sha256-${gdig#sha256:}.sig" >/dev/null 2>&1 ||
    bail_out "cannot make the cosign signature"
mkdir -p res/default/cosign res/default/policy res/default/auth rd
cp "$T/ckeys/pub.pem" res/default/cosign/pub
printf '{"default": [{"type": "reject"}], "transports": {"docker": {"%s": [{"type": "sigstoreSigned", "keyPath": "kbs:///default/cosign/pub", "signedIdentity": {"type": "matchRepository"}}], "%s": [{"type": "insecureAcceptAnything"}]}}}\n' \
    "$REG/app" "$AREG" >res/default/policy/signed
printf 'default-docker:\n  use-sigstore-attachments: true\n' >rd/a.yaml
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$AREG" "$(printf user:s3cret | base64 -w0)" \
    >res/default/auth/registry
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$AREG" "$(printf user:wrong | base64 -w0)" \
    >res/default/auth/wrong
P=(--policy kbs:///default/policy/signed --registries.d "$T/rd")
mark=$(wc -l <"$T/kbs/log")
ok "--policy kbs:///...: the policy and its kbs:/// cosign key come from the KBS; signed image pulled" \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" "${P[@]}" "docker://$REG/app:good" "$T/b-signed"
ok "  the KBS served the policy and the key, with one attestation" bash -c '
    tail -n +$(($2 + 1)) "$1" >"$1.new"
    grep -q "GET /kbs/v0/resource/default/policy/signed 200" "$1.new" &&
    grep -q "GET /kbs/v0/resource/default/cosign/pub 200" "$1.new" &&
    [ "$(grep -c "POST /kbs/v0/attest 200" "$1.new")" = 1 ]' _ "$T/kbs/log" "$mark"
fails "  the same policy refuses the unsigned image" 3 \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" "${P[@]}" "docker://$REG/app:other" "$T/b-unsigned"
ok "  and leaves no bundle" test ! -e "$T/b-unsigned"
fails "--policy kbs:/// that the KBS does not have: refused" 1 \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" --policy kbs:///default/policy/none \
    "docker://$REG/app:good" "$T/b-nopol"
ok "  naming it, no bundle" bash -c 'grep -q "default/policy/none" "$1" && [ ! -e "$2" ]' _ \
    "$T_TMP/out.$T_NUM" "$T/b-nopol"
fails "--policy kbs:/// without --kbs-url: refused" 1 \
    "$COCO_IMG" pull --tls-verify=false --key "$T/kek" --policy kbs:///default/policy/signed \
    "docker://$REG/app:good" "$T/b-nokbs2"
ok "  saying the KBS is needed" grep -q "give the KBS" "$T_TMP/out.$T_NUM"
ok "--authfile kbs:///...: credentials for a registry with htpasswd auth come from the KBS" \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" --insecure-policy \
    --authfile kbs:///default/auth/registry "docker://$AREG/app:good" "$T/b-auth"
ok "  the bundle has the image's files" test -s "$T/b-auth/rootfs/etc/hello"
fails "--authfile kbs:/// with a wrong password: refused" '*' \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" --insecure-policy \
    --authfile kbs:///default/auth/wrong "docker://$AREG/app:good" "$T/b-wrong"
ok "  saying which credentials the registry rejected" \
    grep -q "401 Unauthorized: the registry rejected authfile kbs:///default/auth/wrong" "$T_TMP/out.$T_NUM"
ok "  without showing them" bash -c '! grep -q "s3cret\|user:wrong\|dXNlcjp3cm9uZw" "$1" && [ ! -e "$2" ]' _ \
    "$T_TMP/out.$T_NUM" "$T/b-wrong"
fails "no credentials at all for the registry with auth: refused" '*' \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" --insecure-policy "docker://$AREG/app:good" "$T/b-none"
ok "  naming where it looked and the fix" \
    grep -q "no credentials for $AREG found in .*: pass --creds or --authfile" "$T_TMP/out.$T_NUM"
done_testing
