#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# coco-img pull from Debian's docker-registry (plain HTTP on 127.0.0.1),
# images built with umoci and pushed with skopeo, rootfs compared with
# `umoci unpack` of the same image: a multi-layer image with --jobs 1 and 3,
# a multi-arch index, a Docker schema2 image, a zstd layer, an encrypted
# image (key file and key-provider callback), a connection dropped mid-blob;
# refusals that leave nothing behind: a tampered blob (first and prefetched
# layer), a diffID mismatch, wrong credentials, cancellation through the
# progress callback; a bounded prefetch budget (--prefetch-max); credentials
# from a docker credential helper (credHelpers).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need docker-registry skopeo umoci jq python3 zstd htpasswd openssl
[ "$(id -u)" -eq 0 ] || skip_all "needs root (owners; umoci without --rootless)"
"$COCO_IMG" pull --help >/dev/null 2>&1 || bail_out "coco-img has no pull command registered"
TOOL="$top_builddir/tests/unit/pull_cancel_tool"
[ -x "$TOOL" ] || bail_out "pull_cancel_tool not built"
V="$OCI_VECTORS"

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
COMPARE="python3 $top_srcdir/tests/integration/tree-compare.py"
CI=$COCO_IMG
SK=--tls-verify=false
plan 74

bg() { # bg CMD...: a helper stopped by PID at exit
    "$@" >"$T/bg.$RANDOM.log" 2>&1 &
    T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
}
nothing_left() { [ ! -e "$1" ] && [ -z "$(ls -d "$1".tmp-* 2>/dev/null)" ]; }
export -f nothing_left

# --- an image with five layers, two of them large (async stages, resume) --
# and one small that inflates to 9 MB (the applier's thread started lazily)
build() {
    set -e
    umoci init --layout img
    umoci new --image img:t
    R=work/rootfs
    # each umoci repack adds one layer on top of the image the bundle came from
    next() { umoci repack --image img:t work >/dev/null; rm -rf work; umoci unpack --image img:t work >/dev/null; }
    umoci unpack --image img:t work >/dev/null
    mkdir -p $R/etc $R/bin $R/data $R/tmp
    echo "root:x:0:0:root:/root:/bin/sh" >$R/etc/passwd
    printf '#!/bin/sh\necho hi\n' >$R/bin/tool; chmod 4755 $R/bin/tool
    chmod 1777 $R/tmp
    ln -s ../etc/passwd $R/bin/pw; ln $R/bin/tool $R/bin/tool2
    next
    head -c 6000000 /dev/urandom >$R/data/big1
    next
    rm $R/etc/passwd; echo new >$R/etc/new
    # a small blob that inflates to 9 MB: its applier thread starts half-way
    head -c 9000000 /dev/zero >$R/data/zeros
    next
    head -c 5000000 /dev/urandom >$R/data/big2; chown 1000:1000 $R/data/big2
    seq 1 200000 >$R/data/text
    next
    rm -rf work
    mkdir -p opq; echo o >opq/o
    umoci insert --image img:t --opaque opq /data >/dev/null
    umoci config --image img:t --config.cmd /bin/tool --config.env A=b >/dev/null
    umoci unpack --image img:t U >/dev/null
    [ "$(jq '.layers | length' img/blobs/sha256/"$(jq -r '.manifests[0].digest' img/index.json | cut -d: -f2)")" = 5 ]
    set +e
}
ok "build a five-layer image with umoci (and umoci unpack it)" build

P1=$(free_port)
start_registry plain "$P1"
R1=127.0.0.1:$P1
ok "skopeo pushes it" skopeo copy -q --dest-tls-verify=false oci:img:t "docker://$R1/test/app:v1"

ok "pull --jobs 3" "$CI" pull $SK --jobs 3 "docker://$R1/test/app:v1" B1
ok "  ... rootfs equals umoci's" $COMPARE B1/rootfs U/rootfs
ok "  ... config.json args/env equal umoci's" \
    bash -c "[ \"\$(jq -c .process.args B1/config.json)\" = \"\$(jq -c .process.args U/config.json)\" ] &&
             jq -e '.process.env | index(\"A=b\")' B1/config.json >/dev/null"
