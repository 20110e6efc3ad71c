/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privopts / pubopts JSON of the ocicrypt block cipher (spec section 2).
 * Output is byte-identical to Go's encoding/json; input is parsed with Go's
 * leniency, narrowed where ambiguity or wrong lengths could hurt.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "crypt/blockcipher.h"
#include "util/base64.h"
#include "util/json.h"

void
cocoimg__privopts_free(cocoimg__privopts *p)
{
    if (!p)
        return;
    cocoimg__secret_free(p->symkey);
    free(p->digest);
    cocoimg__wipe(p, sizeof(*p));
    free(p);
}

void
cocoimg__pubopts_free(cocoimg__pubopts *p)
{
    free(p);
}

void
cocoimg__layer_options_free(cocoimg__layer_options *o)
{
    if (!o)
        return;
    cocoimg__secret_free(o->symkey);
    free(o->digest);
    cocoimg__wipe(o, sizeof(*o));
    free(o);
}

int
cocoimg__layer_options_new(cocoimg__layer_options **out, const uint8_t *key, size_t key_len,
                           const uint8_t nonce[COCOIMG__NONCE_LEN], const uint8_t *hmac,
                           cocoimg_error **err)
{
    if (key_len != COCOIMG__SYMKEY_LEN)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "invalid key length of %zu bytes; need %d bytes", key_len,
                                  COCOIMG__SYMKEY_LEN);
    _cleanup_layer_options_ cocoimg__layer_options *o = calloc(1, sizeof(*o));
    if (!o)
        return cocoimg__error_oom(err);
    int r = cocoimg__secret_dup(&o->symkey, key, key_len, err);
    if (r < 0)
        return r;
    memcpy(o->nonce, nonce, COCOIMG__NONCE_LEN);
    if (hmac) {
        memcpy(o->hmac, hmac, COCOIMG__HMAC_LEN);
        o->has_hmac = true;
    }
    *out = TAKE_PTR(o);
    return 0;
}

int
cocoimg__layer_options_generate(cocoimg__layer_options **out, cocoimg_error **err)
{
    _cleanup_layer_options_ cocoimg__layer_options *o = calloc(1, sizeof(*o));
    if (!o)
        return cocoimg__error_oom(err);
    int r = cocoimg__secret_new(&o->symkey, COCOIMG__SYMKEY_LEN, err);
    if (r < 0)
        return r;
    /* the key comes from the private DRBG, the public nonce from the public one */
    if (RAND_priv_bytes(o->symkey->ptr, COCOIMG__SYMKEY_LEN) != 1 ||
        RAND_bytes(o->nonce, COCOIMG__NONCE_LEN) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "random generator failed");
    *out = TAKE_PTR(o);
    return 0;
}

int
cocoimg__layer_options_set_digest(cocoimg__layer_options *o, const char *digest,
                                  cocoimg_error **err)
{
    char *d = NULL;
    if (digest && !(d = strdup(digest)))
        return cocoimg__error_oom(err);
    free(o->digest);
    o->digest = d;
    return 0;
}

/* --- Go encoding/json output ------------------------------------------- */

/*
 * Length of the UTF-8 sequence at @p s (1..4), or 0 if it is invalid
 * (overlong, surrogate, beyond U+10FFFF, truncated).
 */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/*
 * Write the JSON string literal of @p s as Go >= 1.22 encoding/json does
 * (HTML-safe: <, >, & and U+2028/U+2029 escaped; \b \f \n \r \t short
 * forms; other controls \u00xx).  With @p dst NULL only count.  Returns the
 * length, or -1 if @p s is not valid UTF-8 (Go would substitute U+FFFD;
 * we refuse to write something other than what we were given).
 */
static ssize_t
go_json_string(char *dst, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t avail = strlen(s), n = 0;
    char tmp[6];

#define EMIT(str, l)                                                                               \
    do {                                                                                           \
        if (dst)                                                                                   \
            memcpy(dst + n, (str), (l));                                                           \
        n += (l);                                                                                  \
    } while (0)

    EMIT("\"", 1);
    while (avail) {
        unsigned char c = *p;
        size_t l = utf8_seq(p, avail);
        if (l == 0)
            return -1;
        if (l == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            EMIT(p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
        } else if (l > 1) {
            EMIT(p, l);
        } else if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            EMIT(tmp, 2);
        } else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
            tmp[0] = '\\';
            tmp[1] = c == '\b' ? 'b' : c == '\f' ? 'f' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            EMIT(tmp, 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 0xf];
            EMIT(tmp, 6);
        } else {
            EMIT(p, 1);
        }
        p += l;
        avail -= l;
    }
    EMIT("\"", 1);
