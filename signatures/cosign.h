/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_COSIGN_H
#define COCOIMG_SIGNATURES_COSIGN_H

/*
 * Cosign signatures ("sigstore attachments"), internal: the image
 * HOST/REPO:sha256-HEX.sig whose layers of media type
 * application/vnd.dev.cosign.simplesigning.v1+json are payloads, each with
 * its base64 signature in the annotation dev.cosignproject.cosign/signature
 * (and optionally a certificate, chain and Rekor bundle).  Read only when
 * registries.d says use-sigstore-attachments, as containers/image does.
 * Key-based verification: ECDSA P-256/P-384/P-521, RSA (PKCS#1 v1.5 and
 * PSS) and Ed25519 public keys (PEM).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <cocoimg/context.h>
#include <cocoimg/reference.h>

#include "oci/digest.h"
#include "signatures/policy.h"
#include "util/error.h"

#define COCOIMG__COSIGN_MAX_SIGNATURES 64
#define COCOIMG__COSIGN_MAX_PAYLOAD (1u << 20)

typedef struct cocoimg__cosign_sig {
    uint8_t *payload;
    size_t payload_len;
    uint8_t *sig; /* decoded */
    size_t sig_len;
    /* the annotations dev.sigstore.cosign/certificate, .../chain and .../bundle (or NULL) */
    char *cert;
    char *chain;
    char *bundle;
} cocoimg__cosign_sig;

typedef struct cocoimg__cosign_list {
    cocoimg__cosign_sig v[COCOIMG__COSIGN_MAX_SIGNATURES];
    size_t n;
} cocoimg__cosign_list;

void cocoimg__cosign_list_clear(cocoimg__cosign_list *l);

/* Fetch the attachments of @p digest of the docker image @p ref (none: n = 0). */
int cocoimg__cosign_fetch(cocoimg__cosign_list *out, const cocoimg_context *ctx,
                          const cocoimg_reference *ref, const cocoimg__digest *digest,
                          cocoimg_error **err);

/*
 * Parse a cosign payload strictly (containers/image semantics): exactly
 * critical and optional (an object or null); critical exactly type (=
 * "cosign container image signature"), image (docker-manifest-digest) and
 * identity (docker-reference).
 */
int cocoimg__cosign_payload_parse(char **digest_out, char **ref_out, const void *buf, size_t len,
                                  cocoimg_error **err);

/*
 * Verify @p s under the key-based sigstoreSigned requirement @p rq for the
 * manifest @p manifest of the image @p intended.  0 or COCOIMG_EPOLICY with
 * the reason.
 */
int cocoimg__cosign_verify(const cocoimg__requirement *rq, const cocoimg_reference *intended,
                           const cocoimg__cosign_sig *s, const uint8_t *manifest,
                           size_t manifest_len, cocoimg_error **err);

/* Verify @p sig over @p msg with the PEM public key(s) in @p pem: 1 yes, 0 no. */
int cocoimg__cosign_verify_raw(const uint8_t *pem, size_t pem_len, const uint8_t *msg,
                               size_t msg_len, const uint8_t *sig, size_t sig_len);

/* Verify @p sig over @p msg with the public key @p k: 1 yes, 0 no. */
int cocoimg__cosign_verify_pkey(EVP_PKEY *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                                size_t sig_len);

/*
 * Does @p sig over @p msg verify under one of the keys of the key-based
 * sigstoreSigned requirement @p rq (keyPath/keyPaths/keyData)?  *ok; < 0
 * only when a key file cannot be read.
 */
int cocoimg__cosign_verify_keys(bool *ok, const cocoimg__requirement *rq, const uint8_t *msg,
                                size_t msg_len, const uint8_t *sig, size_t sig_len,
                                cocoimg_error **err);

/*
 * Open the tag ALG-HEX@p suffix of @p digest in the repository of @p ref
 * (cosign's ".sig" attachment, "" for the referrers tag schema).
 */
struct cocoimg__source;
int cocoimg__cosign_open_tag(struct cocoimg__source **out, const cocoimg_context *ctx,
                             const cocoimg_reference *ref, const cocoimg__digest *digest,
                             const char *suffix, cocoimg_error **err);

/* Read the blob @p d of @p s (at most COCOIMG__COSIGN_MAX_PAYLOAD bytes, NUL-terminated). */
struct cocoimg__source;
struct cocoimg__descriptor;
int cocoimg__cosign_read_blob(uint8_t **out, size_t *len, struct cocoimg__source *s,
                              const struct cocoimg__descriptor *d, cocoimg_error **err);

#endif
