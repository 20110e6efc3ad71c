#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Progress and --json.  In a real terminal (tmux: send-keys, pipe-pane,
# capture-pane) copy and pull draw one line per layer (digest prefix,
# bytes, rate) and an overall line, redrawn in place and cleared at the end;
# with stderr not a terminal nothing is drawn; --progress=plain writes a line
# per layer start and end (copy, encrypt, decrypt, pull), "already present"
# for a blob the registry has; --quiet silences a forced --progress=tty.
# --json: the pull/unpack summary (manifest, platform, layers, bytes,
# policy, bundle) checked against skopeo and the registry, verify's verdict,
# and errors as {"error":{"code","message"}} on stderr with the exit status
# unchanged.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/fixtures.sh"
. "$top_srcdir/tests/integration/registry-fixtures.sh"
fx_need docker-registry skopeo umoci jq python3 tmux openssl
[ "$(id -u)" -eq 0 ] || skip_all "needs root (owners; umoci without --rootless)"

T=$T_TMP
isolate_registry_env
cd "$T" || exit 1
CI=$COCO_IMG
plan 33

P=$(free_port)
start_registry reg "$P"
R=127.0.0.1:$P
SK=--tls-verify=false

# three layers, one of 48 MiB so the data events have something to report
fx_umoci_image "$T/oci" v1
mkdir -p "$T/big/data"
head -c $((48 * 1024 * 1024)) /dev/urandom >"$T/big/data/blob"
umoci insert --rootless --image "$T/oci:v1" "$T/big/data" /data >/dev/null || bail_out "umoci insert"
LAYERS_JSON=$("$CI" inspect "oci:$T/oci:v1" | jq -c '[.LayersData[] | {d: .Digest, s: .Size}]')
N=$(echo "$LAYERS_JSON" | jq length)
SUM=$(echo "$LAYERS_JSON" | jq '[.[].s] | add')
BIG=$(echo "$LAYERS_JSON" | jq -r '.[2].d' | cut -d: -f2 | cut -c1-12)
[ "$N" = 3 ] || bail_out "expected 3 layers, got $N"

# === a real terminal ======================================================
S=cocoimg-progress-$$
tmux -L "$S" new-session -d -s main -x 160 -y 40 "bash --norc --noprofile" || bail_out "tmux"
T_CLEANUP="$T_CLEANUP tmux -L $S kill-server 2>/dev/null;"
tmux -L "$S" pipe-pane -t main -o "cat >>'$T/raw.log'"
tmux -L "$S" send-keys -t main \
    "TERM=xterm '$CI' copy --dest-tls-verify=false oci:$T/oci:v1 docker://$R/app:v1; echo EXIT=\$? >'$T/tty.done'" Enter
for _ in $(seq 600); do [ -e "$T/tty.done" ] && break; sleep 0.1; done
sleep 0.3
tmux -L "$S" capture-pane -t main -p >"$T/screen.txt"
ok "copy in a terminal: succeeds" grep -q '^EXIT=0$' "$T/tty.done"
ok "  ... drew a line for the big layer (digest prefix, bytes of 48.0 MiB)" \
    grep -aq "copy  $BIG .*48.0 MiB" "$T/raw.log"
ok "  ... and the overall line (layers done of 3, bytes, rate)" \
    grep -aqE 'copy: [0-3]/3 layers, .* of .*, .*/s' "$T/raw.log"
ok "  ... redrawn in place (cursor up, erase line)" \
    bash -c "grep -aqP '\x1b\[[0-9]+A' '$T/raw.log' && grep -aqP '\x1b\[2K' '$T/raw.log'"
ok "  ... and cleared at the end: the final screen has no progress line" \
    bash -c "! grep -qE 'layers, |copy  [0-9a-f]{12}' '$T/screen.txt'"
