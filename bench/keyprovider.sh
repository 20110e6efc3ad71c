#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# coco-keyprovider under load: UnWrapKey over gRPC from N concurrent
# python3-grpcio clients (tests/integration/kp_peer.py many), against the
# test KBS over HTTPS.  Reported per round: requests/s, p50, p99, max, and
# the server's peak RSS.  Round 1 is cold (the first request attests; the
# others wait for the KBS lock), later rounds reuse the cached token.  A
# fresh server per cold round, ROUNDS alternating cold/warm pairs, medians.
#
#   bench/keyprovider.sh [CLIENTS] [ROUNDS]   (default 64, 5; builds _build-bench/
#                                             once, -O2, static (bench/lib.sh);
#                                             COCO_KEYPROVIDER=path overrides)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CLIENTS=${1:-64}
ROUNDS=${2:-5}
PY=/usr/bin/python3
"$PY" -c 'import grpc, google.protobuf, cryptography' ||
    { echo "python3-grpcio, python3-protobuf, python3-cryptography are needed" >&2; exit 1; }
. "$top/bench/lib.sh"
bench_build
PEER=$top/tests/integration/kp_peer.py
bench_workdir
work=$BENCH_WORK
cd "$work"
T=$work
top_srcdir=$top
. "$top/tests/kbs/kbs-fixtures.sh"
T_CLEANUP=
kbs_make_ca ca
mkdir -p res/default/key
head -c 32 /dev/urandom >kek
cp kek res/default/key/image-kek
kbs_start "$work/kbs" --resources "$work/res" --cert ca/srv.crt --key ca/srv.key
bench_on_exit_kill "$KBS_PID"
K=(--kbs-url "https://127.0.0.1:$KBS_PORT" --kbs-cert "$work/ca/ca.crt" --attester sample)
printf '{"symkey":"c2VjcmV0LWxheWVyLWtleS0zMi1ieXRlcy1sb25nLi4=","cipheroptions":{}}' >opts.json
"$PY" "$PEER" wrapreq "keyid=kbs:///default/key/image-kek::keypath=$work/kek" <opts.json >wrap.req
"$COCO_KEYPROVIDER" <wrap.req | "$PY" "$PEER" reply-bytes wrap >packet.json
"$PY" "$PEER" unwrapreq packet.json >unwrap.req

start_server() {
    /usr/bin/time -f "%M" -o "$work/rss" "$COCO_KEYPROVIDER" --listen 127.0.0.1:0 --workers 8 "${K[@]}" \
        2>"$work/srv.log" &
    SRV=$!
    bench_on_exit_kill "$SRV"
    for _ in $(seq 100); do grep -q "on port" "$work/srv.log" 2>/dev/null && break; sleep 0.1; done
    ADDR=127.0.0.1:$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$work/srv.log")
}
stop_server() { # TERM the server itself (its parent /usr/bin/time then writes the RSS)
    local child
    child=$(pgrep -P "$SRV" | head -1)
    [ -n "$child" ] || { echo "the keyprovider under $SRV is gone" >&2; exit 1; }
    kill -TERM "$child"
    wait "$SRV" || true
}
round() { # round LABEL: one batch of CLIENTS calls, its summary line appended to LABEL.txt
    "$PY" "$PEER" many "$ADDR" UnWrapKey "$CLIENTS" <unwrap.req 2>>"$1.err" >/dev/null
    tail -1 "$1.err" >>"$1.txt"
}
bench_machine
echo "== $CLIENTS concurrent UnWrapKey calls, $ROUNDS rounds (cold = fresh server, first call attests)"
for r in $(seq "$ROUNDS"); do
    start_server
    round cold
    round warm
    stop_server
    echo "$(cat rss)" >>rss.txt
done
summ() { # summ LABEL
    python3 - "$1" "$1.txt" <<'EOF'
import re, statistics, sys
rows = [list(map(float, re.findall(r"([0-9.]+)(?:/s| ms)", l))) for l in open(sys.argv[2])]
cols = list(zip(*rows))
names = ["req/s", "p50 ms", "p99 ms", "max ms"]
print("%-5s " % sys.argv[1] + "  ".join("%s median %.1f [%.1f..%.1f]" % (n, statistics.median(c), min(c), max(c))
                                         for n, c in zip(names, cols)))
EOF
}
summ cold
summ warm
echo "server peak RSS (KiB): median $(sort -n rss.txt | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'), all: $(tr '\n' ' ' <rss.txt)"
echo "KBS attestations: $(kbs_count "$work/kbs" attest) for $ROUNDS servers"
