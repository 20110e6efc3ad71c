#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Pull benchmark: the image, encrypted (JWE), in a loopback docker-registry;
# in the same run `coco-img pull --key` into a bundle against the chain
# `skopeo copy docker:// oci:` + `skopeo copy --decryption-key` +
# `umoci unpack`.
#
#   bench/pull.sh [SIZE_MIB] [JOBS]   (default 1024, 3; RUNS=7 WARMUP=1; builds
#                                      _build-bench/ once, -O2, no sanitizers;
#                                      COCO_IMG=path overrides)
#   bench/pull.sh --small [LAYERS] [JOBS]
#                                     (default 40, 3) an image of LAYERS layers of
#                                     about 1 MiB, served over TLS (test CA, not
#                                     verified by either tool) with token auth
#                                     (tests/integration/token-server.py): measures
#                                     connection and token reuse and parallelism;
#                                     also prints the tokens each tool asked for
#   ALT_JOBS=N bench/pull.sh ...      also alternates `coco-img pull --jobs N`
#                                     (e.g. 1: no prefetch) with the two, to
#                                     measure what the prefetch costs or gains
#   ALT_COCO_IMG=PATH bench/pull.sh ...
#                                     also alternates another coco-img build
#                                     (an A/B of a change; with ALT_JOBS, that
#                                     build runs with --jobs ALT_JOBS)
#   CHAIN=0 bench/pull.sh ...         leaves the chain out (no ratio to it):
#                                     with ALT_*, a quicker A/B of coco-img
#
# The two alternate run by run (coco-img, chain, coco-img, ...; see
# bench/lib.sh), each from an empty destination after a `sync`.  The chain's
# time is the sum of its three steps.  Before a figure is printed, the last
# rootfs of coco-img must equal umoci's.  Each tool's CPU floor on all cores
# is printed too: its CPU plus the registry's during its runs (/proc), over
# the cores.  Printed: the machine, per tool (and
# per chain step) the median/min/max/IQR, MB/s of layer bytes, peak RSS and
# cores used, the ratio of medians, and gzip inflate speed of zlib vs ISA-L
# on the layers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
SMALL=0
if [ "${1:-}" = --small ]; then
    SMALL=1
    shift
    LAYERS=${1:-40}
    SIZE_MIB=$LAYERS
else
    SIZE_MIB=${1:-1024}
    LAYERS=4
fi
JOBS=${2:-3}
bench_need docker-registry skopeo umoci python3 openssl /usr/bin/time
bench_build
bench_workdir
cd "$BENCH_WORK"

echo "== building a ${SIZE_MIB} MiB image in $BENCH_WORK"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
python3 "$top/bench/mkimage.py" img "$SIZE_MIB" "$LAYERS"
"$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:v1 oci:enc:v1

port=$(bench_free_port)
CREDS=()
SRC_CREDS=()
EXTRA=
if [ $SMALL = 1 ]; then
    # TLS for the registry and the token server, and the token signing key
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" \
        -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout srv.key -out srv.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >ext
    openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext \
        -out srv.crt 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench token signer" \
        -keyout tok.key -out tok.crt 2>/dev/null
    tport=$(bench_free_port)
    TOKEN_SERVER_TLS=srv.crt:srv.key python3 "$top/tests/integration/token-server.py" "$tport" \
        tok.key tok.crt bench-issuer bench-registry 'bench:bench-pw' "$BENCH_WORK/tok.log" >tok.out 2>&1 &
    bench_on_exit_kill $!
    bench_wait_port "$tport" $! tok.out
    EXTRA="  tls:
    certificate: $BENCH_WORK/srv.crt
    key: $BENCH_WORK/srv.key
auth:
  token:
    realm: https://127.0.0.1:$tport/token
    service: bench-registry
    issuer: bench-issuer
    rootcertbundle: $BENCH_WORK/tok.crt"
    CREDS=(--creds bench:bench-pw)
    SRC_CREDS=(--src-creds bench:bench-pw)
fi
bench_registry reg "$port" "$EXTRA"
REF=docker://127.0.0.1:$port/bench/img:enc
echo "== pushing to $REF"
skopeo copy -q --dest-tls-verify=false ${CREDS[@]+--dest-creds bench:bench-pw} oci:enc:v1 "$REF"
rm -rf enc # the registry's copy is the only one now
bytes=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(l["size"] for l in m["layers"]))' img.manifest.json)
bench_machine

