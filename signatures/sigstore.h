/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_SIGSTORE_H
#define COCOIMG_SIGNATURES_SIGSTORE_H

/*
 * Sigstore X.509 and Rekor checks for cosign signatures (internal),
 * containers/image semantics (signature/fulcio_cert.go, pki_cert.go,
 * internal/rekor_set.go), fully offline:
 *
 *  - Fulcio: the leaf certificate chains to the policy's CA (the only
 *    trust anchor), with the intermediates of the chain annotation (its
 *    last certificate, the root, is dropped as upstream does), at the
 *    Rekor integrated time; codeSigning EKU; OIDC issuer from extension
 *    1.3.6.1.4.1.57264.1.1 (raw) or .1.8 (DER UTF8String), equal if both;
 *    SAN email.
 *  - PKI: the same chain check against the policy's roots and
 *    intermediates, at the current time; SAN email and/or hostname.
 *  - Rekor SET: ECDSA by a policy Rekor key over sha256 of the RFC 8785
 *    canonical JSON of the bundle's Payload; the entry (hashedrekord or
 *    rekord v0.0.1) names this signature, this certificate or key and the
 *    sha256 of the payload.
 *
 * Every refusal is COCOIMG_EPOLICY with the cause.
 */

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "signatures/cosign.h"
#include "signatures/policy.h"
#include "util/error.h"

/*
 * The OIDC issuer of a Fulcio certificate (malloc'd); COCOIMG_EPOLICY when
 * absent, duplicated, malformed or inconsistent between the two OIDs.
 */
int cocoimg__sigstore_oidc_issuer(char **out, X509 *leaf, cocoimg_error **err);

/*
 * Verify the Rekor bundle @p bundle (cosign's dev.sigstore.cosign/bundle
 * JSON) under the EC public keys in @p rekor_pem, for the signature
 * @p sig over @p payload made by @p cert (keyless / PKI) or by one of the
 * keys in @p key_pem (key-based; @p cert NULL).  *time_out: the entry's
 * integratedTime.
 */
int cocoimg__sigstore_verify_set(int64_t *time_out, const uint8_t *rekor_pem, size_t rekor_len,
                                 const char *bundle, X509 *cert, const uint8_t *key_pem,
                                 size_t key_pem_len, const uint8_t *sig, size_t sig_len,
                                 const uint8_t *payload, size_t payload_len, cocoimg_error **err);

/* Parse the first PEM certificate of @p pem (COCOIMG_EPOLICY if none). */
int cocoimg__sigstore_parse_cert(X509 **out, const char *pem, cocoimg_error **err);

/*
 * Chain @p leaf to the certificates in @p roots (the only trust anchors),
 * with the intermediates in @p inter (may be NULL) and all but the last
 * certificate of @p chain_pem (may be NULL), at time @p at (0: now), with
 * the codeSigning EKU.  @p what names the roots in messages ("the policy's
 * Fulcio CA").
 */
int cocoimg__sigstore_verify_chain(X509 *leaf, const uint8_t *roots, size_t roots_len,
                                   const uint8_t *inter, size_t inter_len, const char *chain_pem,
                                   time_t at, const char *what, cocoimg_error **err);

/* Fulcio: chain at @p at, OIDC issuer and SAN email. */
int cocoimg__sigstore_verify_fulcio(X509 *leaf, const uint8_t *ca, size_t ca_len,
                                    const char *chain_pem, const char *oidc_issuer,
                                    const char *email, time_t at, cocoimg_error **err);

/*
 * The certificate part of a fulcio or pki sigstoreSigned requirement for
 * the cosign signature @p s: certificate, chain, identity, SET (fulcio;
 * pki with Rekor keys is refused, as upstream) and the signature over the
 * payload with the leaf's key.  The payload's digest and identity are
 * checked by the caller.
 */
int cocoimg__sigstore_verify_cosign(const cocoimg__requirement *rq, const cocoimg__cosign_sig *s,
                                    cocoimg_error **err);

/*
 * The same for a certificate @p leaf already parsed, where the signature
 * @p sig is over @p signed_msg and the Rekor entry of @p rekor_bundle (the
 * cosign bundle JSON form: SignedEntryTimestamp + Payload) logs
 * @p logged: for cosign's .sig both are the payload; for a DSSE bundle the
 * signature is over the PAE and Rekor logs the envelope's payload.
 */
int cocoimg__sigstore_verify_cert_signature(const cocoimg__requirement *rq, X509 *leaf,
                                            const char *chain, const char *rekor_bundle,
                                            const uint8_t *sig, size_t sig_len,
                                            const uint8_t *signed_msg, size_t signed_len,
                                            const uint8_t *logged, size_t logged_len,
                                            cocoimg_error **err);

/* The concatenated contents of a policy key source (paths, kbs blobs, data). */
int cocoimg__sigstore_load_source(uint8_t **out, size_t *len, const cocoimg__key_source *ks,
                                  cocoimg_error **err);

#endif
