/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TEE key and the KBS resource response (spec 1.4, 1.7): an ephemeral
 * P-256 key whose public JWK goes into runtime-data, and the decryption of
 * the flattened JWE the KBS encrypts to it.  One fixed, narrow profile:
 * ECDH-ES+A256KW (ECDH on P-256, Concat KDF with SHA-256, AES-256 key wrap)
 * and A256GCM, with the received "protected" string as AAD (never a
 * re-serialisation of the parsed header).  Written on OpenSSL directly so
 * the guest path does not depend on the ocicrypt JWE key wrapper.
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <string.h>

#include "kbs_int.h"
#include "util/base64.h"

#define P256_COORD 32
#define CEK_LEN 32
#define WRAPPED_CEK_LEN (CEK_LEN + 8)
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16
#define HEADER_MAX (64u * 1024)

static const char alg_name[] = "ECDH-ES+A256KW";

static void
pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}
#define _cleanup_pkey_ _cleanup_(pkey_freep)

static int
ossl_error(cocoimg_error **err, int code, const char *what)
{
    return cocoimg__error_set(err, code, 0, "%s failed", what);
}

int
cocoimg__tee_key_new(EVP_PKEY **out, cocoimg_error **err)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        return ossl_error(err, COCOIMG_ERROR, "generating the P-256 TEE key");
    *out = k;
    return 0;
}

static int
coord_b64(char **out, const EVP_PKEY *key, const char *param, cocoimg_error **err)
{
    BIGNUM *bn = NULL;
    uint8_t raw[P256_COORD];
    if (!EVP_PKEY_get_bn_param(key, param, &bn) || BN_bn2binpad(bn, raw, sizeof(raw)) < 0) {
        BN_free(bn);
        return ossl_error(err, COCOIMG_ERROR, "exporting the TEE public key");
    }
    BN_free(bn);
    return cocoimg__b64_encode(out, raw, sizeof(raw), COCOIMG_B64_URL, err);
}

int
cocoimg__tee_key_jwk(json_t **out, EVP_PKEY *key, cocoimg_error **err)
{
    /* BN_bn2binpad gives fixed-width coordinates: a minimal encoding would
     * drop leading zero bytes (~1 key in 128) and break every JWE later */
    _cleanup_free_ char *x = NULL;
    _cleanup_free_ char *y = NULL;
    int r;
    if ((r = coord_b64(&x, key, OSSL_PKEY_PARAM_EC_PUB_X, err)) < 0 ||
        (r = coord_b64(&y, key, OSSL_PKEY_PARAM_EC_PUB_Y, err)) < 0)
        return r;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "alg", alg_name,
                          "x", x, "y", y);
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

static int
decode_fixed(uint8_t *out, size_t want, const char *b64, const char *what, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *raw = NULL;
    size_t len = 0;
    int r = cocoimg__b64_decode(&raw, &len, b64, strlen(b64), COCOIMG_B64_URL, what, err);
    if (r < 0)
        return r;
    if (len != want) {
        cocoimg__wipe(raw, len);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: %zu bytes, expected %zu", what, len,
                                  want);
    }
    memcpy(out, raw, want);
    cocoimg__wipe(raw, len);
    return 0;
}

/* An EC P-256 key from coordinates (and a private scalar when d is set). */
static int
p256_from_raw(EVP_PKEY **out, const uint8_t *x, const uint8_t *y, const uint8_t *d,
              cocoimg_error **err)
{
    uint8_t pub[1 + 2 * P256_COORD];
    pub[0] = 0x04;
    memcpy(pub + 1, x, P256_COORD);
    memcpy(pub + 1 + P256_COORD, y, P256_COORD);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = d ? BN_secure_new() : NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *k = NULL;
    int ok = bld && (!d || bn) &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
    if (ok && d)
        ok = BN_bin2bn(d, P256_COORD, bn) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn);
    ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) &&
         (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
         EVP_PKEY_fromdata_init(pctx) > 0 &&
         EVP_PKEY_fromdata(pctx, &k, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) > 0;
    EVP_PKEY_CTX_free(pctx);
    pctx = NULL;
    /* importing does not always check the point: a point off the curve
     * would leak bits of our private key through the shared secret */
    if (ok) {
        pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
        ok = pctx && EVP_PKEY_public_check(pctx) > 0;
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bn);
    if (!ok) {
        EVP_PKEY_free(k);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "not a valid P-256 public key");
    }
    *out = k;
    return 0;
}

int
cocoimg__tee_key_from_jwk(EVP_PKEY **out, const json_t *jwk, cocoimg_error **err)
{
    const char *kty = cocoimg__json_str(jwk, "kty"), *crv = cocoimg__json_str(jwk, "crv");
    const char *xs = cocoimg__json_str(jwk, "x"), *ys = cocoimg__json_str(jwk, "y");
    const char *ds = cocoimg__json_str(jwk, "d");
    if (!kty || strcmp(kty, "EC") != 0 || !crv || strcmp(crv, "P-256") != 0 || !xs || !ys || !ds)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "JWK: an EC P-256 private key expected");
    uint8_t x[P256_COORD], y[P256_COORD], d[P256_COORD];
    int r;
    if ((r = decode_fixed(x, sizeof(x), xs, "JWK x", err)) < 0 ||
        (r = decode_fixed(y, sizeof(y), ys, "JWK y", err)) < 0 ||
        (r = decode_fixed(d, sizeof(d), ds, "JWK d", err)) < 0) {
        cocoimg__wipe(d, sizeof(d));
        return r;
    }
    r = p256_from_raw(out, x, y, d, err);
    cocoimg__wipe(d, sizeof(d));
    return r;
}

