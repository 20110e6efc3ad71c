/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crypt config of one operation: the caller's keys and one state per
 * key wrapper, built from cocoimg_crypt_options; and which option fields
 * each operation takes.
 */
#include <string.h>
#include <unistd.h>

#include "crypt/config.h"
#include "crypt/keys.h"
#include "crypt/keyspec.h"
#include "util/secret.h"

int
cocoimg__crypt_config_new(cocoimg__crypt_config **out, cocoimg_error **err)
{
    _cleanup_(cocoimg__crypt_config_freep) cocoimg__crypt_config *c = calloc(1, sizeof(*c));
    if (!c)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < COCOIMG__KW_COUNT; i++) {
        int r = cocoimg__keywrappers[i]->state_new(&c->state[i], err);
        if (r < 0)
            return r;
    }
    *out = TAKE_PTR(c);
    return 0;
}

void
cocoimg__crypt_config_free(cocoimg__crypt_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < COCOIMG__KW_COUNT; i++)
        if (c->state[i])
            cocoimg__keywrappers[i]->state_free(c->state[i]);
    for (size_t i = 0; i < c->n_privkeys; i++) {
        EVP_PKEY_free(c->privkeys[i].pkey); /* OpenSSL clears private key material */
        free(c->privkeys[i].source);
    }
    free(c->privkeys);
    for (size_t i = 0; i < c->n_dec_certs; i++)
        X509_free(c->dec_certs[i]);
    free(c->dec_certs);
    cocoimg__wipe(c, sizeof(*c));
    free(c);
}

int
cocoimg__crypt_config_add_recipient(cocoimg__crypt_config *cfg, const char *spec,
                                    cocoimg_error **err)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "recipient '%s' must be SCHEME:VALUE (jwe, pkcs7, pgp, provider)",
                                  spec);
    size_t sl = (size_t)(colon - spec);
    const struct cocoimg__keywrapper *w = cocoimg__keywrap_by_scheme(spec, sl);
    if (!w || !w->add_recipient) {
        if (sl == 6 && strncmp(spec, "pkcs11", 6) == 0)
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "recipient scheme 'pkcs11' is not supported yet");
        return cocoimg__error_set(
            err, COCOIMG_EINVAL, 0,
            "unknown recipient scheme '%.*s' (supported: jwe, pkcs7, pgp, provider)", (int)sl,
            spec);
    }
    int r = w->add_recipient(cfg->state[w->id], colon + 1, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "recipient '%s'", spec);
    return 0;
}

/* Grow an array by one slot. */
static int
grow(void *arr, size_t elem, size_t n, cocoimg_error **err)
{
    void **p = arr;
    void *np = realloc(*p, (n + 1) * elem);
    if (!np)
        return cocoimg__error_oom(err);
    *p = np;
    return 0;
}

static int
add_dec_cert(cocoimg__crypt_config *cfg, X509 *x, cocoimg_error **err)
{
    int r = grow(&cfg->dec_certs, sizeof(X509 *), cfg->n_dec_certs, err);
    if (r < 0) {
        X509_free(x);
        return r;
    }
    cfg->dec_certs[cfg->n_dec_certs++] = x;
    return 0;
}

static void
wipe_free(uint8_t *buf, size_t len)
{
    if (buf) {
        cocoimg__wipe(buf, len);
        free(buf);
    }
}

