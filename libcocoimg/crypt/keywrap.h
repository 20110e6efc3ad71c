/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_KEYWRAP_H
#define COCOIMG_CRYPT_KEYWRAP_H

/*
 * Key wrappers (ocicrypt "keywrap"): each scheme encrypts the private layer
 * options JSON (privopts, which holds the symmetric key) to its recipients
 * and decrypts it with the caller's keys.  One blob per scheme holds all of
 * that scheme's recipients (spec 3.2); the annotation value is a comma list
 * of base64 blobs: wrappers append raw bytes with cocoimg__keywrap_append()
 * and unwrap raw bytes.
 *
 * A wrapper is an object: a vtable (struct cocoimg__keywrapper) with its own
 * recipient parsing (the text after "SCHEME:"), its own per-operation state
 * (recipients, scheme-specific settings: state_new/state_free, kept in
 * cocoimg__crypt_config.state[]), key acceptance, wrap, unwrap and describe.
 * All wrappers are listed once in COCOIMG__KEYWRAPPERS below and found by
 * scheme prefix or annotation key through that table (crypt/wrappers.c).
 * Adding a scheme: add X(name) here, write keywrap_name.c defining
 * cocoimg__keywrap_name, list it in crypt/local.am.
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

/* Every key wrapper, in the order annotations are written (sorted, as Go's JSON does). */
#define COCOIMG__KEYWRAPPERS(X) X(jwe) X(pgp) X(pkcs7) X(provider)

enum cocoimg__keywrap_id {
#define COCOIMG__KW_ENUM(name) COCOIMG__KW_##name,
    COCOIMG__KEYWRAPPERS(COCOIMG__KW_ENUM)
#undef COCOIMG__KW_ENUM
        COCOIMG__KW_COUNT
};

/* A private key from one --key (JWE and PKCS7 both use these). */
typedef struct cocoimg__privkey {
    EVP_PKEY *pkey;
    char *source; /* file name, for messages */
} cocoimg__privkey;

/*
 * Credentials for one encrypt or decrypt operation: the caller's private
 * keys and certificates (shared by the schemes that use them) and one state
 * per wrapper.  Built by crypt/config.c from the public options; freed with
 * cocoimg__crypt_config_free().  A zeroed config (tests) has no states:
 * every wrapper treats a NULL state as "no recipients, no settings".
 */
typedef struct cocoimg__crypt_config {
    /* decryption keys */
    cocoimg__privkey *privkeys;
    size_t n_privkeys;
    X509 **dec_certs; /* certificates matching privkeys (PKCS7 recipient lookup) */
    size_t n_dec_certs;
    /* per-wrapper state, indexed by enum cocoimg__keywrap_id */
    void *state[COCOIMG__KW_COUNT];
} cocoimg__crypt_config;

void cocoimg__crypt_config_free(cocoimg__crypt_config *c);
COCOIMG_DEFINE_CLEANUP(cocoimg__crypt_config, cocoimg__crypt_config_free)

struct cocoimg__keywrapper {
    enum cocoimg__keywrap_id id; /* its index in cocoimg__keywrappers and cfg->state */
    const char *scheme;          /* recipient prefix: "jwe" for "jwe:FILE" */
    /*
     * Annotation key (COCOIMG_ENC_KEYS_PREFIX scheme); with @c named, the
     * prefix of "annotation.NAME" keys (keys.provider.NAME).
     */
    const char *annotation;
    bool named;
    /* New empty state (recipients, settings) for one operation. */
    int (*state_new)(void **out, cocoimg_error **err);
    void (*state_free)(void *state);
    /*
     * Add the recipient given as "SCHEME:VALUE" (@p value is the text after
     * the first ':').  NULL: the scheme has no encryption recipients.
     */
    int (*add_recipient)(void *state, const char *value, cocoimg_error **err);
    /*
     * Key acceptance: offered every decryption key file (@p name for
     * messages) before it is read as a private key.  1 when taken, 0 when
     * not this scheme's kind of key, negative on error.  May be NULL.
     */
    int (*accept_key)(void *state, const uint8_t *buf, size_t len, const char *name,
                      cocoimg_error **err);
    /* true when @p state has recipients */
    bool (*has_recipients)(const void *state);
    /* true when @p cfg / @p state have keys that might unwrap this scheme */
    bool (*has_keys)(const cocoimg__crypt_config *cfg, const void *state);
    /*
     * Wrap @p opts (the privopts JSON) for all recipients in @p state;
     * append the blob(s) to @p annotations with cocoimg__keywrap_append().
     */
    int (*wrap)(const void *state, const cocoimg__secret *opts, json_t *annotations,
                cocoimg_error **err);
    /*
     * Unwrap one blob of annotation @p annotation with the keys in @p cfg
     * and @p state.  COCOIMG_ENOKEY when no key fits; COCOIMG_EFORMAT for a
     * malformed blob; COCOIMG_EAUTH when a key fits but the authentication
     * (GCM tag, ...) fails.  *out holds the privopts JSON.
     */
    int (*unwrap)(const cocoimg__crypt_config *cfg, const void *state, const char *annotation,
                  const uint8_t *blob, size_t len, cocoimg__secret **out, cocoimg_error **err);
    /*
     * The user's policy on the public structure of a blob, checked before
     * any key is tried: negative (the error names what to change) when the
     * blob is refused whatever the keys, 0 otherwise (a malformed blob is
     * left to unwrap).  Its error does not depend on keys or secret bytes,
     * so it is reported as it is, not as COCOIMG__UNWRAP_FAILED_MSG.  May be
     * NULL.
     */
    int (*refuse)(const void *state, const uint8_t *blob, size_t len, cocoimg_error **err);
    /*
     * For `layerinfo`: describe the recipients of a blob without keys, as a
     * JSON array of strings ("RSA-OAEP", "kid 12F1CD5F6A142AAA",
     * "CN=..., serial 0x1234", ...).  May be NULL.
     */
    int (*describe)(const uint8_t *blob, size_t len, json_t **out, cocoimg_error **err);
};

