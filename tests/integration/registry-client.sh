#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The registry client (libcocoimg/registry) against Debian's docker-registry:
# plain HTTP, TLS with a test CA, htpasswd Basic auth and token auth (with
# tests/integration/token-server.py), a broken connection resumed with Range
# (tests/integration/drop-proxy.py) and a tampered blob.  Images are made
# with umoci and pushed/checked with skopeo.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"

RT="$top_builddir/tests/unit/registry_tool"
for t in docker-registry skopeo umoci openssl htpasswd jq; do
    command -v "$t" >/dev/null || skip_all "$t not installed"
done
[ -x "$RT" ] || skip_all "registry_tool not built"
# jwcrypto pulls in python3-cryptography, which the token server uses
PY=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import cryptography' 2>/dev/null; then PY=$p; break; fi
done

T=$T_TMP
export HOME=$T/home REGISTRY_AUTH_FILE="" XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
unset REGISTRY_AUTH_FILE

bg() { # bg CMD...: start a helper, stopped by PID at exit
    "$@" >"$T/bg.$$.$RANDOM.log" 2>&1 &
    T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

plan 48

# --- image: one 3 MB random layer plus a small one -----------------------
umoci init --layout "$T/oci" >/dev/null
umoci new --image "$T/oci:v1" >/dev/null
umoci unpack --rootless --image "$T/oci:v1" "$T/bundle" >/dev/null
head -c 3000000 /dev/urandom >"$T/bundle/rootfs/big"
umoci repack --image "$T/oci:v1" "$T/bundle" >/dev/null
echo hello >"$T/hello"
umoci insert --rootless --image "$T/oci:v1" "$T/hello" /hello >/dev/null

# === plain HTTP ============================================================
P1=$(free_port)
start_registry plain "$P1"
R1=127.0.0.1:$P1
ok "skopeo pushes the image" skopeo copy -q --dest-tls-verify=false "oci:$T/oci:v1" "docker://$R1/test/app:v1"
skopeo inspect --raw --tls-verify=false "docker://$R1/test/app:v1" >"$T/skopeo.json"
MDIG=sha256:$(sha "$T/skopeo.json")
L0=$(jq -r '.layers[0].digest' "$T/skopeo.json"); S0=$(jq -r '.layers[0].size' "$T/skopeo.json")
L1=$(jq -r '.layers[1].digest' "$T/skopeo.json"); S1=$(jq -r '.layers[1].size' "$T/skopeo.json")
CFG=$(jq -r '.config.digest' "$T/skopeo.json"); CFGS=$(jq -r '.config.size' "$T/skopeo.json")

ok "get-manifest by tag equals skopeo inspect --raw" \
    sh -c "'$RT' --tls-verify=false get-manifest $R1/test/app:v1 >'$T/m.json' && cmp '$T/m.json' '$T/skopeo.json'"
ok "get-manifest by digest" \
    sh -c "'$RT' --tls-verify=false get-manifest $R1/test/app@$MDIG | cmp - '$T/skopeo.json'"
ok "head-manifest gives digest and media type" \
    sh -c "'$RT' --tls-verify=false head-manifest $R1/test/app:v1 | grep -qx '$MDIG application/vnd.oci.image.manifest.v1+json [0-9]*'"
ok "get-blob streams the 3 MB layer and verifies it" \
    sh -c "'$RT' --tls-verify=false get-blob $R1/test/app $L0 $S0 >'$T/l0' && [ sha256:\$(sha256sum <'$T/l0' | cut -d' ' -f1) = $L0 ]"
ok "get-blob config" \
    sh -c "'$RT' --tls-verify=false get-blob $R1/test/app $CFG $CFGS | jq -e .rootfs >/dev/null"
fails "unknown tag is ENOTFOUND" 5 "$RT" --tls-verify=false get-manifest "$R1/test/app:nope"
ok "  ... naming registry and repository" sh -c "grep -q \"registry '$R1': repository 'test/app': manifest 'nope' not found\" '$T_TMP/out.$T_NUM'"
fails "unknown blob is ENOTFOUND" 5 "$RT" --tls-verify=false get-blob "$R1/test/app" sha256:0000000000000000000000000000000000000000000000000000000000000000
fails "wrong expected size is EDIGEST" 8 "$RT" --tls-verify=false get-blob "$R1/test/app" "$L1" $((S1 + 1))
fails "plain HTTP refused without --tls-verify=false" 12 "$RT" get-manifest "$R1/test/app:v1"

# push: copy the image into another repository blob by blob
"$RT" --tls-verify=false get-blob "$R1/test/app" "$L1" >"$T/l1"
"$RT" --tls-verify=false get-blob "$R1/test/app" "$CFG" >"$T/cfg"
ok "push-blob chunked (1 MB chunks)" \
    sh -c "'$RT' --tls-verify=false --chunk-size 1000000 push-blob $R1/test/copy '$T/l0' | grep -qx '$L0 uploaded'"
ok "push-blob monolithic" \
    sh -c "'$RT' --tls-verify=false push-blob $R1/test/copy '$T/cfg' | grep -qx '$CFG uploaded'"
ok "push-blob skips an existing blob" \
    sh -c "'$RT' --tls-verify=false push-blob $R1/test/copy '$T/cfg' | grep -qx '$CFG existed'"
ok "push-blob mounts across repositories" \
    sh -c "'$RT' --tls-verify=false --mount-from test/app push-blob $R1/test/copy '$T/l1' | grep -qx '$L1 mounted'"
ok "blob-exists" sh -c "'$RT' --tls-verify=false blob-exists $R1/test/copy $L0 | grep -qx 'yes $S0'"
fails "push-blob with a wrong digest is EDIGEST" 8 "$RT" --tls-verify=false push-blob "$R1/test/copy" "$T/cfg" sha256:1111111111111111111111111111111111111111111111111111111111111111
ok "  ... and nothing was stored" sh -c "'$RT' --tls-verify=false blob-exists $R1/test/copy sha256:1111111111111111111111111111111111111111111111111111111111111111 | grep -qx no"
ok "put-manifest prints the digest" \
    sh -c "'$RT' --tls-verify=false put-manifest $R1/test/copy:v1 '$T/skopeo.json' | grep -qx '$MDIG'"
ok "skopeo reads back what registry_tool pushed" \
    sh -c "skopeo inspect --raw --tls-verify=false docker://$R1/test/copy:v1 | cmp - '$T/skopeo.json' && skopeo copy -q --src-tls-verify=false docker://$R1/test/copy:v1 oci:$T/back:v1"
fails "put-manifest under a digest it does not have is EDIGEST" 8 "$RT" --tls-verify=false put-manifest "$R1/test/copy@$CFG" "$T/skopeo.json"

# streamed push: digest and size learnt on the way, PATCH pieces of --chunk-size
# the registry writes its access log line after answering: poll for it
log_has() {
    for _ in $(seq 50); do grep -q "$1" "$2" && return 0; sleep 0.1; done
    return 1
}
export -f log_has
patches() { grep -c "\"PATCH /v2/$1/blobs/uploads/" "$T/plain/log"; }
ok "push-stream in 1 MB pieces gives the layer's digest and size" \
    sh -c "'$RT' --tls-verify=false --chunk-size 1000000 push-stream $R1/test/stream '$T/l0' | grep -qx '$L0 $S0'"
ok "  ... skopeo-pushed bytes and ours agree (get-blob verifies)" \
    sh -c "'$RT' --tls-verify=false get-blob $R1/test/stream $L0 $S0 | cmp - '$T/l0'"
ok "  ... sent as $(( (S0 + 999999) / 1000000 )) PATCH requests" \
    test "$(patches test/stream)" -eq $(( (S0 + 999999) / 1000000 ))
head -c 2000000 "$T/l0" >"$T/two"
TWO=sha256:$(sha "$T/two")
ok "push-stream of exactly two pieces needs no third, empty PATCH" \
    sh -c "'$RT' --tls-verify=false --chunk-size 1000000 push-stream $R1/test/two '$T/two' | grep -qx '$TWO 2000000' && [ \$(grep -c '\"PATCH /v2/test/two/blobs/uploads/' '$T/plain/log') -eq 2 ]"
: >"$T/empty"
ok "push-stream of an empty blob" \
    sh -c "'$RT' --tls-verify=false push-stream $R1/test/stream '$T/empty' | grep -qx 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0'"
fails "push-stream whose stream fails its check at the end is EDIGEST" 8 \
    "$RT" --tls-verify=false --chunk-size 1000000 push-stream "$R1/test/streambad" "$T/l0" sha256:1111111111111111111111111111111111111111111111111111111111111111
# docker-registry itself sometimes answers the DELETE with 500 ("unlinkat
# .../hashstates: directory not empty", its own race with the hash state it
# is still writing): what matters is that the client cancelled the session.
ok "  ... nothing was committed and the upload session was cancelled" \
    bash -c "'$RT' --tls-verify=false blob-exists $R1/test/streambad $L0 | grep -qx no &&
           log_has '\"DELETE /v2/test/streambad/blobs/uploads/[^ ]* HTTP/1.1\" [0-9]' '$T/plain/log' ||
           { grep streambad '$T/plain/log'; exit 1; }"
fails "push-stream into an invalid repository name is EINVAL" 3 "$RT" --tls-verify=false push-stream "$R1/Bad..Name" "$T/l0"

# a connection dropped in the middle of the layer: resumed with Range
PX=$(free_port)
    bg python3 "$top_srcdir/tests/integration/drop-proxy.py" "$PX" "$P1" 1000000 "$T/proxy.log"
    wait_port "$PX"
    ok "get-blob survives a dropped connection" \
        sh -c "'$RT' -v --tls-verify=false get-blob 127.0.0.1:$PX/test/app $L0 $S0 >'$T/l0r' && cmp '$T/l0r' '$T/l0'"
    ok "  ... the proxy cut it once and the client resumed with Range" \
        sh -c "grep -q '^CUT' '$T/proxy.log' && grep -qi '^Range: bytes=[1-9][0-9]*-' '$T/proxy.log' && grep -q 'resuming at byte' '$T_TMP/out.$T_NUM'"

# a blob the registry serves tampered (same size, one byte changed)
BLOBF="$T/plain/storage/docker/registry/v2/blobs/sha256/${L0:7:2}/${L0:7}/data"
python3 - "$BLOBF" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1500000); b = f.read(1); f.seek(1500000); f.write(bytes([b[0] ^ 0xff]))
EOF
fails "a tampered blob is EDIGEST" 8 "$RT" --tls-verify=false get-blob "$R1/test/app" "$L0" "$S0"
ok "  ... with a clear message" grep -q "does not match its digest" "$T_TMP/out.$T_NUM"

