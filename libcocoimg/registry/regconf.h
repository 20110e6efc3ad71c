/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_REGISTRY_REGCONF_H
#define COCOIMG_REGISTRY_REGCONF_H

/*
 * containers-registries.conf(5) version 2: [[registry]] entries (prefix,
 * location rewrite, insecure, blocked, mirrors with pull-from-mirror and
 * mirror-by-digest-only), unqualified-search-registries, short-name-mode
 * and [aliases], read from a main file and its drop-in directories
 * (cocoimg_context_set_registries_conf()).  The docker transport asks it
 * where to pull a reference from (mirrors first, then the registry) and
 * where to push one; the operations resolve short names through it.  The
 * reference the user wrote stays the one the signature policy sees.
 */

#include <stdbool.h>
#include <stddef.h>

#include <cocoimg/reference.h>

#include "util/context.h"
#include "util/error.h"

/* One place to pull from or push to: HOST[:PORT] and repository. */
typedef struct cocoimg__regconf_endpoint {
    char *host;
    char *repo;
    bool insecure; /* registries.conf says: no TLS verification, plain HTTP allowed */
    bool mirror;
} cocoimg__regconf_endpoint;

typedef struct cocoimg__regconf_endpoints {
    cocoimg__regconf_endpoint *v;
    size_t n;
} cocoimg__regconf_endpoints;

void cocoimg__regconf_endpoints_clear(cocoimg__regconf_endpoints *e);

/*
 * Where to pull @p ref (a docker reference) from: its mirrors that apply
 * to it (by digest or by tag), in order, then the registry itself (its
 * location, rewritten by the longest matching prefix).  Without a
 * registries.conf: the reference's own host and repository.  A blocked
 * registry is a COCOIMG_EPOLICY error naming it and the file.
 */
int cocoimg__regconf_pull_sources(cocoimg__regconf_endpoints *out, const cocoimg_context *ctx,
                                  const cocoimg_reference *ref, cocoimg_error **err);

/* Where to push @p ref: the registry's location, never a mirror. */
int cocoimg__regconf_push_target(cocoimg__regconf_endpoint *out, const cocoimg_context *ctx,
                                 const cocoimg_reference *ref, cocoimg_error **err);

void cocoimg__regconf_endpoint_clear(cocoimg__regconf_endpoint *e);

/*
 * Parse @p s as a reference and, when it is a docker reference written
 * without a registry (a short name), resolve it through registries.conf:
 * an [aliases] entry, else the only unqualified-search registry; several
 * candidates are refused (coco-img never prompts and never guesses by
 * trying registries in turn), and with neither the name means Docker Hub
 * (docker.io), as for docker and skopeo.  The operations call this where a
 * string becomes a reference.
 */
int cocoimg__reference_parse_ctx(cocoimg_reference **out, const cocoimg_context *ctx, const char *s,
                                 cocoimg_error **err);

/* Internal: the parsed configuration (tests). */
struct cocoimg__regconf;
int cocoimg__regconf_load(struct cocoimg__regconf **out, const char *path, bool defaults,
                          cocoimg_error **err);
void cocoimg__regconf_free(struct cocoimg__regconf *rc);
/* One file's text, named @p name in messages (tests, fuzzing). */
int cocoimg__regconf_parse(struct cocoimg__regconf **out, const char *text, size_t len,
                           const char *name, cocoimg_error **err);
/* Give @p rc (taken) to @p ctx, as cocoimg_context_set_registries_conf() does. */
void cocoimg__regconf_install(cocoimg_context *ctx, struct cocoimg__regconf *rc);

#endif
