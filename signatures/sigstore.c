/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fulcio / PKI certificate checks and Rekor SETs for cosign signatures (see
 * sigstore.h), written from the Sigstore documentation and the semantics of
 * containers/image.
 */
#include <fcntl.h>
#include <math.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "oci/digest.h"
#include "signatures/sigstore.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/jcs.h"
#include "util/json.h"

#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1"
#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8"
#define MAX_BUNDLE (256u * 1024)

static void
x509p_free(X509 **p)
{
    X509_free(*p);
}
#define _cleanup_x509_ __attribute__((cleanup(x509p_free)))

static inline const char *
nz(const char *s)
{
    return s ? s : "";
}
/* a refusal; every format takes two strings (NULL: empty) */
#define refuse(err, fmt, a, b) cocoimg__error_set((err), COCOIMG_EPOLICY, 0, fmt, nz(a), nz(b))

/* ---- key sources and PEM -------------------------------------------------- */

int
cocoimg__sigstore_load_source(uint8_t **out, size_t *len, const cocoimg__key_source *ks,
                              cocoimg_error **err)
{
    struct cocoimg__strbuf b = {0};
    for (size_t i = 0; i < ks->n_paths; i++) {
        if (ks->blobs && ks->blobs[i]) {
            cocoimg__strbuf_put(&b, (const char *)ks->blobs[i], ks->blob_lens[i]);
        } else {
            _cleanup_free_ uint8_t *f = NULL;
            size_t n = 0;
            int r = cocoimg__read_file(&f, &n, AT_FDCWD, ks->paths[i], 1u << 20, err);
            if (r < 0) {
                free(b.p);
                return cocoimg__error_wrap(err, r, "%s", ks->paths[i]);
            }
            cocoimg__strbuf_put(&b, (const char *)f, n);
        }
        cocoimg__strbuf_put(&b, "\n", 1);
    }
    if (ks->data)
        cocoimg__strbuf_put(&b, (const char *)ks->data, ks->data_len);
    cocoimg__strbuf_put(&b, "", 0);
    if (b.oom) {
        free(b.p);
        return cocoimg__error_oom(err);
    }
    *out = (uint8_t *)b.p;
    *len = b.len;
    return 0;
}

static BIO *
mem_bio(const void *p, size_t n)
{
    return n > INT32_MAX ? NULL : BIO_new_mem_buf(p, (int)n);
}

int
cocoimg__sigstore_parse_cert(X509 **out, const char *pem, cocoimg_error **err)
{
    BIO *b = mem_bio(pem, strlen(pem));
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (!x)
        return refuse(err, "the certificate annotation is not a PEM certificate%s%s", NULL, NULL);
    *out = x;
    return 0;
}

/* push every PEM certificate of @p pem on @p sk (all but the last with @p drop_last) */
static int
add_certs(STACK_OF(X509) * sk, const void *pem, size_t len, bool drop_last)
{
    BIO *b = mem_bio(pem, len);
    if (!b)
        return -1;
    X509 *x, *prev = NULL;
    int n = 0;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (prev && !sk_X509_push(sk, prev))
            X509_free(prev);
        prev = x;
        n++;
    }
    ERR_clear_error();
    BIO_free(b);
    if (prev) {
        if (drop_last || !sk_X509_push(sk, prev))
            X509_free(prev);
    }
    return n;
}

/* ---- certificates ----------------------------------------------------- */

