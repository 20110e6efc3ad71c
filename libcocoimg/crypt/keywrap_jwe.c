/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWE key wrapper (ocicrypt spec 6.1): wraps the privopts JSON exactly as
 * ocicrypt/go-jose FullSerialize does (flattened JSON for one recipient,
 * general JSON with the redundant top-level encrypted_key for several;
 * A256GCM; RSA-OAEP with SHA-1 or ECDH-ES+A256KW), and unwraps compact,
 * flattened and general serialisations with the go-jose v4 allow-list of
 * key management algorithms (GCM content encryption only).
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <string.h>

#include "crypt/keys.h"
#include "crypt/keywrap.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/secret.h"

/* A wrapped privopts is ~300 bytes per recipient; this is generous. */
#define JWE_MAX_SIZE (1024u * 1024)
#define JWE_MAX_RECIPIENTS 256
#define JWE_MAX_HEADER (16u * 1024)
#define JWE_MAX_EK 1024 /* RSA-8192 */
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

enum kind { KIND_RSA, KIND_ECDH };

static const struct alg {
    const char *name;
    enum kind kind;
    const char *md; /* OAEP hash */
    size_t kek_len; /* ECDH-ES+AxxxKW key-encryption key bytes */
} algs[] = {
    {"RSA-OAEP", KIND_RSA, "SHA1", 0},       {"RSA-OAEP-256", KIND_RSA, "SHA256", 0},
    {"ECDH-ES+A128KW", KIND_ECDH, NULL, 16}, {"ECDH-ES+A192KW", KIND_ECDH, NULL, 24},
    {"ECDH-ES+A256KW", KIND_ECDH, NULL, 32},
};

static const struct enc {
    const char *name;
    size_t key_len;
} encs[] = {
    {"A128GCM", 16},
    {"A192GCM", 24},
    {"A256GCM", 32},
};

static const struct alg *
alg_by_name(const char *name)
{
    for (size_t i = 0; name && i < COCOIMG_ARRAY_SIZE(algs); i++)
        if (strcmp(algs[i].name, name) == 0)
            return &algs[i];
    return NULL;
}

static const struct enc *
enc_by_name(const char *name)
{
    for (size_t i = 0; name && i < COCOIMG_ARRAY_SIZE(encs); i++)
        if (strcmp(encs[i].name, name) == 0)
            return &encs[i];
    return NULL;
}

/* --- primitives ------------------------------------------------------------------ */

static const EVP_CIPHER *
aes_cipher(size_t key_len, bool wrap)
{
    switch (key_len) {
    case 16:
        return wrap ? EVP_aes_128_wrap() : EVP_aes_128_gcm();
    case 24:
        return wrap ? EVP_aes_192_wrap() : EVP_aes_192_gcm();
    case 32:
        return wrap ? EVP_aes_256_wrap() : EVP_aes_256_gcm();
    }
    return NULL;
}

/* RFC 3394 key wrap (enc=1) or unwrap (enc=0); *out_len is the result length. */
static int
aes_kw(uint8_t *out, size_t *out_len, const uint8_t *kek, size_t kek_len, const uint8_t *in,
       size_t in_len, int enc)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    int ok = ctx && in_len <= INT_MAX;
    if (ok) {
        EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        ok = EVP_CipherInit_ex(ctx, aes_cipher(kek_len, true), NULL, kek, NULL, enc) > 0 &&
             EVP_CipherUpdate(ctx, out, &l1, in, (int)in_len) > 0 &&
             EVP_CipherFinal_ex(ctx, out + l1, &l2) > 0;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    *out_len = (size_t)l1 + (size_t)l2;
    return 0;
}

/* AES-GCM with a 96-bit IV; on decryption a tag mismatch returns -1. */
static int
aes_gcm(int enc, const uint8_t *key, size_t key_len, const uint8_t *iv, const uint8_t *aad,
        size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l = 0, lf = 0;
    int ok = ctx && in_len <= INT_MAX && aad_len <= INT_MAX &&
             EVP_CipherInit_ex(ctx, aes_cipher(key_len, false), NULL, NULL, NULL, enc) > 0 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_IV_LEN, NULL) > 0 &&
             EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) > 0 &&
             (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &l, aad, (int)aad_len) > 0) &&
             (in_len == 0 || EVP_CipherUpdate(ctx, out, &l, in, (int)in_len) > 0);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) > 0;
    if (ok)
        ok = EVP_CipherFinal_ex(ctx, out + (in_len ? l : 0), &lf) > 0;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) > 0;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : -1;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Concat KDF (NIST SP 800-56A single-step, SHA-256) as RFC 7518 4.6.2 uses
 * it: OtherInfo = len||alg, len||apu, len||apv, keybits.
 */
