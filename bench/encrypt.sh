#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layer-encryption benchmark: coco-img encrypt/decrypt against skopeo copy
# --encryption-key/--decryption-key on the same >= 1 GiB image, in one run.
#
#   bench/encrypt.sh [SIZE_MIB]     (default 1024; builds _build-bench/ once, -O2, no sanitizers;
#                                    COCO_IMG=path overrides)
#
# Each step runs RUNS times (default 3; best wall time, largest peak RSS).
# Prints MB/s per tool and direction, the ratio to skopeo, the share of the
# one-core limit 1/(1/AES + 3/SHA256) (ciphertext HMAC + the plaintext and
# ciphertext digests) measured with `openssl speed`, and peak RSS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=${1:-1024}
if [ -z "${COCO_IMG:-}" ]; then
    # an optimised build without sanitizers, next to the test build
    bb="$top/_build-bench"
    if [ ! -x "$bb/coco-img" ]; then
        (cd "$top" && mkdir -p m4 && { [ -x configure ] || autoreconf -fi >/dev/null; }) &&
        mkdir -p "$bb" && (cd "$bb" && "$top/configure" -q CFLAGS="-O2 -g" && make -j"$(nproc)" >/dev/null) ||
            { echo "building $bb failed" >&2; exit 1; }
    fi
    COCO_IMG="$bb/coco-img"
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/cocoimg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== building a ${SIZE_MIB} MiB image in $work"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
python3 "$top/bench/mkimage.py" img "$SIZE_MIB"

RUNS=${RUNS:-3}
# run NAME DST CMD...: best wall time of RUNS runs (DST removed before each,
# page cache flushed with sync), and the largest peak RSS (KiB)
run() {
    local name=$1 dst=$2; shift 2
    local best="" worst_rss=0 secs rss
    for _ in $(seq "$RUNS"); do
        rm -rf "$dst"; sync
        /usr/bin/time -f '%e %M' -o "time.$name" "$@" >/dev/null 2>"err.$name" \
            || { cat "err.$name" >&2; exit 1; }
        read -r secs rss <"time.$name"
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $secs < $best else 1)"; then best=$secs; fi
        [ "$rss" -gt "$worst_rss" ] && worst_rss=$rss
    done
    echo "$best $worst_rss"
}
bytes=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(l["size"] for l in m["layers"]))' img.manifest.json)
mb=$(python3 -c "print($bytes/1e6)")

sync
read -r ce_s ce_rss < <(run coco-enc coco-enc "$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:v1 oci:coco-enc:v1)
read -r se_s se_rss < <(run skopeo-enc skopeo-enc skopeo copy -q --encryption-key jwe:pub.pem oci:img:v1 oci:skopeo-enc:v1)
read -r cd_s cd_rss < <(run coco-dec coco-dec "$COCO_IMG" decrypt --key priv.pem oci:coco-enc:v1 oci:coco-dec:v1)
read -r sd_s sd_rss < <(run skopeo-dec skopeo-dec skopeo copy -q --decryption-key priv.pem oci:skopeo-enc:v1 oci:skopeo-dec:v1)

# the machine's one-core limit
speed() { openssl speed -seconds 2 -bytes 1048576 -evp "$1" 2>/dev/null | awk -v a="$1" 'tolower($1)==tolower(a) {v=$NF; sub(/k$/,"",v); print v*1000/1e6}'; }
aes=$(speed aes-256-ctr)
sha=$(speed sha256)
python3 - "$mb" "$ce_s" "$se_s" "$cd_s" "$sd_s" "$aes" "$sha" "$ce_rss" "$se_rss" "$cd_rss" "$sd_rss" <<'PY'
import sys
mb, ce, se, cd, sd, aes, sha = map(float, sys.argv[1:8])
ce_rss, se_rss, cd_rss, sd_rss = (int(x) // 1024 for x in sys.argv[8:12])
limit = 1 / (1 / aes + 3 / sha)
import os
print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
print(f"layer bytes: {mb:.0f} MB; openssl one core: aes-256-ctr {aes:.0f} MB/s, sha256 {sha:.0f} MB/s -> limit {limit:.0f} MB/s")
print(f"{'':10}{'coco-img':>12}{'skopeo':>12}{'ratio':>8}{'% limit':>9}{'RSS coco':>10}{'RSS skopeo':>12}")
for name, c, s, rc, rs in (("encrypt", ce, se, ce_rss, se_rss), ("decrypt", cd, sd, cd_rss, sd_rss)):
    print(f"{name:10}{mb/c:>9.0f}MB/s{mb/s:>9.0f}MB/s{s/c:>7.1f}x{100*mb/c/limit:>8.0f}%{rc:>7} MiB{rs:>9} MiB")
PY
# both directions must round-trip to the original layer digests
orig=$(python3 -c 'import json; print(" ".join(l["digest"] for l in json.load(open("img.manifest.json"))["layers"]))')
for d in coco-dec skopeo-dec; do
    got=$("$COCO_IMG" inspect oci:$d:v1 | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"]))')
    [ "$got" = "$orig" ] || { echo "round trip through $d changed the layers" >&2; exit 1; }
done
echo "round trips OK"
