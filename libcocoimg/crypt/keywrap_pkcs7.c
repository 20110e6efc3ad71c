/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PKCS#7 / CMS key wrapper (ocicrypt "pkcs7", spec 6.2).
 *
 * wrap: what ocicrypt itself writes (smallstep/pkcs7): EnvelopedData with
 * AES-128-GCM (ciphertext || tag, Go's parameter encoding), one RSA PKCS#1
 * v1.5 KeyTransRecipientInfo per certificate, issuerAndSerialNumber, DER,
 * built below (OpenSSL can neither write nor read that form).  Every
 * ocicrypt version decrypts it, skopeo 1.9.3 included; `openssl cms
 * -decrypt` cannot.
 *
 * unwrap: OpenSSL cannot parse what ocicrypt itself writes (AES-GCM with a
 * malformed parameter encoding, spec 6.2.2), so the blob is read with the
 * small bounded DER reader below and decrypted with EVP directly.  Accepted:
 *   - EnvelopedData with AES-128/192/256-CBC, DES-EDE3-CBC (IV OCTET STRING),
 *     only when the user opted in (cocoimg__pkcs7_state.allow_unauthenticated,
 *     --pkcs7-allow-unauthenticated): without integrity a tampered blob is a
 *     padding oracle, so it is refused, on the algorithm identifier alone,
 *     before any key is used (refuse_unauthenticated());
 *   - EnvelopedData with AES-GCM, ciphertext || tag in encryptedContent, and
 *     either ocicrypt's quirky parameters (10 13 30 11 84 0c <nonce> 02 01 10)
 *     or RFC 5084 GCMParameters;
 *   - encryptedContent as primitive [0] (RFC 5652, new ocicrypt) or as
 *     constructed [0] of OCTET STRINGs (fullsailor, old ocicrypt);
 *   - AuthEnvelopedData (RFC 5083, what `openssl cms -encrypt -aes-128-gcm`
 *     writes).  ocicrypt rejects it (vector rw-pkcs7-openssl-aes128gcm); we
 *     accept it because it is standard and authenticated, and it costs only
 *     the container parsing: the GCM path is shared.
 * Key transport: KeyTransRecipientInfo with rsaEncryption only (RSAES-OAEP
 * and other recipient types are described but not decrypted).
 *
 * As in ocicrypt, a private key alone is not enough: the RecipientInfo is
 * found through the certificate (issuer + serial, or subjectKeyIdentifier),
 * so a key is used only together with a certificate from cfg->dec_certs that
 * matches it.
 *
 * Bleichenbacher: the RSA PKCS#1 v1.5 result is never reported on its own.
 * A random CEK is drawn first and replaced, in constant time, by the
 * decrypted one only when the padding was valid and the length right (the
 * "implicit rejection" of RFC 8017 7.2.2 note / OpenSSL >= 3.2, which is also
 * requested when the runtime OpenSSL supports it); a bad padding therefore
 * surfaces only as a failed content decryption (EAUTH), the same error as a
 * wrong tag.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "crypt/keys.h"
#include "crypt/keywrap.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/secret.h"

/* A wrapped privopts blob is a few hundred bytes per recipient. */
#define P7_MAX_BLOB (1u << 20)
#define P7_MAX_RECIPIENTS 64
#define P7_MAX_CEK 32

/* ------------------------------------------------------------------------ */
/* bounded DER reader                                                        */

typedef struct der {
    const uint8_t *p;
    size_t len;
} der;

/*
 * Read one TLV from @p in and advance it.  Only low tag numbers and definite
 * lengths (at most 4 length bytes) exist in the structures we read; anything
 * else is malformed for us.  @p raw (optional) gets the whole TLV.
 */
static int
der_read(der *in, uint8_t *tag, der *val, der *raw)
{
    if (in->len < 2)
        return -1;
    uint8_t t = in->p[0];
    if ((t & 0x1f) == 0x1f)
        return -1;
    size_t pos = 1;
    size_t l = in->p[pos++];
    if (l & 0x80) {
        size_t n = l & 0x7f;
        if (n == 0 || n > 4 || in->len - pos < n)
            return -1;
        l = 0;
        for (size_t i = 0; i < n; i++)
            l = (l << 8) | in->p[pos++];
    }
    if (in->len - pos < l)
        return -1;
    *tag = t;
    val->p = in->p + pos;
    val->len = l;
    if (raw) {
        raw->p = in->p;
        raw->len = pos + l;
    }
    in->p += pos + l;
    in->len -= pos + l;
    return 0;
}

static int
der_expect(der *in, uint8_t want, der *val, der *raw)
{
    uint8_t t;
    if (der_read(in, &t, val, raw) < 0 || t != want)
        return -1;
    return 0;
}

/* Peek at the next tag (0 when empty). */
static uint8_t
der_peek(const der *in)
{
    return in->len ? in->p[0] : 0;
}

/* A small non-negative INTEGER. */
static int
der_small_int(der *in, unsigned *out)
{
    der v;
    if (der_expect(in, 0x02, &v, NULL) < 0 || v.len == 0 || v.len > 2 || (v.p[0] & 0x80))
        return -1;
    unsigned x = 0;
    for (size_t i = 0; i < v.len; i++)
        x = (x << 8) | v.p[i];
    *out = x;
    return 0;
}

static bool
der_eq(const der *d, const uint8_t *b, size_t n)
{
    return d->len == n && memcmp(d->p, b, n) == 0;
}

/* OID contents (no tag/length) */
static const uint8_t oid_enveloped[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
static const uint8_t oid_auth_enveloped[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                                             0x01, 0x09, 0x10, 0x01, 0x17};
static const uint8_t oid_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t oid_rsa_oaep[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07};

#define OID_AES(last)                                                                              \
    {                                                                                              \
        0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, last                                       \
    }

struct content_alg {
    const char *name;
    uint8_t oid[9];
    size_t oid_len;
    const EVP_CIPHER *(*cipher)(void);
    size_t key_len;
    size_t iv_len;
    bool gcm;
};

static const struct content_alg content_algs[] = {
    {"AES-128-CBC", OID_AES(0x02), 9, EVP_aes_128_cbc, 16, 16, false},
    {"AES-192-CBC", OID_AES(0x16), 9, EVP_aes_192_cbc, 24, 16, false},
    {"AES-256-CBC", OID_AES(0x2a), 9, EVP_aes_256_cbc, 32, 16, false},
    {"AES-128-GCM", OID_AES(0x06), 9, EVP_aes_128_gcm, 16, 12, true},
    {"AES-192-GCM", OID_AES(0x1a), 9, EVP_aes_192_gcm, 24, 12, true},
    {"AES-256-GCM", OID_AES(0x2e), 9, EVP_aes_256_gcm, 32, 12, true},
    {"DES-EDE3-CBC",
     {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07},
     8,
     EVP_des_ede3_cbc,
     24,
     8,
     false},
};

/* ------------------------------------------------------------------------ */
/* parsed message                                                            */

enum ri_kind { RI_KTRI_ISSUER, RI_KTRI_SKI, RI_OTHER };

struct p7_ri {
    enum ri_kind kind;
    uint8_t tag;    /* RI_OTHER: the CHOICE tag */
    der issuer;     /* whole Name TLV */
    der serial;     /* whole INTEGER TLV */
    der ski;        /* contents */
    bool rsa_pkcs1; /* keyEncryptionAlgorithm is rsaEncryption */
    bool rsa_oaep;
    der ek; /* encryptedKey contents */
};

struct p7_msg {
    bool auth; /* AuthEnvelopedData */
    struct p7_ri ri[P7_MAX_RECIPIENTS];
    size_t n_ri;
    der alg_oid;
    uint8_t params_tag; /* 0: absent */
    der params;
    uint8_t *ct; /* encryptedContent, joined when constructed */
    size_t ct_len;
    bool have_ct;
    der aad; /* AuthEnvelopedData authAttrs (whole TLV) */
    der mac; /* AuthEnvelopedData mac */
};

static void
p7_msg_free(struct p7_msg *m)
{
    if (!m)
        return;
    free(m->ct);
    free(m);
}
COCOIMG_DEFINE_CLEANUP(struct p7_msg, p7_msg_free)

static int
bad(cocoimg_error **err, const char *what)
{
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "pkcs7: malformed %s", what);
}

static int
parse_ri(der *set, struct p7_ri *ri, cocoimg_error **err)
{
    uint8_t tag;
    der body, raw;
    if (der_read(set, &tag, &body, &raw) < 0)
        return bad(err, "RecipientInfo");
    memset(ri, 0, sizeof(*ri));
    if (tag != 0x30) {
        /* kari [1], kekri [2], pwri [3], ori [4] */
        ri->kind = RI_OTHER;
        ri->tag = tag;
        return 0;
    }
    unsigned version;
    der rid, alg, oid;
    if (der_small_int(&body, &version) < 0)
        return bad(err, "KeyTransRecipientInfo version");
    if (der_read(&body, &tag, &rid, &raw) < 0)
        return bad(err, "KeyTransRecipientInfo rid");
    if (tag == 0x30) {
        ri->kind = RI_KTRI_ISSUER;
        if (der_expect(&rid, 0x30, &(der){0}, &ri->issuer) < 0 ||
            der_expect(&rid, 0x02, &(der){0}, &ri->serial) < 0 || rid.len != 0)
            return bad(err, "issuerAndSerialNumber");
    } else if (tag == 0x80) {
        ri->kind = RI_KTRI_SKI;
        ri->ski = rid;
    } else {
        return bad(err, "KeyTransRecipientInfo rid");
    }
    if (der_expect(&body, 0x30, &alg, NULL) < 0 || der_expect(&alg, 0x06, &oid, NULL) < 0)
        return bad(err, "keyEncryptionAlgorithm");
    ri->rsa_pkcs1 = der_eq(&oid, oid_rsa, sizeof(oid_rsa));
    ri->rsa_oaep = der_eq(&oid, oid_rsa_oaep, sizeof(oid_rsa_oaep));
    if (der_expect(&body, 0x04, &ri->ek, NULL) < 0 || ri->ek.len == 0)
        return bad(err, "encryptedKey");
    return 0;
}

static int
append_ct(struct p7_msg *m, const der *d)
{
    /* bounded: the sum never exceeds the blob length */
    uint8_t *n = realloc(m->ct, m->ct_len + d->len + 1);
    if (!n)
        return -1;
    m->ct = n;
    memcpy(m->ct + m->ct_len, d->p, d->len);
    m->ct_len += d->len;
    return 0;
}

static int
parse_content_info(der *eci, struct p7_msg *m, cocoimg_error **err)
{
    der ctype, alg;
    uint8_t tag;
    if (der_expect(eci, 0x06, &ctype, NULL) < 0)
        return bad(err, "EncryptedContentInfo contentType");
    if (der_expect(eci, 0x30, &alg, NULL) < 0 || der_expect(&alg, 0x06, &m->alg_oid, NULL) < 0)
        return bad(err, "contentEncryptionAlgorithm");
    if (alg.len) {
        if (der_read(&alg, &m->params_tag, &m->params, NULL) < 0 || alg.len != 0)
            return bad(err, "contentEncryptionAlgorithm parameters");
    }
    if (eci->len == 0)
        return 0; /* detached content */
    der content;
    if (der_read(eci, &tag, &content, NULL) < 0 || eci->len != 0)
        return bad(err, "encryptedContent");
    if (tag == 0x80) {
        if (append_ct(m, &content) < 0)
            return cocoimg__error_oom(err);
    } else if (tag == 0xa0) {
        while (content.len) {
            der chunk;
            if (der_expect(&content, 0x04, &chunk, NULL) < 0)
                return bad(err, "encryptedContent");
            if (append_ct(m, &chunk) < 0)
                return cocoimg__error_oom(err);
        }
    } else {
        return bad(err, "encryptedContent");
    }
    m->have_ct = true;
    return 0;
}

static int
p7_parse(struct p7_msg **out, const uint8_t *blob, size_t len, cocoimg_error **err)
{
    if (len > P7_MAX_BLOB)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pkcs7: blob of %zu bytes is too large",
                                  len);
    _cleanup_(p7_msg_freep) struct p7_msg *m = calloc(1, sizeof(*m));
    if (!m)
        return cocoimg__error_oom(err);
    der in = {blob, len}, ci, oid, wrapper, ed, set;
    unsigned version;
    int r;
    if (der_expect(&in, 0x30, &ci, NULL) < 0 || in.len != 0)
        return bad(err, "ContentInfo");
    if (der_expect(&ci, 0x06, &oid, NULL) < 0)
        return bad(err, "ContentInfo contentType");
    if (der_eq(&oid, oid_auth_enveloped, sizeof(oid_auth_enveloped)))
        m->auth = true;
    else if (!der_eq(&oid, oid_enveloped, sizeof(oid_enveloped)))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "pkcs7: content type is not (auth)envelopedData");
    if (der_expect(&ci, 0xa0, &wrapper, NULL) < 0 || ci.len != 0)
        return bad(err, "ContentInfo content");
    if (der_expect(&wrapper, 0x30, &ed, NULL) < 0 || wrapper.len != 0)
        return bad(err, "EnvelopedData");
    if (der_small_int(&ed, &version) < 0)
        return bad(err, "EnvelopedData version");
    if (der_peek(&ed) == 0xa0 && der_expect(&ed, 0xa0, &(der){0}, NULL) < 0)
        return bad(err, "originatorInfo");
    if (der_expect(&ed, 0x31, &set, NULL) < 0)
        return bad(err, "recipientInfos");
    while (set.len) {
        if (m->n_ri == P7_MAX_RECIPIENTS)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pkcs7: more than %d recipients",
                                      P7_MAX_RECIPIENTS);
        r = parse_ri(&set, &m->ri[m->n_ri], err);
        if (r < 0)
            return r;
        m->n_ri++;
    }
    der eci;
    if (der_expect(&ed, 0x30, &eci, NULL) < 0)
        return bad(err, "EncryptedContentInfo");
    r = parse_content_info(&eci, m, err);
    if (r < 0)
        return r;
    if (m->auth) {
        if (der_peek(&ed) == 0xa1 && der_expect(&ed, 0xa1, &(der){0}, &m->aad) < 0)
            return bad(err, "authAttrs");
        if (der_expect(&ed, 0x04, &m->mac, NULL) < 0)
            return bad(err, "mac");
        if (der_peek(&ed) == 0xa2 && der_expect(&ed, 0xa2, &(der){0}, NULL) < 0)
            return bad(err, "unauthAttrs");
    } else if (der_peek(&ed) == 0xa1 && der_expect(&ed, 0xa1, &(der){0}, NULL) < 0) {
        return bad(err, "unprotectedAttrs");
    }
    if (ed.len != 0)
        return bad(err, "EnvelopedData (trailing data)");
    *out = TAKE_PTR(m);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* content decryption                                                        */