ok "  ... no staged layer files left" bash -c "! ls -a B1 | grep -q '^\\.layer-'"
ok "pull --jobs 1" "$CI" pull $SK --jobs 1 "docker://$R1/test/app:v1" B2
ok "  ... the same tree as --jobs 3" $COMPARE B1/rootfs B2/rootfs
ok "pull --jobs 8 (more jobs than layers), debug log shows prefetching" \
    bash -c "'$CI' --debug pull $SK -j 8 docker://$R1/test/app:v1 B3 2>log3 && grep -q prefetching log3"
ok "  ... the same tree" $COMPARE B1/rootfs B3/rootfs
ok "unpack docker:// --jobs 2 works too" "$CI" unpack $SK --jobs 2 "docker://$R1/test/app:v1" B4
ok "  ... the same tree" $COMPARE B1/rootfs B4/rootfs
fails "pull refuses an oci: source (usage, exit 2)" 2 "$CI" pull oci:img:t B5
ok "  ... with a hint to use unpack" grep -q "coco-img unpack" "$T_TMP/out.$T_NUM"
fails "--jobs 0 is a usage error" 2 "$CI" pull $SK --jobs 0 "docker://$R1/test/app:v1" B5
fails "plain HTTP without --tls-verify=false is refused" 1 "$CI" pull "docker://$R1/test/app:v1" B5
ok "  ... nothing left" nothing_left B5

