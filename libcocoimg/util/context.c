/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <pthread.h>
#include <strings.h>

#include "util/context.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/secret.h"

#define KNOWN_FLAGS ((unsigned int)COCOIMG_CONTEXT_NO_ISAL)

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
    for (int i = 0; i < COCOIMG__CONTEXT_N_SLOTS; i++)
        cocoimg__context_slot_set(ctx, (cocoimg__context_slot_id)i, NULL, NULL);
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

void
cocoimg_context_set_progress(cocoimg_context *ctx, cocoimg_progress_cb cb, void *payload)
{
    ctx->progress_cb = cb;
    ctx->progress_payload = payload;
}

bool
cocoimg__progress_wanted(const cocoimg_context *ctx)
{
    return ctx && ctx->progress_cb;
}

int
cocoimg__progress(const cocoimg_context *ctx, cocoimg_progress_event *ev, cocoimg_error **err)
{
    if (!ctx || !ctx->progress_cb)
        return 0;
    ev->version = COCOIMG_PROGRESS_EVENT_VERSION;
    if (ctx->progress_cb(ev, ctx->progress_payload) != 0)
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled by the progress callback");
    return 0;
}

int
cocoimg_context_set_tmpdir(cocoimg_context *ctx, const char *dir, cocoimg_error **err)
{
    if (dir && !*dir)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "empty temporary directory name");
    char *d = NULL;
    if (dir && !(d = strdup(dir)))
        return cocoimg__error_oom(err);
    free(ctx->tmpdir);
    ctx->tmpdir = d;
    return 0;
}

int
cocoimg_context_set_flags(cocoimg_context *ctx, unsigned int flags, cocoimg_error **err)
{
    if (flags & ~KNOWN_FLAGS)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unknown context flags 0x%x",
                                  flags & ~KNOWN_FLAGS);
    ctx->flags = flags;
    return 0;
}

const char *
cocoimg__context_tmpdir(const cocoimg_context *ctx)
{
    return ctx && ctx->tmpdir ? ctx->tmpdir : COCOIMG__DEFAULT_TMPDIR;
}

unsigned int
cocoimg__context_flags(const cocoimg_context *ctx)
{
    return ctx ? ctx->flags : 0;
}

void *
cocoimg__context_slot(const cocoimg_context *ctx, cocoimg__context_slot_id id)
{
    return ctx ? ctx->slots[id].data : NULL;
}

void
cocoimg__context_slot_set(cocoimg_context *ctx, cocoimg__context_slot_id id, void *data,
                          void (*free_fn)(void *data))
{
    struct cocoimg__context_slot *s = &ctx->slots[id];
    if (s->data && s->free)
        s->free(s->data);
    *s = (struct cocoimg__context_slot){data, free_fn};
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

bool
cocoimg__is_kbs_uri(const char *path)
{
    if (!path || strncasecmp(path, "kbs", 3) != 0)
        return false;
    const char *p = path + 3;
    if (*p == '+')
        for (p++; *p && *p != ':'; p++)
            ;
    return strncmp(p, "://", 3) == 0;
}

static pthread_mutex_t fetch_mu = PTHREAD_MUTEX_INITIALIZER;

int
cocoimg__context_read(const cocoimg_context *ctx, const char *path, uint8_t **out, size_t *len,
                      size_t max, cocoimg_error **err)
{
    *out = NULL;
    *len = 0;
    if (!cocoimg__is_kbs_uri(path))
        return cocoimg__read_file(out, len, AT_FDCWD, path, max, err);
    const struct cocoimg__fetcher *f = cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_FETCH);
    if (!f)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "%s is a KBS resource: give the KBS (--kbs-url) to fetch it",
                                  path);
    uint8_t *res = NULL;
    size_t n = 0;
    pthread_mutex_lock(&fetch_mu);
    int r = f->fetch(f->payload, path, &res, &n, err);
    pthread_mutex_unlock(&fetch_mu);
    if (r < 0)
        return r;
    uint8_t *buf = NULL;
    if (n > max)
        r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "KBS resource %s is larger than %zu bytes",
                               path, max);
    else if (!(buf = malloc(n + 1)))
        r = cocoimg__error_oom(err);
    else {
        memcpy(buf, res, n);
        buf[n] = 0;
    }
    cocoimg__wipe(res, n);
    free(res);
    if (r < 0)
        return r;
    *out = buf;
    *len = n;
    return 0;
}
