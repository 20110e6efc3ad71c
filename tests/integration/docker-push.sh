#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Pushes to docker:// against Debian's docker-registry: layers the copy
# engine makes (encrypt, decrypt) are streamed up without staging (TMPDIR
# is an empty, watched directory and no regular file may be written at
# all), a layer failing its HMAC half-way leaves no tag and cancels its
# upload, and a copy within one registry mounts every blob instead of
# downloading it (counted in the registry's access log).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need docker-registry skopeo umoci jq python3 curl
K="$OCI_VECTORS/keys"
[ -d "$K" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1

plan 25

CI=$COCO_IMG
SK="--tls-verify=false"
layers_of() { "$CI" inspect "$@" | jq -c .Layers; }
export -f layers_of
export CI

# the image: two small layers and a 5 MB one (pushed in a thread of its own)
fx_umoci_image "$T/oci" v1
head -c 5000000 /dev/urandom >"$T/big"
umoci insert --rootless --image "$T/oci:v1" "$T/big" /big >/dev/null
ORIG_LAYERS=$(layers_of "oci:$T/oci:v1")

P=$(free_port)
start_registry reg "$P"
R=127.0.0.1:$P
LOG=$T/reg/log

# the registry writes a request's access log line after answering it
log_has() {
    for _ in $(seq 50); do grep -q "$1" "$2" && return 0; sleep 0.1; done
    return 1
}
# blob GETs in the access log after line $1
blob_gets() { tail -n +"$(($1 + 1))" "$LOG" | grep -c '"GET /v2/[^ ]*/blobs/sha256:'; }
export -f log_has

# no_staging OUT CMD...: run CMD with TMPDIR an empty directory, watched
# while CMD runs; no regular file may be written at all (ulimit -f 0 would
# kill CMD on its first write, so an unnamed O_TMPFILE is caught too).
# Output goes through a pipe to OUT.
no_staging() {
    local out=$1 tmp
    shift
    tmp=$(mktemp -d "$T/tmpdir.XXXXXX")
    (while :; do
        [ -z "$(ls -A "$tmp")" ] || echo "found in TMPDIR: $(ls -A "$tmp")"
        sleep 0.05
    done) >"$tmp.watch" 2>&1 &
    local w=$!
    (ulimit -f 0 && TMPDIR=$tmp exec "$@") 2>&1 | cat >"$out"
    local rc=${PIPESTATUS[0]}
    kill "$w"
    wait "$w" 2>/dev/null
    tail -n 20 "$out"
    cat "$tmp.watch"
    [ "$rc" -eq 0 ] && [ ! -s "$tmp.watch" ] && [ -z "$(ls -A "$tmp")" ]
}

# every layer descriptor of IMAGE matches the size the registry has
sizes_match() {
    local repo=$1 tag=$2 d s
    skopeo inspect --raw $SK "docker://$R/$repo:$tag" | jq -r '.layers[] | "\(.digest) \(.size)"' |
        while read -r d s; do
            [ "$(curl -sfI "http://$R/v2/$repo/blobs/$d" | tr -d '\r' |
                awk 'tolower($1)=="content-length:"{print $2}')" = "$s" ] || {
                echo "blob $d: size differs from $s"
                exit 1
            }
        done
}

# === encrypt oci: -> docker:// ============================================
ok "encrypt oci: -> docker:// writes no temporary file (TMPDIR stays empty)" \
    no_staging "$T/enc.log" "$CI" --debug encrypt --dest-tls-verify=false \
    --recipient "jwe:$K/rsa_pub.pem" "oci:$T/oci:v1" "docker://$R/test/app:enc"
ok "  ... its three layers were streamed up" \
    test "$(grep -c 'pushed sha256:[0-9a-f]* ([0-9]* bytes, streamed)' "$T/enc.log")" -eq 3
ok "  ... in PATCH requests without a length, committed by PUT ?digest=" \
    bash -c "grep -q '\"PATCH /v2/test/app/blobs/uploads/[^ ]* HTTP/1.1\" 202' '$LOG' &&
             grep -q '\"PUT /v2/test/app/blobs/uploads/[^ ]*digest=sha256[^ ]* HTTP/1.1\" 201' '$LOG'"