tmux -L "$S" send-keys -t main "clear" Enter
rm -f "$T/tty.done"
tmux -L "$S" send-keys -t main \
    "TERM=xterm '$CI' pull --tls-verify=false docker://$R/app:v1 '$T/tty-bundle'; echo EXIT=\$? >'$T/tty.done'" Enter
for _ in $(seq 600); do [ -e "$T/tty.done" ] && break; sleep 0.1; done
sleep 0.3
tmux -L "$S" capture-pane -t main -p >"$T/screen2.txt"
ok "pull in a terminal: succeeds and draws unpack lines" \
    bash -c "grep -q '^EXIT=0$' '$T/tty.done' && grep -aq 'unpack  $BIG' '$T/raw.log'"
ok "  ... cleared at the end" bash -c "! grep -qE 'layers, |unpack  [0-9a-f]{12}' '$T/screen2.txt'"
ok "TERM=dumb in a terminal: nothing drawn" \
    bash -c "rm -f '$T/tty.done' '$T/raw.log'; tmux -L '$S' send-keys -t main \"TERM=dumb '$CI' copy --dest-tls-verify=false oci:$T/oci:v1 docker://$R/dumb:v1; echo EXIT=\\\$? >'$T/tty.done'\" Enter;
             for _ in \$(seq 600); do [ -e '$T/tty.done' ] && break; sleep 0.1; done; sleep 0.3;
             grep -q '^EXIT=0$' '$T/tty.done' && ! grep -aq 'layers, ' '$T/raw.log'"

# === not a terminal, plain, quiet ========================================
ok "stderr not a terminal: nothing on stderr" \
    bash -c "'$CI' copy --dest-tls-verify=false oci:$T/oci:v1 docker://$R/app:v2 2>'$T/err1' && [ ! -s '$T/err1' ]"
ok "--progress=plain: a line per layer start and end" \
    bash -c "'$CI' copy --progress=plain oci:$T/oci:v1 oci:$T/copy:v1 2>'$T/err2' &&
             [ \$(grep -c 'copy: layer [1-3]/3 sha256:[0-9a-f]\{64\} (' '$T/err2') = 3 ] &&
             [ \$(grep -c 'copy: layer [1-3]/3 done (' '$T/err2') = 3 ]"
ok "  ... a blob the destination has: 'already present'" \
    bash -c "'$CI' copy --progress=plain --dest-tls-verify=false oci:$T/oci:v1 docker://$R/app:v3 2>'$T/err3' &&
             [ \$(grep -c 'already present' '$T/err3') = 3 ]"
ok "--progress=tty with stderr in a file: escape sequences drawn" \
    bash -c "'$CI' copy --progress=tty oci:$T/oci:v1 oci:$T/copy:v2 2>'$T/err4' && grep -aqP '\x1b\[2K' '$T/err4'"
ok "--quiet after --progress=tty: nothing" \
    bash -c "'$CI' copy --progress=tty --quiet oci:$T/oci:v1 oci:$T/copy:v3 2>'$T/err5' && [ ! -s '$T/err5' ]"
fails "--progress=loud is a usage error" 2 "$CI" copy --progress=loud oci:$T/oci:v1 oci:$T/copy:v4
openssl genrsa -out "$T/k.pem" 2048 2>/dev/null
openssl rsa -in "$T/k.pem" -pubout -out "$T/pub.pem" 2>/dev/null
ok "encrypt --progress=plain names the operation" \
    bash -c "'$CI' encrypt --progress=plain --recipient jwe:'$T/pub.pem' oci:$T/oci:v1 oci:$T/enc:v1 2>'$T/err6' &&
             [ \$(grep -c 'encrypt: layer [1-3]/3 done' '$T/err6') = 3 ]"
ok "decrypt --progress=plain names the operation" \
    bash -c "'$CI' decrypt --progress=plain --key '$T/k.pem' oci:$T/enc:v1 oci:$T/dec:v1 2>'$T/err7' &&
             [ \$(grep -c 'decrypt: layer [1-3]/3 done' '$T/err7') = 3 ]"
