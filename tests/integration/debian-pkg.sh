#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages: debian/ builds with dpkg-buildpackage -us -uc -b from
# a clean copy of the source tree (one build per run, a few minutes); the
# .debs unpacked into a scratch root give a coco-img that runs, a pkg-config
# file a client builds and links with, the man pages, the completion and a
# systemd unit that is installed but neither enabled nor started; the
# library's symbols file is the committed one; lintian has no E: or W: tag.
. "$top_srcdir/tests/lib.sh"

for t in dpkg-buildpackage dh lintian fakeroot pkg-config gcc; do
    command -v "$t" >/dev/null || bail_out "$t is needed (scripts/setup-deps.sh installs dpkg-dev, debhelper, lintian)"
done
T=$T_TMP
plan 13

# A clean copy: the files git knows (and new ones it does not ignore), else,
# from a release tarball, the tree without build directories.
mkdir -p "$T/src/coco-img"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top_srcdir" && git ls-files -co --exclude-standard -z | grep -zv '^_build' |
        tar --null -cf - -T -) | tar -xf - -C "$T/src/coco-img"
else
    (cd "$top_srcdir" && tar --exclude='./_build*' -cf - .) | tar -xf - -C "$T/src/coco-img"
fi
# the version the package says it is (native: no Debian revision)
dver=$(dpkg-parsechangelog -l "$top_srcdir/debian/changelog" -S Version)
ok "dpkg-buildpackage -us -uc -b builds the packages (debian/changelog $dver)" bash -c '
    cd "$1/src/coco-img" && DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b > "$1/build.log" 2>&1 ||
        { tail -n 40 "$1/build.log"; exit 1; }' _ "$T"
debs="libcocoimg0 libcocoimg-dev coco-img coco-keyprovider"
arch=$(dpkg --print-architecture)
ok "the four packages are there" bash -c '
    for p in $2; do f="$1/src/${p}_$3_$4.deb"; [ -s "$f" ] || { echo "missing $f"; exit 1; }; done' \
    _ "$T" "$debs" "$dver" "$arch"

R=$T/root
mkdir -p "$R"
for p in $debs; do dpkg -x "$T/src/${p}_${dver}_${arch}.deb" "$R" 2>/dev/null; done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
LIBDIR=$R/usr/lib/$multiarch

ok "coco-img --version from the scratch root runs on the packaged library" bash -c '
    v=$(LD_LIBRARY_PATH="$2" "$1/usr/bin/coco-img" --version) && echo "$v" &&
    echo "$v" | grep -qF "$3" &&
    LD_LIBRARY_PATH="$2" ldd "$1/usr/bin/coco-img" | grep -qF "$2/libcocoimg.so.0"' _ "$R" "$LIBDIR" "$dver"
ok "coco-keyprovider --help from the scratch root runs" bash -c '
    LD_LIBRARY_PATH="$2" "$1/usr/bin/coco-keyprovider" --help | grep -q -- "--listen"' _ "$R" "$LIBDIR"

cat > "$T/client.c" <<'EOC'
#include <cocoimg/cocoimg.h>
#include <stdio.h>
int main(void) {
    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0) {
        fprintf(stderr, "%s\n", cocoimg_error_message(err));
        cocoimg_error_free(err);
        return 1;
    }
    cocoimg_context_free(ctx);
    printf("libcocoimg %s\n", cocoimg_version());
    return 0;
}
EOC
# the sysroot prefixes the .pc's -I and -L; its own dependencies (Requires.private)
# come from the system, where the build found them
export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_PATH=$LIBDIR/pkgconfig
ok "pkg-config finds cocoimg in libcocoimg-dev, with the scratch root's paths" bash -c '
    pkg-config --exists cocoimg && [ "$(pkg-config --modversion cocoimg)" = "$2" ] &&
    pkg-config --cflags --libs cocoimg | grep -qF -- "-I$1/usr/include"' _ "$R" "$dver"
