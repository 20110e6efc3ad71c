/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_REFERRERS_H
#define COCOIMG_SIGNATURES_REFERRERS_H

/*
 * Sigstore bundles attached to an image as OCI 1.1 referrers (cosign's
 * specs/BUNDLE_SPEC.md), internal: GET /v2/REPO/referrers/DIGEST
 * ?artifactType=application/vnd.dev.sigstore.bundle.v0.3+json, or, when
 * the registry answers 404 (no referrers API) or another HTTP error status
 * (COCOIMG_EHTTP: 400, 405, ...), the index tagged ALG-HEX
 * (the referrers tag schema; 404 there: no referrers).  Each listed
 * manifest of that artifact type is fetched by digest (verified, bounded)
 * and each of its layers of the bundle media type is read (bounded) as a
 * bundle.  Read only when registries.d says use-sigstore-attachments.
 */

#include <stddef.h>
#include <stdint.h>

#include <cocoimg/context.h>
#include <cocoimg/reference.h>

#include "oci/digest.h"
#include "util/error.h"

#define COCOIMG__REFERRERS_MAX 64

typedef struct cocoimg__bundle_list {
    uint8_t *v[COCOIMG__REFERRERS_MAX];
    size_t len[COCOIMG__REFERRERS_MAX];
    size_t n;
    bool api; /* found through the referrers API (else the tag schema) */
} cocoimg__bundle_list;

void cocoimg__bundle_list_clear(cocoimg__bundle_list *l);

/* The bundles attached to @p digest of the docker image @p ref (none: n = 0). */
int cocoimg__referrers_fetch(cocoimg__bundle_list *out, const cocoimg_context *ctx,
                             const cocoimg_reference *ref, const cocoimg__digest *digest,
                             cocoimg_error **err);

/*
 * Check the referrers index @p buf as cocoimg__referrers_fetch() reads it:
 * *n_bundles is the number of bundle manifests it lists (at most
 * COCOIMG__REFERRERS_MAX, else COCOIMG_ELIMIT); COCOIMG_EFORMAT for a
 * malformed index.  For the fuzzer.
 */
int cocoimg__referrers_index_check(const void *buf, size_t len, size_t *n_bundles,
                                   cocoimg_error **err);

#endif
