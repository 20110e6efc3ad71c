#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Install dependencies, build with -Werror and ASan/UBSan, run the whole test
# suite (unit, fuzz-corpus replay, integration against skopeo/umoci/gpg/...),
# and end with one line "N passed, N failed".
#   BUILD_DIR   build directory (default: _build)
#   JOBS        parallel jobs (default: nproc)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD_DIR=${BUILD_DIR:-_build}
JOBS=${JOBS:-$(nproc)}

sh scripts/setup-deps.sh || { echo "setup-deps failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p m4
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi >/dev/null || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
fi
mkdir -p "$BUILD_DIR"
cd "$BUILD_DIR"
if [ ! -f Makefile ]; then
    "$top/configure" --enable-werror --enable-sanitizers >configure.log 2>&1 \
        || { tail -n 30 configure.log; echo "0 passed, 1 failed"; exit 1; }
fi
make -j"$JOBS" >build.log 2>&1 || { tail -n 60 build.log; echo "0 passed, 1 failed"; exit 1; }
find . -name '*.trs' -delete
make -j"$JOBS" check >check.log 2>&1
rc=$?
grep -E '^(FAIL|ERROR|XPASS):' check.log | head -n 50
passed=0; failed=0; skipped=0
while IFS= read -r line; do
    case "$line" in
    ":test-result: PASS"*|":test-result: XFAIL"*) passed=$((passed + 1)) ;;
    ":test-result: SKIP"*) skipped=$((skipped + 1)) ;;
    ":test-result: "*) failed=$((failed + 1)) ;;
    esac
done < <(find . -name '*.trs' -exec cat {} +)
if [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
    tail -n 40 check.log
    failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