static int
concat_kdf(uint8_t *out, size_t out_len, const uint8_t *z, size_t z_len, const char *alg,
           const uint8_t *apu, size_t apu_len, const uint8_t *apv, size_t apv_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -1;
    uint8_t be[4], digest[32];
    size_t alg_len = strlen(alg), done = 0;
    int ok = 1;
    for (uint32_t counter = 1; ok && done < out_len; counter++) {
        put32(be, counter);
        ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) > 0 && EVP_DigestUpdate(md, be, 4) > 0 &&
             EVP_DigestUpdate(md, z, z_len) > 0;
        put32(be, (uint32_t)alg_len);
        ok = ok && EVP_DigestUpdate(md, be, 4) > 0 && EVP_DigestUpdate(md, alg, alg_len) > 0;
        put32(be, (uint32_t)apu_len);
        ok = ok && EVP_DigestUpdate(md, be, 4) > 0 &&
             (apu_len == 0 || EVP_DigestUpdate(md, apu, apu_len) > 0);
        put32(be, (uint32_t)apv_len);
        ok = ok && EVP_DigestUpdate(md, be, 4) > 0 &&
             (apv_len == 0 || EVP_DigestUpdate(md, apv, apv_len) > 0);
        put32(be, (uint32_t)(out_len * 8));
        ok = ok && EVP_DigestUpdate(md, be, 4) > 0 && EVP_DigestFinal_ex(md, digest, NULL) > 0;
        if (ok) {
            size_t n = out_len - done < sizeof(digest) ? out_len - done : sizeof(digest);
            memcpy(out + done, digest, n);
            done += n;
        }
    }
    OPENSSL_cleanse(digest, sizeof(digest));
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* ECDH shared secret Z (x coordinate, padded to the field size by OpenSSL). */
static int
ecdh(uint8_t *z, size_t *z_len, EVP_PKEY *priv, EVP_PKEY *peer)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t len = *z_len;
    int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0 &&
             EVP_PKEY_derive(ctx, z, &len) > 0;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        return -1;
    *z_len = len;
    return 0;
}

static int
rsa_oaep(int enc, EVP_PKEY *key, const char *md, const uint8_t *in, size_t in_len, uint8_t *out,
         size_t *out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx && (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, md, NULL) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) > 0 &&
             (enc ? EVP_PKEY_encrypt(ctx, out, out_len, in, in_len)
                  : EVP_PKEY_decrypt(ctx, out, out_len, in, in_len)) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        ERR_clear_error();
    return ok ? 0 : -1;
}

/* --- wrap ------------------------------------------------------------------------ */

static int
jwe_state_new(void **out, cocoimg_error **err)
{
    *out = calloc(1, sizeof(struct cocoimg__jwe_state));
    return *out ? 0 : cocoimg__error_oom(err);
}

static void
jwe_state_free(void *state)
{
    struct cocoimg__jwe_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_pubkeys; i++)
        EVP_PKEY_free(st->pubkeys[i]);
    free(st->pubkeys);
    free(st);
}

/* "jwe:PUBKEY-FILE" */
static int
jwe_add_recipient(void *state, const char *value, cocoimg_error **err)
{
    struct cocoimg__jwe_state *st = state;
    EVP_PKEY *pk = NULL;
    int r = cocoimg__key_load_public_file(&pk, value, err);
    if (r < 0)
        return r;
    EVP_PKEY **np = realloc(st->pubkeys, (st->n_pubkeys + 1) * sizeof(*np));
    if (!np) {
        EVP_PKEY_free(pk);
        return cocoimg__error_oom(err);
    }
    st->pubkeys = np;
    st->pubkeys[st->n_pubkeys++] = pk;
    return 0;
}

static bool
jwe_has_recipients(const void *state)
{
    const struct cocoimg__jwe_state *st = state;
    return st && st->n_pubkeys > 0;
}

static bool
jwe_has_keys(const cocoimg__crypt_config *cfg, const void *state)
{
    (void)state;
    return cfg && cfg->n_privkeys > 0;
}

static int
b64u(char **out, const void *p, size_t len, cocoimg_error **err)
{
    return cocoimg__b64_encode(out, p, len, COCOIMG_B64_URL, err);
}

