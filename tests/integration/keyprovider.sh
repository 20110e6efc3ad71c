#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# coco-keyprovider and the ocicrypt keyprovider client, against independent
# peers: Debian's python3-grpcio (client and server, messages from a
# descriptor built at run time), the test KBS (tests/kbs/kbs.py) and
# docker-registry.  (Debian 12's skopeo 1.9.3, buildah 1.28 and podman 4.3
# are built without ocicrypt's keyprovider support: skopeo answers
# "Provided protocol not recognized" to provider: keys, so the ocicrypt side
# is played by kp_peer.py with the Go-encoded requests of the spec vectors.)
#
#  - cmd protocol the way ocicrypt drives it (request on stdin, reply on
#    stdout, non-zero exit on refusal); gRPC WrapKey/UnWrapKey from python,
#    64 concurrent UnWrapKey calls on one attestation, malformed protobuf,
#    graceful SIGTERM; the packet opened by python3-cryptography.
#  - coco-img as a client of a python gRPC provider (the Rust byte-array
#    reply form): only the provider's own parameters are sent.
#  - end to end: encrypt through the plugin (KEK fetched from the KBS),
#    docker-registry, `pull --kbs-url` natively and `decrypt --key
#    provider:attestation-agent` through the plugin.
#  - refused: tampered wrapped_data, a kid the KBS does not serve, a 16-byte
#    KEK, no keyid, the KBS denying or down, malformed JSON.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/kbs/kbs-fixtures.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
for t in docker-registry skopeo umoci jq openssl; do
    command -v "$t" >/dev/null 2>&1 || bail_out "$t is not installed (scripts/setup-deps.sh)"
done
PY=/usr/bin/python3
"$PY" -c 'import grpc, google.protobuf, cryptography' 2>/dev/null ||
    bail_out "python3-grpcio, python3-protobuf and python3-cryptography are needed (scripts/setup-deps.sh)"
KP=$top_builddir/coco-keyprovider
PEER=$top_srcdir/tests/integration/kp_peer.py
[ -x "$KP" ] || bail_out "coco-keyprovider is not built"
T=$T_TMP
isolate_registry_env
unset OCICRYPT_KEYPROVIDER_CONFIG
cd "$T" || exit 1
plan 60

kbs_make_ca "$T/ca" || bail_out "cannot make the test CA"
mkdir -p res/default/key
head -c 32 /dev/urandom >kek
cp kek res/default/key/image-kek
cp kek res/default/key/denied-kek
head -c 16 /dev/urandom >kek16
echo '{"deny": ["default/key/denied-kek"]}' >kbs-policy.json
kbs_start "$T/kbs" --resources "$T/res" --policy "$T/kbs-policy.json" --cert "$T/ca/srv.crt" \
    --key "$T/ca/srv.key" || bail_out "the test KBS did not start"
K=(--kbs-url "https://127.0.0.1:$KBS_PORT" --kbs-cert "$T/ca/ca.crt" --attester sample)

# ---------------------------------------------------------------------------
# the cmd protocol, as ocicrypt runs a cmd provider
ok "coco-keyprovider --help names both modes" bash -c '"$1" --help | grep -q -- "--listen" && "$1" --help | grep -q "cmd protocol"' _ "$KP"
printf '{"symkey":"c2VjcmV0LWxheWVyLWtleS0zMi1ieXRlcy1sb25nLi4=","cipheroptions":{"nonce":"AAAAAAAAAAAAAAAAAAAAAA=="},"digest":"sha256:00"}' >opts.json
"$PY" "$PEER" wrapreq "keyid=kbs:///default/key/image-kek::keypath=$T/kek::algorithm=A256GCM" \
    --with-others <opts.json >wrap.req
ok "cmd: WrapKey (ocicrypt's request with other recipients' keys) is answered" \
    bash -c '"$1" <"$2" >"$3"' _ "$KP" wrap.req wrap.reply
"$PY" "$PEER" reply-bytes wrap <wrap.reply >packet.json 2>/dev/null
ok "the reply's annotation is the packet {kid, wrapped_data, iv, A256GCM} with a kbs:/// kid" \
    jq -e '.kid == "kbs:///default/key/image-kek" and .wrap_type == "A256GCM" and (.iv | length) == 16' packet.json