# === TLS with a test CA ===================================================
make_test_ca "$T/ca"
mkdir -p "$T/certs"
cp "$T/ca/ca.crt" "$T/certs/ca.crt"
P2=$(free_port)
start_registry tls "$P2" "  tls:
    certificate: $T/ca/srv.crt
    key: $T/ca/srv.key"
R2=127.0.0.1:$P2
skopeo copy -q --dest-cert-dir "$T/certs" "oci:$T/oci:v1" "docker://$R2/test/app:v1"
fails "untrusted CA is refused (ENET)" 12 "$RT" get-manifest "$R2/test/app:v1"
ok "  ... naming the certificate problem" grep -qi "certificate" "$T_TMP/out.$T_NUM"
ok "--cert-dir with the CA works" \
    sh -c "'$RT' --cert-dir '$T/certs' get-manifest $R2/test/app:v1 | cmp - '$T/skopeo.json'"
ok "--tls-verify=false works" \
    sh -c "'$RT' --tls-verify=false get-blob $R2/test/app $L1 $S1 | cmp - '$T/l1'"

# === Basic auth (htpasswd, bcrypt) ========================================
htpasswd -Bbn alice 'wonder land' >"$T/htpasswd" 2>/dev/null
P3=$(free_port)
start_registry basic "$P3" "auth:
  htpasswd:
    realm: test
    path: $T/htpasswd"
