/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_TOML_H
#define COCOIMG_UTIL_TOML_H

/*
 * A strict reader of the part of TOML 1.0 that containers configuration
 * files use (registries.conf(5)): comments, bare, quoted and dotted keys,
 * [table] and [[array.of.tables]] headers, basic and literal strings (one
 * line), decimal integers, booleans, arrays (over several lines, trailing
 * comma) and inline tables.  Anything else (floats, dates, multi-line
 * strings) is refused as unsupported, never guessed.  A key defined twice,
 * a table defined twice or a value redefined as a table are errors, as in
 * TOML.  The document becomes a JSON object (tables are objects, arrays of
 * tables arrays of objects).  Errors name @p what and the line.
 */

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

/* The largest document read (registries.conf files are a few KiB). */
#define COCOIMG__TOML_MAX_SIZE (1024 * 1024)

int cocoimg__toml_parse(json_t **out, const char *text, size_t len, const char *what,
                        cocoimg_error **err);

#endif