#undef EMIT
    return (ssize_t)n;
}

int
cocoimg__privopts_json(cocoimg__secret **out, const cocoimg__layer_options *o, cocoimg_error **err)
{
    static const char p1[] = "{\"symkey\":\"",
                      p2[] = "\",\"digest\":", p3[] = ",\"cipheroptions\":{\"nonce\":\"",
                      p4[] = "\"}}";
    const char *digest = o->digest ? o->digest : "";
    ssize_t dlen = go_json_string(NULL, digest);
    if (dlen < 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "privopts: digest is not valid UTF-8");
    if (!o->symkey || o->symkey->len != COCOIMG__SYMKEY_LEN)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "privopts: key must be %d bytes",
                                  COCOIMG__SYMKEY_LEN);

    char *key_b64 = NULL;
    _cleanup_free_ char *nonce_b64 = NULL;
    int r = cocoimg__b64_encode(&key_b64, o->symkey->ptr, o->symkey->len, COCOIMG_B64_STD, err);
    if (r < 0)
        return r;
    r = cocoimg__b64_encode(&nonce_b64, o->nonce, COCOIMG__NONCE_LEN, COCOIMG_B64_STD, err);
    if (r < 0) {
        cocoimg__free_wipe_str(key_b64);
        return r;
    }
    size_t klen = strlen(key_b64), nlen = strlen(nonce_b64);
    size_t total = sizeof(p1) - 1 + klen + sizeof(p2) - 1 + (size_t)dlen + sizeof(p3) - 1 + nlen +
                   sizeof(p4) - 1;
    cocoimg__secret *s = NULL;
    r = cocoimg__secret_new(&s, total, err);
    if (r < 0) {
        cocoimg__free_wipe_str(key_b64);
        return r;
    }
    char *w = (char *)s->ptr;
    memcpy(w, p1, sizeof(p1) - 1), w += sizeof(p1) - 1;
    memcpy(w, key_b64, klen), w += klen;
    memcpy(w, p2, sizeof(p2) - 1), w += sizeof(p2) - 1;
    w += go_json_string(w, digest);
    memcpy(w, p3, sizeof(p3) - 1), w += sizeof(p3) - 1;
    memcpy(w, nonce_b64, nlen), w += nlen;
    memcpy(w, p4, sizeof(p4) - 1);
    cocoimg__free_wipe_str(key_b64);
    *out = s;
    return 0;
}

int
cocoimg__pubopts_json(char **out, size_t *len_out, const cocoimg__layer_options *o,
                      cocoimg_error **err)
{
    if (!o->has_hmac)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "pubopts: no HMAC (layer not encrypted yet)");
    _cleanup_free_ char *hmac_b64 = NULL;
    int r = cocoimg__b64_encode(&hmac_b64, o->hmac, COCOIMG__HMAC_LEN, COCOIMG_B64_STD, err);
    if (r < 0)
        return r;
    char *s = NULL;
    int n = asprintf(&s, "{\"cipher\":\"%s\",\"hmac\":\"%s\",\"cipheroptions\":{}}",
                     COCOIMG__CIPHER_AES_CTR_HMAC, hmac_b64);
    if (n < 0)
        return cocoimg__error_oom(err);
    if (len_out)
        *len_out = (size_t)n;
    *out = s;
    return 0;
}

int
cocoimg__pubopts_annotation(char **out, const cocoimg__layer_options *o, cocoimg_error **err)
{
    _cleanup_free_ char *json = NULL;
    size_t len;
    int r = cocoimg__pubopts_json(&json, &len, o, err);
    if (r < 0)
        return r;
    return cocoimg__b64_encode(out, json, len, COCOIMG_B64_STD, err);
}

/* --- Go encoding/json input -------------------------------------------- */

/*
 * Does the JSON key @p k (length @p klen) match the field tag @p field
 * (lower-case ASCII) the way Go matches struct fields?  ASCII letters fold
 * case; U+017F folds to 's' and U+212A (Kelvin) to 'k' in every Go version.
 */