ok "a pkg-config client builds against libcocoimg-dev and prints cocoimg_version()" bash -c '
    gcc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags cocoimg) -o "$1/client" "$1/client.c" \
        $(pkg-config --libs cocoimg) &&
    out=$(LD_LIBRARY_PATH="$2" "$1/client") && echo "$out" && [ "$out" = "libcocoimg $3" ]' \
    _ "$T" "$LIBDIR" "$dver"

ok "the packaged symbols file is debian/libcocoimg0.symbols (every symbol at its version)" bash -c '
    dpkg -e "$1/src/libcocoimg0_$3_$4.deb" "$1/ctl" &&
    diff -u "$2/debian/libcocoimg0.symbols" "$1/ctl/symbols"' _ "$T" "$top_srcdir" "$dver" "$arch"
ok "libgrpc (opened on first use): recommended by libcocoimg0, required by coco-keyprovider" bash -c '
    g=$(dpkg -S "$(readlink -f "$(cc -print-file-name=libgrpc.so)")" | cut -d: -f1) &&
    [ -n "$g" ] &&
    dpkg-deb -f "$1/src/libcocoimg0_$2_$3.deb" Recommends | grep -qw "$g" &&
    ! dpkg-deb -f "$1/src/libcocoimg0_$2_$3.deb" Depends | grep -q libgrpc &&
    dpkg-deb -f "$1/src/coco-keyprovider_$2_$3.deb" Depends | grep -qw "$g"' _ "$T" "$dver" "$arch"
ok "man pages: coco-img(1), one per command, coco-keyprovider(8), libcocoimg(3), the config files (5)" bash -c '
    m=$1/usr/share/man
    for f in man1/coco-img.1.gz man1/coco-img-pull.1.gz man1/coco-img-attest.1.gz \
             man8/coco-keyprovider.8.gz man3/libcocoimg.3.gz man5/coco-img-containers-files.5.gz; do
        [ -s "$m/$f" ] || { echo "missing $f"; exit 1; }
    done
    for c in $(LD_LIBRARY_PATH="$2" "$1/usr/bin/coco-img" --help | sed -n "/^Commands:/,/^\$/p" |
               awk "NF > 1 && \$1 != \"Commands:\" {print \$1}" | grep -vx -e help -e version); do
        [ -s "$m/man1/coco-img-$c.1.gz" ] || { echo "no page for $c"; exit 1; }
    done' _ "$R" "$LIBDIR"
ok "bash completion and the keyprovider examples are installed" test -s "$R/usr/share/bash-completion/completions/coco-img" \
    -a -s "$R/usr/share/doc/coco-keyprovider/examples/ocicrypt-keyprovider.conf"
ok "coco-keyprovider.service runs the gRPC server, configured in /etc/default" bash -c '
    u=$1/lib/systemd/system/coco-keyprovider.service
    grep -qx "ExecStart=/usr/bin/coco-keyprovider --listen \${COCO_KEYPROVIDER_LISTEN} \$COCO_KEYPROVIDER_OPTIONS" "$u" &&
    grep -qx "EnvironmentFile=-/etc/default/coco-keyprovider" "$u" && [ -s "$1/etc/default/coco-keyprovider" ]' _ "$R"
ok "the unit is neither enabled nor started by the package scripts" bash -c '
    dpkg -e "$1/src/coco-keyprovider_$2_$3.deb" "$1/kpctl" && p=$1/kpctl/postinst &&
    grep -q "deb-systemd-helper update-state .coco-keyprovider.service." "$p" &&
    ! grep -q "deb-systemd-invoke" "$p" &&
    # the only enable re-creates what the administrator had enabled
    [ "$(grep -c "deb-systemd-helper enable" "$p")" = 1 ] &&
    grep -B2 "deb-systemd-helper enable" "$p" | grep -q "was-enabled"' _ "$T" "$dver" "$arch"
ok "lintian on the .changes: no error or warning" bash -c '
    out=$(lintian "$1/src/coco-img_$2_$3.changes" 2>&1 | grep -v "running with root privileges")
    echo "$out"; ! echo "$out" | grep -qE "^[EW]: "' _ "$T" "$dver" "$arch"
done_testing
