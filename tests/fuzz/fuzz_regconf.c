/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz registries.conf (the TOML subset and the v2 settings); whatever
 * parses is asked for the pull sources and push target of a few references
 * and resolves a few short names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/context.h>
#include <cocoimg/reference.h>

#include "registry/regconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cocoimg__regconf *rc = NULL;
    if (cocoimg__regconf_parse(&rc, (const char *)data, size, "fuzz", NULL) < 0)
        return 0;
    cocoimg_context *ctx = NULL;
    if (cocoimg_context_new(&ctx, NULL) < 0)
        abort();
    cocoimg__regconf_install(ctx, rc);
    static const char *const refs[] = {
        "docker://quay.io/ns/app:v1", "docker://busybox", "docker://a.b.example.com:5000/x/y:t",
        "docker://example.com/foo/app@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        cocoimg_reference *r = NULL;
        if (cocoimg_reference_parse(&r, refs[i], NULL) < 0)
            abort();
        cocoimg__regconf_endpoints eps;
        if (cocoimg__regconf_pull_sources(&eps, ctx, r, NULL) == 0) {
            if (eps.n == 0 || eps.v[eps.n - 1].mirror)
                abort(); /* the registry itself is always last */
            cocoimg__regconf_endpoints_clear(&eps);
        }
        cocoimg__regconf_endpoint ep;
        if (cocoimg__regconf_push_target(&ep, ctx, r, NULL) == 0)
            cocoimg__regconf_endpoint_clear(&ep);
        cocoimg_reference_free(r);
    }
    static const char *const shorts[] = {"docker://busybox", "docker://ns/app:v1", "docker://x",
                                         "docker://fedora"};
    for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
        cocoimg_reference *r = NULL;
        if (cocoimg__reference_parse_ctx(&r, ctx, shorts[i], NULL) == 0) {
            if (cocoimg_reference_transport(r) != COCOIMG_TRANSPORT_DOCKER)
                abort();
            cocoimg_reference_free(r);
        }
    }
    cocoimg_context_free(ctx);
    return 0;
}
