#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hostile and broken inputs: a clear error, a specific exit code, and
# nothing written at the destination.  Every refusal must end with the exit
# code coco-img(1) documents for it (1 failure, 2 usage, 3 verification, 4
# not found): a death by signal (exit >= 128) or a sanitizer report (ASan
# and UBSan exit with 1, the code of an ordinary failure) is a failure of
# this test, never an accepted refusal.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
fx_need umoci jq sha256sum python3

T=$T_TMP
export TMPDIR=$T
fx_umoci_image "$T/good" v1 || skip_all "could not build the umoci fixture"
MF=$(jq -r '.manifests[0].digest' "$T/good/index.json")
MF=${MF#sha256:}
CFG=$(jq -r .config.digest "$T/good/blobs/sha256/$MF")
CFG=${CFG#sha256:}
L0=$(jq -r '.layers[0].digest' "$T/good/blobs/sha256/$MF")
L0=${L0#sha256:}
L1=$(jq -r '.layers[1].digest' "$T/good/blobs/sha256/$MF")
L1=${L1#sha256:}

# an existing destination layout (of other images) that must survive every
# failed copy
fx_multiarch "$T/keep" old
KEEP=$(fx_listing "$T/keep")

# sane FILE: no sanitizer report in FILE
sane() { ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: [A-Za-z]*Sanitizer' "$1"; }
# refuses NAME CODE CMD...: CMD exits with exactly CODE, not by a signal,
# and prints no sanitizer report
refuses() {
    local name=$1 want=$2; shift 2
    T_NUM=$((T_NUM + 1))
    "$@" >"$T_TMP/out.$T_NUM" 2>&1
    local rc=$? why=""
    [ "$rc" -ge 128 ] && why="killed by signal $((rc - 128))"
    sane "$T_TMP/out.$T_NUM" || why="sanitizer report"
    [ -z "$why" ] && [ "$rc" -ne "$want" ] && why="exit $rc, wanted $want"
    if [ -z "$why" ]; then
        echo "ok $T_NUM - $name"
    else
        echo "not ok $T_NUM - $name ($why)"
        sed 's/^/# /' "$T_TMP/out.$T_NUM" | tail -n 30
        T_FAILED=$((T_FAILED + 1))
    fi
}
export -f sane

variant() { rm -rf "$T/$1"; cp -a "$T/good" "$T/$1"; }
# point the only index entry at FILE (stored as a blob) with media type MT
set_manifest() {
    local layout=$1 file=$2 mt=$3 d s
    read -r d s < <(fx_put_blob "$layout" "$file")
    jq -c --arg d "$d" --argjson s "$s" --arg mt "$mt" \
        '.manifests[0] += {digest:$d,size:$s,mediaType:$mt}' "$layout/index.json" >"$T/ix.tmp"
    mv "$T/ix.tmp" "$layout/index.json"
}

# bad NAME CODE PATTERN SRC: copy to a new dir and into $T/keep both fail
# with CODE and PATTERN on stderr; nothing is left behind.
bad() {
    local name=$1 code=$2 pat=$3 src=$4
    rm -rf "$T/dst"
    refuses "$name: copy fails with $code" "$code" "$COCO_IMG" copy "$src" oci:"$T/dst":x
    ok "$name: the error says '$pat'" grep -q -- "^coco-img: .*$pat" "$T_TMP/out.$T_NUM"
    ok "$name: no new destination" test ! -e "$T/dst"
    refuses "$name: copy into an existing layout fails" "$code" \
        "$COCO_IMG" copy "$src" oci:"$T/keep":new
    ok "$name: the existing layout is unchanged" \
        bash -c '[ "$(fx_listing "$0")" = "$1" ]' "$T/keep" "$KEEP"
}
export -f fx_listing

plan 62

# control: refuses catches what a plain exit-code check would accept
ctl_asan=$(refuses ctl 1 sh -c 'echo "==1==ERROR: AddressSanitizer: heap-use-after-free" >&2; exit 1')
ctl_sig=$(refuses ctl 1 sh -c 'kill -SEGV $$')
ok "control: a sanitizer report with exit 1, or a SIGSEGV, is not an accepted refusal" \
    bash -c '[[ $1 == "not ok"*"sanitizer report"* ]] && [[ $2 == "not ok"*"signal 11"* ]]' \
    _ "$ctl_asan" "$ctl_sig"

variant badix
echo '{"schemaVersion":2,"manifests":[' >"$T/badix/index.json"
bad "malformed index.json" 1 "malformed JSON" oci:"$T/badix":v1

variant badmf
printf '{"schemaVersion":2,"config":' >"$T/m.json"
set_manifest "$T/badmf" "$T/m.json" application/vnd.oci.image.manifest.v1+json
bad "malformed manifest" 1 "malformed JSON" oci:"$T/badmf":v1

variant bigmf
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m.setdefault("annotations",{})["pad"]="x"*(5<<20); json.dump(m,open(sys.argv[2],"w"))' \
    "$T/good/blobs/sha256/$MF" "$T/big.json"
set_manifest "$T/bigmf" "$T/big.json" application/vnd.oci.image.manifest.v1+json
bad "manifest over 4 MiB" 1 "exceeds" oci:"$T/bigmf":v1

variant bigix
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); m["annotations"]={"pad":"x"*(5<<20)}; json.dump(m,open(sys.argv[1],"w"))' \
    "$T/bigix/index.json"
bad "index.json over 4 MiB" 1 "exceeds" oci:"$T/bigix":v1

variant baddigest
chmod u+w "$T/baddigest/blobs/sha256/$L1"
# same size, different bytes
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-1]^=0xff; open(p,"wb").write(b)' \
    "$T/baddigest/blobs/sha256/$L1"
bad "layer not matching its digest" 3 "digest" oci:"$T/baddigest":v1

variant badcfg
chmod u+w "$T/badcfg/blobs/sha256/$CFG"
echo '{}' >>"$T/badcfg/blobs/sha256/$CFG"
bad "config longer than its descriptor" 3 "" oci:"$T/badcfg":v1

variant missing
rm -f "$T/missing/blobs/sha256/$L0"
bad "missing layer blob" 4 "not found" oci:"$T/missing":v1

variant badmt
jq -c '.mediaType = "application/x-not-a-manifest"' "$T/good/blobs/sha256/$MF" >"$T/mt.json"
set_manifest "$T/badmt" "$T/mt.json" application/x-not-a-manifest
bad "unknown manifest media type" 1 "" oci:"$T/badmt":v1

variant symlink
rm -f "$T/symlink/blobs/sha256/$L0"
ln -s "$T/good/blobs/sha256/$L0" "$T/symlink/blobs/sha256/$L0"
bad "blob that is a symlink" 1 "symlink" oci:"$T/symlink":v1

bad "unknown ref" 4 "no image with ref 'nope'" oci:"$T/good":nope

refuses "ref with path components is refused" 2 "$COCO_IMG" copy oci:"$T/good":v1 oci:"$T/dst":../x
ok "nothing written for a bad ref" test ! -e "$T/dst" -a ! -e "$T/x"

mkdir -p "$T/notlayout" && echo data >"$T/notlayout/file"
refuses "a directory that is not a layout is refused as source" 1 \
    "$COCO_IMG" inspect oci:"$T/notlayout"
ok "the error says it is not a layout" grep -q "not an OCI image layout" "$T_TMP/out.$T_NUM"
refuses "a non-empty directory that is not a layout is refused as destination" 1 \
    "$COCO_IMG" copy oci:"$T/good":v1 oci:"$T/notlayout":v1
ok "the directory is unchanged" bash -c '[ "$(ls -A "$0")" = file ]' "$T/notlayout"

# a layout holding two images needs a ref
"$COCO_IMG" copy oci:"$T/good":v1 oci:"$T/keep2":other >/dev/null 2>&1
"$COCO_IMG" copy oci:"$T/good":v1 oci:"$T/keep2":again >/dev/null 2>&1
refuses "a source with several images needs a ref" 2 "$COCO_IMG" inspect oci:"$T/keep2"

# hostile archives
python3 - "$T" "$T/good" <<'PY'
import io, os, sys, tarfile
t, good = sys.argv[1], sys.argv[2]
def add_layout(tf):
    for root, dirs, files in os.walk(good):
        for f in files:
            p = os.path.join(root, f)
            tf.add(p, arcname=os.path.relpath(p, good))
with tarfile.open(f"{t}/dotdot.tar", "w") as tf:
    add_layout(tf)
    ti = tarfile.TarInfo("../escaped"); data = b"evil"; ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))
with tarfile.open(f"{t}/link.tar", "w") as tf:
    ti = tarfile.TarInfo("index.json"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
    tf.addfile(ti)
    add_layout(tf)
PY
# the archive reader writes only the names a layout has: the entry is ignored
ok "an archive with a '..' entry: inspect exits 0, no sanitizer report, nothing written outside" \
    bash -c '"$0" inspect oci-archive:"$1"/dotdot.tar:v1 >"$1/dd.out" 2>&1 && sane "$1/dd.out" &&
        [ ! -e "$1/escaped" ] && [ ! -e "$(dirname "$1")/escaped" ]' "$COCO_IMG" "$T"
refuses "an archive with a symlink entry is refused" 1 "$COCO_IMG" inspect oci-archive:"$T/link.tar":v1
ok "the error names the entry" grep -q "not a regular file or directory" "$T_TMP/out.$T_NUM"
ok "no extraction directory is left behind" bash -c '! ls -d "$0"/cocoimg-archive-* 2>/dev/null' "$T"
done_testing
