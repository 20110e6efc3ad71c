#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Copy benchmark: coco-img copy against skopeo copy, in one run, on the same
# image (four gzip layers: three incompressible, one compressible):
#   oci -> oci                 (and `cp -r` of the layout, the I/O floor)
#   oci -> docker:// (push)    to a loopback docker-registry, emptied before
#                              every run, and a plain curl upload of the same
#                              blobs (POST + a streamed PUT each, all at once:
#                              the registry's ingest rate)
#   docker:// -> oci (pull)    and a plain curl download of the same blobs, all
#                              at once (the registry's serve rate)
#
#   bench/copy.sh [SIZE_MIB]   (default 1024; RUNS=7 WARMUP=1; builds
#                               _build-bench/ once, -O2, no sanitizers;
#                               COCO_IMG=path overrides)
#
# Runs alternate (coco-img, skopeo, curl/cp, coco-img, ...; bench/lib.sh).
# Before a figure is printed, every copy each tool made is checked: the
# manifest digest is the source's and every blob reads back verified
# (coco-img inspect of the copy, skopeo inspect of the registry's).  The
# registry side is reported as a share of curl's rate, and against the CPU
# floor of each tool on all cores: its own CPU plus the registry's during its
# runs (read from /proc), divided by the cores.  For the push this also says
# what 2x skopeo would need against what the registry alone spends.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
SIZE_MIB=${1:-1024}
bench_need skopeo docker-registry curl python3 /usr/bin/time
bench_build
bench_workdir
cd "$BENCH_WORK"

