/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "crypt/keywrap.h"

/* Order = the order annotations are written (sorted, as Go's JSON does). */
const struct cocoimg__keywrapper *const cocoimg__keywrappers[] = {
    &cocoimg__keywrap_jwe,
    &cocoimg__keywrap_pgp,
    &cocoimg__keywrap_pkcs7,
    NULL,
};

const struct cocoimg__keywrapper *
cocoimg__keywrap_by_scheme(const char *scheme)
{
    for (const struct cocoimg__keywrapper *const *w = cocoimg__keywrappers; *w; w++)
        if (strcmp((*w)->scheme, scheme) == 0)
            return *w;
    return NULL;
}

const struct cocoimg__keywrapper *
cocoimg__keywrap_by_annotation(const char *annotation)
{
    for (const struct cocoimg__keywrapper *const *w = cocoimg__keywrappers; *w; w++)
        if (strcmp((*w)->annotation, annotation) == 0)
            return *w;
    return NULL;
}