struct content_params {
    const struct content_alg *alg;
    der iv;
    size_t tag_len;
};

static int
resolve_alg(const struct p7_msg *m, struct content_params *cp, cocoimg_error **err)
{
    cp->alg = NULL;
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(content_algs); i++)
        if (der_eq(&m->alg_oid, content_algs[i].oid, content_algs[i].oid_len))
            cp->alg = &content_algs[i];
    if (!cp->alg)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "pkcs7: unsupported content encryption algorithm");
    if (m->auth && !cp->alg->gcm)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "pkcs7: %s not supported in %s",
                                  cp->alg->name, "AuthEnvelopedData");
    if (!cp->alg->gcm) {
        if (m->params_tag != 0x04 || m->params.len != cp->alg->iv_len)
            return bad(err, "CBC IV parameter");
        cp->iv = m->params;
        cp->tag_len = 0;
        return 0;
    }
    /*
     * GCM: ocicrypt's quirky 10 13 { 30 11 { 84 0c nonce, 02 01 10 } } or
     * RFC 5084 30 11 { 04 0c nonce, 02 01 10 } (icvLen DEFAULT 12).  The nonce
     * tag is accepted as 04 or 84 in both.
     */
    der p = m->params, seq;
    unsigned icv = 12;
    uint8_t tag;
    if (m->params_tag == 0x10) {
        if (der_expect(&p, 0x30, &seq, NULL) < 0 || p.len != 0)
            return bad(err, "GCM parameters");
    } else if (m->params_tag == 0x30) {
        seq = p;
    } else {
        return bad(err, "GCM parameters");
    }
    if (der_read(&seq, &tag, &cp->iv, NULL) < 0 || (tag != 0x04 && tag != 0x84))
        return bad(err, "GCM nonce");
    if (seq.len && der_small_int(&seq, &icv) < 0)
        return bad(err, "GCM icvLen");
    if (seq.len != 0)
        return bad(err, "GCM parameters");
    /* strict, unlike ocicrypt (spec 9.9): 96-bit nonce, 96..128-bit tag */
    if (cp->iv.len != 12)
        return bad(err, "GCM nonce length");
    if (icv < 12 || icv > 16)
        return bad(err, "GCM icvLen");
    cp->tag_len = icv;
    if (m->auth) {
        if (m->mac.len != icv)
            return bad(err, "mac length");
    } else if (m->ct_len < icv) {
        return bad(err, "encryptedContent (shorter than the tag)");
    }
    return 0;
}

