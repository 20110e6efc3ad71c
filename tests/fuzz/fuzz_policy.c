/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the containers-policy.json parser; whatever parses is looked up for
 * a few references and its identities matched against the input's first
 * line as a signed reference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "signatures/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cocoimg__policy *p = NULL;
    if (cocoimg__policy_parse(&p, data, size, "fuzz", NULL) < 0)
        return 0;
    static const char *const refs[] = {
        "docker://quay.io/ns/app:v1", "docker://busybox",
        "docker://a.b.example.com:5000/x@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        cocoimg_reference *r = NULL;
        if (cocoimg_reference_parse(&r, refs[i], NULL) < 0)
            abort();
        const cocoimg__policy_reqs *rq = NULL;
        if (cocoimg__policy_for(&rq, p, r, NULL) < 0 || !rq || rq->n == 0)
            abort();
        for (size_t j = 0; j < rq->n; j++)
            (void)cocoimg__identity_match(&rq->v[j].identity, r, "quay.io/ns/app:v1", NULL);
        cocoimg_reference_free(r);
    }
    cocoimg__policy_free(p);
    return 0;
}