/* Choose the key management algorithm for a recipient key (spec 6.1.1). */
static int
pick_alg(const struct alg **out, EVP_PKEY *pub, size_t idx, cocoimg_error **err)
{
    const char *want = cocoimg__pkey_jwk_alg(pub);
    int type = EVP_PKEY_get_base_id(pub);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE recipient %zu: unsupported key type (RSA or EC only)", idx);
    if (type == EVP_PKEY_EC && !cocoimg__ec_pkey_jwk_curve(pub))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE recipient %zu: unsupported curve (P-256, P-384, P-521)",
                                  idx);
    const struct alg *a;
    if (want) {
        a = alg_by_name(want);
        if (!a)
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "JWE recipient %zu: '%s' is an unsupported JWE key algorithm",
                                      idx, want);
        if ((a->kind == KIND_RSA) != (type == EVP_PKEY_RSA))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "JWE recipient %zu: algorithm '%s' does not fit the key", idx,
                                      want);
    } else {
        a = alg_by_name(type == EVP_PKEY_RSA ? "RSA-OAEP" : "ECDH-ES+A256KW");
    }
    *out = a;
    return 0;
}

/*
 * Encrypt the CEK to one recipient; *hdr gets the recipient's header members
 * (alg, epk, kid in go-jose's sorted order), *ek the b64u encrypted key.
 */
static int
wrap_one(json_t *hdr, char **ek, EVP_PKEY *pub, const cocoimg__secret *cek, size_t idx,
         cocoimg_error **err)
{
    const struct alg *a = NULL;
    int r = pick_alg(&a, pub, idx, err);
    if (r < 0)
        return r;
    uint8_t buf[JWE_MAX_EK];
    size_t len = sizeof(buf);
    _cleanup_json_ json_t *epk = NULL;
    if (a->kind == KIND_RSA) {
        if (EVP_PKEY_get_size(pub) > (int)sizeof(buf) ||
            rsa_oaep(1, pub, a->md, cek->ptr, cek->len, buf, &len) < 0)
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "JWE recipient %zu: RSA-OAEP encryption failed (key too "
                                      "small or too large?)",
                                      idx);
    } else {
        const char *crv = cocoimg__ec_pkey_jwk_curve(pub);
        const char *group = strcmp(crv, "P-256") == 0   ? "prime256v1"
                            : strcmp(crv, "P-384") == 0 ? "secp384r1"
                                                        : "secp521r1";
        EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
        uint8_t z[66], kek[32];
        size_t z_len = sizeof(z);
        if (!eph || ecdh(z, &z_len, eph, pub) < 0 ||
            concat_kdf(kek, a->kek_len, z, z_len, a->name, NULL, 0, NULL, 0) < 0 ||
            aes_kw(buf, &len, kek, a->kek_len, cek->ptr, cek->len, 1) < 0)
            r = cocoimg__error_set(err, COCOIMG_ERROR, 0, "JWE recipient %zu: ECDH-ES failed: %s",
                                   idx, cocoimg__ossl_reason());
        if (r == 0)
            r = cocoimg__ec_pkey_to_jwk(&epk, eph, err);
        OPENSSL_cleanse(z, sizeof(z));
        OPENSSL_cleanse(kek, sizeof(kek));
        EVP_PKEY_free(eph);
        if (r < 0)
            return r;
    }
    const char *kid = cocoimg__pkey_jwk_kid(pub);
    if (json_object_set_new(hdr, "alg", json_string(a->name)) < 0 ||
        (epk && json_object_set(hdr, "epk", epk) < 0) ||
        (kid && json_object_set_new(hdr, "kid", json_string(kid)) < 0))
        return cocoimg__error_oom(err);
    return b64u(ek, buf, len, err);
}

static int
set_str(json_t *obj, const char *k, const char *v, cocoimg_error **err)
{
    json_t *s = json_string(v);
    if (!s || json_object_set_new(obj, k, s) < 0)
        return cocoimg__error_oom(err);
    return 0;
}

