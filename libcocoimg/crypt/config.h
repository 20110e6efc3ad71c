/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_CONFIG_H
#define COCOIMG_CRYPT_CONFIG_H

/*
 * Building a cocoimg__crypt_config (crypt/keywrap.h): from the public crypt
 * options for encrypt/decrypt/unpack, or piece by piece (tests, tools).
 */

#include <stdbool.h>

#include <cocoimg/crypt.h>

#include "crypt/keywrap.h"
#include "util/error.h"

/* New config with an empty state for every wrapper (free with cocoimg__crypt_config_free()). */
int cocoimg__crypt_config_new(cocoimg__crypt_config **out, cocoimg_error **err);

/* The state of wrapper @p id (never NULL for a config made by cocoimg__crypt_config_new()). */
static inline void *
cocoimg__crypt_config_state(const cocoimg__crypt_config *cfg, enum cocoimg__keywrap_id id)
{
    return cfg ? cfg->state[id] : NULL;
}

/*
 * Add an encryption recipient "SCHEME:VALUE", parsed by the wrapper of
 * SCHEME (the split is at the first ':'): "jwe:PUBKEYFILE",
 * "pkcs7:CERTFILE", "pgp:EMAIL-OR-KEYID", "provider:NAME[:PARAMS]".
 * Unknown schemes fail with COCOIMG_EINVAL, "pkcs11:" with COCOIMG_ENOTSUP.
 */
int cocoimg__crypt_config_add_recipient(cocoimg__crypt_config *cfg, const char *spec,
                                        cocoimg_error **err);

/*
 * Add a decryption key spec "FILE[:PASSWORD]" (crypt/keyspec.h).  The file
 * is offered to the wrappers first (an OpenPGP keyring goes to pgp); a
 * file holding an X.509 certificate is added to the decryption
 * certificates (as skopeo does); anything else must be a private key.
 */
int cocoimg__crypt_config_add_key(cocoimg__crypt_config *cfg, const char *spec,
                                  cocoimg_error **err);

/* Add the key in @p file, decrypted with @p password (may be NULL). */
int cocoimg__crypt_config_add_key_password(cocoimg__crypt_config *cfg, const char *file,
                                           const char *password, cocoimg_error **err);

/* Add a certificate for PKCS7 decryption ("FILE" or "pkcs7:FILE"). */
int cocoimg__crypt_config_add_dec_cert(cocoimg__crypt_config *cfg, const char *file,
                                       cocoimg_error **err);

/* The operations that take cocoimg_crypt_options (see the table in crypt.h). */
enum cocoimg__crypt_op {
    COCOIMG__CRYPT_ENCRYPT,
    COCOIMG__CRYPT_DECRYPT,
    COCOIMG__CRYPT_LAYERINFO,
    COCOIMG__CRYPT_UNPACK,
};

/*
 * Refuse fields of @p o that do not apply to @p op (COCOIMG_EINVAL naming
 * the field), and a bad version.
 */
int cocoimg__crypt_options_check(const cocoimg_crypt_options *o, enum cocoimg__crypt_op op,
                                 cocoimg_error **err);

/*
 * The credentials of public crypt options for @p op (keys, certificates,
 * GnuPG, the key provider, recipients for COCOIMG__CRYPT_ENCRYPT); @p o may
 * be NULL.
 */
int cocoimg__crypt_config_from_options(cocoimg__crypt_config **out, const cocoimg_crypt_options *o,
                                       enum cocoimg__crypt_op op, cocoimg_error **err);

#endif
