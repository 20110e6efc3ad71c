/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CONTEXT_H
#define COCOIMG_CONTEXT_H

/*
 * The context carries process-wide settings (logging, limits, temporary
 * directory).  It is immutable once the first operation has started and may
 * then be shared by several threads.
 */

#include <cocoimg/common.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

typedef struct cocoimg_context cocoimg_context;

typedef enum {
    COCOIMG_LOG_ERROR = 0,
    COCOIMG_LOG_WARNING = 1,
    COCOIMG_LOG_INFO = 2,
    COCOIMG_LOG_DEBUG = 3,
} cocoimg_log_level;

/** Log callback: @p msg is one line without newline, never a secret. */
typedef void (*cocoimg_log_cb)(cocoimg_log_level level, const char *msg, void *payload);

/** Create a context; free with cocoimg_context_free(). */
COCOIMG_EXTERN(int) cocoimg_context_new(cocoimg_context **out, cocoimg_error **err);
/** Free @p ctx; NULL is allowed. */
COCOIMG_EXTERN(void) cocoimg_context_free(cocoimg_context *ctx);
/** Install a log callback (default: silent) for messages up to @p max_level. */
COCOIMG_EXTERN(void)
cocoimg_context_set_log(cocoimg_context *ctx, cocoimg_log_level max_level, cocoimg_log_cb cb,
                        void *payload);
/**
 * Directory for temporary files (default: $TMPDIR or /var/tmp).  Copied.
 * @return 0, or COCOIMG_ENOMEM.
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_tmpdir(cocoimg_context *ctx, const char *dir, cocoimg_error **err);

COCOIMG_END_DECL

#endif
