/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TOML subset of toml.h, written from the TOML 1.0 specification.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/toml.h"

#define MAX_DEPTH 16
#define MAX_KEY_PARTS 16
#define MAX_MARKS 4096

struct parser {
    const char *p, *end;
    unsigned int line;
    const char *what;
    cocoimg_error **err;
    /* tables defined by a [header], and values that are complete (arrays
     * and inline tables, which no header may extend); [[arrays of tables]] */
    json_t *defined[MAX_MARKS];
    size_t ndefined;
    json_t *frozen[MAX_MARKS];
    size_t nfrozen;
    json_t *aot[MAX_MARKS];
    size_t naot;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct parser *ps, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cocoimg__error_set(ps->err, code, 0, "%s: line %u: %s", ps->what, ps->line, msg);
}

static bool
marked(json_t *const *set, size_t n, const json_t *j)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == j)
            return true;
    return false;
}

static int
mark(struct parser *ps, json_t **set, size_t *n, json_t *j)
{
    if (*n >= MAX_MARKS)
        return fail(ps, COCOIMG_ELIMIT, "too many tables");
    set[(*n)++] = j;
    return 0;
}

static void
skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

static void
skip_comment(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '#')
        while (ps->p < ps->end && *ps->p != '\n')
            ps->p++;
}

/* Whitespace, newlines and comments (inside arrays). */
static void
skip_all(struct parser *ps)
{
    for (;;) {
        skip_ws(ps);
        skip_comment(ps);
        if (ps->p < ps->end &&
            (*ps->p == '\n' || (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n'))) {
            ps->p += *ps->p == '\r' ? 2 : 1;
            ps->line++;
            continue;
        }
        return;
    }
}

/* The end of a line: whitespace, a comment, then a newline or the end. */
static int
end_of_line(struct parser *ps)
{
    skip_ws(ps);
    skip_comment(ps);
    if (ps->p >= ps->end)
        return 0;
    if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
        ps->p++;
    if (*ps->p != '\n')
        return fail(ps, COCOIMG_EFORMAT, "unexpected text after the value");
    ps->p++;
    ps->line++;
    return 0;
}

static void
put_utf8(char *buf, size_t *n, uint32_t c)
{
    if (c < 0x80) {
        buf[(*n)++] = (char)c;
    } else if (c < 0x800) {
        buf[(*n)++] = (char)(0xC0 | (c >> 6));
        buf[(*n)++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        buf[(*n)++] = (char)(0xE0 | (c >> 12));
        buf[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (c & 0x3F));
    } else {
        buf[(*n)++] = (char)(0xF0 | (c >> 18));
        buf[(*n)++] = (char)(0x80 | ((c >> 12) & 0x3F));
        buf[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (c & 0x3F));
    }
}

/* A one-line basic ("...") or literal ('...') string; *out is malloc'd. */
static int
parse_string(struct parser *ps, char **out, size_t *len_out)
{
    char q = *ps->p;
    if (ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q)
        return fail(ps, COCOIMG_ENOTSUP, "multi-line strings are not supported");
    ps->p++;
    /* the decoded string is never longer than its source (\U escapes give 4 bytes for 10) */
    const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
    size_t cap = (size_t)((nl ? nl : ps->end) - ps->p) + 1;
    _cleanup_free_ char *buf = malloc(cap);
    if (!buf)
        return cocoimg__error_oom(ps->err);
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end || *ps->p == '\n')
            return fail(ps, COCOIMG_EFORMAT, "unterminated string");
        unsigned char c = (unsigned char)*ps->p++;
        if (c == (unsigned char)q)
            break;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return fail(ps, COCOIMG_EFORMAT, "control character in a string");
        if (c != '\\' || q == '\'') {
            buf[n++] = (char)c;
            continue;
        }
        if (ps->p >= ps->end)
            return fail(ps, COCOIMG_EFORMAT, "unterminated string");
        char e = *ps->p++;
        switch (e) {
        case 'b':
            buf[n++] = '\b';
            break;
        case 't':
            buf[n++] = '\t';
            break;
        case 'n':
            buf[n++] = '\n';
            break;
        case 'f':
            buf[n++] = '\f';
            break;
        case 'r':
            buf[n++] = '\r';
            break;
        case '"':
            buf[n++] = '"';
            break;
        case '\\':
            buf[n++] = '\\';
            break;
        case 'u':
        case 'U': {
            int digits = e == 'u' ? 4 : 8;
            if (ps->end - ps->p < digits)
                return fail(ps, COCOIMG_EFORMAT, "invalid escape");
            uint32_t cp = 0;
            for (int i = 0; i < digits; i++) {
                char h = *ps->p++;
                int v = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (v < 0)
                    return fail(ps, COCOIMG_EFORMAT, "invalid escape");
                cp = cp << 4 | (uint32_t)v;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0)
                return fail(ps, COCOIMG_EFORMAT, "invalid escape");
            put_utf8(buf, &n, cp);
            break;
        }
        default:
            return fail(ps, COCOIMG_EFORMAT, "invalid escape");
        }
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n))
        return fail(ps, COCOIMG_EFORMAT, "NUL in a string");
    *out = TAKE_PTR(buf);
    *len_out = n;
    return 0;
}

