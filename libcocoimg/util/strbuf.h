/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_STRBUF_H
#define COCOIMG_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* A growing, NUL-terminated buffer; out of memory is sticky (check oom at the end). */
struct cocoimg__strbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* Append @p n bytes of @p s (also when n is 0: the buffer then exists). */
void cocoimg__strbuf_put(struct cocoimg__strbuf *b, const char *s, size_t n);

#endif
