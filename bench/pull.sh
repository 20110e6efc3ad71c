#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Pull benchmark: the >= 1 GiB image, encrypted (JWE), in a loopback
# docker-registry; in the same run `coco-img pull --key` into a bundle
# against `skopeo copy docker:// oci:` + `skopeo copy --decryption-key` +
# `umoci unpack`.
#
#   bench/pull.sh [SIZE_MIB] [JOBS]   (default 1024, 3; builds _build-bench/ once, -O2, no
#                                      sanitizers; COCO_IMG=path overrides)
#
# Prints wall time, MB/s (layer bytes), the ratio and peak RSS of every step,
# the load average, and gzip inflate speed of zlib vs ISA-L on the layers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=${1:-1024}
JOBS=${2:-3}
for t in docker-registry skopeo umoci python3 /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "$t is needed" >&2; exit 1; }
done
if [ -z "${COCO_IMG:-}" ]; then
    bb="$top/_build-bench"
    if [ ! -x "$bb/coco-img" ]; then
        (cd "$top" && mkdir -p m4 && { [ -x configure ] || autoreconf -fi >/dev/null; }) &&
        mkdir -p "$bb" && (cd "$bb" && "$top/configure" -q CFLAGS="-O2 -g" && make -j"$(nproc)" >/dev/null) ||
            { echo "building $bb failed" >&2; exit 1; }
    fi
    COCO_IMG="$bb/coco-img"
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/cocoimg-bench.XXXXXX")
reg_pid=
cleanup() { [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

echo "== building a ${SIZE_MIB} MiB image in $work"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
python3 "$top/bench/mkimage.py" img "$SIZE_MIB"
"$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:v1 oci:enc:v1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >reg.yml <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve reg.yml >reg.log 2>&1 &
reg_pid=$!
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
    sleep 0.1
done
REF=docker://127.0.0.1:$port/bench/img:enc
echo "== pushing to $REF"
skopeo copy -q --dest-tls-verify=false oci:enc:v1 "$REF"
rm -rf enc # the registry's copy is the only one now

run() { # run NAME CMD... -> "seconds peak-RSS-KiB"
    local name=$1; shift
    /usr/bin/time -f '%e %M' -o "time.$name" "$@" >/dev/null 2>"err.$name" \
        || { cat "err.$name" >&2; exit 1; }
    cat "time.$name"
}
bytes=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(l["size"] for l in m["layers"]))' img.manifest.json)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
sync
read -r c_s c_rss < <(run coco "$COCO_IMG" pull --tls-verify=false --jobs "$JOBS" --key priv.pem "$REF" B1)
rm -rf B1
sync
read -r c2_s c2_rss < <(run coco2 "$COCO_IMG" pull --tls-verify=false --jobs "$JOBS" --key priv.pem "$REF" B1)
sync
read -r s1_s s1_rss < <(run sk-pull skopeo copy -q --src-tls-verify=false "$REF" oci:X:v1)
read -r s2_s s2_rss < <(run sk-dec skopeo copy -q --decryption-key priv.pem oci:X:v1 oci:Y:v1)
read -r u_s u_rss < <(run umoci umoci unpack --image Y:v1 B2)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 "$top/tests/integration/tree-compare.py" B1/rootfs B2/rootfs >/dev/null ||
    { echo "coco-img and umoci trees differ" >&2; exit 1; }

inflate=""
if [ -f /usr/include/isa-l/igzip_lib.h ] && cc -O2 "$top/bench/inflate.c" -lz -lisal -o inflate 2>/dev/null; then
    inflate=$(./inflate $(python3 -c 'import json; print(" ".join("img/blobs/sha256/"+l["digest"][7:] for l in json.load(open("img.manifest.json"))["layers"]))') | tr '\n' ';')
fi

python3 - "$bytes" "$c_s" "$c_rss" "$c2_s" "$c2_rss" "$s1_s" "$s1_rss" "$s2_s" "$s2_rss" "$u_s" "$u_rss" \
    "$load0" "$load1" "$JOBS" "$(nproc)" "$inflate" <<'PY'
import sys
a = sys.argv[1:]
mb = int(a[0]) / 1e6
c, crss, c2, c2rss, s1, s1rss, s2, s2rss, u, urss = (float(x) for x in a[1:11])
chain = s1 + s2 + u
best = min(c, c2)
print(f"layer bytes: {mb:.0f} MB (encrypted, gzip); jobs {a[13]}; {a[14]} cores; "
      f"load average before {a[11]}, after {a[12]}")
print(f"{'step':42}{'wall s':>8}{'MB/s':>8}{'peak RSS':>12}")
for name, s, rss in (("coco-img pull (run 1)", c, crss), ("coco-img pull (run 2)", c2, c2rss),
                     ("skopeo copy docker:// -> oci:", s1, s1rss),
                     ("skopeo copy --decryption-key oci: -> oci:", s2, s2rss),
                     ("umoci unpack", u, urss)):
    print(f"{name:42}{s:>8.2f}{mb/s:>8.0f}{int(rss)//1024:>8} MiB")
print(f"{'skopeo + skopeo + umoci (chain)':42}{chain:>8.2f}{mb/chain:>8.0f}{int(max(s1rss, s2rss, urss))//1024:>8} MiB")
print(f"coco-img is {chain/best:.1f}x faster end to end (best of 2 runs; target >= 4x); "
      f"peak RSS {int(max(crss, c2rss))//1024} MiB (target <= 64 MiB)")
if a[15]:
    print("gzip inflate of the layers, one core: " + a[15].strip(";").replace(";", "; "))
PY
