/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#include "crypt/config.h"
#include "crypt/keywrap.h"
#include "ocivectors.h"
#include "tap.h"
#include "util/error.h"
#include "util/secret.h"

static const struct cocoimg__keywrapper *const W = &cocoimg__keywrap_pkcs7;

/* fixtures: the vector key/cert, and a second pair made here */
static EVP_PKEY *key1, *key2;
static X509 *cert1, *cert2, *ec_cert;

static X509 *
make_cert(EVP_PKEY *key, const char *cn, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    if (!x || !n)
        goto fail;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    if (!X509_sign(x, key, EVP_sha256()))
        goto fail;
    X509_NAME_free(n);
    return x;
fail:
    X509_NAME_free(n);
    X509_free(x);
    return NULL;
}

/* A decrypt config with one key and certificate (borrowed pointers). */
struct dcfg {
    cocoimg__crypt_config cfg;
    cocoimg__privkey pk;
    X509 *certs[2];
};

/* the pkcs7 state of the decrypt configs: the opt-in for CBC/3DES */
static struct cocoimg__pkcs7_state dec_state;

static void
dcfg_init(struct dcfg *d, EVP_PKEY *key, X509 *cert)
{
    memset(d, 0, sizeof(*d));
    d->pk.pkey = key;
    d->pk.source = (char *)"test-key";
    d->cfg.privkeys = key ? &d->pk : NULL;
    d->cfg.n_privkeys = key ? 1 : 0;
    d->certs[0] = cert;
    d->cfg.dec_certs = d->certs;
    d->cfg.n_dec_certs = cert ? 1 : 0;
}

static int
unwrap_code(const uint8_t *blob, size_t len, EVP_PKEY *key, X509 *cert)
{
    struct dcfg d;
    dcfg_init(&d, key, cert);
    _cleanup_error_ cocoimg_error *err = NULL;
    _cleanup_secret_ cocoimg__secret *out = NULL;
    int r = W->unwrap(&d.cfg, &dec_state, W->annotation, blob, len, &out, &err);
    if (r < 0) {
        printf("#   unwrap: %s\n", cocoimg_error_message(err));
        if (err == NULL || cocoimg_error_code(err) != r)
            return 1; /* an error code without a matching error object */
    }
    return r;
}

static int
unwrap_equals(const uint8_t *blob, size_t len, EVP_PKEY *key, X509 *cert, const char *want)
{
    struct dcfg d;
    dcfg_init(&d, key, cert);
    _cleanup_error_ cocoimg_error *err = NULL;
    _cleanup_secret_ cocoimg__secret *out = NULL;
    int r = W->unwrap(&d.cfg, &dec_state, W->annotation, blob, len, &out, &err);
    if (r < 0) {
        printf("# unwrap failed: %s\n", cocoimg_error_message(err));
        return -1;
    }
    CHECK(out->len == strlen(want));
    CHECK(memcmp(out->ptr, want, out->len) == 0);
    return 0;
}

static int
check_vector(const char *layout, size_t layer, const char *privopts_layout, size_t po_layer,
             const char *suffix)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob(layout, layer, "pkcs7", 0, &len);
    _cleanup_free_ char *po = vec_privopts(privopts_layout, po_layer);
    _cleanup_free_ char *want = NULL;
    CHECK(blob && po && asprintf(&want, "%s%s", po, suffix) > 0);
    if (unwrap_equals(blob, len, key1, cert1, want) < 0) {
        printf("# vector %s layer %zu\n", layout, layer);
        return -1;
    }
    return 0;
}