int
cocoimg__sigstore_verify_chain(X509 *leaf, const uint8_t *roots, size_t roots_len,
                               const uint8_t *inter, size_t inter_len, const char *chain_pem,
                               time_t at, const char *what, cocoimg_error **err)
{
    int r = 0;
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *anchors = sk_X509_new_null(), *untrusted = sk_X509_new_null();
    X509_STORE_CTX *c = X509_STORE_CTX_new();
    if (!st || !anchors || !untrusted || !c) {
        r = cocoimg__error_oom(err);
        goto out;
    }
    if (add_certs(anchors, roots, roots_len, false) <= 0) {
        r = refuse(err, "%s holds no PEM certificate%s", what, NULL);
        goto out;
    }
    for (int i = 0; i < sk_X509_num(anchors); i++)
        X509_STORE_add_cert(st, sk_X509_value(anchors, i));
    if (inter && inter_len)
        (void)add_certs(untrusted, inter, inter_len, false);
    if (chain_pem)
        (void)add_certs(untrusted, chain_pem, strlen(chain_pem), true);
    if (X509_STORE_CTX_init(c, st, leaf, untrusted) != 1) {
        r = cocoimg__error_oom(err);
        goto out;
    }
    X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(c);
    /* any policy certificate is an anchor, as with Go's x509 roots */
    X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
    if (at)
        X509_VERIFY_PARAM_set_time(p, at);
    if (X509_verify_cert(c) != 1) {
        int e = X509_STORE_CTX_get_error(c);
        const char *es = X509_verify_cert_error_string(e);
        if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)
            r = refuse(err, "certificate not valid at the %s (%s)",
                       at ? "Rekor integrated time" : "current time", es);
        else
            r = refuse(err, "certificate not issued by %s (%s)", what, es);
        goto out;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(c);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        uint32_t fl = X509_get_extension_flags(x), xku = X509_get_extended_key_usage(x);
        if (i == 0 && !(fl & EXFLAG_XKUSAGE && xku & XKU_CODE_SIGN)) {
            r = refuse(err, "certificate has no codeSigning extended key usage%s%s", NULL, NULL);
            goto out;
        }
        if (fl & EXFLAG_XKUSAGE && !(xku & (XKU_CODE_SIGN | XKU_ANYEKU))) {
            r = refuse(err, "a CA certificate of the chain excludes codeSigning%s%s", NULL, NULL);
            goto out;
        }
    }
out:
    ERR_clear_error();
    X509_STORE_CTX_free(c);
    X509_STORE_free(st);
    sk_X509_pop_free(anchors, X509_free);
    sk_X509_pop_free(untrusted, X509_free);
    return r;
}

int
cocoimg__sigstore_oidc_issuer(char **out, X509 *leaf, cocoimg_error **err)
{
    _cleanup_free_ char *v1 = NULL, *v2 = NULL;
    bool got1 = false, got2 = false;
    for (int i = 0; i < X509_get_ext_count(leaf); i++) {
        X509_EXTENSION *e = X509_get_ext(leaf, i);
        char oid[64];
        if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1) <= 0)
            continue;
        ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(e);
        const unsigned char *d = ASN1_STRING_get0_data(os);
        int n = ASN1_STRING_length(os);
        if (strcmp(oid, OID_ISSUER_V1) == 0) {
            if (got1)
                return refuse(err, "certificate has a duplicate OIDC issuer v1 extension%s%s", NULL,
                              NULL);
            got1 = true;
            if (memchr(d, 0, (size_t)n) || !(v1 = strndup((const char *)d, (size_t)n)))
                return refuse(err, "certificate has an invalid OIDC issuer v1 extension%s%s", NULL,
                              NULL);
        } else if (strcmp(oid, OID_ISSUER_V2) == 0) {
            if (got2)
                return refuse(err, "certificate has a duplicate OIDC issuer v2 extension%s%s", NULL,
                              NULL);
            got2 = true;
            const unsigned char *q = d;
            ASN1_UTF8STRING *u = d2i_ASN1_UTF8STRING(NULL, &q, n);
            bool ok = u && q == d + n &&
                      !memchr(ASN1_STRING_get0_data(u), 0, (size_t)ASN1_STRING_length(u));
            if (ok)
                v2 = strndup((const char *)ASN1_STRING_get0_data(u), (size_t)ASN1_STRING_length(u));
            ASN1_UTF8STRING_free(u);
            ERR_clear_error();
            if (!ok || !v2)
                return refuse(err, "certificate has an invalid OIDC issuer v2 extension%s%s", NULL,
                              NULL);
        }
    }
    if (got1 && got2 && strcmp(v1, v2) != 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "certificate has inconsistent OIDC issuer v1 and v2 extensions "
                                  "\"%.200s\" and \"%.200s\"",
                                  v1, v2);
    if (!got1 && !got2)
        return refuse(err, "certificate has no OIDC issuer extension%s%s", NULL, NULL);
    *out = got2 ? TAKE_PTR(v2) : TAKE_PTR(v1);
    return 0;
}

