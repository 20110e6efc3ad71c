#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The main job end to end, without network: install the dependencies, build
# coco-img, build a small image with umoci, inspect it, copy it to an
# oci-archive and back, encrypt it for a JWE recipient (skopeo decrypts it),
# push the encrypted image to a docker-registry started on 127.0.0.1, and
# sign it (skopeo, GPG) and pull it back the way a confidential guest does:
# signature checked against a policy, verified, decrypted and unpacked into a
# runtime bundle that is compared with umoci's; then CoCo key release: the
# layer key sealed under a KEK that a test KBS (tests/kbs/kbs.py, on
# 127.0.0.1) releases after attestation, the images signed with a cosign key
# (generate-sigstore-key, copy --sign-by-sigstore-private-key), the guest's
# sigstoreSigned policy and cosign public key fetched from the KBS, the bundle
# run with crun, a KBS that refuses the key; last, the same through
# coco-keyprovider, the ocicrypt keyprovider plugin (gRPC), and the data case
# (get-resource a key, decrypt a file).  Everything it creates
# goes to $DEMO_DIR (default: a temp dir).
#   BUILD_DIR   build directory (default: _build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD_DIR=${BUILD_DIR:-_build}
DEMO_DIR=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/coco-img-demo.XXXXXX")}

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "installing dependencies (scripts/setup-deps.sh)"
sh scripts/setup-deps.sh

step "building coco-img in $BUILD_DIR"
mkdir -p m4
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    autoreconf -fi >/dev/null
fi
mkdir -p "$BUILD_DIR"
(cd "$BUILD_DIR" && { [ -f Makefile ] || "$top/configure" >/dev/null; } && make -j"$(nproc)" >/dev/null)
COCO_IMG=$(cd "$BUILD_DIR" && pwd)/coco-img
run "$COCO_IMG" version

# build-side commands check their source against a policy too: here the
# local images are trusted; the guest pull below requires a signature
echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$DEMO_DIR/policy-build.json"
export COCOIMG_POLICY=$DEMO_DIR/policy-build.json

step "building a two-layer image with umoci in $DEMO_DIR/layout"
mkdir -p "$DEMO_DIR/rootfs/etc" "$DEMO_DIR/rootfs/bin"
echo "hello from coco-img" >"$DEMO_DIR/rootfs/etc/hello"
printf '#!/bin/sh\ncat /etc/hello\necho "GREETING=$GREETING, running as uid $(id -u)"\n' >"$DEMO_DIR/rootfs/bin/hello"
chmod 755 "$DEMO_DIR/rootfs/bin/hello"
# a shell for the entrypoint: Debian's static busybox (busybox-static)
cp /bin/busybox "$DEMO_DIR/rootfs/bin/busybox"
for t in sh cat echo id; do ln -sf busybox "$DEMO_DIR/rootfs/bin/$t"; done
rm -rf "$DEMO_DIR/layout"
run umoci init --layout "$DEMO_DIR/layout"
run umoci new --image "$DEMO_DIR/layout:demo"
run umoci insert --rootless --image "$DEMO_DIR/layout:demo" "$DEMO_DIR/rootfs/etc" /etc
run umoci insert --rootless --image "$DEMO_DIR/layout:demo" "$DEMO_DIR/rootfs/bin" /bin
run umoci config --image "$DEMO_DIR/layout:demo" --config.cmd /bin/hello \
    --config.env GREETING=hello --config.label org.example.demo=yes \
    --os linux --architecture amd64

step "inspecting it"
run "$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo"

step "copying it to an oci-archive and back"
run "$COCO_IMG" copy "oci:$DEMO_DIR/layout:demo" "oci-archive:$DEMO_DIR/demo.tar:demo"
run tar -tvf "$DEMO_DIR/demo.tar"
run "$COCO_IMG" copy "oci-archive:$DEMO_DIR/demo.tar:demo" "oci:$DEMO_DIR/roundtrip:demo"
a=$("$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo" | jq -r .Digest)
b=$("$COCO_IMG" inspect "oci:$DEMO_DIR/roundtrip:demo" | jq -r .Digest)
echo "source digest:     $a"
echo "round-trip digest: $b"
[ "$a" = "$b" ] || { echo "digests differ" >&2; exit 1; }

