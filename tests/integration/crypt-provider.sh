#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key-provider unwrap callback of the library (where a guest agent plugs
# in attestation): layers whose key is wrapped only in a
# keys.provider.<name> annotation decrypt and unpack through the callback;
# a provider that has no key leaves nothing behind.
. "$top_srcdir/tests/lib.sh"
V="$OCI_VECTORS"
[ -d "$V/layouts" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"
TOOL="$top_builddir/tests/unit/unwrap_cb_tool"
cd "$T_TMP" || exit 1
plan 5

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
done_testing
