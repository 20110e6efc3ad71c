# SPDX-License-Identifier: Apache-2.0
# Shared helpers for bench/*.sh.  Source it from a bash script running with
# `set -euo pipefail` after setting top (the source tree):
#
#   . "$top/bench/lib.sh"
#
# Measurement rules (issue 13): the tools being compared run in the same
# script, alternating run by run, the order rotated each round (A B, B A, ...;
# A B C, B C A, C A B, ...), each run preceded by the same
# untimed preparation and a `sync`; WARMUP rounds (default 1) are run and
# discarded; then RUNS rounds (default 7) are recorded.  Each tool is reported
# with its median and spread (min..max and the interquartile range), never
# its best run, and comparisons are ratios of medians.
#
#   RUNS=N WARMUP=N         environment: recorded and discarded rounds
#   bench_build             the -O2 static build without sanitizers in
#                           $top/_build-bench (configured once, made up to date each run; a shared
#                           build there is replaced); sets COCO_IMG and
#                           COCO_KEYPROVIDER unless they are set already
#   bench_workdir           BENCH_WORK: a scratch directory under ${TMPDIR:-/var/tmp},
#                           removed at exit, after the PIDs of bench_on_exit_kill
#   bench_on_exit_kill PID  stop PID and its direct children (by id) when the script exits
#   bench_need CMD...       fail unless every CMD is installed
#   bench_step LABEL CMD... run CMD once (stdin /dev/null, stdout to
#                           $BENCH_DIR/LABEL.out, stderr to LABEL.err), timed with
#                           a monotonic clock, peak RSS, user and system CPU from
#                           /usr/bin/time -f %M; a failing CMD ends the script
#   bench_compare TOOL...   the alternating loop; TOOL is a shell function that
#                           calls bench_step once or more (a run's wall time and
#                           CPU are the sum of its steps, its RSS their maximum);
#                           TOOL_prep, if defined, runs untimed before each run
#   bench_proc_cpu PID      user + system CPU seconds PID has used so far (a server's)
#   bench_server_step PID LABEL CMD...
#                           bench_step, and the CPU the server PID used meanwhile is kept
#                           with the run (bench_side_median TOOL gives its median)
#   bench_floor NAME TOOL   one line: TOOL's CPU floor on all cores, (its CPU + the
#                           server's during the run) / cores, median over the runs, and
#                           TOOL's median wall time as a share of it
#   bench_median TOOL [COL] median of column COL (1 wall s, 2 RSS KiB, 3 user s,
#                           4 sys s; default 1) of TOOL's recorded runs
#   bench_summary NAME TOOL [BYTES]
#                           one line: median wall [min..max, IQR], MB/s of BYTES at
#                           the median, median and max peak RSS, CPU cores used
#   bench_step_summary TOOL LABEL [BYTES]
#                           the same line for one step of TOOL's runs
#   bench_ratio A B         "B/A" of the medians, with the range it can take
#                           between the two spreads (B.min/A.max .. B.max/A.min)
#   bench_openssl_speed ALG MB/s of `openssl speed -evp ALG` on one core (cached)
#   bench_machine           one line: cores, CPU model, kernel, load average,
#                           openssl aes-256-ctr and sha256 MB/s per core
#   bench_py ARGS... <<'PY' python3 with the statistics helpers below defined
#   bench_free_port         a free TCP port on 127.0.0.1
#   bench_wait_port PORT PID LOG
#                           wait until PORT listens (fail, showing LOG, if PID dies)
#   bench_registry NAME PORT [EXTRA]
#                           start docker-registry on 127.0.0.1:PORT with its storage in
#                           $BENCH_WORK/NAME.storage (EXTRA: more YAML under http:);
#                           stopped at exit; BENCH_REGISTRY_PID gets its PID
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "WARMUP must be a non-negative integer" >&2; exit 2; }

BENCH_WORK=
BENCH_DIR=
BENCH_PIDS=()
BENCH_CUR=

bench_need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "$t is needed" >&2; exit 1; }
    done
}

