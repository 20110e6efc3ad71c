/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_JCS_H
#define COCOIMG_UTIL_JCS_H

/*
 * RFC 8785 JSON Canonicalization Scheme (jcs.c): the bytes the KBS hashes
 * into report_data and the bytes a Rekor SET signs.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/*
 * Canonical JSON of @p v: members sorted by their UTF-16 code units, no
 * whitespace, minimal string escaping, ECMAScript number rendering.
 * *out is malloc'd and NUL-terminated, its length in *out_len.
 * Fails with COCOIMG_EINVAL for NaN/infinite numbers.
 */
int cocoimg__jcs(char **out, size_t *out_len, const json_t *v, cocoimg_error **err);

#endif
