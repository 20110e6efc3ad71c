/* SPDX-License-Identifier: Apache-2.0 */
/* Key/certificate loading and crypt config builders against the ocicrypt vector keys. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "crypt/config.h"
#include "crypt/keys.h"
#include "gpg/gpg.h"
#include "tap.h"
#include "util/base64.h"

static char path_buf[8][4096];
static int path_slot;

/* Path of a vector key file (rotating static buffers); NULL without OCI_VECTORS. */
static const char *
key(const char *name)
{
    const char *shared = getenv("OCI_VECTORS");
    if (!shared)
        return NULL;
    char *p = path_buf[path_slot++ % 8];
    snprintf(p, 4096, "%s/keys/%s", shared, name);
    return p;
}

#define NEED_SHARED()                                                                              \
    do {                                                                                           \
        if (!getenv("OCI_VECTORS")) {                                                              \
            printf("# OCI_VECTORS is not set (run under make check)\n");                           \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int err_code(int r, cocoimg_error **ep, int want, const char *needle);

/* Like err_code(), and the message must not contain @p secret. */
static int
err_code_without(int r, cocoimg_error **ep, int want, const char *needle, const char *secret)
{
    const char *m = cocoimg_error_message(*ep);
    if (m && strstr(m, secret)) {
        printf("# message '%s' quotes '%s'\n", m, secret);
        cocoimg_error_free(*ep);
        *ep = NULL;
        return 0;
    }
    return err_code(r, ep, want, needle);
}

static int
err_code(int r, cocoimg_error **ep, int want, const char *needle)
{
    cocoimg_error *e = *ep;
    *ep = NULL;
    int ok = r == want && cocoimg_error_code(e) == want &&
             (!needle || strstr(cocoimg_error_message(e), needle));
    if (!ok)
        printf("# got %d (%s), wanted %d%s%s\n", r, e ? cocoimg_error_message(e) : "no error", want,
               needle ? " with " : "", needle ? needle : "");
    cocoimg_error_free(e);
    return ok;
}

static EVP_PKEY *
pub(const char *name)
{
    EVP_PKEY *pk = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg__key_load_public_file(&pk, key(name), &e) < 0) {
        printf("# %s: %s\n", name, cocoimg_error_message(e));
        cocoimg_error_free(e);
    }
    return pk;
}

static EVP_PKEY *
priv(const char *name, const char *pw)
{
    EVP_PKEY *pk = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg__key_load_private_file(&pk, key(name), pw, &e) < 0) {
        printf("# %s: %s\n", name, cocoimg_error_message(e));
        cocoimg_error_free(e);
    }
    return pk;
}

static int
test_public_keys(void)
{
    NEED_SHARED();
    EVP_PKEY *rsa = pub("rsa_pub.pem"), *rsa_der = pub("rsa_pub.der"), *ec = pub("ec_pub.pem"),
             *ec384 = pub("ec384_pub.pem"), *pkcs1 = pub("rsa_pub_pkcs1.pem");
    CHECK(rsa && rsa_der && ec && ec384 && pkcs1);
    CHECK(EVP_PKEY_get_base_id(rsa) == EVP_PKEY_RSA && EVP_PKEY_get_bits(rsa) == 2048);
    CHECK(EVP_PKEY_eq(rsa, rsa_der) == 1);
    CHECK(EVP_PKEY_eq(rsa, pkcs1) == 1); /* superset of ocicrypt */
    CHECK(strcmp(cocoimg__ec_pkey_jwk_curve(ec), "P-256") == 0);
    CHECK(strcmp(cocoimg__ec_pkey_jwk_curve(ec384), "P-384") == 0);
    CHECK(cocoimg__ec_pkey_jwk_curve(rsa) == NULL);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa_der);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec384);
    EVP_PKEY_free(pkcs1);

    EVP_PKEY *pk = NULL;
    cocoimg_error *e = NULL;
    CHECK(err_code(cocoimg__key_load_public_file(&pk, key("rsa_cert.pem"), &e), &e, COCOIMG_ENOTSUP,
                   "certificate"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_public_file(&pk, key("rsa_priv.pem"), &e), &e, COCOIMG_EINVAL,
                   "private key"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_public_file(&pk, key("rsa_priv_pkcs8.der"), &e), &e,
                   COCOIMG_EFORMAT, "not a public key"));
    CHECK(err_code(cocoimg__key_load_public_file(&pk, key("pgp_pubring.gpg"), &e), &e,
                   COCOIMG_EFORMAT, "pgp_pubring.gpg"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_public_file(&pk, key("does-not-exist.pem"), &e), &e,
                   COCOIMG_ENOTFOUND, "does-not-exist.pem"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_public(&pk, "garbage", 7, "mem", &e), &e, COCOIMG_EFORMAT,
                   "'mem'"));
    CHECK(pk == NULL);
    return 0;
}

