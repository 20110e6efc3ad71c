/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON of the ocicrypt keyprovider protocol (ocicrypt
 * keywrap/keyprovider/keyprovider.go; spec ocicrypt 6.5.3):
 *
 *   {"op":"keywrap",
 *    "keywrapparams":{"ec":{"Parameters":{NAME:[B64...]},"DecryptConfig":{"Parameters":{}}},
 *                     "optsdata":B64},
 *    "keyunwrapparams":{"dc":null,"annotation":null}}
 *   {"op":"keyunwrap","keywrapparams":{"ec":null,"optsdata":null},
 *    "keyunwrapparams":{"dc":{"Parameters":{NAME:[B64...]}},"annotation":B64}}
 *   {"keywrapresults":{"annotation":B64}}   {"keyunwrapresults":{"optsdata":B64}}
 *
 * Go writes []byte as base64 strings, Rust (coco_keyprovider, CDH) as
 * arrays of integers, ocicrypt-rs's wrap requests the options JSON as a
 * plain string: all are read, base64 is written.  Requests are
 * written by hand into secret buffers (a wrap request holds the layer key
 * in base64), and every JSON string of a parsed document is wiped before
 * jansson frees it.
 */
#include <stdio.h>
#include <string.h>

#include "kp_int.h"
#include "util/base64.h"
#include "util/json.h"

/* Wipe every string value of @p v in place (jansson frees them unwiped). */
static void
wipe_strings(json_t *v)
{
    if (json_is_string(v)) {
        cocoimg__wipe((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            wipe_strings(json_array_get(v, i));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) wipe_strings(m);
    }
}

static void
json_wipe_decrefp(json_t **j)
{
    if (*j) {
        wipe_strings(*j);
        json_decref(*j);
    }
}
#define _cleanup_json_wipe_ _cleanup_(json_wipe_decrefp)

/*
 * A Go []byte (util/json), or the options JSON as a plain string, as
 * ocicrypt-rs sends it ('{' is no base64 character: no confusion).
 */
static int
go_bytes(cocoimg__secret **out, json_t *v, const char *what, cocoimg_error **err)
{
    if (json_is_string(v) && json_string_value(v)[0] == '{') {
        *out = NULL;
        return cocoimg__secret_dup(out, json_string_value(v), json_string_length(v), err);
    }
    return cocoimg__json_go_bytes(out, v, "keyprovider message", what, err);
}

/*
 * Parse a message that may hold key material: the failure says what it
 * is, never where or near which bytes (jansson's text quotes the input).
 */
static int
load_doc(json_t **doc, const uint8_t *json, size_t len, const char *what, cocoimg_error **err)
{
    int r = cocoimg__json_loadb(doc, json, len, COCOIMG__KP_MSG_MAX, true, what, NULL);
    if (r == COCOIMG_ELIMIT)
        return cocoimg__error_set(err, r, 0, "%s over %u bytes", what, COCOIMG__KP_MSG_MAX);
    if (r < 0)
        return cocoimg__error_set(err, r, 0, "%s: not a JSON object", what);
    return 0;
}

/* member @p key of @p obj: absent or null -> NULL; an object; anything else fails */
static int
opt_object(json_t **out, json_t *obj, const char *key, cocoimg_error **err)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "keyprovider message: '%s' must be an object", key);
    *out = v;
    return 0;
}

void
cocoimg__kp_request_clear(struct cocoimg__kp_request *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_params; i++)
        cocoimg__free_wipe_str(r->params[i]);
    free(r->params);
    cocoimg__secret_free(r->data);
    memset(r, 0, sizeof(*r));
}

/* Parameters[name] of a config object (ec or dc) */
static int
read_params(struct cocoimg__kp_request *out, json_t *config, const char *name, cocoimg_error **err)
{
    json_t *params = NULL;
    int r = opt_object(&params, config, "Parameters", err);
    if (r < 0 || !params)
        return r;
    json_t *list = json_object_get(params, name);
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "keyprovider message: Parameters of '%s' must be a list", name);
    size_t n = json_array_size(list);
    if (n > 64)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "keyprovider message: more than 64 parameters");
    if (!(out->params = calloc(n ? n : 1, sizeof(char *))))
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < n; i++) {
        _cleanup_secret_ cocoimg__secret *b = NULL;
        if ((r = go_bytes(&b, json_array_get(list, i), "Parameters", err)) < 0)
            return r;
        size_t len = b ? b->len : 0;
        if (b && memchr(b->ptr, 0, len))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "keyprovider message: a parameter holds a NUL byte");
        char *s = malloc(len + 1);
        if (!s)
            return cocoimg__error_oom(err);
        if (len)
            memcpy(s, b->ptr, len);
        s[len] = '\0';
        out->params[out->n_params++] = s;
    }
    return 0;
}

int
cocoimg__kp_request_parse(struct cocoimg__kp_request *out, const uint8_t *json, size_t len,
                          const char *name, cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_json_wipe_ json_t *doc = NULL;
    int r = load_doc(&doc, json, len, "keyprovider request", err);
    if (r < 0)
        return r;
    const char *op = cocoimg__json_str(doc, "op");
    if (op && strcmp(op, "keywrap") == 0)
        out->op = COCOIMG__KP_OP_WRAP;
    else if (op && strcmp(op, "keyunwrap") == 0)
        out->op = COCOIMG__KP_OP_UNWRAP;
    else
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "keyprovider request: 'op' must be keywrap or keyunwrap");
    json_t *params = NULL, *config = NULL;
    bool wrap = out->op == COCOIMG__KP_OP_WRAP;
    if ((r = opt_object(&params, doc, wrap ? "keywrapparams" : "keyunwrapparams", err)) < 0)
        goto fail;
    if (!params) {
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "keyprovider request: no %s",
                               wrap ? "keywrapparams" : "keyunwrapparams");
        goto fail;
    }
    if ((r = opt_object(&config, params, wrap ? "ec" : "dc", err)) < 0 ||
        (r = read_params(out, config, name, err)) < 0 ||
        (r = go_bytes(&out->data, json_object_get(params, wrap ? "optsdata" : "annotation"),
                      wrap ? "optsdata" : "annotation", err)) < 0)
        goto fail;
    if (!out->data || out->data->len == 0) {
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "keyprovider request: no %s",
                               wrap ? "optsdata" : "annotation");
        goto fail;
    }
    return 0;
