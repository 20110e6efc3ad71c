/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_OCI_DIGEST_H
#define COCOIMG_OCI_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* "sha512:" + 128 hex + NUL */
#define COCOIMG_DIGEST_STRMAX 136

typedef enum {
    COCOIMG_DIGEST_SHA256 = 0,
    COCOIMG_DIGEST_SHA512 = 1,
} cocoimg__digest_alg;

typedef struct cocoimg__digest {
    cocoimg__digest_alg alg;
    size_t len; /* 32 or 64 */
    uint8_t bytes[64];
} cocoimg__digest;

/*
 * Parse "alg:hex" strictly: alg is sha256 or sha512, hex is lowercase and
 * exactly 64/128 characters (OCI image-spec "registered algorithms").
 * Fails with COCOIMG_EFORMAT (malformed) or COCOIMG_ENOTSUP (well-formed
 * but unknown algorithm).
 */
int cocoimg__digest_parse(cocoimg__digest *out, const char *s, cocoimg_error **err);
/* Format as "alg:hex" into @p out. */
void cocoimg__digest_format(const cocoimg__digest *d, char out[COCOIMG_DIGEST_STRMAX]);
/* The hex part only (for blobs/ALG/HEX paths) and the algorithm name. */
void cocoimg__digest_hex(const cocoimg__digest *d, char out[129]);
const char *cocoimg__digest_alg_name(cocoimg__digest_alg alg);
/* Constant-time equality of algorithm and bytes. */
bool cocoimg__digest_equal(const cocoimg__digest *a, const cocoimg__digest *b);

/* Streaming hasher (OpenSSL EVP). */
typedef struct cocoimg__hasher cocoimg__hasher;
int cocoimg__hasher_new(cocoimg__hasher **out, cocoimg__digest_alg alg, cocoimg_error **err);
int cocoimg__hasher_update(cocoimg__hasher *h, const void *buf, size_t len, cocoimg_error **err);
/* Finish into @p out; the hasher may be reset and reused afterwards. */
int cocoimg__hasher_final(cocoimg__hasher *h, cocoimg__digest *out, cocoimg_error **err);
int cocoimg__hasher_reset(cocoimg__hasher *h, cocoimg_error **err);
void cocoimg__hasher_free(cocoimg__hasher *h);
COCOIMG_DEFINE_CLEANUP(cocoimg__hasher, cocoimg__hasher_free)

/* Digest of a buffer in one call. */
int cocoimg__digest_buffer(cocoimg__digest *out, cocoimg__digest_alg alg, const void *buf,
                           size_t len, cocoimg_error **err);

#endif