step "encrypting it (ocicrypt JWE, RSA-OAEP) for a fresh key pair"
run openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DEMO_DIR/key.pem"
run openssl pkey -in "$DEMO_DIR/key.pem" -pubout -out "$DEMO_DIR/pub.pem"
run "$COCO_IMG" encrypt --recipient "jwe:$DEMO_DIR/pub.pem" "oci:$DEMO_DIR/layout:demo" \
    "oci:$DEMO_DIR/encrypted:demo"
run "$COCO_IMG" layerinfo "oci:$DEMO_DIR/encrypted:demo"

step "skopeo (containers/ocicrypt) decrypts what coco-img encrypted"
run skopeo copy -q --decryption-key "$DEMO_DIR/key.pem" "oci:$DEMO_DIR/encrypted:demo" \
    "oci:$DEMO_DIR/skopeo-decrypted:demo"
step "coco-img decrypts it too"
run "$COCO_IMG" decrypt --key "$DEMO_DIR/key.pem" "oci:$DEMO_DIR/encrypted:demo" \
    "oci:$DEMO_DIR/decrypted:demo"
want=$("$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo" | jq -c .Layers)
for d in skopeo-decrypted decrypted; do
    got=$("$COCO_IMG" inspect "oci:$DEMO_DIR/$d:demo" | jq -c .Layers)
    [ "$got" = "$want" ] || { echo "$d: layers $got, wanted $want" >&2; exit 1; }
done
echo "both decryptions give the original layer digests"

step "pushing the encrypted image to a docker-registry on 127.0.0.1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$DEMO_DIR/registry"
cat >"$DEMO_DIR/registry/config.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $DEMO_DIR/registry/storage}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$DEMO_DIR/registry/config.yml" >"$DEMO_DIR/registry/log" 2>&1 &
reg_pid=$!
trap 'kill $reg_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
    sleep 0.1
done
REF=docker://127.0.0.1:$port/demo/app:enc
run "$COCO_IMG" copy --dest-tls-verify=false "oci:$DEMO_DIR/encrypted:demo" "$REF"
run "$COCO_IMG" layerinfo --tls-verify=false "$REF"

step "signing it at build time (skopeo, simple signing with a fresh GPG key)"
export GNUPGHOME=$DEMO_DIR/gnupg
mkdir -p -m 700 "$GNUPGHOME"
trap 'kill $reg_pid 2>/dev/null || true; gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true' EXIT
run gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "Demo builder <builder@example.com>" ed25519 sign never
fpr=$(gpg --batch --with-colons --list-keys builder@example.com | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --export "$fpr" >"$DEMO_DIR/builder.gpg"
mkdir -p "$DEMO_DIR/registries.d"
printf 'default-docker:\n  lookaside: file://%s/sigstore\n  lookaside-staging: file://%s/sigstore\n' \
    "$DEMO_DIR" "$DEMO_DIR" >"$DEMO_DIR/registries.d/demo.yaml"
run skopeo --registries.d "$DEMO_DIR/registries.d" --insecure-policy copy -q --src-tls-verify=false \
    --dest-tls-verify=false --sign-by "$fpr" "$REF" "$REF"
cat >"$DEMO_DIR/policy-guest.json" <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"127.0.0.1:$port/demo": [
   {"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$DEMO_DIR/builder.gpg"}]}}}
EOF
GUEST="--policy $DEMO_DIR/policy-guest.json --registries.d $DEMO_DIR/registries.d"
run "$COCO_IMG" verify --tls-verify=false $GUEST "$REF"

step "pulling it as a guest would: verify, decrypt, unpack into a bundle"
rm -rf "$DEMO_DIR/bundle"
run "$COCO_IMG" pull --tls-verify=false $GUEST --key "$DEMO_DIR/key.pem" "$REF" "$DEMO_DIR/bundle"
run ls "$DEMO_DIR/bundle" "$DEMO_DIR/bundle/rootfs/bin"
run cat "$DEMO_DIR/bundle/rootfs/etc/hello"
run jq -c .process.args "$DEMO_DIR/bundle/config.json"