/* the SAN emails, for messages; 1 when @p want is one of them */
static int
san_email(X509 *leaf, const char *want, char *got, size_t got_len)
{
    GENERAL_NAMES *gs = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int found = 0;
    size_t used = 0;
    got[0] = '\0';
    for (int i = 0; gs && i < sk_GENERAL_NAME_num(gs); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gs, i);
        if (g->type != GEN_EMAIL)
            continue;
        const char *s = (const char *)ASN1_STRING_get0_data(g->d.rfc822Name);
        size_t n = (size_t)ASN1_STRING_length(g->d.rfc822Name);
        if (strlen(want) == n && memcmp(s, want, n) == 0)
            found = 1;
        if (used < got_len) {
            int k = snprintf(got + used, got_len - used, "%s%.*s", used ? ", " : "",
                             (int)(n > 200 ? 200 : n), s);
            if (k > 0)
                used += (size_t)k;
        }
    }
    GENERAL_NAMES_free(gs);
    ERR_clear_error();
    return found;
}

static int
check_email(X509 *leaf, const char *want, cocoimg_error **err)
{
    char got[512];
    if (san_email(leaf, want, got, sizeof(got)))
        return 0;
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                              "required email %.200s not found in the certificate (got %s)", want,
                              got[0] ? got : "none");
}

int
cocoimg__sigstore_verify_fulcio(X509 *leaf, const uint8_t *ca, size_t ca_len, const char *chain_pem,
                                const char *oidc_issuer, const char *email, time_t at,
                                cocoimg_error **err)
{
    int r = cocoimg__sigstore_verify_chain(leaf, ca, ca_len, NULL, 0, chain_pem, at,
                                           "the policy's Fulcio CA", err);
    if (r < 0)
        return r;
    _cleanup_free_ char *iss = NULL;
    if ((r = cocoimg__sigstore_oidc_issuer(&iss, leaf, err)) < 0)
        return r;
    if (strcmp(iss, oidc_issuer) != 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "OIDC issuer \"%.200s\" does not match \"%.200s\"", iss,
                                  oidc_issuer);
    return check_email(leaf, email, err);
}

/* ---- Rekor SET ------------------------------------------------------------ */

static bool
set_sig_ok(const uint8_t *rekor_pem, size_t rekor_len, const char *msg, size_t msg_len,
           const uint8_t *sig, size_t sig_len)
{
    BIO *b = mem_bio(rekor_pem, rekor_len);
    if (!b)
        return false;
    bool ok = false;
    EVP_PKEY *k;
    while (!ok && (k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL))) {
        if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
            EVP_MD_CTX *c = EVP_MD_CTX_new();
            ok = c && EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
                 EVP_DigestVerify(c, sig, sig_len, (const uint8_t *)msg, msg_len) == 1;
            EVP_MD_CTX_free(c);
        }
        EVP_PKEY_free(k);
    }
    ERR_clear_error();
    BIO_free(b);
    return ok;
}

static const json_t *
path_get(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(o, a);
    if (v && b)
        v = json_object_get(v, b);
    if (v && c)
        v = json_object_get(v, c);
    return v;
}

/* does the entry's public key (PEM) name @p cert or a key of @p key_pem? */
static bool
entry_key_matches(const uint8_t *pem, size_t len, X509 *cert, const uint8_t *key_pem,
                  size_t key_pem_len)
{
    bool ok = false;
    BIO *b = mem_bio(pem, len);
    if (!b)
        return false;
    if (cert) {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        ok = x && X509_cmp(x, cert) == 0;
        X509_free(x);
    } else {
        EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        BIO *kb = k ? mem_bio(key_pem, key_pem_len) : NULL;
        EVP_PKEY *p;
        while (kb && !ok && (p = PEM_read_bio_PUBKEY(kb, NULL, NULL, NULL))) {
            ok = EVP_PKEY_eq(k, p) == 1;
            EVP_PKEY_free(p);
        }
        BIO_free(kb);
        EVP_PKEY_free(k);
    }
    BIO_free(b);
    ERR_clear_error();
    return ok;
}

/*
 * A Rekor "dsse" v0.0.1 entry (Sigstore bundles of DSSE envelopes): one of
 * spec.signatures is this signature with this certificate (or key) as its
 * verifier, and spec.payloadHash is the sha256 of the envelope's payload.
 */