bench_build() {
    local bb="$top/_build-bench"
    if [ -z "${COCO_IMG:-}" ] || [ -z "${COCO_KEYPROVIDER:-}" ]; then
        # static: a shared build runs each program through libtool's wrapper
        # script, which adds a bash start-up (~10 ms here) to every timed run
        if [ -e "$bb/coco-img" ] && [ "$(head -c 4 "$bb/coco-img" | od -An -c | tr -d ' ')" != 177ELF ]; then
            echo "== $bb is a shared build (libtool wrappers): rebuilding it static" >&2
            rm -rf "$bb"
        fi
        if [ ! -x "$bb/coco-img" ] || [ ! -x "$bb/coco-keyprovider" ]; then
            (cd "$top" && mkdir -p m4 && { [ -x configure ] || autoreconf -fi >/dev/null; }) &&
                mkdir -p "$bb" &&
                (cd "$bb" && "$top/configure" -q --disable-shared CFLAGS="-O2 -g" &&
                    make -j"$(nproc)" >/dev/null) ||
                { echo "building $bb failed" >&2; exit 1; }
        else
            # an existing build is brought up to date: never time stale code
            (cd "$bb" && make -j"$(nproc)" >/dev/null) || { echo "building $bb failed" >&2; exit 1; }
        fi
    fi
    COCO_IMG=${COCO_IMG:-$bb/coco-img}
    COCO_KEYPROVIDER=${COCO_KEYPROVIDER:-$bb/coco-keyprovider}
}

bench__cleanup() {
    local p c
    for p in "${BENCH_PIDS[@]}"; do
        # a wrapper's (/usr/bin/time's) children first: TERM to the wrapper would orphan them
        for c in $(pgrep -P "$p" 2>/dev/null); do kill "$c" 2>/dev/null || true; done
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [ -n "$BENCH_WORK" ] && rm -rf "$BENCH_WORK"
    return 0
}

bench_on_exit_kill() { BENCH_PIDS+=("$1"); }

bench_workdir() {
    BENCH_WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cocoimg-bench.XXXXXX")
    BENCH_DIR=$BENCH_WORK/.bench
    mkdir -p "$BENCH_DIR"
    trap bench__cleanup EXIT
    trap 'exit 130' INT TERM
    # the timer: the monotonic clock is read in-process around the child, so
    # the interpreter's start-up is not counted; /usr/bin/time gives the rusage
    cat >"$BENCH_DIR/timer.py" <<'PY'
import subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
with open(out + ".out", "wb") as o, open(out + ".err", "wb") as e:
    t0 = time.monotonic()
    rc = subprocess.call(["/usr/bin/time", "-f", "%M %U %S", "-o", out + ".rusage"] + cmd,
                         stdin=subprocess.DEVNULL, stdout=o, stderr=e)
    t1 = time.monotonic()
with open(out + ".wall", "w") as f:
    f.write(f"{t1 - t0:.6f}\n")
sys.exit(rc)
PY
}

bench_step() {
    local label=$1 rss user sys wall
    shift
    [ -n "$BENCH_DIR" ] || { echo "bench_step: no bench_workdir" >&2; exit 1; }
    if ! python3 "$BENCH_DIR/timer.py" "$BENCH_DIR/$label" "$@"; then
        echo "$label failed: $*" >&2
        tail -20 "$BENCH_DIR/$label.err" >&2
        exit 1
    fi
    read -r rss user sys <"$BENCH_DIR/$label.rusage"
    read -r wall <"$BENCH_DIR/$label.wall"
    [ -n "$BENCH_CUR" ] && echo "$wall $rss $user $sys $label" >>"$BENCH_CUR"
    return 0
}

bench_proc_cpu() {
    # fields 14 and 15 of /proc/PID/stat (after the parenthesised name), in clock ticks
    local f
    f=$(sed 's/^.*) //' "/proc/$1/stat") || { echo "bench_proc_cpu: no process $1" >&2; exit 1; }
    echo "$f" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($12 + $13) / hz}'
}

bench_server_step() {
    local pid=$1 c0 c1
    shift
    c0=$(bench_proc_cpu "$pid")
    bench_step "$@"
    c1=$(bench_proc_cpu "$pid")
    awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f\n", b - a}' >>"$BENCH_DIR/cur.side"
}

