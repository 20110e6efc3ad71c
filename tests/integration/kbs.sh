#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The KBS client end to end against the test KBS (tests/kbs/kbs.py, written
# from the spec) over HTTPS with a test CA made here: get-resource and
# attest through the CLI, several resources on one client through
# tests/unit/kbs_tool (one attestation for all, session and token expiry,
# re-attestation only for token errors), and every refusal: denied by
# policy, evidence rejected, another protocol version, KBS down or hung,
# corrupt JWE, plain http without the flag, untrusted certificate.  A
# refusal must exit non-zero with the KBS's answer and write nothing.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/kbs/kbs-fixtures.sh"

TOOL="$top_builddir/tests/unit/kbs_tool"
VEC="$top_srcdir/tests/vectors/coco"
command -v openssl >/dev/null || skip_all "openssl not installed"
command -v jq >/dev/null || skip_all "jq not installed"
[ -n "$KBS_PY" ] || skip_all "python3-cryptography not installed"
[ -x "$TOOL" ] || bail_out "kbs_tool not built"
[ -f "$VEC/kbs/05-resource-response-ecdh-es-a256kw-p256.json" ] || bail_out "no vectors in $VEC"
HAVE_JWCRYPTO=0
"$KBS_PY" -c 'import jwcrypto' 2>/dev/null && HAVE_JWCRYPTO=1

T=$T_TMP
plan 64

kbs_make_ca "$T/ca" || bail_out "cannot make the test CA"
kbs_make_ca "$T/other-ca" || bail_out "cannot make a second CA"
mkdir -p "$T/res/default/key" "$T/res/default/data"
printf 'hello secret\n' >"$T/res/default/key/one"
head -c 32 /dev/urandom >"$T/res/default/key/two"
head -c 100000 /dev/urandom >"$T/res/default/data/big"
for r in denied corrupt; do echo "$r" >"$T/res/default/key/$r"; done
POL=$T/policy.json
policy() { printf '%s\n' "$1" >"$POL"; }
policy '{"deny": ["default/key/denied"]}'

kbs_start "$T/kbs" --resources "$T/res" --policy "$POL" --cert "$T/ca/srv.crt" \
    --key "$T/ca/srv.key" || bail_out "the test KBS did not start"
URL=https://127.0.0.1:$KBS_PORT
K=(--kbs-url "$URL" --kbs-cert "$T/ca/ca.crt")
# attestations and resource answers in the KBS log since the last mark
mark() { MARK=$(wc -l <"$T/kbs/log"); }
since() { tail -n +$((MARK + 1)) "$T/kbs/log" | grep -cE "$1" || true; }
nothing_written() { [ ! -s "$T/stdout" ] && [ ! -e "$T/out.bin" ]; }
getres() { # getres ARGS...: get-resource, stdout to $T/stdout, stderr to $T/stderr
    rm -f "$T/out.bin"
    "$COCO_IMG" get-resource "$@" >"$T/stdout" 2>"$T/stderr"
}

# --- the test KBS itself (independent of the C client) --------------------
if [ $HAVE_JWCRYPTO = 1 ]; then
    ok "test KBS: JCS, report_data and JWE vectors (jwcrypto decrypts)" \
        "$KBS_PY" "$top_srcdir/tests/kbs/selftest.py" "$VEC"
    ok "test KBS: one RCAR round in Python with the TEST-ONLY key (jwcrypto decrypts)" \
        "$KBS_PY" "$top_srcdir/tests/kbs/selftest.py" "$VEC" "$URL" "$T/ca/ca.crt" \
        default/key/one "$T/res/default/key/one"
else
    bail_out "python3-jwcrypto not installed (scripts/setup-deps.sh)"
fi

# --- get-resource ---------------------------------------------------------
mark
ok "get-resource writes the resource to stdout" \
    sh -c "'$COCO_IMG' get-resource --attester sample ${K[*]} kbs:///default/key/one >'$T/got' &&
           cmp '$T/got' '$T/res/default/key/one'"