step "without the key the pull is refused and leaves nothing behind"
if "$COCO_IMG" pull --tls-verify=false $GUEST "$REF" "$DEMO_DIR/nokey" 2>"$DEMO_DIR/nokey.err"; then
    echo "pull without a key succeeded" >&2
    exit 1
fi
cat "$DEMO_DIR/nokey.err"
[ ! -e "$DEMO_DIR/nokey" ] || { echo "a bundle was left behind" >&2; exit 1; }

step "the same image under a tag nobody signed is refused before any blob is fetched"
run "$COCO_IMG" copy --dest-tls-verify=false "oci:$DEMO_DIR/encrypted:demo" "docker://127.0.0.1:$port/demo/app:unsigned"
if "$COCO_IMG" pull --tls-verify=false $GUEST --key "$DEMO_DIR/key.pem" \
    "docker://127.0.0.1:$port/demo/app:unsigned" "$DEMO_DIR/unsigned" 2>"$DEMO_DIR/unsigned.err"; then
    echo "pull of an image signed for another tag succeeded" >&2
    exit 1
fi
cat "$DEMO_DIR/unsigned.err"
[ ! -e "$DEMO_DIR/unsigned" ] || { echo "a bundle was left behind" >&2; exit 1; }

step "the bundle's rootfs equals umoci's unpack of the plain image"
umoci unpack --rootless --image "$DEMO_DIR/layout:demo" "$DEMO_DIR/umoci-bundle" >/dev/null
diff -r "$DEMO_DIR/bundle/rootfs" "$DEMO_DIR/umoci-bundle/rootfs" && echo "same files and contents"

step "CoCo key release: the layer key sealed under a KEK that only a test KBS on 127.0.0.1 releases"
mkdir -p "$DEMO_DIR/kbs/res/default/key" "$DEMO_DIR/kbs/ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=coco-img demo KBS CA" -keyout "$DEMO_DIR/kbs/ca/ca.key" -out "$DEMO_DIR/kbs/ca/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$DEMO_DIR/kbs/ca/srv.key" -out "$DEMO_DIR/kbs/ca/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$DEMO_DIR/kbs/ca/ext"
openssl x509 -req -in "$DEMO_DIR/kbs/ca/srv.csr" -CA "$DEMO_DIR/kbs/ca/ca.crt" -CAkey "$DEMO_DIR/kbs/ca/ca.key" \
    -CAcreateserial -days 1 -extfile "$DEMO_DIR/kbs/ca/ext" -out "$DEMO_DIR/kbs/ca/srv.crt" 2>/dev/null
head -c 32 /dev/urandom >"$DEMO_DIR/kek"
cp "$DEMO_DIR/kek" "$DEMO_DIR/kbs/res/default/key/demo-kek"
echo '{"deny": ["default/key/refused-kek"]}' >"$DEMO_DIR/kbs/policy.json"
cp "$DEMO_DIR/kek" "$DEMO_DIR/kbs/res/default/key/refused-kek"
python3 "$top/tests/kbs/kbs.py" --resources "$DEMO_DIR/kbs/res" --policy "$DEMO_DIR/kbs/policy.json" \
    --cert "$DEMO_DIR/kbs/ca/srv.crt" --key "$DEMO_DIR/kbs/ca/srv.key" \
    --port-file "$DEMO_DIR/kbs/port" --log "$DEMO_DIR/kbs/log" 2>"$DEMO_DIR/kbs/stderr" &
kbs_pid=$!
trap 'kill $reg_pid $kbs_pid 2>/dev/null || true; gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DEMO_DIR/kbs/port" ] && break; sleep 0.1; done
KBS=(--kbs-url "https://127.0.0.1:$(cat "$DEMO_DIR/kbs/port")" --kbs-cert "$DEMO_DIR/kbs/ca/ca.crt" --attester sample)
run "$COCO_IMG" encrypt --recipient "provider:attestation-agent:keyid=kbs:///default/key/demo-kek::keypath=$DEMO_DIR/kek" \
    "oci:$DEMO_DIR/layout:demo" "oci:$DEMO_DIR/coco:demo"