/*
 * Unauthenticated content encryption (CBC, 3DES) is refused unless the user
 * opted in: with it, a padding error and a JSON error after good padding are
 * two answers an attacker who tampers with the blob could tell apart (a
 * padding oracle on the layer key, issue 12).  Decided on the algorithm
 * identifier alone, before any key is used, so the refusal says nothing
 * about keys or plaintext.
 */
static int
refuse_unauthenticated(const struct content_params *cp, const struct cocoimg__pkcs7_state *st,
                       cocoimg_error **err)
{
    if (cp->alg->gcm || (st && st->allow_unauthenticated))
        return 0;
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                              "pkcs7: the layer key is wrapped with unauthenticated content "
                              "encryption (%s); refused unless allowed with "
                              "--pkcs7-allow-unauthenticated (library: "
                              "cocoimg_crypt_options.pkcs7_allow_unauthenticated)",
                              cp->alg->name);
}

/* Decrypt the content with @p cek; any failure is EAUTH (one message, no oracle). */
static int
decrypt_content(const struct p7_msg *m, const struct content_params *cp, const uint8_t *cek,
                cocoimg__secret **out, cocoimg_error **err)
{
    const uint8_t *ct = m->ct;
    size_t ct_len = m->ct_len;
    const uint8_t *tag = NULL;
    if (cp->alg->gcm) {
        if (m->auth) {
            tag = m->mac.p;
        } else {
            ct_len -= cp->tag_len;
            tag = ct + ct_len;
        }
    }
    if (ct_len > INT_MAX)
        return bad(err, "encryptedContent");
    size_t cap = ct_len + 32;
    uint8_t *pt = malloc(cap);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = pt && ctx;
    int n1 = 0, n2 = 0;
    if (ok)
        ok = EVP_DecryptInit_ex(ctx, cp->alg->cipher(), NULL, NULL, NULL) == 1;
    if (ok && cp->alg->gcm)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)cp->iv.len, NULL) == 1;
    if (ok)
        ok = EVP_DecryptInit_ex(ctx, NULL, NULL, cek, cp->iv.p) == 1;
    if (ok && cp->alg->gcm && m->aad.len) {
        /* RFC 5083: the AAD is authAttrs DER-encoded with the SET OF tag */
        uint8_t set_tag = 0x31;
        int dummy;
        ok = EVP_DecryptUpdate(ctx, NULL, &dummy, &set_tag, 1) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &dummy, m->aad.p + 1, (int)m->aad.len - 1) == 1;
    }
    if (ok)
        ok = EVP_DecryptUpdate(ctx, pt, &n1, ct, (int)ct_len) == 1;
    if (ok && cp->alg->gcm)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)cp->tag_len, (void *)tag) == 1;
    if (ok)
        ok = EVP_DecryptFinal_ex(ctx, pt + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    int r;
    if (!pt)
        r = cocoimg__error_oom(err);
    else if (!ok)
        r = cocoimg__error_set(err, COCOIMG_EAUTH, 0, "pkcs7: content decryption failed");
    else
        r = cocoimg__secret_dup(out, pt, (size_t)n1 + (size_t)n2, err);
    if (pt) {
        cocoimg__wipe(pt, cap);
        free(pt);
    }
    return r;
}

