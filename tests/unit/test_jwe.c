/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWE key wrapper: unwrap every JWE of the real skopeo/ocicrypt vectors and
 * compare with expected.json, check that wrap output has go-jose's exact
 * shape, round trips for every key type, and the error codes of damaged input.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypt/config.h"
#include "crypt/keys.h"
#include "crypt/keywrap.h"
#include "tap.h"
#include "util/base64.h"
#include "util/json.h"

static const struct cocoimg__keywrapper *const W = &cocoimg__keywrap_jwe;

#define NEED_SHARED()                                                                              \
    do {                                                                                           \
        if (!getenv("OCI_VECTORS")) {                                                              \
            printf("# OCI_VECTORS is not set (run under make check)\n");                           \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static char *
vpath(const char *fmt, ...)
{
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    char *p = NULL;
    if (asprintf(&p, "%s/%s", getenv("OCI_VECTORS"), rel) < 0)
        return NULL;
    return p;
}

static json_t *
load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        printf("# %s: %s\n", path, je.text);
    return j;
}

static json_t *
layout_manifest(const char *layout)
{
    char *p = vpath("layouts/%s/index.json", layout);
    json_t *idx = load_json(p);
    free(p);
    const char *dg =
        cocoimg__json_str(json_array_get(json_object_get(idx, "manifests"), 0), "digest");
    json_t *m = NULL;
    if (dg && strncmp(dg, "sha256:", 7) == 0) {
        p = vpath("layouts/%s/blobs/sha256/%s", layout, dg + 7);
        m = load_json(p);
        free(p);
    }
    json_decref(idx);
    return m;
}

/* Config holding the private keys named (vector key files), NULL-terminated. */
static cocoimg__crypt_config *
cfg_keys(const char *first, ...)
{
    cocoimg__crypt_config *cfg = NULL;
    if (cocoimg__crypt_config_new(&cfg, NULL) < 0)
        return NULL;
    va_list ap;
    va_start(ap, first);
    for (const char *k = first; k; k = va_arg(ap, const char *)) {
        char *p = vpath("keys/%s", k);
        cocoimg_error *e = NULL;
        int r = cocoimg__crypt_config_add_key(cfg, p, &e);
        free(p);
        if (r < 0) {
            printf("# %s: %s\n", k, cocoimg_error_message(e));
            cocoimg_error_free(e);
            cocoimg__crypt_config_free(cfg);
            cfg = NULL;
            break;
        }
    }
    va_end(ap);
    return cfg;
}

/* Unwrap @p len bytes and check the code (and the plaintext when @p want is set). */
static int
unwrap_is(const cocoimg__crypt_config *cfg, const void *blob, size_t len, int code,
          const char *want)
{
    cocoimg__secret *out = NULL;
    cocoimg_error *e = NULL;
    int r = W->unwrap(cfg, NULL, W->annotation, blob, len, &out, &e);
    int ok = r == code && (r < 0 || !want ||
                           (out->len == strlen(want) && memcmp(out->ptr, want, out->len) == 0));
    if (!ok)
        printf("# unwrap: got %d (%s), wanted %d\n", r, e ? cocoimg_error_message(e) : "-", code);
    if (r < 0 && (!e || cocoimg_error_code(e) != r || strchr(cocoimg_error_message(e), '\n'))) {
        printf("# unwrap: bad error object\n");
        ok = 0;
    }
    cocoimg__secret_free(out);
    cocoimg_error_free(e);
    return ok;
}

/* --- the vectors ------------------------------------------------------------------- */

static const char *const *
keys_for(const char *layout)
{
    static const char *const ec[] = {"ec_priv.pem", NULL};
    static const char *const rsa_ec[] = {"rsa_priv.pem", "ec_priv.pem", NULL};
    static const char *const three[] = {"rsa_priv.pem", "ec_priv.pem", "ec384_priv.pem", NULL};
    static const char *const rsa[] = {"rsa_priv.pem", NULL};
    if (strcmp(layout, "enc-jwe-ec") == 0)
        return ec;
    if (strcmp(layout, "enc-jwe-multi") == 0 || strcmp(layout, "enc-mixed") == 0)
        return rsa_ec;
    if (strcmp(layout, "myenc-multi") == 0)
        return three;
    return rsa;
}

/* The JWE blobs (decoded) of layer @p i of @p layout's manifest; count in *n. */
static int
layer_jwes(uint8_t ***out, size_t *n, json_t *manifest, size_t i)
{
    json_t *layer = json_array_get(json_object_get(manifest, "layers"), i);
    const char *a =
        cocoimg__json_str(json_object_get(layer, "annotations"), COCOIMG_ENC_KEYS_PREFIX "jwe");
    *out = NULL;
    *n = 0;
    if (!a)
        return 0;
    char *copy = strdup(a), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint8_t *b;
        size_t bl;
        if (cocoimg__b64_decode(&b, &bl, tok, strlen(tok), COCOIMG_B64_STD, "jwe", NULL) < 0) {
            free(copy);
            return -1;
        }
        *out = realloc(*out, (*n + 1) * sizeof(**out));
        (*out)[(*n)++] = b;
    }
    free(copy);
    return 0;
}

