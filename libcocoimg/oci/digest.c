/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "oci/digest.h"

struct cocoimg__hasher {
    cocoimg__digest_alg alg;
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

static const struct {
    const char *name;     /* OCI algorithm identifier */
    const char *evp_name; /* OpenSSL fetch name */
    size_t len;
} algs[] = {
    [COCOIMG_DIGEST_SHA256] = {"sha256", "SHA2-256", 32},
    [COCOIMG_DIGEST_SHA512] = {"sha512", "SHA2-512", 64},
};

static bool
alg_valid(cocoimg__digest_alg alg)
{
    return (unsigned)alg < COCOIMG_ARRAY_SIZE(algs);
}

const char *
cocoimg__digest_alg_name(cocoimg__digest_alg alg)
{
    return alg_valid(alg) ? algs[alg].name : "unknown";
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* algorithm ::= component ([+._-] component)*, component ::= [a-z0-9]+ */
static bool
alg_well_formed(const char *s, size_t n)
{
    if (n == 0)
        return false;
    bool need_component = true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_lower_alnum(c)) {
            need_component = false;
        } else if (c == '+' || c == '.' || c == '_' || c == '-') {
            if (need_component)
                return false;
            need_component = true;
        } else {
            return false;
        }
    }
    return !need_component;
}

/* encoded ::= [a-zA-Z0-9=_-]+ */
static bool
encoded_well_formed(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '=' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not canonical and is rejected */
}

/* Untrusted input goes into one-line messages: keep it short and printable. */
static const char *
printable(char out[84], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 80; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        memcpy(out + i, "..", 2);
        i += 2;
    }
    out[i] = '\0';
    return out;
}

int
cocoimg__digest_parse(cocoimg__digest *out, const char *s, cocoimg_error **err)
{
    if (!s)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "digest: missing");
    char q[84];
    const char *colon = strchr(s, ':');
    if (!colon)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "digest '%s': missing ':'",
                                  printable(q, s));
    size_t alen = (size_t)(colon - s);
    const char *hex = colon + 1;
    if (!alg_well_formed(s, alen) || !encoded_well_formed(hex))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "digest '%s': malformed",
                                  printable(q, s));

    int alg = -1;
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(algs); i++)
        if (strlen(algs[i].name) == alen && memcmp(s, algs[i].name, alen) == 0)
            alg = (int)i;
    if (alg < 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "digest '%s': unsupported algorithm",
                                  printable(q, s));

    size_t len = algs[alg].len;
    if (strlen(hex) != 2 * len)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "digest '%s': %s needs %zu hex characters", printable(q, s),
                                  algs[alg].name, 2 * len);
    cocoimg__digest d = {.alg = (cocoimg__digest_alg)alg, .len = len};
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "digest '%s': not lowercase hex",
                                      printable(q, s));
        d.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = d;
    return 0;
}

void
cocoimg__digest_hex(const cocoimg__digest *d, char out[129])
{
    static const char digits[] = "0123456789abcdef";
    size_t len = d->len <= sizeof(d->bytes) ? d->len : sizeof(d->bytes);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[d->bytes[i] >> 4];
        out[2 * i + 1] = digits[d->bytes[i] & 0xf];
    }
    out[2 * len] = '\0';
}

void
cocoimg__digest_format(const cocoimg__digest *d, char out[COCOIMG_DIGEST_STRMAX])
{
    /* Longest result: "sha512:" + 128 hex + NUL == COCOIMG_DIGEST_STRMAX. */
    const char *name = alg_valid(d->alg) ? algs[d->alg].name : "sha256";
    size_t n = strlen(name);
    memcpy(out, name, n);
    out[n] = ':';
    cocoimg__digest_hex(d, out + n + 1);
}

bool
cocoimg__digest_equal(const cocoimg__digest *a, const cocoimg__digest *b)
{
    if (a->alg != b->alg || a->len != b->len || a->len > sizeof(a->bytes))
        return false;
    return CRYPTO_memcmp(a->bytes, b->bytes, a->len) == 0;
}

void
cocoimg__hasher_free(cocoimg__hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

int
cocoimg__hasher_reset(cocoimg__hasher *h, cocoimg_error **err)
{
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "%s: digest init failed",
                                  algs[h->alg].name);
    return 0;
}

int
cocoimg__hasher_new(cocoimg__hasher **out, cocoimg__digest_alg alg, cocoimg_error **err)
{
    if (!alg_valid(alg))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "digest algorithm %d", (int)alg);
    _cleanup_(cocoimg__hasher_freep) cocoimg__hasher *h = calloc(1, sizeof(*h));
    if (!h)
        return cocoimg__error_oom(err);
    h->alg = alg;
    /* Fetch once per hasher so reset/update never repeat the provider lookup. */
    h->md = EVP_MD_fetch(NULL, algs[alg].evp_name, NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "%s: digest unavailable", algs[alg].name);
    int r = cocoimg__hasher_reset(h, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(h);
    return 0;
}

int
cocoimg__hasher_update(cocoimg__hasher *h, const void *buf, size_t len, cocoimg_error **err)
{
    if (len && EVP_DigestUpdate(h->ctx, buf, len) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "%s: digest update failed",
                                  algs[h->alg].name);
    return 0;
}

int
cocoimg__hasher_final(cocoimg__hasher *h, cocoimg__digest *out, cocoimg_error **err)
{
    unsigned int n = 0;
    cocoimg__digest d = {.alg = h->alg, .len = algs[h->alg].len};
    if (EVP_DigestFinal_ex(h->ctx, d.bytes, &n) != 1 || n != d.len)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "%s: digest final failed",
                                  algs[h->alg].name);
    *out = d;
    /* Leave the hasher ready for reuse, as documented. */
    return cocoimg__hasher_reset(h, err);
}

int
cocoimg__digest_buffer(cocoimg__digest *out, cocoimg__digest_alg alg, const void *buf, size_t len,
                       cocoimg_error **err)
{
    _cleanup_(cocoimg__hasher_freep) cocoimg__hasher *h = NULL;
    int r = cocoimg__hasher_new(&h, alg, err);
    if (r < 0)
        return r;
    r = cocoimg__hasher_update(h, buf, len, err);
    if (r < 0)
        return r;
    return cocoimg__hasher_final(h, out, err);
}
