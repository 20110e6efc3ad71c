#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The library reads no environment; the CLI hands it over: TMPDIR becomes
# the context's temporary directory (where an oci-archive: source is
# extracted), COCOIMG_NO_ISAL makes gzip layers inflate with zlib.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
fx_need umoci

T=$T_TMP
fx_umoci_image "$T/src" v1 || skip_all "could not build the umoci fixture"
"$COCO_IMG" copy oci:"$T/src":v1 oci-archive:"$T/a.tar":v1 >/dev/null 2>&1 ||
    skip_all "could not write the archive"
plan 6

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
done_testing
