/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/secret.h"

/*
 * Under AddressSanitizer the slack between the requested length and the end
 * of the mapping is poisoned, so an overflow of a secret buffer is still
 * caught as it is for malloc'ed memory.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SECRET_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SECRET_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SECRET_POISON(p, n) ((void)(p), (void)(n))
#define SECRET_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int
cocoimg__secret_new(cocoimg__secret **out, size_t len, cocoimg_error **err)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    size_t want = len ? len : 1;
    if (want > SIZE_MAX - page)
        return cocoimg__error_oom(err);
    size_t map_len = (want + page - 1) / page * page;
    cocoimg__secret *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    void *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        free(s);
        return cocoimg__error_oom(err);
    }
    /* not in a core dump; best effort: not swapped out (RLIMIT_MEMLOCK) */
    (void)madvise(p, map_len, MADV_DONTDUMP);
    (void)mlock(p, map_len);
    SECRET_POISON((uint8_t *)p + want, map_len - want);
    s->ptr = p; /* anonymous mappings are zero-filled */
    s->len = len;
    s->map_len = map_len;
    *out = s;
    return 0;
}

int
cocoimg__secret_dup(cocoimg__secret **out, const void *data, size_t len, cocoimg_error **err)
{
    int r = cocoimg__secret_new(out, len, err);
    if (r < 0)
        return r;
    if (len)
        memcpy((*out)->ptr, data, len);
    return 0;
}

void
cocoimg__secret_free(cocoimg__secret *s)
{
    if (!s)
        return;
    SECRET_UNPOISON(s->ptr, s->map_len);
    OPENSSL_cleanse(s->ptr, s->map_len);
    (void)munlock(s->ptr, s->map_len);
    munmap(s->ptr, s->map_len);
    free(s);
}

void
cocoimg__wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

void
cocoimg__free_wipe_str(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int
cocoimg__secret_take(uint8_t **out, size_t *len, cocoimg__secret *s, cocoimg_error **err)
{
    uint8_t *copy = malloc(s->len ? s->len : 1);
    if (!copy) {
        cocoimg__secret_free(s);
        return cocoimg__error_oom(err);
    }
    memcpy(copy, s->ptr, s->len);
    *out = copy;
    *len = s->len;
    cocoimg__secret_free(s);
    return 0;
}