# --- a multi-arch index, a Docker schema2 image, a zstd layer -------------
fx_multiarch multi latest
ok "push a multi-arch index" skopeo copy -q --all --dest-tls-verify=false oci:multi:latest "docker://$R1/test/multi:latest"
ok "pull --platform linux/arm64 of the index equals umoci's unpack of the arm64 image" \
    bash -c "'$CI' pull $SK --platform linux/arm64 docker://$R1/test/multi:latest M1 &&
             skopeo copy -q --src-tls-verify=false --override-arch arm64 --override-os linux docker://$R1/test/multi:latest oci:m64:v1 &&
             umoci unpack --image m64:v1 M2 >/dev/null && $COMPARE M1/rootfs M2/rootfs &&
             [ \"\$(cat M1/rootfs/etc/arch)\" = arm64 ]"
ok "skopeo pushes a Docker schema2 image" \
    skopeo copy -q --format v2s2 --dest-tls-verify=false oci:img:t "docker://$R1/test/d2:v1"
ok "pull of the schema2 image equals umoci's rootfs" \
    bash -c "'$CI' inspect --raw $SK docker://$R1/test/d2:v1 | jq -e '.mediaType | test(\"docker\")' >/dev/null &&
             '$CI' pull $SK docker://$R1/test/d2:v1 D2 && $COMPARE D2/rootfs U/rootfs"
# every layer recompressed with zstd
zstdify() {
    set -e
    cp -a img zimg
    local m nm i ld nd ln
    m=$(jq -r '.manifests[0].digest' zimg/index.json | cut -d: -f2)
    cp zimg/blobs/sha256/$m man.json
    for i in 0 1 2 3 4; do
        ld=$(jq -r ".layers[$i].digest" man.json | cut -d: -f2)
        zcat zimg/blobs/sha256/$ld | zstd -q -c >layer.zst
        nd=$(sha256sum layer.zst | cut -d' ' -f1); ln=$(stat -c %s layer.zst)
        mv layer.zst zimg/blobs/sha256/$nd
        jq -c --arg d "sha256:$nd" --argjson s "$ln" --argjson i $i \
            '.layers[$i].digest=$d | .layers[$i].size=$s |
             .layers[$i].mediaType="application/vnd.oci.image.layer.v1.tar+zstd"' man.json >man2.json
        mv man2.json man.json
    done
    nm=$(sha256sum man.json | cut -d' ' -f1); mv man.json zimg/blobs/sha256/$nm
    jq -c --arg d "sha256:$nm" --argjson s "$(stat -c %s zimg/blobs/sha256/$nm)" \
        '.manifests[0].digest=$d | .manifests[0].size=$s' zimg/index.json >idx.json
    mv idx.json zimg/index.json
    skopeo copy -q --dest-tls-verify=false oci:zimg:t "docker://$R1/test/zstd:v1"
    skopeo inspect --raw $SK "docker://$R1/test/zstd:v1" |
        jq -e '[.layers[].mediaType] | all(endswith("+zstd"))' >/dev/null
    set +e
}
ok "skopeo pushes the image with every layer zstd-compressed" zstdify
ok "pull of the zstd image equals umoci's rootfs" \
    bash -c "'$CI' pull $SK docker://$R1/test/zstd:v1 Z && $COMPARE Z/rootfs U/rootfs"

# --- encrypted -------------------------------------------------------------
openssl genrsa -out priv.pem 2048 2>/dev/null
openssl rsa -in priv.pem -pubout -out pub.pem 2>/dev/null
ok "coco-img encrypt pushes an encrypted image" \
    "$CI" encrypt --dest-tls-verify=false --recipient jwe:pub.pem oci:img:t "docker://$R1/test/app:enc"
ok "pull --key decrypts it: rootfs equals umoci's of the plain image" \
    bash -c "'$CI' pull $SK --jobs 3 --key priv.pem docker://$R1/test/app:enc E1 && $COMPARE E1/rootfs U/rootfs"
fails "pull without the key: exit 3" 3 "$CI" pull $SK "docker://$R1/test/app:enc" E2
ok "  ... nothing left" nothing_left E2
# --jobs 1 streams every layer: a large one has its digest and its
# decryption (+ HMAC) on threads of their own
ok "pull --jobs 1 --key (every layer streamed): rootfs equals umoci's" \
    bash -c "'$CI' pull $SK --jobs 1 --key priv.pem docker://$R1/test/app:enc E3 && $COMPARE E3/rootfs U/rootfs"
# the encrypted image with one ciphertext byte of its largest layer (6 MB)
# flipped, under a new digest: the blob is intact, its HMAC is not
hmac_tamper() {
    set -e
    skopeo copy -q --src-tls-verify=false "docker://$R1/test/app:enc" oci:hm:v1
    python3 "$top_srcdir/tests/integration/hmac-tamper.py" hm $((4 << 20))
    skopeo copy -q --dest-tls-verify=false oci:hm:v1 "docker://$R1/test/hmac:v1"
    set +e
}
ok "make an encrypted image whose largest layer fails its HMAC" hmac_tamper
fails "pull --jobs 1 of it (the layer streamed): exit 3" 3 \
    "$CI" pull $SK --jobs 1 --key priv.pem "docker://$R1/test/hmac:v1" E4
ok "  ... on the HMAC; nothing left" \
    bash -c "grep -q 'layer HMAC mismatch' '$T_TMP/out.$T_NUM' && nothing_left E4"
fails "pull --jobs 3 of it (the layer prefetched): exit 3" 3 \
    "$CI" pull $SK --jobs 3 --key priv.pem "docker://$R1/test/hmac:v1" E5
ok "  ... on the HMAC; nothing left" \
    bash -c "grep -q 'layer HMAC mismatch' '$T_TMP/out.$T_NUM' && nothing_left E5"
# one byte of the largest encrypted layer changed in the registry's storage
enc_tamper() {
    local d f
    d=$(skopeo inspect --raw --tls-verify=false "docker://$R1/test/app:enc" |
        jq -r '.layers | max_by(.size) | .digest' | cut -d: -f2)
    f=$T/plain/storage/docker/registry/v2/blobs/sha256/${d:0:2}/$d/data
    [ -f "$f" ] && printf 'X' | dd of="$f" bs=1 seek=3000000 conv=notrunc status=none
}
ok "tamper with the largest encrypted layer in the registry's storage" enc_tamper
fails "pull --jobs 1 --key of it (streamed): exit 3" 3 \
    "$CI" pull $SK --jobs 1 --key priv.pem "docker://$R1/test/app:enc" E6
ok "  ... a digest error, not the decryption's; nothing left" \
    bash -c "grep -qi 'digest' '$T_TMP/out.$T_NUM' && ! grep -q 'HMAC' '$T_TMP/out.$T_NUM' && nothing_left E6"
if [ -d "$V/layouts/enc-jwe-rsa" ]; then
    # the shared enc-jwe-rsa vector with its keys moved to provider "test" items
    cp -r "$V/layouts/enc-jwe-rsa" prov
    python3 - prov "$V/expected.json" <<'PY'
import base64, hashlib, json, os, sys
d, exp = sys.argv[1], json.load(open(sys.argv[2]))["enc-jwe-rsa"]
blob = lambda dg: os.path.join(d, "blobs", *dg.split(":"))
ix = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(blob(ix["manifests"][0]["digest"])))
for i, l in enumerate(m["layers"]):
    a = l["annotations"]
    del a["org.opencontainers.image.enc.keys.jwe"]
    a["org.opencontainers.image.enc.keys.provider.test"] = base64.b64encode(
        b"TEST:" + exp[i]["privopts"].encode()).decode()
