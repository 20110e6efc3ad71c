/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_KEYSPEC_H
#define COCOIMG_CRYPT_KEYSPEC_H

/*
 * Decryption key specs (ocicrypt spec 7.3): "FILE[:PASSWORD]".  When FILE
 * itself does not exist, the string is split at its last ':' provided the
 * part before it is an existing file; the password part may be
 * "pass=PW", "file=PATH" (whole content) or "fd=N" (up to 64 bytes),
 * anything else is the literal password.  (The CLI turns
 * COCOIMG_KEY_PASSWORD into "FILE:pass=...".)
 *
 * Messages never contain the password part of a spec.
 */

#include "util/error.h"

/*
 * Split @p spec into *file (malloc'd) and *password (malloc'd, NULL when
 * none; the caller wipes it with cocoimg__free_wipe_str()).
 */
int cocoimg__keyspec_parse(char **file, char **password, const char *spec, cocoimg_error **err);

/* Resolve a password part ("pass=", "file=", "fd=", literal) into a malloc'd string. */
int cocoimg__keyspec_password(char **out, const char *part, cocoimg_error **err);

#endif