#define COCOIMG__KW_EXTERN(name) extern const struct cocoimg__keywrapper cocoimg__keywrap_##name;
COCOIMG__KEYWRAPPERS(COCOIMG__KW_EXTERN)
#undef COCOIMG__KW_EXTERN

/* All wrappers, indexed by enum cocoimg__keywrap_id. */
extern const struct cocoimg__keywrapper *const cocoimg__keywrappers[COCOIMG__KW_COUNT];

/* Lookups (NULL when unknown): by scheme prefix of @p len bytes, by annotation key. */
const struct cocoimg__keywrapper *cocoimg__keywrap_by_scheme(const char *scheme, size_t len);
const struct cocoimg__keywrapper *cocoimg__keywrap_by_annotation(const char *annotation);

/* Append base64(@p blob) to the comma list in annotations[@p key]. */
int cocoimg__keywrap_append(json_t *annotations, const char *key, const uint8_t *blob, size_t len,
                            cocoimg_error **err);

/*
 * Wrap with @p w for @p state and return the one raw blob it appended
 * (tests, tools: the schemes with one annotation).
 */
int cocoimg__keywrap_wrap_blob(const struct cocoimg__keywrapper *w, const void *state,
                               const cocoimg__secret *opts, uint8_t **out, size_t *out_len,
                               cocoimg_error **err);

/*
 * The one message and code of every failure to unwrap or parse wrapped key
 * material (issue 12): no parser context, nothing of the decrypted bytes.
 */
#define COCOIMG__UNWRAP_FAILED_MSG "cannot unwrap the layer key"

/* --- per-wrapper state (tests and tools build them directly) ---------------- */

struct cocoimg__jwe_state {
    EVP_PKEY **pubkeys;
    size_t n_pubkeys;
};

struct cocoimg__pkcs7_state {
    X509 **certs; /* recipients */
    size_t n_certs;
    /* decrypt: also accept AES-CBC and 3DES content encryption (no integrity) */
    bool allow_unauthenticated;
};

struct cocoimg__gpg_home; /* gpg/gpg.h */

struct cocoimg__pgp_state {
    char **recipients; /* e-mail, name or key id */
    size_t n_recipients;
    bool decrypt;  /* try the GnuPG secret keys (homedir) */
    char *homedir; /* NULL: GnuPG's default */
    /*
     * A private GnuPG home holding the OpenPGP secret keyrings given as
     * keys (skopeo's --decryption-key secring.gpg); created on the first
     * such key, its agent stopped and the directory removed on free.
     */
    struct cocoimg__gpg_home *keyring_home;
};

struct cocoimg__provider_recipient {
    char *name;   /* keys.provider.NAME */
    char *params; /* text after "provider:NAME:", may be NULL */
};

struct cocoimg__provider_state {
    struct cocoimg__provider_recipient *recipients;
    size_t n_recipients;
    /*
     * The caller's key provider (NULL: none).  The ocicrypt keyprovider
     * client (OCICRYPT_KEYPROVIDER_CONFIG) will be another implementation
     * of the same struct.
     */
    const cocoimg_keyprovider *kp;
};

/* Set the GnuPG settings of a pgp state. */
int cocoimg__pgp_state_configure(void *state, const char *homedir, bool decrypt,
                                 cocoimg_error **err);

#endif