static int
test_vectors(void)
{
    /* ocicrypt's own quirky AES-128-GCM form (constructed [0] content) */
    CHECK(check_vector("enc-pkcs7", 0, "enc-pkcs7", 0, "") == 0);
    CHECK(check_vector("enc-pkcs7", 1, "enc-pkcs7", 1, "") == 0);
    CHECK(check_vector("enc-mixed", 0, "enc-mixed", 0, "") == 0);
    CHECK(check_vector("enc-mixed", 1, "enc-mixed", 1, "") == 0);
    /* standard OpenSSL EnvelopedData, AES-256-CBC: with the opt-in only */
    dec_state.allow_unauthenticated = true;
    int cbc = check_vector("rw-pkcs7-openssl-aes256cbc", 0, "rw-pkcs7-openssl-aes256cbc", 0, "");
    dec_state.allow_unauthenticated = false;
    CHECK(cbc == 0);
    /*
     * OpenSSL AuthEnvelopedData (AES-128-GCM): skopeo rejects it, we accept
     * it (documented in keywrap_pkcs7.c).  The rewrap used enc-jwe-rsa's
     * layer-0 privopts, with a trailing newline (`openssl cms -decrypt` shows
     * it too).
     */
    CHECK(check_vector("rw-pkcs7-openssl-aes128gcm", 0, "enc-jwe-rsa", 0, "\n") == 0);
    return 0;
}

/* Subtract @p d from the 2-byte long-form length at @p off. */
static void
shrink_len(uint8_t *b, size_t off, unsigned d)
{
    unsigned v = ((unsigned)b[off] << 8 | b[off + 1]) - d;
    b[off] = (uint8_t)(v >> 8);
    b[off + 1] = (uint8_t)v;
}

/*
 * Other encodings of the same enc-pkcs7 message (offsets from
 * decoded/enc-pkcs7-layer0.asn1parse.txt): the primitive [0] content of
 * ocicrypt >= 1.2.1 (smallstep), and RFC 5084 GCMParameters.
 */
static int
test_encoding_variants(void)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob("enc-pkcs7", 0, "pkcs7", 0, &len);
    _cleanup_free_ char *want = vec_privopts("enc-pkcs7", 0);
    CHECK(blob && want && len == 618);
    CHECK(blob[403] == 0xa0 && blob[406] == 0x04 && blob[382] == 0x10 && blob[386] == 0x84);

    /* a0 81 d4 04 81 d1 <209 bytes>  ->  80 81 d1 <209 bytes> */
    uint8_t prim[618];
    memcpy(prim, blob, 403);
    memcpy(prim + 403, "\x80\x81\xd1", 3);
    memcpy(prim + 406, blob + 409, len - 409);
    shrink_len(prim, 2, 3);
    shrink_len(prim, 17, 3);
    shrink_len(prim, 21, 3);
    shrink_len(prim, 356, 3);
    CHECK(unwrap_equals(prim, len - 3, key1, cert1, want) == 0);

    /* 10 13 30 11 84 0c <nonce> 02 01 10  ->  30 11 04 0c <nonce> 02 01 10 */
    uint8_t std[618];
    memcpy(std, blob, 382);
    memcpy(std + 382, blob + 384, len - 384);
    std[384] = 0x04;
    std[370] -= 2;
    shrink_len(std, 2, 2);
    shrink_len(std, 17, 2);
    shrink_len(std, 21, 2);
    shrink_len(std, 356, 2);
    CHECK(unwrap_equals(std, len - 2, key1, cert1, want) == 0);

    /* strict nonce length (spec 9.9): a 0c -> 0b nonce is malformed */
    std[385] = 0x0b;
    CHECK(unwrap_code(std, len - 2, key1, cert1) == COCOIMG_EFORMAT);
    return 0;
}

static int
test_describe(void)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob("enc-pkcs7", 0, "pkcs7", 0, &len);
    CHECK(blob);
    json_t *arr = NULL;
    CHECK_OK(W->describe(blob, len, &arr, NULL));
    int ok =
        json_array_size(arr) == 1 && strcmp(json_string_value(json_array_get(arr, 0)),
                                            "CN=libcocoimg test recipient, serial 0x1234") == 0;
    if (!ok)
        printf("# got %s\n", json_string_value(json_array_get(arr, 0)));
    json_decref(arr);
    CHECK(ok);
    /* describe of garbage fails cleanly */
    cocoimg_error *err = NULL;
    CHECK(W->describe((const uint8_t *)"\x30\x03\x06\x01", 4, &arr, &err) == COCOIMG_EFORMAT);
    cocoimg_error_free(err);
    return 0;
}