ok "python3-cryptography opens it with the KEK into the options sent" "$PY" -c '
import base64, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
p = json.load(open(sys.argv[1]))
o = AESGCM(open(sys.argv[2], "rb").read()).decrypt(base64.b64decode(p["iv"]), base64.b64decode(p["wrapped_data"]), None)
assert o == open(sys.argv[3], "rb").read(), o' packet.json kek opts.json
"$PY" "$PEER" unwrapreq packet.json >unwrap.req
ok "cmd: UnWrapKey attests to the KBS and returns the options" bash -c '
    "$1" "${@:5}" <"$2" | "$3" "$4" reply-bytes unwrap | cmp - opts.json' _ "$KP" unwrap.req "$PY" "$PEER" "${K[@]}"
fails "cmd: UnWrapKey without a KBS is refused" 1 bash -c '"$1" <"$2"' _ "$KP" unwrap.req

# refusals, each with nothing on stdout
refused() { # refused NAME REQUEST-FILE [KP ARGS...]
    local name=$1 req=$2
    shift 2
    fails "cmd: refused: $name (exit 1)" 1 bash -c '"$1" "${@:3}" <"$2" >"$2.out"' _ "$KP" "$req" "$@"
    ok "  and nothing on stdout, no secret in the message" bash -c '
        [ ! -s "$1.out" ] && ! grep -q "c2VjcmV0\|symkey" "$2"' _ "$req" "$T_TMP/out.$T_NUM"
}
jq -c '.wrapped_data |= (.[0:4] + (if .[4:5] == "A" then "B" else "A" end) + .[5:])' packet.json >tampered.json
"$PY" "$PEER" unwrapreq tampered.json >tampered.req
refused "tampered wrapped_data" tampered.req "${K[@]}"
ok "  with the uniform unwrap error" grep -q "cannot unwrap the layer key" "$T_TMP/out.$((T_NUM - 1))"
jq -c '.kid = "kbs:///default/key/missing"' packet.json >missing.json
"$PY" "$PEER" unwrapreq missing.json >missing.req
refused "a kid the KBS does not serve" missing.req "${K[@]}"
jq -c '.kid = "kbs:///default/key/denied-kek"' packet.json >denied.json
"$PY" "$PEER" unwrapreq denied.json >denied.req
refused "the KBS policy denies the key" denied.req "${K[@]}"
ok "  with the KBS's answer" grep -qi "denied\|policy" "$T_TMP/out.$((T_NUM - 1))"
dead=$(free_port)
start=$(date +%s)
refused "the KBS is down" unwrap.req --kbs-url "https://127.0.0.1:$dead" --kbs-cert "$T/ca/ca.crt" --attester sample
ok "  within 30 s" test $(($(date +%s) - start)) -le 30
"$PY" "$PEER" wrapreq "keyid=kbs:///default/key/image-kek::keypath=$T/kek16" <opts.json >kek16.req
refused "a 16-byte KEK" kek16.req
"$PY" "$PEER" wrapreq "keypath=$T/kek" <opts.json >nokid.req
refused "no keyid" nokid.req
printf '{"op":"keywrap","keywrapparams":{' >malformed.req
refused "malformed JSON" malformed.req

# ---------------------------------------------------------------------------
# gRPC server, python3-grpcio client
serve() { # serve NAME ARGS...: start coco-keyprovider --listen, sets SRV_PID, SRV_ADDR
    local name=$1 i
    shift
    "$KP" "$@" 2>"$T/$name.log" &
    SRV_PID=$!
    T_CLEANUP="$T_CLEANUP kill $SRV_PID 2>/dev/null;"
    for i in $(seq 100); do
        grep -q "serving" "$T/$name.log" 2>/dev/null && break
        sleep 0.1
    done
    local port
    port=$(sed -n 's/.*serving keyprovider.KeyProviderService on port \([0-9]*\).*/\1/p' "$T/$name.log")
    SRV_ADDR=127.0.0.1:$port
    [ -n "$port" ] || grep -q "serving.*unix:" "$T/$name.log"
}
serve grpc --listen 127.0.0.1:0 --workers 8 "${K[@]}" || bail_out "coco-keyprovider --listen did not start: $(cat "$T/grpc.log")"
GPID=$SRV_PID
GADDR=$SRV_ADDR
ok "grpc: WrapKey from python3-grpcio" bash -c '"$1" "$2" call "$3" WrapKey <wrap.req >g-wrap.reply' _ "$PY" "$PEER" "$GADDR"
"$PY" "$PEER" reply-bytes wrap <g-wrap.reply >g-packet.json 2>/dev/null
"$PY" "$PEER" unwrapreq g-packet.json >g-unwrap.req
before=$(kbs_count "$T/kbs" "attest")
ok "grpc: 64 concurrent UnWrapKey calls all return the options" bash -c '
    "$1" "$2" many "$3" UnWrapKey 64 <g-unwrap.req | "$1" "$2" reply-bytes unwrap | cmp - opts.json' \
    _ "$PY" "$PEER" "$GADDR"
