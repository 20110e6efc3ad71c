#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One key option group for every command that takes keys (cli/key_opts.c):
# decrypt, encrypt (adding recipients), unpack and pull accept the same
# flags -- --key, -k, --decryption-key, --dec-recipient, --gpg-homedir,
# --gpg, COCOIMG_KEY_PASSWORD -- and each works end to end on small images
# encrypted for JWE, PKCS7 and OpenPGP (keys made here with openssl and
# gpg, images pulled from Debian's docker-registry).  layerinfo refuses
# every key flag by name (exit 2).  The password from the environment is
# neither in /proc/PID/environ of the CLI nor in that of gpg-agent (its
# child), never in an error message, and the CLI is not dumpable.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need umoci openssl gpg gpgconf gpg-connect-agent docker-registry jq python3 setpriv

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
CI=$COCO_IMG
PW='s3cret-Pw-7e1a'
G=$T/gnupg
mkdir -m 700 "$G"
T_CLEANUP='gpgconf --homedir "$G" --kill all 2>/dev/null;'
# PW is not exported (the checks below look for it in environments): the
# helpers run in subshells read it from a file
printf %s "$PW" >"$T/pw"
export CI T G

# --- keys and images --------------------------------------------------------
setup() {
    set -e
    for k in rsa new; do
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k.pem 2>/dev/null
        openssl pkey -in $k.pem -pubout -out ${k}_pub.pem
    done
    openssl pkcs8 -topk8 -in rsa.pem -out rsa_enc.pem -passout "pass:$PW" -v2 aes-256-cbc
    openssl req -x509 -new -key rsa.pem -subj /CN=coco-keys -days 2 -out cert.pem 2>/dev/null
    gpg --homedir "$G" --batch --passphrase '' --quick-gen-key coco-keys@example.com \
        default default never 2>/dev/null
    gpg --homedir "$G" --batch --export-secret-keys >secring.gpg
    fx_umoci_image src v1
    "$CI" encrypt -r jwe:rsa_pub.pem oci:src:v1 oci:enc-jwe:v1
    "$CI" encrypt -r pkcs7:cert.pem oci:src:v1 oci:enc-pkcs7:v1
    "$CI" encrypt --gpg-homedir "$G" -r pgp:coco-keys@example.com oci:src:v1 oci:enc-pgp:v1
    gpgconf --homedir "$G" --kill all
    set +e
}
plan 53
ok "make RSA keys, a certificate, an OpenPGP key; encrypt an image for each scheme" setup

P=$(free_port)
start_registry reg "$P"
R=127.0.0.1:$P
push() {
    for s in jwe pkcs7 pgp; do
        "$CI" copy --dest-tls-verify=false oci:enc-$s:v1 docker://$R/enc-$s:v1 || return 1
    done
}
ok "push the encrypted images to a registry on 127.0.0.1" push
export R

# key variants: NAME IMAGE ENV ARGS...  (ENV: "pw" sets COCOIMG_KEY_PASSWORD,
# "gh" sets GNUPGHOME)
VARIANTS=(
    "key jwe - --key rsa.pem"
    "short-k jwe - -k rsa.pem"
    "decryption-key+env-password jwe pw --decryption-key rsa_enc.pem"
    "dec-recipient pkcs7 - --key rsa.pem --dec-recipient pkcs7:cert.pem"
    "gpg-homedir pgp - --gpg-homedir $G"
    "gpg pgp gh --gpg"
    "pgp-secring-as-key pgp - --key secring.gpg"
)

# run_with ENV CMD...
run_with() {
    local e=$1; shift
    case $e in
    pw) COCOIMG_KEY_PASSWORD=$(cat "$T/pw") "$@" ;;
    gh) GNUPGHOME=$G "$@" ;;
    *) "$@" ;;
    esac
}
hello() { grep -qx "hello from coco-img" "$1/rootfs/etc/hello"; }
export -f run_with hello

