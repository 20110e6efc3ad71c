#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# coco-img inspect / copy against skopeo and umoci on locally built images.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
fx_need skopeo umoci jq sha256sum

T=$T_TMP
export TMPDIR=$T
FIELDS='{Digest, RepoTags, Created, DockerVersion, Labels, Architecture, Os, Layers, Env}'

fx_umoci_image "$T/src" v1 || skip_all "could not build the umoci fixture"
skopeo copy -q oci:"$T/src":v1 oci:"$T/sk":v1 >/dev/null || skip_all "skopeo copy failed"
fx_multiarch "$T/ma" multi
fx_docker "$T/dk" v2s2 || skip_all "could not build the docker fixture"

case "$(uname -m)" in
x86_64) HOST=amd64 ;; aarch64) HOST=arm64 ;; *) HOST=$(uname -m) ;;
esac

# same_inspect IMG [SKOPEO-ARGS...]: coco-img and skopeo agree on FIELDS
same_inspect() {
    local img=$1; shift
    local a b
    a=$("$COCO_IMG" inspect "${COCO_ARGS[@]}" "$img" | jq -S "$FIELDS") || return 1
    b=$(skopeo inspect "$@" "$img" | jq -S "$FIELDS") || return 1
    [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); return 1; }
}
COCO_ARGS=()
# files IMG-LAYOUT:REF OUT: the unpacked file list (umoci --rootless)
files() {
    local b
    b=$(mktemp -d "$T/unpack.XXXXXX")
    umoci unpack --rootless --image "$1" "$b/bundle" >/dev/null 2>&1 || return 1
    (cd "$b/bundle/rootfs" && find . | sort) >"$2"
}
digest_of() { skopeo inspect "$1" | jq -r .Digest; }
same_digest() { [ "$(digest_of "$1")" = "$(digest_of "$2")" ]; }
raw_same() { cmp <("$COCO_IMG" inspect --raw "$1") <(skopeo inspect --raw "$2"); }

export T
export -f files digest_of same_digest fx_listing
files "$T/sk:v1" "$T/files.src" || skip_all "umoci unpack failed"

plan 32

ok "inspect agrees with skopeo inspect" same_inspect oci:"$T/sk":v1
ok "inspect output has skopeo's field order" \
    bash -c '"$0" inspect "$1" | jq -e "keys_unsorted == [\"Digest\",\"RepoTags\",\"Created\",\"DockerVersion\",\"Labels\",\"Architecture\",\"Os\",\"Layers\",\"LayersData\",\"Env\"]"' \
    "$COCO_IMG" oci:"$T/sk":v1
ok "LayersData matches the manifest layers" \
    bash -c 'diff <("$0" inspect "$1" | jq -c "[.LayersData[] | {MIMEType, Digest, Size}]") <(skopeo inspect --raw "$1" | jq -c "[.layers[] | {MIMEType: .mediaType, Digest: .digest, Size: .size}]")' \
    "$COCO_IMG" oci:"$T/sk":v1
ok "inspect --raw is the manifest, byte for byte" raw_same oci:"$T/sk":v1 oci:"$T/sk":v1
ok "inspect --config --raw is the config blob" \
    cmp <("$COCO_IMG" inspect --config --raw oci:"$T/sk":v1) <(skopeo inspect --config --raw oci:"$T/sk":v1)
ok "inspect --config prints the config JSON" \
    bash -c '"$0" inspect --config "$1" | jq -e ".config.Env == [\"FOO=bar\",\"PATH=/bin\"]"' \
    "$COCO_IMG" oci:"$T/sk":v1

ok "copy oci -> oci" "$COCO_IMG" copy oci:"$T/sk":v1 oci:"$T/o1":v1
ok "copied image keeps its digest" same_digest oci:"$T/sk":v1 oci:"$T/o1":v1
ok "copied image unpacks with umoci like the source" \
    bash -c 'files "$0" "$1" && diff "$1" "$2"' "$T/o1:v1" "$T/files.o1" "$T/files.src"
ok "copy oci -> oci-archive" "$COCO_IMG" copy oci:"$T/sk":v1 oci-archive:"$T/a.tar":v1
ok "skopeo reads the archive" same_digest oci:"$T/sk":v1 oci-archive:"$T/a.tar":v1
ok "no staging files left next to the archive" \
    bash -c '[ -z "$(ls -A "$0" | grep tmp-)" ]' "$T"
ok "copy oci-archive -> oci" "$COCO_IMG" copy oci-archive:"$T/a.tar":v1 oci:"$T/o2":v2
ok "round trip unpacks like the source" \
    bash -c 'same_digest oci:"$0":v2 oci:"$1":v1 && files "$0:v2" "$2" && diff "$2" "$3"' \
    "$T/o2" "$T/sk" "$T/files.o2" "$T/files.src"
skopeo copy -q oci:"$T/src":v1 oci-archive:"$T/sk.tar":v1 >/dev/null
ok "inspect reads a skopeo oci-archive" same_inspect oci-archive:"$T/sk.tar":v1

