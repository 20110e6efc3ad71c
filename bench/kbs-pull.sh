#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What key release costs a pull: the same 3-layer image pulled from a loopback
# docker-registry into a bundle, once encrypted for a local JWE key
# (`pull --key`) and once for the attestation-agent provider (`pull
# --kbs-url`: attest to the test KBS, fetch the KEK, unwrap), alternating run
# by run.  Printed: both medians and spreads, the added time (difference of
# the medians), and the KBS requests of every attested run, which must be
# 1 auth + 1 attest + 1 resource GET per distinct kid (here 1), else no figure.
#
#   bench/kbs-pull.sh [LAYER_MIB]   (default 8 MiB per layer; RUNS, WARMUP)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
MIB=${1:-8}
[[ $MIB =~ ^[1-9][0-9]*$ ]] || { echo "LAYER_MIB must be a positive integer" >&2; exit 2; }
bench_need python3 openssl umoci docker-registry jq /usr/bin/time
bench_build
bench_workdir
cd "$BENCH_WORK"

# shellcheck disable=SC2034 # read by tests/kbs/kbs-fixtures.sh
T=$BENCH_WORK
# shellcheck disable=SC2034
top_srcdir=$top
T_CLEANUP=
. "$top/tests/kbs/kbs-fixtures.sh"
[ -n "$KBS_PY" ] || { echo "python3-cryptography is needed (tests/kbs/kbs.py)" >&2; exit 1; }
kbs_make_ca ca || { echo "cannot make the test CA" >&2; exit 1; }
mkdir -p res/default/key
head -c 32 /dev/urandom >kek
cp kek res/default/key/bench-kek
kbs_start "$BENCH_WORK/kbs" --resources "$BENCH_WORK/res" --cert ca/srv.crt --key ca/srv.key
bench_on_exit_kill "$KBS_PID"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p reg
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/reg/data\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$BENCH_WORK" "$port" >reg/config.yml
docker-registry serve reg/config.yml >reg/log 2>&1 &
bench_on_exit_kill $!
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
    sleep 0.1
done

# three layers of incompressible data, encrypted both ways
export COCOIMG_POLICY=$BENCH_WORK/policy.json
echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$COCOIMG_POLICY"
umoci init --layout img >/dev/null
umoci new --image img:b >/dev/null
for i in 1 2 3; do
    mkdir -p "l$i/data"
    head -c $((MIB << 20)) /dev/urandom >"l$i/data/blob$i"
    umoci insert --rootless --image img:b "l$i/data" "/data$i" >/dev/null
done
openssl genrsa -out priv.pem 3072 2>/dev/null
openssl rsa -in priv.pem -pubout -out pub.pem 2>/dev/null
"$COCO_IMG" encrypt --recipient jwe:pub.pem oci:img:b oci:jwe:b
"$COCO_IMG" encrypt --recipient "provider:attestation-agent:keyid=kbs:///default/key/bench-kek::keypath=$BENCH_WORK/kek" \
    oci:img:b oci:aa:b
"$COCO_IMG" copy --dest-tls-verify=false oci:jwe:b "docker://127.0.0.1:$port/bench:jwe" >/dev/null
"$COCO_IMG" copy --dest-tls-verify=false oci:aa:b "docker://127.0.0.1:$port/bench:aa" >/dev/null
layers=$("$COCO_IMG" inspect oci:aa:b | jq '.Layers | length')

bench_machine
echo "== pull of a $layers-layer image (${MIB} MiB per layer) from 127.0.0.1:$port to a bundle," \
    "$RUNS runs each (+$WARMUP warm-up), alternating"
localkey_prep() { rm -rf b-local; }
localkey() { bench_step pull "$COCO_IMG" pull --tls-verify=false --key priv.pem \
    "docker://127.0.0.1:$port/bench:jwe" b-local; }
kbs_prep() { rm -rf b-kbs; KBS_MARK=$(wc -l <"$BENCH_WORK/kbs/log"); }
kbs() {
    bench_step pull "$COCO_IMG" pull --tls-verify=false --attester sample \
        --kbs-url "https://127.0.0.1:$KBS_PORT" --kbs-cert ca/ca.crt \
        "docker://127.0.0.1:$port/bench:aa" b-kbs
    # every attested pull: 1 auth, 1 attest, 1 GET for the one kid
    tail -n +$((KBS_MARK + 1)) "$BENCH_WORK/kbs/log" >"$BENCH_DIR/kbs.req"
    local a t g
    a=$(grep -c 'POST /kbs/v0/auth' "$BENCH_DIR/kbs.req" || true)
    t=$(grep -c 'POST /kbs/v0/attest' "$BENCH_DIR/kbs.req" || true)
    g=$(grep -c 'GET /kbs/v0/resource' "$BENCH_DIR/kbs.req" || true)
    echo "$a $t $g" >>"$BENCH_DIR/kbs.counts"
    if [ "$a$t$g" != 111 ]; then
        echo "a pull made $a auth, $t attest and $g resource requests (want 1 1 1)" >&2
        exit 1
    fi
}
bench_compare localkey kbs
cmp -s <(cd b-local/rootfs && find . -type f -exec sha256sum {} + | sort) \
    <(cd b-kbs/rootfs && find . -type f -exec sha256sum {} + | sort) ||
    { echo "the two bundles differ" >&2; exit 1; }
bench_summary "pull --key (local JWE key)" localkey
bench_summary "pull --kbs-url (attest + KEK)" kbs
bench_py "$BENCH_DIR/localkey.runs" "$BENCH_DIR/kbs.runs" <<'PY'
a, b = load(sys.argv[1])[0], load(sys.argv[2])[0]
print(f"key release adds {1000 * (med(b) - med(a)):.0f} ms to the median pull "
      f"({med(b) / med(a):.2f}x)")
PY
echo "KBS requests per attested pull (auth attest GET): $(sort -u "$BENCH_DIR/kbs.counts" | tr '\n' ' ')" \
    "for $layers layers sharing one kid"