/*
 * RSAES-PKCS1-v1_5 decrypt of the CEK into @p cek (cek_len bytes), which the
 * caller pre-filled with random bytes: they stay when the padding or the
 * length is wrong (selected in constant time).  Returns < 0 only when the key
 * cannot be used at all, which does not depend on the ciphertext.
 */
static int
rsa_unwrap_cek(EVP_PKEY *pkey, const der *ek, uint8_t *cek, size_t cek_len)
{
    int size = EVP_PKEY_get_size(pkey);
    if (size <= 0 || (size_t)size < cek_len)
        return -1;
    size_t cap = (size_t)size, outlen = cap;
    uint8_t *buf = calloc(1, cap);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int setup = buf && ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    if (setup) {
        /* OpenSSL >= 3.2; unknown to older versions, which simply fail it */
        (void)EVP_PKEY_CTX_ctrl_str(ctx, "rsa_pkcs1_implicit_rejection", "1");
        int dr = EVP_PKEY_decrypt(ctx, buf, &outlen, ek->p, ek->len);
        /* mask = all ones iff dr == 1 && outlen == cek_len, without branches */
        unsigned good = (unsigned)(dr == 1) & (unsigned)(outlen == cek_len);
        uint8_t mask = (uint8_t)(0u - good);
        for (size_t i = 0; i < cek_len; i++)
            cek[i] = (uint8_t)((buf[i] & mask) | (cek[i] & (uint8_t)~mask));
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (buf) {
        OPENSSL_cleanse(buf, cap);
        free(buf);
    }
    return setup ? 0 : -1;
}

static bool
ri_matches_cert(const struct p7_ri *ri, X509 *cert)
{
    if (ri->kind == RI_KTRI_SKI) {
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
        return ski && (size_t)ASN1_STRING_length(ski) == ri->ski.len &&
               memcmp(ASN1_STRING_get0_data(ski), ri->ski.p, ri->ski.len) == 0;
    }
    if (ri->kind != RI_KTRI_ISSUER)
        return false;
    const uint8_t *p = ri->issuer.p;
    X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)ri->issuer.len);
    p = ri->serial.p;
    ASN1_INTEGER *serial = d2i_ASN1_INTEGER(NULL, &p, (long)ri->serial.len);
    bool match = name && serial && X509_NAME_cmp(name, X509_get_issuer_name(cert)) == 0 &&
                 ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cert)) == 0;
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
    ERR_clear_error();
    return match;
}