static int
jwe_wrap_blob(const struct cocoimg__jwe_state *st, const cocoimg__secret *opts, uint8_t **out,
              size_t *out_len, cocoimg_error **err)
{
    size_t n = st ? st->n_pubkeys : 0;
    if (n == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no JWE recipients");
    if (n > JWE_MAX_RECIPIENTS)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "more than %d JWE recipients",
                                  JWE_MAX_RECIPIENTS);
    if (opts->len > JWE_MAX_SIZE / 2)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JWE plaintext too large");
    _cleanup_secret_ cocoimg__secret *cek = NULL;
    int r = cocoimg__secret_new(&cek, 32, err);
    if (r < 0)
        return r;
    uint8_t iv[GCM_IV_LEN], tag[GCM_TAG_LEN];
    if (RAND_bytes(cek->ptr, (int)cek->len) != 1 || RAND_bytes(iv, sizeof(iv)) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "no randomness: %s",
                                  cocoimg__ossl_reason());

    _cleanup_json_ json_t *prot = json_object();
    _cleanup_json_ json_t *recips = json_array();
    _cleanup_json_ json_t *doc = json_object();
    _cleanup_free_ char *first_ek = NULL;
    if (!prot || !recips || !doc)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < n; i++) {
        _cleanup_json_ json_t *hdr = json_object();
        _cleanup_free_ char *ek = NULL;
        if (!hdr)
            return cocoimg__error_oom(err);
        if ((r = wrap_one(hdr, &ek, st->pubkeys[i], cek, i, err)) < 0)
            return r;
        if (n == 1) {
            /* flattened: every header goes into the protected one, sorted */
            if ((r = set_str(prot, "alg", cocoimg__json_str(hdr, "alg"), err)) < 0 ||
                (r = set_str(prot, "enc", "A256GCM", err)) < 0)
                return r;
            if ((json_object_get(hdr, "epk") &&
                 json_object_set(prot, "epk", json_object_get(hdr, "epk")) < 0) ||
                (json_object_get(hdr, "kid") &&
                 json_object_set(prot, "kid", json_object_get(hdr, "kid")) < 0))
                return cocoimg__error_oom(err);
        } else {
            json_t *rec = json_pack("{s:O, s:s}", "header", hdr, "encrypted_key", ek);
            if (!rec || json_array_append_new(recips, rec) < 0)
                return cocoimg__error_oom(err);
        }
        if (i == 0)
            first_ek = TAKE_PTR(ek);
    }
    if (n > 1 && (r = set_str(prot, "enc", "A256GCM", err)) < 0)
        return r;

    _cleanup_free_ char *prot_json = NULL, *prot_b64 = NULL, *iv_b64 = NULL, *ct_b64 = NULL,
                        *tag_b64 = NULL;
    size_t prot_len;
    if ((r = cocoimg__json_dump(&prot_json, &prot_len, prot, err)) < 0 ||
        (r = b64u(&prot_b64, prot_json, prot_len, err)) < 0)
        return r;
    uint8_t *ct = malloc(opts->len ? opts->len : 1);
    if (!ct)
        return cocoimg__error_oom(err);
    if (aes_gcm(1, cek->ptr, cek->len, iv, (const uint8_t *)prot_b64, strlen(prot_b64), opts->ptr,
                opts->len, ct, tag) < 0) {
        free(ct);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "AES-GCM encryption failed");
    }
    r = b64u(&ct_b64, ct, opts->len, err);
    free(ct);
    if (r < 0 || (r = b64u(&iv_b64, iv, sizeof(iv), err)) < 0 ||
        (r = b64u(&tag_b64, tag, sizeof(tag), err)) < 0)
        return r;

    /* member order of go-jose's rawJSONWebEncryption */
    if ((r = set_str(doc, "protected", prot_b64, err)) < 0)
        return r;
    if (n > 1 && json_object_set(doc, "recipients", recips) < 0)
        return cocoimg__error_oom(err);
    if ((r = set_str(doc, "encrypted_key", first_ek, err)) < 0 ||
        (r = set_str(doc, "iv", iv_b64, err)) < 0 ||
        (r = set_str(doc, "ciphertext", ct_b64, err)) < 0 ||
        (r = set_str(doc, "tag", tag_b64, err)) < 0)
        return r;
    char *s;
    size_t slen;
    if ((r = cocoimg__json_dump(&s, &slen, doc, err)) < 0)
        return r;
    *out = (uint8_t *)s;
    *out_len = slen;
    return 0;
}

/* --- parsing ---------------------------------------------------------------------- */

struct recipient {
    json_t *header; /* merged protected + shared unprotected + per-recipient */
    uint8_t *ek;
    size_t ek_len;
};

struct jwe {
    json_t *doc;          /* JSON serialisations */
    const char *prot_b64; /* as received: the GCM AAD */
    size_t prot_len;
    const char *aad_b64; /* JSON "aad" member, if any */
    size_t aad_len;
    uint8_t *iv, *ct, *tag;
    size_t iv_len, ct_len, tag_len;
    struct recipient *r;
    size_t n;
};

static void
jwe_free(struct jwe *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        json_decref(j->r[i].header);
        free(j->r[i].ek);
    }
    free(j->r);
    free(j->iv);
    free(j->ct);
    free(j->tag);
    json_decref(j->doc);
    free(j);
}
COCOIMG_DEFINE_CLEANUP(struct jwe, jwe_free)

static int
decode_part(uint8_t **out, size_t *len, const char *s, size_t s_len, const char *what,
            cocoimg_error **err)
{
    int r = cocoimg__b64_decode(out, len, s, s_len, COCOIMG_B64_URL, what, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "JWE");
    return 0;
}