static int
wrap_to(X509 **certs, size_t n, const char *opts, uint8_t **out, size_t *out_len)
{
    struct cocoimg__pkcs7_state cfg = {.certs = certs, .n_certs = n};
    _cleanup_secret_ cocoimg__secret *s = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = cocoimg__secret_dup(&s, opts, strlen(opts), &err);
    if (r == 0)
        r = cocoimg__keywrap_wrap_blob(W, &cfg, s, out, out_len, &err);
    if (r < 0)
        printf("# wrap: %s\n", cocoimg_error_message(err));
    return r;
}

static const char opts[] = "{\"symkey\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                           "\"digest\":\"sha256:00\",\"cipheroptions\":{\"nonce\":\"AAAA\"}}";

/* @p n bytes at @p off of @p b equal @p want */
static bool
at(const uint8_t *b, size_t len, size_t off, const char *want, size_t n)
{
    bool ok = off + n <= len && memcmp(b + off, want, n) == 0;
    if (!ok)
        printf("# bytes at %zu differ\n", off);
    return ok;
}

/*
 * The exact shape ocicrypt writes (spec 6.2.2), for one recipient with the
 * vector certificate (2048-bit key, issuer "CN=libcocoimg test recipient",
 * serial 0x1234) and 7 bytes of content; offsets as `openssl asn1parse`
 * shows them.
 */