run "$COCO_IMG" encrypt --recipient "provider:attestation-agent:keyid=kbs:///default/key/refused-kek::keypath=$DEMO_DIR/kek" \
    "oci:$DEMO_DIR/layout:demo" "oci:$DEMO_DIR/coco-refused:demo"
COCO_REF=docker://127.0.0.1:$port/demo/coco:v1
step "signing the CoCo images with a cosign key (pushed as the sha256-DIGEST.sig attachment)"
printf 'demo passphrase\n' >"$DEMO_DIR/cosign.pass"
run "$COCO_IMG" generate-sigstore-key --output-prefix "$DEMO_DIR/cosign" --passphrase-file "$DEMO_DIR/cosign.pass"
run "$COCO_IMG" copy --dest-tls-verify=false --sign-by-sigstore-private-key "$DEMO_DIR/cosign.key" \
    --sign-passphrase-file "$DEMO_DIR/cosign.pass" "oci:$DEMO_DIR/coco:demo" "$COCO_REF"
run "$COCO_IMG" copy --dest-tls-verify=false --sign-by-sigstore-private-key "$DEMO_DIR/cosign.key" \
    --sign-passphrase-file "$DEMO_DIR/cosign.pass" "oci:$DEMO_DIR/coco-refused:demo" \
    "docker://127.0.0.1:$port/demo/coco:refused"
mkdir -p "$DEMO_DIR/registries.d-guest"
printf 'docker:\n  127.0.0.1:%s/demo:\n    use-sigstore-attachments: true\n' "$port" \
    >"$DEMO_DIR/registries.d-guest/demo.yaml"
# the guest keeps no configuration of its own: its signature policy and the
# builder's cosign public key are KBS resources too, fetched after attestation
mkdir -p "$DEMO_DIR/kbs/res/default/policy" "$DEMO_DIR/kbs/res/default/cosign"
cp "$DEMO_DIR/cosign.pub" "$DEMO_DIR/kbs/res/default/cosign/builder"
printf '{"default": [{"type": "reject"}], "transports": {"docker": {"127.0.0.1:%s/demo": [{"type": "sigstoreSigned", "keyPath": "kbs:///default/cosign/builder"}]}}}\n' \
    "$port" >"$DEMO_DIR/kbs/res/default/policy/guest"
