#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# containers-registries.conf(5) v2 with two of Debian's docker-registry on
# 127.0.0.1: an upstream registry and a pull-through cache of it
# (docker-registry's proxy mode), plus a mirror that does not answer.  A
# [[registry]] prefix rewritten to the upstream with mirrors tried in order
# (the dead one skipped, the cache serving: its access log and the upstream's
# show it), the policy checked with the reference the user wrote (never the
# mirror's), mirror-by-digest-only and pull-from-mirror, insecure, blocked,
# a push going to the rewritten location (never to a mirror), drop-ins
# overriding the main file, short names (aliases, one unqualified-search
# registry, an ambiguous list refused), skopeo reading the same file
# agreeing on the digests, and invalid files refused with file, line and
# field.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need docker-registry skopeo umoci jq python3 curl
[ "$(id -u)" -eq 0 ] || skip_all "needs root (owners; umoci without --rootless)"

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
CI=$COCO_IMG
plan 41

PU=$(free_port)
PC=$(free_port)
PD=$(free_port) # nothing listens here
while [ "$PD" = "$PU" ] || [ "$PD" = "$PC" ]; do PD=$(free_port); done
start_registry upstream "$PU"
start_registry cache "$PC" "proxy:
  remoteurl: http://127.0.0.1:$PU"
U=127.0.0.1:$PU
C=127.0.0.1:$PC
D=127.0.0.1:$PD

fx_umoci_image "$T/oci" v1
"$CI" copy --dest-tls-verify=false "oci:$T/oci:v1" "docker://$U/app/img:v1" >/dev/null 2>&1 ||
    bail_out "cannot push the test image"
DIGEST=sha256:$("$CI" inspect --raw --tls-verify=false "docker://$U/app/img:v1" | sha256sum | cut -d' ' -f1)
umoci unpack --image "$T/oci:v1" "$T/ref-bundle" >/dev/null 2>&1 || bail_out "umoci unpack"
COMPARE="python3 $top_srcdir/tests/integration/tree-compare.py"

# access-log lines of a registry since a mark: mark NAME; since NAME
mark() { wc -l <"$T/$1/log" >"$T/$1.mark"; }
since() { tail -n +"$(($(cat "$T/$1.mark") + 1))" "$T/$1/log"; }
export -f since
export T

conf() { # conf FILE: the standard configuration, mirrors as given in $MIRRORS
    cat >"$1" <<EOF
# the logical name example.test/app is served by the upstream registry
[[registry]]
prefix = "example.test/app"
location = "$U/app"
insecure = true
$EXTRA
$MIRRORS
EOF
}
export COCOIMG_POLICY=$T/accept.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$T/accept.json"

# === mirrors in order, the cache serves ==================================
MIRRORS="[[registry.mirror]]
location = \"$D/app\"
insecure = true
[[registry.mirror]]
location = \"$C/app\"
insecure = true" EXTRA="" conf "$T/r1.conf"
mark cache
mark upstream
ok "pull through the mirrors: the dead one is skipped, the cache serves" \
    "$CI" pull --registries-conf "$T/r1.conf" docker://example.test/app/img:v1 "$T/b1"
ok "  ... the bundle's rootfs equals umoci's unpack of the image" \
    $COMPARE "$T/ref-bundle/rootfs" "$T/b1/rootfs"
ok "  ... the cache saw the manifest and the blobs" \
    bash -c "since cache | grep -q 'GET /v2/app/img/manifests/v1' && since cache | grep -q 'GET /v2/app/img/blobs/'"
ok "  ... and the upstream only the cache's requests (no client went there directly)" \
    bash -c "since upstream | grep -q '/v2/app/img/' && ! since upstream | grep 'coco-img/' | grep -q '/v2/app/img/'"
ok "  ... --debug names the mirror that failed and the one that served" \
    bash -c "'$CI' --debug inspect --registries-conf '$T/r1.conf' docker://example.test/app/img:v1 2>&1 >/dev/null |
             grep -q 'mirror $D/app/img' && '$CI' --debug inspect --registries-conf '$T/r1.conf' docker://example.test/app/img:v1 2>&1 >/dev/null | grep -q 'pulled from mirror $C/app/img'"
ok "inspect through the mirror names the image as written" \
    bash -c "[ \"\$('$CI' inspect --registries-conf '$T/r1.conf' docker://example.test/app/img:v1 | jq -r '.Name + \" \" + .Digest')\" = 'example.test/app/img $DIGEST' ]"
ok "skopeo --registries-conf with the same file sees the same digest" \
    bash -c "[ \"\$(skopeo --registries-conf '$T/r1.conf' inspect --no-tags docker://example.test/app/img:v1 | jq -r .Digest)\" = '$DIGEST' ]"
ok "\$CONTAINERS_REGISTRIES_CONF is read as --registries-conf is" \
    env CONTAINERS_REGISTRIES_CONF="$T/r1.conf" "$CI" inspect --raw docker://example.test/app/img:v1

