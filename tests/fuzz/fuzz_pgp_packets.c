/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the OpenPGP packet scanner behind the pgp wrapper's describe. */
#include <stdint.h>
#include <string.h>

#include "crypt/keywrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *desc = NULL;
    cocoimg_error *err = NULL;
    int r = cocoimg__keywrap_pgp.describe(data, size, &desc, &err);
    if ((r < 0) != (err != NULL) || (r == 0) != (desc != NULL))
        __builtin_trap();
    /* every entry is a string */
    for (size_t i = 0; i < json_array_size(desc); i++)
        if (!json_is_string(json_array_get(desc, i)))
            __builtin_trap();
    json_decref(desc);
    cocoimg_error_free(err);
    return 0;
}
