#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The library reads no environment; the CLI hands it over: TMPDIR becomes
# the context's temporary directory (where an oci-archive: source is
# extracted), COCOIMG_NO_ISAL makes gzip layers inflate with zlib.  That
# zlib really ran is visible in the error for a corrupt deflate stream (with
# a valid digest): zlib names the fault ("invalid block type"), ISA-L gives
# its return code ("corrupt data (-N)").  scripts/test.sh runs this and the
# other unpack/pull tests once more with COCOIMG_NO_ISAL=1 in the environment.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
fx_need umoci

T=$T_TMP
fx_umoci_image "$T/src" v1 || skip_all "could not build the umoci fixture"
"$COCO_IMG" copy oci:"$T/src":v1 oci-archive:"$T/a.tar":v1 >/dev/null 2>&1 ||
    skip_all "could not write the archive"
# a copy of the image whose top layer is a gzip member with a corrupt
# deflate body (block type 3) under a correct digest
corrupt() {
    set -e
    cp -a "$T/src" "$T/bad"
    local mf ld hex size
    mf=$(jq -r '.manifests[0].digest' "$T/bad/index.json" | cut -d: -f2)
    ld=$(jq -r '.layers[-1].digest' "$T/bad/blobs/sha256/$mf" | cut -d: -f2)
    python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[10]=0x07; open(sys.argv[2],"wb").write(b)' \
        "$T/bad/blobs/sha256/$ld" "$T/layer.gz"
    read -r hex size < <(fx_put_blob "$T/bad" "$T/layer.gz")
    jq -c --arg d "$hex" --argjson s "$size" '.layers[-1] += {digest:$d,size:$s}' \
        "$T/bad/blobs/sha256/$mf" >"$T/mf.json"
    read -r hex size < <(fx_put_blob "$T/bad" "$T/mf.json")
    jq -c --arg d "$hex" --argjson s "$size" '.manifests[0] += {digest:$d,size:$s}' \
        "$T/bad/index.json" >"$T/ix.json"
    mv "$T/ix.json" "$T/bad/index.json"
    set +e
}
fx_need jq python3
plan 11

fails "TMPDIR is where an oci-archive: source is extracted (missing directory: fails)" 1 \
    env TMPDIR="$T/missing" "$COCO_IMG" inspect oci-archive:"$T/a.tar":v1
cp "$T_TMP/out.$T_NUM" "$T/missing.out"
ok "the error names that directory" grep -qF "'$T/missing'" "$T/missing.out"

mkdir "$T/scratch"
ok "with TMPDIR an existing directory, inspect works and leaves it empty" bash -c '
    TMPDIR="$1/scratch" "$2" inspect oci-archive:"$1/a.tar":v1 >/dev/null &&
    [ -z "$(ls -A "$1/scratch")" ]' _ "$T" "$COCO_IMG"
ok "an empty TMPDIR means the default directory" \
    env TMPDIR= "$COCO_IMG" inspect oci-archive:"$T/a.tar":v1

ok "unpack with COCOIMG_NO_ISAL set (zlib)" \
    env COCOIMG_NO_ISAL=1 "$COCO_IMG" unpack oci:"$T/src":v1 "$T/zlib"
ok "gives the same rootfs as the default inflater" bash -c '
    "$2" unpack oci:"$1/src":v1 "$1/default" &&
    diff -r "$1/zlib/rootfs" "$1/default/rootfs" && [ -s "$1/zlib/rootfs/etc/hello" ]' \
    _ "$T" "$COCO_IMG"

ok "make an image with a corrupt deflate stream under a valid digest" corrupt
fails "COCOIMG_NO_ISAL=1: unpack refuses it (exit 1)" 1 \
    env COCOIMG_NO_ISAL=1 "$COCO_IMG" unpack oci:"$T/bad":v1 "$T/bad-zlib"
ok "  ... and the error is zlib's ('invalid block type'): zlib ran" \
    grep -q "gzip: inflate: invalid block type" "$T_TMP/out.$T_NUM"
if grep -q '^#define HAVE_ISAL 1' "$top_builddir/config.h"; then
    # unset: scripts/test.sh may run this test with COCOIMG_NO_ISAL=1
    fails "without COCOIMG_NO_ISAL (built with ISA-L): refused too" 1 \
        env -u COCOIMG_NO_ISAL "$COCO_IMG" unpack oci:"$T/bad":v1 "$T/bad-isal"
    ok "  ... with ISA-L's error: the variable selects the inflater" \
        grep -q "gzip: inflate: corrupt data (-" "$T_TMP/out.$T_NUM"
else
    fails "without COCOIMG_NO_ISAL (built without ISA-L): refused too" 1 \
        env -u COCOIMG_NO_ISAL "$COCO_IMG" unpack oci:"$T/bad":v1 "$T/bad-isal"
    ok "  ... with zlib's error: zlib is the only inflater" \
        grep -q "gzip: inflate: invalid block type" "$T_TMP/out.$T_NUM"
fi
done_testing