# === the policy sees the reference the user wrote ========================
cat >"$T/reject-logical.json" <<EOF
{"default":[{"type":"insecureAcceptAnything"}],
 "transports":{"docker":{"example.test/app":[{"type":"reject"}]}}}
EOF
cat >"$T/reject-physical.json" <<EOF
{"default":[{"type":"reject"}],
 "transports":{"docker":{"example.test/app/img":[{"type":"insecureAcceptAnything"}],
                         "$C":[{"type":"reject"}], "$U":[{"type":"reject"}]}}}
EOF
fails "a policy rejecting example.test/app refuses the pull through the mirror (exit 3)" 3 \
    "$CI" pull --policy "$T/reject-logical.json" --registries-conf "$T/r1.conf" \
    docker://example.test/app/img:v1 "$T/b2"
ok "  ... and leaves no bundle" test ! -e "$T/b2"
ok "a policy rejecting the mirror's and the upstream's hosts does not apply (the name written does)" \
    "$CI" pull --policy "$T/reject-physical.json" --registries-conf "$T/r1.conf" \
    docker://example.test/app/img:v1 "$T/b3"

# === fallback ============================================================
MIRRORS="[[registry.mirror]]
location = \"$D/app\"
insecure = true" EXTRA="" conf "$T/r2.conf"
ok "only a dead mirror: the registry itself serves" \
    "$CI" inspect --raw --registries-conf "$T/r2.conf" docker://example.test/app/img:v1
cat >"$T/r3.conf" <<EOF
[[registry]]
prefix = "example.test/app"
location = "$D/app"
insecure = true
[[registry.mirror]]
location = "$D/other"
insecure = true
EOF
fails "every endpoint dead: an error naming the mirror and the registry" 1 \
    "$CI" inspect --raw --registries-conf "$T/r3.conf" docker://example.test/app/img:v1
ok "  ... both are in the message" \
    bash -c "grep -q '$D/app/img' '$T/out.$((T_NUM))' && grep -q 'after mirrors: $D/other/img' '$T/out.$((T_NUM))'"
cat >"$T/r4.conf" <<EOF
[[registry]]
prefix = "example.test/app"
location = "$U/app"
insecure = true
[[registry.mirror]]
location = "$U/nothing-here"
insecure = true
EOF
ok "a mirror without the image (404): the registry serves" \
    "$CI" inspect --raw --registries-conf "$T/r4.conf" docker://example.test/app/img:v1

# === mirror-by-digest-only, pull-from-mirror =============================
MIRRORS="[[registry.mirror]]
location = \"$C/app\"
insecure = true" EXTRA="mirror-by-digest-only = true" conf "$T/r5.conf"
mark cache
ok "mirror-by-digest-only: a pull by tag goes to the registry" \
    "$CI" inspect --raw --registries-conf "$T/r5.conf" docker://example.test/app/img:v1
ok "  ... the cache saw nothing" bash -c "! since cache | grep -q '/v2/app/img/'"
mark cache
ok "mirror-by-digest-only: a pull by digest uses the mirror" \
    "$CI" inspect --raw --registries-conf "$T/r5.conf" "docker://example.test/app/img@$DIGEST"
ok "  ... the cache saw the manifest by digest" \
    bash -c "since cache | grep -q 'GET /v2/app/img/manifests/$DIGEST'"
MIRRORS="[[registry.mirror]]
location = \"$C/app\"
insecure = true
pull-from-mirror = \"digest-only\"" EXTRA="" conf "$T/r6.conf"
mark cache
ok "pull-from-mirror = digest-only: by tag the mirror is not used" \
    bash -c "'$CI' inspect --raw --registries-conf '$T/r6.conf' docker://example.test/app/img:v1 >/dev/null &&
             ! since cache | grep -q '/v2/app/img/'"
MIRRORS="[[registry.mirror]]
location = \"$C/app\"
insecure = true
pull-from-mirror = \"tag-only\"" EXTRA="" conf "$T/r7.conf"
mark cache
ok "pull-from-mirror = tag-only: by tag the mirror is used" \
    bash -c "'$CI' inspect --raw --registries-conf '$T/r7.conf' docker://example.test/app/img:v1 >/dev/null &&
             since cache | grep -q 'GET /v2/app/img/manifests/v1'"

# === insecure, blocked, push =============================================
cat >"$T/r8.conf" <<EOF
[[registry]]
location = "$U"
insecure = false
EOF
fails "insecure = false: TLS is required (the plain-HTTP registry is refused)" '*' \
    "$CI" inspect --raw --registries-conf "$T/r8.conf" "docker://$U/app/img:v1"
cat >"$T/r9.conf" <<EOF
[[registry]]
location = "$U"
insecure = true
EOF
ok "insecure = true: plain HTTP without --tls-verify=false" \
    "$CI" inspect --raw --registries-conf "$T/r9.conf" "docker://$U/app/img:v1"
