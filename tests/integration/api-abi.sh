#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The public face of libcocoimg: every installed header compiles on its own
# as C99 with -pedantic and as C++; the shared library exports only
# cocoimg_* symbols, all in a COCOIMG_ version node; the version script
# names every exported function explicitly, in the node it is exported in,
# and exports exactly the functions the headers declare; the Debian symbols
# file is the one debian/gen-symbols makes of it; the pkg-config file lets a
# program build and link against the library.
. "$top_srcdir/tests/lib.sh"
INC="$top_srcdir/include"
BINC="$top_builddir/include"
headers=$(cd "$INC/cocoimg" && ls *.h)
n=$(echo "$headers" | wc -w)
plan $((2 * n + 8))
for h in $headers; do
    ok "cocoimg/$h compiles alone as C99 -pedantic" bash -c \
        'printf "#include <cocoimg/%s>\nint main(void){return 0;}\n" "$1" |
         gcc -std=c99 -pedantic -Wall -Wextra -Werror -I"$2" -I"$3" -x c -o /dev/null -' _ "$h" "$INC" "$BINC"
    ok "cocoimg/$h compiles alone as C++" bash -c \
        'printf "#include <cocoimg/%s>\nint main(){return 0;}\n" "$1" |
         g++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$2" -I"$3" -x c++ -o /dev/null -' _ "$h" "$INC" "$BINC"
done
SO=$(ls "$top_builddir"/.libs/libcocoimg.so.* 2>/dev/null | head -n 1)
ok "libcocoimg.so exports only cocoimg_* symbols" bash -c '
    bad=$(nm -D --defined-only "$1" | awk "{print \$3}" | grep -v "^COCOIMG_" | grep -v "^cocoimg_[a-z]" )
    [ -z "$bad" ] || { echo "unexpected exports:"; echo "$bad"; exit 1; }
    nm -D --defined-only "$1" | grep -q " cocoimg_copy@@COCOIMG_" &&
    nm -D --defined-only "$1" | grep -q " cocoimg_verify@@COCOIMG_0.3"' _ "$SO"
ok "no internal cocoimg__ symbol leaks" bash -c '! nm -D --defined-only "$1" | grep -q " cocoimg__"' _ "$SO"

# The functions the headers declare: the name after COCOIMG_EXTERN(TYPE),
# which may be on the next line.
SYM="$top_srcdir/libcocoimg/libcocoimg.sym"
for h in "$INC"/cocoimg/*.h "$INC"/cocoimg/version.h.in; do
    awk '/COCOIMG_EXTERN\(/ && !/define/ {
        buf = $0
        while (buf !~ /\).*cocoimg_[a-z0-9_]+[ \t]*\(/ && (getline l) > 0) buf = buf " " l
        sub(/.*COCOIMG_EXTERN\([^)]*\)/, "", buf)
        if (match(buf, /cocoimg_[a-z0-9_]+[ \t]*\(/)) { s = substr(buf, RSTART, RLENGTH); sub(/[ \t]*\($/, "", s); print s }
    }' "$h"
done | sort > "$T_TMP/declared"
# NAME NODE for every symbol the version script names, and for every export
awk '/^[A-Z][A-Z0-9_.]* *\{/ { node = $1; sub(/\{$/, "", node) }
     /^ *global:/ { g = 1 } /^ *local:/ { g = 0 } /^\}/ { node = ""; g = 0 }
     node != "" && g && /^ *[A-Za-z_][A-Za-z0-9_]* *; *$/ { s = $1; sub(/;$/, "", s); print s, node }' \
    "$SYM" | sort > "$T_TMP/listed"
nm -D --defined-only "$SO" | awk '$3 ~ /^cocoimg_/ { split($3, a, "@@"); print a[1], a[2] }' | sort > "$T_TMP/exported"
ok "the headers declare functions ($(wc -l < "$T_TMP/declared")) and the version script lists them" \
    test "$(wc -l < "$T_TMP/declared")" -gt 50 -a "$(wc -l < "$T_TMP/listed")" -gt 50
ok "the version script exports by name only: no wildcard outside local: *" bash -c '
    bad=$(sed "s|/\*.*\*/||g" "$1" | awk "/global:/ {g=1} /local:/ {g=0} /^}/ {g=0} g && /\*/")
    [ -z "$bad" ] || { echo "wildcard in a global list: $bad"; exit 1; }' _ "$SYM"
ok "every function a header declares is named in a version node, and every name is declared" bash -c '
    d=$(awk "{print \$1}" "$2" | sort | diff "$1" - | sed -n "s/^< /declared, in no node: /p; s/^> /in a node, declared nowhere: /p")
    [ -z "$d" ] || { echo "$d"; exit 1; }' _ "$T_TMP/declared" "$T_TMP/listed"
ok "the library exports exactly the listed symbols, each in its node" bash -c '
    d=$(diff "$1" "$2" | sed -n "s/^< /listed, not exported as: /p; s/^> /exported as: /p")
    [ -z "$d" ] || { echo "$d"; exit 1; }' _ "$T_TMP/listed" "$T_TMP/exported"
ok "debian/libcocoimg0.symbols is what debian/gen-symbols makes of the version script" bash -c '
    "$1/debian/gen-symbols" "$2" > "$3/symbols" && diff -u "$1/debian/libcocoimg0.symbols" "$3/symbols"' \
    _ "$top_srcdir" "$SYM" "$T_TMP"
ok "a program links against the library through the public API" bash -c '
    cat >"$T_TMP/p.c" <<EOC
#include <cocoimg/cocoimg.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    cocoimg_reference *r = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg_reference_parse(&r, "docker://alpine", &e) < 0) return 1;
    int ok = strcmp(cocoimg_reference_string(r), "docker://docker.io/library/alpine:latest") == 0;
    cocoimg_reference_free(r);
    if (cocoimg_reference_parse(&r, "oci:dir:../x", &e) == 0) return 2;
    ok = ok && cocoimg_error_code(e) == COCOIMG_EINVAL;
    cocoimg_error_free(e);
    printf("%s\n", cocoimg_version());
    return ok ? 0 : 3;
}
EOC
    gcc -std=c11 -Wall -Werror -I"$1" -I"$2" "$T_TMP/p.c" -L"$3/.libs" -lcocoimg $SAN_LDFLAGS -o "$T_TMP/p" &&
    LD_LIBRARY_PATH="$3/.libs" "$T_TMP/p"' _ "$INC" "$BINC" "$top_builddir"
done_testing
