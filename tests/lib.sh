# SPDX-License-Identifier: Apache-2.0
# Shell helpers for integration tests: TAP output, temp dirs, free ports.
# Source it:  . "$top_srcdir/tests/lib.sh"
set -u

: "${COCO_IMG:?run through make check}"
T_NUM=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cocoimg-test.XXXXXX")
export T_TMP
T_CLEANUP=""
_t_exit() {
    local rc=$?
    eval "$T_CLEANUP"
    [ -n "${COCOIMG_TESTS_KEEP:-}" ] && cp -r "$T_TMP" "$COCOIMG_TESTS_KEEP" 2>/dev/null
    rm -rf "$T_TMP"
    exit $rc
}
trap _t_exit EXIT
# Every command that reads images enforces a signature policy; tests that are
# not about signatures accept anything through their own policy, never the
# machine's /etc/containers/policy.json.  Signature tests pass --policy.
if [ -z "${COCOIMG_POLICY:-}" ]; then
    echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$T_TMP/policy-accept.json"
    export COCOIMG_POLICY=$T_TMP/policy-accept.json
fi
# Likewise registries.conf: an empty one unless a test brings its own, never
# the machine's /etc/containers files (skopeo takes --registries-conf).
if [ -z "${CONTAINERS_REGISTRIES_CONF:-}" ]; then
    : >"$T_TMP/registries-empty.conf"
    export CONTAINERS_REGISTRIES_CONF=$T_TMP/registries-empty.conf
fi

# plan N
plan() { echo "1..$1"; }
# ok NAME CMD...: run CMD, pass if it exits 0
ok() {
    local name=$1; shift
    T_NUM=$((T_NUM + 1))
    if "$@" >"$T_TMP/out.$T_NUM" 2>&1; then
        echo "ok $T_NUM - $name"
    else
        echo "not ok $T_NUM - $name"
        sed 's/^/# /' "$T_TMP/out.$T_NUM" | tail -n 30
        T_FAILED=$((T_FAILED + 1))
    fi
}
# fails NAME CODE CMD...: pass if CMD exits with exactly CODE (or any non-zero for CODE '*').
# A crash is never the expected failure: death by a signal (exit >= 126) or a
# sanitizer report in the output fails the test whatever CODE says.
fails() {
    local name=$1 want=$2; shift 2
    T_NUM=$((T_NUM + 1))
    "$@" >"$T_TMP/out.$T_NUM" 2>&1
    local rc=$?
    local crashed=0
    if [ "$rc" -ge 126 ] || grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: ' \
        "$T_TMP/out.$T_NUM"; then
        crashed=1
    fi
    if [ "$rc" -ne 0 ] && [ $crashed = 0 ] && { [ "$want" = '*' ] || [ "$rc" -eq "$want" ]; }; then
        echo "ok $T_NUM - $name"
    else
        echo "not ok $T_NUM - $name (exit $rc, wanted $want)"
        sed 's/^/# /' "$T_TMP/out.$T_NUM" | tail -n 30
        T_FAILED=$((T_FAILED + 1))
    fi
}
# skip_all REASON: a prerequisite is missing.  scripts/setup-deps.sh installs
# every one, so this is a failure (a test that skips cannot fail); on a
# partial developer machine COCOIMG_TESTS_ALLOW_SKIP=1 turns it into a skip.
skip_all() {
    if [ "${COCOIMG_TESTS_ALLOW_SKIP:-0}" = 1 ]; then
        echo "1..0 # SKIP $1"
        exit 0
    fi
    echo "Bail out! $1 (scripts/setup-deps.sh installs it; COCOIMG_TESTS_ALLOW_SKIP=1 skips)"
    exit 1
}
# A missing prerequisite that is part of the project (vectors, tools it builds) fails.
bail_out() { echo "Bail out! $1"; exit 1; }
# last_output: the output of the last ok/fails
last_output() { cat "$T_TMP/out.$T_NUM"; }
# free_port: a free TCP port on 127.0.0.1
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
done_testing() { [ "$T_FAILED" -eq 0 ]; }
