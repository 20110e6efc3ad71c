/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 8785 JSON Canonicalization Scheme over jansson values: the bytes the
 * KBS hashes into report_data (spec 1.5).  jansson's own JSON_SORT_KEYS is
 * not enough: it sorts by UTF-8 bytes (JCS sorts by UTF-16 code units),
 * escapes control characters in upper-case hex and renders reals with %g.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/jcs.h"

/* Nesting bound: canonical forms of hostile input must not exhaust the stack. */
#define JCS_MAX_DEPTH 64

static void
puts_(struct cocoimg__strbuf *b, const char *s)
{
    cocoimg__strbuf_put(b, s, strlen(s));
}

/* Next code point of valid UTF-8 (jansson validated it) at *s; advances *s. */
static uint32_t
next_cp(const unsigned char **s, const unsigned char *end)
{
    const unsigned char *p = *s;
    uint32_t c = *p++;
    int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (more)
        c &= 0x3fu >> more;
    while (more-- > 0 && p < end)
        c = (c << 6) | (*p++ & 0x3fu);
    *s = p;
    return c;
}

/* Compare two keys by their UTF-16 code units (RFC 8785 3.2.3). */
static int
cmp_utf16(const char *a, const char *b)
{
    const unsigned char *pa = (const unsigned char *)a, *ea = pa + strlen(a);
    const unsigned char *pb = (const unsigned char *)b, *eb = pb + strlen(b);
    uint32_t qa = 0, qb = 0; /* pending low surrogates */
    for (;;) {
        uint32_t ua, ub;
        if (qa) {
            ua = qa;
            qa = 0;
        } else if (pa < ea) {
            ua = next_cp(&pa, ea);
            if (ua >= 0x10000) {
                qa = 0xdc00 + ((ua - 0x10000) & 0x3ff);
                ua = 0xd800 + ((ua - 0x10000) >> 10);
            }
        } else {
            ua = UINT32_MAX;
        }
        if (qb) {
            ub = qb;
            qb = 0;
        } else if (pb < eb) {
            ub = next_cp(&pb, eb);
            if (ub >= 0x10000) {
                qb = 0xdc00 + ((ub - 0x10000) & 0x3ff);
                ub = 0xd800 + ((ub - 0x10000) >> 10);
            }
        } else {
            ub = UINT32_MAX;
        }
        if (ua == UINT32_MAX || ub == UINT32_MAX) {
            if (ua == ub)
                return 0;
            return ua == UINT32_MAX ? -1 : 1; /* the shorter one first */
        }
        if (ua != ub)
            return ua < ub ? -1 : 1;
    }
}

static int
cmp_keys(const void *a, const void *b)
{
    return cmp_utf16(*(const char *const *)a, *(const char *const *)b);
}

static void
put_string(struct cocoimg__strbuf *b, const char *s, size_t n)
{
    cocoimg__strbuf_put(b, "\"", 1);
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20) {
                snprintf(hex, sizeof(hex), "\\u%04x", c);
                esc = hex;
            }
        }
        if (esc) {
            cocoimg__strbuf_put(b, s + i - run, run);
            run = 0;
            puts_(b, esc);
        } else {
            run++;
        }
    }
    cocoimg__strbuf_put(b, s + n - run, run);
    cocoimg__strbuf_put(b, "\"", 1);
}

/*
 * ECMAScript Number::toString (ECMA-262 7.1.12.1) for a finite double: the
 * shortest digit string that reads back as @p v, placed as the
 * specification says.
 */
static void
put_double(struct cocoimg__strbuf *b, double v)
{
    if (v == 0) {
        puts_(b, "0"); /* -0 too */
        return;
    }
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp = [-]D[.DDD]e(+|-)XX */
    const char *p = tmp;
    if (*p == '-') {
        cocoimg__strbuf_put(b, "-", 1);
        p++;
    }
    char digits[24];
    size_t k = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && k < sizeof(digits) - 1)
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    long n = (*p == 'e' ? strtol(p + 1, NULL, 10) : 0) + 1;
    char out[64];
    int ik = (int)k;
    if (ik <= n && n <= 21) {
        snprintf(out, sizeof(out), "%s%.*s", digits, (int)(n - ik), "000000000000000000000");
    } else if (0 < n && n <= 21) {
        snprintf(out, sizeof(out), "%.*s.%s", (int)n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        snprintf(out, sizeof(out), "0.%.*s%s", (int)-n, "000000", digits);
    } else {
        long e = n - 1;
        if (k > 1)
            snprintf(out, sizeof(out), "%c.%se%c%ld", digits[0], digits + 1, e < 0 ? '-' : '+',
                     e < 0 ? -e : e);
        else
            snprintf(out, sizeof(out), "%ce%c%ld", digits[0], e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    puts_(b, out);
}

static int
emit(struct cocoimg__strbuf *b, const json_t *v, int depth, cocoimg_error **err)
{
    if (depth > JCS_MAX_DEPTH)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "JSON nested too deeply");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
        if (n && !keys)
            return cocoimg__error_oom(err);
        size_t i = 0;
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) keys[i++] = k;
        if (n)
            qsort(keys, n, sizeof(*keys), cmp_keys);
        cocoimg__strbuf_put(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i)
                cocoimg__strbuf_put(b, ",", 1);
            put_string(b, keys[i], strlen(keys[i]));
            cocoimg__strbuf_put(b, ":", 1);
            int r = emit(b, json_object_get(v, keys[i]), depth + 1, err);
            if (r < 0) {
                free(keys);
                return r;
            }
        }
        free(keys);
        cocoimg__strbuf_put(b, "}", 1);
        return 0;
    }
    case JSON_ARRAY: {
        cocoimg__strbuf_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                cocoimg__strbuf_put(b, ",", 1);
            int r = emit(b, json_array_get(v, i), depth + 1, err);
            if (r < 0)
                return r;
        }
        cocoimg__strbuf_put(b, "]", 1);
        return 0;
    }
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        return 0;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        /* beyond 2^53 an ECMAScript number is a rounded double */
        if (i > ((json_int_t)1 << 53) || i < -((json_int_t)1 << 53)) {
            put_double(b, (double)i);
        } else {
            char s[32];
            snprintf(s, sizeof(s), "%" JSON_INTEGER_FORMAT, i);
            puts_(b, s);
        }
        return 0;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "JSON number is not finite");
        put_double(b, d);
        return 0;
    }
    case JSON_TRUE:
        puts_(b, "true");
        return 0;
    case JSON_FALSE:
        puts_(b, "false");
        return 0;
    case JSON_NULL:
        puts_(b, "null");
        return 0;
    }
    return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unknown JSON value");
}

int
cocoimg__jcs(char **out, size_t *out_len, const json_t *v, cocoimg_error **err)
{
    struct cocoimg__strbuf b = {0};
    int r = emit(&b, v, 0, err);
    if (r == 0 && !b.p)
        cocoimg__strbuf_put(&b, "", 0);
    if (r == 0 && b.oom)
        r = cocoimg__error_oom(err);
    if (r < 0) {
        free(b.p);
        return r;
    }
    *out = b.p;
    if (out_len)
        *out_len = b.len;
    return 0;
}