static int
dsse_entry_matches(const json_t *ent, X509 *cert, const uint8_t *key_pem, size_t key_pem_len,
                   const uint8_t *sig, size_t sig_len, const uint8_t *payload, size_t payload_len,
                   cocoimg_error **err)
{
    const json_t *ph = path_get(ent, "spec", "payloadHash", NULL);
    const char *alg = cocoimg__json_str(ph, "algorithm"), *hv = cocoimg__json_str(ph, "value");
    const json_t *sigs = path_get(ent, "spec", "signatures", NULL);
    if (!alg || !hv || !json_is_array(sigs) || json_array_size(sigs) == 0 ||
        json_array_size(sigs) > 16)
        return refuse(err, "the Rekor dsse entry lacks its payload hash or signatures%s%s", NULL,
                      NULL);
    bool sig_seen = false, match = false;
    for (size_t i = 0; i < json_array_size(sigs) && !match; i++) {
        const json_t *e = json_array_get(sigs, i);
        const char *s64 = cocoimg__json_str(e, "signature"),
                   *v64 = cocoimg__json_str(e, "verifier");
        _cleanup_free_ uint8_t *esig = NULL, *epem = NULL;
        size_t esig_len = 0, epem_len = 0;
        if (!s64 || !v64 ||
            cocoimg__b64_decode(&esig, &esig_len, s64, strlen(s64), COCOIMG_B64_STD, "signature",
                                NULL) < 0 ||
            esig_len != sig_len || memcmp(esig, sig, sig_len) != 0)
            continue;
        sig_seen = true;
        if (cocoimg__b64_decode(&epem, &epem_len, v64, strlen(v64), COCOIMG_B64_STD, "verifier",
                                NULL) == 0 &&
            entry_key_matches(epem, epem_len, cert, key_pem, key_pem_len))
            match = true;
    }
    if (!sig_seen)
        return refuse(err, "the Rekor entry is for another signature%s%s", NULL, NULL);
    if (!match)
        return refuse(err, "the Rekor entry is for another %s%s",
                      cert ? "certificate" : "public key", NULL);
    cocoimg__digest d;
    int r = cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, payload, payload_len, err);
    if (r < 0)
        return r;
    char hex[129];
    cocoimg__digest_hex(&d, hex);
    if (strcmp(alg, "sha256") != 0 || strcmp(hv, hex) != 0)
        return refuse(err, "the Rekor entry is for another payload (hash %.20s:%.70s)", alg, hv);
    return 0;
}

