/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_ERRORS_H
#define COCOIMG_ERRORS_H

/*
 * Errors.
 *
 * Every fallible function takes `cocoimg_error **err` as its last argument
 * and returns 0 (or a non-NULL pointer) on success, a negative COCOIMG_E*
 * code (or NULL) on failure.  On failure *err, when err is not NULL, is set
 * to an error object owned by the caller, to be released with
 * cocoimg_error_free().  The message carries the context added on the way
 * up: "copy: layer sha256:ab..: blob does not match its digest".
 *
 * The library never prints and never exits.
 */

#include <cocoimg/common.h>

COCOIMG_BEGIN_DECL

/*
 * Error codes.  Append only: never renumber or remove a code; a retired code
 * stays reserved.  The type is spelled `enum cocoimg_error_code` (no
 * typedef: the name is also that of the getter cocoimg_error_code(), as
 * with struct stat and stat()); functions return the codes as int.
 */
enum cocoimg_error_code {
    COCOIMG_OK = 0,
    COCOIMG_ERROR = -1,     /**< generic failure */
    COCOIMG_ENOMEM = -2,    /**< out of memory */
    COCOIMG_EINVAL = -3,    /**< invalid argument (bad reference, option) */
    COCOIMG_EIO = -4,       /**< I/O error (see cocoimg_error_errno()) */
    COCOIMG_ENOTFOUND = -5, /**< image, ref, blob or key not found */
    COCOIMG_ENOTSUP = -6,   /**< unsupported media type, algorithm, key */
    COCOIMG_EFORMAT = -7,   /**< malformed input: JSON, manifest, tar */
    COCOIMG_EDIGEST = -8,   /**< content does not match its digest or size */
    COCOIMG_EAUTH = -9,     /**< authentication failed (HMAC, tag, signature) */
    COCOIMG_ENOKEY = -10,   /**< no key could unwrap the layer key */
    COCOIMG_EPOLICY = -11,  /**< rejected by the signature policy */
    COCOIMG_ENET = -12,     /**< network error */
    COCOIMG_EHTTP = -13,    /**< unexpected HTTP status */
    COCOIMG_ELIMIT = -14,   /**< a size, count or ratio limit was exceeded */
    COCOIMG_EUSER = -15,    /**< a callback asked to abort */
    COCOIMG_EEXISTS = -16,  /**< destination already exists */
};

typedef struct cocoimg_error cocoimg_error;

/** @return the COCOIMG_E* code of @p e (COCOIMG_ERROR for NULL). */
COCOIMG_EXTERN(int) cocoimg_error_code(const cocoimg_error *e);
/** @return the errno that caused @p e, 0 if none. */
COCOIMG_EXTERN(int) cocoimg_error_errno(const cocoimg_error *e);
/** @return the message of @p e, borrowed; valid until cocoimg_error_free(). */
COCOIMG_EXTERN(const char *) cocoimg_error_message(const cocoimg_error *e);
/**
 * Make an error for the library to carry (a key provider's reason): when
 * @p err is not NULL and *err is NULL, *err is set to a new error with
 * @p code and the printf-style message; an error already in *err is kept.
 * @return @p code, so a callback can `return cocoimg_error_new(err, ...)`.
 */
COCOIMG_EXTERN(int)
cocoimg_error_new(cocoimg_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Free @p e; NULL is allowed. */
COCOIMG_EXTERN(void) cocoimg_error_free(cocoimg_error *e);
/** @return a static description of @p code. */
COCOIMG_EXTERN(const char *) cocoimg_strerror(int code);
/** Free memory (strings, buffers) the library handed to the caller. */
COCOIMG_EXTERN(void) cocoimg_free(void *p);

COCOIMG_END_DECL

#endif