data = json.dumps(m, separators=(",", ":")).encode()
dg = "sha256:" + hashlib.sha256(data).hexdigest()
open(blob(dg), "wb").write(data)
ix["manifests"][0].update(digest=dg, size=len(data))
json.dump(ix, open(os.path.join(d, "index.json"), "w"))
PY
    ok "key-provider callback: three parallel pulls on one context, --jobs 3 each" \
        bash -c "'$CI' copy --dest-tls-verify=false oci:prov:v1 docker://$R1/test/prov:v1 &&
                 '$TOOL' --insecure --provider --jobs 3 --threads 3 docker://$R1/test/prov:v1 P 2>plog &&
                 grep -c ' 0 unwrap calls' plog | grep -qx 0 &&
                 $COMPARE P-0/rootfs P-1/rootfs && $COMPARE P-0/rootfs P-2/rootfs"
else
    bail_out "no ocicrypt vectors at $V"
fi

# --- cancellation through the progress callback ----------------------------
fails "cancel at the first progress call: COCOIMG_EUSER (15)" 15 \
    "$TOOL" --insecure --jobs 3 --cancel-after 1 "docker://$R1/test/app:v1" C1
ok "  ... nothing left" nothing_left C1
fails "cancel in the middle of a large layer: COCOIMG_EUSER" 15 \
    "$TOOL" --insecure --jobs 3 --cancel-after 8 "docker://$R1/test/app:v1" C2
ok "  ... nothing left" nothing_left C2
ok "progress reaches every layer, on the calling thread, in order" \
    bash -c "'$TOOL' --insecure --jobs 3 docker://$R1/test/app:v1 C3 2>clog && ! grep -q ' 0 progress calls' clog"

# --- a connection dropped mid-blob resumes ---------------------------------
PX=$(free_port)
bg python3 "$top_srcdir/tests/integration/drop-proxy.py" "$PX" "$P1" 1000000 "$T/proxy.log"
wait_port "$PX"
ok "pull through a proxy that cuts a blob download succeeds" \
    bash -c "'$CI' pull $SK docker://127.0.0.1:$PX/test/app:v1 X && $COMPARE X/rootfs U/rootfs"
ok "  ... the connection was cut once and the download resumed with Range" \
    bash -c "grep -q '^CUT' proxy.log && grep -qi '^Range: bytes=[1-9][0-9]*-' proxy.log"

# --- wrong credentials ------------------------------------------------------
htpasswd -Bbn alice 'wonder land' >"$T/htpasswd" 2>/dev/null
P3=$(free_port)
start_registry basic "$P3" "auth:
  htpasswd:
    realm: test
    path: $T/htpasswd"
R3=127.0.0.1:$P3
ok "push with credentials; pull --creds works" \
    bash -c "skopeo copy -q --dest-tls-verify=false --dest-creds 'alice:wonder land' oci:img:t docker://$R3/test/app:v1 &&
             '$CI' pull $SK --creds 'alice:wonder land' docker://$R3/test/app:v1 A1 && $COMPARE A1/rootfs U/rootfs"
fails "wrong credentials: exit 1" 1 "$CI" pull $SK --creds alice:wrong-pw-42 "docker://$R3/test/app:v1" A2
ok "  ... naming the registry and 401, not the password; nothing left" \
    bash -c "grep -q \"registry '$R3'.*401\" '$T_TMP/out.$T_NUM' && ! grep -q wrong-pw-42 '$T_TMP/out.$T_NUM' && nothing_left A2"

# --- refusals: a diffID mismatch, tampered blobs ----------------------------
# a copy of img whose config lists a wrong diffID for layer 3
badcfg() {
    set -e
    cp -a img bad
    local m c nc nm
    m=$(jq -r '.manifests[0].digest' bad/index.json | cut -d: -f2)
    c=$(jq -r '.config.digest' bad/blobs/sha256/$m | cut -d: -f2)
    jq -c '.rootfs.diff_ids[3]="sha256:0000000000000000000000000000000000000000000000000000000000000000"' \
        bad/blobs/sha256/$c >cfg.json
    nc=$(sha256sum cfg.json | cut -d' ' -f1); mv cfg.json bad/blobs/sha256/$nc
    jq -c --arg d "sha256:$nc" --argjson s "$(stat -c %s bad/blobs/sha256/$nc)" \
        '.config.digest=$d | .config.size=$s' bad/blobs/sha256/$m >man.json
    nm=$(sha256sum man.json | cut -d' ' -f1); mv man.json bad/blobs/sha256/$nm
    jq -c --arg d "sha256:$nm" --argjson s "$(stat -c %s bad/blobs/sha256/$nm)" \
        '.manifests[0].digest=$d | .manifests[0].size=$s' bad/index.json >idx.json
    mv idx.json bad/index.json
    "$CI" copy --dest-tls-verify=false oci:bad:t "docker://$R1/test/bad:v1"
    set +e
}
ok "push an image with a wrong diffID" badcfg
fails "diffID mismatch: exit 3" 3 "$CI" pull $SK --jobs 3 "docker://$R1/test/bad:v1" F1
ok "  ... naming the diffID; nothing left" bash -c "grep -q diffID '$T_TMP/out.$T_NUM' && nothing_left F1"

