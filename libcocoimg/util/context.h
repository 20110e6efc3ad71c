/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_CONTEXT_H
#define COCOIMG_UTIL_CONTEXT_H

#include <cocoimg/context.h>

struct cocoimg_context {
    cocoimg_log_level log_level;
    cocoimg_log_cb log_cb;
    void *log_payload;
    char *tmpdir;
};

/* Log through the context's callback; ctx may be NULL (silent). */
void cocoimg__log(const cocoimg_context *ctx, cocoimg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The temporary directory of @p ctx (never NULL). */
const char *cocoimg__context_tmpdir(const cocoimg_context *ctx);

#endif
