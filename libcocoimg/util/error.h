/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_ERROR_H
#define COCOIMG_UTIL_ERROR_H

#include <cocoimg/errors.h>

#include "util/cleanup.h"

struct cocoimg_error {
    int code;
    int errnum;
    char *msg;
};

/*
 * Set *err (if err is not NULL and *err is NULL) to a new error and return
 * @p code, so the idiom is one line:
 *     return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", path);
 * If *err is already set, it is kept (the first, deepest error wins) and
 * @p code is still returned.  Messages: one line, no trailing period.
 */
int cocoimg__error_set(cocoimg_error **err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Prefix the message of *err with context ("ctx: inner") and return @p code
 * (normally the code the failing callee returned).  If *err is NULL (the
 * callee failed without an error object) a new error is made from the
 * context alone.
 */
int cocoimg__error_wrap(cocoimg_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shorthand for the out-of-memory case (never allocates if it cannot). */
int cocoimg__error_oom(cocoimg_error **err);

/*
 * Versioned option structs (include/cocoimg/): a caller built against an
 * older header passes an older version.  Every version from 1 up to the
 * current one is accepted (0 and newer ones fail with COCOIMG_EINVAL).
 * Fields are only ever appended, so an older struct is a prefix of the
 * current one: when version 2 comes, code reading a field added in it tests
 * opts->version >= 2 first, and *_options_init() writes only the prefix the
 * caller's version has.
 */
#define COCOIMG__VERSION_OK(version, current) ((version) >= 1u && (version) <= (current))

COCOIMG_DEFINE_CLEANUP(cocoimg_error, cocoimg_error_free)
#define _cleanup_error_ _cleanup_(cocoimg_error_freep)

#endif