/* A JSON string member (optional); EFORMAT when present with another type. */
static int
json_member(const char **out, size_t *len, const json_t *obj, const char *k, bool required,
            cocoimg_error **err)
{
    json_t *v = json_object_get(obj, k);
    *out = NULL;
    *len = 0;
    if (!v) {
        if (required)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE: missing '%s'", k);
        return 0;
    }
    if (!json_is_string(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE: '%s' must be a string", k);
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

/* Merge @p add into @p into; header parameter names must be disjoint (RFC 7516 7.2.1). */
static int
merge_header(json_t *into, const json_t *add, const char *what, cocoimg_error **err)
{
    if (!add)
        return 0;
    if (!json_is_object(add))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE: '%s' must be an object", what);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)add, k, v)
    {
        if (json_object_get(into, k))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "JWE: header parameter '%s' appears twice", k);
        if (json_object_set(into, k, v) < 0)
            return cocoimg__error_oom(err);
    }
    return 0;
}

static int
add_recipient(struct jwe *j, const json_t *prot, const json_t *shared, const json_t *own,
              const char *ek_b64, size_t ek_b64_len, cocoimg_error **err)
{
    struct recipient *rec = &j->r[j->n];
    memset(rec, 0, sizeof(*rec));
    rec->header = prot ? json_deep_copy(prot) : json_object();
    if (!rec->header)
        return cocoimg__error_oom(err);
    j->n++;
    int r;
    if ((r = merge_header(rec->header, shared, "unprotected", err)) < 0 ||
        (r = merge_header(rec->header, own, "header", err)) < 0)
        return r;
    if (ek_b64_len > (JWE_MAX_EK * 4 + 2) / 3)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JWE: encrypted_key too long");
    return decode_part(&rec->ek, &rec->ek_len, ek_b64 ? ek_b64 : "", ek_b64_len, "encrypted_key",
                       err);
}

static int
parse_protected(json_t **out, const char *b64, size_t len, cocoimg_error **err)
{
    *out = NULL;
    if (!b64 || len == 0)
        return 0;
    if (len > JWE_MAX_HEADER)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JWE: protected header too long");
    _cleanup_free_ uint8_t *raw = NULL;
    size_t raw_len;
    int r = decode_part(&raw, &raw_len, b64, len, "protected", err);
    if (r < 0)
        return r;
    r = cocoimg__json_loadb(out, raw, raw_len, JWE_MAX_HEADER, true, "JWE protected header", err);
    return r;
}

static int
parse_compact(struct jwe *j, const char *s, size_t len, cocoimg_error **err)
{
    const char *part[5];
    size_t plen[5];
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (k == 5)
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "JWE: compact serialisation needs 5 parts");
            part[k] = s + start;
            plen[k++] = i - start;
            start = i + 1;
        }
    }
    if (k != 5)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "JWE: compact serialisation needs 5 parts");
    _cleanup_json_ json_t *prot = NULL;
    int r = parse_protected(&prot, part[0], plen[0], err);
    if (r < 0)
        return r;
    if (!prot)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE: empty protected header");
    j->prot_b64 = part[0];
    j->prot_len = plen[0];
    j->r = calloc(1, sizeof(*j->r));
    if (!j->r)
        return cocoimg__error_oom(err);
    if ((r = add_recipient(j, prot, NULL, NULL, part[1], plen[1], err)) < 0 ||
        (r = decode_part(&j->iv, &j->iv_len, part[2], plen[2], "iv", err)) < 0 ||
        (r = decode_part(&j->ct, &j->ct_len, part[3], plen[3], "ciphertext", err)) < 0 ||
        (r = decode_part(&j->tag, &j->tag_len, part[4], plen[4], "tag", err)) < 0)
        return r;
    return 0;
}