static bool
go_key_matches(const char *k, size_t klen, const char *field)
{
    const unsigned char *p = (const unsigned char *)k, *end = p + klen;
    for (; *field; field++) {
        if (p == end)
            return false;
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c == (unsigned char)*field) {
            p++;
        } else if (*field == 's' && end - p >= 2 && p[0] == 0xc5 && p[1] == 0xbf) {
            p += 2;
        } else if (*field == 'k' && end - p >= 3 && p[0] == 0xe2 && p[1] == 0x84 && p[2] == 0xaa) {
            p += 3;
        } else {
            return false;
        }
    }
    return p == end;
}

/*
 * Find the member of @p obj matching @p field (Go rules).  Two members
 * matching the same field are refused: Go would take the last one, but a
 * parser differential over which key holds the key is not worth having.
 */
static int
go_field(json_t **out, json_t *obj, const char *field, const char *what, cocoimg_error **err)
{
    const char *k;
    size_t klen;
    json_t *v, *found = NULL;
    *out = NULL;
    json_object_keylen_foreach(obj, k, klen, v)
    {
        if (!go_key_matches(k, klen, field))
            continue;
        if (found)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: more than one key matches '%s'",
                                      what, field);
        found = v;
    }
    *out = found;
    return 0;
}

#define ANY_LEN SIZE_MAX

/* A Go string field: absent or null -> "", must otherwise be a string without NUL. */
static int
go_string(char **out, json_t *v, const char *what, const char *field, cocoimg_error **err)
{
    const char *s = "";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be a string", what,
                                      field);
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' contains NUL", what,
                                      field);
    }
    if (!(*out = strdup(s)))
        return cocoimg__error_oom(err);
    return 0;
}

/*
 * A Go []byte field: null or absent -> empty; a padded standard base64
 * string (Go's decoder skips CR and LF); or an array of integers 0..255.
 * Decodes into @p dst, which holds @p want bytes; any other length fails.
 * @p want == ANY_LEN only validates (Go rejects a malformed map value too).
 * The JSON string is wiped afterwards (it may be key material).
 */
static int
go_bytes(uint8_t *dst, size_t want, bool *present, json_t *v, const char *what, const char *field,
         cocoimg_error **err)
{
    if (present)
        *present = false;
    if (!v)
        return 0;
    _cleanup_secret_ cocoimg__secret *b = NULL;
    int r = cocoimg__json_go_bytes(&b, v, what, field, err);
    if (r < 0)
        return r;
    size_t got = b ? b->len : 0;
    if (want != ANY_LEN && got != want)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be %zu bytes, not %zu",
                                  what, field, want, got);
    if (dst && got)
        memcpy(dst, b->ptr, got);
    if (present)
        *present = true;
    return 0;
}

/*
 * cipheroptions: map[string][]byte.  Absent or null is an empty map; every
 * value must decode as []byte (Go fails otherwise); only "nonce" (exact
 * key, as for Go maps) is used.
 */
static int
go_cipheroptions(bool *has_nonce, uint8_t nonce[COCOIMG__NONCE_LEN], json_t *obj, const char *what,
                 cocoimg_error **err)
{
    json_t *co;
    int r = go_field(&co, obj, "cipheroptions", what, err);
    if (r < 0)
        return r;
    *has_nonce = false;
    if (!co || json_is_null(co))
        return 0;
    if (!json_is_object(co))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'cipheroptions' must be an object",
                                  what);
    const char *k;
    json_t *v;
    json_object_foreach(co, k, v)
    {
        if (strcmp(k, "nonce") == 0) {
            /* present but null or empty is an error: ocicrypt would use it and panic */
            r = go_bytes(nonce, COCOIMG__NONCE_LEN, has_nonce, v, what, "nonce", err);
            if (r < 0)
                return r;
        } else if ((r = go_bytes(NULL, ANY_LEN, NULL, v, what, "cipheroptions", err)) < 0) {
            return r;
        }
    }
    return 0;
}