static int
test_vectors(void)
{
    NEED_SHARED();
    char *p = vpath("expected.json");
    json_t *expected = load_json(p);
    free(p);
    CHECK(expected);
    const char *layout;
    json_t *layers;
    size_t checked = 0, compact = 0, oaep256 = 0, general = 0;
    json_object_foreach(expected, layout, layers)
    {
        json_t *m = layout_manifest(layout);
        CHECK(m);
        size_t i;
        json_t *exp;
        json_array_foreach(layers, i, exp)
        {
            uint8_t **jwes;
            size_t n;
            CHECK(layer_jwes(&jwes, &n, m, i) == 0);
            if (n == 0)
                continue;
            const char *want = cocoimg__json_str(exp, "privopts");
            CHECK(want);
            for (const char *const *k = keys_for(layout); *k; k++) {
                cocoimg__crypt_config *cfg = cfg_keys(*k, NULL);
                CHECK(cfg);
                int ok = 0;
                for (size_t b = 0; b < n; b++) {
                    cocoimg__secret *out = NULL;
                    if (W->unwrap(cfg, NULL, W->annotation, jwes[b], strlen((char *)jwes[b]), &out,
                                  NULL) == 0) {
                        ok = out->len == strlen(want) && memcmp(out->ptr, want, out->len) == 0;
                        cocoimg__secret_free(out);
                        break;
                    }
                }
                if (!ok)
                    printf("# %s layer %zu key %s failed\n", layout, i, *k);
                CHECK(ok);
                cocoimg__crypt_config_free(cfg);
                checked++;
            }
            for (size_t b = 0; b < n; b++) {
                compact += jwes[b][0] != '{';
                oaep256 += strstr((char *)jwes[b], "eyJhbGciOiJSU0EtT0FFUC0yNTYi") != NULL;
                general += strstr((char *)jwes[b], "\"recipients\"") != NULL;
                free(jwes[b]);
            }
            free(jwes);
        }
        json_decref(m);
    }
    json_decref(expected);
    printf("# %zu layer/key pairs unwrapped (%zu compact, %zu RSA-OAEP-256, %zu general)\n",
           checked, compact, oaep256, general);
    CHECK(checked >= 29 && compact >= 1 && oaep256 >= 1 && general >= 4);

    /* the wrong key type or key gives ENOKEY */
    json_t *m = layout_manifest("enc-jwe-rsa");
    uint8_t **jwes;
    size_t n;
    CHECK(layer_jwes(&jwes, &n, m, 0) == 0 && n == 1);
    cocoimg__crypt_config *ec = cfg_keys("ec_priv.pem", "ec384_priv.pem", NULL);
    CHECK(unwrap_is(ec, jwes[0], strlen((char *)jwes[0]), COCOIMG_ENOKEY, NULL));
    cocoimg__crypt_config_free(ec);
    free(jwes[0]);
    free(jwes);
    json_decref(m);
    m = layout_manifest("enc-jwe-ec");
    CHECK(layer_jwes(&jwes, &n, m, 0) == 0 && n == 1);
    cocoimg__crypt_config *rsa = cfg_keys("rsa_priv.pem", "ec384_priv.pem", NULL);
    CHECK(unwrap_is(rsa, jwes[0], strlen((char *)jwes[0]), COCOIMG_ENOKEY, NULL));
    CHECK(unwrap_is(NULL, jwes[0], strlen((char *)jwes[0]), COCOIMG_ENOKEY, NULL));
    cocoimg__crypt_config_free(rsa);
    free(jwes[0]);
    free(jwes);
    json_decref(m);
    return 0;
}

