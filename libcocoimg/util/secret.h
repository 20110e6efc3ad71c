/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_SECRET_H
#define COCOIMG_UTIL_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * Key material lives only in a secret buffer: its own anonymous mapping,
 * excluded from core dumps (MADV_DONTDUMP), locked in memory when the
 * RLIMIT_MEMLOCK allows it (best effort: not swapped out), and wiped whole
 * with OPENSSL_cleanse before it is unmapped.  @c len may be lowered by the
 * owner (the whole mapping is still wiped).  Never log its content.
 */
typedef struct cocoimg__secret {
    uint8_t *ptr;
    size_t len;
    size_t map_len; /* private: the mapping's size */
} cocoimg__secret;

/* New zero-filled secret of @p len bytes (len may be 0). */
int cocoimg__secret_new(cocoimg__secret **out, size_t len, cocoimg_error **err);
/* New secret holding a copy of @p len bytes at @p data. */
int cocoimg__secret_dup(cocoimg__secret **out, const void *data, size_t len, cocoimg_error **err);
void cocoimg__secret_free(cocoimg__secret *s);
/*
 * Hand a secret's bytes to a caller that frees with free(): a malloc'd copy
 * in *out (the caller wipes it before free), and @p s freed (its mapping
 * wiped).  @p s is freed on failure too.
 */
int cocoimg__secret_take(uint8_t **out, size_t *len, cocoimg__secret *s, cocoimg_error **err);
/* Wipe @p len bytes at @p p (not optimised away). */
void cocoimg__wipe(void *p, size_t len);
/* Wipe a NUL-terminated string and free it. */
void cocoimg__free_wipe_str(char *s);

COCOIMG_DEFINE_CLEANUP(cocoimg__secret, cocoimg__secret_free)
#define _cleanup_secret_ _cleanup_(cocoimg__secret_freep)

#endif