# every command, every variant
for v in "${VARIANTS[@]}"; do
    read -r name img env args <<<"$v"
    # shellcheck disable=SC2086
    ok "decrypt $name" bash -c 'run_with "$1" "$CI" decrypt "${@:4}" oci:enc-$2:v1 oci:dec-$3:v1 &&
        "$CI" unpack oci:dec-$3:v1 b-dec-$3 && hello b-dec-$3' _ "$env" "$img" "$name" $args
    # shellcheck disable=SC2086
    ok "encrypt $name (adds a recipient; the new key decrypts)" bash -c '
        run_with "$1" "$CI" encrypt -r jwe:new_pub.pem "${@:4}" oci:enc-$2:v1 oci:add-$3:v1 &&
        "$CI" unpack --key new.pem oci:add-$3:v1 b-add-$3 && hello b-add-$3' \
        _ "$env" "$img" "$name" $args
    # shellcheck disable=SC2086
    ok "unpack $name" bash -c 'run_with "$1" "$CI" unpack "${@:4}" oci:enc-$2:v1 b-unp-$3 &&
        hello b-unp-$3' _ "$env" "$img" "$name" $args
    # shellcheck disable=SC2086
    ok "pull $name" bash -c 'run_with "$1" "$CI" pull --tls-verify=false "${@:4}" \
        docker://$R/enc-$2:v1 b-pull-$3 && hello b-pull-$3' _ "$env" "$img" "$name" $args
    gpgconf --homedir "$G" --kill all 2>/dev/null
done

fails "unpack without keys: no usable key (exit 3)" 3 "$CI" unpack oci:enc-jwe:v1 b-nokey
fails "pull without keys: no usable key (exit 3)" 3 \
    "$CI" pull --tls-verify=false docker://$R/enc-pgp:v1 b-nokey2
fails "decrypt without keys: usage error (exit 2)" 2 "$CI" decrypt oci:enc-jwe:v1 oci:x:v1

# --- layerinfo takes no keys: every flag refused by name ---------------------
for f in "--key rsa.pem" "-k rsa.pem" "--decryption-key rsa.pem" "--dec-recipient x" \
    "--gpg-homedir $G" "--gpg"; do
    flag=${f%% *}
    # shellcheck disable=SC2086
    ok "layerinfo $flag: exit 2, the message names $flag" bash -c '
        "$CI" layerinfo "${@:2}" oci:enc-jwe:v1 >out 2>&1; rc=$?
        [ $rc -eq 2 ] && grep -qF -- "$1: layerinfo takes no keys" out' _ "$flag" $f
done
ok "layerinfo without key flags still works" "$CI" layerinfo oci:enc-jwe:v1

# --- the password never shows --------------------------------------------------
# nopw CODE CMD...: exit CODE and $PW nowhere in the output
nopw() {
    local want=$1; shift
    "$@" >o 2>&1
    local rc=$?
    [ $rc -eq "$want" ] && [ -s o ] && ! grep -qF -f "$T/pw" o
}
export -f nopw
ok "wrong COCOIMG_KEY_PASSWORD: exit 3, the password is not in the message" \
    env COCOIMG_KEY_PASSWORD="$PW-wrong" bash -c 'nopw 3 "$CI" decrypt --key rsa_enc.pem oci:enc-jwe:v1 oci:w:v1'
ok "COCOIMG_KEY_PASSWORD with a missing key file: exit 4, no password in the message" \
    env COCOIMG_KEY_PASSWORD="$PW" bash -c 'nopw 4 "$CI" unpack --key missing.pem oci:enc-jwe:v1 b-m'
ok "FILE:pass=PASSWORD with FILE missing: exit 4, no password in the message" \
    nopw 4 "$CI" decrypt --key "missing.pem:pass=$PW" oci:enc-jwe:v1 oci:w:v1
ok "FILE:PASSWORD with FILE missing: exit 4, no password in the message" \
    nopw 4 "$CI" pull --tls-verify=false --key "missing.pem:$PW" docker://$R/enc-jwe:v1 b-m
fails "an empty --key is a usage error" 2 "$CI" unpack --key '' oci:enc-jwe:v1 b-e

# --- the environment: the CLI and its children -----------------------------------
# A CLI blocked on a key file that is a FIFO, as an unprivileged user (so
# that "non-dumpable" is visible: /proc/PID/* then belong to root).
mkdir -m 755 "$T/pub"
chmod 755 "$T"
mkfifo -m 666 "$T/pub/fifo"
export NOBODY=65534
PRIV="setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups"
[ "$(id -u)" -eq 0 ] || { NOBODY=$(id -u); PRIV=; }
# as root: become nobody; otherwise stay who we are (already unprivileged)
as_user() {
    if [ "$(id -u)" -eq 0 ]; then setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups "$@"
    else "$@"; fi
}
export -f as_user
cp -a enc-jwe "$T/pub/enc" && chmod -R a+rX "$T/pub/enc"
# (setpriv itself in the background, so that $! is the CLI's PID)
COCOIMG_KEY_PASSWORD=$PW COCOIMG_VISIBLE=seen \
    $PRIV "$CI" decrypt --key "$T/pub/fifo" oci:"$T/pub/enc":v1 oci:"$T/pub/o":v1 \
    >"$T/fifo.log" 2>&1 &