static int
test_describe(void)
{
    NEED_SHARED();
    json_t *m = layout_manifest("enc-jwe-multi");
    uint8_t **jwes;
    size_t n;
    CHECK(layer_jwes(&jwes, &n, m, 1) == 0 && n == 1);
    json_t *d = NULL;
    CHECK_OK(W->describe(jwes[0], strlen((char *)jwes[0]), &d, NULL));
    char *s = json_dumps(d, JSON_COMPACT);
    CHECK(strcmp(s, "[\"RSA-OAEP\",\"ECDH-ES+A256KW P-256\"]") == 0);
    free(s);
    json_decref(d);
    cocoimg_error *e = NULL;
    CHECK(W->describe((const uint8_t *)"{}", 2, &d, &e) == COCOIMG_EFORMAT);
    cocoimg_error_free(e);
    free(jwes[0]);
    free(jwes);
    json_decref(m);
    return 0;
}

/* --- wrap -------------------------------------------------------------------------- */

static const char privopts[] =
    "{\"symkey\":\"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw=\",\"digest\":\"sha256:"
    "29e5757116a62120787e429566616310f7835315f8b8fd3a22b6a87daee7939c\",\"cipheroptions\":{"
    "\"nonce\":\"PWvES3s5UrZLq4pjz5sXiw==\"}}";

static int
wrap(uint8_t **out, size_t *len, EVP_PKEY **pubs, size_t n)
{
    struct cocoimg__jwe_state st = {pubs, n};
    cocoimg__secret opts = {(uint8_t *)privopts, strlen(privopts), 0};
    cocoimg_error *e = NULL;
    int r = cocoimg__keywrap_wrap_blob(W, &st, &opts, out, len, &e);
    if (r < 0)
        printf("# wrap: %s\n", cocoimg_error_message(e));
    cocoimg_error_free(e);
    return r;
}

static char *
b64u_decode_str(const char *s)
{
    uint8_t *b = NULL;
    size_t l;
    if (!s || cocoimg__b64_decode(&b, &l, s, strlen(s), COCOIMG_B64_URL, "x", NULL) < 0)
        return NULL;
    return (char *)b;
}

static size_t
b64u_len(const char *s)
{
    uint8_t *b = NULL;
    size_t l = 0;
    if (!s || cocoimg__b64_decode(&b, &l, s, strlen(s), COCOIMG_B64_URL, "x", NULL) < 0)
        return 0;
    free(b);
    return l;
}

/* Object member names in order, comma-joined. */
static void
member_order(char *buf, size_t sz, json_t *o)
{
    buf[0] = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        (void)v;
        if (buf[0])
            strncat(buf, ",", sz - strlen(buf) - 1);
        strncat(buf, k, sz - strlen(buf) - 1);
    }
}

static EVP_PKEY *
vec_pub(const char *name)
{
    char *p = vpath("keys/%s", name);
    EVP_PKEY *pk = NULL;
    cocoimg__key_load_public_file(&pk, p, NULL);
    free(p);
    return pk;
}

