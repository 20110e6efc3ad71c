/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/version.h>

#include "util/error.h"

/* Reporting an out-of-memory condition must not need memory. */
static struct cocoimg_error oom_error = {COCOIMG_ENOMEM, 0, (char *)"out of memory"};

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *
vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

int
cocoimg__error_oom(cocoimg_error **err)
{
    if (err && !*err)
        *err = &oom_error;
    return COCOIMG_ENOMEM;
}

int
cocoimg__error_set(cocoimg_error **err, int code, int errnum, const char *fmt, ...)
{
    if (!err || *err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    struct cocoimg_error *e = msg ? malloc(sizeof(*e)) : NULL;
    if (!e) {
        free(msg);
        return cocoimg__error_oom(err), code;
    }
    e->code = code;
    e->errnum = errnum;
    e->msg = msg;
    *err = e;
    return code;
}

int
cocoimg_error_new(cocoimg_error **err, int code, const char *fmt, ...)
{
    if (!err || *err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (!msg)
        return cocoimg__error_oom(err), code;
    cocoimg__error_set(err, code, 0, "%s", msg);
    free(msg);
    return code;
}

int
cocoimg__error_wrap(cocoimg_error **err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = vformat(fmt, ap);
    va_end(ap);
    if (!ctx)
        return code;
    if (!*err) {
        cocoimg__error_set(err, code, 0, "%s", ctx);
        free(ctx);
        return code;
    }
    if (*err == &oom_error) {
        free(ctx);
        return code;
    }
    char *msg = NULL;
    if (asprintf(&msg, "%s: %s", ctx, (*err)->msg) >= 0) {
        free((*err)->msg);
        (*err)->msg = msg;
    }
    free(ctx);
    return code;
}

int
cocoimg_error_code(const cocoimg_error *e)
{
    return e ? e->code : COCOIMG_ERROR;
}

int
cocoimg_error_errno(const cocoimg_error *e)
{
    return e ? e->errnum : 0;
}

const char *
cocoimg_error_message(const cocoimg_error *e)
{
    return e && e->msg ? e->msg : "unknown error";
}

void
cocoimg_error_free(cocoimg_error *e)
{
    if (!e || e == &oom_error)
        return;
    free(e->msg);
    free(e);
}

void
cocoimg_free(void *p)
{
    free(p);
}

const char *
cocoimg_strerror(int code)
{
    switch (code) {
    case COCOIMG_OK:
        return "success";
    case COCOIMG_ERROR:
        return "error";
    case COCOIMG_ENOMEM:
        return "out of memory";
    case COCOIMG_EINVAL:
        return "invalid argument";
    case COCOIMG_EIO:
        return "input/output error";
    case COCOIMG_ENOTFOUND:
        return "not found";
    case COCOIMG_ENOTSUP:
        return "not supported";
    case COCOIMG_EFORMAT:
        return "malformed input";
    case COCOIMG_EDIGEST:
        return "digest mismatch";
    case COCOIMG_EAUTH:
        return "authentication failed";
    case COCOIMG_ENOKEY:
        return "no usable key";
    case COCOIMG_EPOLICY:
        return "rejected by policy";
    case COCOIMG_ENET:
        return "network error";
    case COCOIMG_EHTTP:
        return "HTTP error";
    case COCOIMG_ELIMIT:
        return "limit exceeded";
    case COCOIMG_EUSER:
        return "aborted by callback";
    case COCOIMG_EEXISTS:
        return "already exists";
    }
    return "unknown error code";
}

const char *
cocoimg_version(void)
{
    return PACKAGE_VERSION;
}
