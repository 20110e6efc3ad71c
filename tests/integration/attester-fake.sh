#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The TDX and SEV-SNP attesters end to end, on a fake configfs-tsm
# (tests/integration/fake_tsm.py, FUSE: mkdir makes an entry with provider,
# generation, inblob, outblob, auxblob, as Linux does) under
# COCOIMG_ATTESTER_ROOT, against the test KBS, whose tdx/snp test verifiers
# check the evidence shapes and the binding: REPORTDATA = H(JCS(runtime
# data)) padded to 64, MRCONFIGID / HOST_DATA = the init-data digest.  Also:
# auto detection and its one line, a TEE asked for that is not there, a
# racing writer (generation), a quote without our report_data, init-data
# that does not match the TEE (refused before the evidence is sent), and
# that every report entry is removed.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/kbs/kbs-fixtures.sh"

FAKE="$top_srcdir/tests/integration/fake_tsm.py"
[ -n "$KBS_PY" ] || bail_out "python3-cryptography not installed (scripts/setup-deps.sh)"
/usr/bin/python3 -c 'import fusepy' 2>/dev/null || bail_out "python3-fusepy not installed (scripts/setup-deps.sh)"
[ -e /dev/fuse ] || bail_out "no /dev/fuse: the fake configfs-tsm needs FUSE"
command -v jq >/dev/null || bail_out "jq not installed"

T=$T_TMP
plan 37

kbs_make_ca "$T/ca" || bail_out "cannot make the test CA"
mkdir -p "$T/res/default/key"
head -c 32 /dev/urandom >"$T/res/default/key/kek"
kbs_start "$T/kbs" --resources "$T/res" --cert "$T/ca/srv.crt" --key "$T/ca/srv.key" \
    --evidence-log "$T/evidence.log" ||
    bail_out "the test KBS did not start"
K=(--kbs-url "https://127.0.0.1:$KBS_PORT" --kbs-cert "$T/ca/ca.crt")
mark() { MARK=$(wc -l <"$T/kbs/log"); }
since() { tail -n +$((MARK + 1)) "$T/kbs/log" | grep -cE "$1" || true; }

