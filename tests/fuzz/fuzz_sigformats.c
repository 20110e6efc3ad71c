/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the parsers of signature-side input: the same bytes as a
 * registries.d YAML file (then looked up), as a simple-signing and a cosign
 * payload, and as PEM public keys checking a signature.
 */
#include <stdint.h>
#include <stdlib.h>

#include <cocoimg/reference.h>

#include "signatures/cosign.h"
#include "signatures/registries_d.h"
#include "signatures/simple.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cocoimg__registries_d *rd = NULL;
    if (cocoimg__registries_d_new(&rd, NULL) < 0)
        abort();
    if (cocoimg__registries_d_add(rd, data, size, "fuzz", NULL) == 0) {
        cocoimg_reference *r = NULL;
        if (cocoimg_reference_parse(&r, "docker://quay.io/ns/app:v1", NULL) < 0)
            abort();
        cocoimg__sigstore_config c;
        cocoimg__registries_d_for(&c, rd, r);
        cocoimg_reference_free(r);
    }
    cocoimg__registries_d_free(rd);
    cocoimg__simple_payload p;
    if (cocoimg__simple_payload_parse(&p, data, size, NULL) == 0)
        cocoimg__simple_payload_clear(&p);
    char *dg = NULL, *ref = NULL;
    if (cocoimg__cosign_payload_parse(&dg, &ref, data, size, NULL) == 0) {
        free(dg);
        free(ref);
    }
    /* the bytes as a PEM key list and as a signature over themselves */
    (void)cocoimg__cosign_verify_raw(data, size, data, size, data, size);
    return 0;
}
