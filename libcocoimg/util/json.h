/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_JSON_H
#define COCOIMG_UTIL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "util/secret.h"

/* Upper bound for any JSON document read from untrusted input. */
#define COCOIMG_JSON_MAX_SIZE (4u * 1024 * 1024)

static inline void
cocoimg__json_decrefp(json_t **j)
{
    json_decref(*j);
}
#define _cleanup_json_ _cleanup_(cocoimg__json_decrefp)

/*
 * Parse @p len bytes as one JSON value (object or array required when
 * @p want_object is true: an object).  Documents over @p max bytes fail
 * with COCOIMG_ELIMIT; malformed ones with COCOIMG_EFORMAT naming @p what
 * and the jansson position and reason, never the input's bytes (documents
 * may be secret or hostile).  Duplicate object keys are rejected.
 */
int cocoimg__json_loadb(json_t **out, const void *buf, size_t len, size_t max, bool want_object,
                        const char *what, cocoimg_error **err);

/*
 * Serialise compactly, keeping key order (lossless rewrite of documents we
 * read).  Returns a malloc'd NUL-terminated string, its length in *len_out.
 */
int cocoimg__json_dump(char **out, size_t *len_out, const json_t *j, cocoimg_error **err);

/* Typed getters: NULL / false when the member is absent or of another type. */
const char *cocoimg__json_str(const json_t *obj, const char *key);

/*
 * Optional-member checks for validation: fail with COCOIMG_EFORMAT naming
 * @p what.key when the member is present with the wrong type.
 */
int cocoimg__json_opt_string(const json_t *obj, const char *key, const char *what,
                             cocoimg_error **err);
int cocoimg__json_opt_object(const json_t *obj, const char *key, const char *what,
                             cocoimg_error **err);
int cocoimg__json_opt_array(const json_t *obj, const char *key, const char *what,
                            cocoimg_error **err);
/* Every member of @p obj.key (if present) must be a string. */
int cocoimg__json_opt_string_map(const json_t *obj, const char *key, const char *what,
                                 cocoimg_error **err);

/*
 * A Go []byte member: absent or null -> *out NULL; a padded standard base64
 * string (CR and LF skipped, as Go's decoder does); or an array of integers
 * 0..255 (what Rust writes).  *out is a secret; the JSON string is wiped in
 * place (it may be key material).  Messages name @p what and @p field,
 * never the value.
 */
int cocoimg__json_go_bytes(cocoimg__secret **out, json_t *v, const char *what, const char *field,
                           cocoimg_error **err);

#endif