bench_side_median() {
    bench_py "$BENCH_DIR/$1.side" <<'PY'
print(f"{med([float(l) for l in open(sys.argv[1])]):.2f}")
PY
}

bench_floor() {
    bench_py "$1" "$BENCH_DIR/$2.runs" "$BENCH_DIR/$2.side" "$(nproc)" <<'PY'
name, runs, side, cores = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
w, rss, u, s = load(runs)
srv = [float(l) for l in open(side)]
floor = med([(a + b + c) / cores for a, b, c in zip(u, s, srv)])
print(f"{name}: CPU floor on {cores} cores (its CPU {med([a + b for a, b in zip(u, s)]):.2f} s + the "
      f"server's {med(srv):.2f} s) / {cores} = {floor:.3f} s; its median {med(w):.3f} s is at "
      f"{100 * floor / med(w):.0f} % of it")
PY
}

bench_compare() {
    local r t
    [ -n "$BENCH_DIR" ] || { echo "bench_compare: no bench_workdir" >&2; exit 1; }
    for t in "$@"; do
        declare -F "$t" >/dev/null || { echo "bench_compare: no function $t" >&2; exit 1; }
        : >"$BENCH_DIR/$t.runs"
        : >"$BENCH_DIR/$t.steps"
    done
    # the order rotates each round (A B C, B C A, C A B, ...), so that no tool
    # always runs right after the same one: the state a heavy run leaves
    # (page cache, memory the VM handed back to the host) weighs on whichever
    # tool follows it
    local tools=("$@") n=$# i
    for ((r = 1 - WARMUP; r <= RUNS; r++)); do
        for ((i = 0; i < n; i++)); do
            t=${tools[$(((i + r - 1 + WARMUP) % n))]}
            if declare -F "${t}_prep" >/dev/null; then "${t}_prep"; fi
            sync
            BENCH_CUR=$BENCH_DIR/cur
            : >"$BENCH_CUR"
            : >"$BENCH_DIR/cur.side"
            "$t"
            BENCH_CUR=
            [ -s "$BENCH_DIR/cur" ] || { echo "bench_compare: $t timed no step" >&2; exit 1; }
            local line
            line=$(awk '{w += $1; u += $3; s += $4; if ($2 > m) m = $2}
                        END {printf "%.6f %d %.2f %.2f", w, m, u, s}' "$BENCH_DIR/cur")
            if [ "$r" -ge 1 ]; then
                echo "$line" >>"$BENCH_DIR/$t.runs"
                awk '{s += $1} END {printf "%.2f\n", s}' "$BENCH_DIR/cur.side" >>"$BENCH_DIR/$t.side"
                cat "$BENCH_DIR/cur" >>"$BENCH_DIR/$t.steps"
                printf '   run %d/%d %-14s %8.3f s\n' "$r" "$RUNS" "$t" "${line%% *}" >&2
            else
                printf '   warm-up %-12s %8.3f s (discarded)\n' "$t" "${line%% *}" >&2
            fi
        done
    done
}

# statistics for the python3 snippets: median, quartiles (inclusive method),
# the summary line
BENCH_PY_LIB='
import statistics, sys
def med(v): return statistics.median(v)
def iqr(v):
    if len(v) < 2: return v[0], v[0]
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], q[2]
def load(path, label=None):
    rows = []
    for line in open(path):
        f = line.split()
        if label is None or f[4] == label:
            rows.append([float(x) for x in f[:4]])
    if not rows: sys.exit(f"no runs recorded in {path}")
    return [list(c) for c in zip(*rows)]
def line(name, cols, nbytes):
    w, rss, u, s = cols
    m = med(w); q1, q3 = iqr(w)
    rate = f"{nbytes / m / 1e6:7.0f} MB/s" if nbytes else ""
    cpu = med([(a + b) / c for a, b, c in zip(u, s, w)])
    return (f"{name:34} median {m:7.3f} s [{min(w):.3f}..{max(w):.3f}, IQR {q1:.3f}..{q3:.3f}] "
            f"{rate}  RSS {med(rss) / 1024:.0f} MiB (max {max(rss) / 1024:.0f})  CPU {cpu:.2f} cores"
            f"  n={len(w)}")