ok "  on one attestation (the token is shared)" test "$(( $(kbs_count "$T/kbs" "attest") - before ))" -le 1
fails "grpc: a keywrap request sent to UnWrapKey is refused" 1 \
    bash -c '"$1" "$2" call "$3" UnWrapKey <wrap.req' _ "$PY" "$PEER" "$GADDR"
fails "grpc: malformed protobuf gets an error status" 1 "$PY" "$PEER" raw "$GADDR" WrapKey 0aff01
fails "grpc: malformed JSON gets an error status" 1 \
    bash -c '"$1" "$2" call "$3" WrapKey <malformed.req' _ "$PY" "$PEER" "$GADDR"
ok "  INVALID_ARGUMENT, not quoting the request" bash -c 'grep -q INVALID_ARGUMENT "$1" && ! grep -q keywrapparams "$1"' _ "$T_TMP/out.$T_NUM"
fails "grpc: tampered wrapped_data is refused" 1 \
    bash -c '"$1" "$2" call "$3" UnWrapKey <tampered.req' _ "$PY" "$PEER" "$GADDR"
fails "grpc: a request over 1 MiB is refused" 1 "$PY" "$PEER" big "$GADDR" WrapKey $((2 * 1024 * 1024))
ok "  RESOURCE_EXHAUSTED" grep -q RESOURCE_EXHAUSTED "$T_TMP/out.$T_NUM"
ok "grpc: the server still answers after bad requests" bash -c '"$1" "$2" call "$3" WrapKey <wrap.req >/dev/null' _ "$PY" "$PEER" "$GADDR"
serve unix --listen "unix:$T/kp.sock" || bail_out "coco-keyprovider on a unix socket did not start"
UPID=$SRV_PID
ok "grpc on a unix socket" bash -c '"$1" "$2" call "unix:$3" WrapKey <wrap.req >/dev/null' _ "$PY" "$PEER" "$T/kp.sock"
kill -TERM "$UPID"
ok "SIGTERM: the server exits 0" wait "$UPID"

# ---------------------------------------------------------------------------
# coco-img as a client of a python3-grpcio provider
"$PY" "$PEER" serve --port-file "$T/py.port" --kek "$T/kek" --log "$T/py.log" 2>"$T/py.err" &
PYPID=$!
T_CLEANUP="$T_CLEANUP kill $PYPID 2>/dev/null;"
for i in $(seq 100); do [ -s "$T/py.port" ] && break; sleep 0.1; done
[ -s "$T/py.port" ] || bail_out "the python provider did not start: $(cat "$T/py.err")"
printf '{"key-providers":{"pykp":{"grpc":"127.0.0.1:%s"}}}' "$(cat "$T/py.port")" >py.conf
fx_umoci_image img t
openssl genrsa -out jwe.key 2048 2>/dev/null && openssl rsa -in jwe.key -pubout -out jwe.pub 2>/dev/null
ok "encrypt --recipient provider:pykp:... through OCICRYPT_KEYPROVIDER_CONFIG (grpc)" \
    env OCICRYPT_KEYPROVIDER_CONFIG="$T/py.conf" "$COCO_IMG" encrypt \
    --recipient "provider:pykp:keyid=kbs:///default/key/image-kek" --recipient "jwe:$T/jwe.pub" \
    oci:img:t "oci:$T/py-enc:t"
ok "the layer carries keys.provider.pykp (the peer's byte-array reply, stored as base64)" bash -c '
    "$1" inspect --raw "oci:$2/py-enc:t" | jq -e ".layers[0].annotations[\"org.opencontainers.image.enc.keys.provider.pykp\"] | length > 0"' _ "$COCO_IMG" "$T"
ok "the provider saw only its own parameters (not the jwe recipient)" bash -c '
    grep "^WrapKey" "$1" | head -1 | cut -d" " -f2- | jq -e "(.keywrapparams.ec.Parameters | keys) == [\"pykp\"] and .keywrapparams.ec.DecryptConfig.Parameters == {}"' _ "$T/py.log"