COCO_GUEST=(--policy kbs:///default/policy/guest --registries.d "$DEMO_DIR/registries.d-guest")
step "the guest pulls: policy and cosign key from the KBS after attestation, signature checked, layers decrypted with the KBS's key"
rm -rf "$DEMO_DIR/coco-bundle"
run "$COCO_IMG" pull --tls-verify=false "${COCO_GUEST[@]}" "${KBS[@]}" "$COCO_REF" "$DEMO_DIR/coco-bundle"
run cat "$DEMO_DIR/coco-bundle/rootfs/etc/hello"
step "running the bundle"
if (cd "$DEMO_DIR/coco-bundle" && crun run "coco-img-demo-$$") >"$DEMO_DIR/run.out" 2>"$DEMO_DIR/run.err"; then
    echo "$ crun run (in $DEMO_DIR/coco-bundle)"
    cat "$DEMO_DIR/run.out"
else
    # crun wants a unified (v2) or a legacy cgroup hierarchy; some containers
    # and CI machines have neither
    echo "crun cannot run containers on this host ($(tail -n 1 "$DEMO_DIR/run.err")):"
    echo "running the bundle's process.args with its env in a chroot of its rootfs instead"
    mapfile -t args < <(jq -r '.process.args[]' "$DEMO_DIR/coco-bundle/config.json")
    mapfile -t envs < <(jq -r '.process.env[]' "$DEMO_DIR/coco-bundle/config.json")
    run env -i "${envs[@]}" chroot "$DEMO_DIR/coco-bundle/rootfs" "${args[@]}"
fi
echo "the KBS saw: $(grep -c 'POST /kbs/v0/attest' "$DEMO_DIR/kbs/log") attestation(s), $(grep -c 'GET /kbs/v0/resource' "$DEMO_DIR/kbs/log") key request(s)"
step "a KBS that refuses the key: the pull fails with its answer and leaves nothing"
if "$COCO_IMG" pull --tls-verify=false "${COCO_GUEST[@]}" "${KBS[@]}" "docker://127.0.0.1:$port/demo/coco:refused" \
    "$DEMO_DIR/refused" 2>"$DEMO_DIR/refused.err"; then
    echo "pull with a refused key succeeded" >&2
    exit 1
fi
cat "$DEMO_DIR/refused.err"
[ ! -e "$DEMO_DIR/refused" ] || { echo "a bundle was left behind" >&2; exit 1; }

step "coco-keyprovider: the ocicrypt keyprovider plugin (gRPC) that skopeo/buildah/containerd call"
KP=$(dirname "$COCO_IMG")/coco-keyprovider
"$KP" --listen 127.0.0.1:0 "${KBS[@]}" 2>"$DEMO_DIR/keyprovider.log" &
kp_pid=$!
trap 'kill $reg_pid $kbs_pid $kp_pid 2>/dev/null || true; gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "on port" "$DEMO_DIR/keyprovider.log" 2>/dev/null && break; sleep 0.1; done
kp_port=$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$DEMO_DIR/keyprovider.log")
printf '{"key-providers":{"attestation-agent":{"grpc":"127.0.0.1:%s"}}}\n' "$kp_port" >"$DEMO_DIR/ocicrypt.conf"
run cat "$DEMO_DIR/ocicrypt.conf"
export OCICRYPT_KEYPROVIDER_CONFIG=$DEMO_DIR/ocicrypt.conf
# no keypath: the plugin fetches the KEK from the KBS after attestation
run "$COCO_IMG" encrypt --recipient "provider:attestation-agent:keyid=kbs:///default/key/demo-kek" \
    "oci:$DEMO_DIR/layout:demo" "oci:$DEMO_DIR/kp:demo"
run "$COCO_IMG" decrypt --key provider:attestation-agent "oci:$DEMO_DIR/kp:demo" "oci:$DEMO_DIR/kp-plain:demo"
[ "$("$COCO_IMG" inspect "oci:$DEMO_DIR/kp-plain:demo" | jq -c .Layers)" = \
  "$("$COCO_IMG" inspect "oci:$DEMO_DIR/layout:demo" | jq -c .Layers)" ] ||
    { echo "the plugin round trip changed the layers" >&2; exit 1; }
echo "decrypted through coco-keyprovider: the layers are the original ones"
unset OCICRYPT_KEYPROVIDER_CONFIG
kill -TERM "$kp_pid" && wait "$kp_pid"

step "the data case: a file encrypted with a key that only the KBS holds"
openssl rand -hex 32 >"$DEMO_DIR/data.key"
mkdir -p "$DEMO_DIR/kbs/res/default/data"
cp "$DEMO_DIR/data.key" "$DEMO_DIR/kbs/res/default/data/input-key"
printf 'id,value\n1,confidential\n' >"$DEMO_DIR/input.csv"
run openssl enc -aes-256-cbc -pbkdf2 -pass "file:$DEMO_DIR/data.key" -in "$DEMO_DIR/input.csv" \
    -out "$DEMO_DIR/input.csv.enc"
rm -f "$DEMO_DIR/data.key"
echo "in the guest: attest, fetch the key, decrypt the input"
run "$COCO_IMG" get-resource "${KBS[@]}" -o "$DEMO_DIR/guest.key" kbs:///default/data/input-key
run openssl enc -d -aes-256-cbc -pbkdf2 -pass "file:$DEMO_DIR/guest.key" -in "$DEMO_DIR/input.csv.enc"

step "done"
echo "built $COCO_IMG; the images, archive, key and bundle are in $DEMO_DIR"