# init-data as trustee documents it; its sha384 goes into the fake MRCONFIGID
cat >"$T/initdata.toml" <<'EOF'
# init-data for the attester tests
version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "https://kbs.example"
'''
EOF
sed 's/example/example.org/' "$T/initdata.toml" >"$T/other.toml"
printf 'version = "0.1.0"\n[data]\n' >"$T/noalg.toml"
sed 's/sha384/sha256/' "$T/initdata.toml" >"$T/initdata256.toml"
D384=$(sha384sum "$T/initdata.toml" | cut -d' ' -f1)
D256=$(sha256sum "$T/initdata256.toml" | cut -d' ' -f1)

# fake_start NAME ARGS...: a fake tree $T/NAME whose configfs-tsm is fake_tsm.py ARGS
fake_start() {
    local name=$1 i
    shift
    local mnt="$T/$name/sys/kernel/config/tsm"
    mkdir -p "$mnt"
    /usr/bin/python3 "$FAKE" "$mnt" --log "$T/$name.log" "$@" 2>"$T/$name.err" &
    local pid=$!
    T_CLEANUP="umount -l '$mnt' 2>/dev/null; kill $pid 2>/dev/null; $T_CLEANUP"
    for i in $(seq 100); do
        [ -d "$mnt/report" ] && return 0
        sleep 0.1
    done
    echo "# fake configfs-tsm did not mount:" >&2
    cat "$T/$name.err" >&2
    return 1
}
# entries NAME: how many report entries are left in the fake tree
entries() { ls "$T/$1/sys/kernel/config/tsm/report" | wc -l; }
# balanced NAME: every mkdir in the fake's log has its rmdir
balanced() {
    [ "$(grep -c '^mkdir ' "$T/$1.log")" -gt 0 ] &&
        [ "$(grep -c '^mkdir ' "$T/$1.log")" = "$(grep -c '^rmdir ' "$T/$1.log")" ] &&
        [ "$(entries "$1")" = 0 ]
}
get() { # get ROOT ARGS...: get-resource kbs:///default/key/kek with the attester root ROOT
    local root=$1
    shift
    COCOIMG_ATTESTER_ROOT=$root "$COCO_IMG" get-resource "${K[@]}" "$@" kbs:///default/key/kek \
        >"$T/stdout" 2>"$T/stderr"
}
got_kek() { cmp -s "$T/stdout" "$T/res/default/key/kek"; }
get_ok() { get "$@" && got_kek; }

fake_start tdx --provider tdx_guest --mrconfigid "$D384" || bail_out "FUSE fake did not start"
fake_start tdx5 --provider tdx_guest --quote-version 5 || bail_out "FUSE fake did not start"
fake_start tdxrace --provider tdx_guest --race 2 || bail_out "FUSE fake did not start"
fake_start tdxbusy --provider tdx_guest --race 100 || bail_out "FUSE fake did not start"
fake_start tdxbad --provider tdx_guest --ignore-inblob || bail_out "FUSE fake did not start"
fake_start snp --provider sev_guest --host-data "$D256" || bail_out "FUSE fake did not start"
mkdir -p "$T/none" "$T/sevdev/dev"
: >"$T/sevdev/dev/sev-guest"

# --- TDX ------------------------------------------------------------------
mark
ok "tdx: get-resource with a quote from configfs-tsm" get_ok "$T/tdx" --attester tdx
ok "  the KBS's TDX verifier accepted the quote (REPORTDATA bound to the runtime data)" \
    test "$(since 'POST /kbs/v0/attest 200')" = 1
ok "  inblob was the 48-byte SHA-384 report_data, zero-padded to 64" \
    grep -qE '^inblob [^ ]+ [0-9a-f]{96}0{32}$' "$T/tdx.log"
ok "  the report entry was removed" balanced tdx
ok "  the evidence is {cc_eventlog: null, quote: base64 of the raw quote}" \
    /usr/bin/python3 "$top_srcdir/tests/integration/evidence_check.py" tdx "$T/tdx.log" "$T/evidence.log"
ok "auto: detects TDX through configfs-tsm" get_ok "$T/tdx"
ok "  and says so in one line" \
    sh -c "[ \$(grep -c 'attester' '$T/stderr') -ge 1 ] && grep -q 'attester tdx: configfs-tsm provider tdx_guest' '$T/stderr'"
COCOIMG_ATTESTER_ROOT=$T/tdx "$COCO_IMG" attest "${K[@]}" --init-data "$T/initdata.toml" \
    >"$T/claims.json" 2>"$T/attest.err"
ok "init-data whose digest is the MRCONFIGID: attested" test -s "$T/claims.json"
ok "  the KBS saw the init-data (its digest is in the token)" \
    sh -c "jq -e --arg d \"\$(printf %s '$D384' | xxd -r -p | base64 -w0)\" '.. | objects | select(has(\"init_data\")) | .init_data == \$d' '$T/claims.json' | grep -q true"
ok "  the token carries the quote's MRCONFIGID" \
    sh -c "grep -q '\"mr_config_id\": *\"$D384\"' '$T/claims.json' || jq -e '.. | objects | select(has(\"mr_config_id\")) | .mr_config_id == \"$D384\"' '$T/claims.json' | grep -q true"
mark
fails "init-data the guest was not launched with: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/tdx" "$COCO_IMG" get-resource "${K[@]}" --attester tdx \
    --init-data "$T/other.toml" kbs:///default/key/kek
ok "  naming MRCONFIGID, before the evidence is sent" \
    sh -c "grep -q 'MRCONFIGID' '$T/out.$T_NUM' && [ $(since 'POST /kbs/v0/attest') = 0 ]"
fails "init-data without algorithm: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/tdx" "$COCO_IMG" get-resource "${K[@]}" --attester tdx \
    --init-data "$T/noalg.toml" kbs:///default/key/kek
ok "  saying what is missing" grep -q 'algorithm' "$T/out.$T_NUM"
ok "tdx: a v5 quote" get_ok "$T/tdx5" --attester tdx
ok "another writer on the entry (generation moved): retried with a new entry" \
    get_ok "$T/tdxrace" --attester tdx
ok "  said on stderr" grep -q 'another writer' "$T/stderr"
ok "  both entries removed" balanced tdxrace
fails "always another writer: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/tdxbusy" "$COCO_IMG" get-resource "${K[@]}" --attester tdx \
    kbs:///default/key/kek
ok "  saying so" grep -q 'generation moved' "$T/out.$T_NUM"
ok "  every entry removed" balanced tdxbusy
fails "a quote that does not carry our report_data: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/tdxbad" "$COCO_IMG" get-resource "${K[@]}" --attester tdx \
    kbs:///default/key/kek
ok "  saying so" grep -q "does not carry this attestation's report_data" "$T/out.$T_NUM"
fails "--attester snp on a TDX guest: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/tdx" "$COCO_IMG" get-resource "${K[@]}" --attester snp \
    kbs:///default/key/kek
ok "  'not a snp guest'" grep -q 'not a snp guest' "$T/out.$T_NUM"

# --- SNP ------------------------------------------------------------------
mark
ok "snp: get-resource with a report from configfs-tsm" get_ok "$T/snp" --attester snp --init-data "$T/initdata256.toml"
ok "  the KBS's SNP verifier accepted it (report_data, HOST_DATA = sha256 init-data)" \
    test "$(since 'POST /kbs/v0/attest 200')" = 1
ok "  the report entry was removed" balanced snp
ok "  the evidence is virtee/sev's serde form of the raw report, the certificate table as cert_chain" \
    /usr/bin/python3 "$top_srcdir/tests/integration/evidence_check.py" snp "$T/snp.log" "$T/evidence.log"
COCOIMG_ATTESTER_ROOT=$T/snp "$COCO_IMG" attest "${K[@]}" >"$T/snp-claims.json" 2>"$T/snp.err"
ok "auto detects SNP; the certificate table became cert_chain [VCEK]" \
    sh -c "grep -q 'attester snp: configfs-tsm provider sev_guest' '$T/snp.err' &&
           jq -e '.. | objects | select(has(\"cert_types\")) | .cert_types == [\"VCEK\"]' '$T/snp-claims.json' | grep -q true"
fails "snp: HOST_DATA is not the init-data digest: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/snp" "$COCO_IMG" get-resource "${K[@]}" --attester snp \
    --init-data "$T/initdata.toml" kbs:///default/key/kek
ok "  naming HOST_DATA" grep -q 'HOST_DATA' "$T/out.$T_NUM"
fails "snp without configfs-tsm, /dev/sev-guest not a device: refused" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/sevdev" "$COCO_IMG" get-resource "${K[@]}" --attester snp \
    kbs:///default/key/kek
ok "  with the ioctl's error" grep -q 'SNP_GET_EXT_REPORT' "$T/out.$T_NUM"

COCOIMG_ATTESTER_ROOT=$T/tdx "$top_builddir/coco-keyprovider" "${K[@]}" </dev/null >/dev/null 2>"$T/kp.err"
ok "coco-keyprovider names the auto-detected attester too" \
    grep -q 'coco-keyprovider: attester tdx: configfs-tsm provider tdx_guest' "$T/kp.err"

# --- no TEE ---------------------------------------------------------------
fails "--attester tdx on a machine without TDX: refused, no fallback" '*' \
    env COCOIMG_ATTESTER_ROOT="$T/none" "$COCO_IMG" get-resource "${K[@]}" --attester tdx \
    kbs:///default/key/kek
ok "  'not a tdx guest'" grep -q 'not a tdx guest' "$T/out.$T_NUM"
done_testing
