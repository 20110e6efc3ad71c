#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bash completion (contrib/completion/coco-img): commands, each
# command's options as its --help lists them, file arguments of options,
# and the transports of image references.
. "$top_srcdir/tests/lib.sh"

T=$T_TMP
mkdir -p "$T/bin" "$T/imgs/layout1" && ln -s "$COCO_IMG" "$T/bin/coco-img"
# complete WORD...: what bash offers for the last word of "coco-img WORD..."
complete_words() {
    PATH="$T/bin:$PATH" bash -c '
        source "$1"; shift
        COMP_WORDS=(coco-img "$@"); COMP_CWORD=$#
        compopt() { :; }
        _coco_img
        printf "%s\n" "${COMPREPLY[@]}"' _ "$top_srcdir/contrib/completion/coco-img" "$@"
}
export -f complete_words
export T COCO_IMG
plan 11

ok "bash loads it and registers _coco_img for coco-img" bash -c '
    source "$1" && complete -p coco-img | grep -q _coco_img' _ "$top_srcdir/contrib/completion/coco-img"
ok "commands: every command of --help, e.g. pull, unpack, get-resource" bash -c '
    out=$(complete_words ""); for c in inspect copy encrypt decrypt layerinfo pull unpack get-resource; do
        grep -qx "$c" <<<"$out" || { echo "$c missing: $out"; exit 1; }; done'
ok "a prefix: 'de' gives decrypt only" bash -c '[ "$(complete_words de)" = decrypt ]'
ok "options of pull include --jobs and --max-layer-size, and not --recipient" bash -c '
    out=$(complete_words pull --); grep -qx -- --jobs <<<"$out" && grep -qx -- --max-layer-size <<<"$out" &&
    ! grep -qx -- --recipient <<<"$out"'
ok "every option of encrypt --help is offered" bash -c '
    want=$("$COCO_IMG" encrypt --help | grep -oE -- "(^|[ ,])--[a-z][a-z0-9.-]*[a-z0-9]" | sed -E "s/^[ ,]//" | sort -u)
    got=$(complete_words encrypt -- | sed "s/=\$//" | sort -u)
    [ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got"); exit 1; }'
ok "help completes command names" bash -c '[ "$(complete_words help unp)" = unpack ]'
ok "a reference starts with a transport" bash -c '
    out=$(complete_words copy ""); grep -qx "oci:" <<<"$out" && grep -qx "docker://" <<<"$out"'
ok "oci: completes paths" bash -c 'cd "$1" && [ "$(complete_words copy oci:imgs/lay)" = "oci:imgs/layout1" ]' _ "$T"
ok "--key completes file names" bash -c '
    cd "$1" && touch key.pem && [ "$(complete_words decrypt --key ke)" = key.pem ]' _ "$T"
ok "--attester values: auto tdx snp sample" bash -c '
    [ "$(complete_words get-resource --attester "" | tr "\n" " ")" = "auto tdx snp sample " ]'
ok "--init-data takes a file" bash -c '
    touch "$T/init.toml"; cd "$T" && complete_words pull --init-data ini | grep -qx init.toml'
done_testing