int
cocoimg__sigstore_verify_set(int64_t *time_out, const uint8_t *rekor_pem, size_t rekor_len,
                             const char *bundle, X509 *cert, const uint8_t *key_pem,
                             size_t key_pem_len, const uint8_t *sig, size_t sig_len,
                             const uint8_t *payload, size_t payload_len, cocoimg_error **err)
{
    if (!bundle)
        return refuse(err, "no Rekor SET (no dev.sigstore.cosign/bundle annotation)%s%s", NULL,
                      NULL);
    _cleanup_json_ json_t *b = NULL;
    _cleanup_error_ cocoimg_error *e = NULL;
    if (cocoimg__json_loadb(&b, bundle, strlen(bundle), MAX_BUNDLE, true, "Rekor bundle", &e) < 0)
        return refuse(err, "%s%s", cocoimg_error_message(e), NULL);
    const char *set64 = cocoimg__json_str(b, "SignedEntryTimestamp");
    const json_t *pl = json_object_get(b, "Payload");
    if (!set64 || !json_is_object(pl))
        return refuse(err, "no Rekor SET (the bundle lacks SignedEntryTimestamp or Payload)%s%s",
                      NULL, NULL);
    _cleanup_free_ uint8_t *set = NULL;
    size_t set_len = 0;
    if (cocoimg__b64_decode(&set, &set_len, set64, strlen(set64), COCOIMG_B64_STD,
                            "SignedEntryTimestamp", NULL) < 0)
        return refuse(err, "SET signature invalid (not base64)%s%s", NULL, NULL);
    _cleanup_free_ char *canon_pl = NULL;
    size_t canon_len = 0;
    int r = cocoimg__jcs(&canon_pl, &canon_len, pl, &e);
    if (r == COCOIMG_ENOMEM)
        return cocoimg__error_oom(err);
    if (r < 0)
        return refuse(err, "Rekor bundle payload: %s%s", cocoimg_error_message(e), NULL);
    if (!set_sig_ok(rekor_pem, rekor_len, canon_pl, canon_len, set, set_len))
        return refuse(err,
                      "SET signature invalid (not made by the policy's Rekor keys over "
                      "this entry)%s%s",
                      NULL, NULL);
    /* from here on only the verified canonical bytes are read */
    _cleanup_json_ json_t *vp = NULL;
    if (cocoimg__json_loadb(&vp, canon_pl, canon_len, MAX_BUNDLE, true, "Rekor SET payload", &e) <
        0)
        return refuse(err, "%s%s", cocoimg_error_message(e), NULL);
    const char *body64 = cocoimg__json_str(vp, "body");
    const json_t *it = json_object_get(vp, "integratedTime");
    if (!body64 || !json_is_integer(it) || !json_is_integer(json_object_get(vp, "logIndex")) ||
        !cocoimg__json_str(vp, "logID"))
        return refuse(err, "Rekor SET payload lacks body, integratedTime, logIndex or logID%s%s",
                      NULL, NULL);
    _cleanup_free_ uint8_t *body = NULL;
    size_t body_len = 0;
    _cleanup_json_ json_t *ent = NULL;
    if (cocoimg__b64_decode(&body, &body_len, body64, strlen(body64), COCOIMG_B64_STD, "body",
                            NULL) < 0 ||
        cocoimg__json_loadb(&ent, body, body_len, MAX_BUNDLE, true, "Rekor entry", &e) < 0)
        return refuse(err, "the Rekor entry body is not base64 JSON%s%s", NULL, NULL);
    const char *kind = cocoimg__json_str(ent, "kind"), *ver = cocoimg__json_str(ent, "apiVersion");
    if (kind && ver && strcmp(kind, "dsse") == 0 && strcmp(ver, "0.0.1") == 0) {
        if ((r = dsse_entry_matches(ent, cert, key_pem, key_pem_len, sig, sig_len, payload,
                                    payload_len, err)) < 0)
            return r;
        *time_out = (int64_t)json_integer_value(it);
        return 0;
    }
    if (!kind || !ver || (strcmp(kind, "hashedrekord") != 0 && strcmp(kind, "rekord") != 0) ||
        strcmp(ver, "0.0.1") != 0)
        return refuse(err, "unsupported Rekor entry kind %.60s version %.20s", kind ? kind : "?",
                      ver ? ver : "?");
    const json_t *sc = path_get(ent, "spec", "signature", "content");
    const json_t *pk = path_get(ent, "spec", "signature", "publicKey");
    const json_t *hash = path_get(ent, "spec", "data", "hash");
    const char *alg = cocoimg__json_str(hash, "algorithm"), *hv = cocoimg__json_str(hash, "value");
    const char *pkc = cocoimg__json_str(pk, "content");
    if (!json_is_string(sc) || !pkc || !alg || !hv)
        return refuse(err, "the Rekor entry lacks its signature, public key or hash%s%s", NULL,
                      NULL);
    _cleanup_free_ uint8_t *esig = NULL, *epem = NULL;
    size_t esig_len = 0, epem_len = 0;
    if (cocoimg__b64_decode(&esig, &esig_len, json_string_value(sc), json_string_length(sc),
                            COCOIMG_B64_STD, "signature", NULL) < 0 ||
        esig_len != sig_len || memcmp(esig, sig, sig_len) != 0)
        return refuse(err, "the Rekor entry is for another signature%s%s", NULL, NULL);
    if (cocoimg__b64_decode(&epem, &epem_len, pkc, strlen(pkc), COCOIMG_B64_STD, "public key",
                            NULL) < 0 ||
        !entry_key_matches(epem, epem_len, cert, key_pem, key_pem_len))
        return refuse(err, "the Rekor entry is for another %s%s",
                      cert ? "certificate" : "public key", NULL);
    cocoimg__digest d;
    if ((r = cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, payload, payload_len, err)) < 0)
        return r;
    char hex[129];
    cocoimg__digest_hex(&d, hex);
    if (strcmp(alg, "sha256") != 0 || strcmp(hv, hex) != 0)
        return refuse(err, "the Rekor entry is for another payload (hash %.20s:%.70s)", alg, hv);
    *time_out = (int64_t)json_integer_value(it);
    return 0;
}