static bool
is_rsa(EVP_PKEY *pkey)
{
    return pkey && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;
}

static bool
key_matches_cert(EVP_PKEY *pkey, X509 *cert)
{
    bool ok = is_rsa(pkey) && cert && X509_check_private_key(cert, pkey) == 1;
    ERR_clear_error();
    return ok;
}

static int
pkcs7_unwrap(const cocoimg__crypt_config *cfg, const void *state, const char *annotation,
             const uint8_t *blob, size_t len, cocoimg__secret **out, cocoimg_error **err)
{
    (void)annotation;
    _cleanup_(p7_msg_freep) struct p7_msg *m = NULL;
    int r = p7_parse(&m, blob, len, err);
    if (r < 0)
        return r;
    if (!m->have_ct)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "pkcs7: detached content");
    struct content_params cp;
    r = resolve_alg(m, &cp, err);
    if (r < 0)
        return r;
    r = refuse_unauthenticated(&cp, state, err);
    if (r < 0)
        return r;

    size_t n_pairs = 0, n_tried = 0;
    bool unsupported_kt = false;
    /* the error of the latest failed attempt (key transport or content) */
    _cleanup_error_ cocoimg_error *last = NULL;
    int last_r = 0;
    for (size_t k = 0; k < cfg->n_privkeys; k++) {
        EVP_PKEY *pkey = cfg->privkeys[k].pkey;
        if (!is_rsa(pkey))
            continue;
        for (size_t c = 0; c < cfg->n_dec_certs; c++) {
            X509 *cert = cfg->dec_certs[c];
            if (!key_matches_cert(pkey, cert))
                continue;
            n_pairs++;
            for (size_t i = 0; i < m->n_ri; i++) {
                if (!ri_matches_cert(&m->ri[i], cert))
                    continue;
                if (!m->ri[i].rsa_pkcs1) {
                    unsupported_kt = true;
                    continue;
                }
                uint8_t cek[P7_MAX_CEK];
                if (RAND_bytes(cek, (int)cp.alg->key_len) != 1) {
                    ERR_clear_error();
                    return cocoimg__error_set(err, COCOIMG_ERROR, 0,
                                              "pkcs7: random generator failed");
                }
                n_tried++;
                cocoimg_error_free(TAKE_PTR(last));
                if (rsa_unwrap_cek(pkey, &m->ri[i].ek, cek, cp.alg->key_len) < 0) {
                    const char *src = cfg->privkeys[k].source;
                    last_r = cocoimg__error_set(&last, COCOIMG_ENOKEY, 0,
                                                "pkcs7: private key '%s' cannot decrypt",
                                                src ? src : "?");
                } else {
                    last_r = decrypt_content(m, &cp, cek, out, &last);
                }
                OPENSSL_cleanse(cek, sizeof(cek));
                if (last_r == 0)
                    return 0;
                if (last_r != COCOIMG_EAUTH && last_r != COCOIMG_ENOKEY)
                    break;
            }
        }
    }
    if (n_tried) {
        if (err && !*err)
            *err = TAKE_PTR(last);
        return last_r;
    }
    if (unsupported_kt)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "pkcs7: key transport algorithm not supported (only RSA "
                                  "PKCS#1 v1.5)");
    if (n_pairs == 0)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                                  "pkcs7: no RSA private key with a matching certificate (PKCS7 "
                                  "decryption needs the recipient certificate too)");
    return cocoimg__error_set(err, COCOIMG_ENOKEY, 0,
                              "pkcs7: none of the %zu recipients matches the given certificates",
                              m->n_ri);
}

