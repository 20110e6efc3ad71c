#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# KBS client under load: CLIENTS concurrent `coco-img get-resource` processes
# (each one attests with the sample attester and fetches one resource) against
# the test KBS (tests/kbs/kbs.py, Python, HTTPS with a test CA made here).
#
#   bench/kbs.sh [CLIENTS]   (default 64; RUNS=7 WARMUP=1 rounds; builds
#                             _build-bench/ once, -O2; COCO_IMG=path overrides)
#
# A round starts all CLIENTS at once and waits for the last; each client's
# latency is its own start-to-exit time (monotonic clock) and its peak RSS
# comes from /usr/bin/time -f %M.  Every client's output must equal the
# resource and the KBS must log one attestation per client, else no figure is
# printed.  Printed: the machine, per round attestations/s (CLIENTS / the
# round's wall time), p50 and p99 latency; their medians and min..max over the
# rounds, p50/p99 over all latencies pooled, and the clients' peak RSS.  There
# is no peer tool: the KBS here is the Python test double, so the figure is
# the client and that server together, not trustee's KBS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
CLIENTS=${1:-64}
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || { echo "CLIENTS must be a positive integer" >&2; exit 2; }
bench_need python3 openssl /usr/bin/time
bench_build
bench_workdir
cd "$BENCH_WORK"

# shellcheck disable=SC2034 # read by tests/kbs/kbs-fixtures.sh
T=$BENCH_WORK
top_srcdir=$top
T_CLEANUP=
. "$top/tests/kbs/kbs-fixtures.sh"
[ -n "$KBS_PY" ] || { echo "python3-cryptography is needed (tests/kbs/kbs.py)" >&2; exit 1; }
kbs_make_ca ca || { echo "cannot make the test CA" >&2; exit 1; }
mkdir -p res/default/key
head -c 32 /dev/urandom >res/default/key/bench
# the KBS's log lines are counted per round; a server with no policy file
# allows every resource
kbs_start "$BENCH_WORK/kbs" --resources "$BENCH_WORK/res" --cert ca/srv.crt --key ca/srv.key
bench_on_exit_kill "$KBS_PID"
bench_machine
echo "== $CLIENTS concurrent get-resource clients against https://127.0.0.1:$KBS_PORT," \
    "$RUNS rounds (+$WARMUP warm-up)"

for ((r = 1 - WARMUP; r <= RUNS; r++)); do
    before=$(kbs_count "$BENCH_WORK/kbs" 'POST /kbs/v0/attest 200')
    sync
    bench_py "$COCO_IMG" "$CLIENTS" "$BENCH_WORK" "$KBS_PORT" "$r" <<'PY' >>"$BENCH_DIR/rounds.$((r >= 1))"
import os, subprocess, threading, time
coco, n, work, port, rnd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
want = open(f"{work}/res/default/key/bench", "rb").read()
lat, rss, bad = [0.0] * n, [0] * n, []
go = threading.Barrier(n + 1)
def client(i):
    tf = f"{work}/.bench/kbs.{i}.time"
    go.wait()
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf, coco, "get-resource",
                        "--attester", "sample", "--kbs-url", f"https://127.0.0.1:{port}",
                        "--kbs-cert", f"{work}/ca/ca.crt", "kbs:///default/key/bench"],
                       stdin=subprocess.DEVNULL, capture_output=True)
    lat[i] = time.monotonic() - t0
    if p.returncode != 0 or p.stdout != want:
        bad.append(f"client {i}: exit {p.returncode}: {p.stderr.decode(errors='replace')[-300:]}")
    else:
        rss[i] = int(open(tf).read().split()[-1])
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
go.wait()
t0 = time.monotonic()
for t in threads: t.join()
wall = time.monotonic() - t0
if bad:
    sys.exit(f"round {rnd}: {len(bad)} of {n} clients failed; first: {bad[0]}")
s = sorted(lat)
pct = lambda q: s[min(n - 1, max(0, -(-q * n // 100) - 1))]  # nearest rank
print(f"{wall:.6f} {n / wall:.2f} {pct(50):.6f} {pct(99):.6f} {max(rss)} " + " ".join(f"{x:.6f}" for x in lat))
print(f"   round {rnd}: {n / wall:.1f} attestations/s, p50 {1000 * pct(50):.0f} ms, "
      f"p99 {1000 * pct(99):.0f} ms, wall {wall:.3f} s", file=sys.stderr)
PY
    after=$(kbs_count "$BENCH_WORK/kbs" 'POST /kbs/v0/attest 200')
    [ $((after - before)) -eq "$CLIENTS" ] ||
        { echo "round $r: the KBS logged $((after - before)) attestations for $CLIENTS clients" >&2; exit 1; }
done
echo "every client got the resource; the KBS logged one attestation per client"

echo "== results ($(bench_machine))"
bench_py "$BENCH_DIR/rounds.1" "$CLIENTS" <<'PY'
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
def col(i): return [float(r[i]) for r in rows]
def show(name, v, unit, scale=1):
    q1, q3 = iqr(v)
    return (f"{name} median {scale * med(v):.1f}{unit} [{scale * min(v):.1f}..{scale * max(v):.1f}, "
            f"IQR {scale * q1:.1f}..{scale * q3:.1f}]")
print(f"{n} clients, {len(rows)} rounds: " + "; ".join(
    [show("attestations/s", col(1), "/s"), show("p50", col(2), " ms", 1000),
     show("p99", col(3), " ms", 1000)]))
pooled = sorted(float(x) for r in rows for x in r[5:])
k = len(pooled)
pct = lambda q: pooled[min(k - 1, max(0, -(-q * k // 100) - 1))]
rss = col(4)
print(f"all {k} latencies pooled: p50 {1000 * pct(50):.0f} ms, p99 {1000 * pct(99):.0f} ms, "
      f"max {1000 * pooled[-1]:.0f} ms; client peak RSS max {max(rss) / 1024:.1f} MiB")
PY
