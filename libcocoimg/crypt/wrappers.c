/* SPDX-License-Identifier: Apache-2.0 */
/* The table of key wrappers (COCOIMG__KEYWRAPPERS in keywrap.h) and their shared helpers. */
#include <stdio.h>
#include <string.h>

#include "crypt/keywrap.h"
#include "util/base64.h"
#include "util/json.h"

const struct cocoimg__keywrapper *const cocoimg__keywrappers[COCOIMG__KW_COUNT] = {
#define COCOIMG__KW_ENTRY(name) [COCOIMG__KW_##name] = &cocoimg__keywrap_##name,
    COCOIMG__KEYWRAPPERS(COCOIMG__KW_ENTRY)
#undef COCOIMG__KW_ENTRY
};

const struct cocoimg__keywrapper *
cocoimg__keywrap_by_scheme(const char *scheme, size_t len)
{
    for (size_t i = 0; i < COCOIMG__KW_COUNT; i++) {
        const struct cocoimg__keywrapper *w = cocoimg__keywrappers[i];
        if (strlen(w->scheme) == len && memcmp(w->scheme, scheme, len) == 0)
            return w;
    }
    return NULL;
}

const struct cocoimg__keywrapper *
cocoimg__keywrap_by_annotation(const char *annotation)
{
    for (size_t i = 0; i < COCOIMG__KW_COUNT; i++) {
        const struct cocoimg__keywrapper *w = cocoimg__keywrappers[i];
        size_t n = strlen(w->annotation);
        if (strncmp(w->annotation, annotation, n) != 0)
            continue;
        /* named: "annotation.NAME" with a non-empty NAME */
        if (w->named ? annotation[n] == '.' && annotation[n + 1] : annotation[n] == 0)
            return w;
    }
    return NULL;
}

int
cocoimg__keywrap_append(json_t *annotations, const char *key, const uint8_t *blob, size_t len,
                        cocoimg_error **err)
{
    _cleanup_free_ char *b64 = NULL;
    int r = cocoimg__b64_encode(&b64, blob, len, COCOIMG_B64_STD, err);
    if (r < 0)
        return r;
    const char *old = cocoimg__json_str(annotations, key);
    json_t *v;
    if (old && *old) {
        _cleanup_free_ char *joined = NULL;
        if (asprintf(&joined, "%s,%s", old, b64) < 0)
            return cocoimg__error_oom(err);
        v = json_string(joined);
    } else {
        v = json_string(b64);
    }
    if (!v || json_object_set_new(annotations, key, v) < 0)
        return cocoimg__error_oom(err);
    return 0;
}

int
cocoimg__keywrap_wrap_blob(const struct cocoimg__keywrapper *w, const void *state,
                           const cocoimg__secret *opts, uint8_t **out, size_t *out_len,
                           cocoimg_error **err)
{
    _cleanup_json_ json_t *ann = json_object();
    if (!ann)
        return cocoimg__error_oom(err);
    int r = w->wrap(state, opts, ann, err);
    if (r < 0)
        return r;
    const char *v = json_object_size(ann) == 1 ? cocoimg__json_str(ann, w->annotation) : NULL;
    if (!v || strchr(v, ','))
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "%s: not one blob", w->scheme);
    return cocoimg__b64_decode(out, out_len, v, strlen(v), COCOIMG_B64_STD, w->scheme, err);
}