/* ---- the cosign entry point --------------------------------------------- */

int
cocoimg__sigstore_verify_cosign(const cocoimg__requirement *rq, const cocoimg__cosign_sig *s,
                                cocoimg_error **err)
{
    if (!s->cert)
        return refuse(err, "no certificate (dev.sigstore.cosign/certificate annotation)%s%s", NULL,
                      NULL);
    if (!s->sig || !s->sig_len)
        return refuse(err, "no (valid base64) signature annotation%s%s", NULL, NULL);
    _cleanup_x509_ X509 *leaf = NULL;
    int r = cocoimg__sigstore_parse_cert(&leaf, s->cert, err);
    if (r < 0)
        return r;
    return cocoimg__sigstore_verify_cert_signature(rq, leaf, s->chain, s->bundle, s->sig,
                                                   s->sig_len, s->payload, s->payload_len,
                                                   s->payload, s->payload_len, err);
}

int
cocoimg__sigstore_verify_cert_signature(const cocoimg__requirement *rq, X509 *leaf,
                                        const char *chain, const char *rekor_bundle,
                                        const uint8_t *sig, size_t sig_len,
                                        const uint8_t *signed_msg, size_t signed_len,
                                        const uint8_t *logged, size_t logged_len,
                                        cocoimg_error **err)
{
    int r;
    time_t at = 0;
    if (rq->has_pki && rq->rekor_keys.set) /* the policy parser refuses this */
        return refuse(err, "pki cannot be combined with Rekor keys%s%s", NULL, NULL);
    if (rq->rekor_keys.set) {
        _cleanup_free_ uint8_t *rk = NULL;
        size_t rk_len = 0;
        if ((r = cocoimg__sigstore_load_source(&rk, &rk_len, &rq->rekor_keys, err)) < 0)
            return cocoimg__error_wrap(err, r, "rekorPublicKey");
        int64_t t = 0;
        if ((r = cocoimg__sigstore_verify_set(&t, rk, rk_len, rekor_bundle, leaf, NULL, 0, sig,
                                              sig_len, logged, logged_len, err)) < 0)
            return r;
        at = (time_t)t;
    } else if (rq->has_fulcio) {
        return refuse(err, "no Rekor keys in the policy for a fulcio requirement%s%s", NULL, NULL);
    }
    if (rq->has_fulcio) {
        _cleanup_free_ uint8_t *ca = NULL;
        size_t ca_len = 0;
        if ((r = cocoimg__sigstore_load_source(&ca, &ca_len, &rq->fulcio_ca, err)) < 0)
            return cocoimg__error_wrap(err, r, "fulcio CA");
        r = cocoimg__sigstore_verify_fulcio(leaf, ca, ca_len, chain, rq->fulcio_oidc_issuer,
                                            rq->fulcio_subject_email, at, err);
    } else {
        _cleanup_free_ uint8_t *roots = NULL, *inter = NULL;
        size_t roots_len = 0, inter_len = 0;
        if ((r = cocoimg__sigstore_load_source(&roots, &roots_len, &rq->pki_roots, err)) < 0 ||
            (r = cocoimg__sigstore_load_source(&inter, &inter_len, &rq->pki_intermediates, err)) <
                0)
            return cocoimg__error_wrap(err, r, "pki certificates");
        /* PKI is checked at the current time, as containers/image does */
        r = cocoimg__sigstore_verify_chain(leaf, roots, roots_len, inter, inter_len, chain, 0,
                                           "the policy's PKI roots", err);
        if (r == 0 && rq->pki_subject_email)
            r = check_email(leaf, rq->pki_subject_email, err);
        if (r == 0 && rq->pki_subject_hostname) {
            const char *h = rq->pki_subject_hostname;
            int ok = X509_check_ip_asc(leaf, h, 0);
            if (ok < 0)
                ok = X509_check_host(leaf, h, strlen(h), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL);
            ERR_clear_error();
            if (ok != 1)
                r = cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                       "subject hostname %.200s does not match the certificate", h);
        }
    }
    if (r < 0)
        return r;
    if (!cocoimg__cosign_verify_pkey(X509_get0_pubkey(leaf), signed_msg, signed_len, sig, sig_len))
        return refuse(err, "the signature does not verify with the certificate's key%s%s", NULL,
                      NULL);
    return 0;
}