static int
parse_json(struct jwe *j, const uint8_t *blob, size_t len, cocoimg_error **err)
{
    int r = cocoimg__json_loadb(&j->doc, blob, len, JWE_MAX_SIZE, true, "JWE", err);
    if (r < 0)
        return r;
    const char *ek, *iv, *ct, *tag;
    size_t ek_len, iv_len, ct_len, tag_len;
    if ((r = json_member(&j->prot_b64, &j->prot_len, j->doc, "protected", false, err)) < 0 ||
        (r = json_member(&j->aad_b64, &j->aad_len, j->doc, "aad", false, err)) < 0 ||
        (r = json_member(&ek, &ek_len, j->doc, "encrypted_key", false, err)) < 0 ||
        (r = json_member(&iv, &iv_len, j->doc, "iv", true, err)) < 0 ||
        (r = json_member(&ct, &ct_len, j->doc, "ciphertext", true, err)) < 0 ||
        (r = json_member(&tag, &tag_len, j->doc, "tag", true, err)) < 0)
        return r;
    _cleanup_json_ json_t *prot = NULL;
    if ((r = parse_protected(&prot, j->prot_b64, j->prot_len, err)) < 0)
        return r;
    json_t *shared = json_object_get(j->doc, "unprotected");
    json_t *recips = json_object_get(j->doc, "recipients");
    if (recips) {
        /* general; a top-level encrypted_key (go-jose quirk) is ignored */
        if (!json_is_array(recips) || json_array_size(recips) == 0)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "JWE: 'recipients' must be a non-empty array");
        if (json_array_size(recips) > JWE_MAX_RECIPIENTS)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JWE: more than %d recipients",
                                      JWE_MAX_RECIPIENTS);
        if (json_object_get(j->doc, "header"))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "JWE: 'header' and 'recipients' both present");
        j->r = calloc(json_array_size(recips), sizeof(*j->r));
        if (!j->r)
            return cocoimg__error_oom(err);
        size_t i;
        json_t *rec;
        json_array_foreach(recips, i, rec)
        {
            if (!json_is_object(rec))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "JWE: recipient %zu is not an object", i);
            const char *rek;
            size_t rek_len;
            if ((r = json_member(&rek, &rek_len, rec, "encrypted_key", false, err)) < 0 ||
                (r = add_recipient(j, prot, shared, json_object_get(rec, "header"), rek, rek_len,
                                   err)) < 0)
                return cocoimg__error_wrap(err, r, "recipient %zu", i);
        }
    } else {
        j->r = calloc(1, sizeof(*j->r));
        if (!j->r)
            return cocoimg__error_oom(err);
        if ((r = add_recipient(j, prot, shared, json_object_get(j->doc, "header"), ek, ek_len,
                               err)) < 0)
            return r;
    }
    if ((r = decode_part(&j->iv, &j->iv_len, iv, iv_len, "iv", err)) < 0 ||
        (r = decode_part(&j->ct, &j->ct_len, ct, ct_len, "ciphertext", err)) < 0 ||
        (r = decode_part(&j->tag, &j->tag_len, tag, tag_len, "tag", err)) < 0)
        return r;
    if (j->aad_b64) {
        /* only checked for well-formedness: the AAD is the encoded string */
        _cleanup_free_ uint8_t *aad = NULL;
        size_t aad_len;
        if ((r = decode_part(&aad, &aad_len, j->aad_b64, j->aad_len, "aad", err)) < 0)
            return r;
    }
    return 0;
}

static int
jwe_parse(struct jwe **out, const uint8_t *blob, size_t len, cocoimg_error **err)
{
    if (len > JWE_MAX_SIZE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JWE: %zu bytes exceeds the limit of %u",
                                  len, JWE_MAX_SIZE);
    size_t i = 0;
    while (i < len && (blob[i] == ' ' || blob[i] == '\t' || blob[i] == '\n' || blob[i] == '\r'))
        i++;
    if (i == len)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE: empty");
    _cleanup_(jwe_freep) struct jwe *j = calloc(1, sizeof(*j));
    if (!j)
        return cocoimg__error_oom(err);
    int r = blob[i] == '{' ? parse_json(j, blob, len, err)
                           : parse_compact(j, (const char *)blob + i, len - i, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(j);
    return 0;
}

/*
 * Algorithms of one recipient: 0 when supported, COCOIMG_ENOTSUP (with a
 * message) otherwise, COCOIMG_EFORMAT when the header is malformed.
 */
static int
recipient_algs(const struct alg **a_out, const struct enc **e_out, const struct recipient *rec,
               cocoimg_error **err)
{
    json_t *ja = json_object_get(rec->header, "alg"), *je = json_object_get(rec->header, "enc");
    if (!json_is_string(ja) || !json_is_string(je))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "JWE: 'alg' and 'enc' must be string header parameters");
    const char *alg = json_string_value(ja), *enc = json_string_value(je);
    if (json_object_get(rec->header, "crit"))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE: critical header extensions are not supported");
    if (json_object_get(rec->header, "zip"))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "JWE: compression is not supported");
    *a_out = strlen(alg) == json_string_length(ja) ? alg_by_name(alg) : NULL;
    if (!*a_out)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE: unsupported key management algorithm '%s'", alg);
    *e_out = strlen(enc) == json_string_length(je) ? enc_by_name(enc) : NULL;
    if (!*e_out)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "JWE: unsupported content encryption '%s'", enc);
    return 0;
}

/* --- unwrap ----------------------------------------------------------------------- */

enum try_result { TRY_OK = 0, TRY_SKIP = 1, TRY_NOKEY = 2, TRY_AUTH = 3 };