fail:
    cocoimg__kp_request_clear(out);
    return r;
}

/* A growing secret text buffer: reallocations wipe what they leave behind. */
struct sbuf {
    cocoimg__secret *s;
    size_t used;
    bool oom;
};

static void
sb_add(struct sbuf *b, const char *str, size_t n)
{
    if (b->oom)
        return;
    if (!b->s || b->used + n + 1 > b->s->len) {
        size_t cap = (b->s ? b->s->len : 0) * 2 + n + 256;
        cocoimg__secret *ns = NULL;
        if (cocoimg__secret_new(&ns, cap, NULL) < 0) {
            b->oom = true;
            return;
        }
        if (b->s) {
            memcpy(ns->ptr, b->s->ptr, b->used);
            cocoimg__secret_free(b->s);
        }
        b->s = ns;
    }
    memcpy(b->s->ptr + b->used, str, n);
    b->used += n;
    b->s->ptr[b->used] = '\0';
}

static void
sb_str(struct sbuf *b, const char *str)
{
    sb_add(b, str, strlen(str));
}

/* "B64" of @p data, quoted */
static void
sb_b64(struct sbuf *b, const void *data, size_t len)
{
    char *e = NULL;
    if (cocoimg__b64_encode(&e, data, len, COCOIMG_B64_STD, NULL) < 0) {
        b->oom = true;
        return;
    }
    sb_str(b, "\"");
    sb_str(b, e);
    sb_str(b, "\"");
    cocoimg__free_wipe_str(e);
}

static int
sb_finish(cocoimg__secret **out, struct sbuf *b, cocoimg_error **err)
{
    if (b->oom || !b->s) {
        cocoimg__secret_free(b->s);
        return cocoimg__error_oom(err);
    }
    b->s->len = b->used; /* the NUL after it stays inside the allocation */
    *out = b->s;
    return 0;
}

static bool
plain_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

int
cocoimg__kp_request_build(cocoimg__secret **out, enum cocoimg__kp_op op, const char *name,
                          const char *const *params, size_t n_params, const uint8_t *data,
                          size_t data_len, cocoimg_error **err)
{
    /* the name goes into the JSON unescaped: the annotation rules keep it plain */
    if (!plain_name(name))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "key provider name '%.64s'", name);
    struct sbuf b = {0};
    bool wrap = op == COCOIMG__KP_OP_WRAP;
    sb_str(&b, wrap ? "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\""
                    : "{\"op\":\"keyunwrap\",\"keywrapparams\":{\"ec\":null,\"optsdata\":null},"
                      "\"keyunwrapparams\":{\"dc\":{\"Parameters\":{\"");
    sb_str(&b, name);
    sb_str(&b, "\":[");
    if (n_params == 0 && wrap)
        sb_b64(&b, "Enabled", 7);
    for (size_t i = 0; i < n_params; i++) {
        if (i)
            sb_str(&b, ",");
        sb_b64(&b, params[i], strlen(params[i]));
    }
    if (wrap) {
        sb_str(&b, "]},\"DecryptConfig\":{\"Parameters\":{}}},\"optsdata\":");
        sb_b64(&b, data, data_len);
        sb_str(&b, "},\"keyunwrapparams\":{\"dc\":null,\"annotation\":null}}");
    } else {
        sb_str(&b, "]}},\"annotation\":");
        sb_b64(&b, data, data_len);
        sb_str(&b, "}}");
    }
    return sb_finish(out, &b, err);
}

int
cocoimg__kp_reply_build(cocoimg__secret **out, enum cocoimg__kp_op op, const uint8_t *data,
                        size_t data_len, cocoimg_error **err)
{
    struct sbuf b = {0};
    sb_str(&b, op == COCOIMG__KP_OP_WRAP ? "{\"keywrapresults\":{\"annotation\":"
                                         : "{\"keyunwrapresults\":{\"optsdata\":");
    sb_b64(&b, data, data_len);
    sb_str(&b, "}}");
    return sb_finish(out, &b, err);
}

int
cocoimg__kp_reply_parse(cocoimg__secret **out, enum cocoimg__kp_op op, const uint8_t *json,
                        size_t len, cocoimg_error **err)
{
    *out = NULL;
    _cleanup_json_wipe_ json_t *doc = NULL;
    int r = load_doc(&doc, json, len, "keyprovider reply", err);
    if (r < 0)
        return r;
    bool wrap = op == COCOIMG__KP_OP_WRAP;
    json_t *res = NULL;
    if ((r = opt_object(&res, doc, wrap ? "keywrapresults" : "keyunwrapresults", err)) < 0)
        return r;
    if (res && (r = go_bytes(out, json_object_get(res, wrap ? "annotation" : "optsdata"),
                             wrap ? "annotation" : "optsdata", err)) < 0)
        return r;
    if (!*out || (*out)->len == 0) {
        cocoimg__secret_free(*out);
        *out = NULL;
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "keyprovider reply: no %s",
                                  wrap ? "annotation" : "optsdata");
    }
    return 0;
}