ok "  ... after one auth, one attest and one resource GET with the session cookie" \
    test "$(since 'POST /kbs/v0/auth 200')$(since 'POST /kbs/v0/attest 200')$(since 'GET /kbs/v0/resource/default/key/one 200 - cookie')" = 111
ok "get-resource --output: binary resource, file mode 0600" \
    sh -c "'$COCO_IMG' get-resource --attester sample ${K[*]} -o '$T/two' kbs:///default/key/two &&
           cmp '$T/two' '$T/res/default/key/two' && [ \$(stat -c %a '$T/two') = 600 ]"
ok "a 100 kB resource" \
    sh -c "'$COCO_IMG' get-resource --attester sample ${K[*]} kbs:///default/data/big | cmp - '$T/res/default/data/big'"
ok "kbs://HOST:PORT/... : the authority is ignored, --kbs-url is used" \
    sh -c "'$COCO_IMG' get-resource --attester sample ${K[*]} kbs://kbs.invalid:1/default/key/one | cmp - '$T/res/default/key/one'"
ok "default attester: auto falls back to sample and says so on stderr" \
    sh -c "'$COCO_IMG' get-resource ${K[*]} kbs:///default/key/one 2>'$T/auto.err' >/dev/null &&
           grep -q 'no TEE detected.*using the sample attester' '$T/auto.err'"
