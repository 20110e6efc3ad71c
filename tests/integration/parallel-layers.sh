#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layers in flight at once (copy, encrypt, decrypt, push): the results equal
# the one-at-a-time ones and the peers', a failure in one layer stops them
# all and leaves nothing behind, progress names every layer.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need skopeo jq python3 openssl docker-registry

T=$T_TMP
export TMPDIR=$T
CI=$COCO_IMG
plan 17

# six layers of 8 MiB (five incompressible, one compressible): big enough to
# be streamed over threads, more than the layers in flight
python3 "$top_srcdir/bench/mkimage.py" "$T/img" 48 6 >/dev/null || bail_out "mkimage.py failed"
orig=$(jq -r '[.layers[].digest] | join(" ")' "$T/img.manifest.json")
openssl genrsa -out "$T/k.pem" 2048 2>/dev/null
openssl rsa -in "$T/k.pem" -pubout -out "$T/pub.pem" 2>/dev/null
layers() { "$CI" inspect "$1" | jq -r '.Layers | join(" ")'; }
same_layers() { [ "$(layers "$1")" = "$orig" ]; }
no_temp() { ! find "$1" -name '.*tmp*' | grep -q .; }

ok "copy oci -> oci keeps the manifest digest" \
    bash -c "'$CI' copy oci:$T/img:v1 oci:$T/copy:v1 &&
             [ \"\$(skopeo inspect oci:$T/img:v1 | jq -r .Digest)\" = \"\$(skopeo inspect oci:$T/copy:v1 | jq -r .Digest)\" ]"
ok "encrypt: six layers, all encrypted, in order" \
    bash -c "'$CI' encrypt --progress=plain --recipient jwe:$T/pub.pem oci:$T/img:v1 oci:$T/enc:v1 2>'$T/enc.err' &&
             [ \$(jq '[.layers[] | select(.mediaType | endswith(\"+encrypted\"))] | length' \
                  '$T/enc/blobs/sha256/'\$(jq -r '.manifests[0].digest' '$T/enc/index.json' | cut -d: -f2)) = 6 ]"
ok "  ... progress: every layer started and done" \
    bash -c "[ \$(grep -c 'encrypt: layer [1-6]/6 sha256:' '$T/enc.err') = 6 ] &&
             [ \$(grep -c 'encrypt: layer [1-6]/6 done' '$T/enc.err') = 6 ]"
ok "  ... the manifest keeps the source's layer order (diffIDs in the config match)" \
    bash -c "'$CI' decrypt --key $T/k.pem oci:$T/enc:v1 oci:$T/dec:v1 && [ \"\$('$CI' inspect oci:$T/dec:v1 | jq -r '.Layers | join(\" \")')\" = '$orig' ]"
ok "skopeo decrypts coco-img's parallel encryption to the original layers" \
    bash -c "skopeo copy -q --decryption-key $T/k.pem oci:$T/enc:v1 oci:$T/skdec:v1 &&
             [ \"\$('$CI' inspect oci:$T/skdec:v1 | jq -r '.Layers | join(\" \")')\" = '$orig' ]"
ok "coco-img decrypts skopeo's encryption of the same image" \
    bash -c "skopeo copy -q --encryption-key jwe:$T/pub.pem oci:$T/img:v1 oci:$T/skenc:v1 &&
             '$CI' decrypt --key $T/k.pem oci:$T/skenc:v1 oci:$T/dec2:v1 &&
             [ \"\$('$CI' inspect oci:$T/dec2:v1 | jq -r '.Layers | join(\" \")')\" = '$orig' ]"

# one dominant layer (12 MiB of random data beside a small compressible one):
# its stream is split over threads instead
python3 "$top_srcdir/bench/mkimage.py" "$T/one" 24 2 >/dev/null || bail_out "mkimage.py failed"
ok "one dominant layer: encrypt + decrypt give back its digest" \
    bash -c "'$CI' encrypt --recipient jwe:$T/pub.pem oci:$T/one:v1 oci:$T/one-enc:v1 &&
             '$CI' decrypt --key $T/k.pem oci:$T/one-enc:v1 oci:$T/one-dec:v1 &&
             [ \"\$('$CI' inspect oci:$T/one-dec:v1 | jq -r '.Layers | join(\" \")')\" = \"\$(jq -r '[.layers[].digest] | join(\" \")' '$T/one.manifest.json')\" ]"

# a tampered middle layer: the first failure is reported, the others stop
cp -r "$T/img" "$T/bad"
victim=$(jq -r '.layers[3].digest' "$T/img.manifest.json" | cut -d: -f2)
python3 - "$T/bad/blobs/sha256/$victim" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4 << 20)
    b = f.read(1)
    f.seek(4 << 20)
    f.write(bytes([b[0] ^ 0x40]))
PY
fails "encrypt of an image with a tampered layer fails (verification, exit 3)" 3 \
    "$CI" encrypt --recipient jwe:$T/pub.pem oci:$T/bad:v1 oci:$T/enc-bad:v1
ok "  ... the error names that layer and the digest" \
    bash -c "grep -q 'layer 3 (sha256:$victim)' '$T/out.$T_NUM' && grep -qi 'digest' '$T/out.$T_NUM' && ! grep -q cancelled '$T/out.$T_NUM'"
ok "  ... no destination left" test ! -e "$T/enc-bad"
# an existing layout without those layers (it holds the encrypted image)
cp -r "$T/enc" "$T/existing"
before=$(ls "$T/existing/blobs/sha256" | sort | md5sum)
fails "copy of the tampered image into an existing layout fails" 3 \
    "$CI" copy oci:$T/bad:v1 oci:$T/existing:v2
ok "  ... that layout keeps its index.json and blobs, no temporary files" \
    bash -c "cmp '$T/existing/index.json' '$T/enc/index.json' && [ \"\$(ls '$T/existing/blobs/sha256' | sort | md5sum)\" = '$before' ] && ! ls -a '$T/existing/blobs/sha256' | grep -q '^\\.[^.]'"
fails "decrypt with the wrong key fails before a layer is written" 3 \
    bash -c "openssl genrsa -out '$T/k2.pem' 2048 2>/dev/null && '$CI' decrypt --key '$T/k2.pem' oci:$T/enc:v1 oci:$T/dec-bad:v1"
ok "  ... no destination left" test ! -e "$T/dec-bad"

# a registry: layers pushed and pulled four at a time
PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
R=127.0.0.1:$PORT
ok "push of the encrypted image: skopeo reads the same manifest back" \
    bash -c "'$CI' copy --dest-tls-verify=false oci:$T/enc:v1 docker://$R/par:v1 &&
             cmp <(skopeo inspect --raw --tls-verify=false docker://$R/par:v1) <('$CI' inspect --raw oci:$T/enc:v1)"
ok "pull back and decrypt: the original layers" \
    bash -c "'$CI' decrypt --src-tls-verify=false --key $T/k.pem docker://$R/par:v1 oci:$T/dec3:v1 &&
             [ \"\$('$CI' inspect oci:$T/dec3:v1 | jq -r '.Layers | join(\" \")')\" = '$orig' ]"
ok "a copy that stops in one layer leaves no temporary files anywhere" \
    bash -c "no_temp() { ! find \"\$1\" -name '.*tmp*' | grep -q .; }; no_temp '$T/existing' && no_temp '$T/dec3' && no_temp '$T/enc'"
done_testing
