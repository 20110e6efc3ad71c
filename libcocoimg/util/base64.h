/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_BASE64_H
#define COCOIMG_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * Base64 (RFC 4648).  COCOIMG_B64_STD: '+/' with '=' padding (Go's
 * StdEncoding, used in annotations).  COCOIMG_B64_URL: '-_' without padding
 * (JOSE).  Decoding is strict: no whitespace, correct padding for STD (none
 * for URL), no trailing bits set.
 */
typedef enum { COCOIMG_B64_STD, COCOIMG_B64_URL } cocoimg__b64_variant;

/* Encode; *out is malloc'd and NUL-terminated. */
int cocoimg__b64_encode(char **out, const void *in, size_t len, cocoimg__b64_variant v,
                        cocoimg_error **err);
/*
 * Decode @p len chars of @p in (len may be strlen(in)); *out is malloc'd
 * (one spare NUL byte appended, not counted in *out_len).  Fails with
 * COCOIMG_EFORMAT naming @p what.
 */
int cocoimg__b64_decode(uint8_t **out, size_t *out_len, const char *in, size_t len,
                        cocoimg__b64_variant v, const char *what, cocoimg_error **err);

#endif
