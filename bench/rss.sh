#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Memory and disk bounds at any layer size: peak RSS of every command that
# moves a layer, on images of one incompressible layer of 1 GiB and of
# 4 GiB (uncompressed tar, so the image is made at disk speed), and the
# disk a pull stages while it prefetches.
#
#   bench/rss.sh [SIZES_MIB...]   (default 1024 4096; builds _build-bench/ once;
#                                  COCO_IMG=path overrides; needs about 6x the
#                                  largest size of free disk under ${TMPDIR:-/var/tmp})
#
# Per size, each once: encrypt, decrypt, copy oci -> oci, copy oci ->
# docker:// (a loopback docker-registry), copy docker:// -> oci, pull of the
# encrypted image from the registry into a bundle.  Every output is checked
# (decrypted and copied layers keep their digests, the bundle's data file
# has the layer's content).  Target: peak RSS <= 32 MiB for every command.
# Then the disk: a pull of 8 layers of 128 MiB with --prefetch-max 256M,
# the staged (prefetched, not yet applied) bytes sampled every 10 ms; their
# peak must stay within the budget.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
[ $# -gt 0 ] || set -- 1024 4096
RUNS=1 WARMUP=0
bench_need docker-registry python3 openssl /usr/bin/time sha256sum
bench_build
bench_workdir
cd "$BENCH_WORK"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
port=$(bench_free_port)
R=127.0.0.1:$port
bench_registry reg "$port"
bench_machine
layers() { "$COCO_IMG" inspect "oci:$1:v1" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"]))'; }
rows=()
fail=0
measure() { # measure NAME CMD...: one run, its peak RSS into rows
    local name=$1 label
    shift
    label=$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_')
    bench_step "$label" "$@"
    local rss wall
    read -r rss _ <"$BENCH_DIR/$label.rusage"
    read -r wall <"$BENCH_DIR/$label.wall"
    rows+=("$(printf '%-34s %7.1f MiB %8.2f s' "$name" "$(echo "$rss / 1024" | bc -l)" "$wall")")
    [ "$rss" -le $((32 * 1024)) ] || fail=1
}
bench_need bc
for size in "$@"; do
    echo "== $size MiB: one layer"
    rm -rf img enc dec cp po B
    python3 "$top/bench/mkimage.py" img "$size" 1 none
    orig=$(layers img)
    measure "encrypt $size MiB" "$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:v1 oci:enc:v1
    measure "decrypt $size MiB" "$COCO_IMG" decrypt --key priv.pem oci:enc:v1 oci:dec:v1
    [ "$(layers dec)" = "$orig" ] || { echo "decrypt changed the layer" >&2; exit 1; }
    rm -rf dec
    measure "copy oci -> oci $size MiB" "$COCO_IMG" copy oci:img:v1 oci:cp:v1
    [ "$(layers cp)" = "$orig" ] || { echo "copy changed the layer" >&2; exit 1; }
    rm -rf cp
    measure "copy oci -> docker:// $size MiB" "$COCO_IMG" copy --dest-tls-verify=false oci:enc:v1 "docker://$R/rss/img:$size"
    measure "copy docker:// -> oci $size MiB" "$COCO_IMG" copy --src-tls-verify=false "docker://$R/rss/img:$size" oci:po:v1
    [ "$(layers po)" = "$(layers enc)" ] || { echo "the registry round trip changed the layer" >&2; exit 1; }
    rm -rf po
    measure "pull (decrypt, unpack) $size MiB" "$COCO_IMG" pull --tls-verify=false --key priv.pem "docker://$R/rss/img:$size" B
    want=$(tar -xOf "img/blobs/sha256/${orig#sha256:}" | sha256sum | cut -d' ' -f1)
    [ "$(sha256sum B/rootfs/data0.bin | cut -d' ' -f1)" = "$want" ] || { echo "the bundle's file differs" >&2; exit 1; }
    rm -rf B img enc
done

echo "== disk: pull of 8 layers of 128 MiB with --prefetch-max 256M"
python3 "$top/bench/mkimage.py" img 1024 8 none
"$COCO_IMG" copy --dest-tls-verify=false oci:img:v1 "docker://$R/rss/disk:v1"
cat >sample.py <<'PY'
import glob, os, sys, time
pattern, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
peak = 0
while not os.path.exists(stop):
    total = 0
    for d in glob.glob(pattern):
        try:
            for e in os.scandir(d):
                if e.name.startswith(".layer-"):
                    total += e.stat().st_blocks * 512
        except FileNotFoundError:
            pass
    peak = max(peak, total)
    time.sleep(0.01)
open(out, "w").write(f"{peak}\n")
PY
rm -f stop
python3 sample.py "$BENCH_WORK/D.tmp-*" peak stop &
sampler=$!
measure "pull 8 x 128 MiB, --prefetch-max 256M" "$COCO_IMG" pull --tls-verify=false --jobs 4 \
    --prefetch-max 256M "docker://$R/rss/disk:v1" D
touch stop
wait "$sampler"
peak=$(cat peak)
[ -f D/rootfs/data7.bin ] || { echo "the pull did not unpack every layer" >&2; exit 1; }

echo "== results ($(bench_machine))"
printf '%s\n' "${rows[@]}"
echo "peak RSS target <= 32 MiB: $([ $fail = 0 ] && echo met || echo NOT met)"
echo "staged (prefetched) bytes during the pull: peak $((peak / 1048576)) MiB of the 256 MiB budget:" \
    "$([ "$peak" -le $((256 * 1048576)) ] && echo within || echo EXCEEDED)"