static int
test_wrap_shape(void)
{
    static const char content[] = "{\"a\":1}";
    _cleanup_free_ uint8_t *blob = NULL, *blob2 = NULL;
    size_t len = 0, len2 = 0;
    X509 *certs[] = {cert1};
    CHECK_OK(wrap_to(certs, 1, content, &blob, &len));
    CHECK(len == 426);
    /* ContentInfo { envelopedData, [0] { EnvelopedData { version 0, SET { */
    CHECK(at(blob, len, 0, "\x30\x82\x01\xa6\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03", 15));
    CHECK(at(blob, len, 15, "\xa0\x82\x01\x97\x30\x82\x01\x93\x02\x01\x00\x31\x82\x01\x44", 15));
    /* KeyTransRecipientInfo { 0, { issuer, serial 0x1234 }, { rsaEncryption } (no NULL), */
    CHECK(at(blob, len, 30, "\x30\x82\x01\x40\x02\x01\x00\x30\x2a\x30\x24", 11));
    CHECK(at(blob, len, 77, "\x02\x02\x12\x34\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01",
             17));
    /* encryptedKey: 256 bytes } } */
    CHECK(at(blob, len, 94, "\x04\x82\x01\x00", 4));
    /* EncryptedContentInfo { data, { aes-128-gcm, 10 13 30 11 84 0c <nonce> 02 01 10 }, */
    CHECK(at(blob, len, 354, "\x30\x46\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01", 13));
    CHECK(at(blob, len, 367, "\x30\x20\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x06", 13));
    CHECK(at(blob, len, 380, "\x10\x13\x30\x11\x84\x0c", 6));
    CHECK(at(blob, len, 398, "\x02\x01\x10", 3));
    /* [0] IMPLICIT primitive: 7 bytes of ciphertext || 16-byte tag } */
    CHECK(at(blob, len, 401, "\x80\x17", 2));

    /* opened by hand: RSA PKCS#1 v1.5 gives a 16-byte CEK, AES-128-GCM the content */
    uint8_t cek[256], pt[sizeof(content)];
    size_t cek_len = sizeof(cek);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key1, NULL);
    int ok = pctx && EVP_PKEY_decrypt_init(pctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_decrypt(pctx, cek, &cek_len, blob + 98, 256) == 1;
    EVP_PKEY_CTX_free(pctx);
    CHECK(ok && cek_len == 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    ok = c && EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
         EVP_DecryptInit_ex(c, NULL, NULL, cek, blob + 386) == 1 &&
         EVP_DecryptUpdate(c, pt, &n1, blob + 403, 7) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, blob + 410) == 1 &&
         EVP_DecryptFinal_ex(c, pt + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(c);
    CHECK(ok && n1 + n2 == 7 && memcmp(pt, content, 7) == 0);

    /* fresh CEK and nonce every time */
    CHECK_OK(wrap_to(certs, 1, content, &blob2, &len2));
    CHECK(len2 == len);
    CHECK(memcmp(blob + 98, blob2 + 98, 256) != 0);
    CHECK(memcmp(blob + 386, blob2 + 386, 12) != 0);

    /* OpenSSL cannot parse ocicrypt's GCM parameters (spec 6.2.2) */
    const uint8_t *p = blob;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    CHECK(cms == NULL);
    return 0;
}

static int
test_roundtrip_one(void)
{
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    X509 *certs[] = {cert1};
    CHECK_OK(wrap_to(certs, 1, opts, &blob, &len));
    CHECK(unwrap_equals(blob, len, key1, cert1, opts) == 0);
    /* authenticated: a flipped ciphertext byte or tag byte is refused */
    blob[len - 20] ^= 1;
    CHECK(unwrap_code(blob, len, key1, cert1) == COCOIMG_EAUTH);
    blob[len - 20] ^= 1;
    blob[len - 1] ^= 1;
    CHECK(unwrap_code(blob, len, key1, cert1) == COCOIMG_EAUTH);
    blob[len - 1] ^= 1;
    /* the other key cannot open it */
    CHECK(unwrap_code(blob, len, key2, cert2) == COCOIMG_ENOKEY);
    return 0;
}

static int
test_roundtrip_two(void)
{
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    X509 *certs[] = {cert1, cert2};
    CHECK_OK(wrap_to(certs, 2, opts, &blob, &len));
    CHECK(unwrap_equals(blob, len, key1, cert1, opts) == 0);
    CHECK(unwrap_equals(blob, len, key2, cert2, opts) == 0);
    /* a config with both keys and certificates works too */
    struct dcfg d;
    dcfg_init(&d, key2, cert1);
    d.certs[1] = cert2;
    d.cfg.n_dec_certs = 2;
    _cleanup_secret_ cocoimg__secret *out = NULL;
    CHECK_OK(W->unwrap(&d.cfg, &dec_state, W->annotation, blob, len, &out, NULL));
    CHECK(out->len == strlen(opts));

    json_t *arr = NULL;
    CHECK_OK(W->describe(blob, len, &arr, NULL));
    /* DER sorts the SET OF RecipientInfo: any order */
    const char *a = json_string_value(json_array_get(arr, 0));
    const char *b = json_string_value(json_array_get(arr, 1));
    const char *w1 = "CN=libcocoimg test recipient, serial 0x1234", *w2 = "CN=second, serial 0x2A";
    int ok =
        json_array_size(arr) == 2 && a && b &&
        ((strcmp(a, w1) == 0 && strcmp(b, w2) == 0) || (strcmp(a, w2) == 0 && strcmp(b, w1) == 0));
    if (!ok)
        printf("# got %s | %s\n", json_string_value(json_array_get(arr, 0)),
               json_string_value(json_array_get(arr, 1)));
    json_decref(arr);
    CHECK(ok);
    return 0;
}

/* CMS_encrypt (standard EnvelopedData) of @p content for cert1 with @p cipher */
static uint8_t *
cms_encrypt(const EVP_CIPHER *cipher, const char *content, size_t *len)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(content, (int)strlen(content));
    CMS_ContentInfo *cms = certs && in && sk_X509_push(certs, cert1)
                               ? CMS_encrypt(certs, in, cipher, CMS_BINARY)
                               : NULL;
    uint8_t *der = NULL, *out = NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
    if (n > 0 && (out = malloc((size_t)n))) {
        memcpy(out, der, (size_t)n);
        *len = (size_t)n;
    }
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    sk_X509_free(certs);
    return out;
}

/* unwrap's message, or "" on success (static buffer) */
static const char *
unwrap_msg(const uint8_t *blob, size_t len, EVP_PKEY *key, X509 *cert, int *code)
{
    static char buf[512];
    struct dcfg d;
    dcfg_init(&d, key, cert);
    _cleanup_error_ cocoimg_error *err = NULL;
    _cleanup_secret_ cocoimg__secret *out = NULL;
    *code = W->unwrap(&d.cfg, &dec_state, W->annotation, blob, len, &out, &err);
    snprintf(buf, sizeof(buf), "%s", *code < 0 ? cocoimg_error_message(err) : "");
    return buf;
}