/* vtable refuse: the policy check of pkcs7_unwrap() alone (nothing else is reported) */
static int
pkcs7_refuse(const void *state, const uint8_t *blob, size_t len, cocoimg_error **err)
{
    _cleanup_(p7_msg_freep) struct p7_msg *m = NULL;
    struct content_params cp;
    if (p7_parse(&m, blob, len, NULL) < 0 || resolve_alg(m, &cp, NULL) < 0)
        return 0;
    return refuse_unauthenticated(&cp, state, err);
}

/* ------------------------------------------------------------------------ */
/* wrap                                                                      */

/*
 * What ocicrypt writes (spec 6.2.2), built here because OpenSSL cannot
 * write it (nor read it):
 *
 *   ContentInfo { envelopedData, [0] EnvelopedData {
 *     version 0,
 *     SET OF KeyTransRecipientInfo { 0, issuerAndSerialNumber,
 *                                    { rsaEncryption } (no parameters),
 *                                    RSAES-PKCS1-v1_5(CEK) },
 *     EncryptedContentInfo { data, { id-aes128-GCM,
 *                                    10 13 30 11 84 0c <nonce> 02 01 10 },
 *                            80 LL <ciphertext || 16-byte tag> } } }
 *
 * AES-128-GCM with a fresh random 16-byte CEK and 12-byte nonce, no AAD.
 * The parameters are Go's encoding (smallstep/fullsailor marshal
 * SEQUENCE { [4] nonce, icvLen } into a RawValue of tag 16 without the
 * constructed bit): the only one skopeo 1.9.3 (fullsailor/pkcs7) accepts,
 * since it reads the nonce as [4] from the contents of that element (RFC
 * 5084 GCMParameters, 30 11 04 0c ..., fail there with a tag mismatch;
 * tests/integration/crypt-skopeo.sh).  The [0] IMPLICIT primitive
 * encryptedContent is smallstep's (RFC 5652); fullsailor reads both forms.
 */

#define P7_GCM_KEY 16
#define P7_GCM_NONCE 12
#define P7_GCM_TAG 16

static const uint8_t oid_data[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
static const uint8_t oid_aes128_gcm[] = OID_AES(0x06);

/* A growing DER output buffer; a failed append marks it and later ones do nothing. */
struct dbuf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void
dbuf_free(struct dbuf *b)
{
    free(b->p);
    *b = (struct dbuf){0};
}

static void
dbuf_put(struct dbuf *b, const void *data, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (n > P7_MAX_BLOB || b->len > P7_MAX_BLOB - n) {
        b->failed = true;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* Tag and definite length (short form below 128, else the fewest bytes). */
static void
dbuf_hdr(struct dbuf *b, uint8_t tag, size_t len)
{
    uint8_t h[6] = {tag};
    size_t n = 1;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else {
        size_t bytes = 0;
        for (size_t l = len; l; l >>= 8)
            bytes++;
        h[n++] = (uint8_t)(0x80 | bytes);
        for (size_t i = bytes; i > 0; i--)
            h[n++] = (uint8_t)(len >> (8 * (i - 1)));
    }
    dbuf_put(b, h, n);
}

static void
dbuf_tlv(struct dbuf *b, uint8_t tag, const void *data, size_t len)
{
    dbuf_hdr(b, tag, len);
    dbuf_put(b, data, len);
}

/* @p inner wrapped as one TLV of @p tag, appended to @p b. */
static void
dbuf_wrap(struct dbuf *b, uint8_t tag, const struct dbuf *inner)
{
    if (inner->failed)
        b->failed = true;
    else
        dbuf_tlv(b, tag, inner->p, inner->len);
}

/* An OpenSSL i2d_ encoding appended as it is. */
static void
dbuf_i2d(struct dbuf *b, int n, uint8_t *enc)
{
    if (n <= 0 || !enc)
        b->failed = true;
    else
        dbuf_put(b, enc, (size_t)n);
    OPENSSL_free(enc);
}

/* One KeyTransRecipientInfo for @p cert carrying RSAES-PKCS1-v1_5(@p cek). */
static int
build_ri(struct dbuf *out, X509 *cert, const uint8_t *cek, size_t cek_len, cocoimg_error **err)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    EVP_PKEY_CTX *ctx = pub ? EVP_PKEY_CTX_new(pub, NULL) : NULL;
    size_t ek_len = 0;
    uint8_t *ek = NULL;
    int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_encrypt(ctx, NULL, &ek_len, cek, cek_len) == 1 &&
             (ek = malloc(ek_len ? ek_len : 1)) != NULL &&
             EVP_PKEY_encrypt(ctx, ek, &ek_len, cek, cek_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        free(ek);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0,
                                  "pkcs7: RSA encryption of the content key failed");
    }
    struct dbuf ias = {0}, alg = {0}, ri = {0};
    uint8_t *enc = NULL;
    int n = i2d_X509_NAME(X509_get_issuer_name(cert), &enc);
    dbuf_i2d(&ias, n, enc);
    enc = NULL;
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &enc);
    dbuf_i2d(&ias, n, enc);
    dbuf_tlv(&alg, 0x06, oid_rsa, sizeof(oid_rsa));
    dbuf_tlv(&ri, 0x02, "\x00", 1);
    dbuf_wrap(&ri, 0x30, &ias);
    dbuf_wrap(&ri, 0x30, &alg);
    dbuf_tlv(&ri, 0x04, ek, ek_len);
    dbuf_wrap(out, 0x30, &ri);
    ERR_clear_error();
    free(ek);
    dbuf_free(&ias);
    dbuf_free(&alg);
    dbuf_free(&ri);
    return 0;
}

