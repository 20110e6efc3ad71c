#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install every build and test dependency of coco-img on Debian 12 (as root).
# Only Debian's archive is used.
set -eu
export DEBIAN_FRONTEND=noninteractive
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
BUILD="build-essential autoconf automake libtool pkg-config
 libjansson-dev libssl-dev libarchive-dev libzstd-dev zlib1g-dev libisal-dev
 libcurl4-openssl-dev libgpgme-dev libyaml-dev libsodium-dev go-md2man
 libgrpc-dev libprotobuf-c-dev protobuf-c-compiler"
TEST="dpkg-dev debhelper lintian fakeroot skopeo umoci docker-registry gnupg openssl jq python3 python3-jwcrypto python3-cryptography
 python3-grpcio python3-protobuf python3-fusepy python3-nacl
 zstd gzip tar time xz-utils apache2-utils curl attr clang-format man-db crun busybox-static tmux"
# clang + libFuzzer only for --enable-fuzzing builds
[ "${COCOIMG_FUZZ_DEPS:-0}" = 1 ] && TEST="$TEST clang libclang-rt-14-dev"
missing=""
for p in $BUILD $TEST; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
