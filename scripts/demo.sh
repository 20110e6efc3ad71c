#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A guided tour, without network: install the dependencies, build coco-img,
# build a small image with umoci, inspect it, copy it to an oci-archive and
# back.  Everything it creates goes to $DEMO_DIR (default: a temp dir).
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

step "done"
echo "built $COCO_IMG; image, archive and copy are in $DEMO_DIR"