/* DER SET OF order: the encodings compared as octet strings. */
static int
cmp_enc(const void *a, const void *b)
{
    const struct dbuf *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* AES-128-GCM of @p pt into @p out: ciphertext || tag. */
static int
gcm_seal(struct dbuf *out, const uint8_t *key, const uint8_t *nonce, const cocoimg__secret *pt)
{
    uint8_t *ct = malloc(pt->len + P7_GCM_TAG);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    int ok = ct && ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, P7_GCM_NONCE, NULL) == 1 &&
             EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
             EVP_EncryptUpdate(ctx, ct, &n1, pt->ptr, (int)pt->len) == 1 &&
             EVP_EncryptFinal_ex(ctx, ct + n1, &n2) == 1 && (size_t)n1 + (size_t)n2 == pt->len &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, P7_GCM_TAG, ct + pt->len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    if (ok)
        dbuf_tlv(out, 0x80, ct, pt->len + P7_GCM_TAG);
    free(ct);
    return ok ? 0 : -1;
}

static int
pkcs7_wrap_blob(const struct cocoimg__pkcs7_state *st, const cocoimg__secret *opts, uint8_t **out,
                size_t *out_len, cocoimg_error **err)
{
    if (!st || st->n_certs == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "pkcs7: no recipient certificates");
    if (st->n_certs > P7_MAX_RECIPIENTS)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pkcs7: more than %d recipients",
                                  P7_MAX_RECIPIENTS);
    if (opts->len > P7_MAX_BLOB / 2)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "pkcs7: options too large");
    for (size_t i = 0; i < st->n_certs; i++)
        /* ocicrypt only handles RSA (EC certificates crash old builds) */
        if (!st->certs[i] || !is_rsa(X509_get0_pubkey(st->certs[i])))
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "pkcs7: recipient %zu: only RSA certificates are supported",
                                      i);

    uint8_t cek[P7_GCM_KEY], nonce[P7_GCM_NONCE];
    if (RAND_priv_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1) {
        OPENSSL_cleanse(cek, sizeof(cek));
        ERR_clear_error();
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "pkcs7: random generator failed");
    }
    struct dbuf ris[P7_MAX_RECIPIENTS] = {{0}};
    struct dbuf set = {0}, params = {0}, alg = {0}, eci = {0}, ed = {0}, ci = {0}, ctw = {0};
    int r = 0;
    for (size_t i = 0; i < st->n_certs && r == 0; i++)
        r = build_ri(&ris[i], st->certs[i], cek, sizeof(cek), err);
    if (r == 0 && gcm_seal(&ctw, cek, nonce, opts) < 0)
        r = cocoimg__error_set(err, COCOIMG_ERROR, 0, "pkcs7: content encryption failed");
    OPENSSL_cleanse(cek, sizeof(cek));
    if (r == 0) {
        qsort(ris, st->n_certs, sizeof(ris[0]), cmp_enc);
        for (size_t i = 0; i < st->n_certs; i++)
            dbuf_put(&set, ris[i].p, ris[i].len), set.failed |= ris[i].failed;
        /* 30 11 { 84 0c nonce, 02 01 10 }, then in Go's primitive tag 16 */
        struct dbuf gcm = {0};
        dbuf_tlv(&gcm, 0x84, nonce, sizeof(nonce));
        dbuf_tlv(&gcm, 0x02, "\x10", 1);
        dbuf_wrap(&params, 0x30, &gcm);
        dbuf_free(&gcm);
        dbuf_tlv(&alg, 0x06, oid_aes128_gcm, sizeof(oid_aes128_gcm));
        dbuf_wrap(&alg, 0x10, &params);
        dbuf_tlv(&eci, 0x06, oid_data, sizeof(oid_data));
        dbuf_wrap(&eci, 0x30, &alg);
        dbuf_put(&eci, ctw.p, ctw.len);
        dbuf_tlv(&ed, 0x02, "\x00", 1);
        dbuf_wrap(&ed, 0x31, &set);
        dbuf_wrap(&ed, 0x30, &eci);
        struct dbuf edw = {0};
        dbuf_wrap(&edw, 0x30, &ed);
        struct dbuf body = {0};
        dbuf_tlv(&body, 0x06, oid_enveloped, sizeof(oid_enveloped));
        dbuf_wrap(&body, 0xa0, &edw);
        dbuf_wrap(&ci, 0x30, &body);
        dbuf_free(&edw);
        dbuf_free(&body);
        if (ci.failed) {
            r = cocoimg__error_oom(err);
        } else {
            *out = TAKE_PTR(ci.p);
            *out_len = ci.len;
        }
    }
    for (size_t i = 0; i < st->n_certs; i++)
        dbuf_free(&ris[i]);
    dbuf_free(&set);
    dbuf_free(&params);
    dbuf_free(&alg);
    dbuf_free(&eci);
    dbuf_free(&ed);
    dbuf_free(&ci);
    dbuf_free(&ctw);
    return r;
}

