/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_LOOKASIDE_H
#define COCOIMG_SIGNATURES_LOOKASIDE_H

/*
 * Simple signatures in a lookaside store (containers-registries.d(5)),
 * internal: BASE/REPO-PATH@ALG=HEX/signature-N for N = 1, 2, ... up to the
 * first that does not exist.  BASE is file://, http:// or https:// (TLS
 * verified, no redirects).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/reference.h>

#include "oci/digest.h"
#include "util/error.h"

#define COCOIMG__LOOKASIDE_MAX_SIGNATURES 64

typedef struct cocoimg__sig_list {
    uint8_t *v[COCOIMG__LOOKASIDE_MAX_SIGNATURES];
    size_t len[COCOIMG__LOOKASIDE_MAX_SIGNATURES];
    size_t n;
} cocoimg__sig_list;

void cocoimg__sig_list_clear(cocoimg__sig_list *l);

/* The URL (malloc'd) of signature @p index (1-based) of @p digest of @p ref under @p base. */
char *cocoimg__lookaside_url(const char *base, const cocoimg_reference *ref,
                             const cocoimg__digest *digest, size_t index);

/* Read every signature of @p digest; more than the maximum is an error. */
int cocoimg__lookaside_fetch(cocoimg__sig_list *out, const char *base, const cocoimg_reference *ref,
                             const cocoimg__digest *digest, cocoimg_error **err);

/* Write @p sig as the next free signature-N under a file:// @p base (for signing). */
int cocoimg__lookaside_store(const char *base, const cocoimg_reference *ref,
                             const cocoimg__digest *digest, const void *sig, size_t len,
                             cocoimg_error **err);

/*
 * Simple signatures through the X-Registry-Supports-Signatures API
 * (containers-signature(5), as containers/image's docker source): when the
 * registry's /v2/ answer carries "X-Registry-Supports-Signatures: 1",
 * *supported is set and the signatures of @p digest are those of GET
 * /extensions/v2/REPO/signatures/DIGEST ({"signatures": [{"version": 2,
 * "type": "atomic", "name", "content": BASE64}]}; entries of another
 * version or type are skipped); the lookaside is then not read.
 */
struct cocoimg_context;
int cocoimg__extsig_fetch(cocoimg__sig_list *out, bool *supported,
                          const struct cocoimg_context *ctx, const cocoimg_reference *ref,
                          const cocoimg__digest *digest, cocoimg_error **err);

#endif
