/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading keys and certificates with OpenSSL 3 decoders, and JWK import.
 * Key specs and passwords are in keyspec.c, the crypt config in config.c.  ocicrypt silently skips
 * key files it cannot use (spec 7.3, 8.2); we report every one of them, naming the file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt/keys.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/secret.h"

const char *
cocoimg__ossl_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *s = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return s ? s : "unknown error";
}

/* --- files ------------------------------------------------------------------ */

int
cocoimg__key_read_file(uint8_t **out, size_t *len, const char *path, size_t max,
                       cocoimg_error **err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cocoimg__error_set(err, errno == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO, errno,
                                  "open '%s'", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat '%s'", path);
    if (!S_ISREG(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "'%s' is not a regular file", path);
    if ((uint64_t)st.st_size > max)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "'%s' is larger than %zu bytes", path,
                                  max);
    size_t cap = (size_t)st.st_size + 1, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return cocoimg__error_oom(err);
    for (;;) {
        if (n == cap - 1) {
            /* the file grew since fstat: refuse rather than grow unbounded */
            char c;
            ssize_t extra = read(fd, &c, 1);
            if (extra == 0)
                break;
            cocoimg__wipe(buf, n);
            free(buf);
            if (extra < 0)
                return cocoimg__error_set(err, COCOIMG_EIO, errno, "read '%s'", path);
            return cocoimg__error_set(err, COCOIMG_EIO, 0, "'%s' changed while read", path);
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            cocoimg__wipe(buf, n);
            free(buf);
            return cocoimg__error_set(err, COCOIMG_EIO, e, "read '%s'", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* Key files can hold private keys: wipe them when done. */
static void
wipe_free(uint8_t *buf, size_t len)
{
    if (!buf)
        return;
    cocoimg__wipe(buf, len);
    free(buf);
}

static bool
is_pem(const void *data, size_t len)
{
    return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

static bool
pem_has_label(const void *data, size_t len, const char *label)
{
    char marker[80];
    snprintf(marker, sizeof(marker), "-----BEGIN %s-----", label);
    return memmem(data, len, marker, strlen(marker)) != NULL;
}

static bool
looks_like_json(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len && isspace(p[i]))
        i++;
    return i < len && p[i] == '{';
}

/* --- JWK attributes kept on the EVP_PKEY ------------------------------------- */

struct jwk_attrs {
    char *alg;
    char *kid;
};

static int jwk_attrs_idx = -1;
static CRYPTO_ONCE jwk_attrs_once = CRYPTO_ONCE_STATIC_INIT;

static void
jwk_attrs_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    struct jwk_attrs *a = ptr;
    if (!a)
        return;
    free(a->alg);
    free(a->kid);
    free(a);
}

/* EVP_PKEY_dup copies the ex_data pointer: give the copy its own attributes. */
static int
jwk_attrs_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl,
              void *argp)
{
    (void)to;
    (void)from;
    (void)idx;
    (void)argl;
    (void)argp;
    const struct jwk_attrs *a = *from_d;
    if (!a)
        return 1;
    struct jwk_attrs *c = calloc(1, sizeof(*c));
    if (!c)
        return 0;
    c->alg = a->alg ? strdup(a->alg) : NULL;
    c->kid = a->kid ? strdup(a->kid) : NULL;
    if ((a->alg && !c->alg) || (a->kid && !c->kid)) {
        jwk_attrs_free(NULL, c, NULL, 0, 0, NULL);
        return 0;
    }
    *from_d = c;
    return 1;
}

static void
jwk_attrs_init(void)
{
    jwk_attrs_idx = EVP_PKEY_get_ex_new_index(0, NULL, NULL, jwk_attrs_dup, jwk_attrs_free);
}

static const struct jwk_attrs *
jwk_attrs_get(const EVP_PKEY *pkey)
{
    if (!CRYPTO_THREAD_run_once(&jwk_attrs_once, jwk_attrs_init) || jwk_attrs_idx < 0)
        return NULL;
    return EVP_PKEY_get_ex_data(pkey, jwk_attrs_idx);
}

static int
jwk_attrs_set(EVP_PKEY *pkey, const char *alg, const char *kid, cocoimg_error **err)
{
    if (!alg && !kid)
        return 0;
    if (!CRYPTO_THREAD_run_once(&jwk_attrs_once, jwk_attrs_init) || jwk_attrs_idx < 0)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "cannot register JWK attributes");
    struct jwk_attrs *a = calloc(1, sizeof(*a));
    if (!a)
        return cocoimg__error_oom(err);
    a->alg = alg ? strdup(alg) : NULL;
    a->kid = kid ? strdup(kid) : NULL;
    if ((alg && !a->alg) || (kid && !a->kid) || !EVP_PKEY_set_ex_data(pkey, jwk_attrs_idx, a)) {
        jwk_attrs_free(NULL, a, NULL, 0, 0, NULL);
        return cocoimg__error_oom(err);
    }
    return 0;
}

const char *
cocoimg__pkey_jwk_alg(const EVP_PKEY *pkey)
{
    const struct jwk_attrs *a = jwk_attrs_get(pkey);
    return a ? a->alg : NULL;
}

const char *
cocoimg__pkey_jwk_kid(const EVP_PKEY *pkey)
{
    const struct jwk_attrs *a = jwk_attrs_get(pkey);
    return a ? a->kid : NULL;
}

/* --- JWK ------------------------------------------------------------------------ */

static const struct {
    const char *jwk;
    const char *ossl;
    const char *ossl_alias;
    size_t field;
} curves[] = {
    {"P-256", "prime256v1", "P-256", 32},
    {"P-384", "secp384r1", "P-384", 48},
    {"P-521", "secp521r1", "P-521", 66},
};

static int
curve_index(EVP_PKEY *pkey)
{
    if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        return -1;
    char name[64];
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                        NULL)) {
        ERR_clear_error();
        return -1;
    }
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(curves); i++)
        if (strcmp(name, curves[i].ossl) == 0 || strcasecmp(name, curves[i].ossl_alias) == 0)
            return (int)i;
    return -1;
}