static int
pkcs7_wrap(const void *state, const cocoimg__secret *opts, json_t *annotations, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *blob = NULL;
    size_t len = 0;
    int r = pkcs7_wrap_blob(state, opts, &blob, &len, err);
    if (r < 0)
        return r;
    return cocoimg__keywrap_append(annotations, cocoimg__keywrap_pkcs7.annotation, blob, len, err);
}

/* ------------------------------------------------------------------------ */
/* describe                                                                  */

static char *
describe_ri(const struct p7_ri *ri)
{
    static const char *const other[] = {"kari", "kekri", "pwri", "ori"};
    char *s = NULL;
    if (ri->kind == RI_OTHER) {
        unsigned n = ri->tag & 0x1f;
        const char *name = (ri->tag & 0xe0) == 0xa0 && n >= 1 && n <= 4 ? other[n - 1] : "unknown";
        if (asprintf(&s, "%s (unsupported recipient type)", name) < 0)
            s = NULL;
        return s;
    }
    const char *kt = ri->rsa_pkcs1  ? ""
                     : ri->rsa_oaep ? " (RSAES-OAEP, unsupported)"
                                    : " (unsupported key transport)";
    if (ri->kind == RI_KTRI_SKI) {
        char *hex = OPENSSL_buf2hexstr(ri->ski.p, (long)ri->ski.len);
        if (hex && asprintf(&s, "subjectKeyIdentifier %s%s", hex, kt) < 0)
            s = NULL;
        OPENSSL_free(hex);
        return s;
    }
    const uint8_t *p = ri->issuer.p;
    X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)ri->issuer.len);
    p = ri->serial.p;
    ASN1_INTEGER *serial = d2i_ASN1_INTEGER(NULL, &p, (long)ri->serial.len);
    BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *ntext = NULL;
    long nlen;
    if (name && hex && bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
        (nlen = BIO_get_mem_data(bio, &ntext)) >= 0) {
        const char *h = hex[0] == '-' ? hex + 1 : hex;
        if (asprintf(&s, "%.*s, serial %s0x%s%s", (int)nlen, ntext ? ntext : "",
                     hex[0] == '-' ? "-" : "", h, kt) < 0)
            s = NULL;
    } else if (asprintf(&s, "(unparsable issuer or serial)%s", kt) < 0) {
        s = NULL;
    }
    BIO_free(bio);
    OPENSSL_free(hex);
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_NAME_free(name);
    ERR_clear_error();
    return s;
}

static int
pkcs7_describe(const uint8_t *blob, size_t len, json_t **out, cocoimg_error **err)
{
    _cleanup_(p7_msg_freep) struct p7_msg *m = NULL;
    int r = p7_parse(&m, blob, len, err);
    if (r < 0)
        return r;
    json_t *arr = json_array();
    if (!arr)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < m->n_ri; i++) {
        char *s = describe_ri(&m->ri[i]);
        if (!s || json_array_append_new(arr, json_string(s)) < 0) {
            free(s);
            json_decref(arr);
            return cocoimg__error_oom(err);
        }
        free(s);
    }
    *out = arr;
    return 0;
}

/* ------------------------------------------------------------------------ */

static int
pkcs7_state_new(void **out, cocoimg_error **err)
{
    *out = calloc(1, sizeof(struct cocoimg__pkcs7_state));
    return *out ? 0 : cocoimg__error_oom(err);
}

static void
pkcs7_state_free(void *state)
{
    struct cocoimg__pkcs7_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_certs; i++)
        X509_free(st->certs[i]);
    free(st->certs);
    free(st);
}

/* "pkcs7:CERT-FILE" */
static int
pkcs7_add_recipient(void *state, const char *value, cocoimg_error **err)
{
    struct cocoimg__pkcs7_state *st = state;
    X509 *x = NULL;
    int r = cocoimg__cert_load_file(&x, value, err);
    if (r < 0)
        return r;
    X509 **np = realloc(st->certs, (st->n_certs + 1) * sizeof(*np));
    if (!np) {
        X509_free(x);
        return cocoimg__error_oom(err);
    }
    st->certs = np;
    st->certs[st->n_certs++] = x;
    return 0;
}

static bool
pkcs7_has_recipients(const void *state)
{
    const struct cocoimg__pkcs7_state *st = state;
    return st && st->n_certs > 0;
}

static bool
pkcs7_has_keys(const cocoimg__crypt_config *cfg, const void *state)
{
    (void)state;
    for (size_t k = 0; k < cfg->n_privkeys; k++)
        for (size_t c = 0; c < cfg->n_dec_certs; c++)
            if (key_matches_cert(cfg->privkeys[k].pkey, cfg->dec_certs[c]))
                return true;
    return false;
}

const struct cocoimg__keywrapper cocoimg__keywrap_pkcs7 = {
    .id = COCOIMG__KW_pkcs7,
    .scheme = "pkcs7",
    .annotation = COCOIMG_ENC_KEYS_PREFIX "pkcs7",
    .state_new = pkcs7_state_new,
    .state_free = pkcs7_state_free,
    .add_recipient = pkcs7_add_recipient,
    .has_recipients = pkcs7_has_recipients,
    .has_keys = pkcs7_has_keys,
    .wrap = pkcs7_wrap,
    .unwrap = pkcs7_unwrap,
    .refuse = pkcs7_refuse,
    .describe = pkcs7_describe,
};