/*
 * Unauthenticated content encryption (AES-CBC, 3DES) is refused without the
 * opt-in, before any key is used: the same error with the right key, a
 * wrong key and no key; the refuse hook says the same.  With the opt-in it
 * decrypts as before.
 */
static int
test_unauthenticated_policy(void)
{
    const struct {
        const char *name;
        const EVP_CIPHER *(*cipher)(void);
    } algs[] = {{"AES-128-CBC", EVP_aes_128_cbc},
                {"AES-256-CBC", EVP_aes_256_cbc},
                {"DES-EDE3-CBC", EVP_des_ede3_cbc}};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(algs); i++) {
        size_t len = 0;
        _cleanup_free_ uint8_t *blob = cms_encrypt(algs[i].cipher(), opts, &len);
        CHECK(blob);
        int c1, c2, c3;
        char m1[512];
        snprintf(m1, sizeof(m1), "%s", unwrap_msg(blob, len, key1, cert1, &c1));
        CHECK(c1 == COCOIMG_ENOTSUP);
        CHECK(strstr(m1, "--pkcs7-allow-unauthenticated") && strstr(m1, algs[i].name));
        CHECK(strcmp(unwrap_msg(blob, len, key2, cert2, &c2), m1) == 0 && c2 == c1);
        CHECK(strcmp(unwrap_msg(blob, len, NULL, NULL, &c3), m1) == 0 && c3 == c1);
        _cleanup_error_ cocoimg_error *err = NULL;
        CHECK(W->refuse(NULL, blob, len, &err) == COCOIMG_ENOTSUP);
        CHECK(strcmp(cocoimg_error_message(err), m1) == 0);
        struct cocoimg__pkcs7_state allow = {.allow_unauthenticated = true};
        CHECK(W->refuse(&allow, blob, len, NULL) == 0);

        dec_state.allow_unauthenticated = true;
        int r = unwrap_equals(blob, len, key1, cert1, opts);
        dec_state.allow_unauthenticated = false;
        CHECK(r == 0);
    }
    /* GCM (ours, ocicrypt's) and malformed blobs are not the hook's business */
    _cleanup_free_ uint8_t *gcm = NULL;
    size_t glen = 0;
    X509 *certs[] = {cert1};
    CHECK_OK(wrap_to(certs, 1, opts, &gcm, &glen));
    CHECK(W->refuse(NULL, gcm, glen, NULL) == 0);
    CHECK(W->refuse(NULL, (const uint8_t *)"\x30\x03\x06\x01", 4, NULL) == 0);
    size_t vlen = 0;
    _cleanup_free_ uint8_t *v = vec_blob("enc-pkcs7", 0, "pkcs7", 0, &vlen);
    CHECK(v && W->refuse(NULL, v, vlen, NULL) == 0);
    return 0;
}

/*
 * The opt-in through the public options (version 2 field): it reaches the
 * pkcs7 state for decrypt, encrypt and unpack; a version 1 caller's struct
 * ends before it and is never read there; layerinfo refuses it by name.
 */
static bool
allow_of(const cocoimg_crypt_options *o, enum cocoimg__crypt_op op, int *code)
{
    _cleanup_(cocoimg__crypt_config_freep) cocoimg__crypt_config *cfg = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    *code = cocoimg__crypt_config_from_options(&cfg, o, op, &err);
    if (*code < 0) {
        printf("# %s\n", cocoimg_error_message(err));
        return false;
    }
    const struct cocoimg__pkcs7_state *st = cocoimg__crypt_config_state(cfg, COCOIMG__KW_pkcs7);
    return st && st->allow_unauthenticated;
}

