#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The public face of libcocoimg: every installed header compiles on its own
# as C99 with -pedantic and as C++; the shared library exports only
# cocoimg_* symbols, all in a COCOIMG_ version node; the pkg-config file
# lets a program build and link against the library.
. "$top_srcdir/tests/lib.sh"
INC="$top_srcdir/include"
BINC="$top_builddir/include"
headers=$(cd "$INC/cocoimg" && ls *.h)
n=$(echo "$headers" | wc -w)
plan $((2 * n + 3))
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
