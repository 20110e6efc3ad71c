/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_BUNDLE_H
#define COCOIMG_SIGNATURES_BUNDLE_H

/*
 * Sigstore bundles v0.3 (sigstore/protobuf-specs, JSON form), internal:
 * the signatures cosign 3 writes with `sign --new-bundle-format` and
 * attaches to an image as OCI 1.1 referrers (see referrers.h).  For an
 * image, cosign signs a DSSE envelope (payloadType
 * application/vnd.in-toto+json) holding an in-toto Statement v1 whose
 * subject digest is the manifest digest and whose predicateType is
 * https://sigstore.dev/cosign/sign/v1 (predicate {}; the subject has no
 * name).
 *
 * Verification (key-based sigstoreSigned): the DSSE PAE
 * "DSSEv1 LEN(type) type LEN(payload) payload" verifies under one of the
 * policy's keys; the statement's predicate type is cosign's; one subject's
 * digest equals the manifest actually used.  The statement names no docker
 * reference, so signedIdentity can only be checked as far as the digest
 * goes: matchRepoDigestOrExact (the default), matchExact and
 * matchRepository accept (the bundle was read from the intended
 * repository, its digest is signed); exactReference, exactRepository and
 * remapIdentity need a signed reference and refuse.  messageSignature
 * bundles (cosign sign-blob) say nothing about an image and are refused;
 * bundles with a certificate (keyless, cosign 3's default) are checked
 * with the fulcio or pki part of the requirement: their Rekor "dsse"
 * entry and SET, the certificate, and the DSSE signature with its key
 * (signatures/sigstore.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/reference.h>

#include "signatures/policy.h"
#include "util/error.h"

#define COCOIMG__BUNDLE_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
#define COCOIMG__BUNDLE_MAX (1u << 20)
#define COCOIMG__INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define COCOIMG__COSIGN_SIGN_PREDICATE "https://sigstore.dev/cosign/sign/v1"

typedef enum {
    COCOIMG__BUNDLE_DSSE = 1,
    COCOIMG__BUNDLE_MESSAGE,
} cocoimg__bundle_kind;

typedef struct cocoimg__bundle {
    cocoimg__bundle_kind kind;
    bool keyless;      /* verificationMaterial has a certificate or chain */
    uint8_t *cert_der; /* the leaf certificate (keyless) */
    size_t cert_len;
    char *payload_type; /* DSSE */
    uint8_t *payload;   /* DSSE, decoded */
    size_t payload_len;
    uint8_t *sig; /* DSSE signatures[0].sig or messageSignature.signature, decoded */
    size_t sig_len;
    /*
     * tlogEntries[0] with its inclusion promise, in the form of cosign's
     * dev.sigstore.cosign/bundle annotation ({SignedEntryTimestamp,
     * Payload: {body, integratedTime, logIndex, logID}}) that
     * cocoimg__sigstore_verify_set() checks; NULL when there is none.
     */
    char *rekor_bundle;
} cocoimg__bundle;

void cocoimg__bundle_clear(cocoimg__bundle *b);

/* Parse a bundle strictly (COCOIMG_EFORMAT naming the field). */
int cocoimg__bundle_parse(cocoimg__bundle *out, const void *buf, size_t len, cocoimg_error **err);

/* The DSSE pre-authentication encoding of (@p type, @p payload). */
int cocoimg__dsse_pae(uint8_t **out, size_t *out_len, const char *type, const uint8_t *payload,
                      size_t payload_len, cocoimg_error **err);

/*
 * Parse an in-toto statement (v1 or v0.1) with cosign's sign predicate;
 * 1 when one subject digest equals @p want, 0 when none does, < 0 with
 * *err (COCOIMG_EFORMAT) when the statement is malformed or of another
 * predicate type.
 */
int cocoimg__intoto_subject_match(const void *buf, size_t len, const char *want_digest,
                                  cocoimg_error **err);

/*
 * Verify the bundle @p buf under the sigstoreSigned requirement @p rq for
 * the manifest @p manifest of @p intended: 0 or COCOIMG_EPOLICY with the
 * reason (other codes for local failures, e.g. an unreadable key file).
 */
int cocoimg__bundle_verify(const cocoimg__requirement *rq, const cocoimg_reference *intended,
                           const uint8_t *buf, size_t len, const uint8_t *manifest,
                           size_t manifest_len, cocoimg_error **err);

#endif
