/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the registry-supplied input of cosign 3 signatures: the bytes as a
 * Sigstore bundle (then its DSSE PAE and verification under a fixed
 * Ed25519 key), as an in-toto statement and as a referrers index.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "signatures/bundle.h"
#include "signatures/referrers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MCowBQYDK2VwAyEACiAb/wj8zzyASmbe+9XB6fE+tnz7lxx3FNKIno+gBd8=\n"
                              "-----END PUBLIC KEY-----\n";
static const char manifest[] = "{\"schemaVersion\":2}";
static const char digest[] =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cocoimg__bundle b;
    if (cocoimg__bundle_parse(&b, data, size, NULL) == 0) {
        if (b.kind == COCOIMG__BUNDLE_DSSE) {
            uint8_t *pae = NULL;
            size_t n = 0;
            if (cocoimg__dsse_pae(&pae, &n, b.payload_type, b.payload, b.payload_len, NULL) == 0)
                free(pae);
            int r = cocoimg__intoto_subject_match(b.payload, b.payload_len, digest, NULL);
            (void)r;
        }
        cocoimg__bundle_clear(&b);
    }
    cocoimg__requirement rq;
    memset(&rq, 0, sizeof(rq));
    rq.type = COCOIMG__REQ_SIGSTORE;
    rq.keys.set = true;
    rq.keys.data = (uint8_t *)key_pem;
    rq.keys.data_len = sizeof(key_pem) - 1;
    cocoimg_reference *ref = NULL;
    if (cocoimg_reference_parse(&ref, "docker://quay.io/ns/app:v1", NULL) < 0)
        abort();
    (void)cocoimg__bundle_verify(&rq, ref, data, size, (const uint8_t *)manifest,
                                 sizeof(manifest) - 1, NULL);
    cocoimg_reference_free(ref);
    (void)cocoimg__intoto_subject_match(data, size, digest, NULL);
    size_t nb = 0;
    (void)cocoimg__referrers_index_check(data, size, &nb, NULL);
    return 0;
}
