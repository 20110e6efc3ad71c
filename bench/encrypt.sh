#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Layer-encryption benchmark: coco-img encrypt/decrypt against skopeo copy
# --encryption-key/--decryption-key on the same image, in one run, with a
# plain copy of the same layout (`cp -r`, the I/O floor) timed alongside,
# and the same copy followed by `sync -f` (durable: both tools fsync every
# blob, cp -r does not; printed beside the target, not part of it).
#
#   bench/encrypt.sh [SIZE_MIB]     (default 1024; RUNS=7 WARMUP=1; ORDER=decrypt-first
#                                    times decrypt before encrypt; builds
#                                    _build-bench/ once, -O2, no sanitizers;
#                                    COCO_IMG=path overrides)
#
# The tools alternate run by run (coco-img, skopeo, cp, coco-img, ...; see
# bench/lib.sh); every figure is a median with its spread.  Both directions
# decrypt the same coco-img-encrypted image.  Before any figure is printed:
# skopeo decrypts coco-img's output and coco-img decrypts skopeo's, and every
# decrypted image must have the original layer digests.  Printed: the
# machine, per tool the median/min/max/IQR and MB/s, peak RSS and cores used,
# the ratio of medians, and the machine's limit, the slower of
#   compute floor  bytes x (1/AES-256-CTR + 3/SHA-256) / cores  (openssl speed;
#                  source digest, HMAC over the ciphertext, destination digest)
#   I/O floor      the median `cp -r` of the source layout
# with coco-img's share of it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
SIZE_MIB=${1:-1024}
bench_need skopeo python3 openssl /usr/bin/time
bench_build
bench_workdir
cd "$BENCH_WORK"

echo "== building a ${SIZE_MIB} MiB image in $BENCH_WORK"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
python3 "$top/bench/mkimage.py" img "$SIZE_MIB"
bytes=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(l["size"] for l in m["layers"]))' img.manifest.json)
orig=$(python3 -c 'import json; print(" ".join(l["digest"] for l in json.load(open("img.manifest.json"))["layers"]))')
layers() { # layers LAYOUT: the layer digests of LAYOUT:v1
    "$COCO_IMG" inspect "oci:$1:v1" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"]))'
}
same_layers() { # same_layers LAYOUT WHAT
    [ "$(layers "$1")" = "$orig" ] || { echo "$2 changed the layers" >&2; exit 1; }
}
bench_machine