# corrupt one byte of a layer in the registry's storage (same size)
tamper() { # tamper LAYER-INDEX
    local d f
    d=$(jq -r ".layers[$1].digest" img/blobs/sha256/"$(jq -r '.manifests[0].digest' img/index.json | cut -d: -f2)" | cut -d: -f2)
    f=$T/plain/storage/docker/registry/v2/blobs/sha256/${d:0:2}/$d/data
    [ -f "$f" ] && printf 'X' | dd of="$f" bs=1 seek=200 conv=notrunc status=none
}
ok "tamper with layer 3 in the registry's storage" tamper 3
fails "a prefetched tampered blob: exit 3" 3 "$CI" pull $SK --jobs 3 "docker://$R1/test/app:v1" G1
ok "  ... a digest error; no bundle, no staging directory" \
    bash -c "grep -qi digest '$T_TMP/out.$T_NUM' && nothing_left G1"
ok "tamper with layer 0 too" tamper 0
fails "a streamed tampered blob (--jobs 1): exit 3" 3 "$CI" pull $SK --jobs 1 "docker://$R1/test/app:v1" G2
ok "  ... nothing left" nothing_left G2

# --- bounded prefetch (--prefetch-max) --------------------------------------
# a fresh registry: the blobs of the one above are tampered with now
P4=$(free_port)
start_registry bounded "$P4"
R4=127.0.0.1:$P4
ok "push the five-layer image to a fresh registry" \
    skopeo copy -q --dest-tls-verify=false oci:img:t "docker://$R4/test/app:v1"
