#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# coco-img unpack of hostile images, made entry by entry with mkimage.py
# (their digests and diffIDs are valid: only the content is hostile):
# '..' in member names, whiteouts and hardlink targets is refused and
# leaves nothing; an /etc/passwd that is a fifo fails instead of hanging;
# a "./" entry cannot change the rootfs; trusted.* and overlay xattrs are
# dropped; setuid/setgid are dropped when not root (unless --keep-setid);
# a decompression bomb stops at --max-layer-size or the default cap;
# SIGTERM removes the staging directory, which is 0700 while being built.
. "$top_srcdir/tests/lib.sh"

command -v python3 >/dev/null || skip_all "python3 not installed"
command -v zstd >/dev/null || skip_all "zstd not installed"

cd "$T_TMP" || exit 1
MK="python3 $top_srcdir/tests/integration/mkimage.py"
CI=$COCO_IMG
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
plan 34

# mk NAME SPEC: the image oci:NAME:t from the JSON SPEC (see mkimage.py)
mk() { printf '%s\n' "$2" >"$1.json" && $MK "$1" "$1.json"; }
nothing_left() { [ ! -e "$1" ] && [ -z "$(ls -d "$1".tmp-* 2>/dev/null)" ]; }
said() { grep -q -- "$1" "$T_TMP/out.$((T_NUM - 1))"; } # in the output of the test before
skip_one() { T_NUM=$((T_NUM + 1)); echo "ok $T_NUM - $1 # SKIP $2"; }
# refused NAME SPEC WORDS: unpacking it fails (exit 1) saying WORDS, nothing is left
refused() {
    local name=$1 spec=$2 words=$3
    mk "$name" "$spec" || { echo "mkimage failed"; return 1; }
    "$CI" unpack "oci:$name:t" "B-$name" >"$name.out" 2>&1
    local rc=$?
    cat "$name.out"
    [ "$rc" -eq 1 ] && grep -q -- "$words" "$name.out" && nothing_left "B-$name" &&
        [ ! -e escape ] && [ -f victim/keep ]
}
mkdir victim && echo keep >victim/keep

# --- '..' is refused, never clamped into the rootfs (umoci clamps it) ----
ok "'../escape' refused, nothing left" refused dotdot \
    '{"entries":[{"name":"etc/x","data":"x"},{"name":"../escape","data":"pwned"}]}' \
    "entry '../escape': name has a '..' component"
ok "'a/../../../escape' refused" refused dotdot2 \
    '{"entries":[{"name":"a/../../../escape","data":"pwned"}]}' "'..' component"
ok "'a/../b' refused even though it stays inside" refused dotdot3 \
    '{"entries":[{"name":"a/../b","data":"b"}]}' "'..' component"
ok "directory 'd/../../victim' refused" refused dotdot4 \
    '{"entries":[{"name":"d/../../victim","type":"dir","mode":"777"}]}' "'..' component"
ok "whiteout '../.wh.victim' refused" refused wh1 \
    '{"entries":[{"name":"../.wh.victim","data":""}]}' "'..' component"
ok "whiteout 'a/../../.wh.victim' refused" refused wh2 \
    '{"entries":[{"name":"a/../../.wh.victim","data":""}]}' "'..' component"
ok "opaque whiteout '../.wh..wh..opq' refused" refused wh3 \
    '{"entries":[{"name":"../.wh..wh..opq","data":""}]}' "'..' component"
ok "whiteout of '..' refused" refused wh4 \
    '{"entries":[{"name":"a/.wh...","data":""}]}' "invalid whiteout target"
ok "hardlink to 'x/../f' refused" refused hl1 \
    '{"entries":[{"name":"f","data":"f"},{"name":"h","type":"hardlink","link":"x/../f"}]}' \
    "hardlink target 'x/../f' has a '..' component"
ok "hardlink to '../victim/keep' refused" refused hl2 \
    '{"entries":[{"name":"h","type":"hardlink","link":"../victim/keep"}]}' "'..' component"
ok "the files outside stayed" test "$(cat victim/keep)" = keep -a ! -e escape -a ! -e b

