/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the image reference parser (oci:, oci-archive:, docker://): what
 * parses has a canonical form that parses again to the same form, and a
 * docker reference has a registry host and a repository the registry
 * client accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "registry/registry_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    cocoimg_reference *ref = NULL;
    cocoimg_error *e = NULL;
    if (cocoimg_reference_parse(&ref, s, &e) == 0) {
        const char *canon = cocoimg_reference_string(ref);
        if (!canon)
            abort();
        cocoimg_reference *again = NULL;
        if (cocoimg_reference_parse(&again, canon, NULL) != 0 ||
            strcmp(cocoimg_reference_string(again), canon) != 0)
            abort();
        cocoimg_reference_free(again);
        (void)cocoimg_reference_path(ref);
        (void)cocoimg_reference_ref_name(ref);
        (void)cocoimg_reference_tag(ref);
        (void)cocoimg_reference_digest(ref);
        const char *host = cocoimg_reference_registry(ref);
        const char *repo = cocoimg_reference_repository(ref);
        if ((host == NULL) != (repo == NULL))
            abort();
        if (repo && cocoimg__registry_check_repo(repo, NULL) != 0)
            abort();
        cocoimg_reference_free(ref);
    } else if (!e || !cocoimg_error_message(e)[0]) {
        abort();
    }
    cocoimg_error_free(e);
    free(s);
    return 0;
}
