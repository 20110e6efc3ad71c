/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_COSIGN_SIGN_H
#define COCOIMG_SIGNATURES_COSIGN_SIGN_H

/*
 * Cosign signing (internal): cosign's private key files and the
 * HOST/REPO:sha256-HEX.sig attachment a signature is pushed to.
 *
 * Key files: "ENCRYPTED SIGSTORE PRIVATE KEY" (and cosign's older
 * "ENCRYPTED COSIGN PRIVATE KEY") PEM blocks hold the JSON of
 * go-securesystemslib's encrypted package, {kdf: {name: "scrypt", params:
 * {N, r, p}, salt}, cipher: {name: "nacl/secretbox", nonce}, ciphertext}
 * (Go []byte: standard base64), whose plaintext is a PKCS#8 DER private
 * key; the secretbox key is scrypt(passphrase, salt, N, r, p, 32).  Plain
 * PEM private keys ("PRIVATE KEY", "EC PRIVATE KEY", ...) are read too.
 */

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/context.h>
#include <cocoimg/reference.h>

#include "oci/digest.h"
#include "util/error.h"

/*
 * Load a private key (ECDSA, RSA or Ed25519) from the PEM file content
 * @p buf.  An encrypted key needs @p pass (NULL: COCOIMG_EAUTH "needs a
 * passphrase"); a wrong passphrase and a corrupted ciphertext give the same
 * COCOIMG_EAUTH error.  Other malformed input: COCOIMG_EFORMAT; work
 * factors beyond N = 2^20, r = 32, p = 16: COCOIMG_ELIMIT.
 */
int cocoimg__sigstore_key_load(EVP_PKEY **out, const uint8_t *buf, size_t len, const char *pass,
                               cocoimg_error **err);

/* Encrypt @p k in cosign's format (N = 65536, r = 8, p = 1); *out is a malloc'd PEM string. */
int cocoimg__sigstore_key_encrypt(char **out, EVP_PKEY *k, const char *pass, cocoimg_error **err);

/*
 * The cosign simple-signing payload for @p manifest_digest and
 * @p docker_reference (malloc'd, not NUL-counted in *len).
 */
int cocoimg__cosign_payload_make(char **out, size_t *len, const char *manifest_digest,
                                 const char *docker_reference, cocoimg_error **err);

/* Sign @p msg: ECDSA/RSA (PKCS#1 v1.5) over SHA-256, Ed25519 pure; *sig malloc'd (DER for ECDSA).
 */
int cocoimg__cosign_sign_raw(uint8_t **sig, size_t *sig_len, EVP_PKEY *k, const void *msg,
                             size_t msg_len, cocoimg_error **err);

/*
 * Push @p payload with its signature @p sig as a layer of the attachment
 * of @p digest in the repository of the docker reference @p dst: the layers
 * of an existing attachment are kept (the same payload and signature is
 * not added twice), the config's diff_ids follow the layers.
 */
int cocoimg__cosign_attach(const cocoimg_context *ctx, const cocoimg_reference *dst,
                           const cocoimg__digest *digest, const void *payload, size_t payload_len,
                           const uint8_t *sig, size_t sig_len, cocoimg_error **err);

#endif
