#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A guided tour, without network: install the dependencies, build coco-img,
# build a small image with umoci, inspect it, copy it to an oci-archive and
# back, encrypt it for a JWE recipient, check that skopeo decrypts it, and
# decrypt it again with coco-img.  Everything it creates goes to $DEMO_DIR (default: a temp dir).
#   BUILD_DIR   build directory (default: _build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD_DIR=${BUILD_DIR:-_build}
DEMO_DIR=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/coco-img-demo.XXXXXX")}

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "installing dependencies (scripts/setup-deps.sh)"
sh scripts/setup-deps.sh

step "building coco-img in $BUILD_DIR"
mkdir -p m4
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    autoreconf -fi >/dev/null
fi
mkdir -p "$BUILD_DIR"
(cd "$BUILD_DIR" && { [ -f Makefile ] || "$top/configure" >/dev/null; } && make -j"$(nproc)" >/dev/null)
COCO_IMG=$(cd "$BUILD_DIR" && pwd)/coco-img
run "$COCO_IMG" version

step "building a two-layer image with umoci in $DEMO_DIR/layout"
mkdir -p "$DEMO_DIR/rootfs/etc" "$DEMO_DIR/rootfs/bin"
echo "hello from coco-img" >"$DEMO_DIR/rootfs/etc/hello"
printf '#!/bin/sh\ncat /etc/hello\n' >"$DEMO_DIR/rootfs/bin/hello"
chmod 755 "$DEMO_DIR/rootfs/bin/hello"
rm -rf "$DEMO_DIR/layout"
run umoci init --layout "$DEMO_DIR/layout"
run umoci new --image "$DEMO_DIR/layout:demo"
run umoci insert --rootless --image "$DEMO_DIR/layout:demo" "$DEMO_DIR/rootfs/etc" /etc
run umoci insert --rootless --image "$DEMO_DIR/layout:demo" "$DEMO_DIR/rootfs/bin" /bin
run umoci config --image "$DEMO_DIR/layout:demo" --config.cmd /bin/hello \
    --config.env GREETING=hello --config.label org.example.demo=yes \
    --os linux --architecture amd64

step "inspecting it"
run "$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo"

step "copying it to an oci-archive and back"
run "$COCO_IMG" copy "oci:$DEMO_DIR/layout:demo" "oci-archive:$DEMO_DIR/demo.tar:demo"
run tar -tvf "$DEMO_DIR/demo.tar"
run "$COCO_IMG" copy "oci-archive:$DEMO_DIR/demo.tar:demo" "oci:$DEMO_DIR/roundtrip:demo"
a=$("$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo" | jq -r .Digest)
b=$("$COCO_IMG" inspect "oci:$DEMO_DIR/roundtrip:demo" | jq -r .Digest)
echo "source digest:     $a"
echo "round-trip digest: $b"
[ "$a" = "$b" ] || { echo "digests differ" >&2; exit 1; }

step "encrypting it (ocicrypt JWE, RSA-OAEP) for a fresh key pair"
run openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DEMO_DIR/key.pem"
run openssl pkey -in "$DEMO_DIR/key.pem" -pubout -out "$DEMO_DIR/pub.pem"
run "$COCO_IMG" encrypt --recipient "jwe:$DEMO_DIR/pub.pem" "oci:$DEMO_DIR/layout:demo" \
    "oci:$DEMO_DIR/encrypted:demo"
run "$COCO_IMG" layerinfo "oci:$DEMO_DIR/encrypted:demo"

step "skopeo (containers/ocicrypt) decrypts what coco-img encrypted"
run skopeo copy -q --decryption-key "$DEMO_DIR/key.pem" "oci:$DEMO_DIR/encrypted:demo" \
    "oci:$DEMO_DIR/skopeo-decrypted:demo"
step "coco-img decrypts it too"
run "$COCO_IMG" decrypt --key "$DEMO_DIR/key.pem" "oci:$DEMO_DIR/encrypted:demo" \
    "oci:$DEMO_DIR/decrypted:demo"
want=$("$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo" | jq -c .Layers)
for d in skopeo-decrypted decrypted; do
    got=$("$COCO_IMG" inspect "oci:$DEMO_DIR/$d:demo" | jq -c .Layers)
    [ "$got" = "$want" ] || { echo "$d: layers $got, wanted $want" >&2; exit 1; }
done
echo "both decryptions give the original layer digests"

step "done"
echo "built $COCO_IMG; the images, archive and key are in $DEMO_DIR"
