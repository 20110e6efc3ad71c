/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_OCI_MODEL_H
#define COCOIMG_OCI_MODEL_H

/*
 * OCI image model on jansson: descriptors, OCI manifest and index, Docker
 * schema2 manifest and manifest list, image config.  Documents are kept as
 * their json_t tree so a read/modify/write is lossless (unknown fields and
 * annotations survive, key order is kept); the parsed views below borrow
 * from that tree.  Every parser validates untrusted input strictly: size
 * cap (COCOIMG_JSON_MAX_SIZE), media types, digest syntax, sizes >= 0.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <cocoimg/reference.h>

#include "oci/compression.h"
#include "oci/digest.h"
#include "util/error.h"

#define COCOIMG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define COCOIMG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define COCOIMG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define COCOIMG_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define COCOIMG_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define COCOIMG_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define COCOIMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define COCOIMG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define COCOIMG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define COCOIMG_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define COCOIMG_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define COCOIMG_ENCRYPTED_SUFFIX "+encrypted"

#define COCOIMG_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

typedef enum {
    COCOIMG_DOC_UNKNOWN = 0,
    COCOIMG_DOC_OCI_MANIFEST,
    COCOIMG_DOC_OCI_INDEX,
    COCOIMG_DOC_DOCKER_MANIFEST,
    COCOIMG_DOC_DOCKER_LIST,
} cocoimg__doc_kind;

static inline bool
cocoimg__doc_is_index(cocoimg__doc_kind k)
{
    return k == COCOIMG_DOC_OCI_INDEX || k == COCOIMG_DOC_DOCKER_LIST;
}

/* Kind of a manifest/index media type string (UNKNOWN for others). */
cocoimg__doc_kind cocoimg__doc_kind_of(const char *media_type);
/* The media type string of a kind (static), NULL for UNKNOWN. */
const char *cocoimg__doc_media_type(cocoimg__doc_kind k);
/*
 * Kind of a top-level document: its "mediaType" member, else @p hint (the
 * transport's Content-Type or the referencing descriptor's media type),
 * else its shape ("manifests" = OCI index, "layers" = OCI manifest).  A
 * mediaType member contradicting @p hint fails (COCOIMG_EFORMAT); an
 * unsupported one (schema1, ...) fails with COCOIMG_ENOTSUP.
 */
int cocoimg__doc_detect(cocoimg__doc_kind *out, const void *buf, size_t len, const char *hint,
                        cocoimg_error **err);
/* The same on an already parsed document. */
int cocoimg__doc_detect_json(cocoimg__doc_kind *out, const json_t *root, const char *hint,
                             cocoimg_error **err);

/* What a layer media type says. */
typedef struct cocoimg__layer_type {
    cocoimg__compression compression;
    bool encrypted;        /* "+encrypted" suffix */
    bool docker;           /* a Docker media type */
    bool nondistributable; /* foreign / nondistributable layer */
} cocoimg__layer_type;

/*
 * Parse a layer media type (OCI tar, tar+gzip, tar+zstd, their
 * nondistributable forms, Docker rootfs.diff.tar.gzip and foreign, each
 * optionally +encrypted).  Unknown types fail with COCOIMG_ENOTSUP.
 */
int cocoimg__layer_type_parse(cocoimg__layer_type *out, const char *media_type,
                              cocoimg_error **err);

/* A descriptor; all pointers borrow from the document tree. */
typedef struct cocoimg__descriptor {
    json_t *json; /* the descriptor object itself (mutable, part of the doc) */
    const char *media_type;
    cocoimg__digest digest;
    int64_t size;
    /* platform, for index entries; NULL when absent */
    const char *os;
    const char *architecture;
    const char *variant;
} cocoimg__descriptor;

/*
 * Validate and view one descriptor object; @p what names it in errors.
 * Embedded "data" must decode to exactly size bytes matching the digest
 * (COCOIMG_EDIGEST otherwise).  Fails with COCOIMG_EFORMAT, or
 * COCOIMG_ENOTSUP for an unknown digest algorithm.
 */
int cocoimg__descriptor_parse(cocoimg__descriptor *out, json_t *obj, const char *what,
                              cocoimg_error **err);
/* A new descriptor object {mediaType, digest, size}. */
int cocoimg__descriptor_new(json_t **out, const char *media_type, const cocoimg__digest *d,
                            int64_t size, cocoimg_error **err);