/* Recover the CEK of @p rec with @p key; TRY_SKIP when the key type does not fit. */
static int
unwrap_cek(uint8_t *cek, size_t cek_len, EVP_PKEY *key, const struct alg *a,
           const struct recipient *rec, cocoimg_error **err)
{
    int type = EVP_PKEY_get_base_id(key);
    if (a->kind == KIND_RSA) {
        if (type != EVP_PKEY_RSA)
            return TRY_SKIP;
        if (rec->ek_len != (size_t)EVP_PKEY_get_size(key))
            return TRY_NOKEY;
        uint8_t buf[JWE_MAX_EK];
        size_t len = sizeof(buf);
        int r = rsa_oaep(0, key, a->md, rec->ek, rec->ek_len, buf, &len);
        bool ok = r == 0 && len == cek_len;
        if (ok)
            memcpy(cek, buf, cek_len);
        OPENSSL_cleanse(buf, sizeof(buf));
        return ok ? TRY_OK : TRY_NOKEY;
    }
    const char *crv = cocoimg__ec_pkey_jwk_curve(key);
    json_t *jepk = json_object_get(rec->header, "epk");
    if (!crv)
        return TRY_SKIP;
    if (!jepk)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "JWE: %s without 'epk'", a->name);
    const char *ecrv = cocoimg__json_str(jepk, "crv");
    if (!ecrv || strcmp(ecrv, crv) != 0)
        return TRY_SKIP;
    EVP_PKEY *epk = NULL;
    int r = cocoimg__jwk_to_pkey(&epk, jepk, false, "epk", err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "JWE");
    _cleanup_free_ uint8_t *apu = NULL, *apv = NULL;
    size_t apu_len = 0, apv_len = 0;
    const char *s;
    size_t sl;
    if ((r = json_member(&s, &sl, rec->header, "apu", false, err)) < 0 ||
        (s && (r = decode_part(&apu, &apu_len, s, sl, "apu", err)) < 0) ||
        (r = json_member(&s, &sl, rec->header, "apv", false, err)) < 0 ||
        (s && (r = decode_part(&apv, &apv_len, s, sl, "apv", err)) < 0)) {
        EVP_PKEY_free(epk);
        return r;
    }
    uint8_t z[66], kek[32], out[JWE_MAX_EK];
    size_t z_len = sizeof(z), out_len = 0;
    int res = TRY_NOKEY;
    if (rec->ek_len == cek_len + 8 && ecdh(z, &z_len, key, epk) == 0 &&
        concat_kdf(kek, a->kek_len, z, z_len, a->name, apu, apu_len, apv, apv_len) == 0 &&
        aes_kw(out, &out_len, kek, a->kek_len, rec->ek, rec->ek_len, 0) == 0 &&
        out_len == cek_len) {
        memcpy(cek, out, cek_len);
        res = TRY_OK;
    }
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(out, sizeof(out));
    EVP_PKEY_free(epk);
    return res;
}

/* Build the GCM AAD: ASCII(protected) [ '.' ASCII(aad) ] (RFC 7516 5.1 step 14). */
static int
make_aad(uint8_t **out, size_t *len, const struct jwe *j, cocoimg_error **err)
{
    size_t n = j->prot_len + (j->aad_b64 ? 1 + j->aad_len : 0);
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return cocoimg__error_oom(err);
    if (j->prot_len)
        memcpy(p, j->prot_b64, j->prot_len);
    if (j->aad_b64) {
        p[j->prot_len] = '.';
        memcpy(p + j->prot_len + 1, j->aad_b64, j->aad_len);
    }
    *out = p;
    *len = n;
    return 0;
}

static int
try_recipient(cocoimg__secret **out, const struct jwe *j, const uint8_t *aad, size_t aad_len,
              EVP_PKEY *key, const struct recipient *rec, const struct alg *a, const struct enc *e,
              cocoimg_error **err)
{
    uint8_t cek[32];
    int r = unwrap_cek(cek, e->key_len, key, a, rec, err);
    if (r != TRY_OK)
        return r;
    _cleanup_secret_ cocoimg__secret *pt = NULL;
    r = cocoimg__secret_new(&pt, j->ct_len, err);
    if (r == 0 &&
        aes_gcm(0, cek, e->key_len, j->iv, aad, aad_len, j->ct, j->ct_len, pt->ptr, j->tag) < 0)
        r = TRY_AUTH;
    OPENSSL_cleanse(cek, sizeof(cek));
    if (r == 0)
        *out = TAKE_PTR(pt);
    return r;
}

static int
jwe_wrap(const void *state, const cocoimg__secret *opts, json_t *annotations, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    int r = jwe_wrap_blob(state, opts, &blob, &len, err);
    if (r < 0)
        return r;
    return cocoimg__keywrap_append(annotations, cocoimg__keywrap_jwe.annotation, blob, len, err);
}

