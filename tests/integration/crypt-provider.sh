#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key provider of the library (cocoimg_keyprovider, where a guest agent
# plugs in attestation): layers whose key is wrapped only in a
# keys.provider.<name> annotation decrypt and unpack through its unwrap; a
# provider that has no key leaves nothing behind; the provider's own error
# message reaches the caller; provider:NAME recipients encrypt through its
# wrap, and the result decrypts again (and with the JWE key it also has).
. "$top_srcdir/tests/lib.sh"
V="$OCI_VECTORS"
[ -d "$V/layouts" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"
TOOL="$top_builddir/tests/unit/keyprovider_tool"
K="$V/keys"
cd "$T_TMP" || exit 1
plan 14

# enc-jwe-rsa with its JWE keys replaced by provider "test" items (and a foreign provider)
provider_layout() { # DIR PREFIX
    cp -r "$V/layouts/enc-jwe-rsa" "$1"
    python3 - "$1" "$2" "$V/expected.json" <<'PY'
import base64, hashlib, json, os, sys
d, prefix, exp = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))["enc-jwe-rsa"]
blob = lambda dg: os.path.join(d, "blobs", *dg.split(":"))
ix = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(blob(ix["manifests"][0]["digest"])))
for i, l in enumerate(m["layers"]):
    a = l["annotations"]
    del a["org.opencontainers.image.enc.keys.jwe"]
    a["org.opencontainers.image.enc.keys.provider.other"] = base64.b64encode(b"nope").decode()
    a["org.opencontainers.image.enc.keys.provider.test"] = base64.b64encode(
        prefix.encode() + exp[i]["privopts"].encode()).decode()
data = json.dumps(m, separators=(",", ":")).encode()
dg = "sha256:" + hashlib.sha256(data).hexdigest()
open(blob(dg), "wb").write(data)
ix["manifests"][0].update(digest=dg, size=len(data))
json.dump(ix, open(os.path.join(d, "index.json"), "w"))
PY
}
provider_layout good TEST:
provider_layout wrong WRONG:
provider_layout deny DENY:

ok "decrypt through the callback gives skopeo's manifest" bash -c '
    "$1" decrypt oci:good:v1 oci:out:v1 &&
    [ "sha256:$("$COCO_IMG" inspect --raw oci:out:v1 | sha256sum | cut -d" " -f1)" = \
      sha256:b1af2547db922e034225b06de8b96713423415323df18ce8d495fab98ea61b49 ]' _ "$TOOL"
ok "unpack through the callback" bash -c '"$1" unpack oci:good:v1 bundle && [ -d bundle/rootfs ] &&
    [ -f bundle/config.json ]' _ "$TOOL"
fails "a provider without the key: no usable key (ENOKEY)" 10 "$TOOL" decrypt oci:wrong:v1 oci:out2:v1
ok "... and nothing written" test ! -e out2
fails "unpack without the key leaves no bundle" 10 bash -c '"$1" unpack oci:wrong:v1 bundle2; rc=$?
    [ -e bundle2 ] || ls -d bundle2.tmp-* 2>/dev/null && exit 99; exit $rc' _ "$TOOL"

# the provider's reason reaches the user, with its code (EAUTH = 9)
fails "a provider that refuses: its code" 9 bash -c '"$1" decrypt oci:deny:v1 oci:out3:v1 2>err3' _ "$TOOL"
ok "... and its message" grep -q "key provider 'test': key service says:" err3
ok "... and nothing written" test ! -e out3
fails "unpack: a provider that refuses" 9 bash -c '"$1" unpack oci:deny:v1 bundle3 2>err4' _ "$TOOL"
ok "... with its message" grep -q "key service says:" err4

# encrypt through the provider's wrap: keys.provider.test exactly as ocicrypt names it
ok "encrypt for provider:test and jwe" "$TOOL" encrypt oci:out:v1 oci:penc:v1 provider:test \
    "jwe:$K/rsa_pub.pem"
ok "... annotation keys.provider.test holds base64(TEST:<privopts>)" bash -c '
    "$COCO_IMG" inspect --raw oci:penc:v1 | python3 -c "
import base64, json, sys
m = json.load(sys.stdin)
for l in m[\"layers\"]:
    a = l[\"annotations\"]
    v = base64.b64decode(a[\"org.opencontainers.image.enc.keys.provider.test\"])
    assert v.startswith(b\"TEST:\") and json.loads(v[5:])[\"symkey\"], v
    assert \"org.opencontainers.image.enc.keys.jwe\" in a, a
"'
ok "... decrypts through the provider's unwrap" bash -c '"$1" decrypt oci:penc:v1 oci:pdec:v1 &&
    [ "sha256:$("$COCO_IMG" inspect --raw oci:pdec:v1 | sha256sum | cut -d" " -f1)" = \
      sha256:b1af2547db922e034225b06de8b96713423415323df18ce8d495fab98ea61b49 ]' _ "$TOOL"
fails "a provider that refuses to wrap: its code, nothing written" 9 bash -c '
    "$1" encrypt oci:out:v1 oci:penc2:v1 provider:test:deny 2>err5; rc=$?
    [ -e penc2 ] && exit 99; grep -q "key service refuses to wrap" err5 || exit 98; exit $rc' _ "$TOOL"
done_testing
