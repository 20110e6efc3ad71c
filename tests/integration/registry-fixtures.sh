# SPDX-License-Identifier: Apache-2.0
# Registries for integration tests: Debian's docker-registry on 127.0.0.1,
# each with its own storage under $T, stopped by PID at exit (T_CLEANUP).
# Source after tests/lib.sh, with T set to a scratch directory.
#
#   wait_port PORT                 until something listens on 127.0.0.1:PORT
#   start_registry NAME PORT [YAML]  a registry; YAML is appended to its config
#                                  (tls:, auth: ...); storage in $T/NAME/storage
#   make_test_ca DIR               DIR/ca.crt, DIR/ca.key and a server certificate
#                                  for 127.0.0.1 (DIR/srv.crt, DIR/srv.key)
#   isolate_registry_env           HOME, XDG dirs under $T; no REGISTRY_AUTH_FILE
#                                  (so no credentials or certs of the host leak in)

wait_port() {
    local i
    for i in $(seq 100); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" \
            2>/dev/null && return 0
        sleep 0.1
    done
    echo "# nothing listens on $1" >&2
    return 1
}

start_registry() {
    local name=$1 port=$2 extra=${3:-}
    mkdir -p "$T/$name"
    cat >"$T/$name/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/$name/storage
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
$extra
EOF
    docker-registry serve "$T/$name/config.yml" >"$T/$name/log" 2>&1 &
    local pid=$!
    T_CLEANUP="$T_CLEANUP kill $pid 2>/dev/null;"
    wait_port "$port"
}

make_test_ca() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=coco-img test CA" \
        -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
    openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext" -out "$d/srv.crt" 2>/dev/null
}

isolate_registry_env() {
    export HOME=$T/home XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
    mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
    unset REGISTRY_AUTH_FILE
}