R3=127.0.0.1:$P3
skopeo copy -q --dest-tls-verify=false --dest-creds 'alice:wonder land' "oci:$T/oci:v1" "docker://$R3/test/app:v1"
fails "Basic: no credentials is a 401 (EHTTP)" 13 "$RT" --tls-verify=false get-manifest "$R3/test/app:v1"
fails "Basic: wrong password is a 401 (EHTTP)" 13 "$RT" --tls-verify=false --creds 'alice:wrong-pw-42' get-manifest "$R3/test/app:v1"
ok "  ... naming registry and repository, without the password" \
    sh -c "grep -q \"registry '$R3': repository 'test/app'.*401\" '$T_TMP/out.$T_NUM' && ! grep -q wrong-pw-42 '$T_TMP/out.$T_NUM'"
ok "Basic: --creds" \
    sh -c "'$RT' --tls-verify=false --creds 'alice:wonder land' get-blob $R3/test/app $L0 $S0 | cmp - '$T/l0'"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$R3" "$(printf 'alice:wonder land' | base64 -w0)" >"$T/auth.json"
ok "Basic: --authfile" sh -c "'$RT' --tls-verify=false --authfile '$T/auth.json' get-manifest $R3/test/app:v1 >/dev/null"
ok "Basic: \$REGISTRY_AUTH_FILE" \
    sh -c "REGISTRY_AUTH_FILE='$T/auth.json' '$RT' --tls-verify=false get-manifest $R3/test/app:v1 >/dev/null"

