#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every C source and header follows .clang-format (`make clang-format` fixes it).
. "$top_srcdir/tests/lib.sh"
command -v clang-format >/dev/null || skip_all "clang-format not installed"
[ -f "$top_srcdir/.clang-format" ] || skip_all "no .clang-format"
plan 1
ok "sources are clang-formatted" bash -c '
    cd "$1" && find include libcocoimg cli tests -name "*.[ch]" -print0 |
        xargs -0 clang-format --dry-run -Werror 2>&1 | grep -m 20 "error:" && exit 1; exit 0' _ "$top_srcdir"
done_testing
