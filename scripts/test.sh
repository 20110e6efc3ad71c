#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Install dependencies, build with -Werror and ASan/UBSan, run the whole test
# suite (unit, fuzz-corpus replay, integration against skopeo/umoci/gpg/...),
# then the inflate/unpack/pull tests again with COCOIMG_NO_ISAL=1 (the zlib
# inflater; COCOIMG_NOISAL_RUN=0 skips that), the threaded tests again under ThreadSanitizer (COCOIMG_TSAN=0 skips
# that) and `make distcheck` with the unit tests (COCOIMG_DISTCHECK=0 skips
# it, counted as one test), and end with one line "N passed, N failed".
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

# With ISA-L built in, gzip layers never inflate with zlib: the tests that
# inflate (unpack, pull) once more with COCOIMG_NO_ISAL=1.  cli-env.sh fails
# when the variable is ignored (zlib's and ISA-L's errors differ).  The
# results are kept next to the first run's as NAME.noisal.{trs,log} and
# counted like them.
NOISAL_TESTS="tests/integration/cli-env.sh tests/integration/unpack-umoci.sh tests/integration/unpack-hostile.sh tests/integration/pull-registry.sh tests/integration/cli-keys.sh"
noisal_rc=0
if [ "${COCOIMG_NOISAL_RUN:-1}" = 1 ]; then
    for t in $NOISAL_TESTS; do
        for ext in trs log; do
            [ ! -f "${t%.sh}.$ext" ] || mv "${t%.sh}.$ext" "${t%.sh}.main.$ext"
        done
    done
    COCOIMG_NO_ISAL=1 make -j"$JOBS" check TESTS="$NOISAL_TESTS" >check-noisal.log 2>&1
    noisal_rc=$?
    for t in $NOISAL_TESTS; do
        for ext in trs log; do
            [ ! -f "${t%.sh}.$ext" ] || mv "${t%.sh}.$ext" "${t%.sh}.noisal.$ext"
            [ ! -f "${t%.sh}.main.$ext" ] || mv "${t%.sh}.main.$ext" "${t%.sh}.$ext"
        done
    done
    grep -E '^(FAIL|ERROR|XPASS):' check-noisal.log | sed 's/^/noisal: /' | head -n 20
fi

# The threaded paths (async pipeline stages and their in-place hand-over, layers
# copied/encrypted/pushed in parallel, parallel layer downloads, one
# registry client shared by workers, several pulls on one context) once
# more under ThreadSanitizer; any report fails the test that caused it.
TSAN_TESTS="tests/unit/test_pipeline tests/unit/test_transport tests/unit/test_blockcipher tests/integration/pull-registry.sh tests/integration/docker-transport.sh tests/integration/parallel-layers.sh"
tsan_rc=0
if [ "${COCOIMG_TSAN:-1}" = 1 ]; then
    case "$BUILD_DIR" in /*) tsan_dir="${BUILD_DIR}-tsan" ;; *) tsan_dir="$top/${BUILD_DIR}-tsan" ;; esac
    mkdir -p "$tsan_dir"
    (
        cd "$tsan_dir" || exit 1
        if [ ! -f Makefile ]; then
            "$top/configure" --enable-werror CFLAGS="-O1 -g -fsanitize=thread" \
                LDFLAGS="-fsanitize=thread" >configure.log 2>&1 || { tail -n 30 configure.log; exit 1; }
        fi
        make -j"$JOBS" >build.log 2>&1 || { tail -n 60 build.log; exit 1; }
        find . -name '*.trs' -delete
        TSAN_OPTIONS="halt_on_error=1 exitcode=66" make -j"$JOBS" check TESTS="$TSAN_TESTS" >check.log 2>&1
    )
    tsan_rc=$?
    grep -E '^(FAIL|ERROR|XPASS):' "$tsan_dir/check.log" 2>/dev/null | sed 's/^/tsan: /' | head -n 20
fi

# The release tarball builds, installs and uninstalls cleanly from a
# separate tree (make distcheck), with the unit tests inside it.
dist_rc=0
if [ "${COCOIMG_DISTCHECK:-1}" = 1 ]; then
    unit_tests=$(cd "$top" && ls tests/unit/test_*.c | sed 's/\.c$//' | tr '\n' ' ')
    make distcheck TESTS="$unit_tests tests/integration/api-abi.sh" >distcheck.log 2>&1 || dist_rc=1
    [ $dist_rc -eq 0 ] || { echo "make distcheck failed:"; grep -E '^(FAIL|ERROR)|error' distcheck.log | head -n 20; }
fi

passed=0; failed=0; skipped=0
while IFS= read -r line; do
    case "$line" in
    ":test-result: PASS"*|":test-result: XFAIL"*) passed=$((passed + 1)) ;;
    ":test-result: SKIP"*) skipped=$((skipped + 1)) ;;
    ":test-result: "*) failed=$((failed + 1)) ;;
    esac
done < <(find . ${tsan_dir:+"$tsan_dir"} -name '*.trs' -exec cat {} +)
if [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
    tail -n 40 check.log
    failed=1
fi
if [ $noisal_rc -ne 0 ] && [ $failed -eq 0 ]; then
    tail -n 40 check-noisal.log
    failed=1
fi
if [ $tsan_rc -ne 0 ] && [ $failed -eq 0 ]; then
    tail -n 40 "$tsan_dir/check.log" 2>/dev/null
    failed=1
fi
if [ "${COCOIMG_DISTCHECK:-1}" = 1 ]; then
    if [ $dist_rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
