/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_KEYS_H
#define COCOIMG_CRYPT_KEYS_H

/*
 * Key, certificate and JWK loading (ocicrypt spec section 8).  Key specs
 * ("FILE:pass=...") are in crypt/keyspec.h, the crypt config in crypt/config.h.
 *
 * Accepted (a superset of ocicrypt):
 *   public keys   SPKI PEM/DER, PKCS#1 RSA public PEM/DER, JWK (kty RSA/EC)
 *   private keys  PKCS#8 PEM/DER, encrypted PKCS#8 (password), PKCS#1 PEM/DER,
 *                 legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED", password),
 *                 SEC1 EC PEM/DER, JWK with private members
 *   certificates  X.509 PEM/DER
 * Unlike ocicrypt, nothing is silently ignored: an unusable file is an error
 * naming it.  "name" arguments only appear in messages.
 *
 * Returned EVP_PKEY / X509 objects are owned by the caller.
 */

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Largest key, certificate or password file we read. */
#define COCOIMG_KEY_FILE_MAX (1024u * 1024)

/*
 * Public key for a JWE recipient.  COCOIMG_EFORMAT/ENOTSUP when the data is
 * not a usable public key (certificates are refused as ocicrypt does).
 */
int cocoimg__key_load_public(EVP_PKEY **out, const void *data, size_t len, const char *name,
                             cocoimg_error **err);
int cocoimg__key_load_public_file(EVP_PKEY **out, const char *path, cocoimg_error **err);

/*
 * Private key; @p password may be NULL.  An encrypted key without password
 * fails with COCOIMG_EINVAL, with a wrong one with COCOIMG_EAUTH ("wrong
 * password for key 'NAME'"); unparseable data with COCOIMG_EFORMAT.
 */
int cocoimg__key_load_private(EVP_PKEY **out, const void *data, size_t len, const char *password,
                              const char *name, cocoimg_error **err);
int cocoimg__key_load_private_file(EVP_PKEY **out, const char *path, const char *password,
                                   cocoimg_error **err);

/* X.509 certificate, PEM (first block) or DER. */
int cocoimg__cert_load(X509 **out, const void *data, size_t len, const char *name,
                       cocoimg_error **err);
int cocoimg__cert_load_file(X509 **out, const char *path, cocoimg_error **err);

/*
 * JWK (RFC 7517/7518 section 6) to EVP_PKEY: kty "RSA" or "EC" (P-256,
 * P-384, P-521).  With @p want_private the private members ("d", ...) are
 * required, otherwise they are ignored.  EC points are checked to be on the
 * curve.
 */
int cocoimg__jwk_to_pkey(EVP_PKEY **out, const json_t *jwk, bool want_private, const char *name,
                         cocoimg_error **err);

/*
 * The public part of an EC key as a JWK {"kty","crv","x","y"} (members in
 * go-jose's order, coordinates padded to the field size).
 */
int cocoimg__ec_pkey_to_jwk(json_t **out, EVP_PKEY *pkey, cocoimg_error **err);

/*
 * JWK curve name ("P-256", "P-384", "P-521") of an EC key; NULL when the
 * key is not EC or on another curve.
 */
const char *cocoimg__ec_pkey_jwk_curve(EVP_PKEY *pkey);

/*
 * JWK attributes remembered on a key loaded from a JWK ("alg" and "kid"):
 * NULL when absent or the key did not come from a JWK.  Borrowed; valid as
 * long as @p pkey.
 */
const char *cocoimg__pkey_jwk_alg(const EVP_PKEY *pkey);
const char *cocoimg__pkey_jwk_kid(const EVP_PKEY *pkey);

/* Read a whole file of at most @p max bytes (*out has a spare NUL). */
int cocoimg__key_read_file(uint8_t **out, size_t *len, const char *path, size_t max,
                           cocoimg_error **err);

/* Does @p data look like an X.509 certificate / an OpenPGP secret keyring? */
bool cocoimg__key_is_cert(const void *data, size_t len);
bool cocoimg__key_is_openpgp(const uint8_t *data, size_t len);

/* The first OpenSSL error reason, for messages (static text); clears the error queue. */
const char *cocoimg__ossl_reason(void);

#endif