# --- encrypt ---------------------------------------------------------------
enc_coco_prep() { rm -rf coco-enc; }
enc_coco() { bench_step enc-coco "$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:v1 oci:coco-enc:v1; }
enc_skopeo_prep() { rm -rf skopeo-enc; }
enc_skopeo() { bench_step enc-skopeo skopeo copy -q --encryption-key jwe:pub.pem oci:img:v1 oci:skopeo-enc:v1; }
enc_cp_prep() { rm -rf cp-dst; }
enc_cp() { bench_step enc-cp cp -r img cp-dst; }
enc_cps_prep() { rm -rf cps-dst; }
enc_cps() { bench_step enc-cps sh -c 'cp -r img cps-dst && sync -f cps-dst'; }
phase_encrypt() {
    echo "== encrypt: $RUNS alternating runs (+$WARMUP warm-up) of coco-img, skopeo, cp -r, cp -r + sync"
    bench_compare enc_coco enc_skopeo enc_cp enc_cps
    rm -rf cp-dst cps-dst
}

# --- decrypt (both tools read coco-img's encrypted image) -------------------
dec_coco_prep() { rm -rf coco-dec; }
dec_coco() { bench_step dec-coco "$COCO_IMG" decrypt --key priv.pem oci:enc:v1 oci:coco-dec:v1; }
dec_skopeo_prep() { rm -rf skopeo-dec; }
dec_skopeo() { bench_step dec-skopeo skopeo copy -q --decryption-key priv.pem oci:enc:v1 oci:skopeo-dec:v1; }
dec_cp_prep() { rm -rf cp-dst; }
dec_cp() { bench_step dec-cp cp -r enc cp-dst; }
dec_cps_prep() { rm -rf cps-dst; }
dec_cps() { bench_step dec-cps sh -c 'cp -r enc cps-dst && sync -f cps-dst'; }
phase_decrypt() {
    echo "== decrypt: $RUNS alternating runs (+$WARMUP warm-up) of coco-img, skopeo, cp -r, cp -r + sync"
    bench_compare dec_coco dec_skopeo dec_cp dec_cps
    rm -rf cp-dst cps-dst
}

# ORDER=decrypt-first: the encrypted input is made first (untimed), then
# decrypt, then encrypt (to tell a phase's place in the run from the tool)
if [ "${ORDER:-encrypt-first}" = decrypt-first ]; then
    "$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:v1 oci:enc:v1
    phase_decrypt
    phase_encrypt
    rm -rf enc && mv coco-enc enc
else
    phase_encrypt
    mv coco-enc enc
    phase_decrypt
fi

# --- every output checked before a figure is printed ------------------------
[ "$(layers enc)" != "$orig" ] || { echo "coco-img encrypt left the layers as they were" >&2; exit 1; }
[ "$(layers skopeo-enc)" != "$orig" ] || { echo "skopeo encrypt left the layers as they were" >&2; exit 1; }
same_layers coco-dec "coco-img decrypt of coco-img's encryption"
same_layers skopeo-dec "skopeo decrypt of coco-img's encryption"
"$COCO_IMG" decrypt --key priv.pem oci:skopeo-enc:v1 oci:check:v1 >/dev/null
same_layers check "coco-img decrypt of skopeo's encryption"
rm -rf check
echo "round trips OK (coco-img <-> skopeo, both directions, original layer digests)"

aes=$(bench_openssl_speed aes-256-ctr)
sha=$(bench_openssl_speed sha256)
echo "== results: $bytes layer bytes ($(bench_machine))"
for d in enc dec; do
    name=$([ $d = enc ] && echo encrypt || echo decrypt)
    bench_summary "$name coco-img" ${d}_coco "$bytes"
    bench_summary "$name skopeo" ${d}_skopeo "$bytes"
    bench_summary "$name cp -r (I/O floor)" ${d}_cp "$bytes"
    bench_summary "$name cp -r + sync (durable)" ${d}_cps "$bytes"
    bench_py "$name" "$bytes" "$aes" "$sha" "$(nproc)" "$(bench_median ${d}_cp)" \
        "$(bench_median ${d}_coco)" "$(bench_ratio ${d}_coco ${d}_skopeo)" "$(bench_median ${d}_cps)" <<'PY'
name, nbytes, aes, sha, cores, io, coco, ratio, dur = sys.argv[1:]
mb, aes, sha, cores, io, coco = int(nbytes) / 1e6, float(aes), float(sha), int(cores), float(io), float(coco)
dur = float(dur)
compute = mb * (1 / aes + 3 / sha) / cores
limit = max(compute, io)
print(f"{name}: coco-img vs skopeo {ratio} (ratio of medians, target >= 8x); floors: compute "
      f"{compute:.3f} s ({mb / compute:.0f} MB/s on {cores} cores), I/O {io:.3f} s "
      f"({mb / io:.0f} MB/s) -> limit {limit:.3f} s; coco-img at {100 * limit / coco:.0f} % of it "
      f"(target >= 75 %)")
# both tools fsync every blob they write; cp -r does not: the durable copy is
# what the disk needs for the same bytes (printed, not part of the target)
print(f"{name}: durable copy (cp -r + sync) {dur:.3f} s ({mb / dur:.0f} MB/s); "
      f"coco-img at {100 * max(compute, dur) / coco:.0f} % of max(compute, durable)")
PY
done