static int
test_private_keys(void)
{
    NEED_SHARED();
    EVP_PKEY *rpub = pub("rsa_pub.pem"), *epub = pub("ec_pub.pem"), *e384 = pub("ec384_pub.pem");
    CHECK(rpub && epub && e384);
    static const struct {
        const char *file, *pw;
        int which;
    } cases[] = {
        {"rsa_priv.pem", NULL, 0},
        {"rsa_priv_pkcs1.pem", NULL, 0},
        {"rsa_priv_pkcs8.der", NULL, 0},
        {"rsa_priv_pkcs1_enc.pem", "testpass", 0},
        {"rsa_priv_pkcs8_enc.pem", "testpass", 0},
        {"rsa_priv.pem", "ignored-for-plain-keys", 0},
        {"ec_priv.pem", NULL, 1},
        {"ec_priv_sec1.pem", NULL, 1},
        {"ec384_priv.pem", NULL, 2},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(cases); i++) {
        EVP_PKEY *pk = priv(cases[i].file, cases[i].pw);
        CHECK(pk);
        EVP_PKEY *want = cases[i].which == 0 ? rpub : cases[i].which == 1 ? epub : e384;
        CHECK(EVP_PKEY_eq(pk, want) == 1);
        /* it is really private: a private-only parameter is there */
        BIGNUM *d = NULL;
        CHECK(EVP_PKEY_get_bn_param(
                  pk, cases[i].which ? OSSL_PKEY_PARAM_PRIV_KEY : OSSL_PKEY_PARAM_RSA_D, &d) == 1);
        BN_clear_free(d);
        EVP_PKEY_free(pk);
    }
    EVP_PKEY_free(rpub);
    EVP_PKEY_free(epub);
    EVP_PKEY_free(e384);
    return 0;
}

static int
test_private_key_errors(void)
{
    NEED_SHARED();
    EVP_PKEY *pk = NULL;
    cocoimg_error *e = NULL;
    const char *encs[] = {"rsa_priv_pkcs1_enc.pem", "rsa_priv_pkcs8_enc.pem"};
    for (size_t i = 0; i < 2; i++) {
        char want[4200];
        snprintf(want, sizeof(want), "wrong password for key '%s'", key(encs[i]));
        e = NULL;
        CHECK(err_code(cocoimg__key_load_private_file(&pk, key(encs[i]), "wrongpass", &e), &e,
                       COCOIMG_EAUTH, want));
        e = NULL;
        CHECK(err_code(cocoimg__key_load_private_file(&pk, key(encs[i]), NULL, &e), &e,
                       COCOIMG_EINVAL, "password"));
    }
    e = NULL;
    CHECK(err_code(cocoimg__key_load_private_file(&pk, key("rsa_pub.pem"), NULL, &e), &e,
                   COCOIMG_EINVAL, "public key"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_private_file(&pk, key("rsa_cert.pem"), NULL, &e), &e,
                   COCOIMG_EINVAL, "certificate"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_private_file(&pk, key("pgp_secring.gpg"), NULL, &e), &e,
                   COCOIMG_ENOTSUP, "OpenPGP"));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_private(&pk, "\x30\x03\x02\x01\x00", 5, NULL, "junk", &e), &e,
                   COCOIMG_EFORMAT, "'junk'"));
    CHECK(pk == NULL);
    return 0;
}