MIRRORS="" EXTRA="blocked = true" conf "$T/r10.conf"
fails "blocked = true: refused (exit 3)" 3 \
    "$CI" pull --registries-conf "$T/r10.conf" docker://example.test/app/img:v1 "$T/b4"
ok "  ... the message says blocked and names the file" \
    grep -q "blocked in registries.conf $T/r10.conf" "$T/out.$T_NUM"
ok "  ... and no bundle" test ! -e "$T/b4"
fails "a blocked registry is not pushed to either (exit 3)" 3 \
    "$CI" copy --registries-conf "$T/r10.conf" "oci:$T/oci:v1" docker://example.test/app/pushed:v1
MIRRORS="[[registry.mirror]]
location = \"$C/app\"
insecure = true" EXTRA="" conf "$T/r11.conf"
ok "a push goes to the rewritten location, never to a mirror" \
    "$CI" copy --registries-conf "$T/r11.conf" "oci:$T/oci:v1" docker://example.test/app/pushed:v2
ok "  ... the upstream has app/pushed:v2" \
    curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$U/v2/app/pushed/manifests/v2"

# === drop-ins and short names ============================================
mkdir -p "$T/home/.config/containers/registries.conf.d"
cat >"$T/home/.config/containers/registries.conf" <<EOF
unqualified-search-registries = ["$U", "docker.io"]
short-name-mode = "enforcing"
[[registry]]
location = "$U"
insecure = true
[aliases]
"myimg" = "$U/app/img"
EOF
fails "a short name with two unqualified-search registries is refused (exit 2)" 2 \
    env -u CONTAINERS_REGISTRIES_CONF "$CI" inspect --raw docker://app/img:v1
ok "  ... the message says ambiguous and how to fix it" \
    grep -q "ambiguous.*fully qualified name" "$T/out.$T_NUM"
ok "an alias from the user's registries.conf resolves a short name" \
    env -u CONTAINERS_REGISTRIES_CONF "$CI" inspect --raw docker://myimg:v1
cat >"$T/home/.config/containers/registries.conf.d/50-search.conf" <<EOF
unqualified-search-registries = ["$U"]
EOF
ok "a drop-in replaces the search list: the only registry is used" \
    bash -c "[ \"\$(env -u CONTAINERS_REGISTRIES_CONF '$CI' inspect docker://app/img:v1 | jq -r .Digest)\" = '$DIGEST' ]"
cat >"$T/home/.config/containers/registries.conf.d/60-alias.conf" <<EOF
[aliases]
"myimg" = "$U/app/nothing"
EOF
fails "a later drop-in redefines an alias (the new target has no image: exit 4)" 4 \
    env -u CONTAINERS_REGISTRIES_CONF "$CI" inspect --raw docker://myimg:v1
cat >"$T/alias.conf" <<EOF
short-name-mode = "enforcing"
[aliases]
"myimg" = "example.test/app/img"
[[registry]]
prefix = "example.test/app"
location = "$U/app"
insecure = true
EOF
cat >"$T/policy-alias.json" <<EOF
{"default":[{"type":"reject"}],
 "transports":{"docker":{"example.test/app/img":[{"type":"insecureAcceptAnything"}]}}}
EOF
ok "a short name's policy scope is the name it resolved to" \
    "$CI" pull --policy "$T/policy-alias.json" --registries-conf "$T/alias.conf" docker://myimg:v1 "$T/b5"

# === invalid files =======================================================
printf '[[registry]]\nlocation = "%s"\nmirorr = 1\n' "$U" >"$T/bad1.conf"
fails "an unknown field is an error naming file and field (exit 1)" 1 \
    "$CI" inspect --raw --registries-conf "$T/bad1.conf" "docker://$U/app/img:v1"
ok "  ... registry[0]: unknown field 'mirorr'" grep -q "bad1.conf: registry\[0\]: unknown field 'mirorr'" "$T/out.$T_NUM"
printf '[registries.search]\nregistries = ["docker.io"]\n' >"$T/bad2.conf"
fails "the version 1 format is refused" 1 \
    "$CI" inspect --raw --registries-conf "$T/bad2.conf" "docker://$U/app/img:v1"
printf 'unqualified-search-registries = ["a.io"\n\n[aliases]\n"x" = "a.io/x"\n"x" = "b.io/x"\n' >"$T/bad3.conf"
fails "a TOML error names the line" 1 \
    "$CI" inspect --raw --registries-conf "$T/bad3.conf" "docker://$U/app/img:v1"
printf '[[registry]]\nlocation = "https://%s"\n' "$U" >"$T/bad4.conf"
fails "a location with a URI scheme is refused" 1 \
    "$CI" inspect --raw --registries-conf "$T/bad4.conf" "docker://$U/app/img:v1"
fails "a missing --registries-conf file is an error (exit 4)" 4 \
    "$CI" inspect --raw --registries-conf "$T/none.conf" "docker://$U/app/img:v1"

done_testing