# multi-arch
ok "inspect of an index picks the host platform like skopeo" same_inspect oci:"$T/ma":multi
COCO_ARGS=(--platform linux/arm64)
ok "inspect --platform linux/arm64" same_inspect oci:"$T/ma":multi --override-arch arm64
COCO_ARGS=()
ok "inspect --raw of an index is the index" raw_same oci:"$T/ma":multi oci:"$T/ma":multi
ok "copy --all" "$COCO_IMG" copy --all oci:"$T/ma":multi oci:"$T/mall":multi
ok "copy --all keeps the index byte for byte" raw_same oci:"$T/mall":multi oci:"$T/ma":multi
ok "copy --all copies every blob" \
    bash -c 'diff <(ls "$0/blobs/sha256") <(ls "$1/blobs/sha256")' "$T/ma" "$T/mall"
ok "copy --platform linux/arm64" \
    "$COCO_IMG" copy --platform linux/arm64 oci:"$T/ma":multi oci:"$T/marm":arm
ok "the copied manifest is the arm64 one" \
    bash -c '[ "$(skopeo inspect oci:"$0":arm | jq -r .Architecture)" = arm64 ] && [ "$(skopeo inspect --raw oci:"$0":arm | jq -r .mediaType)" = application/vnd.oci.image.manifest.v1+json ]' \
    "$T/marm"
ok "copy without --platform takes the host platform" \
    bash -c '"$0" copy oci:"$1":multi oci:"$2":h && [ "$(skopeo inspect oci:"$2":h | jq -r .Architecture)" = "$3" ]' \
    "$COCO_IMG" "$T/ma" "$T/mhost" "$HOST"

# Docker schema2
ok "inspect of a Docker schema2 image agrees with skopeo" \
    bash -c 'diff <("$0" inspect oci:"$1":v2s2 | jq -S "$2") <(skopeo inspect dir:"$1.dir" | jq -S "$2")' \
    "$COCO_IMG" "$T/dk" "$FIELDS"
ok "the Docker schema2 image has Docker media types" \
    bash -c '"$0" inspect oci:"$1":v2s2 | jq -e ".LayersData[0].MIMEType == \"application/vnd.docker.image.rootfs.diff.tar.gzip\""' \
    "$COCO_IMG" "$T/dk"
ok "copy of a Docker schema2 image keeps the manifest bytes and blobs" \
    bash -c '"$0" copy oci:"$1":v2s2 oci:"$2":d && cmp <("$0" inspect --raw oci:"$2":d) "$1.dir/manifest.json" && diff <(ls "$1/blobs/sha256") <(ls "$2/blobs/sha256")' \
    "$COCO_IMG" "$T/dk" "$T/dcopy"
ok "a Docker schema2 image copied to an archive reads back" \
    bash -c '"$0" copy oci:"$1":v2s2 oci-archive:"$2":d && [ "$("$0" inspect oci-archive:"$2":d | jq -r .Digest)" = "$("$0" inspect oci:"$1":v2s2 | jq -r .Digest)" ]' \
    "$COCO_IMG" "$T/dk" "$T/dk.tar"

# several refs in one layout, replacing a ref, the unnamed entry
ok "several refs in one layout" \
    bash -c '"$0" copy oci:"$1":v1 oci:"$2":a && "$0" copy oci:"$3":v2s2 oci:"$2":b && "$0" copy --platform linux/arm64 oci:"$4":multi oci:"$2":c && [ "$(jq "[.manifests[].annotations[\"org.opencontainers.image.ref.name\"]] | sort == [\"a\",\"b\",\"c\"]" "$2/index.json")" = true ] && same_digest oci:"$2":a oci:"$1":v1 && [ "$("$0" inspect oci:"$2":b | jq -r .Digest)" = "$("$0" inspect oci:"$3":v2s2 | jq -r .Digest)" ]' \
    "$COCO_IMG" "$T/sk" "$T/many" "$T/dk" "$T/ma"
ok "replacing a ref keeps one entry per ref" \
    bash -c '"$0" copy --platform linux/arm64 oci:"$1":multi oci:"$2":a && [ "$(jq ".manifests | length" "$2/index.json")" = 3 ] && [ "$(skopeo inspect oci:"$2":a | jq -r .Architecture)" = arm64 ] && [ "$("$0" inspect oci:"$2":b | jq -r .Digest)" = "$("$0" inspect oci:"$3":v2s2 | jq -r .Digest)" ]' \
    "$COCO_IMG" "$T/ma" "$T/many" "$T/dk"
ok "a destination without ref replaces the unnamed entry" \
    bash -c '"$0" copy oci:"$1":v1 oci:"$2" && "$0" copy oci:"$3":v2s2 oci:"$2" && [ "$(jq ".manifests | length" "$2/index.json")" = 1 ] && [ "$("$0" inspect oci:"$2" | jq -r .Digest)" = "$("$0" inspect oci:"$3":v2s2 | jq -r .Digest)" ]' \
    "$COCO_IMG" "$T/sk" "$T/noref" "$T/dk"
ok "copying again skips present blobs and changes nothing" \
    bash -c 'before=$(fx_listing "$1"); "$0" copy oci:"$2":v1 oci:"$1":v1 && [ "$before" = "$(fx_listing "$1")" ]' \
    "$COCO_IMG" "$T/o1" "$T/sk"
done_testing
