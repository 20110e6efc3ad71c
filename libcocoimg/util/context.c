/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/context.h"
#include "util/error.h"

int
cocoimg_context_new(cocoimg_context **out, cocoimg_error **err)
{
    cocoimg_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return cocoimg__error_oom(err);
    ctx->log_level = COCOIMG_LOG_ERROR;
    *out = ctx;
    return 0;
}

void
cocoimg_context_free(cocoimg_context *ctx)
{
    if (!ctx)
        return;
    free(ctx->tmpdir);
    free(ctx);
}

void
cocoimg_context_set_log(cocoimg_context *ctx, cocoimg_log_level max_level, cocoimg_log_cb cb,
                        void *payload)
{
    ctx->log_level = max_level;
    ctx->log_cb = cb;
    ctx->log_payload = payload;
}

int
cocoimg_context_set_tmpdir(cocoimg_context *ctx, const char *dir, cocoimg_error **err)
{
    char *d = strdup(dir);
    if (!d)
        return cocoimg__error_oom(err);
    free(ctx->tmpdir);
    ctx->tmpdir = d;
    return 0;
}

const char *
cocoimg__context_tmpdir(const cocoimg_context *ctx)
{
    if (ctx && ctx->tmpdir)
        return ctx->tmpdir;
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/var/tmp";
}

void
cocoimg__log(const cocoimg_context *ctx, cocoimg_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->log_cb || level > ctx->log_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ctx->log_cb(level, buf, ctx->log_payload);
}