# staged_peak BUNDLE OUT CMD...: run CMD while polling the bytes of the staged
# layer files in BUNDLE.tmp-*/; OUT gets the largest sum seen
staged_peak() {
    local b=$1 out=$2 rc
    shift 2
    echo 0 >"$out"
    (
        max=0
        while :; do
            s=$(stat -c %s "$b".tmp-*/.layer-* 2>/dev/null | awk '{t += $1} END {print t + 0}')
            [ "$s" -gt "$max" ] && { max=$s; echo "$max" >"$out"; }
            sleep 0.005
        done
    ) &
    local poller=$!
    "$@"
    rc=$?
    kill "$poller"
    wait "$poller" 2>/dev/null
    return $rc
}
export -f staged_peak
# the N of the debug log's "prefetch peak N staged bytes"
peak_of() { sed -n 's/.*prefetch peak \([0-9]*\) staged bytes.*/\1/p' "$1"; }
export -f peak_of
# it must be > 0 and <= the budget, and so must the polled size
peak_within() { # peak_within LOG BUDGET
    local n
    n=$(peak_of "$1")
    echo "# peak $n, budget $2, polled $(cat "$1.polled")"
    [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -le "$2" ] && [ "$(cat "$1.polled")" -le "$2" ]
}
export -f peak_within
B7=$((7 * 1024 * 1024))
# the control depends on scheduling (whether layer 3 arrives before layer 1
# is applied): on a loaded machine one pull may stage them one after the
# other, so it gets three tries; the budgeted pulls below are exact
ok "control: with the default budget layers 1 and 3 are staged together (peak > 7 MiB)" \
    bash -c "for i in 1 2 3; do rm -rf PF0
               '$CI' --debug pull $SK --jobs 4 docker://$R4/test/app:v1 PF0 2>lpf0 || exit 1
               [ \"\$(peak_of lpf0)\" -gt $B7 ] && exit 0
             done; exit 1"
ok "pull --jobs 4 --prefetch-max 7M (one big layer staged at a time)" \
    bash -c "staged_peak PF1 lpf1.polled '$CI' --debug pull $SK --jobs 4 --prefetch-max 7M \
             docker://$R4/test/app:v1 PF1 2>lpf1 && grep -q prefetching lpf1"
ok "  ... the same tree as umoci's" $COMPARE PF1/rootfs U/rootfs
ok "  ... staged bytes never above 7 MiB (debug peak and polled staging dir)" \
    peak_within lpf1 "$B7"
ok "pull --jobs 4 --prefetch-max 100K: big layers are streamed, small ones prefetched" \
    bash -c "staged_peak PF2 lpf2.polled '$CI' --debug pull $SK --jobs 4 --prefetch-max 100K \
             docker://$R4/test/app:v1 PF2 2>lpf2 &&
             grep -q 'layer 1 streamed: larger than the prefetch budget' lpf2 &&
             grep -q 'layer 3 streamed: larger than the prefetch budget' lpf2"
ok "  ... the same tree as umoci's" $COMPARE PF2/rootfs U/rootfs
ok "  ... staged bytes never above 100 KiB" peak_within lpf2 102400
ok "unpack --prefetch-max 1 --jobs 8: everything streamed, the same tree" \
    bash -c "'$CI' --debug unpack $SK --jobs 8 --prefetch-max 1 docker://$R4/test/app:v1 PF3 2>lpf3 &&
             ! grep -q prefetching lpf3 && $COMPARE PF3/rootfs U/rootfs"
fails "--prefetch-max 0 is a usage error" 2 "$CI" pull $SK --prefetch-max 0 "docker://$R4/test/app:v1" PF4
fails "--prefetch-max 1X is a usage error" 2 "$CI" pull $SK --prefetch-max 1X "docker://$R4/test/app:v1" PF4

# --- credentials from a docker credential helper (credHelpers) --------------
mkdir -p "$T/helpers"
cat >"$T/helpers/docker-credential-cocotest" <<EOF
#!/bin/sh
# answers for $R3 only; logs the servers it was asked for
[ "\$1" = get ] || exit 2
server=\$(cat)
echo "\$server" >>"$T/helpers/asked"
if [ "\$server" = "$R3" ]; then
    printf '{"ServerURL":"%s","Username":"alice","Secret":"wonder land"}' "\$server"
else
    echo "credentials not found in native keychain"; exit 1
fi
EOF
chmod 755 "$T/helpers/docker-credential-cocotest"
printf '{"credHelpers":{"%s":"cocotest"}}\n' "$R3" >"$T/helpers.json"
ok "pull from the htpasswd registry with credentials only from a credHelpers entry (--authfile)" \
    bash -c "PATH='$T/helpers':\$PATH '$CI' --debug pull $SK --authfile '$T/helpers.json' \
             docker://$R3/test/app:v1 H1 2>lh1 && $COMPARE H1/rootfs U/rootfs &&
             grep -qx '$R3' '$T/helpers/asked'"
ok "  ... the secret is not in the debug log" bash -c "! grep -q 'wonder land' lh1"
mkdir -p "$XDG_RUNTIME_DIR/containers"
cp "$T/helpers.json" "$XDG_RUNTIME_DIR/containers/auth.json"
ok "  ... and from the default auth.json location" \
    bash -c "PATH='$T/helpers':\$PATH '$CI' pull $SK docker://$R3/test/app:v1 H2 &&
             $COMPARE H2/rootfs U/rootfs"
rm "$XDG_RUNTIME_DIR/containers/auth.json"
printf '#!/bin/sh\ncat >/dev/null\necho "credentials not found in native keychain"\nexit 1\n' \
    >"$T/helpers/docker-credential-nocreds"
chmod 755 "$T/helpers/docker-credential-nocreds"
printf '{"credHelpers":{"%s":"nocreds"}}\n' "$R3" >"$T/other.json"
fails "a helper that has no credentials for the registry (anonymous): 401, exit 1" 1 \
    env PATH="$T/helpers:$PATH" "$CI" pull $SK --authfile "$T/other.json" "docker://$R3/test/app:v1" H3
ok "  ... nothing left" nothing_left H3
printf '{"credHelpers":{"%s":"absent"}}\n' "$R3" >"$T/absent.json"
fails "a credHelpers entry naming a helper not in PATH: exit 4 (not found)" 4 \
    "$CI" pull $SK --authfile "$T/absent.json" "docker://$R3/test/app:v1" H4
ok "  ... naming the helper" grep -q "docker-credential-absent' not found in PATH" "$T_TMP/out.$T_NUM"

done_testing
