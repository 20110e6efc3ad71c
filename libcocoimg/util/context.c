/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/context.h"
#include "util/error.h"
#include "util/secret.h"

static void
registry_settings_clear(struct cocoimg__registry_settings *rs)
{
    free(rs->username);
    if (rs->password)
        cocoimg__free_wipe_str(rs->password);
    free(rs->authfile);
    free(rs->cert_dir);
    *rs = (struct cocoimg__registry_settings){.tls_verify = 1};
}

int
cocoimg_context_new(cocoimg_context **out, cocoimg_error **err)
{
    cocoimg_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return cocoimg__error_oom(err);
    ctx->log_level = COCOIMG_LOG_ERROR;
    ctx->registry[0].tls_verify = 1;
    ctx->registry[1].tls_verify = 1;
    *out = ctx;
    return 0;
}

void
cocoimg_context_free(cocoimg_context *ctx)
{
    if (!ctx)
        return;
    free(ctx->tmpdir);
    registry_settings_clear(&ctx->registry[0]);
    registry_settings_clear(&ctx->registry[1]);
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

int
cocoimg_registry_options_init(cocoimg_registry_options *opts, unsigned int version)
{
    if (version != COCOIMG_REGISTRY_OPTIONS_VERSION)
        return COCOIMG_EINVAL;
    cocoimg_registry_options def = COCOIMG_REGISTRY_OPTIONS_INIT;
    *opts = def;
    return 0;
}

static int
dup_opt(char **out, const char *s)
{
    *out = NULL;
    return s && !(*out = strdup(s)) ? -1 : 0;
}

int
cocoimg_context_set_registry(cocoimg_context *ctx, unsigned int sides,
                             const cocoimg_registry_options *opts, cocoimg_error **err)
{
    if (!sides || (sides & ~(unsigned int)(COCOIMG_SIDE_SRC | COCOIMG_SIDE_DST)))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registry settings: invalid sides 0x%x",
                                  sides);
    if (opts && opts->version != COCOIMG_REGISTRY_OPTIONS_VERSION)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "registry settings: unsupported options version %u",
                                  opts->version);
    if (opts && opts->username && !*opts->username)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registry settings: empty user name");
    if (opts && opts->password && !opts->username)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "registry settings: a password needs a user name");
    /* build both copies first so a failure changes nothing */
    struct cocoimg__registry_settings n[2];
    for (int i = 0; i < 2; i++)
        n[i] = (struct cocoimg__registry_settings){.tls_verify = 1};
    int r = 0;
    for (int i = 0; i < 2 && opts && r == 0; i++) {
        if (!(sides & (1u << i)))
            continue;
        n[i].tls_verify = opts->tls_verify ? 1 : 0;
        if (dup_opt(&n[i].username, opts->username) < 0 ||
            dup_opt(&n[i].password, opts->password) < 0 ||
            dup_opt(&n[i].authfile, opts->authfile) < 0 ||
            dup_opt(&n[i].cert_dir, opts->cert_dir) < 0)
            r = -1;
    }
    for (int i = 0; i < 2; i++) {
        if (!(sides & (1u << i)))
            continue;
        if (r < 0) {
            registry_settings_clear(&n[i]);
        } else {
            registry_settings_clear(&ctx->registry[i]);
            ctx->registry[i] = n[i];
        }
    }
    return r < 0 ? cocoimg__error_oom(err) : 0;
}

const struct cocoimg__registry_settings *
cocoimg__context_registry(const cocoimg_context *ctx, cocoimg_side side)
{
    static const struct cocoimg__registry_settings def = {.tls_verify = 1};
    if (!ctx)
        return &def;
    return &ctx->registry[side == COCOIMG_SIDE_DST ? 1 : 0];
}