absolute() {
    mk abs '{"entries":[{"name":"/abs/x","data":"a"},{"name":"./dot/y","data":"d"},
        {"name":"a..b/...","data":"dots"},{"name":"h","type":"hardlink","link":"/abs/x"}]}' &&
        "$CI" unpack oci:abs:t B-abs || return 1
    [ "$(cat B-abs/rootfs/abs/x)" = a ] && [ "$(cat B-abs/rootfs/dot/y)" = d ] &&
        [ "$(cat B-abs/rootfs/a..b/...)" = dots ] &&
        [ "$(stat -c %i B-abs/rootfs/h)" = "$(stat -c %i B-abs/rootfs/abs/x)" ]
}
ok "absolute and ./ names (and hardlink targets) are relative to the rootfs" absolute

# --- runtime config: /etc/passwd and /etc/group only as regular files -----
fifo_db() {
    mk "$1" "{\"entries\":[{\"name\":\"etc/$2\",\"type\":\"fifo\"},
        {\"name\":\"etc/x\",\"data\":\"x\"}],\"config\":{\"User\":\"app:app\"}}" || return 1
    timeout 60 "$CI" unpack "oci:$1:t" "B-$1"
}
fails "/etc/passwd a fifo: fails at once (hung before)" 1 fifo_db fifo1 passwd
ok "... saying so" said "/etc/passwd is not a regular file"
ok "... and leaves nothing" nothing_left B-fifo1
fails "/etc/group a fifo: fails" 1 fifo_db fifo2 group
ok "... and leaves nothing" nothing_left B-fifo2
symlink_db() {
    mk sym '{"entries":[{"name":"run/p","type":"fifo"},{"name":"etc/passwd","type":"symlink",
        "link":"../run/p"}],"config":{"User":"app"}}' || return 1
    timeout 60 "$CI" unpack oci:sym:t B-sym
}
fails "/etc/passwd a symlink to a fifo: fails" 1 symlink_db
ok "... and leaves nothing" nothing_left B-sym

# --- metadata ---------------------------------------------------------------
root_entry() {
    mk rootent '{"entries":[{"name":"./","type":"dir","mode":"7777","uid":1234,"gid":1234,
        "xattrs":{"user.root":"x"}},{"name":"f","data":"f"}]}' &&
        "$CI" unpack oci:rootent:t B-rootent || return 1
    stat -c '%a %u %g' B-rootent/rootfs B-rootent
    [ "$(stat -c '%a %u' B-rootent/rootfs)" = "755 $(id -u)" ] &&
        [ "$(stat -c %a B-rootent)" = 755 ] &&
        ! getfattr -n user.root B-rootent/rootfs 2>/dev/null
}
ok "a './' entry (7777, uid 1234) leaves the rootfs 0755 and ours" root_entry

xattrs() {
    # cap_net_raw=ep, a valid v2 file capability
    local cap
    cap=$(printf '\001\000\000\002\000\040\000\000\000\040\000\000\000\000\000\000\000\000\000\000' |
        python3 -c 'import sys, json; print(json.dumps(sys.stdin.buffer.read().decode("latin-1")))')
    mk xattr "{\"entries\":[{\"name\":\"d\",\"type\":\"dir\",\"xattrs\":{\"trusted.overlay.opaque\":\"y\",
        \"user.overlay.opaque\":\"y\",\"user.ok\":\"1\"}},{\"name\":\"d/f\",\"data\":\"x\",\"mode\":\"755\",
        \"xattrs\":{\"trusted.overlay.redirect\":\"/etc\",\"trusted.foo\":\"1\",
        \"user.containers.override_stat\":\"0:0:04755\",\"security.ima\":\"x\",
        \"security.capability\":$cap,\"user.ok\":\"2\"}}]}" &&
        "$CI" unpack oci:xattr:t B-xattr || return 1
    local got
    got=$(cd B-xattr/rootfs && getfattr -h -R -d -m - --absolute-names . 2>/dev/null |
        grep -v '^#' | grep -v '^security.selinux' | grep . | sort | tr '\n' ' ')
    echo "xattrs: $got"
    [ "$got" = 'security.capability=0sAQAAAgAgAAAAIAAAAAAAAAAAAAA= user.ok="1" user.ok="2" ' ]
}
if [ $ROOT = 1 ] && command -v getfattr >/dev/null && setfattr -n trusted.probe -v 1 victim/keep 2>/dev/null; then
    ok "trusted.*, user.overlay.*, override_stat and security.ima dropped; capability kept" xattrs
