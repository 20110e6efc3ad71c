#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The man pages: every page built from docs/*.md renders without a warning,
# every command has a page, every option a command's --help lists is in its
# page, "coco-img help CMD" shows the same text as "man coco-img-CMD", and
# the example of libcocoimg(3) compiles and runs against the library.
. "$top_srcdir/tests/lib.sh"

command -v man >/dev/null || bail_out "man (Debian package man-db) is needed"
T=$T_TMP
pages=$(cd "$top_srcdir/docs" && ls *.[0-9].md | sed 's/\.md$//')
commands=$("$COCO_IMG" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 && $1 != "Commands:" {print $1}' |
    grep -vx -e help -e version)
[ -n "$commands" ] || bail_out "coco-img --help lists no commands"
n_pages=$(echo "$pages" | wc -w)
n_cmds=$(echo "$commands" | wc -w)
plan $((n_pages + 2 * n_cmds + 9))

# a built page: in the build tree, or in the source tree of a release
# tarball (which ships them)
page() { if [ -f "$top_builddir/docs/$1" ]; then echo "$top_builddir/docs/$1"; else echo "$top_srcdir/docs/$1"; fi; }
# the troff source of a page, with \- turned back into -
page_text() { sed 's/\\-/-/g; s/\\(hy/-/g' "$(page "$1")"; }

for p in $pages; do
    ok "$p renders without warnings" bash -c '
        f=$1; [ -s "$f" ] || { echo "$f not built"; exit 1; }
        w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -E UTF-8 -l "$f" 2>&1 >/dev/null)
        [ -z "$w" ] || { echo "$w"; exit 1; }' _ "$(page "$p")"
done

for c in $commands; do
    if [ -f "$(page "coco-img-$c.1")" ]; then
        ok "coco-img $c has a man page" true
    else
        ok "coco-img $c has a man page (docs/coco-img-$c.1)" false
    fi
    # a .so page documents its command in the page it points to
    target=coco-img-$c.1
    so=$(sed -n 's|^\.so man1/||p' "$(page "$target")" 2>/dev/null)
    [ -n "$so" ] && target=$so
    page_text "$target" > "$T/$c.txt"
    ok "every option of 'coco-img $c --help' is in $target" bash -c '
        missing=
        for o in $("$1" "$2" --help | grep -o -- "--[a-z][a-z0-9.-]*[a-z0-9]" | sort -u); do
            [ "$o" = --help ] && continue
            grep -qF -- "$o" "$3" || missing="$missing $o"
        done
        [ -z "$missing" ] || { echo "not in the man page:$missing"; exit 1; }' \
        _ "$COCO_IMG" "$c" "$T/$c.txt"
done

page_text coco-keyprovider.8 > "$T/coco-keyprovider.txt"
ok "every option of 'coco-keyprovider --help' is in coco-keyprovider.8" bash -c '
    missing=
    for o in $("$1" --help | grep -o -- "--[a-z][a-z0-9.-]*[a-z0-9]" | sort -u); do
        [ "$o" = --help ] && continue
        grep -qF -- "$o" "$2" || missing="$missing $o"
    done
    [ -z "$missing" ] || { echo "not in the man page:$missing"; exit 1; }' \
    _ "$top_builddir/coco-keyprovider" "$T/coco-keyprovider.txt"

ok "coco-img(1) names every command" bash -c '
    for c in $2; do grep -qF -- "coco-img-$c" "$1" || { echo "coco-img-$c missing"; exit 1; }; done' \
    _ "$(page coco-img.1)" "$commands"

# a man tree like the installed one
mkdir -p "$T/man/man1" "$T/man/man3" "$T/man/man5" "$T/man/man8" "$T/empty"
for p in $pages coco-img-attest.1 coco-img-standalone-verify.1; do cp "$(page "$p")" "$T/man/man${p##*.}/"; done
export MANWIDTH=80 LC_ALL=C.UTF-8 MANPAGER=cat PAGER=cat
ok "coco-img help pull shows the page man shows" bash -c '
    MANPATH=$1/man "$2" help pull > "$1/help.out" && MANPATH=$1/man man coco-img-pull > "$1/man.out" &&
    grep -q "pull an image from a registry" "$1/help.out" && cmp "$1/help.out" "$1/man.out"' _ "$T" "$COCO_IMG"
ok "coco-img help attest shows the get-resource page" bash -c '
    MANPATH=$1/man "$2" help attest | grep -q "coco-img-attest"' _ "$T" "$COCO_IMG"
ok "coco-img help CMD shows what man coco-img-CMD shows, for every command" bash -c '
    for c in $3; do
        MANPATH=$1/man "$2" help "$c" > "$1/help.$c" && MANPATH=$1/man man "coco-img-$c" > "$1/man.$c" &&
        [ -s "$1/help.$c" ] && cmp "$1/help.$c" "$1/man.$c" || { echo "help $c differs from man coco-img-$c"; exit 1; }
    done' _ "$T" "$COCO_IMG" "$commands"
ok "without the page, coco-img help CMD prints CMD --help" bash -c '
    MANPATH=$1/empty "$2" help copy > "$1/h1" && "$2" copy --help > "$1/h2" && cmp "$1/h1" "$1/h2"' _ "$T" "$COCO_IMG"
fails "coco-img help of an unknown command is a usage error" 2 env MANPATH="$T/man" "$COCO_IMG" help no-such

# the EXAMPLE of libcocoimg(3), as printed, builds against the library and
# fails cleanly on an image that does not exist
sed -n '/^# EXAMPLE/,/^# FILES/p' "$top_srcdir/docs/libcocoimg.3.md" | sed -n 's/^    //p' > "$T/example.c"
ok "the libcocoimg(3) example compiles" \
    gcc -std=c11 -Wall -Werror -I"$top_srcdir/include" -I"$top_builddir/include" "$T/example.c" \
    -L"$top_builddir/.libs" -lcocoimg $SAN_LDFLAGS -o "$T/example"
ok "and runs: an unreachable registry is an error with a message" bash -c '
    sed "s|docker://registry.example/app:v1|oci:$1/none:v1|" "$1/example.c" > "$1/example2.c" &&
    gcc -std=c11 -I"$2/include" -I"$3/include" "$1/example2.c" -L"$3/.libs" -lcocoimg $4 -o "$1/example2" &&
    ! LD_LIBRARY_PATH="$3/.libs" "$1/example2" 2> "$1/ex.err" && [ -s "$1/ex.err" ] && cat "$1/ex.err"' \
    _ "$T" "$top_srcdir" "$top_builddir" "$SAN_LDFLAGS"
done_testing