typedef struct cocoimg__manifest {
    json_t *root;           /* owned */
    cocoimg__doc_kind kind; /* OCI_MANIFEST or DOCKER_MANIFEST */
    cocoimg__descriptor config;
    size_t n_layers;
    cocoimg__descriptor *layers;
} cocoimg__manifest;

/*
 * Parse an image manifest (OCI or Docker schema2).  Config media type must
 * be a known config type for Docker manifests; OCI manifests may carry
 * artifact config types.  Layer media types are not checked here (callers
 * that need them use cocoimg__layer_type_parse()).
 */
int cocoimg__manifest_parse(cocoimg__manifest **out, const void *buf, size_t len, const char *hint,
                            cocoimg_error **err);
/* Re-validate the views after the caller modified m->root; on failure the
 * layer views are cleared (n_layers 0) and m->root is left as it is. */
int cocoimg__manifest_refresh(cocoimg__manifest *m, cocoimg_error **err);
void cocoimg__manifest_free(cocoimg__manifest *m);
COCOIMG_DEFINE_CLEANUP(cocoimg__manifest, cocoimg__manifest_free)

typedef struct cocoimg__index {
    json_t *root;           /* owned */
    cocoimg__doc_kind kind; /* OCI_INDEX or DOCKER_LIST */
    size_t n_manifests;
    cocoimg__descriptor *manifests;
} cocoimg__index;

int cocoimg__index_parse(cocoimg__index **out, const void *buf, size_t len, const char *hint,
                         cocoimg_error **err);
int cocoimg__index_refresh(cocoimg__index *ix, cocoimg_error **err);
void cocoimg__index_free(cocoimg__index *ix);
COCOIMG_DEFINE_CLEANUP(cocoimg__index, cocoimg__index_free)

typedef struct cocoimg__config {
    json_t *root; /* owned */
    const char *os;
    const char *architecture;
    const char *variant; /* NULL when absent */
    const char *created; /* NULL when absent */
    size_t n_diff_ids;
    cocoimg__digest *diff_ids;
    json_t *config; /* the "config" object (Env, Cmd, Labels, ...) or NULL */
} cocoimg__config;

/* Parse an image config (OCI or Docker); rootfs.type must be "layers". */
int cocoimg__config_parse(cocoimg__config **out, const void *buf, size_t len, cocoimg_error **err);
void cocoimg__config_free(cocoimg__config *c);
COCOIMG_DEFINE_CLEANUP(cocoimg__config, cocoimg__config_free)

/* --- platforms --- */

typedef struct cocoimg__platform {
    char os[64];
    char architecture[64];
    char variant[64]; /* "" when none */
} cocoimg__platform;

/* Parse "os/arch[/variant]" and normalise it. */
int cocoimg__platform_parse(cocoimg__platform *out, const char *s, cocoimg_error **err);
/* The running machine (uname), normalised. */
void cocoimg__platform_host(cocoimg__platform *out);
/*
 * Normalise in place: x86_64/x86-64 -> amd64, aarch64 -> arm64,
 * arm64 variant v8 -> "" (v8 is the default), armhf/armel -> arm v7/v6,
 * i386/i686 -> 386, lowercase os.
 */
void cocoimg__platform_normalize(cocoimg__platform *p);
/*
 * Does an entry (os, arch, variant as found in an index; may be NULL) satisfy
 * @p want, exactly or compatibly (see cocoimg__index_select())?
 */
bool cocoimg__platform_matches(const cocoimg__platform *want, const char *os,
                               const char *architecture, const char *variant);
void cocoimg__platform_format(const cocoimg__platform *p, char *buf, size_t len);
/*
 * Pick the manifest of @p ix for @p want (both sides normalised): the first
 * exact match; else, for a want without variant, the first os/arch match;
 * else the best lower variant the machine runs (arm v8 > v7 > v6 > v5,
 * amd64 v4 > v3 > v2 > baseline).  Entries without a platform never match.
 * COCOIMG_ENOTFOUND listing the available platforms otherwise.
 */
int cocoimg__index_select(size_t *out, const cocoimg__index *ix, const cocoimg__platform *want,
                          cocoimg_error **err);

/*
 * The name of a docker reference as written, without tag or digest, when
 * it had no registry (a short name such as "alpine" or "ns/app"); NULL for
 * a fully qualified name and for other transports.
 */
const char *cocoimg__reference_short_name(const cocoimg_reference *ref);

#endif