static int
test_certs(void)
{
    NEED_SHARED();
    X509 *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(cocoimg__cert_load_file(&a, key("rsa_cert.pem"), NULL));
    CHECK_OK(cocoimg__cert_load_file(&b, key("rsa_cert.der"), NULL));
    CHECK_OK(cocoimg__cert_load_file(&c, key("ec_cert.pem"), NULL));
    CHECK(X509_cmp(a, b) == 0);
    CHECK(X509_cmp(a, c) != 0);
    X509_free(a);
    X509_free(b);
    X509_free(c);
    cocoimg_error *e = NULL;
    CHECK(err_code(cocoimg__cert_load_file(&a, key("rsa_priv.pem"), &e), &e, COCOIMG_EFORMAT,
                   "not an X.509 certificate"));
    return 0;
}

/* --- JWK ------------------------------------------------------------------------- */

static int
set_bn(json_t *o, const char *k, EVP_PKEY *pk, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
        return -1;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    uint8_t buf[1024];
    if (n > sizeof(buf) || BN_bn2binpad(bn, buf, (int)n) < 0) {
        BN_clear_free(bn);
        return -1;
    }
    BN_clear_free(bn);
    char *s = NULL;
    if (cocoimg__b64_encode(&s, buf, n, COCOIMG_B64_URL, NULL) < 0)
        return -1;
    json_object_set_new(o, k, json_string(s));
    free(s);
    return 0;
}