static int
test_options_opt_in(void)
{
    int code;
    cocoimg_crypt_options o = COCOIMG_CRYPT_OPTIONS_INIT;
    CHECK(COCOIMG_CRYPT_OPTIONS_VERSION >= 2);
    CHECK(!allow_of(&o, COCOIMG__CRYPT_DECRYPT, &code) && code == 0);
    o.pkcs7_allow_unauthenticated = 1;
    CHECK(allow_of(&o, COCOIMG__CRYPT_DECRYPT, &code) && code == 0);
    CHECK(allow_of(&o, COCOIMG__CRYPT_ENCRYPT, &code) && code == 0);
    CHECK(allow_of(&o, COCOIMG__CRYPT_UNPACK, &code) && code == 0);
    CHECK(!allow_of(&o, COCOIMG__CRYPT_LAYERINFO, &code) && code == COCOIMG_EINVAL);
    /* a version 1 struct: whatever lies past its end is not looked at */
    o.version = 1;
    CHECK(!allow_of(&o, COCOIMG__CRYPT_DECRYPT, &code) && code == 0);
    CHECK(!allow_of(&o, COCOIMG__CRYPT_LAYERINFO, &code) && code == 0);
    /* init for version 1 writes only the version 1 prefix */
    cocoimg_crypt_options v1;
    memset(&v1, 0x5a, sizeof(v1));
    CHECK(cocoimg_crypt_options_init(&v1, 1) == 0);
    CHECK(v1.version == 1 && v1.keyprovider == NULL &&
          v1.pkcs7_allow_unauthenticated == 0x5a5a5a5a);
    CHECK(cocoimg_crypt_options_init(&v1, 2) == 0);
    CHECK(v1.version == 2 && v1.pkcs7_allow_unauthenticated == 0);
    return 0;
}

static int
test_wrong_key(void)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob("enc-pkcs7", 0, "pkcs7", 0, &len);
    CHECK(blob);
    /* a key+cert pair that is not a recipient */
    CHECK(unwrap_code(blob, len, key2, cert2) == COCOIMG_ENOKEY);
    /* the right key without its certificate (ocicrypt needs both) */
    CHECK(unwrap_code(blob, len, key1, NULL) == COCOIMG_ENOKEY);
    /* the recipient's certificate with another key: not a pair */
    CHECK(unwrap_code(blob, len, key2, cert1) == COCOIMG_ENOKEY);
    /* nothing at all */
    CHECK(unwrap_code(blob, len, NULL, NULL) == COCOIMG_ENOKEY);
    return 0;
}

static int
flip_code(const char *layout, size_t layer, size_t off_from_end, size_t off_from_start)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *blob = vec_blob(layout, layer, "pkcs7", 0, &len);
    if (!blob)
        return 1;
    size_t off = off_from_end ? len - off_from_end : off_from_start;
    blob[off] ^= 0x01;
    return unwrap_code(blob, len, key1, cert1);
}

static int
test_flipped(void)
{
    /* GCM tag, GCM ciphertext (ocicrypt form) */
    CHECK(flip_code("enc-pkcs7", 0, 1, 0) == COCOIMG_EAUTH);
    CHECK(flip_code("enc-pkcs7", 0, 40, 0) == COCOIMG_EAUTH);
    /* the RSA-encrypted CEK (offset 100 is inside encryptedKey): no padding oracle */
    CHECK(flip_code("enc-pkcs7", 0, 0, 100) == COCOIMG_EAUTH);
    CHECK(flip_code("enc-pkcs7", 0, 0, 200) == COCOIMG_EAUTH);
    /* the GCM nonce (offset 390, spec 6.2.2) */
    CHECK(flip_code("enc-pkcs7", 0, 0, 392) == COCOIMG_EAUTH);
    /* CBC (with the opt-in): last block (padding); the AuthEnvelopedData mac */
    dec_state.allow_unauthenticated = true;
    int cbc = flip_code("rw-pkcs7-openssl-aes256cbc", 0, 1, 0);
    dec_state.allow_unauthenticated = false;
    CHECK(cbc == COCOIMG_EAUTH);
    CHECK(flip_code("rw-pkcs7-openssl-aes128gcm", 0, 1, 0) == COCOIMG_EAUTH);
    /* structure: outer tag, envelopedData OID, the quirky 0x10 tag */
    CHECK(flip_code("enc-pkcs7", 0, 0, 0) == COCOIMG_EFORMAT);
    CHECK(flip_code("enc-pkcs7", 0, 0, 382) == COCOIMG_EFORMAT);
    int r = flip_code("enc-pkcs7", 0, 0, 14);
    CHECK(r == COCOIMG_ENOTSUP);
    return 0;
}