static int
test_wrap_format(void)
{
    NEED_SHARED();
    EVP_PKEY *keys[2] = {vec_pub("rsa_pub.pem"), vec_pub("ec_pub.pem")};
    CHECK(keys[0] && keys[1]);
    char order[256];

    /* one RSA recipient: flattened, everything protected */
    uint8_t *out;
    size_t len;
    CHECK_OK(wrap(&out, &len, keys, 1));
    json_t *j = json_loadb((char *)out, len, JSON_REJECT_DUPLICATES, NULL);
    CHECK(j && strlen((char *)out) == len);
    member_order(order, sizeof(order), j);
    CHECK(strcmp(order, "protected,encrypted_key,iv,ciphertext,tag") == 0);
    char *prot = b64u_decode_str(cocoimg__json_str(j, "protected"));
    CHECK(prot && strcmp(prot, "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}") == 0);
    free(prot);
    CHECK(b64u_len(cocoimg__json_str(j, "encrypted_key")) == 256);
    CHECK(b64u_len(cocoimg__json_str(j, "iv")) == 12);
    CHECK(b64u_len(cocoimg__json_str(j, "tag")) == 16);
    CHECK(b64u_len(cocoimg__json_str(j, "ciphertext")) == strlen(privopts));
    json_decref(j);
    free(out);

    /* one EC recipient */
    CHECK_OK(wrap(&out, &len, keys + 1, 1));
    j = json_loadb((char *)out, len, 0, NULL);
    prot = b64u_decode_str(cocoimg__json_str(j, "protected"));
    const char *pfx = "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\","
                      "\"crv\":\"P-256\",\"x\":\"";
    CHECK(prot && strncmp(prot, pfx, strlen(pfx)) == 0);
    json_t *ph = json_loads(prot, 0, NULL);
    member_order(order, sizeof(order), json_object_get(ph, "epk"));
    CHECK(strcmp(order, "kty,crv,x,y") == 0);
    CHECK(b64u_len(cocoimg__json_str(json_object_get(ph, "epk"), "x")) == 32);
    json_decref(ph);
    free(prot);
    CHECK(b64u_len(cocoimg__json_str(j, "encrypted_key")) == 40);
    json_decref(j);
    free(out);

    /* two recipients: general, with go-jose's extra top-level encrypted_key */
    CHECK_OK(wrap(&out, &len, keys, 2));
    j = json_loadb((char *)out, len, 0, NULL);
    member_order(order, sizeof(order), j);
    CHECK(strcmp(order, "protected,recipients,encrypted_key,iv,ciphertext,tag") == 0);
    CHECK(strcmp(cocoimg__json_str(j, "protected"), "eyJlbmMiOiJBMjU2R0NNIn0") == 0);
    json_t *rs = json_object_get(j, "recipients");
    CHECK(json_array_size(rs) == 2);
    CHECK(strcmp(cocoimg__json_str(j, "encrypted_key"),
                 cocoimg__json_str(json_array_get(rs, 0), "encrypted_key")) == 0);
    member_order(order, sizeof(order), json_array_get(rs, 0));
    CHECK(strcmp(order, "header,encrypted_key") == 0);
    char *h = json_dumps(json_object_get(json_array_get(rs, 0), "header"),
                         JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(strcmp(h, "{\"alg\":\"RSA-OAEP\"}") == 0);
    free(h);
    member_order(order, sizeof(order), json_object_get(json_array_get(rs, 1), "header"));
    CHECK(strcmp(order, "alg,epk") == 0);
    json_decref(j);
    free(out);

    struct cocoimg__jwe_state empty = {0};
    cocoimg__secret opts = {(uint8_t *)privopts, strlen(privopts), 0};
    cocoimg_error *e = NULL;
    CHECK(cocoimg__keywrap_wrap_blob(W, &empty, &opts, &out, &len, &e) == COCOIMG_EINVAL);
    cocoimg_error_free(e);
    CHECK(!W->has_recipients(&empty) && !W->has_recipients(NULL) &&
          W->has_recipients(&(struct cocoimg__jwe_state){.pubkeys = keys, .n_pubkeys = 2}));
    EVP_PKEY_free(keys[0]);
    EVP_PKEY_free(keys[1]);
    return 0;
}

static int
test_roundtrip(void)
{
    NEED_SHARED();
    cocoimg__crypt_config *cfg = cfg_keys("rsa_priv.pem", "ec_priv.pem", "ec384_priv.pem", NULL);
    CHECK(cfg);
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    CHECK(p521);
    EVP_PKEY *pubs[4] = {vec_pub("rsa_pub.pem"), vec_pub("ec_pub.pem"), vec_pub("ec384_pub.pem"),
                         p521};
    /* one recipient each, then all four */
    for (size_t i = 0; i <= 4; i++) {
        uint8_t *out;
        size_t len;
        CHECK_OK(wrap(&out, &len, i < 4 ? pubs + i : pubs, i < 4 ? 1 : 4));
        for (size_t k = 0; k < 4; k++) {
            cocoimg__crypt_config one = {0};
            cocoimg__privkey pk = {k < 3 ? cfg->privkeys[k].pkey : p521, (char *)"k"};
            one.privkeys = &pk;
            one.n_privkeys = 1;
            bool fits = i == 4 || i == k;
            CHECK(unwrap_is(&one, out, len, fits ? 0 : COCOIMG_ENOKEY, privopts));
        }
        CHECK(unwrap_is(cfg, out, len, i == 3 ? COCOIMG_ENOKEY : 0, privopts));
        free(out);
    }
    for (size_t i = 0; i < 3; i++)
        EVP_PKEY_free(pubs[i]);
    EVP_PKEY_free(p521);
    cocoimg__crypt_config_free(cfg);
    return 0;
}

/* A public JWK for @p pk with "alg"/"kid" set, loaded through keys.c. */
static EVP_PKEY *
jwk_pub(EVP_PKEY *pk, const char *alg, const char *kid)
{
    json_t *o = NULL;
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
        if (cocoimg__ec_pkey_to_jwk(&o, pk, NULL) < 0)
            return NULL;
    } else {
        o = json_object();
        json_object_set_new(o, "kty", json_string("RSA"));
        const char *names[2][2] = {{"n", OSSL_PKEY_PARAM_RSA_N}, {"e", OSSL_PKEY_PARAM_RSA_E}};
        for (int i = 0; i < 2; i++) {
            BIGNUM *bn = NULL;
            EVP_PKEY_get_bn_param(pk, names[i][1], &bn);
            uint8_t buf[512];
            int l = BN_bn2bin(bn, buf);
            BN_free(bn);
            char *s = NULL;
            cocoimg__b64_encode(&s, buf, (size_t)l, COCOIMG_B64_URL, NULL);
            json_object_set_new(o, names[i][0], json_string(s));
            free(s);
        }
    }
    json_object_set_new(o, "alg", json_string(alg));
    json_object_set_new(o, "kid", json_string(kid));
    char *s = json_dumps(o, 0);
    json_decref(o);
    EVP_PKEY *out = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg__key_load_public(&out, s, strlen(s), "jwk", &e) < 0)
        printf("# jwk: %s\n", cocoimg_error_message(e));
    cocoimg_error_free(e);
    free(s);
    return out;
}