const char *
cocoimg__ec_pkey_jwk_curve(EVP_PKEY *pkey)
{
    int i = curve_index(pkey);
    return i < 0 ? NULL : curves[i].jwk;
}

/* Decode JWK member @p k (base64url) into a fresh buffer; absent -> *out NULL. */
static int
jwk_member(uint8_t **out, size_t *len, const json_t *jwk, const char *k, bool required,
           const char *name, cocoimg_error **err)
{
    *out = NULL;
    *len = 0;
    json_t *v = json_object_get(jwk, k);
    if (!v) {
        if (required)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': missing '%s'", name, k);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': '%s' must be a string", name,
                                  k);
    int r = cocoimg__b64_decode(out, len, json_string_value(v), json_string_length(v),
                                COCOIMG_B64_URL, k, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "JWK '%s'", name);
    return 0;
}

/* Push a big-endian integer member onto @p bld (secret ones in secure BNs). */
static int
push_bn(OSSL_PARAM_BLD *bld, BIGNUM **keep, const char *param, const uint8_t *v, size_t len,
        bool secret)
{
    BIGNUM *bn = secret ? BN_secure_new() : BN_new();
    if (!bn || !BN_bin2bn(v, (int)len, bn) || !OSSL_PARAM_BLD_push_BN(bld, param, bn)) {
        BN_clear_free(bn);
        return -1;
    }
    *keep = bn;
    return 0;
}

static int
fromdata(EVP_PKEY **out, const char *type, OSSL_PARAM_BLD *bld, int selection)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    int ok = params && ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
             EVP_PKEY_fromdata(ctx, out, selection, params) > 0;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params) /* secure BNs live in the secure heap, cleared on free */;
    return ok ? 0 : -1;
}

