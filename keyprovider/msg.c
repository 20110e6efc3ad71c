/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The messages of the KBS protocol 0.4.0 (spec 1.2-1.6, 1.8): Request,
 * Challenge, the runtime data and its report_data, Attestation, the token
 * response and trustee's error bodies.  Everything read here comes from the
 * network: parsers are strict about types and bounded in size.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kbs_int.h"
#include "util/base64.h"

/* The nonce is opaque text (an SE request for IBM SE): bounded, not tiny. */
#define NONCE_MAX (64u * 1024)
/* Printable copies of server text in messages. */
#define DETAIL_MAX 512

static const cocoimg__kbs_hash hashes[] = {
    {"sha256", "SHA256", 32},
    {"sha384", "SHA384", 48},
    {"sha512", "SHA512", 64},
    {"sm3", "SM3", 32}, /* offered only when the OpenSSL build has it */
};

static bool
available(const cocoimg__kbs_hash *h)
{
    EVP_MD *md = EVP_MD_fetch(NULL, h->ossl, NULL);
    EVP_MD_free(md);
    return md != NULL;
}

const cocoimg__kbs_hash cocoimg__kbs_hash_default = {"sha384", "SHA384", 48};

const cocoimg__kbs_hash *
cocoimg__kbs_hash_find(const char *name)
{
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(hashes); i++)
        if (strcasecmp(name, hashes[i].name) == 0)
            return available(&hashes[i]) ? &hashes[i] : NULL;
    return NULL;
}

int
cocoimg__kbs_hash_names(json_t **out, cocoimg_error **err)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < COCOIMG_ARRAY_SIZE(hashes); i++)
        if (available(&hashes[i]) && json_array_append_new(a, json_string(hashes[i].name)) < 0) {
            json_decref(a);
            a = NULL;
        }
    if (!a)
        return cocoimg__error_oom(err);
    *out = a;
    return 0;
}

char *
cocoimg__kbs_printable(const void *s, size_t len, size_t max)
{
    const unsigned char *p = s;
    bool cut = len > max;
    size_t n = cut ? max : len;
    /* do not cut a UTF-8 sequence in two */
    while (cut && n > 0 && (p[n] & 0xc0) == 0x80)
        n--;
    char *o = malloc(n + 4);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++)
        o[i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
    if (cut)
        memcpy(o + n, "...", 4);
    else
        o[n] = '\0';
    return o;
}

int
cocoimg__kbs_request_json(char **out, const char *version, const char *tee, cocoimg_error **err)
{
    json_t *algs = NULL;
    int r = cocoimg__kbs_hash_names(&algs, err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:{s:o}}", "version", version, "tee", tee,
                                         "extra-params", "supported-hash-algorithms", algs);
    if (!j)
        return cocoimg__error_oom(err);
    return cocoimg__json_dump(out, NULL, j, err);
}

void
cocoimg__kbs_challenge_clear(struct cocoimg__kbs_challenge *c)
{
    free(c->nonce);
    c->nonce = NULL;
    c->hash = NULL;
}

/* A JSON string without embedded NUL (it is sent back and hashed as text). */
static const char *
plain_string(const json_t *v)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

int
cocoimg__kbs_challenge_parse(struct cocoimg__kbs_challenge *out, const void *body, size_t len,
                             cocoimg_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, body, len, COCOIMG__KBS_BODY_MAX, true, "KBS challenge", err);
    if (r < 0)
        return r;
    const char *nonce = plain_string(json_object_get(j, "nonce"));
    if (!nonce || !*nonce)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "KBS challenge: no nonce");
    if (strlen(nonce) > NONCE_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "KBS challenge: nonce too long");
    /* extra-params: "" (or any string: older servers) or an object that may
     * select the report_data hash; the default is sha384 */
    const cocoimg__kbs_hash *h = &cocoimg__kbs_hash_default;
    json_t *extra = json_object_get(j, "extra-params");
    if (extra && !json_is_string(extra) && !json_is_object(extra) && !json_is_null(extra))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "KBS challenge: extra-params is neither a string nor an object");
    json_t *sel = json_object_get(extra, "selected-hash-algorithm");
    if (sel) {
        const char *name = plain_string(sel);
        if (!name)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "KBS challenge: selected-hash-algorithm is not a string");
        if (!(h = cocoimg__kbs_hash_find(name))) {
            _cleanup_free_ char *p = cocoimg__kbs_printable(name, strlen(name), 64);
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "KBS challenge selects hash algorithm '%s', which coco-img "
                                      "does not offer",
                                      p ? p : "?");
        }
    }
    char *n = strdup(nonce);
    if (!n)
        return cocoimg__error_oom(err);
    out->nonce = n;
    out->hash = h;
    return 0;
}