else
    skip_one "trusted.* dropped" "needs root, getfattr and trusted xattrs"
fi

setid_img() {
    mk setid '{"entries":[{"name":"bin/su","data":"#!/bin/sh\n","mode":"4755"},
        {"name":"bin/sg","data":"#!/bin/sh\n","mode":"2711"},{"name":"dir","type":"dir","mode":"2775"}]}' &&
        chmod -R a+rX setid && mkdir -m 0777 nr
}
ok "an image with setuid and setgid files" setid_img
# as someone else than root (nobody, in a directory of its own)
as_user() {
    if [ $ROOT = 1 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi
}
modes() { stat -c %a "$@" | tr '\n' ' '; }
setid_user() { # setid_user BUNDLE WANT [FLAGS...]
    local b=$1 want=$2
    shift 2
    as_user "$CI" unpack "$@" oci:setid:t "nr/$b" || return 1
    echo "modes: $(modes nr/$b/rootfs/bin/su nr/$b/rootfs/bin/sg nr/$b/rootfs/dir)"
    [ "$(modes nr/$b/rootfs/bin/su nr/$b/rootfs/bin/sg nr/$b/rootfs/dir)" = "$want" ]
}
if [ $ROOT = 0 ] || command -v setpriv >/dev/null; then
    chmod 0711 "$T_TMP"
    ok "not root: setuid/setgid dropped from files, kept on directories" \
        setid_user B1 "755 711 2775 "
    ok "not root, --keep-setid: kept" setid_user B2 "4755 2711 2775 " --keep-setid
else
    skip_one "not root: setuid/setgid dropped" "no setpriv"
    skip_one "not root, --keep-setid: kept" "no setpriv"
fi
setid_root() {
    "$CI" unpack oci:setid:t B-setid &&
        [ "$(modes B-setid/rootfs/bin/su B-setid/rootfs/bin/sg)" = "4755 2711 " ]
}
if [ $ROOT = 1 ]; then
    ok "root: setuid/setgid kept" setid_root
else
    skip_one "root: setuid/setgid kept" "not root"
fi

# --- decompression bombs ----------------------------------------------------
ok "a 20 MiB file of zeros (a 20 KiB gzip layer)" mk bomb \
    '{"entries":[{"name":"big","zeros":20971520}],"compression":"gzip"}'
fails "--max-layer-size 1M: refused" 1 "$CI" unpack --max-layer-size 1M oci:bomb:t B-bomb
ok "... saying so" said "the decompressed layer exceeds 1048576 bytes"
ok "... and leaves nothing" nothing_left B-bomb
ok "the default cap lets it through" "$CI" unpack oci:bomb:t B-bomb2
# 4 GiB of zeros after the end of the archive (part of the diffID), a 128 KiB zstd blob
ok "a layer of 4 GiB (zstd, 128 KiB)" mk zbomb \
    '{"entries":[{"name":"marker","data":"m"}],"trailing_zeros":4294967296,"compression":"zstd"}'
fails "the default cap (1 GiB here): refused" 1 "$CI" unpack oci:zbomb:t B-zbomb
ok "... saying so, leaving nothing" sh -c \
    'grep -q "exceeds 1073741824 bytes" "$1" && [ ! -e B-zbomb ] && [ -z "$(ls -d B-zbomb.tmp-* 2>/dev/null)" ]' \
    _ "$T_TMP/out.$T_NUM"

# --- SIGTERM during an unpack: the staging directory goes -------------------
sigterm() {
    "$CI" unpack --max-layer-size 8G oci:zbomb:t S &
    local pid=$! i st
    for i in $(seq 1 1500); do
        st=$(ls -d S.tmp-* 2>/dev/null)
        [ -n "$st" ] && [ -e "$st/rootfs/marker" ] && break
        sleep 0.02
    done
    [ -n "$st" ] || { echo "no staging directory"; kill -9 $pid; return 1; }
    local mode
    mode=$(stat -c %a "$st")
    kill -TERM $pid
    wait $pid
    local rc=$?
    echo "staging $st mode $mode, exit $rc"
    [ "$mode" = 700 ] && [ $rc -eq 143 ] && nothing_left S && [ -z "$(ls -A | grep '^S')" ]
}
ok "SIGTERM: exit by the signal, staging (0700 while built) removed" sigterm

done_testing
