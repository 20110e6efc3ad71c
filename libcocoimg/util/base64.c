/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/secret.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
cocoimg__b64_encode(char **out, const void *in, size_t len, cocoimg__b64_variant v,
                    cocoimg_error **err)
{
    const char *a = v == COCOIMG_B64_URL ? url_alpha : std_alpha;
    const uint8_t *p = in;
    if (len > (SIZE_MAX / 4) * 3 - 3)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "base64: input too large");
    char *s = malloc((len + 2) / 3 * 4 + 1), *o = s;
    if (!s)
        return cocoimg__error_oom(err);
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t n = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = a[n >> 18];
        *o++ = a[(n >> 12) & 63];
        *o++ = a[(n >> 6) & 63];
        *o++ = a[n & 63];
    }
    if (len - i == 1) {
        uint32_t n = (uint32_t)p[i] << 16;
        *o++ = a[n >> 18];
        *o++ = a[(n >> 12) & 63];
        if (v == COCOIMG_B64_STD) {
            *o++ = '=';
            *o++ = '=';
        }
    } else if (len - i == 2) {
        uint32_t n = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = a[n >> 18];
        *o++ = a[(n >> 12) & 63];
        *o++ = a[(n >> 6) & 63];
        if (v == COCOIMG_B64_STD)
            *o++ = '=';
    }
    *o = '\0';
    *out = s;
    return 0;
}

static int
val(char c, cocoimg__b64_variant v)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (v == COCOIMG_B64_STD) {
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
    } else {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
    }
    return -1;
}

int
cocoimg__b64_decode(uint8_t **out, size_t *out_len, const char *in, size_t len,
                    cocoimg__b64_variant v, const char *what, cocoimg_error **err)
{
    size_t n = len;
    if (v == COCOIMG_B64_STD) {
        if (n % 4 != 0)
            goto bad;
        if (n >= 1 && in[n - 1] == '=')
            n--;
        if (n >= 1 && in[n - 1] == '=')
            n--;
    } else if (n % 4 == 1) {
        goto bad;
    }
    uint8_t *buf = malloc(n / 4 * 3 + 3 + 1);
    if (!buf)
        return cocoimg__error_oom(err);
    size_t o = 0, i = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; i < n; i++) {
        int x = val(in[i], v);
        if (x < 0) {
            cocoimg__wipe(buf, o);
            free(buf);
            goto bad;
        }
        acc = (acc << 6) | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) {
        cocoimg__wipe(buf, o);
        free(buf);
        goto bad;
    }
    buf[o] = 0;
    *out = buf;
    *out_len = o;
    return 0;
bad:
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: invalid base64", what);
}
