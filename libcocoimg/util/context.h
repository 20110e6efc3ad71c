/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_CONTEXT_H
#define COCOIMG_UTIL_CONTEXT_H

#include <cocoimg/context.h>

/* Registry settings of one side (copies of cocoimg_registry_options). */
struct cocoimg__registry_settings {
    char *username;
    char *password; /* wiped on free */
    char *authfile;
    char *cert_dir;
    int tls_verify;
};

struct cocoimg_context {
    cocoimg_log_level log_level;
    cocoimg_log_cb log_cb;
    void *log_payload;
    char *tmpdir;
    struct cocoimg__registry_settings registry[2]; /* [0] source, [1] destination */
};

/* The registry settings of @p side (COCOIMG_SIDE_SRC or _DST); never NULL. */
const struct cocoimg__registry_settings *cocoimg__context_registry(const cocoimg_context *ctx,
                                                                   cocoimg_side side);

/* Log through the context's callback; ctx may be NULL (silent). */
void cocoimg__log(const cocoimg_context *ctx, cocoimg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The temporary directory of @p ctx (never NULL). */
const char *cocoimg__context_tmpdir(const cocoimg_context *ctx);

#endif