ok "decrypt --key provider:pykp (with a private key file too) gives the plain layers" bash -c '
    OCICRYPT_KEYPROVIDER_CONFIG=$3/py.conf "$1" decrypt --key provider:pykp:token=abc --key "$3/jwe.key" \
        "oci:$3/py-enc:t" "oci:$3/py-plain:t" &&
    [ "$("$1" inspect "oci:$3/py-plain:t" | jq -c .Layers)" = "$("$1" inspect oci:img:t | jq -c .Layers)" ]' \
    _ "$COCO_IMG" "$PY" "$T"
ok "  UnWrapKey got its own parameter, and never the private key" bash -c '
    grep "^UnWrapKey" "$1" | tail -1 | cut -d" " -f2- |
        jq -e "(.keyunwrapparams.dc.Parameters | keys) == [\"pykp\"] and .keyunwrapparams.dc.Parameters.pykp == [\"dG9rZW49YWJj\"] and .keywrapparams.ec == null"' _ "$T/py.log"
fails "a provider refusal reaches the user with the provider's words" '*' \
    env OCICRYPT_KEYPROVIDER_CONFIG="$T/py.conf" "$COCO_IMG" encrypt \
    --recipient "provider:pykp:keyid=kbs:///x/y/z::refuse=by-policy" oci:img:t "oci:$T/py-refused:t"
ok "  (PERMISSION_DENIED: the peer refuses: by-policy), and no image" bash -c '
    grep -q "the peer refuses: by-policy" "$1" && [ ! -e "$2/py-refused" ]' _ "$T_TMP/out.$T_NUM" "$T"
printf '{"key-providers":{"pykp":{"grpc":"127.0.0.1:%s"}}}' "$dead" >down.conf
fails "a provider that is down fails the decrypt" '*' env OCICRYPT_KEYPROVIDER_CONFIG="$T/down.conf" \
    "$COCO_IMG" decrypt --key provider:pykp "oci:$T/py-enc:t" "oci:$T/py-down:t"
fails "a provider name the configuration lacks is a usage error" 2 env OCICRYPT_KEYPROVIDER_CONFIG="$T/py.conf" \
    "$COCO_IMG" decrypt --key provider:nosuch "oci:$T/py-enc:t" "oci:$T/py-x:t"
printf '{"key-providers":{"pykp":{"grpc":"h:1","bogus":1}}}' >bad.conf
fails "a configuration with an unknown member is refused" '*' env OCICRYPT_KEYPROVIDER_CONFIG="$T/bad.conf" \
    "$COCO_IMG" decrypt --key provider:pykp "oci:$T/py-enc:t" "oci:$T/py-y:t"

# a cmd provider gets a minimal environment, not the caller's secrets
cat >envkp.sh <<EOF
#!/bin/sh
env >"$T/env.txt"
cat >/dev/null
printf '{"keywrapresults":{"annotation":"eyJ4IjoxfQ=="}}'
EOF
chmod +x envkp.sh
printf '{"key-providers":{"envkp":{"cmd":{"path":"%s","args":[]}}}}' "$T/envkp.sh" >env.conf
ok "a cmd provider wraps (encrypt --recipient provider:envkp)" env OCICRYPT_KEYPROVIDER_CONFIG="$T/env.conf" \
    SECRET_TOKEN=hunter2-secret COCOIMG_KEY_PASSWORD=pw-secret "$COCO_IMG" encrypt --recipient provider:envkp \
    oci:img:t "oci:$T/env-enc:t"
ok "  with PATH but none of the caller's other variables" bash -c '
    grep -q "^PATH=" "$1" && ! grep -q "secret" "$1" && [ "$(wc -l <"$1")" -le 8 ]' _ "$T/env.txt"

# grpc-tls: a TLS provider, trusted through root-ca-file only
"$PY" "$PEER" serve --port-file "$T/tls.port" --kek "$T/kek" --log "$T/tls.log" \
    --tls-cert "$T/ca/srv.crt" --tls-key "$T/ca/srv.key" 2>"$T/tls.err" &
TLSPID=$!
T_CLEANUP="$T_CLEANUP kill $TLSPID 2>/dev/null;"
for i in $(seq 100); do [ -s "$T/tls.port" ] && break; sleep 0.1; done
kbs_make_ca "$T/ca2" || bail_out "cannot make the second CA"
for c in ca ca2; do
    jq -n --arg t "127.0.0.1:$(cat "$T/tls.port")" --arg ca "$T/$c/ca.crt" \
        '{"key-providers":{"pykp":{"grpc":$t,"grpc-tls":{"root-ca-file":$ca}}}}' >"tls-$c.conf"