static int
jwk_rsa(EVP_PKEY **out, const json_t *jwk, bool want_private, const char *name, cocoimg_error **err)
{
    static const struct {
        const char *member;
        const char *param;
        bool required;
    } members[] = {
        {"n", OSSL_PKEY_PARAM_RSA_N, true},
        {"e", OSSL_PKEY_PARAM_RSA_E, true},
        {"d", OSSL_PKEY_PARAM_RSA_D, true},
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1, false},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2, false},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1, false},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2, false},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1, false},
    };
    size_t n_members = want_private ? COCOIMG_ARRAY_SIZE(members) : 2;
    BIGNUM *bns[COCOIMG_ARRAY_SIZE(members)] = {0};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    int r = bld ? 0 : cocoimg__error_oom(err);
    size_t have_crt = 0;
    for (size_t i = 0; r == 0 && i < n_members; i++) {
        uint8_t *v;
        size_t len;
        r = jwk_member(&v, &len, jwk, members[i].member, members[i].required, name, err);
        if (r < 0 || !v)
            continue;
        if (i >= 3)
            have_crt++;
        if (len > 2048 || push_bn(bld, &bns[i], members[i].param, v, len, i >= 2) < 0)
            r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': bad '%s'", name,
                                   members[i].member);
        wipe_free(v, len);
    }
    /* OpenSSL wants all CRT members or none */
    if (r == 0 && have_crt != 0 && have_crt != 5)
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               "JWK '%s': give all of p, q, dp, dq, qi or none", name);
    if (r == 0 &&
        fromdata(out, "RSA", bld, want_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY) < 0)
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': invalid RSA key: %s", name,
                               cocoimg__ossl_reason());
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bns); i++)
        BN_clear_free(bns[i]);
    OSSL_PARAM_BLD_free(bld);
    return r;
}

static int
check_pkey(EVP_PKEY *pkey, bool private)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && (private ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx)) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int
jwk_ec(EVP_PKEY **out, const json_t *jwk, bool want_private, const char *name, cocoimg_error **err)
{
    const char *crv = cocoimg__json_str(jwk, "crv");
    int ci = -1;
    for (size_t i = 0; crv && i < COCOIMG_ARRAY_SIZE(curves); i++)
        if (strcmp(crv, curves[i].jwk) == 0)
            ci = (int)i;
    if (ci < 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "JWK '%s': unsupported curve '%s'", name,
                                  crv ? crv : "(none)");
    size_t field = curves[ci].field;
    _cleanup_free_ uint8_t *x = NULL, *y = NULL;
    uint8_t *d = NULL;
    size_t xl, yl, dl = 0;
    int r = jwk_member(&x, &xl, jwk, "x", true, name, err);
    if (r == 0)
        r = jwk_member(&y, &yl, jwk, "y", true, name, err);
    if (r == 0 && want_private)
        r = jwk_member(&d, &dl, jwk, "d", true, name, err);
    if (r < 0)
        goto out;
    if (xl != field || yl != field || (d && dl != field)) {
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               "JWK '%s': %s coordinates must be %zu bytes", name, crv, field);
        goto out;
    }
    uint8_t point[1 + 2 * 66];
    point[0] = 0x04;
    memcpy(point + 1, x, field);
    memcpy(point + 1 + field, y, field);
    BIGNUM *dbn = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[ci].ossl, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * field) ||
        (d && push_bn(bld, &dbn, OSSL_PKEY_PARAM_PRIV_KEY, d, dl, true) < 0)) {
        r = cocoimg__error_oom(err);
    } else if (fromdata(out, "EC", bld, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY) < 0) {
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': invalid EC key: %s", name,
                               cocoimg__ossl_reason());
    } else if (check_pkey(*out, d != NULL) < 0) {
        EVP_PKEY_free(*out);
        *out = NULL;
        ERR_clear_error();
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               d ? "JWK '%s': private key does not match the public point"
                                 : "JWK '%s': point is not on the curve",
                               name);
    }
    BN_clear_free(dbn);
    OSSL_PARAM_BLD_free(bld);
out:
    wipe_free(d, dl);
    return r;
}

int
cocoimg__jwk_to_pkey(EVP_PKEY **out, const json_t *jwk, bool want_private, const char *name,
                     cocoimg_error **err)
{
    if (!json_is_object(jwk))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': not a JSON object", name);
    const char *kty = cocoimg__json_str(jwk, "kty");
    if (!kty)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': missing 'kty'", name);
    if (want_private && !json_object_get(jwk, "d"))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWK '%s': not a private key (no 'd')",
                                  name);
    int r;
    const char *alg = NULL, *kid = NULL;
    if ((r = cocoimg__json_opt_string(jwk, "alg", "JWK", err)) < 0 ||
        (r = cocoimg__json_opt_string(jwk, "kid", "JWK", err)) < 0)
        return r;
    alg = cocoimg__json_str(jwk, "alg");
    kid = cocoimg__json_str(jwk, "kid");
    EVP_PKEY *pk = NULL;
    if (strcmp(kty, "RSA") == 0)
        r = jwk_rsa(&pk, jwk, want_private, name, err);
    else if (strcmp(kty, "EC") == 0)
        r = jwk_ec(&pk, jwk, want_private, name, err);
    else
        r = cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "JWK '%s': unsupported key type '%s'", name,
                               kty);
    if (r == 0)
        r = jwk_attrs_set(pk, alg, kid, err);
    if (r < 0) {
        EVP_PKEY_free(pk);
        return r;
    }
    *out = pk;
    return 0;
}