static int
test_truncated(void)
{
    const char *layouts[] = {"enc-pkcs7", "rw-pkcs7-openssl-aes256cbc",
                             "rw-pkcs7-openssl-aes128gcm"};
    for (size_t l = 0; l < COCOIMG_ARRAY_SIZE(layouts); l++) {
        size_t len = 0;
        _cleanup_free_ uint8_t *blob = vec_blob(layouts[l], 0, "pkcs7", 0, &len);
        CHECK(blob);
        struct dcfg d;
        dcfg_init(&d, key1, cert1);
        for (size_t n = 0; n < len; n++) {
            _cleanup_error_ cocoimg_error *err = NULL;
            cocoimg__secret *out = NULL;
            int r = W->unwrap(&d.cfg, &dec_state, W->annotation, blob, n, &out, &err);
            if (r != COCOIMG_EFORMAT) {
                printf("# %s truncated to %zu: %d\n", layouts[l], n, r);
                cocoimg__secret_free(out);
                return -1;
            }
            json_t *arr = NULL;
            CHECK(W->describe(blob, n, &arr, NULL) == COCOIMG_EFORMAT);
        }
    }
    return 0;
}

static int
test_bad_recipients(void)
{
    /* EC certificates are refused (ocicrypt is RSA-only) */
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    X509 *certs[] = {cert1, ec_cert};
    struct cocoimg__pkcs7_state cfg = {.certs = certs, .n_certs = 2};
    _cleanup_secret_ cocoimg__secret *s = NULL;
    CHECK_OK(cocoimg__secret_dup(&s, opts, strlen(opts), NULL));
    _cleanup_error_ cocoimg_error *err = NULL;
    CHECK(cocoimg__keywrap_wrap_blob(W, &cfg, s, &blob, &len, &err) == COCOIMG_ENOTSUP);
    CHECK(strstr(cocoimg_error_message(err), "only RSA") != NULL);
    struct cocoimg__pkcs7_state none = {0};
    CHECK(cocoimg__keywrap_wrap_blob(W, &none, s, &blob, &len, NULL) == COCOIMG_EINVAL);
    CHECK(!W->has_recipients(&none));
    CHECK(W->has_recipients(&cfg));
    return 0;
}

static int
test_has_keys(void)
{
    struct dcfg d;
    dcfg_init(&d, key1, cert1);
    CHECK(W->has_keys(&d.cfg, NULL));
    dcfg_init(&d, key1, cert2);
    CHECK(!W->has_keys(&d.cfg, NULL));
    dcfg_init(&d, key1, NULL);
    CHECK(!W->has_keys(&d.cfg, NULL));
    CHECK(strcmp(W->annotation, "org.opencontainers.image.enc.keys.pkcs7") == 0);
    return 0;
}

static const struct tap_test tests[] = {TAP_TEST(test_vectors),
                                        TAP_TEST(test_encoding_variants),
                                        TAP_TEST(test_describe),
                                        TAP_TEST(test_wrap_shape),
                                        TAP_TEST(test_roundtrip_one),
                                        TAP_TEST(test_roundtrip_two),
                                        TAP_TEST(test_unauthenticated_policy),
                                        TAP_TEST(test_options_opt_in),
                                        TAP_TEST(test_wrong_key),
                                        TAP_TEST(test_flipped),
                                        TAP_TEST(test_truncated),
                                        TAP_TEST(test_bad_recipients),
                                        TAP_TEST(test_has_keys),
                                        {0}};

int
main(void)
{
    key1 = vec_privkey("keys/rsa_priv.pem");
    cert1 = vec_cert("keys/rsa_cert.pem");
    ec_cert = vec_cert("keys/ec_cert.pem");
    key2 = EVP_RSA_gen(2048);
    cert2 = key2 ? make_cert(key2, "second", 42) : NULL;
    if (!key1 || !cert1 || !ec_cert || !cert2) {
        printf("Bail out! cannot load the vector keys from %s\n", vec_dir());
        return 1;
    }
    int r = tap_run(tests);
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    X509_free(cert1);
    X509_free(cert2);
    X509_free(ec_cert);
    return r;
}