static int
test_jwk_recipients(void)
{
    NEED_SHARED();
    cocoimg__crypt_config *cfg = cfg_keys("rsa_priv.pem", "ec384_priv.pem", NULL);
    CHECK(cfg);
    EVP_PKEY *pubs[2] = {jwk_pub(cfg->privkeys[0].pkey, "RSA-OAEP-256", "rsa-1"),
                         jwk_pub(cfg->privkeys[1].pkey, "ECDH-ES+A128KW", "ec-1")};
    CHECK(pubs[0] && pubs[1]);
    for (size_t n = 1; n <= 2; n++) {
        uint8_t *out;
        size_t len;
        CHECK_OK(wrap(&out, &len, n == 1 ? pubs + 1 : pubs, n));
        json_t *j = json_loadb((char *)out, len, 0, NULL);
        if (n == 1) {
            char *prot = b64u_decode_str(cocoimg__json_str(j, "protected"));
            json_t *ph = json_loads(prot, 0, NULL);
            char order[64];
            member_order(order, sizeof(order), ph);
            CHECK(strcmp(order, "alg,enc,epk,kid") == 0);
            CHECK(strcmp(cocoimg__json_str(ph, "alg"), "ECDH-ES+A128KW") == 0);
            CHECK(strcmp(cocoimg__json_str(ph, "kid"), "ec-1") == 0);
            json_decref(ph);
            free(prot);
        }
        json_decref(j);
        CHECK(unwrap_is(cfg, out, len, 0, privopts));
        json_t *d = NULL;
        CHECK_OK(W->describe(out, len, &d, NULL));
        char *s = json_dumps(d, JSON_COMPACT);
        CHECK(strcmp(s, n == 1
                            ? "[\"ECDH-ES+A128KW P-384, kid ec-1\"]"
                            : "[\"RSA-OAEP-256, kid rsa-1\",\"ECDH-ES+A128KW P-384, kid ec-1\"]") ==
              0);
        free(s);
        json_decref(d);
        free(out);
    }
    EVP_PKEY_free(pubs[0]);
    EVP_PKEY_free(pubs[1]);

    /* an alg ocicrypt refuses, or one that does not fit the key */
    EVP_PKEY *bad = jwk_pub(cfg->privkeys[0].pkey, "RSA1_5", "x");
    uint8_t *out;
    size_t len;
    CHECK(bad && wrap(&out, &len, &bad, 1) == COCOIMG_ENOTSUP);
    EVP_PKEY_free(bad);
    bad = jwk_pub(cfg->privkeys[0].pkey, "ECDH-ES+A256KW", "x");
    CHECK(bad && wrap(&out, &len, &bad, 1) == COCOIMG_EINVAL);
    EVP_PKEY_free(bad);
    cocoimg__crypt_config_free(cfg);
    return 0;
}

