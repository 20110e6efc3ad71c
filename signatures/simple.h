/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_SIMPLE_H
#define COCOIMG_SIGNATURES_SIMPLE_H

/*
 * Simple signing (containers-signature(5)), internal: the JSON payload
 * ("atomic container signature") inside an OpenPGP signed message, checked
 * with GPGME against the keys of a signedBy requirement in a throw-away
 * GnuPG home.
 */

#include <stddef.h>
#include <stdint.h>

#include <cocoimg/reference.h>

#include "signatures/policy.h"
#include "util/error.h"

#define COCOIMG__SIMPLE_MAX_SIGNATURE (4u * 1024 * 1024)

typedef struct cocoimg__simple_payload {
    char *manifest_digest;  /* critical.image.docker-manifest-digest */
    char *docker_reference; /* critical.identity.docker-reference */
    char *creator;          /* optional.creator, may be NULL */
    int64_t timestamp;      /* optional.timestamp, 0 when absent */
} cocoimg__simple_payload;

void cocoimg__simple_payload_clear(cocoimg__simple_payload *p);

/*
 * Parse a payload strictly, as containers/image does: exactly the members
 * "critical" and "optional"; critical has exactly type (= "atomic container
 * signature"), image (exactly docker-manifest-digest) and identity (exactly
 * docker-reference); optional.creator a string and optional.timestamp an
 * integer if present, other optional members ignored.  COCOIMG_EFORMAT
 * "signature payload: ..." otherwise.
 */
int cocoimg__simple_payload_parse(cocoimg__simple_payload *out, const void *buf, size_t len,
                                  cocoimg_error **err);

/*
 * The same strict parser for either format: simple signing (type "atomic
 * container signature") or cosign (type "cosign container image
 * signature", optional may be null, its members are not looked at).
 * Messages start "signature payload: " / "cosign payload: ".
 */
typedef enum { COCOIMG__PAYLOAD_SIMPLE = 0, COCOIMG__PAYLOAD_COSIGN } cocoimg__payload_kind;
int cocoimg__payload_parse(cocoimg__simple_payload *out, const void *buf, size_t len,
                           cocoimg__payload_kind kind, cocoimg_error **err);

/* Make a payload (compact JSON, malloc'd) for signing. */
int cocoimg__simple_payload_make(char **out, size_t *len, const char *manifest_digest,
                                 const char *docker_reference, cocoimg_error **err);

/* A set of keys a signature must be made by: a private GnuPG home with them imported. */
typedef struct cocoimg__simple_keys cocoimg__simple_keys;

/*
 * Import the keys of @p src (keyPath / keyPaths / keyData of a signedBy
 * requirement; binary or armored) into a new home under @p tmpdir (NULL:
 * $TMPDIR or /tmp).  A file that holds no public key is an error naming it.
 */
int cocoimg__simple_keys_new(cocoimg__simple_keys **out, const cocoimg__key_source *src,
                             const char *tmpdir, cocoimg_error **err);
void cocoimg__simple_keys_free(cocoimg__simple_keys *k);
COCOIMG_DEFINE_CLEANUP(cocoimg__simple_keys, cocoimg__simple_keys_free)

/*
 * Verify one signature @p sig for the manifest @p manifest (its bytes as
 * used) under @p req's identity rule for the image @p intended.  0 when it
 * is accepted; COCOIMG_EPOLICY with the reason otherwise (not signed by one
 * of the keys or a subkey of one, bad/expired/revoked, payload invalid,
 * digest or identity mismatch); other codes for local failures.  The
 * signing key's fingerprint goes to @p fpr_out (41 bytes) when accepted.
 */
int cocoimg__simple_verify(const cocoimg__simple_keys *keys, const cocoimg__requirement *req,
                           const cocoimg_reference *intended, const void *sig, size_t sig_len,
                           const uint8_t *manifest, size_t manifest_len, char fpr_out[41],
                           cocoimg_error **err);

#endif