ok "attest prints the token claims with the TEE key" \
    sh -c "'$COCO_IMG' attest --attester sample ${K[*]} >'$T/claims.json' &&
           jq -e '.submods.cpu0.\"ear.veraison.annotated-evidence\".runtime_data_claims.\"tee-pubkey\" |
                  (keys == [\"alg\",\"crv\",\"kty\",\"x\",\"y\"]) and .crv == \"P-256\"' '$T/claims.json'"
ok "  ... and the sample evidence the KBS verified" \
    jq -e '.submods.cpu0."ear.veraison.annotated-evidence".sample.svn == "1" and .exp > .iat' "$T/claims.json"
ok "the client never sends another cookie than kbs-session-id" \
    sh -c "! grep -q decoy-cookie '$T/kbs/log'"

# --- refusals: a clear error, non-zero exit, nothing written ----------------
echo keep >"$T/keep"
mark
fails "denied by the KBS policy: exit 3" 3 \
    getres --attester sample "${K[@]}" kbs:///default/key/denied
ok "  ... the KBS's answer with its status" \
    grep -q "KBS $URL: GET /kbs/v0/resource/default/key/denied: HTTP 401 PolicyDeny: Access denied by policy" "$T/stderr"
ok "  ... nothing written" nothing_written
ok "  ... a policy refusal costs one attestation, not three" test "$(since 'POST /kbs/v0/attest')" = 1
fails "denied with --output: an existing file is left as it was" 3 \
    "$COCO_IMG" get-resource --attester sample "${K[@]}" -o "$T/keep" kbs:///default/key/denied
ok "  ... unchanged" sh -c "[ \"\$(cat '$T/keep')\" = keep ] && ! ls '$T'/keep.tmp-* 2>/dev/null"
ok "get-resource --json --output: metadata on stdout, never the resource" \
    sh -c "'$COCO_IMG' get-resource --json --attester sample ${K[*]} -o '$T/j.bin' kbs:///default/key/two >'$T/j.json' &&
           cmp '$T/j.bin' '$T/res/default/key/two' &&
           jq -e '.resource == \"kbs:///default/key/two\" and .output == \"$T/j.bin\" and .bytes == '\$(stat -c %s '$T/j.bin') '$T/j.json' >/dev/null &&
           ! grep -qF \"\$(head -c 8 '$T/j.bin' | od -An -tx1 | tr -d ' \\n')\" '$T/j.json'"
fails "get-resource --json without --output: usage error" 2 getres --json --attester sample "${K[@]}" kbs:///default/key/one
fails "get-resource --json, missing resource: exit 1" 1 getres --json --attester sample "${K[@]}" -o "$T/j2.bin" kbs:///default/key/nope
ok "  ... the error is JSON on stderr" jq -e '.error.code and (.error.message | test("nope"))' "$T/stderr"
fails "missing resource: exit 1" 1 getres --attester sample "${K[@]}" kbs:///default/key/nope
ok "  ... shown as trustee says it" \
    sh -c "grep -q 'HTTP 401 PluginInternalError: Plugin internal error' '$T/stderr' && [ ! -s '$T/stdout' ]"
fails "another KBS plugin: not found" 4 getres --attester sample "${K[@]}" kbs+pkcs11:///a/b/c
ok "  ... 404 PluginNotFound" grep -q "HTTP 404 PluginNotFound: Plugin pkcs11 not found" "$T/stderr"
fails "a key id without kbs:// is refused" 2 getres --attester sample "${K[@]}" /default/image-kek/1

policy '{"reject_evidence": true}'
mark
fails "evidence rejected: exit 3" 3 getres --attester sample "${K[@]}" kbs:///default/key/one
ok "  ... the attest refusal with trustee's detail, nothing written" \
    sh -c "grep -q 'attestation refused: POST /kbs/v0/attest: HTTP 401 AttestationError: Attestation error: RCAR handshake Attest failed' '$T/stderr' && [ ! -s '$T/stdout' ]"
ok "  ... no resource was asked for" test "$(since 'GET ')" = 0
fails "attest with rejected evidence: exit 3" 3 "$COCO_IMG" attest --attester sample "${K[@]}"

policy '{"protocol_version": "0.5.0"}'
fails "another protocol version: non-zero exit" 1 getres --attester sample "${K[@]}" kbs:///default/key/one
ok "  ... the error says both versions" \
    grep -q "protocol version mismatch: coco-img speaks 0.4.0, the KBS expects =0.5.0 (HTTP 401 AttestationError: .*Protocol Version Mismatch" "$T/stderr"
ok "  ... nothing written" nothing_written
policy '{}'

for mode in tag ciphertext protected encrypted_key epk enc iv truncate; do
    policy "{\"corrupt\": {\"default/key/corrupt\": \"$mode\"}}"
    fails "corrupt JWE ($mode) is refused, nothing written" '*' \
        sh -c "'$COCO_IMG' get-resource --attester sample ${K[*]} -o '$T/out.bin' kbs:///default/key/corrupt >'$T/stdout' 2>'$T/stderr';
               rc=\$?; cat '$T/stderr'; [ ! -e '$T/out.bin' ] && grep -q 'GET /kbs/v0/resource/default/key/corrupt: JWE' '$T/stderr' && exit \$rc"
done
policy '{}'

# --- one client, several resources (kbs_tool, public API) ---------------------
mkdir -p "$T/t1" "$T/t2" "$T/t3" "$T/t4" "$T/t5"
mark
ok "one client fetches three resources" \
    "$TOOL" "${K[@]}" "$T/t1" kbs:///default/key/one kbs:///default/key/two kbs:///default/data/big
ok "  ... right bytes" sh -c "cmp '$T/t1/1' '$T/res/default/key/one' && cmp '$T/t1/2' '$T/res/default/key/two' && cmp '$T/t1/3' '$T/res/default/data/big'"
ok "  ... with one attestation" test "$(since 'POST /kbs/v0/attest')$(since 'POST /kbs/v0/auth')$(since 'GET .* 200 - cookie')" = 113

policy '{"session_timeout": 3}'
mark
ok "the session expires (its cookie's Expires) between two resources" \
    "$TOOL" --sleep 4 "${K[@]}" "$T/t2" kbs:///default/key/one kbs:///default/key/two
ok "  ... the token is reused as Bearer: still one attestation" \
    test "$(since 'POST /kbs/v0/attest 200')$(since 'GET /kbs/v0/resource/default/key/one 200 - cookie')$(since 'GET /kbs/v0/resource/default/key/two 200 - bearer')" = 111

policy '{"session_timeout": 3, "token_lifetime": 4}'
mark
ok "the token expires (exp) between two resources" \
    "$TOOL" --sleep 4 "${K[@]}" "$T/t3" kbs:///default/key/one kbs:///default/key/two
ok "  ... a new attestation, no request with the expired token" \
    test "$(since 'POST /kbs/v0/attest 200')$(since 'bearer')" = 20

policy '{"session_timeout": 3, "cookie_timeout": 60}'
mark
ok "the KBS forgets the session early (TokenNotFound)" \
    "$TOOL" --sleep 4 "${K[@]}" "$T/t4" kbs:///default/key/one kbs:///default/key/two
ok "  ... the client retries with the token, no new attestation" \
    test "$(since 'POST /kbs/v0/attest 200')$(since 'two 401 TokenNotFound cookie')$(since 'two 200 - bearer')" = 111

policy '{"session_timeout": 3, "reject_bearer": true}'
mark
ok "the KBS no longer accepts the token (TokenVerifierError)" \
    "$TOOL" --sleep 4 "${K[@]}" "$T/t5" kbs:///default/key/one kbs:///default/key/two
ok "  ... the client attests again, once" \
    test "$(since 'POST /kbs/v0/attest 200')$(since 'two 401 TokenVerifierError bearer')$(since 'two 200 - cookie')" = 211
ok "  ... right bytes" cmp "$T/t5/2" "$T/res/default/key/two"
policy '{}'

# --- transport: retries, the deadline, TLS, plain http ---------------------------
kbs_start "$T/flaky" --resources "$T/res" --cert "$T/ca/srv.crt" --key "$T/ca/srv.key" \
    --policy "$T/flaky.json"
printf '{"unavailable_auth": 2}\n' >"$T/flaky.json"
ok "a KBS answering 503 twice: retried with backoff, then served" \
    sh -c "'$COCO_IMG' get-resource --attester sample --kbs-url https://127.0.0.1:$KBS_PORT --kbs-cert '$T/ca/ca.crt' kbs:///default/key/one | cmp - '$T/res/default/key/one'"
ok "  ... two 503 in its log" test "$(grep -c 'POST /kbs/v0/auth 503' "$T/flaky/log")" = 2

DOWN=$(free_port)
start=$(date +%s)
fails "KBS down (nothing listens): exit 1" 1 \
    getres --attester sample --kbs-url "https://127.0.0.1:$DOWN" --kbs-cert "$T/ca/ca.crt" kbs:///default/key/one
ok "  ... after bounded retries, within 30 s" \
    sh -c "grep -q 'gave up after 5 attempts' '$T/stderr' && [ \$((\$(date +%s) - $start)) -lt 30 ]"
kbs_start "$T/hung" --blackhole
start=$(date +%s)
fails "KBS hung (accepts, never answers): exit 1" 1 \
    getres --attester sample --kbs-url "https://127.0.0.1:$KBS_PORT" --kbs-cert "$T/ca/ca.crt" kbs:///default/key/one
ok "  ... within 30 s, nothing written" \
    sh -c "[ \$((\$(date +%s) - $start)) -lt 30 ] && grep -qi 'timed out\\|timeout' '$T/stderr' && [ ! -s '$T/stdout' ]"
kbs_stop "$KBS_PID"

fails "a certificate from another CA is refused" 1 \
    getres --attester sample --kbs-url "$URL" --kbs-cert "$T/other-ca/ca.crt" kbs:///default/key/one
ok "  ... without retrying or sending anything" \
    sh -c "grep -q 'SSL certificate problem' '$T/stderr' && ! grep -q 'retrying\\|gave up' '$T/stderr'"

kbs_start "$T/plain" --resources "$T/res" --http
PURL=http://127.0.0.1:$KBS_PORT
fails "plain http without --kbs-insecure-http is refused" 2 \
    getres --attester sample --kbs-url "$PURL" kbs:///default/key/one
ok "  ... before any request" \
    sh -c "grep -q 'plain HTTP refused' '$T/stderr' && [ ! -s '$T/plain/log' ]"
ok "plain http with --kbs-insecure-http (tests only)" \
    sh -c "'$COCO_IMG' get-resource --attester sample --kbs-insecure-http --kbs-url '$PURL' kbs:///default/key/one | cmp - '$T/res/default/key/one'"

done_testing