# === token auth ==========================================================
if [ -z "$PY" ]; then
    for i in 1 2 3 4 5; do ok "# SKIP token tests: python3-cryptography missing" true; done
else
    mkdir -p "$T/tok"
    for k in good bad; do
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=token $k" \
            -keyout "$T/tok/$k.key" -out "$T/tok/$k.crt" 2>/dev/null
    done
    PT=$(free_port)
    # https: Basic credentials never go to a plain-http realm on another host:port
    bg env TOKEN_SERVER_TLS="$T/tok/good.crt:$T/tok/good.key" \
        "$PY" "$top_srcdir/tests/integration/token-server.py" "$PT" "$T/tok/good.key" "$T/tok/good.crt" \
        test-issuer test-registry 'bob:t0ken-pw' "$T/tok/log" "$T/tok/bad.key"
    wait_port "$PT"
    P4=$(free_port)
    start_registry token "$P4" "auth:
  token:
    realm: https://127.0.0.1:$PT/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $T/tok/good.crt"
    R4=127.0.0.1:$P4
    skopeo copy -q --dest-tls-verify=false --dest-creds 'bob:t0ken-pw' "oci:$T/oci:v1" "docker://$R4/test/app:v1"
    : >"$T/tok/log"
    ok "token: manifest and blob with one cached token" \
        sh -c "'$RT' --tls-verify=false --creds 'bob:t0ken-pw' get-blob $R4/test/app $L0 $S0 | cmp - '$T/l0' && [ \$(wc -l <'$T/tok/log') -eq 1 ] && grep -qx 'bob repository:test/app:pull' '$T/tok/log'"
    fails "token: wrong credentials (EHTTP)" 13 "$RT" --tls-verify=false --creds 'bob:nope' get-manifest "$R4/test/app:v1"
    : >"$T/tok/log"
    touch "$T/tok/log.bad-once"
    ok "token: a rejected token is renewed on 401" \
        sh -c "'$RT' --tls-verify=false --creds 'bob:t0ken-pw' get-manifest $R4/test/app:v1 | cmp - '$T/skopeo.json' && [ \$(wc -l <'$T/tok/log') -eq 2 ]"
    ok "token: push blobs and manifest (pull,push scope)" \
        sh -c "for f in l0 l1 cfg; do '$RT' --tls-verify=false --creds 'bob:t0ken-pw' push-blob $R4/test/pushed '$T/'\$f || exit 1; done; '$RT' --tls-verify=false --creds 'bob:t0ken-pw' put-manifest $R4/test/pushed:v1 '$T/skopeo.json' && grep -q 'repository:test/pushed:pull,push' '$T/tok/log'"
    ok "token: skopeo sees the pushed image" \
        sh -c "skopeo inspect --raw --tls-verify=false --creds 'bob:t0ken-pw' docker://$R4/test/pushed:v1 | cmp - '$T/skopeo.json'"
fi

done_testing