/* --- negative ---------------------------------------------------------------------- */

/* Re-encode member @p k of @p j after flipping bit 0 of byte @p at of its decoded value. */
static void
flip(json_t *j, const char *k, size_t at)
{
    uint8_t *b;
    size_t l;
    const char *s = cocoimg__json_str(j, k);
    cocoimg__b64_decode(&b, &l, s, strlen(s), COCOIMG_B64_URL, "x", NULL);
    b[at % l] ^= 1;
    char *e;
    cocoimg__b64_encode(&e, b, l, COCOIMG_B64_URL, NULL);
    json_object_set_new(j, k, json_string(e));
    free(b);
    free(e);
}

static void
set_protected(json_t *j, const char *hdr)
{
    char *e;
    cocoimg__b64_encode(&e, hdr, strlen(hdr), COCOIMG_B64_URL, NULL);
    json_object_set_new(j, "protected", json_string(e));
    free(e);
}

static int
unwrap_json_is(const cocoimg__crypt_config *cfg, json_t *j, int code)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int ok = unwrap_is(cfg, s, strlen(s), code, code == 0 ? privopts : NULL);
    free(s);
    json_decref(j);
    return ok;
}

static int
test_negative(void)
{
    NEED_SHARED();
    cocoimg__crypt_config *cfg = cfg_keys("rsa_priv.pem", "ec_priv.pem", NULL);
    CHECK(cfg);
    EVP_PKEY *pubs[2] = {vec_pub("rsa_pub.pem"), vec_pub("ec_pub.pem")};
    uint8_t *flat_s, *gen_s;
    size_t flat_len, gen_len;
    CHECK_OK(wrap(&flat_s, &flat_len, pubs, 1));
    CHECK_OK(wrap(&gen_s, &gen_len, pubs, 2));
    json_t *flat = json_loadb((char *)flat_s, flat_len, JSON_PRESERVE_ORDER, NULL);
    json_t *gen = json_loadb((char *)gen_s, gen_len, JSON_PRESERVE_ORDER, NULL);
    CHECK(flat && gen);
    CHECK(unwrap_json_is(cfg, json_deep_copy(flat), 0));

    /* compact form of the same JWE */
    char compact[4096];
    snprintf(compact, sizeof(compact), "%s.%s.%s.%s.%s", cocoimg__json_str(flat, "protected"),
             cocoimg__json_str(flat, "encrypted_key"), cocoimg__json_str(flat, "iv"),
             cocoimg__json_str(flat, "ciphertext"), cocoimg__json_str(flat, "tag"));
    CHECK(unwrap_is(cfg, compact, strlen(compact), 0, privopts));
    *strrchr(compact, '.') = 0; /* 4 parts */
    CHECK(unwrap_is(cfg, compact, strlen(compact), COCOIMG_EFORMAT, NULL));

    /* tampering: GCM catches it */
    json_t *t;
    for (size_t at = 0; at < 3; at++) {
        t = json_deep_copy(flat);
        flip(t, "ciphertext", at * 50);
        CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
        t = json_deep_copy(gen);
        flip(t, "ciphertext", at * 50);
        CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
    }
    t = json_deep_copy(flat);
    flip(t, "tag", 15);
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
    t = json_deep_copy(flat);
    flip(t, "iv", 0);
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
    t = json_deep_copy(flat);
    set_protected(t, "{\"alg\":\"RSA-OAEP\", \"enc\":\"A256GCM\"}"); /* same meaning, new AAD */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
    t = json_deep_copy(flat);
    json_object_set_new(t, "aad", json_string("AAAA")); /* external AAD changes the AAD */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
    t = json_deep_copy(gen);
    set_protected(t, "{\"enc\":\"A256GCM\",\"x\":1}");
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EAUTH));
    /* a damaged encrypted key does not fit any key */
    t = json_deep_copy(flat);
    flip(t, "encrypted_key", 100);
    CHECK(unwrap_json_is(cfg, t, COCOIMG_ENOKEY));

    /* malformed */
    static const char *const bad[] = {
        "",
        "   ",
        "{",
        "{\"protected\":",
        "[]",
        "not.a.jwe",
        "a.b.c.d.e",
        "{}",
        "{\"protected\":\"eyJlbmMiOiJBMjU2R0NNIn0\",\"recipients\":[],\"iv\":\"\",\"ciphertext\":"
        "\"\",\"tag\":\"\"}",
        "{\"protected\":\"eyJlbmMiOiJBMjU2R0NNIn0\",\"recipients\":{},\"iv\":\"\",\"ciphertext\":"
        "\"\",\"tag\":\"\"}",
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad); i++)
        if (!unwrap_is(cfg, bad[i], strlen(bad[i]), COCOIMG_EFORMAT, NULL)) {
            printf("# input: %s\n", bad[i]);
            return -1;
        }
    t = json_deep_copy(flat);
    json_object_set_new(t, "iv", json_string("AAAA*AAA")); /* not base64url */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(flat);
    json_object_set_new(t, "tag", json_string("AAAA+AAA")); /* std alphabet */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(flat);
    json_object_set_new(t, "iv", json_string("AAAAAAAAAAAAAA")); /* 10 bytes */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(flat);
    json_object_set_new(t, "ciphertext", json_integer(1));
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(flat);
    json_object_set_new(t, "protected", json_string("e30")); /* {} : no alg */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(flat);
    json_object_set_new(t, "protected", json_string("WzFd")); /* [1] */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(flat);
    json_object_set_new(t, "header", json_pack("{s:s}", "alg", "RSA-OAEP")); /* duplicate */
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(gen);
    json_object_set_new(t, "unprotected", json_pack("{s:s}", "enc", "A256GCM"));
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));
    t = json_deep_copy(gen);
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(t, "recipients"), 1), "header"), "epk",
        json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", "AAAA", "y", "AAAA"));
    json_array_remove(json_object_get(t, "recipients"), 0);
    CHECK(unwrap_json_is(cfg, t, COCOIMG_EFORMAT));

    /* unsupported algorithms */
    static const char *const unsup[] = {
        "{\"alg\":\"none\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\"}",
        "{\"alg\":\"RSA-OAEP\",\"enc\":\"A128CBC-HS256\"}",
        "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}",
        "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"crit\":[\"x\"],\"x\":1}",
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(unsup); i++) {
        t = json_deep_copy(flat);
        set_protected(t, unsup[i]);
        if (!unwrap_json_is(cfg, t, COCOIMG_ENOTSUP)) {
            printf("# header: %s\n", unsup[i]);
            return -1;
        }
    }
    /* one unsupported recipient among good ones does not matter */
    t = json_deep_copy(gen);
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(t, "recipients"), 0), "header"), "alg",
        json_string("RSA1_5"));
    CHECK(unwrap_json_is(cfg, t, 0));

    /* limits */
    size_t big = 2u * 1024 * 1024;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[big - 1] = '{';
    CHECK(unwrap_is(cfg, huge, big, COCOIMG_ELIMIT, NULL));
    free(huge);

    json_decref(flat);
    json_decref(gen);
    free(flat_s);
    free(gen_s);
    EVP_PKEY_free(pubs[0]);
    EVP_PKEY_free(pubs[1]);
    cocoimg__crypt_config_free(cfg);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_vectors),
    TAP_TEST(test_describe),
    TAP_TEST(test_wrap_format),
    TAP_TEST(test_roundtrip),
    TAP_TEST(test_jwk_recipients),
    TAP_TEST(test_negative),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