static bool
is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A dotted key into parts[] (malloc'd strings). */
static int
parse_key(struct parser *ps, char **parts, size_t *nparts)
{
    *nparts = 0;
    for (;;) {
        skip_ws(ps);
        if (*nparts >= MAX_KEY_PARTS)
            return fail(ps, COCOIMG_ELIMIT, "key with too many parts");
        if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
            size_t len;
            int r = parse_string(ps, &parts[*nparts], &len);
            if (r < 0)
                return r;
            (*nparts)++;
        } else {
            const char *s = ps->p;
            while (ps->p < ps->end && is_bare(*ps->p))
                ps->p++;
            if (ps->p == s)
                return fail(ps, COCOIMG_EFORMAT, "expected a key");
            if (!(parts[*nparts] = strndup(s, (size_t)(ps->p - s))))
                return cocoimg__error_oom(ps->err);
            (*nparts)++;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '.') {
            ps->p++;
            continue;
        }
        return 0;
    }
}

static void
free_parts(char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
}

static int parse_value(struct parser *ps, json_t **out, int depth);

/* Set key @p parts in @p tbl to @p v (taken), making implicit tables. */
static int
assign(struct parser *ps, json_t *tbl, char **parts, size_t n, json_t *v)
{
    _cleanup_(cocoimg__json_decrefp) json_t *val = v;
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *c = json_object_get(tbl, parts[i]);
        if (!c) {
            c = json_object();
            if (!c || json_object_set_new(tbl, parts[i], c) < 0)
                return cocoimg__error_oom(ps->err);
        } else if (!json_is_object(c) || marked(ps->frozen, ps->nfrozen, c)) {
            return fail(ps, COCOIMG_EFORMAT, "key '%.64s' is already defined", parts[i]);
        }
        tbl = c;
    }
    if (json_object_get(tbl, parts[n - 1]))
        return fail(ps, COCOIMG_EFORMAT, "key '%.64s' is defined twice", parts[n - 1]);
    if (json_object_set_new(tbl, parts[n - 1], TAKE_PTR(val)) < 0)
        return cocoimg__error_oom(ps->err);
    return 0;
}

static int
parse_integer(struct parser *ps, json_t **out)
{
    const char *s = ps->p;
    bool neg = false;
    if (*ps->p == '+' || *ps->p == '-')
        neg = *ps->p++ == '-';
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
        if (ps->end - ps->p >= 3 && (!memcmp(ps->p, "inf", 3) || !memcmp(ps->p, "nan", 3)))
            return fail(ps, COCOIMG_ENOTSUP, "floats are not supported");
        return fail(ps, COCOIMG_EFORMAT, "invalid value");
    }
    if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
        return fail(ps, COCOIMG_EFORMAT, "leading zero in an integer");
    uint64_t v = 0;
    bool digit = false;
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c >= '0' && c <= '9') {
            if (v > (UINT64_C(1) << 62) / 5)
                return fail(ps, COCOIMG_ELIMIT, "integer out of range");
            v = v * 10 + (uint64_t)(c - '0');
            digit = true;
        } else if (c == '_' && digit && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9') {
            digit = false;
        } else {
            break;
        }
        ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' || *ps->p == ':' ||
                            *ps->p == '-' || *ps->p == 'x' || *ps->p == 'o' || *ps->p == 'b'))
        return fail(ps, COCOIMG_ENOTSUP, "only decimal integers are supported ('%.*s…')",
                    (int)(ps->p - s) < 32 ? (int)(ps->p - s) : 32, s);
    if (v > (uint64_t)INT64_MAX)
        return fail(ps, COCOIMG_ELIMIT, "integer out of range");
    if (!(*out = json_integer(neg ? -(json_int_t)v : (json_int_t)v)))
        return cocoimg__error_oom(ps->err);
    return 0;
}