int
cocoimg__kbs_ecdh(cocoimg__secret **z_out, EVP_PKEY *key, const uint8_t *x, const uint8_t *y,
                  size_t coord_len, cocoimg_error **err)
{
    if (coord_len != P256_COORD)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "only P-256 ephemeral keys are supported");
    _cleanup_pkey_ EVP_PKEY *peer = NULL;
    int r = p256_from_raw(&peer, x, y, NULL, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "JWE epk");
    _cleanup_secret_ cocoimg__secret *z = NULL;
    if ((r = cocoimg__secret_new(&z, P256_COORD, err)) < 0)
        return r;
    EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    size_t zlen = z->len;
    int ok = dctx && EVP_PKEY_derive_init(dctx) > 0 && EVP_PKEY_derive_set_peer(dctx, peer) > 0 &&
             EVP_PKEY_derive(dctx, z->ptr, &zlen) > 0 && zlen == P256_COORD;
    EVP_PKEY_CTX_free(dctx);
    if (!ok)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0, "JWE: ECDH with the epk failed");
    *z_out = TAKE_PTR(z);
    return 0;
}

static void
be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int
cocoimg__kbs_concat_kdf(uint8_t kek[32], const uint8_t *z, size_t z_len, cocoimg_error **err)
{
    /* one round: SHA-256(counter=1 || Z || AlgorithmID || PartyUInfo ||
     * PartyVInfo || SuppPubInfo), each info length-prefixed, apu/apv empty,
     * keydatalen 256 bits (RFC 7518 4.6.2, NIST SP 800-56A 5.8.1) */
    uint8_t counter[4], alglen[4], empty[4], keybits[4];
    be32(counter, 1);
    be32(alglen, (uint32_t)(sizeof(alg_name) - 1));
    be32(empty, 0);
    be32(keybits, 256);
    unsigned int n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) > 0 &&
             EVP_DigestUpdate(md, counter, 4) > 0 && EVP_DigestUpdate(md, z, z_len) > 0 &&
             EVP_DigestUpdate(md, alglen, 4) > 0 &&
             EVP_DigestUpdate(md, alg_name, sizeof(alg_name) - 1) > 0 &&
             EVP_DigestUpdate(md, empty, 4) > 0 && EVP_DigestUpdate(md, empty, 4) > 0 &&
             EVP_DigestUpdate(md, keybits, 4) > 0 && EVP_DigestFinal_ex(md, kek, &n) > 0 && n == 32;
    EVP_MD_CTX_free(md);
    if (!ok)
        return ossl_error(err, COCOIMG_ERROR, "Concat KDF");
    return 0;
}

/* RFC 3394 unwrap of the 40-byte encrypted_key into the 32-byte CEK. */
static int
aes_kw_unwrap(uint8_t cek[CEK_LEN], const uint8_t kek[32], const uint8_t *wrapped,
              cocoimg_error **err)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    uint8_t buf[WRAPPED_CEK_LEN + 16];
    int ok = c != NULL;
    if (ok) {
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        ok = EVP_DecryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL) > 0 &&
             EVP_DecryptUpdate(c, buf, &n, wrapped, WRAPPED_CEK_LEN) > 0 &&
             EVP_DecryptFinal_ex(c, buf + n, &f) > 0 && n + f == CEK_LEN;
    }
    EVP_CIPHER_CTX_free(c);
    if (ok)
        memcpy(cek, buf, CEK_LEN);
    cocoimg__wipe(buf, sizeof(buf));
    if (!ok)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                  "JWE: the content key does not unwrap (not for our TEE key?)");
    return 0;
}

static int
gcm_open(cocoimg__secret **out, const uint8_t cek[CEK_LEN], const uint8_t iv[GCM_IV_LEN],
         const uint8_t *ct, size_t ct_len, const uint8_t tag[GCM_TAG_LEN], const char *aad,
         size_t aad_len, cocoimg_error **err)
{
    if (ct_len > INT32_MAX || aad_len > INT32_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JWE too large");
    _cleanup_secret_ cocoimg__secret *pt = NULL;
    /* one spare byte: callers get a NUL-terminated resource */
    int r = cocoimg__secret_new(&pt, ct_len + 1, err);
    if (r < 0)
        return r;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) > 0 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GCM_IV_LEN, NULL) > 0 &&
             EVP_DecryptInit_ex(c, NULL, NULL, cek, iv) > 0 &&
             EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)aad_len) > 0 &&
             EVP_DecryptUpdate(c, pt->ptr, &n, ct, (int)ct_len) > 0 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, (void *)tag) > 0;
    /* the tag is compared (in constant time) by OpenSSL in Final */
    ok = ok && EVP_DecryptFinal_ex(c, pt->ptr + n, &f) > 0 && (size_t)(n + f) == ct_len;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                  "JWE: AES-GCM authentication failed (tampered or corrupt)");
    pt->len = ct_len;
    *out = TAKE_PTR(pt);
    return 0;
}

