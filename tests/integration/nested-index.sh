#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One resolve path: an index holding a nested index (as the host platform)
# next to a normal manifest is treated the same by copy, encrypt, decrypt,
# layerinfo and unpack, with and without --all: exit 1, the same message
# about the nested index, nothing created at the destination.  Picking the
# normal manifest with --platform works.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
fx_need jq openssl sha256sum gzip tar

T=$T_TMP
export TMPDIR=$T

case "$(uname -m)" in
x86_64) HOST=amd64 ;; aarch64) HOST=arm64 ;; *) HOST=$(uname -m) ;;
esac
OTHER=s390x

# LAYOUT:nested = index [index (platform linux/HOST) -> [image HOST], image OTHER]
L=$T/layout
mkdir -p "$L/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
inner_entry=$(_fx_arch_image "$L" "$HOST")
other_entry=$(_fx_arch_image "$L" "$OTHER")
jq -nc --argjson a "$inner_entry" \
    '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:[$a]}' \
    >"$T/inner.json"
read -r INNER inner_size < <(fx_put_blob "$L" "$T/inner.json")
jq -nc --arg d "$INNER" --argjson s "$inner_size" --arg h "$HOST" --argjson o "$other_entry" \
    '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",
      manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,
                  platform:{architecture:$h,os:"linux"}}, $o]}' >"$T/outer.json"
read -r outer outer_size < <(fx_put_blob "$L" "$T/outer.json")
jq -nc --arg d "$outer" --argjson s "$outer_size" \
    '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",
      digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":"nested"}}]}' \
    >"$L/index.json"
SRC=oci:$L:nested

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/priv.pem" 2>/dev/null &&
    openssl pkey -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null ||
    skip_all "openssl could not make a key"

MSG="manifest $INNER: nested index is not supported"

# refused NAME DEST CMD...: exit 1, the nested-index message, nothing at DEST
refused() {
    local name=$1 dest=$2; shift 2
    fails "$name: exit 1" 1 "$@"
    ok "$name: says '$MSG'" grep -q "^coco-img: .*$MSG\$" "$T_TMP/out.$T_NUM"
    if [ -n "$dest" ]; then
        ok "$name: nothing created" bash -c \
            '[ ! -e "$1" ] && [ -z "$(ls -d "$1".tmp-* 2>/dev/null)" ]' _ "$dest"
    fi
}

plan 34

for mode in host all; do
    args=()
    [ $mode = all ] && args=(--all)
    refused "copy ($mode)" "$T/copy-$mode" \
        "$COCO_IMG" copy "${args[@]}" "$SRC" "oci:$T/copy-$mode:x"
    refused "encrypt ($mode)" "$T/enc-$mode" \
        "$COCO_IMG" encrypt "${args[@]}" --recipient "jwe:$T/pub.pem" "$SRC" "oci:$T/enc-$mode:x"
    refused "decrypt ($mode)" "$T/dec-$mode" \
        "$COCO_IMG" decrypt "${args[@]}" --key "$T/priv.pem" "$SRC" "oci:$T/dec-$mode:x"
    refused "layerinfo ($mode)" "" "$COCO_IMG" layerinfo "${args[@]}" "$SRC"
done
# unpack has no --all: the host's entry is the nested index
refused "unpack" "$T/bundle" "$COCO_IMG" unpack "$SRC" "$T/bundle"

# --platform for the entry that is a nested index: the same
refused "copy --platform linux/$HOST" "$T/copy-p" \
    "$COCO_IMG" copy --platform "linux/$HOST" "$SRC" "oci:$T/copy-p:x"
refused "layerinfo --platform linux/$HOST" "" \
    "$COCO_IMG" layerinfo --platform "linux/$HOST" "$SRC"

# the normal manifest next to it is no problem
ok "copy --platform linux/$OTHER" \
    "$COCO_IMG" copy --platform "linux/$OTHER" "$SRC" "oci:$T/copy-o:x"
ok "encrypt --platform linux/$OTHER" \
    "$COCO_IMG" encrypt --platform "linux/$OTHER" --recipient "jwe:$T/pub.pem" "$SRC" \
    "oci:$T/enc-o:x"
ok "layerinfo --platform linux/$OTHER lists its one layer" bash -c \
    '"$1" layerinfo --json --platform "linux/$2" "$3" |
     jq -e "length == 1 and .[0].platform == \"linux/$2\"" >/dev/null' _ "$COCO_IMG" "$OTHER" "$SRC"
ok "unpack --platform linux/$OTHER" bash -c \
    '"$1" unpack --platform "linux/$2" "$3" "$4" && [ "$(cat "$4/rootfs/etc/arch")" = "$2" ]' \
    _ "$COCO_IMG" "$OTHER" "$SRC" "$T/bundle-o"
done_testing
