/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

int
cocoimg__secret_new(cocoimg__secret **out, size_t len, cocoimg_error **err)
{
    cocoimg__secret *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    s->ptr = calloc(1, len ? len : 1);
    if (!s->ptr) {
        free(s);
        return cocoimg__error_oom(err);
    }
    s->len = len;
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
    OPENSSL_cleanse(s->ptr, s->len);
    free(s->ptr);
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
