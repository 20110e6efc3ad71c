/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_KEYWRAP_H
#define COCOIMG_CRYPT_KEYWRAP_H

/*
 * Key wrappers (ocicrypt "keywrap"): each scheme encrypts the private layer
 * options JSON (privopts, which holds the symmetric key) to its recipients
 * and decrypts it with the caller's keys.  One blob per scheme holds all of
 * that scheme's recipients (spec 3.2); the annotation value is a comma list
 * of base64 blobs, handled by the caller, not by the wrappers: wrap/unwrap
 * see raw bytes.
 *
 * The registry below is looked up by scheme name or annotation key
 * (org.opencontainers.image.enc.keys.<scheme>).
 */

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include <cocoimg/crypt.h>

#include "util/error.h"
#include "util/secret.h"

#define COCOIMG_ENC_ANNOTATION_PREFIX "org.opencontainers.image.enc."
#define COCOIMG_ENC_KEYS_PREFIX "org.opencontainers.image.enc.keys."
#define COCOIMG_ENC_PUBOPTS "org.opencontainers.image.enc.pubopts"

/* A private key with its certificate (PKCS7 needs both), from one --key. */
typedef struct cocoimg__privkey {
    EVP_PKEY *pkey;
    char *source; /* file name, for messages */
} cocoimg__privkey;

/*
 * Credentials for one encrypt or decrypt operation.  Built by crypt/keys.c
 * from CLI/API strings; freed with cocoimg__crypt_config_free().
 */
typedef struct cocoimg__crypt_config {
    /* encryption recipients */
    EVP_PKEY **jwe_pubkeys;
    size_t n_jwe_pubkeys;
    X509 **pkcs7_certs;
    size_t n_pkcs7_certs;
    char **pgp_recipients; /* e-mail, name or key id */
    size_t n_pgp_recipients;
    /* decryption keys */
    cocoimg__privkey *privkeys;
    size_t n_privkeys;
    X509 **dec_certs; /* certificates matching privkeys (PKCS7 recipient lookup) */
    size_t n_dec_certs;
    bool pgp_decrypt;  /* try the GnuPG secret keys (gpg_homedir) */
    char *gpg_homedir; /* NULL: GnuPG's default */
    /*
     * A private GnuPG home holding the OpenPGP secret keyrings given as
     * keys (skopeo's --decryption-key secring.gpg); created on the first
     * such key, its agent stopped and the directory removed on free.
     */
    char *pgp_keyring_home;
    /* the caller's unwrapper for keys.provider.<name> annotations (keyprovider, KBS) */
    cocoimg_unwrap_cb unwrap_cb;
    void *unwrap_payload;
} cocoimg__crypt_config;

void cocoimg__crypt_config_free(cocoimg__crypt_config *c);

/* Import an OpenPGP secret keyring (binary or armored) into cfg->pgp_keyring_home. */
int cocoimg__pgp_import_keyring(cocoimg__crypt_config *cfg, const uint8_t *buf, size_t len,
                                const char *name, cocoimg_error **err);
/* Stop the gpg-agent of a private GnuPG home and remove it. */
void cocoimg__pgp_home_remove(const char *home);
COCOIMG_DEFINE_CLEANUP(cocoimg__crypt_config, cocoimg__crypt_config_free)

struct cocoimg__keywrapper {
    const char *scheme;     /* "jwe", "pkcs7", "pgp" */
    const char *annotation; /* COCOIMG_ENC_KEYS_PREFIX scheme */
    /* true when @p cfg has recipients for this scheme */
    bool (*has_recipients)(const cocoimg__crypt_config *cfg);
    /* true when @p cfg has keys that might unwrap this scheme */
    bool (*has_keys)(const cocoimg__crypt_config *cfg);
    /*
     * Wrap @p opts (the privopts JSON) for all of this scheme's recipients
     * in @p cfg into one blob (*out, malloc'd, raw bytes, not base64).
     */
    int (*wrap)(const cocoimg__crypt_config *cfg, const cocoimg__secret *opts, uint8_t **out,
                size_t *out_len, cocoimg_error **err);
    /*
     * Unwrap one blob with the keys in @p cfg.  COCOIMG_ENOKEY when no key
     * fits; COCOIMG_EFORMAT for a malformed blob; COCOIMG_EAUTH when a key
     * fits but the authentication (GCM tag, ...) fails.  *out holds the
     * privopts JSON.
     */
    int (*unwrap)(const cocoimg__crypt_config *cfg, const uint8_t *blob, size_t len,
                  cocoimg__secret **out, cocoimg_error **err);
    /*
     * For `layerinfo`: describe the recipients of a blob without keys, as a
     * JSON array of strings ("RSA-OAEP", "kid 12F1CD5F6A142AAA",
     * "CN=..., serial 0x1234", ...).  May be NULL.
     */
    int (*describe)(const uint8_t *blob, size_t len, json_t **out, cocoimg_error **err);
};

extern const struct cocoimg__keywrapper cocoimg__keywrap_jwe;
extern const struct cocoimg__keywrapper cocoimg__keywrap_pkcs7;
extern const struct cocoimg__keywrapper cocoimg__keywrap_pgp;

/* Registry lookups (NULL when unknown). */
const struct cocoimg__keywrapper *cocoimg__keywrap_by_scheme(const char *scheme);
const struct cocoimg__keywrapper *cocoimg__keywrap_by_annotation(const char *annotation);
/* NULL-terminated list of all registered wrappers. */
extern const struct cocoimg__keywrapper *const cocoimg__keywrappers[];

#endif