static int
parse_array(struct parser *ps, json_t **out, int depth)
{
    ps->p++; /* [ */
    _cleanup_(cocoimg__json_decrefp) json_t *a = json_array();
    if (!a)
        return cocoimg__error_oom(ps->err);
    for (;;) {
        skip_all(ps);
        if (ps->p >= ps->end)
            return fail(ps, COCOIMG_EFORMAT, "unterminated array");
        if (*ps->p == ']') {
            ps->p++;
            break;
        }
        json_t *v = NULL;
        int r = parse_value(ps, &v, depth + 1);
        if (r < 0)
            return r;
        if (json_array_append_new(a, v) < 0)
            return cocoimg__error_oom(ps->err);
        skip_all(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        skip_all(ps);
        if (ps->p >= ps->end || *ps->p != ']')
            return fail(ps, COCOIMG_EFORMAT, "expected ',' or ']' in an array");
        ps->p++;
        break;
    }
    int r = mark(ps, ps->frozen, &ps->nfrozen, a);
    if (r < 0)
        return r;
    *out = TAKE_PTR(a);
    return 0;
}

static int
parse_inline_table(struct parser *ps, json_t **out, int depth)
{
    ps->p++; /* { */
    _cleanup_(cocoimg__json_decrefp) json_t *t = json_object();
    if (!t)
        return cocoimg__error_oom(ps->err);
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            char *parts[MAX_KEY_PARTS];
            size_t n = 0;
            int r = parse_key(ps, parts, &n);
            if (r < 0) {
                free_parts(parts, n);
                return r;
            }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '=') {
                free_parts(parts, n);
                return fail(ps, COCOIMG_EFORMAT, "expected '=' after a key");
            }
            ps->p++;
            skip_ws(ps);
            json_t *v = NULL;
            if ((r = parse_value(ps, &v, depth + 1)) == 0)
                r = assign(ps, t, parts, n, v);
            free_parts(parts, n);
            if (r < 0)
                return r;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == '}') {
                ps->p++;
                break;
            }
            return fail(ps, COCOIMG_EFORMAT, "expected ',' or '}' in an inline table");
        }
    }
    int r = mark(ps, ps->frozen, &ps->nfrozen, t);
    if (r < 0)
        return r;
    *out = TAKE_PTR(t);
    return 0;
}

static int
parse_value(struct parser *ps, json_t **out, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(ps, COCOIMG_ELIMIT, "values nested too deeply");
    if (ps->p >= ps->end)
        return fail(ps, COCOIMG_EFORMAT, "expected a value");
    char c = *ps->p;
    if (c == '"' || c == '\'') {
        _cleanup_free_ char *s = NULL;
        size_t len;
        int r = parse_string(ps, &s, &len);
        if (r < 0)
            return r;
        if (!(*out = json_stringn(s, len)))
            return fail(ps, COCOIMG_EFORMAT, "string is not UTF-8");
        return 0;
    }
    if (c == '[')
        return parse_array(ps, out, depth);
    if (c == '{')
        return parse_inline_table(ps, out, depth);
    size_t left = (size_t)(ps->end - ps->p);
    if (left >= 4 && !memcmp(ps->p, "true", 4) && (left == 4 || !is_bare(ps->p[4]))) {
        ps->p += 4;
        *out = json_true();
        return 0;
    }
    if (left >= 5 && !memcmp(ps->p, "false", 5) && (left == 5 || !is_bare(ps->p[5]))) {
        ps->p += 5;
        *out = json_false();
        return 0;
    }
    return parse_integer(ps, out);
}