coco_prep() { rm -rf B1; }
coco() {
    bench_server_step "$BENCH_REGISTRY_PID" coco-pull "$COCO_IMG" pull --tls-verify=false ${CREDS[@]+"${CREDS[@]}"} --jobs "$JOBS" \
        --key priv.pem "$REF" B1
}
chain_prep() { rm -rf X Y B2; }
chain() {
    bench_server_step "$BENCH_REGISTRY_PID" sk-pull skopeo copy -q --src-tls-verify=false ${SRC_CREDS[@]+"${SRC_CREDS[@]}"} "$REF" oci:X:v1
    bench_step sk-dec skopeo copy -q --decryption-key priv.pem oci:X:v1 oci:Y:v1
    bench_step umoci umoci unpack --image Y:v1 B2
}
ALT_JOBS=${ALT_JOBS:-}
[ -z "$ALT_JOBS" ] || [[ $ALT_JOBS =~ ^[1-9][0-9]*$ ]] || { echo "ALT_JOBS must be a positive integer" >&2; exit 2; }
ALT_COCO_IMG=${ALT_COCO_IMG:-}
[ -z "$ALT_COCO_IMG" ] || [ -x "$ALT_COCO_IMG" ] || { echo "ALT_COCO_IMG: $ALT_COCO_IMG is not executable" >&2; exit 2; }
CHAIN=${CHAIN:-1}
case $CHAIN in 0 | 1) ;; *) echo "CHAIN is 0 or 1" >&2; exit 2 ;; esac
ALT=
alt_name=
if [ -n "$ALT_JOBS$ALT_COCO_IMG" ]; then
    ALT=coco_alt
    alt_name="coco-img pull${ALT_COCO_IMG:+ ($ALT_COCO_IMG)}${ALT_JOBS:+ --jobs $ALT_JOBS}"
fi
coco_alt_prep() { rm -rf B3; }
coco_alt() {
    bench_server_step "$BENCH_REGISTRY_PID" coco-pull-alt "${ALT_COCO_IMG:-$COCO_IMG}" pull --tls-verify=false \
        ${CREDS[@]+"${CREDS[@]}"} --jobs "${ALT_JOBS:-$JOBS}" --key priv.pem "$REF" B3
}
PEER=
[ "$CHAIN" = 0 ] || PEER=chain
echo "== pull: $RUNS alternating runs (+$WARMUP warm-up) of coco-img pull${ALT:+, $alt_name}${PEER:+ and the skopeo+skopeo+umoci chain}"
bench_compare coco $ALT $PEER
if [ "$CHAIN" = 0 ]; then
    # the reference tree: one umoci unpack of the image, untimed
    skopeo copy -q --src-tls-verify=false ${SRC_CREDS[@]+"${SRC_CREDS[@]}"} "$REF" oci:X:v1
    skopeo copy -q --decryption-key priv.pem oci:X:v1 oci:Y:v1
    rm -rf B2 && umoci unpack --image Y:v1 B2 >/dev/null
fi
python3 "$top/tests/integration/tree-compare.py" B1/rootfs B2/rootfs >/dev/null ||
    { echo "coco-img and umoci trees differ" >&2; exit 1; }
if [ -n "$ALT" ]; then
    python3 "$top/tests/integration/tree-compare.py" B3/rootfs B2/rootfs >/dev/null ||
        { echo "$alt_name and umoci trees differ" >&2; exit 1; }
fi
echo "rootfs OK (coco-img's equals umoci's)"
if [ $SMALL = 1 ]; then
    # one more run of each, counting the tokens it fetches
    coco_prep; : >tok.log; coco; tok_coco=$(wc -l <tok.log)
    tok_chain=-
    [ "$CHAIN" = 0 ] || { chain_prep; : >tok.log; chain; tok_chain=$(wc -l <tok.log); }
fi

inflate=""
if [ -f /usr/include/isa-l/igzip_lib.h ] && cc -O2 "$top/bench/inflate.c" -lz -lisal -o inflate 2>/dev/null; then
    # shellcheck disable=SC2046
    inflate=$(./inflate $(python3 -c 'import json; print(" ".join("img/blobs/sha256/"+l["digest"][7:] for l in json.load(open("img.manifest.json"))["layers"]))') | tr '\n' ';')
fi

echo "== results: $bytes layer bytes in $LAYERS layers (encrypted, gzip), jobs $JOBS ($(bench_machine))"
bench_summary "coco-img pull" coco "$bytes"
[ -z "$ALT" ] || bench_summary "$alt_name" coco_alt "$bytes"
if [ "$CHAIN" = 1 ]; then
    bench_summary "skopeo+skopeo+umoci (chain)" chain "$bytes"
    bench_step_summary "  skopeo copy docker:// -> oci:" chain sk-pull "$bytes"
    bench_step_summary "  skopeo copy --decryption-key" chain sk-dec "$bytes"
    bench_step_summary "  umoci unpack" chain umoci "$bytes"
    if [ $SMALL = 1 ]; then
        echo "pull of $LAYERS small layers over TLS with token auth: coco-img vs the chain" \
            "$(bench_ratio coco chain) (ratio of medians, target >= 4x); tokens fetched per pull:" \
            "coco-img $tok_coco, chain $tok_chain"
    else
        echo "pull: coco-img vs the chain $(bench_ratio coco chain) (ratio of medians, target >= 10x); peak RSS target <= 32 MiB"
    fi
elif [ $SMALL = 1 ]; then
    echo "tokens fetched per pull: coco-img $tok_coco"
fi
bench_floor "coco-img pull" coco
[ -z "$ALT" ] || bench_floor "$alt_name" coco_alt
[ "$CHAIN" = 0 ] || bench_floor "the chain" chain
if [ -n "$ALT" ]; then
    echo "$alt_name vs coco-img pull --jobs $JOBS: $(bench_ratio coco_alt coco)"
    [ "$CHAIN" = 0 ] || echo "$alt_name vs the chain $(bench_ratio coco_alt chain)"
fi
[ -z "$inflate" ] || echo "gzip inflate of the layers, one core: $(echo "${inflate%;}" | sed 's/;/; /g')"