/* A JWK for @p pk made from OpenSSL's own export (independent of keys.c). */
static json_t *
make_jwk(EVP_PKEY *pk, bool private)
{
    json_t *o = json_object();
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
        json_object_set_new(o, "kty", json_string("RSA"));
        static const char *const m[][2] = {
            {"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
            {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
            {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
            {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
        };
        for (size_t i = 0; i < (private ? 8u : 2u); i++)
            if (set_bn(o, m[i][0], pk, m[i][1], 0) < 0)
                goto fail;
    } else {
        const char *crv = cocoimg__ec_pkey_jwk_curve(pk);
        size_t f = strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
        json_object_set_new(o, "kty", json_string("EC"));
        json_object_set_new(o, "crv", json_string(crv));
        if (set_bn(o, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, f) < 0 ||
            set_bn(o, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, f) < 0 ||
            (private && set_bn(o, "d", pk, OSSL_PKEY_PARAM_PRIV_KEY, f) < 0))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static int
jwk_roundtrip(EVP_PKEY *pk)
{
    for (int private = 0; private < 2; private ++) {
        json_t *j = make_jwk(pk, private);
        CHECK(j);
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        EVP_PKEY *got = NULL;
        int r = private ? cocoimg__key_load_private(&got, s, strlen(s), NULL, "jwk", NULL)
                        : cocoimg__key_load_public(&got, s, strlen(s), "jwk", NULL);
        free(s);
        CHECK(r == 0);
        CHECK(EVP_PKEY_eq(pk, got) == 1);
        CHECK(cocoimg__pkey_jwk_alg(got) == NULL);
        EVP_PKEY_free(got);
    }
    return 0;
}

static int
test_jwk(void)
{
    NEED_SHARED();
    EVP_PKEY *rsa = priv("rsa_priv.pem", NULL), *ec = priv("ec_priv.pem", NULL),
             *ec384 = priv("ec384_priv.pem", NULL);
    EVP_PKEY *ec521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    CHECK(rsa && ec && ec384 && ec521);
    CHECK(strcmp(cocoimg__ec_pkey_jwk_curve(ec521), "P-521") == 0);
    CHECK(jwk_roundtrip(rsa) == 0);
    CHECK(jwk_roundtrip(ec) == 0);
    CHECK(jwk_roundtrip(ec384) == 0);
    CHECK(jwk_roundtrip(ec521) == 0);

    /* our exporter agrees with OpenSSL's */
    json_t *mine = NULL;
    CHECK_OK(cocoimg__ec_pkey_to_jwk(&mine, ec521, NULL));
    json_t *ref = make_jwk(ec521, false);
    CHECK(json_equal(mine, ref));
    char *s = json_dumps(mine, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *prefix = "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"";
    CHECK(strncmp(s, prefix, strlen(prefix)) == 0);
    free(s);

    /* alg and kid are remembered */
    json_t *j = make_jwk(rsa, false);
    json_object_set_new(j, "alg", json_string("RSA-OAEP-256"));
    json_object_set_new(j, "kid", json_string("key-1"));
    s = json_dumps(j, 0);
    EVP_PKEY *got = NULL;
    CHECK_OK(cocoimg__key_load_public(&got, s, strlen(s), "jwk", NULL));
    free(s);
    CHECK(strcmp(cocoimg__pkey_jwk_alg(got), "RSA-OAEP-256") == 0);
    CHECK(strcmp(cocoimg__pkey_jwk_kid(got), "key-1") == 0);
    EVP_PKEY *dup = EVP_PKEY_dup(got); /* the copy owns its own attributes */
    CHECK(dup);
    EVP_PKEY_free(got);
    got = dup;
    CHECK(strcmp(cocoimg__pkey_jwk_kid(got), "key-1") == 0);
    EVP_PKEY_free(got);
    json_decref(j);

    /* negatives */
    cocoimg_error *e = NULL;
    json_t *bad = json_deep_copy(ref);
    json_object_set_new(bad, "y", json_object_get(ref, "x")); /* x == y: not on the curve */
    json_incref(json_object_get(ref, "x"));
    s = json_dumps(bad, 0);
    CHECK(err_code(cocoimg__key_load_public(&got, s, strlen(s), "bad", &e), &e, COCOIMG_EFORMAT,
                   "not on"));
    free(s);
    json_decref(bad);
    e = NULL;
    const char *oct = "{\"kty\":\"oct\",\"k\":\"AAAA\"}";
    CHECK(err_code(cocoimg__key_load_public(&got, oct, strlen(oct), "oct", &e), &e, COCOIMG_ENOTSUP,
                   "'oct'"));
    e = NULL;
    s = json_dumps(ref, 0); /* public JWK where a private one is needed */
    CHECK(err_code(cocoimg__key_load_private(&got, s, strlen(s), NULL, "pubjwk", &e), &e,
                   COCOIMG_EFORMAT, "not a private key"));
    free(s);
    e = NULL;
    const char *badb64 = "{\"kty\":\"RSA\",\"n\":\"a+b/\",\"e\":\"AQAB\"}";
    CHECK(err_code(cocoimg__key_load_public(&got, badb64, strlen(badb64), "b64", &e), &e,
                   COCOIMG_EFORMAT, NULL));
    e = NULL;
    CHECK(err_code(cocoimg__key_load_public(&got, "{\"kty\":", 7, "trunc", &e), &e, COCOIMG_EFORMAT,
                   NULL));
    json_decref(ref);
    json_decref(mine);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec384);
    EVP_PKEY_free(ec521);
    return 0;
}

/* --- config builders ---------------------------------------------------------------- */

static int
copy_file(const char *from, const char *to)
{
    uint8_t *buf;
    size_t len;
    if (cocoimg__key_read_file(&buf, &len, from, 1 << 20, NULL) < 0)
        return -1;
    FILE *f = fopen(to, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    if (f)
        fclose(f);
    free(buf);
    return ok ? 0 : -1;
}

static int
test_config(void)
{
    NEED_SHARED();
    cocoimg__crypt_config *cfg = NULL;
    CHECK_OK(cocoimg__crypt_config_new(&cfg, NULL));
    char spec[4200];
    snprintf(spec, sizeof(spec), "jwe:%s", key("rsa_pub.pem"));
    CHECK_OK(cocoimg__crypt_config_add_recipient(cfg, spec, NULL));
    snprintf(spec, sizeof(spec), "jwe:%s", key("ec_pub.pem"));
    CHECK_OK(cocoimg__crypt_config_add_recipient(cfg, spec, NULL));
    snprintf(spec, sizeof(spec), "pkcs7:%s", key("rsa_cert.pem"));
    CHECK_OK(cocoimg__crypt_config_add_recipient(cfg, spec, NULL));
    CHECK_OK(cocoimg__crypt_config_add_recipient(cfg, "pgp:coco-test@example.com", NULL));
    struct cocoimg__jwe_state *jwe = cfg->state[COCOIMG__KW_jwe];
    struct cocoimg__pkcs7_state *p7 = cfg->state[COCOIMG__KW_pkcs7];
    struct cocoimg__pgp_state *pgp = cfg->state[COCOIMG__KW_pgp];
    struct cocoimg__provider_state *prov = cfg->state[COCOIMG__KW_provider];
    CHECK(jwe->n_pubkeys == 2 && p7->n_certs == 1 && pgp->n_recipients == 1);
    CHECK(strcmp(pgp->recipients[0], "coco-test@example.com") == 0);
    /* provider:NAME[:PARAMS], parsed by the provider wrapper */
    CHECK_OK(cocoimg__crypt_config_add_recipient(cfg, "provider:attestation-agent", NULL));
    CHECK_OK(cocoimg__crypt_config_add_recipient(cfg, "provider:kbs:a:b=c", NULL));
    CHECK(prov->n_recipients == 2 && strcmp(prov->recipients[0].name, "attestation-agent") == 0 &&
          !prov->recipients[0].params && strcmp(prov->recipients[1].name, "kbs") == 0 &&
          strcmp(prov->recipients[1].params, "a:b=c") == 0);

    cocoimg_error *e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_recipient(cfg, "foo:bar", &e), &e, COCOIMG_EINVAL,
                   "supported: jwe, pkcs7, pgp"));
    e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_recipient(cfg, "pkcs11:x", &e), &e, COCOIMG_ENOTSUP,
                   "pkcs11"));
    e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_recipient(cfg, "provider:a/b", &e), &e, COCOIMG_EINVAL,
                   "provider name"));
    e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_recipient(cfg, "rsa_pub.pem", &e), &e, COCOIMG_EINVAL,
                   "SCHEME:VALUE"));
    e = NULL;
    snprintf(spec, sizeof(spec), "jwe:%s", key("rsa_cert.pem"));
    CHECK(err_code(cocoimg__crypt_config_add_recipient(cfg, spec, &e), &e, COCOIMG_ENOTSUP,
                   "rsa_cert.pem"));
    CHECK(jwe->n_pubkeys == 2);

    /* keys: plain, FILE:PASSWORD, pass=, file=, certificate, errors */
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, key("rsa_priv.pem"), NULL));
    snprintf(spec, sizeof(spec), "%s:testpass", key("rsa_priv_pkcs1_enc.pem"));
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, spec, NULL));
    snprintf(spec, sizeof(spec), "%s:pass=testpass", key("rsa_priv_pkcs8_enc.pem"));
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, spec, NULL));
    char dir[] = "/tmp/cocoimg-keys.XXXXXX";
    CHECK(mkdtemp(dir));
    char pwfile[64], colon[64], colon_spec[80];
    snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
    FILE *f = fopen(pwfile, "w");
    CHECK(f);
    fputs("testpass", f);
    fclose(f);
    snprintf(spec, sizeof(spec), "%s:file=%s", key("rsa_priv_pkcs1_enc.pem"), pwfile);
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, spec, NULL));
    /* fd=N: up to 64 bytes read once from the descriptor */
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK(write(pfd[1], "testpass", 8) == 8);
    close(pfd[1]);
    snprintf(spec, sizeof(spec), "%s:fd=%d", key("rsa_priv_pkcs1_enc.pem"), pfd[0]);
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, spec, NULL));
    close(pfd[0]);
    snprintf(spec, sizeof(spec), "%s:fd=x1", key("rsa_priv_pkcs1_enc.pem"));
    CHECK(err_code_without(cocoimg__crypt_config_add_key(cfg, spec, &e), &e, COCOIMG_EINVAL, "fd=N",
                           "x1"));
    CHECK_OK(cocoimg__crypt_config_add_key_password(cfg, key("rsa_priv_pkcs8_enc.pem"), "testpass",
                                                    NULL));
    /* a file name with ':' works when it exists as a whole ... */
    snprintf(colon, sizeof(colon), "%s/a:b.pem", dir);
    CHECK(copy_file(key("ec_priv.pem"), colon) == 0);
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, colon, NULL));
    /* ... and with a password after the last ':' */
    CHECK(copy_file(key("rsa_priv_pkcs1_enc.pem"), colon) == 0);
    snprintf(colon_spec, sizeof(colon_spec), "%s:testpass", colon);
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, colon_spec, NULL));
    CHECK(cfg->n_privkeys == 8);
    CHECK(strcmp(cfg->privkeys[7].source, colon) == 0);
    /* a certificate given as key goes to the decryption certificates */
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, key("rsa_cert.pem"), NULL));
    snprintf(spec, sizeof(spec), "pkcs7:%s", key("rsa_cert.der"));
    CHECK_OK(cocoimg__crypt_config_add_dec_cert(cfg, spec, NULL));
    CHECK(cfg->n_dec_certs == 2 && cfg->n_privkeys == 8);

    e = NULL;
    snprintf(spec, sizeof(spec), "%s:nope", key("rsa_priv_pkcs1_enc.pem"));
    CHECK(err_code(cocoimg__crypt_config_add_key(cfg, spec, &e), &e, COCOIMG_EAUTH,
                   "wrong password for key"));
    e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_key(cfg, key("rsa_priv_pkcs1_enc.pem"), &e), &e,
                   COCOIMG_EINVAL, "password"));
    e = NULL;
    /* the password part of a spec is never shown (issue 12) */
    CHECK(err_code_without(cocoimg__crypt_config_add_key(cfg, "/nonexistent/key.pem:pw", &e), &e,
                           COCOIMG_ENOTFOUND, "/nonexistent/key.pem", ":pw"));
    e = NULL;
    CHECK(err_code_without(
        cocoimg__crypt_config_add_key(cfg, "/nonexistent/key.pem:pass=s3cr:et", &e), &e,
        COCOIMG_ENOTFOUND, "/nonexistent/key.pem", "s3cr"));
    e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_key(cfg, "provider:aa:x", &e), &e, COCOIMG_ENOTSUP,
                   "provider"));
    e = NULL;
    /* an OpenPGP secret keyring is imported into a private GnuPG home (skopeo parity) */
    CHECK_OK(cocoimg__crypt_config_add_key(cfg, key("pgp_secring.gpg"), NULL));
    CHECK(pgp->keyring_home != NULL);
    struct stat st;
    CHECK(stat(cocoimg__gpg_home_dir(pgp->keyring_home), &st) == 0 && S_ISDIR(st.st_mode));
    _cleanup_free_ char *home = strdup(cocoimg__gpg_home_dir(pgp->keyring_home));
    /* a public keyring holds no secret key */
    CHECK(err_code(cocoimg__crypt_config_add_key(cfg, key("pgp_pubring.gpg"), &e), &e,
                   COCOIMG_EINVAL, "no OpenPGP secret key"));
    e = NULL;
    CHECK(err_code(cocoimg__crypt_config_add_dec_cert(cfg, key("rsa_priv.pem"), &e), &e,
                   COCOIMG_EFORMAT, NULL));
    CHECK(cfg->n_privkeys == 8 && cfg->n_dec_certs == 2);
    cocoimg__crypt_config_free(cfg);
    CHECK(home && stat(home, &st) < 0 && errno == ENOENT); /* the private home is gone */
    unlink(colon);
    unlink(pwfile);
    rmdir(dir);
    cocoimg__crypt_config_free(NULL);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_public_keys),
    TAP_TEST(test_private_keys),
    TAP_TEST(test_private_key_errors),
    TAP_TEST(test_certs),
    TAP_TEST(test_jwk),
    TAP_TEST(test_config),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