CLIPID=$!
T_CLEANUP="$T_CLEANUP kill $CLIPID 2>/dev/null;"
blocked() { # the CLI itself (past the libtool wrapper) sleeps in open() of the FIFO
    for _ in $(seq 150); do
        case $(readlink /proc/$CLIPID/exe) in
        *coco-img*) sleep 0.5; grep -q '^State:[[:space:]]*S' /proc/$CLIPID/status && return 0 ;;
        esac
        sleep 0.1
    done
    return 1
}
ok "the CLI runs and waits for its key file (a FIFO)" blocked
ok "the CLI is not dumpable: its /proc files belong to root, its user cannot read its environ" \
    bash -c '[ "$(stat -c %u /proc/$1/environ)" = 0 ] && [ "$(stat -c %u /proc/$1/status)" = 0 ] &&
        grep -q "^Uid:[[:space:]]*$NOBODY" /proc/$1/status && ! as_user cat /proc/$1/environ' _ "$CLIPID"
# control: the same check sees a dumpable process of that user
$PRIV sleep 30 &
SLPID=$!
T_CLEANUP="$T_CLEANUP kill $SLPID 2>/dev/null;"
sleep 0.3
ok "control: a dumpable process of that user is its own and readable" \
    bash -c '[ "$(stat -c %u /proc/$1/environ)" = "$NOBODY" ] && as_user cat /proc/$1/environ >/dev/null' _ "$SLPID"
kill $SLPID
if [ "$(id -u)" -eq 0 ]; then
    ok "the CLI's /proc/PID/environ holds the other variables but not the password" \
        bash -c 'tr "\0" "\n" </proc/$1/environ >env.txt && grep -qx COCOIMG_VISIBLE=seen env.txt &&
            ! grep -qF -f "$T/pw" env.txt' _ "$CLIPID"
else
    ok "the CLI's /proc/PID/environ is closed to its own user" bash -c '! cat /proc/$1/environ' _ "$CLIPID"
fi
kill $CLIPID
wait $CLIPID 2>/dev/null

# gpg-agent, started by gpg (through gpgme) for --gpg-homedir, is a child
# that outlives the command: it must not have the password.
gpgconf --homedir "$G" --kill all 2>/dev/null
ok "decrypt --gpg-homedir with COCOIMG_KEY_PASSWORD set (starts gpg-agent)" \
    env COCOIMG_KEY_PASSWORD="$PW" COCOIMG_VISIBLE=seen \
    "$CI" decrypt --gpg-homedir "$G" oci:enc-pgp:v1 oci:agent:v1
AGENT=$(gpg-connect-agent --homedir "$G" --no-autostart 'getinfo pid' /bye 2>/dev/null |
    sed -n 's/^D //p')
ok "gpg-agent inherited the CLI's environment but not the password" \
    bash -c '[ -n "$1" ] && tr "\0" "\n" </proc/$1/environ >agent.txt &&
        grep -qx COCOIMG_VISIBLE=seen agent.txt && ! grep -qF -f "$T/pw" agent.txt &&
        ! grep -q "^COCOIMG_KEY_PASSWORD=" agent.txt' _ "$AGENT"
gpgconf --homedir "$G" --kill all 2>/dev/null
# --- the man pages say the same for each command ---------------------------------
section() { sed -n '/^# KEY OPTIONS$/,/^# /p' "$top_srcdir/docs/coco-img-$1.1.md" | sed '$d'; }
export -f section
ok "decrypt, encrypt, pull and unpack man pages have the same KEY OPTIONS section" bash -c '
    a=$(section decrypt); [ -n "$a" ] || exit 1
    for c in encrypt pull unpack; do [ "$(section $c)" = "$a" ] || { echo "differs: $c"; exit 1; }; done'
ok "every flag of that section is in the --help of each of them" bash -c '
    for c in decrypt encrypt pull unpack; do
        "$CI" $c --help >h.txt || exit 1
        for f in -k, --key --decryption-key --dec-recipient --gpg-homedir "--gpg " COCOIMG_KEY_PASSWORD; do
            grep -qF -- "$f" h.txt || { echo "$c --help lacks $f"; exit 1; }
        done
    done
    "$CI" layerinfo --help | grep -q "takes no keys"'
done_testing
