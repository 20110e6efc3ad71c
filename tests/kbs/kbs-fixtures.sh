# SPDX-License-Identifier: Apache-2.0
# The test KBS (tests/kbs/kbs.py) for integration tests.  Source after
# tests/lib.sh, with T set to a scratch directory.
#
#   KBS_PY                       the Python with python3-cryptography (Debian's)
#   kbs_make_ca DIR              DIR/ca.crt (a P-256 test CA) and DIR/srv.crt,
#                                DIR/srv.key for 127.0.0.1
#   kbs_start DIR ARGS...        start kbs.py (port file DIR/port, log DIR/log,
#                                stderr DIR/stderr) with ARGS; sets KBS_PORT and
#                                KBS_PID; stopped by PID at exit (T_CLEANUP)
#   kbs_stop PID                 stop one KBS now
#   kbs_count DIR REGEX          number of lines of DIR/log matching REGEX

KBS_PY=""
for _p in /usr/bin/python3 python3; do
    if "$_p" -c 'import cryptography' 2>/dev/null; then KBS_PY=$_p; break; fi
done

kbs_make_ca() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=coco-img test KBS CA" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null &&
    printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext" &&
    openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext" -out "$d/srv.crt" 2>/dev/null
}

kbs_start() {
    local d=$1 i
    shift
    mkdir -p "$d"
    rm -f "$d/port"
    "$KBS_PY" "$top_srcdir/tests/kbs/kbs.py" --port-file "$d/port" --log "$d/log" "$@" \
        2>>"$d/stderr" &
    KBS_PID=$!
    T_CLEANUP="$T_CLEANUP kill $KBS_PID 2>/dev/null;"
    for i in $(seq 100); do
        [ -s "$d/port" ] && break
        sleep 0.1
    done
    KBS_PORT=$(cat "$d/port" 2>/dev/null)
    [ -n "$KBS_PORT" ] || { echo "# the test KBS did not start:" >&2; cat "$d/stderr" >&2; return 1; }
}

kbs_stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

kbs_count() {
    grep -cE "$2" "$1/log" 2>/dev/null || true
}