ok "pull --progress=plain" \
    bash -c "'$CI' pull --progress=plain --tls-verify=false docker://$R/app:v1 '$T/b0' 2>'$T/err8' &&
             [ \$(grep -c 'unpack: layer [1-3]/3 done' '$T/err8') = 3 ]"

# === --json ==============================================================
DIGEST=$(skopeo inspect $SK "docker://$R/app:v1" | jq -r .Digest)
ok "pull --json: a summary on stdout, nothing else" \
    bash -c "'$CI' pull --json --tls-verify=false docker://$R/app:v1 '$T/b1' >'$T/sum.json' 2>'$T/err9' &&
             jq -e . '$T/sum.json' >/dev/null && [ ! -s '$T/err9' ]"
ok "  ... manifest digest as skopeo sees it" bash -c "[ \"\$(jq -r .manifest '$T/sum.json')\" = '$DIGEST' ]"
ok "  ... layers and bytes of the image" \
    bash -c "[ \"\$(jq -r '.layers, .bytes' '$T/sum.json' | paste -sd,)\" = '3,$SUM' ]"
ok "  ... the policy that accepted it, the bundle, the time" \
    bash -c "jq -e '(.policy | test(\"insecureAcceptAnything\")) and .bundle == \"$T/b1\" and (.seconds >= 0)' '$T/sum.json'"
fx_multiarch "$T/multi" latest
"$CI" copy --all --dest-tls-verify=false "oci:$T/multi:latest" "docker://$R/multi:latest" >/dev/null 2>&1
ok "unpack --json of an index entry names its platform" \
    bash -c "'$CI' pull --json --platform linux/arm64 --tls-verify=false docker://$R/multi:latest '$T/b2' | jq -e '.platform == \"linux/arm64\"'"
cat >"$T/reject.json" <<EOF
{"default":[{"type":"reject"}]}
EOF
fails "pull --json refused by the policy: exit 3" 3 \
    "$CI" pull --json --policy "$T/reject.json" --tls-verify=false "docker://$R/app:v1" "$T/b3"
ok "  ... the error is JSON on stderr: code EPOLICY and the message" \
    bash -c "jq -e '.error.code == \"EPOLICY\" and (.error.message | test(\"reject\"))' '$T/out.$T_NUM'"
fails "pull --json of a missing tag: exit 4, code ENOTFOUND" 4 \
    bash -c "'$CI' pull --json --tls-verify=false docker://$R/app:nope '$T/b4' 2>'$T/err10'; rc=\$?; jq -e '.error.code == \"ENOTFOUND\"' '$T/err10' >/dev/null || exit 99; exit \$rc"
ok "verify --json: accepted, with the manifest and the policy" \
    bash -c "'$CI' verify --json --tls-verify=false docker://$R/app:v1 | jq -e '.accepted and .manifest == \"$DIGEST\" and (.policy | test(\"insecureAcceptAnything\"))'"
fails "verify --json rejected: exit 3" 3 \
    "$CI" verify --json --policy "$T/reject.json" --tls-verify=false "docker://$R/app:v1"
ok "  ... with a JSON error" jq -e '.error.code == "EPOLICY"' "$T/out.$T_NUM"
fails "copy takes no --json (usage error)" 2 "$CI" copy --json "oci:$T/oci:v1" "oci:$T/copy:v5"
fails "inspect --json of a missing image: exit 4" 4 "$CI" inspect --json "oci:$T/none:v1"
ok "  ... the error is JSON on stderr" jq -e '.error.code == "ENOTFOUND"' "$T/out.$T_NUM"
fails "layerinfo --json of a missing image: exit 4" 4 "$CI" layerinfo --json "oci:$T/none:v1"
ok "  ... the error is JSON on stderr" jq -e '.error.code == "ENOTFOUND"' "$T/out.$T_NUM"

done_testing
