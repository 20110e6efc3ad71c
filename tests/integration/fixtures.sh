# SPDX-License-Identifier: Apache-2.0
# Small test images built locally, without network.  Source after tests/lib.sh.
#
#   fx_umoci_image LAYOUT REF   2 layers (/etc/hello, /bin/tool), config with
#                               Env, Cmd, Labels, fixed Created; via umoci
#   fx_multiarch LAYOUT REF     an index with linux/amd64 and linux/arm64
#                               manifests (one layer each), written by hand
#   fx_docker LAYOUT REF        a Docker schema2 manifest in an OCI layout, made
#                               from skopeo copy --format v2s2 of fx_umoci_image
#                               to dir:LAYOUT.dir (skopeo reads that one back)
#   fx_put_blob LAYOUT FILE     store FILE as a blob; prints "sha256:HEX SIZE"
#   fx_listing DIR              checksum listing of every file under DIR

fx_need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
    done
}

fx_umoci_image() {
    local layout=$1 ref=$2 root
    root=$(mktemp -d "$T_TMP/rootfs.XXXXXX")
    mkdir -p "$root/etc" "$root/bin"
    echo "hello from coco-img" >"$root/etc/hello"
    printf '#!/bin/sh\necho tool\n' >"$root/bin/tool"
    chmod 755 "$root/bin/tool"
    [ -e "$layout/oci-layout" ] || umoci init --layout "$layout" >/dev/null
    umoci new --image "$layout:$ref" >/dev/null
    umoci insert --rootless --image "$layout:$ref" "$root/etc" /etc >/dev/null
    umoci insert --rootless --image "$layout:$ref" "$root/bin" /bin >/dev/null
    umoci config --image "$layout:$ref" --config.env FOO=bar --config.env PATH=/bin \
        --config.cmd /bin/tool --config.label org.example.a=b --config.label c=d \
        --os linux --architecture amd64 --created 2024-01-02T03:04:05Z >/dev/null
}

fx_put_blob() {
    local layout=$1 file=$2 hex size
    hex=$(sha256sum "$file" | cut -d' ' -f1)
    size=$(stat -c %s "$file")
    mkdir -p "$layout/blobs/sha256"
    cp "$file" "$layout/blobs/sha256/$hex"
    echo "sha256:$hex $size"
}

# one single-layer image for ARCH; prints the manifest descriptor JSON
_fx_arch_image() {
    local layout=$1 arch=$2 work d cfg layer diffid ls lsize mf
    work=$(mktemp -d "$T_TMP/arch.XXXXXX")
    mkdir -p "$work/root/etc"
    echo "$arch" >"$work/root/etc/arch"
    tar -C "$work/root" --owner=0 --group=0 --mtime=@0 -cf "$work/layer.tar" etc
    diffid=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
    gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"
    read -r layer lsize < <(fx_put_blob "$layout" "$work/layer.tar.gz")
    jq -nc --arg a "$arch" --arg d "$diffid" \
        '{created:"2024-02-03T04:05:06Z",architecture:$a,os:"linux",
          config:{Env:["ARCH=\($a)"],Labels:{arch:$a}},
          rootfs:{type:"layers",diff_ids:[$d]}}' >"$work/config.json"
    read -r cfg ls < <(fx_put_blob "$layout" "$work/config.json")
    jq -nc --arg c "$cfg" --argjson cs "$ls" --arg l "$layer" --argjson lsz "$lsize" \
        '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
          config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
          layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$l,size:$lsz}]}' \
        >"$work/manifest.json"
    read -r d mf < <(fx_put_blob "$layout" "$work/manifest.json")
    jq -nc --arg d "$d" --argjson s "$mf" --arg a "$arch" \
        '{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,
          platform:{architecture:$a,os:"linux"}}'
}

fx_multiarch() {
    local layout=$1 ref=$2 amd arm d s work
    mkdir -p "$layout/blobs/sha256"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
    amd=$(_fx_arch_image "$layout" amd64)
    arm=$(_fx_arch_image "$layout" arm64)
    work=$(mktemp -d "$T_TMP/index.XXXXXX")
    jq -nc --argjson a "$amd" --argjson b "$arm" \
        '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:[$a,$b]}' \
        >"$work/index.json"
    read -r d s < <(fx_put_blob "$layout" "$work/index.json")
    jq -nc --arg d "$d" --argjson s "$s" --arg r "$ref" \
        '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.index.v1+json",
          digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":$r}}]}' \
        >"$layout/index.json"
}

fx_docker() {
    local layout=$1 ref=$2 src dir f d s
    src=$(mktemp -d "$T_TMP/dsrc.XXXXXX")/l
    fx_umoci_image "$src" base
    # skopeo writes Docker media types into an OCI layout but its oci: source
    # only reads OCI ones, so the layout is assembled from a dir: copy, which
    # skopeo can read back for comparisons ($layout.dir).
    dir=$layout.dir
    skopeo copy -q --format v2s2 "oci:$src:base" "dir:$dir" >/dev/null || return 1
    mkdir -p "$layout/blobs/sha256"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
    for f in "$dir"/*; do
        case "${f##*/}" in manifest.json | version) ;; *) fx_put_blob "$layout" "$f" >/dev/null ;; esac
    done
    read -r d s < <(fx_put_blob "$layout" "$dir/manifest.json")
    jq -nc --arg d "$d" --argjson s "$s" --arg r "$ref" \
        '{schemaVersion:2,manifests:[{mediaType:"application/vnd.docker.distribution.manifest.v2+json",
          digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":$r}}]}' \
        >"$layout/index.json"
}

fx_listing() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