ok "  ... each layer descriptor matches the blob the registry stored" sizes_match test/app enc
ok "  ... skopeo decrypts it to the original layers" \
    bash -c "skopeo copy -q --src-tls-verify=false --decryption-key '$K/rsa_priv.pem' \
                 docker://$R/test/app:enc oci:$T/sk-dec:v1 &&
             [ \"\$(layers_of oci:$T/sk-dec:v1)\" = '$ORIG_LAYERS' ]"

# === decrypt docker:// -> docker:// =======================================
ok "skopeo encrypts into the registry" \
    skopeo copy -q --dest-tls-verify=false --encryption-key "jwe:$K/ec_pub.pem" \
    "oci:$T/oci:v1" "docker://$R/test/sk:enc"
ok "decrypt docker:// -> docker:// writes no temporary file either" \
    no_staging "$T/dec.log" "$CI" --debug decrypt $SK --key "$K/ec_priv.pem" \
    "docker://$R/test/sk:enc" "docker://$R/test/dec:v1"
ok "  ... the layers equal the original ones" \
    bash -c "[ \"\$(skopeo inspect $SK docker://$R/test/dec:v1 | jq -c .Layers)\" = '$ORIG_LAYERS' ]"
ok "  ... and skopeo reads the image back" \
    bash -c "skopeo copy -q --src-tls-verify=false docker://$R/test/dec:v1 oci:$T/dec-sk:v1 &&
             [ \"\$(layers_of oci:$T/dec-sk:v1)\" = '$ORIG_LAYERS' ]"

# === a layer failing its HMAC half-way =====================================
# skopeo's encrypted image with one ciphertext byte of the 5 MB layer
# flipped, under a new digest: the blob itself is intact, its HMAC is not
ok "make an image whose big layer fails its HMAC" \
    bash -c "skopeo copy -q --src-tls-verify=false docker://$R/test/sk:enc oci:$T/tamp:v1 &&
             python3 '$top_srcdir/tests/integration/hmac-tamper.py' '$T/tamp' &&
             skopeo copy -q --dest-tls-verify=false oci:$T/tamp:v1 docker://$R/test/tamp:v1"
fails "decrypt docker:// -> docker:// of it exits 3" 3 \
    "$CI" --debug decrypt $SK --key "$K/ec_priv.pem" "docker://$R/test/tamp:v1" "docker://$R/test/tamp-dec:v1"
ok "  ... on the HMAC, after bytes had been streamed up" \
    bash -c "grep -q 'layer HMAC mismatch' '$T_TMP/out.$T_NUM' &&
             grep -q '\"PATCH /v2/test/tamp-dec/blobs/uploads/' '$LOG'"
# the DELETE of the session is best effort: it can race the aborted PATCH,
# which the registry may still be storing (then it answers 404 and the
# bytes stay until its upload purging); nothing can commit them
ok "  ... no tag was written and the upload session's DELETE was sent" \
    bash -c "! curl -sf -o /dev/null http://$R/v2/test/tamp-dec/manifests/v1 &&
             ! skopeo inspect --raw $SK docker://$R/test/tamp-dec:v1 >/dev/null 2>&1 &&
             log_has '\"DELETE /v2/test/tamp-dec/blobs/uploads/[^ ]* HTTP/1.1\" \(204\|404\)' '$LOG'"

# === copies within one registry mount, never download ======================
N0=$(wc -l <"$LOG")
ok "copy docker:// -> docker:// in one registry" \
    "$CI" --debug copy $SK "docker://$R/test/app:enc" "docker://$R/test/mirror:v1"
cp "$T_TMP/out.$T_NUM" "$T/mirror.log"
ok "  ... mounted the config and the three layers" \
    test "$(grep -c 'docker: blob sha256:[0-9a-f]* mounted from' "$T/mirror.log")" -eq 4
sleep 0.5
ok "  ... and downloaded no blob (registry access log)" test "$(blob_gets "$N0")" -eq 0
ok "  ... the image is the same" \
    bash -c "[ \"\$(skopeo inspect $SK docker://$R/test/mirror:v1 | jq -r .Digest)\" = \"\$(skopeo inspect $SK docker://$R/test/app:enc | jq -r .Digest)\" ]"
# the same count sees the downloads of a copy that cannot mount
N1=$(wc -l <"$LOG")
ok "copy docker:// -> oci: downloads config and layers: 4 blob GETs counted" \
    bash -c "'$CI' copy $SK docker://$R/test/app:enc oci:$T/pulled:v1 &&
             for i in \$(seq 50); do [ \$(tail -n +$((N1 + 1)) '$LOG' | grep -c '\"GET /v2/[^ ]*/blobs/sha256:') -ge 4 ] && exit 0; sleep 0.1; done; exit 1"
# decrypting only the top layer: the others are mounted, only that one is downloaded
N2=$(wc -l <"$LOG")
ok "decrypt --layer -1 docker:// -> docker:// downloads only the top layer" \
    bash -c "'$CI' decrypt $SK --key '$K/rsa_priv.pem' --layer -1 docker://$R/test/app:enc docker://$R/test/top-dec:v1 &&
             sleep 0.5 && n=\$(tail -n +$((N2 + 1)) '$LOG' | grep -c '\"GET /v2/[^ ]*/blobs/sha256:') &&
             [ \"\$n\" -eq 1 ] || { echo \"\$n blob GETs\"; exit 1; }"
ok "copy into a repository that has every blob: nothing mounted or sent" \
    bash -c "'$CI' --debug copy $SK docker://$R/test/app:enc docker://$R/test/mirror:v2 >'$T/again.log' 2>&1 &&
             ! grep -q 'blob sha256:[0-9a-f]* mounted' '$T/again.log' && ! grep -q 'uploaded' '$T/again.log' &&
             [ \$(grep -c 'already present' '$T/again.log') -eq 4 ]"

# a source blob corrupt in the registry's storage: caught before any commit
BIG=$(skopeo inspect --raw $SK "docker://$R/test/sk:enc" | jq -r '.layers | max_by(.size) | .digest')
BLOBF="$T/reg/storage/docker/registry/v2/blobs/sha256/${BIG:7:2}/${BIG:7}/data"
python3 - "$BLOBF" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(2500000); b = f.read(1); f.seek(2500000); f.write(bytes([b[0] ^ 0xff]))
EOF
fails "decrypt of a source blob corrupt in the registry exits 3" 3 \
    "$CI" decrypt $SK --key "$K/ec_priv.pem" "docker://$R/test/sk:enc" "docker://$R/test/corrupt:v1"
ok "  ... and writes no tag" \
    bash -c "! curl -sf -o /dev/null http://$R/v2/test/corrupt/manifests/v1"

# a blob corrupt in the source OCI layout (same size): the push hashes it
# once, in the source's verify stage, and that verdict stops the upload
# before the registry can commit it
ok "make a layout whose big layer is corrupt" \
    bash -c "cp -a '$T/oci' '$T/badsrc' && python3 - '$T/badsrc' <<'EOF'
import json, os, sys
lay = sys.argv[1]
idx = json.load(open(os.path.join(lay, 'index.json')))
def blob(d): return os.path.join(lay, 'blobs', *d.split(':'))
m = json.load(open(blob(idx['manifests'][0]['digest'])))
big = max(m['layers'], key=lambda l: l['size'])
with open(blob(big['digest']), 'r+b') as f:
    f.seek(big['size'] // 2); b = f.read(1); f.seek(big['size'] // 2); f.write(bytes([b[0] ^ 0xff]))
print(big['digest'], file=open(os.path.join(lay, 'BIG'), 'w'))
EOF"
fails "push of a layout with a corrupt blob exits 3" 3 \
    "$CI" copy --dest-tls-verify=false "oci:$T/badsrc:v1" "docker://$R/test/badsrc:v1"
ok "  ... the registry has neither the tag nor the blob in that repository" \
    bash -c "! curl -sf -o /dev/null http://$R/v2/test/badsrc/manifests/v1 &&
             ! curl -sfI -o /dev/null http://$R/v2/test/badsrc/blobs/\$(cat '$T/badsrc/BIG')"

done_testing
