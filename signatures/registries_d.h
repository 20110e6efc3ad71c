/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_REGISTRIES_D_H
#define COCOIMG_SIGNATURES_REGISTRIES_D_H

/*
 * containers-registries.d(5): where simple signatures live (internal).
 *
 * Every *.yaml file of the directory (in name order) is read; each may have
 *   default-docker: {lookaside, lookaside-staging, sigstore, sigstore-staging,
 *                    use-sigstore-attachments}
 *   docker: {SCOPE: {the same keys}}
 * A scope (or default-docker) defined in two files is an error, as in
 * containers/image; unknown keys are ignored (containers/image ignores
 * them too), keys of the wrong type, duplicate keys and YAML errors are
 * COCOIMG_EFORMAT naming the file.  A directory that does not exist is an
 * empty configuration.
 */

#include <stdbool.h>

#include <cocoimg/reference.h>

#include "util/error.h"

typedef struct cocoimg__registries_d cocoimg__registries_d;

typedef struct cocoimg__sigstore_config {
    const char *lookaside;         /* read: lookaside, else the older sigstore key; NULL: none */
    const char *lookaside_staging; /* write: lookaside-staging, sigstore-staging, else lookaside */
    bool use_sigstore_attachments;
} cocoimg__sigstore_config;

int cocoimg__registries_d_load(cocoimg__registries_d **out, const char *dir, cocoimg_error **err);
/* Parse one YAML document into @p rd (for tests and the fuzzer); @p name for messages. */
int cocoimg__registries_d_add(cocoimg__registries_d *rd, const void *buf, size_t len,
                              const char *name, cocoimg_error **err);
int cocoimg__registries_d_new(cocoimg__registries_d **out, cocoimg_error **err);
void cocoimg__registries_d_free(cocoimg__registries_d *rd);
COCOIMG_DEFINE_CLEANUP(cocoimg__registries_d, cocoimg__registries_d_free)

/*
 * The configuration for a docker reference: the most specific docker:
 * scope (the same scopes as the policy: identity, repository, parents,
 * host, wildcards), else default-docker, else all NULL.  Borrowed.
 */
void cocoimg__registries_d_for(cocoimg__sigstore_config *out, const cocoimg__registries_d *rd,
                               const cocoimg_reference *ref);

#endif