int
cocoimg__crypt_config_add_key_password(cocoimg__crypt_config *cfg, const char *file,
                                       const char *password, cocoimg_error **err)
{
    uint8_t *buf = NULL;
    size_t len;
    int r = cocoimg__key_read_file(&buf, &len, file, COCOIMG_KEY_FILE_MAX, err);
    if (r < 0)
        return r;
    /* skopeo takes certificates given as keys for PKCS7 decryption */
    if (cocoimg__key_is_cert(buf, len)) {
        X509 *x = NULL;
        r = cocoimg__cert_load(&x, buf, len, file, err);
        wipe_free(buf, len);
        return r < 0 ? r : add_dec_cert(cfg, x, err);
    }
    /* key acceptance: a wrapper's own kind of key (OpenPGP keyrings) */
    for (size_t i = 0; i < COCOIMG__KW_COUNT; i++) {
        const struct cocoimg__keywrapper *w = cocoimg__keywrappers[i];
        if (!w->accept_key)
            continue;
        r = w->accept_key(cfg->state[i], buf, len, file, err);
        if (r != 0) {
            wipe_free(buf, len);
            return r < 0 ? r : 0;
        }
    }
    EVP_PKEY *pk = NULL;
    r = cocoimg__key_load_private(&pk, buf, len, password, file, err);
    wipe_free(buf, len);
    if (r < 0)
        return r;
    char *src = strdup(file);
    if (!src || (r = grow(&cfg->privkeys, sizeof(*cfg->privkeys), cfg->n_privkeys, err)) < 0) {
        free(src);
        EVP_PKEY_free(pk);
        return r < 0 ? r : cocoimg__error_oom(err);
    }
    cfg->privkeys[cfg->n_privkeys].pkey = pk;
    cfg->privkeys[cfg->n_privkeys].source = src;
    cfg->n_privkeys++;
    return 0;
}

int
cocoimg__crypt_config_add_key(cocoimg__crypt_config *cfg, const char *spec, cocoimg_error **err)
{
    if (strncmp(spec, "provider:", 9) == 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "key provider keys are not supported as --key (give a key "
                                  "provider through the library)");
    _cleanup_free_ char *file = NULL;
    char *password = NULL;
    int r = cocoimg__keyspec_parse(&file, &password, spec, err);
    if (r < 0)
        return r;
    r = cocoimg__crypt_config_add_key_password(cfg, file, password, err);
    cocoimg__free_wipe_str(password);
    return r;
}

static bool
file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int
cocoimg__crypt_config_add_dec_cert(cocoimg__crypt_config *cfg, const char *file,
                                   cocoimg_error **err)
{
    if (strncmp(file, "pkcs7:", 6) == 0 && !file_exists(file))
        file += 6;
    X509 *x = NULL;
    int r = cocoimg__cert_load_file(&x, file, err);
    if (r < 0)
        return r;
    return add_dec_cert(cfg, x, err);
}

/* --- which fields each operation takes -------------------------------------- */

enum {
    F_RECIPIENTS = 1 << 0,
    F_KEYS = 1 << 1,
    F_DEC_RECIPIENTS = 1 << 2,
    F_GPG_HOMEDIR = 1 << 3,
    F_USE_GPG_KEYS = 1 << 4,
    F_LAYERS = 1 << 5,
    F_PLATFORM = 1 << 6,
    F_ALL = 1 << 7,
    F_KEYPROVIDER = 1 << 8,
    F_PKCS7_ALLOW_UNAUTH = 1 << 9,
};

#define F_KEYS_ALL                                                                                 \
    (F_KEYS | F_DEC_RECIPIENTS | F_GPG_HOMEDIR | F_USE_GPG_KEYS | F_KEYPROVIDER |                  \
     F_PKCS7_ALLOW_UNAUTH)
#define F_SELECT (F_LAYERS | F_PLATFORM | F_ALL)

static const struct {
    const char *name;
    unsigned fields;
} ops[] = {
    /* encrypt: keys too, to add recipients to layers that are encrypted already */
    [COCOIMG__CRYPT_ENCRYPT] = {"encrypt", F_RECIPIENTS | F_KEYS_ALL | F_SELECT},
    [COCOIMG__CRYPT_DECRYPT] = {"decrypt", F_KEYS_ALL | F_SELECT},
    [COCOIMG__CRYPT_LAYERINFO] = {"layerinfo", F_SELECT},
    /* unpack: platform only as a copy of cocoimg_unpack_options.platform (checked there) */
    [COCOIMG__CRYPT_UNPACK] = {"unpack", F_KEYS_ALL | F_PLATFORM},
};

