#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A hostile registry (tests/integration/hostile-registry.py) against the
# registry client and coco-img: credentials never go to a plain-http token
# realm elsewhere nor to an upload Location on another host, a TLS-verified
# registry cannot send us to a plain-http realm, a token with CR/LF is
# refused, and a registry that stalls after the headers makes copy / pull
# fail within bounded time, while a stall followed by a good resumed answer
# (206, or 200 from the start) succeeds.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"

RT="$top_builddir/tests/unit/registry_tool"
HR="$top_srcdir/tests/integration/hostile-registry.py"
[ -x "$RT" ] || bail_out "registry_tool not built"
command -v openssl >/dev/null || bail_out "openssl is needed"

T=$T_TMP
export HOME=$T/home XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
unset REGISTRY_AUTH_FILE COCOIMG_REGISTRY_STALL_TIMEOUT
LOG=$T/log
: >"$LOG"

# serve PORT MODE OTHER_PORT: a hostile registry, stopped by PID at exit
serve() {
    python3 "$HR" "$1" "$2" "$LOG" "$3" >"$T/srv.$1.log" 2>&1 &
    T_CLEANUP="$T_CLEANUP kill $! 2>/dev/null;"
    wait_port "$1"
}
# seen PORT REGEX: a logged request on PORT matches
seen() { grep -E -q "^$1 $2" "$LOG"; }
BASIC="Basic $(printf 'alice:s3cret-pw' | base64)"
# within SECONDS CMD...: CMD ends (any status) within SECONDS; its status is kept in $T/rc
within() {
    local lim=$1 t0 rc
    shift
    t0=$(date +%s)
    timeout 120 "$@"
    rc=$?
    echo "$rc" >"$T/rc"
    local el=$(($(date +%s) - t0))
    echo "# took ${el}s, exit $rc"
    [ "$el" -le "$lim" ]
}

plan 21

# --- Bearer realm ---------------------------------------------------------
P1=$(free_port) P2=$(free_port)
serve "$P1" realm-other "$P2"
serve "$P2" token 0
ok "plain-http realm on another port: anonymous token, no credentials sent there" \
    sh -c "'$RT' --tls-verify=false --creds alice:s3cret-pw get-manifest 127.0.0.1:$P1/test/app:v1 >/dev/null"
ok "  ... the token server saw requests, none with the Basic credentials" \
    sh -c "grep -q '^$P2 GET /token' '$LOG' && ! grep -q '^$P2 .*Basic' '$LOG'"
P3=$(free_port)
serve "$P3" realm-same 0
ok "plain-http realm on the insecure registry's own host:port gets the credentials" \
    sh -c "'$RT' --tls-verify=false --creds alice:s3cret-pw get-manifest 127.0.0.1:$P3/test/app:v1 >/dev/null && grep -q '^$P3 GET /token?service=hostile&scope=.* $BASIC\$' '$LOG'"

# a TLS-verified registry naming a plain-http realm
make_test_ca "$T/ca"
mkdir -p "$T/certs"
cp "$T/ca/ca.crt" "$T/certs/ca.crt"
P4=$(free_port) P5=$(free_port)
HOSTILE_TLS="$T/ca/srv.crt:$T/ca/srv.key" serve "$P4" realm-other "$P5"
serve "$P5" token 0
fails "TLS-verified registry: a plain-http realm is refused (EHTTP)" 13 \
    "$RT" --cert-dir "$T/certs" --creds alice:s3cret-pw get-manifest "127.0.0.1:$P4/test/app:v1"
ok "  ... with a message naming it" sh -c "grep -q 'plain-http token realm' '$T_TMP/out.$T_NUM'"
ok "  ... and the realm was never asked" sh -c "! grep -q '^$P5 ' '$LOG'"
ok "  ... the TLS registry itself was reached (the test can fail)" sh -c "grep -q '^$P4 GET /v2/ ' '$LOG'"

# --- token with CR/LF -----------------------------------------------------
P6=$(free_port)
serve "$P6" realm-crlf 0
fails "a token with CR/LF is refused (EFORMAT)" 7 \
    "$RT" --tls-verify=false get-manifest "127.0.0.1:$P6/test/app:v1"
ok "  ... no message shows the token, no header was injected" \
    sh -c "! grep -q 'tok-ok' '$T_TMP/out.$T_NUM' && ! grep -q 'INJECTED' '$LOG' && grep -q '^$P6 GET /token' '$LOG'"

