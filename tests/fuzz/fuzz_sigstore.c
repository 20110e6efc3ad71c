/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the sigstore certificate and Rekor checks: the input is up to seven
 * NUL-separated sections (leaf PEM, chain PEM, bundle JSON, base64
 * signature, payload, Rekor key PEM, CA PEM), fed to the fulcio and pki
 * requirement checks, to the SET check alone and to the canonical JSON of
 * the input as a document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signatures/sigstore.h"
#include "util/jcs.h"
#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *sec[7] = {0};
    size_t lens[7] = {0};
    char *p = buf;
    for (int i = 0; i < 7 && p <= buf + size; i++) {
        sec[i] = p;
        lens[i] = strlen(p);
        p += lens[i] + 1;
    }
    cocoimg__cosign_sig s = {0};
    s.cert = sec[0];
    s.chain = sec[1];
    s.bundle = sec[2] && *sec[2] ? sec[2] : NULL;
    if (sec[3])
        (void)cocoimg__b64_decode(&s.sig, &s.sig_len, sec[3], lens[3], COCOIMG_B64_STD, "s", NULL);
    s.payload = (uint8_t *)(sec[4] ? sec[4] : "");
    s.payload_len = sec[4] ? lens[4] : 0;
    cocoimg__requirement rq = {0};
    rq.type = COCOIMG__REQ_SIGSTORE;
    rq.rekor_keys.set = true;
    rq.rekor_keys.data = (uint8_t *)(sec[5] ? sec[5] : "");
    rq.rekor_keys.data_len = sec[5] ? lens[5] : 0;
    cocoimg__key_source ca = {
        .set = true, .data = (uint8_t *)(sec[6] ? sec[6] : ""), .data_len = sec[6] ? lens[6] : 0};
    rq.has_fulcio = true;
    rq.fulcio_ca = ca;
    rq.fulcio_oidc_issuer = "https://oidc.example.com";
    rq.fulcio_subject_email = "dev@example.com";
    if (s.cert)
        (void)cocoimg__sigstore_verify_cosign(&rq, &s, NULL);
    rq.has_fulcio = false;
    rq.has_pki = true;
    rq.pki_roots = ca;
    rq.pki_subject_email = "dev@example.com";
    rq.pki_subject_hostname = "build.example.com";
    if (s.cert)
        (void)cocoimg__sigstore_verify_cosign(&rq, &s, NULL);
    /* the SET alone, for a key-based signature */
    int64_t t;
    if (s.bundle)
        (void)cocoimg__sigstore_verify_set(&t, rq.rekor_keys.data, rq.rekor_keys.data_len, s.bundle,
                                           NULL, rq.rekor_keys.data, rq.rekor_keys.data_len, s.sig,
                                           s.sig_len, s.payload, s.payload_len, NULL);
    json_t *j =
        json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (j) {
        char *c = NULL;
        size_t n;
        if (cocoimg__jcs(&c, &n, j, NULL) == 0)
            free(c);
        json_decref(j);
    }
    free(s.sig);
    free(buf);
    return 0;
}