int
cocoimg__ec_pkey_to_jwk(json_t **out, EVP_PKEY *pkey, cocoimg_error **err)
{
    int ci = curve_index(pkey);
    if (ci < 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "EC key on an unsupported curve");
    size_t field = curves[ci].field;
    BIGNUM *bx = NULL, *by = NULL;
    uint8_t xy[2][66];
    int r = 0;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
        BN_bn2binpad(bx, xy[0], (int)field) < 0 || BN_bn2binpad(by, xy[1], (int)field) < 0)
        r = cocoimg__error_set(err, COCOIMG_ERROR, 0, "cannot export EC point: %s",
                               cocoimg__ossl_reason());
    BN_free(bx);
    BN_free(by);
    if (r < 0)
        return r;
    _cleanup_free_ char *x = NULL, *y = NULL;
    if ((r = cocoimg__b64_encode(&x, xy[0], field, COCOIMG_B64_URL, err)) < 0 ||
        (r = cocoimg__b64_encode(&y, xy[1], field, COCOIMG_B64_URL, err)) < 0)
        return r;
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", curves[ci].jwk, "x", x, "y", y);
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

/* Parse @p data as JWK JSON, wiping jansson's copies of private members. */
static int
load_jwk(EVP_PKEY **out, const void *data, size_t len, bool want_private, const char *name,
         cocoimg_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, data, len, COCOIMG_KEY_FILE_MAX, true, name, err);
    if (r < 0)
        return r;
    r = cocoimg__jwk_to_pkey(out, j, want_private, name, err);
    static const char *const secret_members[] = {"d", "p", "q", "dp", "dq", "qi"};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(secret_members); i++) {
        json_t *v = json_object_get(j, secret_members[i]);
        if (json_is_string(v))
            cocoimg__wipe((char *)json_string_value(v), json_string_length(v));
    }
    return r;
}

/* --- PEM / DER via OSSL_DECODER ----------------------------------------------- */

struct pw_state {
    const char *password;
    bool asked;
};

static int
pw_cb(char *pass, size_t pass_size, size_t *pass_len, const OSSL_PARAM params[], void *arg)
{
    (void)params;
    struct pw_state *st = arg;
    st->asked = true;
    if (!st->password)
        return 0;
    size_t n = strlen(st->password);
    if (n > pass_size)
        return 0;
    memcpy(pass, st->password, n);
    *pass_len = n;
    return 1;
}

static EVP_PKEY *
decode_pkey(const void *data, size_t len, int selection, struct pw_state *st)
{
    EVP_PKEY *pk = NULL;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pk, NULL, NULL, NULL, selection, NULL, NULL);
    if (!dctx)
        return NULL;
    /* never let OpenSSL fall back to prompting on a terminal */
    OSSL_DECODER_CTX_set_passphrase_cb(dctx, pw_cb, st);
    const unsigned char *p = data;
    size_t l = len;
    int ok = OSSL_DECODER_from_data(dctx, &p, &l);
    OSSL_DECODER_CTX_free(dctx);
    if (!ok) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    ERR_clear_error();
    return pk;
}

bool
cocoimg__key_is_cert(const void *data, size_t len)
{
    if (is_pem(data, len))
        return pem_has_label(data, len, "CERTIFICATE") ||
               pem_has_label(data, len, "X509 CERTIFICATE") ||
               pem_has_label(data, len, "TRUSTED CERTIFICATE");
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    X509_free(x);
    return x != NULL;
}

/* OpenPGP binary key packets (old or new format, tags 5/6), for a better message. */
bool
cocoimg__key_is_openpgp(const uint8_t *d, size_t len)
{
    static const char armor[] = "-----BEGIN PGP PRIVATE KEY BLOCK-----";
    if (len >= sizeof(armor) - 1 && memmem(d, len, armor, sizeof(armor) - 1))
        return true;
    if (len < 2 || !(d[0] & 0x80))
        return false;
    unsigned tag = (d[0] & 0x40) ? (d[0] & 0x3f) : ((d[0] >> 2) & 0x0f);
    return tag == 5 || tag == 6;
}