int
cocoimg__privopts_parse(cocoimg__privopts **out, const void *json, size_t len, cocoimg_error **err)
{
    static const char what[] = "privopts";
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, json, len, COCOIMG__OPTS_JSON_MAX, true, what, err);
    if (r < 0)
        return r;
    _cleanup_privopts_ cocoimg__privopts *p = calloc(1, sizeof(*p));
    if (!p)
        return cocoimg__error_oom(err);
    json_t *v;
    if ((r = go_field(&v, j, "symkey", what, err)) < 0)
        return r;
    if (!v)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: no 'symkey'", what);
    if ((r = cocoimg__secret_new(&p->symkey, COCOIMG__SYMKEY_LEN, err)) < 0)
        return r;
    if ((r = go_bytes(p->symkey->ptr, COCOIMG__SYMKEY_LEN, NULL, v, what, "symkey", err)) < 0)
        return r;
    if ((r = go_field(&v, j, "digest", what, err)) < 0 ||
        (r = go_string(&p->digest, v, what, "digest", err)) < 0)
        return r;
    if ((r = go_cipheroptions(&p->has_nonce, p->nonce, j, what, err)) < 0)
        return r;
    *out = TAKE_PTR(p);
    return 0;
}

int
cocoimg__pubopts_parse(cocoimg__pubopts **out, const void *json, size_t len, cocoimg_error **err)
{
    static const char what[] = "pubopts";
    _cleanup_json_ json_t *j = NULL;
    int r = cocoimg__json_loadb(&j, json, len, COCOIMG__OPTS_JSON_MAX, true, what, err);
    if (r < 0)
        return r;
    _cleanup_pubopts_ cocoimg__pubopts *p = calloc(1, sizeof(*p));
    if (!p)
        return cocoimg__error_oom(err);
    json_t *v;
    _cleanup_free_ char *cipher = NULL;
    if ((r = go_field(&v, j, "cipher", what, err)) < 0 ||
        (r = go_string(&cipher, v, what, "cipher", err)) < 0)
        return r;
    if (!*cipher)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: no cipher type provided", what);
    if (strcmp(cipher, COCOIMG__CIPHER_AES_CTR_HMAC) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "%s: unsupported cipher type", what);
    if ((r = go_field(&v, j, "hmac", what, err)) < 0)
        return r;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
        (json_is_array(v) && json_array_size(v) == 0))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: no 'hmac'", what);
    if ((r = go_bytes(p->hmac, COCOIMG__HMAC_LEN, NULL, v, what, "hmac", err)) < 0)
        return r;
    if ((r = go_cipheroptions(&p->has_nonce, p->nonce, j, what, err)) < 0)
        return r;
    *out = TAKE_PTR(p);
    return 0;
}

int
cocoimg__pubopts_annotation_parse(cocoimg__pubopts **out, const char *value, cocoimg_error **err)
{
    size_t len = strlen(value), j = 0;
    /* base64 of a 64 KiB document, plus slack for line breaks */
    if (len > 2 * COCOIMG__OPTS_JSON_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "pubopts annotation: %zu bytes is too long", len);
    _cleanup_free_ char *clean = malloc(len + 1);
    if (!clean)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < len; i++)
        if (value[i] != '\r' && value[i] != '\n')
            clean[j++] = value[i];
    clean[j] = '\0';
    _cleanup_free_ uint8_t *json = NULL;
    size_t json_len;
    int r =
        cocoimg__b64_decode(&json, &json_len, clean, j, COCOIMG_B64_STD, "pubopts annotation", err);
    if (r < 0)
        return r;
    return cocoimg__pubopts_parse(out, json, json_len, err);
}

int
cocoimg__layer_options_combine(cocoimg__layer_options **out, const cocoimg__privopts *priv,
                               const cocoimg__pubopts *pub, cocoimg_error **err)
{
    /*
     * The nonce comes only from the wrapped (authenticated) private options:
     * a nonce in the public options is unauthenticated, anyone on the way
     * could set it (issue 12), so it is never used, not even as a fallback.
     */
    (void)pub->has_nonce;
    const uint8_t *nonce = priv->has_nonce ? priv->nonce : NULL;
    if (!nonce)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "layer options: no nonce in the private options");
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    int r =
        cocoimg__layer_options_new(&o, priv->symkey->ptr, priv->symkey->len, nonce, pub->hmac, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__layer_options_set_digest(o, priv->digest, err)) < 0)
        return r;
    *out = TAKE_PTR(o);
    return 0;
}
