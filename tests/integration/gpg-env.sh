#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Secrets in coco-img's environment never reach gpg or gpg-agent (issue 12):
# with COCOIMG_KEY_PASSWORD and COCOIMG_REGISTRY_PASSWORD set, a decrypt
# with --gpg-homedir makes gpg (run by GPGME with our environment) start
# the agent of that home; the agent's /proc/PID/environ holds neither.
# (The agent of a private home, for a keyring given as --key, is started by
# the library with a minimal environment: tests/unit/test_gpg.)
. "$top_srcdir/tests/lib.sh"
V="$OCI_VECTORS"
[ -d "$V/layouts" ] || bail_out "no ocicrypt vectors at $OCI_VECTORS"
K="$V/keys"
export GNUPGHOME="$T_TMP/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$K/pgp_secring.gpg" 2>/dev/null
gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null
T_CLEANUP='gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null'

# agent_env HOME: the environment of the gpg-agent serving HOME, one per line
agent_env() {
    local p
    for p in /proc/[0-9]*; do
        if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$1" &&
            tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -q gpg-agent; then
            tr '\0' '\n' <"$p/environ"
            return 0
        fi
    done
    return 1
}

plan 3
ok "decrypt with --gpg-homedir and both passwords in the environment" \
    env COCOIMG_KEY_PASSWORD=k3y-s3cret COCOIMG_REGISTRY_PASSWORD=r3g-s3cret \
    "$COCO_IMG" decrypt --gpg-homedir "$GNUPGHOME" "oci:$V/layouts/enc-pgp:v1" "oci:$T_TMP/out:v1"
ok "gpg started the home's agent" bash -c "$(declare -f agent_env); agent_env \"\$1\" >\"\$2\"" \
    _ "$GNUPGHOME" "$T_TMP/agent.env"
ok "the agent's environment has no COCOIMG_ secret" bash -c \
    '! grep -E "^COCOIMG_(KEY|REGISTRY)_PASSWORD=|s3cret" "$1"' _ "$T_TMP/agent.env"