'
bench_py() { python3 -c "$BENCH_PY_LIB
$(cat)" "$@"; }

bench_median() {
    bench_py "$BENCH_DIR/$1.runs" "${2:-1}" <<'PY'
print(f"{med(load(sys.argv[1])[int(sys.argv[2]) - 1]):.6f}")
PY
}

bench_summary() {
    bench_py "$1" "$BENCH_DIR/$2.runs" "${3:-0}" <<'PY'
print(line(sys.argv[1], load(sys.argv[2]), int(sys.argv[3])))
PY
}

bench_step_summary() {
    bench_py "$1" "$BENCH_DIR/$2.steps" "$3" "${4:-0}" <<'PY'
print(line(sys.argv[1], load(sys.argv[2], sys.argv[3]), int(sys.argv[4])))
PY
}

bench_ratio() {
    bench_py "$BENCH_DIR/$1.runs" "$BENCH_DIR/$2.runs" <<'PY'
a, b = load(sys.argv[1])[0], load(sys.argv[2])[0]
print(f"{med(b) / med(a):.2f}x (range {min(b) / max(a):.2f}..{max(b) / min(a):.2f})")
PY
}

bench_openssl_speed() {
    local alg=$1 f
    f="$BENCH_DIR/speed.$alg"
    if [ ! -s "$f" ]; then
        openssl speed -seconds 2 -bytes 1048576 -evp "$alg" 2>/dev/null |
            awk -v a="$alg" 'tolower($1) == tolower(a) {v = $NF; sub(/k$/, "", v); printf "%.0f\n", v * 1000 / 1e6}' >"$f"
        [ -s "$f" ] || { echo "openssl speed $alg failed" >&2; exit 1; }
    fi
    cat "$f"
}

bench_machine() {
    local model
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    echo "machine: $(nproc) cores ($model), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg);" \
        "openssl one core: aes-256-ctr $(bench_openssl_speed aes-256-ctr) MB/s, sha256 $(bench_openssl_speed sha256) MB/s;" \
        "$(date -u '+%Y-%m-%d %H:%M UTC')$(bench__reporting &&
            echo "; virtio-balloon free page reporting on (writes to returned pages cost host faults)")"
}

# Free page reporting (virtio-balloon, bit 5 of the device's features): a
# guest page left free for a while is handed back to the host, and the next
# write to it waits for the host to fault a zeroed page in (about 2 s per GiB
# on the Firecracker VMs this was written on: sys time in
# copy_folio_from_iter_atomic, 44 % of a slow encrypt's profile).  Which
# runs' page-cache writes land on such pages depends on the kernel's free
# lists, not on the tool: on 2026-12-07 one coco-img encrypt took 0.87 s or
# 1.79 s (sys 0.3 s or 1.9 s) from the same state, and so did `cp -r`.
# Touching and freeing memory before each run made it worse (the freed pages
# are reported at once), so nothing is done about it but to say so in the
# machine line: read the spread, not only the median, on such a machine.
bench__reporting() {
    local d
    for d in /sys/bus/virtio/devices/*; do
        [ "$(cat "$d/device" 2>/dev/null)" = 0x0005 ] || continue
        [ "$(cut -c6 "$d/features" 2>/dev/null)" = 1 ] && return 0
    done
    return 1
}

bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_wait_port() {
    local _
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "nothing listens on $1:" >&2
    cat "$3" >&2
    exit 1
}

bench_registry() {
    local name=$1 port=$2 extra=${3:-}
    cat >"$BENCH_WORK/$name.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $BENCH_WORK/$name.storage
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
$extra
YML
    docker-registry serve "$BENCH_WORK/$name.yml" >"$BENCH_WORK/$name.log" 2>&1 &
    BENCH_REGISTRY_PID=$!
    bench_on_exit_kill $BENCH_REGISTRY_PID
    bench_wait_port "$port" $BENCH_REGISTRY_PID "$BENCH_WORK/$name.log"
}