static int
jwe_unwrap(const cocoimg__crypt_config *cfg, const void *state, const char *annotation,
           const uint8_t *blob, size_t len, cocoimg__secret **out, cocoimg_error **err)
{
    (void)state;
    (void)annotation;
    _cleanup_(jwe_freep) struct jwe *j = NULL;
    int r = jwe_parse(&j, blob, len, err);
    if (r < 0)
        return r;
    if (j->iv_len != GCM_IV_LEN || j->tag_len != GCM_TAG_LEN)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "JWE: GCM needs a %d-byte iv and a %d-byte tag", GCM_IV_LEN,
                                  GCM_TAG_LEN);
    const struct alg **ra = calloc(j->n, sizeof(*ra));
    const struct enc **re = calloc(j->n, sizeof(*re));
    _cleanup_free_ uint8_t *aad = NULL;
    size_t aad_len = 0, supported = 0;
    _cleanup_error_ cocoimg_error *unsup = NULL;
    if (!ra || !re)
        r = cocoimg__error_oom(err);
    for (size_t i = 0; r == 0 && i < j->n; i++) {
        cocoimg_error *e1 = NULL;
        int q = recipient_algs(&ra[i], &re[i], &j->r[i], &e1);
        if (q == 0) {
            supported++;
            continue;
        }
        ra[i] = NULL;
        if (q == COCOIMG_ENOTSUP) {
            /* other recipients may still be usable: remember the first reason */
            if (!unsup)
                unsup = TAKE_PTR(e1);
            cocoimg_error_free(e1);
            continue;
        }
        r = cocoimg__error_wrap(&e1, q, "recipient %zu", i);
        if (err && !*err)
            *err = e1;
        else
            cocoimg_error_free(e1);
    }
    if (r == 0 && supported == 0) {
        r = cocoimg_error_code(unsup);
        if (err && !*err)
            *err = TAKE_PTR(unsup);
    }
    if (r == 0)
        r = make_aad(&aad, &aad_len, j, err);
    if (r == 0 && (!cfg || cfg->n_privkeys == 0))
        r = cocoimg__error_set(err, COCOIMG_ENOKEY, 0, "no private key for JWE");
    bool auth_failed = false;
    for (size_t k = 0; r == 0 && k < cfg->n_privkeys; k++) {
        for (size_t i = 0; i < j->n; i++) {
            if (!ra[i])
                continue;
            int q = try_recipient(out, j, aad, aad_len, cfg->privkeys[k].pkey, &j->r[i], ra[i],
                                  re[i], err);
            if (q == TRY_OK)
                goto done;
            if (q == TRY_AUTH)
                auth_failed = true;
            else if (q < 0) {
                r = q;
                break;
            }
        }
    }
    if (r == 0)
        r = auth_failed
                ? cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                     "JWE: content authentication failed (tampered data)")
                : cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                                     "JWE: none of the %zu private keys fits any of %zu recipients",
                                     cfg->n_privkeys, j->n);
done:
    free(ra);
    free(re);
    return r;
}

/* --- describe --------------------------------------------------------------------- */

static int
jwe_describe(const uint8_t *blob, size_t len, json_t **out, cocoimg_error **err)
{
    _cleanup_(jwe_freep) struct jwe *j = NULL;
    int r = jwe_parse(&j, blob, len, err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *arr = json_array();
    if (!arr)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < j->n; i++) {
        const char *alg = cocoimg__json_str(j->r[i].header, "alg");
        const char *kid = cocoimg__json_str(j->r[i].header, "kid");
        json_t *epk = json_object_get(j->r[i].header, "epk");
        const char *crv = cocoimg__json_str(epk, "crv");
        json_t *s = json_sprintf("%s%s%s%s%s", alg ? alg : "(no alg)", crv ? " " : "",
                                 crv ? crv : "", kid ? ", kid " : "", kid ? kid : "");
        if (!s || json_array_append_new(arr, s) < 0)
            return cocoimg__error_oom(err);
    }
    *out = TAKE_PTR(arr);
    return 0;
}

const struct cocoimg__keywrapper cocoimg__keywrap_jwe = {
    .id = COCOIMG__KW_jwe,
    .scheme = "jwe",
    .annotation = COCOIMG_ENC_KEYS_PREFIX "jwe",
    .state_new = jwe_state_new,
    .state_free = jwe_state_free,
    .add_recipient = jwe_add_recipient,
    .has_recipients = jwe_has_recipients,
    .has_keys = jwe_has_keys,
    .wrap = jwe_wrap,
    .unwrap = jwe_unwrap,
    .describe = jwe_describe,
};