int
cocoimg__key_load_public(EVP_PKEY **out, const void *data, size_t len, const char *name,
                         cocoimg_error **err)
{
    if (len > COCOIMG_KEY_FILE_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "key '%s' is too large", name);
    if (looks_like_json(data, len))
        return load_jwk(out, data, len, false, name, err);
    if (cocoimg__key_is_cert(data, len))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "'%s' is a certificate, not a public key (use pkcs7: or extract "
                                  "the key with 'openssl x509 -pubkey')",
                                  name);
    if (is_pem(data, len) &&
        (pem_has_label(data, len, "PRIVATE KEY") || pem_has_label(data, len, "RSA PRIVATE KEY") ||
         pem_has_label(data, len, "EC PRIVATE KEY") ||
         pem_has_label(data, len, "ENCRYPTED PRIVATE KEY")))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "'%s' is a private key: give the public key as recipient", name);
    struct pw_state st = {NULL, false};
    EVP_PKEY *pk = decode_pkey(data, len, EVP_PKEY_PUBLIC_KEY, &st);
    if (!pk)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "'%s' is not a public key (SPKI PEM/DER or JWK)", name);
    *out = pk;
    return 0;
}

int
cocoimg__key_load_private(EVP_PKEY **out, const void *data, size_t len, const char *password,
                          const char *name, cocoimg_error **err)
{
    if (len > COCOIMG_KEY_FILE_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "key '%s' is too large", name);
    if (looks_like_json(data, len))
        return load_jwk(out, data, len, true, name, err);
    struct pw_state st = {password, false};
    EVP_PKEY *pk = decode_pkey(data, len, EVP_PKEY_KEYPAIR, &st);
    if (pk) {
        *out = pk;
        return 0;
    }
    if (st.asked && !password)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "key '%s' is encrypted: give its password ('%s:PASSWORD')", name,
                                  name);
    if (st.asked)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0, "wrong password for key '%s'", name);
    if (cocoimg__key_is_openpgp(data, len))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "'%s' is an OpenPGP key, not supported as a private key file",
                                  name);
    if (cocoimg__key_is_cert(data, len))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "'%s' is a certificate, not a private key", name);
    if (is_pem(data, len) &&
        (pem_has_label(data, len, "PUBLIC KEY") || pem_has_label(data, len, "RSA PUBLIC KEY")))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "'%s' is a public key, not a private key",
                                  name);
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                              "'%s' is not a supported private key (PKCS#8, PKCS#1, SEC1 or JWK)",
                              name);
}

int
cocoimg__cert_load(X509 **out, const void *data, size_t len, const char *name, cocoimg_error **err)
{
    if (len > COCOIMG_KEY_FILE_MAX || len > INT_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "certificate '%s' is too large", name);
    X509 *x = NULL;
    if (is_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (!bio)
            return cocoimg__error_oom(err);
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        x = d2i_X509(NULL, &p, (long)len);
    }
    ERR_clear_error();
    if (!x)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s' is not an X.509 certificate",
                                  name);
    *out = x;
    return 0;
}

int
cocoimg__key_load_public_file(EVP_PKEY **out, const char *path, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    int r = cocoimg__key_read_file(&buf, &len, path, COCOIMG_KEY_FILE_MAX, err);
    if (r < 0)
        return r;
    return cocoimg__key_load_public(out, buf, len, path, err);
}

int
cocoimg__key_load_private_file(EVP_PKEY **out, const char *path, const char *password,
                               cocoimg_error **err)
{
    uint8_t *buf = NULL;
    size_t len;
    int r = cocoimg__key_read_file(&buf, &len, path, COCOIMG_KEY_FILE_MAX, err);
    if (r < 0)
        return r;
    r = cocoimg__key_load_private(out, buf, len, password, path, err);
    wipe_free(buf, len);
    return r;
}

int
cocoimg__cert_load_file(X509 **out, const char *path, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    int r = cocoimg__key_read_file(&buf, &len, path, COCOIMG_KEY_FILE_MAX, err);
    if (r < 0)
        return r;
    return cocoimg__cert_load(out, buf, len, path, err);
}