# --- upload Location ------------------------------------------------------
head -c 5000 /dev/urandom >"$T/blob"
P7=$(free_port) P8=$(free_port)
serve "$P7" upload-other "$P8"
serve "$P8" sink 0
ok "upload whose Location is on another host:port" \
    "$RT" --tls-verify=false --creds alice:s3cret-pw push-blob "127.0.0.1:$P7/test/app" "$T/blob"
ok "  ... the other host got the PUT without Authorization" \
    sh -c "grep -q '^$P8 PUT /upload/1?digest=sha256' '$LOG' && ! grep -q '^$P8 .*Basic' '$LOG' && grep -qF '$P7 POST /v2/test/app/blobs/uploads/ $BASIC' '$LOG'"
P9=$(free_port)
serve "$P9" upload-same 0
ok "a relative Location on the registry keeps the credentials" \
    sh -c "'$RT' --tls-verify=false --creds alice:s3cret-pw push-blob 127.0.0.1:$P9/test/app '$T/blob' && grep -qF '$P9 PUT /upload/1?digest=sha256' '$LOG' && grep -F '$P9 PUT /upload/1' '$LOG' | grep -qF '$BASIC'"

# --- stalls ---------------------------------------------------------------
PS=$(free_port)
serve "$PS" stall 0
read -r LD LS <"$LOG.$PS.info"
export COCOIMG_REGISTRY_STALL_TIMEOUT=1
ok "get-blob from a registry that always stalls fails within bounded time" \
    within 40 "$RT" --tls-verify=false --stall-timeout 1 --retries 1 get-blob "127.0.0.1:$PS/test/app" "$LD" "$LS"
ok "  ... with ENET and a clear message, after resumed (Range) attempts" \
    sh -c "[ \$(cat '$T/rc') = 12 ] && grep -q 'stalled: no data for 1 s' '$T_TMP/out.$T_NUM' && grep -q 'gave up after 5 resumed' '$T_TMP/out.$T_NUM' && [ \$(grep -c '^$PS GET /v2/test/app/blobs/$LD' '$LOG') -ge 3 ]"
ok "coco-img copy from a stalling registry fails within bounded time" \
    within 40 "$COCO_IMG" copy --src-tls-verify=false "docker://127.0.0.1:$PS/test/app:v1" "oci:$T/copy1:v1"
ok "  ... exit 1, stalled" sh -c "[ \$(cat '$T/rc') = 1 ] && grep -q 'stalled' '$T_TMP/out.$T_NUM'"
ok "coco-img pull from a stalling registry fails within bounded time, no bundle" \
    sh -c "t0=\$(date +%s); timeout 120 '$COCO_IMG' pull --tls-verify=false docker://127.0.0.1:$PS/test/app:v1 '$T/bundle1'; rc=\$?; el=\$((\$(date +%s) - t0)); echo \"# \${el}s exit \$rc\"; [ \$rc = 1 ] && [ \$el -le 40 ] && [ ! -e '$T/bundle1/rootfs/big' ]"

PO=$(free_port)
serve "$PO" stall-once 0
ok "a stall, then a good resumed 206 answer: get-blob succeeds" \
    sh -c "'$RT' --tls-verify=false --stall-timeout 1 get-blob 127.0.0.1:$PO/test/app $LD $LS >'$T/l.206' && [ sha256:\$(sha256sum <'$T/l.206' | cut -d' ' -f1) = $LD ] && [ \$(grep -c '^$PO GET /v2/test/app/blobs/$LD' '$LOG') = 2 ]"
PO2=$(free_port)
serve "$PO2" stall-once 0
ok "a stall, then a good resumed answer: coco-img copy succeeds" \
    sh -c "'$COCO_IMG' copy --src-tls-verify=false docker://127.0.0.1:$PO2/test/app:v1 oci:'$T/copy2':v1 && cmp '$T/copy2/blobs/sha256/${LD#sha256:}' '$T/l.206'"
P200=$(free_port)
serve "$P200" stall-once-200 0
ok "a stall, then a 200 answer to the Range request: no duplicated bytes" \
    sh -c "'$RT' --tls-verify=false --stall-timeout 1 get-blob 127.0.0.1:$P200/test/app $LD $LS >'$T/l.200' && cmp '$T/l.200' '$T/l.206'"
PO3=$(free_port)
serve "$PO3" stall-once-200 0
ok "a stall, then a good resumed answer: coco-img pull succeeds" \
    sh -c "'$COCO_IMG' pull --tls-verify=false docker://127.0.0.1:$PO3/test/app:v1 '$T/bundle2' && [ \$(stat -c %s '$T/bundle2/rootfs/big') = 600000 ]"
done_testing
