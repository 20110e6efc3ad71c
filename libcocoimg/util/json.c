/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/json.h"

int
cocoimg__json_loadb(json_t **out, const void *buf, size_t len, size_t max, bool want_object,
                    const char *what, cocoimg_error **err)
{
    if (len > max)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s: %zu bytes exceeds the limit of %zu",
                                  what, len, max);
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        /*
         * jansson ends lexer errors with " near '<input>'": that would put
         * bytes of the document (a key file, auth.json, a hostile
         * registry's manifest) into the message.  Only the reason is kept.
         */
        char *near = strstr(jerr.text, " near ");
        if (near)
            *near = '\0';
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: malformed JSON at line %d column %d: %s", what, jerr.line,
                                  jerr.column, jerr.text);
    }
    if (want_object && !json_is_object(j)) {
        json_decref(j);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: not a JSON object", what);
    }
    *out = j;
    return 0;
}

int
cocoimg__json_dump(char **out, size_t *len_out, const json_t *j, cocoimg_error **err)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s)
        return cocoimg__error_oom(err);
    if (len_out)
        *len_out = strlen(s);
    *out = s;
    return 0;
}

const char *
cocoimg__json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int
opt_type(const json_t *obj, const char *key, const char *what, json_type type, const char *tname,
         cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    if (v && json_typeof(v) != type)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be %s", what, key, tname);
    return 0;
}

int
cocoimg__json_opt_string(const json_t *obj, const char *key, const char *what, cocoimg_error **err)
{
    return opt_type(obj, key, what, JSON_STRING, "a string", err);
}

int
cocoimg__json_opt_object(const json_t *obj, const char *key, const char *what, cocoimg_error **err)
{
    return opt_type(obj, key, what, JSON_OBJECT, "an object", err);
}

int
cocoimg__json_opt_array(const json_t *obj, const char *key, const char *what, cocoimg_error **err)
{
    return opt_type(obj, key, what, JSON_ARRAY, "an array", err);
}

int
cocoimg__json_opt_string_map(const json_t *obj, const char *key, const char *what,
                             cocoimg_error **err)
{
    int r = cocoimg__json_opt_object(obj, key, what, err);
    if (r < 0)
        return r;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(obj, key), k, v)
    {
        if (!json_is_string(v))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: %s['%s'] must be a string",
                                      what, key, k);
    }
    return 0;
}

int
cocoimg__json_go_bytes(cocoimg__secret **out, json_t *v, const char *what, const char *field,
                       cocoimg_error **err)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        char *s = (char *)json_string_value(v);
        size_t len = json_string_length(v), j = 0;
        /* drop CR/LF in place, as Go's base64 decoder does; jansson owns this copy */
        for (size_t i = 0; i < len; i++)
            if (s[i] != '\r' && s[i] != '\n')
                s[j++] = s[i];
        uint8_t *buf = NULL;
        size_t got = 0;
        int r = cocoimg__b64_decode(&buf, &got, s, j, COCOIMG_B64_STD, field, err);
        cocoimg__wipe(s, len);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "%s", what);
        r = cocoimg__secret_dup(out, buf, got, err);
        cocoimg__wipe(buf, got);
        free(buf);
        return r;
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        int r = cocoimg__secret_new(out, n, err);
        if (r < 0)
            return r;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            json_int_t x = json_is_integer(e) ? json_integer_value(e) : -1;
            if (x < 0 || x > 255) {
                cocoimg__secret_free(*out);
                *out = NULL;
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "%s: '%s' array must hold integers 0..255", what, field);
            }
            (*out)->ptr[i] = (uint8_t)x;
        }
        return 0;
    }
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be a base64 string", what,
                              field);
}
