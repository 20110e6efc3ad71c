#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The docker:// transport as source and destination of copy, inspect,
# encrypt, decrypt and layerinfo, against Debian's docker-registry (plain
# HTTP, TLS with a test CA, htpasswd Basic auth), checked with skopeo:
# digests and layers agree both ways, a multi-arch index with --all, a
# Docker schema2 image, the build-time encryption flow and its reverse, and
# the refusals (untrusted CA, wrong credentials, missing tag, a push failing
# half-way leaves no tag).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need docker-registry skopeo umoci openssl htpasswd jq python3 curl
K="$OCI_VECTORS/keys"
[ -d "$K" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1

plan 46

CI=$COCO_IMG
sha() { sha256sum "$1" | cut -d' ' -f1; }
# the digest of the top-level document of IMAGE (coco-img inspect --raw)
raw_digest() { echo "sha256:$("$CI" inspect --raw "$@" | sha256sum | cut -d' ' -f1)"; }
layers_of() { "$CI" inspect "$@" | jq -c .Layers; }
export -f raw_digest layers_of
export CI

fx_umoci_image "$T/oci" v1
fx_multiarch "$T/multi" latest
ORIG_LAYERS=$(layers_of "oci:$T/oci:v1")
ORIG_DIGEST=$(raw_digest "oci:$T/oci:v1")

# === plain HTTP ===========================================================
P1=$(free_port)
start_registry plain "$P1"
R1=127.0.0.1:$P1
SK="--tls-verify=false"

ok "copy oci: -> docker:// (plain HTTP with --dest-tls-verify=false)" \
    "$CI" copy --dest-tls-verify=false "oci:$T/oci:v1" "docker://$R1/test/app:v1"
ok "  ... skopeo sees the same manifest digest" \
    bash -c "[ \"\$(skopeo inspect $SK docker://$R1/test/app:v1 | jq -r .Digest)\" = '$ORIG_DIGEST' ]"
ok "  ... and the same layers" \
    bash -c "[ \"\$(skopeo inspect $SK docker://$R1/test/app:v1 | jq -c .Layers)\" = '$ORIG_LAYERS' ]"
skopeo inspect $SK "docker://$R1/test/app:v1" >"$T/sk.json"
ok "inspect docker:// agrees with skopeo (Name, RepoTags, Digest, Layers, Env, Labels, ...)" \
    bash -c "'$CI' inspect $SK docker://$R1/test/app:v1 >'$T/ci.json' &&
           for f in .Name .RepoTags .Digest .Layers .Env .Labels .Architecture .Os .Created; do
               [ \"\$(jq -c \$f '$T/ci.json')\" = \"\$(jq -c \$f '$T/sk.json')\" ] || { echo \"differs: \$f\"; exit 1; }
           done"
ok "inspect --no-tags skips the tag list" \
    bash -c "[ \"\$('$CI' inspect --no-tags $SK docker://$R1/test/app:v1 | jq -c '[.Name, .RepoTags]')\" = \"[\\\"$R1/test/app\\\",[]]\" ]"
ok "inspect --raw docker:// equals skopeo inspect --raw" \
    bash -c "'$CI' inspect --raw $SK docker://$R1/test/app:v1 | cmp - <(skopeo inspect --raw $SK docker://$R1/test/app:v1)"
ok "inspect --config docker://" \
    bash -c "'$CI' inspect --config --raw $SK docker://$R1/test/app:v1 | cmp - <(skopeo inspect --config --raw $SK docker://$R1/test/app:v1)"
ok "inspect by digest" \
    bash -c "[ \"\$('$CI' inspect $SK docker://$R1/test/app@$ORIG_DIGEST | jq -r .Digest)\" = '$ORIG_DIGEST' ]"
ok "copy docker:// -> oci: keeps the manifest" \
    bash -c "'$CI' copy --src-tls-verify=false docker://$R1/test/app:v1 oci:$T/back:v1 &&
           [ \"\$(raw_digest oci:$T/back:v1)\" = '$ORIG_DIGEST' ] && skopeo copy -q oci:$T/back:v1 oci:$T/back-sk:v1"
fails "plain HTTP is refused without --tls-verify=false" 1 "$CI" inspect "docker://$R1/test/app:v1"
fails "a missing tag is 'not found' (exit 4)" 4 "$CI" inspect $SK "docker://$R1/test/app:nope"
ok "  ... naming the registry, repository and tag" \
    grep -q "registry '$R1': repository 'test/app': manifest 'nope' not found" "$T_TMP/out.$T_NUM"
fails "copy from a missing tag: exit 4, nothing at DST" 4 \
    "$CI" copy $SK "docker://$R1/test/app:nope" "oci:$T/nope"
ok "  ... no directory created" test ! -e "$T/nope"

# docker -> docker in the same registry: blobs are mounted, not re-sent
ok "copy docker:// -> docker:// in one registry mounts the blobs" \
    bash -c "'$CI' --debug copy $SK docker://$R1/test/app:v1 docker://$R1/test/mirror:v1 >'$T/mirror.log' 2>&1 &&
           grep -q 'mounted' '$T/mirror.log' && ! grep -q 'uploaded' '$T/mirror.log' &&
           [ \"\$(skopeo inspect $SK docker://$R1/test/mirror:v1 | jq -r .Digest)\" = '$ORIG_DIGEST' ]"

# multi-arch index, both ways
MULTI_DIGEST=$(raw_digest "oci:$T/multi:latest")
ok "copy --all of an index to docker:// keeps the index digest" \
    bash -c "'$CI' copy --all $SK oci:$T/multi:latest docker://$R1/test/multi:latest &&
           skopeo inspect --raw $SK docker://$R1/test/multi:latest | sha256sum | grep -q '^${MULTI_DIGEST#sha256:} '"
ok "  ... skopeo copies every platform back" \
    skopeo copy -q --all --src-tls-verify=false "docker://$R1/test/multi:latest" "oci:$T/multi-sk:latest"
ok "copy --all docker:// -> oci: keeps the index" \
    bash -c "'$CI' copy --all $SK docker://$R1/test/multi:latest oci:$T/multi-back:latest &&
           [ \"\$(raw_digest oci:$T/multi-back:latest)\" = '$MULTI_DIGEST' ] &&
           [ \"\$(layers_of --platform linux/arm64 oci:$T/multi-back:latest)\" = \"\$(layers_of --platform linux/arm64 oci:$T/multi:latest)\" ]"
ok "inspect --platform linux/arm64 docker:// agrees with skopeo --override-arch" \
    bash -c "[ \"\$('$CI' inspect $SK --platform linux/arm64 docker://$R1/test/multi:latest | jq -c '[.Digest,.Layers,.Architecture]')\" = \"\$(skopeo --override-arch arm64 --override-os linux inspect $SK docker://$R1/test/multi:latest | jq -c '[.Digest,.Layers,.Architecture]')\" ]"

# a Docker schema2 image pushed by skopeo
ok "skopeo pushes a Docker schema2 image" \
    skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$T/oci:v1" "docker://$R1/test/d2:v1"
ok "  ... coco-img inspect sees schema2 and skopeo's digest and layers" \
    bash -c "'$CI' inspect --raw $SK docker://$R1/test/d2:v1 | jq -e '.mediaType == \"application/vnd.docker.distribution.manifest.v2+json\"' >/dev/null &&
           [ \"\$('$CI' inspect $SK docker://$R1/test/d2:v1 | jq -c '[.Digest,.Layers]')\" = \"\$(skopeo inspect $SK docker://$R1/test/d2:v1 | jq -c '[.Digest,.Layers]')\" ]"
D2_DIGEST=$(skopeo inspect $SK "docker://$R1/test/d2:v1" | jq -r .Digest)
ok "  ... copied to oci: and back to docker:// unchanged" \
    bash -c "'$CI' copy $SK docker://$R1/test/d2:v1 oci:$T/d2:v1 && [ \"\$(raw_digest oci:$T/d2:v1)\" = '$D2_DIGEST' ] &&
           '$CI' copy $SK oci:$T/d2:v1 docker://$R1/test/d2copy:v1 &&
           skopeo inspect --raw $SK docker://$R1/test/d2copy:v1 | jq -e '.mediaType | test(\"docker\")' >/dev/null &&
           [ \"\$(skopeo inspect $SK docker://$R1/test/d2copy:v1 | jq -r .Digest)\" = '$D2_DIGEST' ]"

# === encryption through the registry ======================================
ok "encrypt oci: -> docker:// (the build-time flow)" \
    "$CI" encrypt --dest-tls-verify=false --recipient "jwe:$K/rsa_pub.pem" "oci:$T/oci:v1" "docker://$R1/test/app:enc"
ok "  ... layerinfo docker:// shows encrypted jwe layers" \
    bash -c "'$CI' layerinfo --json $SK docker://$R1/test/app:enc | jq -e 'length == 2 and all(.[]; .encrypted and (.schemes | index(\"jwe\")))' >/dev/null"
ok "  ... skopeo decrypts it to the original layers" \
    bash -c "skopeo copy -q --src-tls-verify=false --decryption-key '$K/rsa_priv.pem' docker://$R1/test/app:enc oci:$T/sk-dec:v1 &&
           [ \"\$(layers_of oci:$T/sk-dec:v1)\" = '$ORIG_LAYERS' ]"
ok "skopeo encrypts into the registry" \
    skopeo copy -q --dest-tls-verify=false --encryption-key "jwe:$K/ec_pub.pem" "oci:$T/oci:v1" "docker://$R1/test/app:skenc"
ok "  ... coco-img decrypt docker:// -> oci: gives the original layers" \
    bash -c "'$CI' decrypt --src-tls-verify=false --key '$K/ec_priv.pem' docker://$R1/test/app:skenc oci:$T/ci-dec:v1 &&
           [ \"\$(layers_of oci:$T/ci-dec:v1)\" = '$ORIG_LAYERS' ]"
ok "  ... decrypt docker:// -> docker:// too (decrypted layers streamed to the registry)" \
    bash -c "'$CI' decrypt $SK --key '$K/ec_priv.pem' docker://$R1/test/app:skenc docker://$R1/test/app:dec &&
           [ \"\$(skopeo inspect $SK docker://$R1/test/app:dec | jq -c .Layers)\" = '$ORIG_LAYERS' ]"
fails "decrypt with the wrong key fails (exit 3)" 3 \
    "$CI" decrypt $SK --key "$K/rsa_priv.pem" "docker://$R1/test/app:skenc" "docker://$R1/test/app:wrongkey"
ok "  ... and writes no tag" \
    bash -c "! skopeo inspect --raw $SK docker://$R1/test/app:wrongkey >/dev/null 2>&1"

# a push failing half-way: the top layer of the source is corrupt
cp -r "$T/oci" "$T/bad"
TOP=$(jq -r '.[-1]' <<<"$ORIG_LAYERS")
BOT=$(jq -r '.[0]' <<<"$ORIG_LAYERS")
chmod u+w "$T/bad/blobs/sha256/${TOP#sha256:}"
printf 'X' | dd of="$T/bad/blobs/sha256/${TOP#sha256:}" bs=1 seek=20 conv=notrunc 2>/dev/null
fails "a push failing half-way (corrupt top layer) exits 3" 3 \
    "$CI" copy $SK "oci:$T/bad:v1" "docker://$R1/test/half:v1"
# layers go up in parallel: the lower one may have finished or been stopped
ok "  ... no tag was written; a layer that did go up is whole" \
    bash -c "! skopeo inspect --raw $SK docker://$R1/test/half:v1 >/dev/null 2>&1 &&
           ! curl -sf -o /dev/null http://$R1/v2/test/half/manifests/v1 &&
           { ! curl -sf -o /dev/null -I http://$R1/v2/test/half/blobs/$BOT ||
             [ sha256:\$(curl -sf http://$R1/v2/test/half/blobs/$BOT | sha256sum | cut -d' ' -f1) = $BOT ]; }"

# === TLS with a test CA ===================================================
make_test_ca "$T/ca"
mkdir -p "$T/certs"
cp "$T/ca/ca.crt" "$T/certs/ca.crt"
P2=$(free_port)
start_registry tls "$P2" "  tls:
    certificate: $T/ca/srv.crt
    key: $T/ca/srv.key"
R2=127.0.0.1:$P2
fails "TLS: an untrusted CA is refused (exit 1)" 1 \
    "$CI" copy "oci:$T/oci:v1" "docker://$R2/test/app:v1"
ok "  ... with a message naming the registry and the certificate problem" \
    bash -c "grep -q \"registry '$R2'\" '$T_TMP/out.$T_NUM' && grep -qi 'certificate' '$T_TMP/out.$T_NUM'"
ok "TLS: --dest-cert-dir pushes, skopeo agrees" \
    bash -c "'$CI' copy --dest-cert-dir '$T/certs' oci:$T/oci:v1 docker://$R2/test/app:v1 &&
           [ \"\$(skopeo inspect --cert-dir '$T/certs' docker://$R2/test/app:v1 | jq -r .Digest)\" = '$ORIG_DIGEST' ]"
ok "TLS: --cert-dir for inspect and layerinfo" \
    bash -c "'$CI' inspect --cert-dir '$T/certs' docker://$R2/test/app:v1 >/dev/null && '$CI' layerinfo --cert-dir '$T/certs' docker://$R2/test/app:v1 >/dev/null"
ok "TLS: --tls-verify=false" "$CI" inspect --tls-verify=false "docker://$R2/test/app:v1"
fails "layerinfo refuses --src-* flags (exit 2)" 2 "$CI" layerinfo --src-tls-verify=false "docker://$R2/test/app:v1"

# === htpasswd Basic auth ==================================================
htpasswd -Bbn alice 'wonder land' >"$T/htpasswd" 2>/dev/null
P3=$(free_port)
start_registry basic "$P3" "auth:
  htpasswd:
    realm: test
    path: $T/htpasswd"
R3=127.0.0.1:$P3
ok "auth: --dest-creds pushes" \
    "$CI" copy --dest-tls-verify=false --dest-creds 'alice:wonder land' "oci:$T/oci:v1" "docker://$R3/test/app:v1"
fails "auth: no credentials fail (exit 1)" 1 "$CI" inspect $SK "docker://$R3/test/app:v1"
fails "auth: wrong credentials fail (exit 1)" 1 "$CI" inspect $SK --creds 'alice:wrong-pw-42' "docker://$R3/test/app:v1"
ok "  ... naming the registry, without the password" \
    bash -c "grep -q \"registry '$R3': repository 'test/app'.*401\" '$T_TMP/out.$T_NUM' && ! grep -q wrong-pw-42 '$T_TMP/out.$T_NUM'"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$R3" "$(printf 'alice:wonder land' | base64 -w0)" >"$T/auth.json"
ok "auth: --authfile" \
    bash -c "[ \"\$('$CI' inspect $SK --authfile '$T/auth.json' docker://$R3/test/app:v1 | jq -r .Digest)\" = '$ORIG_DIGEST' ]"
ok "auth: --creds USER with \$COCOIMG_REGISTRY_PASSWORD" \
    env COCOIMG_REGISTRY_PASSWORD='wonder land' "$CI" inspect $SK --creds alice "docker://$R3/test/app:v1"
fails "auth: --creds USER without a password is a usage error" 2 \
    env -u COCOIMG_REGISTRY_PASSWORD "$CI" inspect $SK --creds alice "docker://$R3/test/app:v1"
ok "copy between registries with --src-creds / --src-authfile" \
    bash -c "'$CI' copy $SK --src-authfile '$T/auth.json' docker://$R3/test/app:v1 docker://$R1/test/from-auth:v1 &&
           '$CI' copy $SK --src-creds 'alice:wonder land' --dest-cert-dir '$T/certs' --dest-tls-verify=true docker://$R3/test/app:v1 docker://$R2/test/from-auth:v1 &&
           [ \"\$(skopeo inspect --cert-dir '$T/certs' docker://$R2/test/from-auth:v1 | jq -r .Digest)\" = '$ORIG_DIGEST' ]"

done_testing