/* [a.b.c] or [[a.b.c]]: the table that following keys go into. */
static int
parse_header(struct parser *ps, json_t *root, json_t **cur)
{
    bool aot = ps->end - ps->p >= 2 && ps->p[1] == '[';
    ps->p += aot ? 2 : 1;
    char *parts[MAX_KEY_PARTS];
    size_t n = 0;
    int r = parse_key(ps, parts, &n);
    if (r < 0)
        goto out;
    if (ps->end - ps->p < (aot ? 2 : 1) || ps->p[0] != ']' || (aot && ps->p[1] != ']')) {
        r = fail(ps, COCOIMG_EFORMAT, "expected '%s' after a table name", aot ? "]]" : "]");
        goto out;
    }
    ps->p += aot ? 2 : 1;
    json_t *t = root;
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *c = json_object_get(t, parts[i]);
        if (!c) {
            c = json_object();
            if (!c || json_object_set_new(t, parts[i], c) < 0) {
                r = cocoimg__error_oom(ps->err);
                goto out;
            }
        } else if (json_is_array(c) && marked(ps->aot, ps->naot, c)) {
            c = json_array_get(c, json_array_size(c) - 1);
        } else if (!json_is_object(c) || marked(ps->frozen, ps->nfrozen, c)) {
            r = fail(ps, COCOIMG_EFORMAT, "'%.64s' is not a table", parts[i]);
            goto out;
        }
        t = c;
    }
    const char *last = parts[n - 1];
    json_t *c = json_object_get(t, last);
    if (aot) {
        if (!c) {
            c = json_array();
            if (!c || json_object_set_new(t, last, c) < 0 ||
                (r = mark(ps, ps->aot, &ps->naot, c)) < 0) {
                r = r < 0 ? r : cocoimg__error_oom(ps->err);
                goto out;
            }
        } else if (!json_is_array(c) || !marked(ps->aot, ps->naot, c)) {
            r = fail(ps, COCOIMG_EFORMAT, "'%.64s' is already defined and not an array of tables",
                     last);
            goto out;
        }
        json_t *e = json_object();
        if (!e || json_array_append_new(c, e) < 0) {
            r = cocoimg__error_oom(ps->err);
            goto out;
        }
        *cur = e;
    } else {
        if (!c) {
            c = json_object();
            if (!c || json_object_set_new(t, last, c) < 0) {
                r = cocoimg__error_oom(ps->err);
                goto out;
            }
        } else if (!json_is_object(c) || marked(ps->defined, ps->ndefined, c) ||
                   marked(ps->frozen, ps->nfrozen, c)) {
            r = fail(ps, COCOIMG_EFORMAT, "table '%.64s' is defined twice", last);
            goto out;
        }
        if ((r = mark(ps, ps->defined, &ps->ndefined, c)) < 0)
            goto out;
        *cur = c;
    }
    r = end_of_line(ps);
out:
    free_parts(parts, n);
    return r;
}

int
cocoimg__toml_parse(json_t **out, const char *text, size_t len, const char *what,
                    cocoimg_error **err)
{
    *out = NULL;
    if (len > COCOIMG__TOML_MAX_SIZE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s: larger than %u bytes", what,
                                  COCOIMG__TOML_MAX_SIZE);
    if (memchr(text, '\0', len))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: not a text file", what);
    struct parser *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return cocoimg__error_oom(err);
    _cleanup_free_ struct parser *psp = ps;
    ps->p = text;
    ps->end = text + len;
    ps->line = 1;
    ps->what = what;
    ps->err = err;
    /* a UTF-8 byte order mark is allowed */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        ps->p += 3;
    _cleanup_(cocoimg__json_decrefp) json_t *root = json_object();
    if (!root)
        return cocoimg__error_oom(err);
    json_t *cur = root;
    for (;;) {
        skip_all(ps);
        if (ps->p >= ps->end)
            break;
        int r;
        if (*ps->p == '[') {
            r = parse_header(ps, root, &cur);
        } else {
            char *parts[MAX_KEY_PARTS];
            size_t n = 0;
            r = parse_key(ps, parts, &n);
            if (r == 0) {
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != '=') {
                    r = fail(ps, COCOIMG_EFORMAT, "expected '=' after a key");
                } else {
                    ps->p++;
                    skip_ws(ps);
                    json_t *v = NULL;
                    if ((r = parse_value(ps, &v, 0)) == 0 &&
                        (r = assign(ps, cur, parts, n, v)) == 0)
                        r = end_of_line(ps);
                }
            }
            free_parts(parts, n);
        }
        if (r < 0)
            return r;
    }
    *out = TAKE_PTR(root);
    return 0;
}