static int
member(const char **out, const json_t *jwe, const char *key, cocoimg_error **err)
{
    json_t *v = json_object_get(jwe, key);
    if (!json_is_string(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "JWE: member '%s' missing or not a string", key);
    *out = json_string_value(v);
    return 0;
}

static int
check_header(uint8_t epk_x[P256_COORD], uint8_t epk_y[P256_COORD], const char *protected_b64,
             cocoimg_error **err)
{
    _cleanup_free_ uint8_t *raw = NULL;
    size_t len = 0;
    int r = cocoimg__b64_decode(&raw, &len, protected_b64, strlen(protected_b64), COCOIMG_B64_URL,
                                "JWE protected header", err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *h = NULL;
    if ((r = cocoimg__json_loadb(&h, raw, len, HEADER_MAX, true, "JWE protected header", err)) < 0)
        return r;
    const char *alg = cocoimg__json_str(h, "alg"), *enc = cocoimg__json_str(h, "enc");
    if (!alg || !enc)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE header: no alg or enc");
    if (strcmp(alg, alg_name) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE alg is not ECDH-ES+A256KW (the TEE key is EC P-256)");
    if (strcmp(enc, "A256GCM") != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "JWE enc is not A256GCM");
    if (json_object_get(h, "zip") || json_object_get(h, "crit"))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "JWE header: zip or crit not supported");
    json_t *epk = json_object_get(h, "epk");
    const char *kty = cocoimg__json_str(epk, "kty"), *crv = cocoimg__json_str(epk, "crv");
    const char *x = cocoimg__json_str(epk, "x"), *y = cocoimg__json_str(epk, "y");
    if (!kty || !crv || !x || !y)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE header: epk incomplete");
    if (strcmp(kty, "EC") != 0 || strcmp(crv, "P-256") != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE epk is not on P-256, the curve of the TEE key");
    if ((r = decode_fixed(epk_x, P256_COORD, x, "JWE epk x", err)) < 0 ||
        (r = decode_fixed(epk_y, P256_COORD, y, "JWE epk y", err)) < 0)
        return r;
    return 0;
}

int
cocoimg__kbs_jwe_decrypt(cocoimg__secret **out, EVP_PKEY *key, const void *body, size_t len,
                         cocoimg_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, body, len, COCOIMG__KBS_BODY_MAX, true, "JWE", err);
    if (r < 0)
        return r;
    if (json_object_get(j, "recipients") || json_object_get(j, "header") ||
        json_object_get(j, "unprotected"))
        return cocoimg__error_set(
            err, COCOIMG_ENOTSUP, 0,
            "JWE: only the flattened form with a protected header is supported");
    const char *prot = NULL, *ek_s = NULL, *iv_s = NULL, *ct_s = NULL, *tag_s = NULL;
    if ((r = member(&prot, j, "protected", err)) < 0 ||
        (r = member(&ek_s, j, "encrypted_key", err)) < 0 || (r = member(&iv_s, j, "iv", err)) < 0 ||
        (r = member(&ct_s, j, "ciphertext", err)) < 0 || (r = member(&tag_s, j, "tag", err)) < 0)
        return r;
    uint8_t ex[P256_COORD], ey[P256_COORD], wrapped[WRAPPED_CEK_LEN], iv[GCM_IV_LEN],
        tag[GCM_TAG_LEN];
    if ((r = check_header(ex, ey, prot, err)) < 0 ||
        (r = decode_fixed(wrapped, sizeof(wrapped), ek_s, "JWE encrypted_key", err)) < 0 ||
        (r = decode_fixed(iv, sizeof(iv), iv_s, "JWE iv", err)) < 0 ||
        (r = decode_fixed(tag, sizeof(tag), tag_s, "JWE tag", err)) < 0)
        return r;
    _cleanup_free_ uint8_t *ct = NULL;
    size_t ct_len = 0;
    if ((r = cocoimg__b64_decode(&ct, &ct_len, ct_s, strlen(ct_s), COCOIMG_B64_URL,
                                 "JWE ciphertext", err)) < 0)
        return r;

    _cleanup_secret_ cocoimg__secret *z = NULL;
    if ((r = cocoimg__kbs_ecdh(&z, key, ex, ey, P256_COORD, err)) < 0)
        return r;
    uint8_t kek[32], cek[CEK_LEN];
    r = cocoimg__kbs_concat_kdf(kek, z->ptr, z->len, err);
    if (r == 0)
        r = aes_kw_unwrap(cek, kek, wrapped, err);
    cocoimg__wipe(kek, sizeof(kek));
    if (r == 0)
        r = gcm_open(out, cek, iv, ct, ct_len, tag, prot, strlen(prot), err);
    cocoimg__wipe(cek, sizeof(cek));
    return r;
}