int
cocoimg__kbs_report_data(uint8_t out[COCOIMG__KBS_REPORT_DATA_MAX], size_t *out_len,
                         const cocoimg__kbs_hash *h, const char *nonce, const json_t *tee_pubkey,
                         const char *additional_evidence, cocoimg_error **err)
{
    _cleanup_json_ json_t *prd = json_pack("{s:O, s:s, s:s}", "tee-pubkey", tee_pubkey, "nonce",
                                           nonce, "additional-evidence", additional_evidence);
    if (!prd)
        return cocoimg__error_oom(err);
    _cleanup_free_ char *canon = NULL;
    size_t clen = 0;
    int r = cocoimg__jcs(&canon, &clen, prd, err);
    if (r < 0)
        return r;
    EVP_MD *md = EVP_MD_fetch(NULL, h->ossl, NULL);
    unsigned int n = 0;
    int ok = md && EVP_MD_get_size(md) == (int)h->len && h->len <= COCOIMG__KBS_REPORT_DATA_MAX &&
             EVP_Digest(canon, clen, out, &n, md, NULL) > 0 && n == h->len;
    EVP_MD_free(md);
    if (!ok)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "hash %s not available", h->name);
    *out_len = n;
    return 0;
}

int
cocoimg__kbs_attestation_json(char **out, const char *nonce, const json_t *tee_pubkey,
                              const json_t *evidence, const char *additional_evidence,
                              const char *init_data, cocoimg_error **err)
{
    json_t *init =
        init_data ? json_pack("{s:s, s:s}", "format", "toml", "body", init_data) : json_null();
    if (!init)
        return cocoimg__error_oom(err);
    /* kebab-case outside, snake_case inside tee-evidence: that is the wire */
    _cleanup_json_ json_t *j =
        json_pack("{s:o, s:{s:s, s:O}, s:{s:O, s:s}}", "init-data", init, "runtime-data", "nonce",
                  nonce, "tee-pubkey", tee_pubkey, "tee-evidence", "primary_evidence", evidence,
                  "additional_evidence", additional_evidence);
    if (!j)
        return cocoimg__error_oom(err);
    return cocoimg__json_dump(out, NULL, j, err);
}

static bool
is_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int
cocoimg__kbs_token_parse(char **token_out, json_t **claims_out, int64_t *exp_out, const void *body,
                         size_t len, cocoimg_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r =
        cocoimg__json_loadb(&j, body, len, COCOIMG__KBS_BODY_MAX, true, "KBS attest response", err);
    if (r < 0)
        return r;
    const char *tok = plain_string(json_object_get(j, "token"));
    if (!tok)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "KBS attest response: no token");
    /* JWS compact: header.claims.signature, base64url without padding */
    const char *d1 = strchr(tok, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || d1 == tok || d2 == d1 + 1 ||
        !is_b64url(tok, (size_t)(d1 - tok)) || !is_b64url(d1 + 1, (size_t)(d2 - d1 - 1)) ||
        !is_b64url(d2 + 1, strlen(d2 + 1)))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "KBS attest response: the token is not a compact JWT");
    _cleanup_free_ uint8_t *raw = NULL;
    size_t rlen = 0;
    if ((r = cocoimg__b64_decode(&raw, &rlen, d1 + 1, (size_t)(d2 - d1 - 1), COCOIMG_B64_URL,
                                 "token claims", err)) < 0)
        return r;
    _cleanup_json_ json_t *claims = NULL;
    if ((r = cocoimg__json_loadb(&claims, raw, rlen, COCOIMG__KBS_BODY_MAX, true, "token claims",
                                 err)) < 0)
        return r;
    int64_t exp = 0;
    json_t *e = json_object_get(claims, "exp");
    if (json_is_integer(e))
        exp = (int64_t)json_integer_value(e);
    else if (json_is_real(e) && json_real_value(e) > 0 && json_real_value(e) < 9e15)
        exp = (int64_t)json_real_value(e);
    else if (e)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "token claims: exp is not a number");
    if (e && exp <= 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "token claims: exp is not positive");
    char *t = strdup(tok);
    if (!t)
        return cocoimg__error_oom(err);
    *token_out = t;
    *claims_out = TAKE_PTR(claims);
    *exp_out = exp;
    return 0;
}

int
cocoimg__kbs_error_parse(char **name_out, char **detail_out, const void *body, size_t len,
                         cocoimg_error **err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, body, len, 64u * 1024, true, "KBS error", err);
    if (r < 0)
        return r;
    json_t *type = json_object_get(j, "type"), *detail = json_object_get(j, "detail");
    if (!json_is_string(type) || !json_is_string(detail))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "KBS error: not {\"type\", \"detail\"}");
    const char *t = json_string_value(type);
    size_t tl = json_string_length(type);
    size_t pl = strlen(COCOIMG__KBS_ERROR_PREFIX);
    if (tl > pl && strncmp(t, COCOIMG__KBS_ERROR_PREFIX, pl) == 0) {
        t += pl;
        tl -= pl;
    }
    _cleanup_free_ char *n = cocoimg__kbs_printable(t, tl, 128);
    char *d =
        cocoimg__kbs_printable(json_string_value(detail), json_string_length(detail), DETAIL_MAX);
    if (!n || !d) {
        free(d);
        return cocoimg__error_oom(err);
    }
    *name_out = TAKE_PTR(n);
    *detail_out = d;
    return 0;
}