done
ok "grpc-tls with the server's CA: wraps" env OCICRYPT_KEYPROVIDER_CONFIG="$T/tls-ca.conf" "$COCO_IMG" encrypt \
    --recipient "provider:pykp:keyid=kbs:///default/key/image-kek" oci:img:t "oci:$T/tls-enc:t"
n_tls=$(grep -c ^WrapKey "$T/tls.log")
fails "grpc-tls with another CA: refused" '*' env OCICRYPT_KEYPROVIDER_CONFIG="$T/tls-ca2.conf" "$COCO_IMG" \
    encrypt --recipient "provider:pykp:keyid=kbs:///default/key/image-kek" oci:img:t "oci:$T/tls-bad:t"
ok "  and the provider never saw that request" bash -c 'c=$(grep -c ^WrapKey "$1"); [ "$c" -eq "$2" ] && [ "$2" -ge 1 ]' _ "$T/tls.log" "$n_tls"

# ---------------------------------------------------------------------------
# end to end: the plugin wraps with the KBS's KEK, registry, native pull,
# plugin decrypt (cmd)
PORT=$(free_port)
start_registry reg "$PORT" || bail_out "docker-registry did not start"
REG=127.0.0.1:$PORT
printf '{"key-providers":{"attestation-agent":{"grpc":"%s"}}}' "$GADDR" >grpc.conf
jq -n --arg p "$KP" --arg u "https://127.0.0.1:$KBS_PORT" --arg c "$T/ca/ca.crt" \
    '{"key-providers":{"attestation-agent":{"cmd":{"path":$p,"args":["--kbs-url",$u,"--kbs-cert",$c,"--attester","sample"]}}}}' >cmd.conf
ok "encrypt through coco-keyprovider (grpc), the KEK fetched from the KBS (no keypath)" \
    env OCICRYPT_KEYPROVIDER_CONFIG="$T/grpc.conf" LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld-enc" "$COCO_IMG" encrypt \
    --recipient "provider:attestation-agent:keyid=kbs:///default/key/image-kek" oci:img:t "oci:$T/kp-enc:t"
ok "  which opened the gRPC core on first use (dlopen)" bash -c '
    cat "$1"/ld-enc.* | grep "file=libgrpc" | grep -q "dynamically loaded"' _ "$T"
ok "push to docker-registry" "$COCO_IMG" copy --dest-tls-verify=false "oci:$T/kp-enc:t" "docker://$REG/app:kp"
ok "pull --kbs-url unwraps natively and unpacks" \
    env LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld-pull" \
    "$COCO_IMG" pull --tls-verify=false "${K[@]}" "docker://$REG/app:kp" "$T/bundle"
# libgrpc is opened on first use, not linked: the guest's path (a pull with
# key release from the KBS) and a plain command map none of it
ok "  and loads no gRPC library (the guest path)" bash -c '
    cat "$1"/ld-pull.* | grep -q "file=libcurl" && ! cat "$1"/ld-pull.* | grep -q "file=libgrpc"' _ "$T"
ok "coco-img --version loads no gRPC library" bash -c '
    LD_DEBUG=files "$1" --version 2>&1 >/dev/null | grep "file=libjansson" >/dev/null &&
    ! LD_DEBUG=files "$1" --version 2>&1 >/dev/null | grep -q "file=libgrpc"' _ "$COCO_IMG"
ok "  the rootfs has the image's files" test -s "$T/bundle/rootfs/etc/hello"
ok "decrypt --key provider:attestation-agent through the plugin (cmd) gives the plain layers" bash -c '
    OCICRYPT_KEYPROVIDER_CONFIG=$3/cmd.conf "$1" decrypt --src-tls-verify=false --key provider:attestation-agent \
        "docker://$2/app:kp" "oci:$3/kp-plain:t" &&
    [ "$("$1" inspect "oci:$3/kp-plain:t" | jq -c .Layers)" = "$("$1" inspect oci:img:t | jq -c .Layers)" ]' \
    _ "$COCO_IMG" "$REG" "$T"
kill -TERM "$GPID"
wait "$GPID"
grc=$?
# on a failure, the exit status and the server's log go to the test log
ok "the gRPC server stops on SIGTERM with exit 0" bash -c '
    [ "$1" = 0 ] && exit 0
    echo "# exit status $1; its log:"; sed "s/^/#   /" "$2"; exit 1' _ "$grc" "$T/grpc.log"
done_testing