/* A field of version 2: read only from a caller of version >= 2. */
static bool
pkcs7_allow_unauthenticated(const cocoimg_crypt_options *o)
{
    return o->version >= 2 && o->pkcs7_allow_unauthenticated != 0;
}

int
cocoimg__crypt_options_check(const cocoimg_crypt_options *o, enum cocoimg__crypt_op op,
                             cocoimg_error **err)
{
    if (!o || !COCOIMG__VERSION_OK(o->version, COCOIMG_CRYPT_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unsupported crypt options version");
    const struct {
        unsigned flag;
        bool set;
        const char *name;
    } fields[] = {
        {F_RECIPIENTS, o->n_recipients > 0, "recipients"},
        {F_KEYS, o->n_keys > 0, "keys"},
        {F_DEC_RECIPIENTS, o->n_dec_recipients > 0, "dec_recipients"},
        {F_GPG_HOMEDIR, o->gpg_homedir != NULL, "gpg_homedir"},
        {F_USE_GPG_KEYS, o->use_gpg_keys != 0, "use_gpg_keys"},
        {F_LAYERS, o->n_layers > 0, "layers"},
        {F_PLATFORM, o->platform != NULL, "platform"},
        {F_ALL, o->all != 0, "all"},
        {F_KEYPROVIDER, o->keyprovider != NULL, "keyprovider"},
        {F_PKCS7_ALLOW_UNAUTH, pkcs7_allow_unauthenticated(o), "pkcs7_allow_unauthenticated"},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(fields); i++)
        if (fields[i].set && !(ops[op].fields & fields[i].flag))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "crypt option '%s' does not apply to %s", fields[i].name,
                                      ops[op].name);
    if (o->keyprovider &&
        !COCOIMG__VERSION_OK(o->keyprovider->version, COCOIMG_KEYPROVIDER_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unsupported key provider version");
    return 0;
}

int
cocoimg__crypt_config_from_options(cocoimg__crypt_config **out, const cocoimg_crypt_options *o,
                                   enum cocoimg__crypt_op op, cocoimg_error **err)
{
    _cleanup_(cocoimg__crypt_config_freep) cocoimg__crypt_config *cfg = NULL;
    int r = cocoimg__crypt_config_new(&cfg, err);
    if (r < 0)
        return r;
    if (!o) {
        *out = TAKE_PTR(cfg);
        return 0;
    }
    if ((r = cocoimg__crypt_options_check(o, op, err)) < 0)
        return r;
    if ((r = cocoimg__pgp_state_configure(cfg->state[COCOIMG__KW_pgp], o->gpg_homedir,
                                          o->use_gpg_keys || o->gpg_homedir, err)) < 0)
        return r;
    struct cocoimg__pkcs7_state *p7 = cfg->state[COCOIMG__KW_pkcs7];
    p7->allow_unauthenticated = pkcs7_allow_unauthenticated(o);
    struct cocoimg__provider_state *ps = cfg->state[COCOIMG__KW_provider];
    ps->kp = o->keyprovider;
    for (size_t i = 0; i < o->n_recipients; i++)
        if ((r = cocoimg__crypt_config_add_recipient(cfg, o->recipients[i], err)) < 0)
            return r;
    if (ps->n_recipients && (!ps->kp || !ps->kp->wrap))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "recipient 'provider:%s' needs a key provider that can wrap",
                                  ps->recipients[0].name);
    for (size_t i = 0; i < o->n_keys; i++)
        if ((r = cocoimg__crypt_config_add_key(cfg, o->keys[i], err)) < 0)
            return r;
    for (size_t i = 0; i < o->n_dec_recipients; i++) {
        const char *c = o->dec_recipients[i];
        if (strncmp(c, "pkcs7:", 6) == 0)
            c += 6;
        else if (strchr(c, ':') && !file_exists(c))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "decryption recipient '%s': only pkcs7:CERT is supported",
                                      o->dec_recipients[i]);
        if ((r = cocoimg__crypt_config_add_dec_cert(cfg, c, err)) < 0)
            return r;
    }
    *out = TAKE_PTR(cfg);
    return 0;
}