echo "== building a ${SIZE_MIB} MiB image in $BENCH_WORK"
python3 "$top/bench/mkimage.py" img "$SIZE_MIB"
bytes=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])' img.manifest.json)
want=$(skopeo inspect oci:img:v1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
blobs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join(d["digest"] for d in [m["config"]] + m["layers"]))' img.manifest.json)
same_digest() { # same_digest REF WHAT [SKOPEO-ARGS]: REF is the source image, blobs included
    local ref=$1 what=$2
    shift 2
    [ "$(skopeo inspect "$@" "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')" = "$want" ] ||
        { echo "$what: the manifest digest changed" >&2; exit 1; }
}
verify_layout() { # every blob of LAYOUT reads back with its digest
    local d
    for d in $blobs; do
        [ "sha256:$(sha256sum "$1/blobs/sha256/${d#sha256:}" | cut -d' ' -f1)" = "$d" ] ||
            { echo "$1: blob $d does not match" >&2; exit 1; }
    done
}
bench_machine

# --- oci -> oci ---------------------------------------------------------------
oo_coco_prep() { rm -rf coco-oo; }
oo_coco() { bench_step oo-coco "$COCO_IMG" copy oci:img:v1 oci:coco-oo:v1; }
oo_skopeo_prep() { rm -rf skopeo-oo; }
oo_skopeo() { bench_step oo-skopeo skopeo copy -q oci:img:v1 oci:skopeo-oo:v1; }
oo_cp_prep() { rm -rf cp-oo; }
oo_cp() { bench_step oo-cp cp -r img cp-oo; }
echo "== copy oci -> oci: $RUNS alternating runs (+$WARMUP warm-up) of coco-img, skopeo, cp -r"
bench_compare oo_coco oo_skopeo oo_cp
same_digest oci:coco-oo:v1 "coco-img copy"
same_digest oci:skopeo-oo:v1 "skopeo copy"
verify_layout coco-oo
verify_layout skopeo-oo
rm -rf cp-oo skopeo-oo

# --- oci -> docker:// and back ------------------------------------------------
port=$(bench_free_port)
R=127.0.0.1:$port
registry_fresh() { # a registry with nothing in it
    if [ -n "${BENCH_REGISTRY_PID:-}" ]; then
        kill "$BENCH_REGISTRY_PID" 2>/dev/null || true
        wait "$BENCH_REGISTRY_PID" 2>/dev/null || true
    fi
    rm -rf reg.storage
    bench_registry reg "$port"
}
# curl moves every blob at once, each in its own process, as both tools move
# their layers in parallel: the registry's own rate at that concurrency
curl_push1() { # one blob: a POST, then a monolithic PUT of the file
    local d=$1 loc
    loc=$(curl -sS -o /dev/null -w '%header{location}' -X POST "http://$R/v2/curl/img/blobs/uploads/")
    case $loc in http*) ;; *) loc="http://$R$loc" ;; esac
    curl -sS -f -o /dev/null -H 'Content-Type: application/octet-stream' \
        -T "img/blobs/sha256/${d#sha256:}" "$loc&digest=$d"
}
curl_push() { # the blobs, all at once; fails if any upload does
    local d pids=() p rc=0
    for d in $blobs; do
        curl_push1 "$d" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
}
curl_pull() { # the blobs, one GET each, all at once, into files
    local d pids=() p rc=0
    mkdir -p curl-dst
    for d in $blobs; do
        curl -sS -f -o "curl-dst/${d#sha256:}" "http://$R/v2/bench/img/blobs/$d" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
}
push_coco_prep() { registry_fresh; }
push_coco() { bench_server_step "$BENCH_REGISTRY_PID" push-coco "$COCO_IMG" copy --dest-tls-verify=false oci:img:v1 "docker://$R/bench/img:v1"; }
push_skopeo_prep() { registry_fresh; }
push_skopeo() { bench_server_step "$BENCH_REGISTRY_PID" push-skopeo skopeo copy -q --dest-tls-verify=false oci:img:v1 "docker://$R/bench/img:v1"; }
push_curl_prep() { registry_fresh; }
echo "== copy oci -> docker:// (push, empty registry each run): $RUNS alternating runs (+$WARMUP warm-up) of coco-img, skopeo, curl (all blobs at once)"
# bench_step runs a command: the curl loop goes through bash
export R blobs
export -f curl_push1 curl_push curl_pull
push_curl() { bench_server_step "$BENCH_REGISTRY_PID" push-curl bash -c curl_push; }
bench_compare push_coco push_skopeo push_curl
# the last push was curl's: push once more with each tool and check what the registry serves
registry_fresh
"$COCO_IMG" copy --dest-tls-verify=false oci:img:v1 "docker://$R/bench/img:v1"
same_digest "docker://$R/bench/img:v1" "coco-img push" --tls-verify=false
skopeo copy -q --dest-tls-verify=false oci:img:v1 "docker://$R/bench/img:v2"
same_digest "docker://$R/bench/img:v2" "skopeo push" --tls-verify=false
"$COCO_IMG" copy --src-tls-verify=false "docker://$R/bench/img:v2" oci:check:v1
verify_layout check
rm -rf check

pull_coco_prep() { rm -rf coco-po; }
pull_coco() { bench_server_step "$BENCH_REGISTRY_PID" pull-coco "$COCO_IMG" copy --src-tls-verify=false "docker://$R/bench/img:v1" oci:coco-po:v1; }
pull_skopeo_prep() { rm -rf skopeo-po; }
pull_skopeo() { bench_server_step "$BENCH_REGISTRY_PID" pull-skopeo skopeo copy -q --src-tls-verify=false "docker://$R/bench/img:v1" oci:skopeo-po:v1; }
pull_curl_prep() { rm -rf curl-dst; }
pull_curl() { bench_server_step "$BENCH_REGISTRY_PID" pull-curl bash -c curl_pull; }
echo "== copy docker:// -> oci (pull): $RUNS alternating runs (+$WARMUP warm-up) of coco-img, skopeo, curl"
bench_compare pull_coco pull_skopeo pull_curl
same_digest oci:coco-po:v1 "coco-img pull"
same_digest oci:skopeo-po:v1 "skopeo pull"
verify_layout coco-po
verify_layout skopeo-po
echo "copies OK (manifest digests equal the source's, every blob verified)"

echo "== results: $bytes blob bytes ($(bench_machine))"
bench_summary "oci -> oci coco-img" oo_coco "$bytes"
bench_summary "oci -> oci skopeo" oo_skopeo "$bytes"
bench_summary "oci -> oci cp -r (I/O floor)" oo_cp "$bytes"
echo "copy oci -> oci: coco-img vs skopeo $(bench_ratio oo_coco oo_skopeo) (ratio of medians, target >= 3x)"
bench_summary "push coco-img" push_coco "$bytes"
bench_summary "push skopeo" push_skopeo "$bytes"
bench_summary "push curl POST+PUT, parallel (ceiling)" push_curl "$bytes"
bench_summary "pull coco-img" pull_coco "$bytes"
bench_summary "pull skopeo" pull_skopeo "$bytes"
bench_summary "pull curl GET, parallel (ceiling)" pull_curl "$bytes"
for t in push_coco push_skopeo push_curl pull_coco pull_skopeo pull_curl; do
    bench_floor "  $t" $t
done
bench_py "$(bench_median push_curl)" "$(bench_median push_coco)" "$(bench_median pull_curl)" "$(bench_median pull_coco)" \
    "$(bench_ratio push_coco push_skopeo)" "$(bench_ratio pull_coco pull_skopeo)" <<'PY'
pc, po, lc, lo, rpush, rpull = sys.argv[1:]
print(f"copy oci -> docker:// : coco-img vs skopeo {rpush} (target >= 2x); coco-img at "
      f"{100 * float(pc) / float(po):.0f} % of curl's upload rate")
print(f"copy docker:// -> oci : coco-img vs skopeo {rpull} (target >= 2x); coco-img at "
      f"{100 * float(lc) / float(lo):.0f} % of curl's download rate")
PY
# what a 2x push would take, against the registry's own CPU for the same bytes
bench_py "$(bench_median push_skopeo)" "$(bench_side_median push_coco)" "$(nproc)" \
    "$(bench_median push_coco 3)" "$(bench_median push_coco 4)" <<'PY'
sk, reg, cores, u, s = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"push: 2x skopeo needs <= {sk / 2:.3f} s; docker-registry alone used {reg:.2f} CPU-s per coco-img "
      f"push (>= {reg / cores:.3f} s on {cores} cores), with coco-img's {u + s:.2f} s: "
      f">= {(reg + u + s) / cores:.3f} s")
PY
