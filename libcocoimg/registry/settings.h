/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_REGISTRY_SETTINGS_H
#define COCOIMG_REGISTRY_SETTINGS_H

/*
 * The registry settings a context carries for each side of an operation
 * (cocoimg_context_set_registry(), skopeo's --src-creds / --dest-creds
 * and friends).  They live in the context's registry slot
 * (util/context.h); the docker transport reads them when it opens a
 * client for a source or a destination.
 */

#include <stdbool.h>

#include <cocoimg/context.h>

/* Registry settings of one side (copies of cocoimg_registry_options). */
struct cocoimg__registry_settings {
    char *username;
    char *password; /* wiped on free */
    char *authfile;
    char *cert_dir;
    bool insecure;              /* no TLS verification, plain HTTP allowed */
    unsigned int stall_timeout; /* seconds, 0: default */
};

/*
 * The registry settings of @p side (COCOIMG_SIDE_SRC or _DST) of @p ctx
 * (may be NULL): the defaults when none were set.  Never NULL; borrowed
 * from the context.
 */
const struct cocoimg__registry_settings *cocoimg__registry_settings_get(const cocoimg_context *ctx,
                                                                        cocoimg_side side);

#endif
