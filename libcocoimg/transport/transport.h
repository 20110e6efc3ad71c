/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_TRANSPORT_TRANSPORT_H
#define COCOIMG_TRANSPORT_TRANSPORT_H

/*
 * Image sources and destinations (internal).
 *
 * A transport (oci:, oci-archive:, docker://) implements two small
 * vtables.  Callers only use the cocoimg__source_* / cocoimg__dest_*
 * wrappers below; cocoimg__source_open() / cocoimg__dest_open() pick the
 * implementation from the reference.
 *
 * Transports: oci_layout.c, oci_archive.c, docker.c (registries).
 *
 * Source: the top-level document (manifest or index) of the reference,
 * manifests by digest, and blobs as readers that already verify digest and
 * size (a blob is never handed out unverified: the reader returns
 * COCOIMG_EDIGEST instead of EOF when the bytes do not match).
 *
 * Destination: blobs and manifests are staged and published content-
 * addressed; nothing names them until commit() points the reference at the
 * top-level document.  abort() leaves nothing visible: a layout created by
 * this destination is removed, an existing one keeps its index.json and
 * loses the blobs this destination added.  Exactly one of commit() or
 * abort() should be called before free(); free() without commit() aborts.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <cocoimg/context.h>
#include <cocoimg/reference.h>

#include "oci/digest.h"
#include "pipeline/reader.h"
#include "util/error.h"

typedef struct cocoimg__source cocoimg__source;
typedef struct cocoimg__dest cocoimg__dest;

struct cocoimg__source_ops {
    const char *name;
    /*
     * Blobs this source serves well at once: 0 when get_blob() must not be
     * called from several threads at the same time, else the number of
     * layers the copy engine keeps in flight (local files: enough to keep
     * the cores busy; registries: enough to hide round trips).
     */
    unsigned int parallel;
    /*
     * @p digest NULL: the top-level document of the reference; *media_type
     * gets its media type when the transport knows it (else NULL).
     * Otherwise the manifest with that digest (@p size, or -1 if unknown),
     * verified.  The bytes are malloc'd, at most COCOIMG_JSON_MAX_SIZE.
     */
    int (*get_manifest)(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                        uint8_t **buf_out, size_t *len_out, char **media_type_out,
                        cocoimg_error **err);
    /* A reader over the blob that verifies @p digest and @p size (-1: unknown). */
    int (*get_blob)(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                    cocoimg__reader **out, cocoimg_error **err);
    void (*free)(cocoimg__source *s);
    /*
     * Optional (registries): the repository's name as skopeo prints it
     * ("docker.io/library/alpine") and, unless @p tags_out is NULL, its
     * tags, a JSON array of strings.
     */
    int (*list_tags)(cocoimg__source *s, const char **name_out, json_t **tags_out,
                     cocoimg_error **err);
};

struct cocoimg__source {
    const struct cocoimg__source_ops *ops;
    const cocoimg_context *ctx; /* borrowed */
};

struct cocoimg__dest_ops {
    const char *name;
    /* As cocoimg__source_ops.parallel, for has_blob() and put_blob(). */
    unsigned int parallel;
    int (*has_blob)(cocoimg__dest *d, const cocoimg__digest *digest, int64_t size, bool *out,
                    cocoimg_error **err);
    /*
     * Stream @p in (always consumed and freed) into a staged file; publish
     * it only when complete and, if @p expected is not NULL, matching
     * @p expected and @p expected_size (-1: unknown).  The digest (of
     * @p expected's algorithm, else sha256) and size written go to
     * *digest_out / *size_out (may be NULL).
     */
    int (*put_blob)(cocoimg__dest *d, cocoimg__reader *in, const cocoimg__digest *expected,
                    int64_t expected_size, cocoimg__digest *digest_out, int64_t *size_out,
                    cocoimg_error **err);
    /* Store a manifest or index (content-addressed, sha256) of @p media_type. */
    int (*put_manifest)(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                        cocoimg__digest *digest_out, cocoimg_error **err);
    /*
     * Point the reference at the top-level document @p buf (already stored
     * with put_manifest()).  A transport that tags by upload (registries)
     * gets the bytes for that.
     */
    int (*commit)(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                  cocoimg_error **err);
    /* Undo what is visible (see the top of this file); never fails. */
    void (*abort)(cocoimg__dest *d);
    void (*free)(cocoimg__dest *d);
    /*
     * Optional: learn where the blobs come from, before the first blob
     * (a registry mounts blobs from another repository of itself).
     */
    int (*set_source)(cocoimg__dest *d, const cocoimg__source *s, cocoimg_error **err);
};

struct cocoimg__dest {
    const struct cocoimg__dest_ops *ops;
    const cocoimg_context *ctx; /* borrowed */
    bool committed;
    bool aborted;
};

/* Open the source / destination named by @p ref (COCOIMG_ENOTSUP for other transports). */
int cocoimg__source_open(cocoimg__source **out, const cocoimg_context *ctx,
                         const cocoimg_reference *ref, cocoimg_error **err);
int cocoimg__dest_open(cocoimg__dest **out, const cocoimg_context *ctx,
                       const cocoimg_reference *ref, cocoimg_error **err);

int cocoimg__source_get_manifest(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                                 uint8_t **buf_out, size_t *len_out, char **media_type_out,
                                 cocoimg_error **err);
/* Name and tags of a registry source; COCOIMG_ENOTSUP for other transports. */
int cocoimg__source_list_tags(cocoimg__source *s, const char **name_out, json_t **tags_out,
                              cocoimg_error **err);
int cocoimg__source_get_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                             cocoimg__reader **out, cocoimg_error **err);
void cocoimg__source_free(cocoimg__source *s);
COCOIMG_DEFINE_CLEANUP(cocoimg__source, cocoimg__source_free)
#define _cleanup_source_ _cleanup_(cocoimg__source_freep)

int cocoimg__dest_has_blob(cocoimg__dest *d, const cocoimg__digest *digest, int64_t size, bool *out,
                           cocoimg_error **err);
int cocoimg__dest_put_blob(cocoimg__dest *d, cocoimg__reader *in, const cocoimg__digest *expected,
                           int64_t expected_size, cocoimg__digest *digest_out, int64_t *size_out,
                           cocoimg_error **err);
int cocoimg__dest_put_manifest(cocoimg__dest *d, const uint8_t *buf, size_t len,
                               const char *media_type, cocoimg__digest *digest_out,
                               cocoimg_error **err);
int cocoimg__dest_commit(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                         cocoimg_error **err);
void cocoimg__dest_abort(cocoimg__dest *d);
/* Tell @p d the source of the copy (an optimisation hint; call before any blob). */
int cocoimg__dest_set_source(cocoimg__dest *d, const cocoimg__source *s, cocoimg_error **err);
/* Aborts first unless committed; NULL allowed. */
void cocoimg__dest_free(cocoimg__dest *d);
COCOIMG_DEFINE_CLEANUP(cocoimg__dest, cocoimg__dest_free)
#define _cleanup_dest_ _cleanup_(cocoimg__dest_freep)

/* --- OCI image layout (oci_layout.c) --- */

/*
 * @p path: the layout directory; @p ref_name: org.opencontainers.image.ref.name
 * or NULL.  Source: the layout must exist (COCOIMG_ENOTFOUND) and be a
 * layout (COCOIMG_EFORMAT).  Destination: a missing directory (its parent
 * must exist) or an empty one becomes a new layout; a non-empty directory
 * that is not a layout is refused (COCOIMG_EEXISTS).
 */
int cocoimg__layout_source_open(cocoimg__source **out, const cocoimg_context *ctx, const char *path,
                                const char *ref_name, cocoimg_error **err);
int cocoimg__layout_dest_open(cocoimg__dest **out, const cocoimg_context *ctx, const char *path,
                              const char *ref_name, cocoimg_error **err);

/* --- OCI archive (oci_archive.c) --- */

int cocoimg__archive_source_open(cocoimg__source **out, const cocoimg_context *ctx,
                                 const char *path, const char *ref_name, cocoimg_error **err);
int cocoimg__archive_dest_open(cocoimg__dest **out, const cocoimg_context *ctx, const char *path,
                               const char *ref_name, cocoimg_error **err);

/*
 * Extract the OCI layout in the tar @p archive_path into the existing empty
 * directory @p dirfd.  Only oci-layout, index.json and blobs/ALG/HEX regular
 * files (and their directories) are accepted; anything else (links,
 * devices, other names, duplicates) fails with COCOIMG_EFORMAT.
 */
int cocoimg__archive_extract(int dirfd, const char *archive_path, cocoimg_error **err);
/* Write the layout in @p dirfd as a tar to @p archive_path (staged, renamed). */
int cocoimg__archive_write(int dirfd, const char *archive_path, cocoimg_error **err);

/* --- registry (docker.c): docker://HOST[:PORT]/REPO[:TAG][@DIGEST] --- */

/*
 * A registry client per source / destination, set up from the context's
 * registry settings of that side.  No network traffic until the first
 * request.  A destination whose reference has only a digest commits by
 * that digest (COCOIMG_EINVAL if the image written has another one).
 */
/*
 * The OCI 1.1 referrers index of @p digest in a docker source's repository
 * (cocoimg__registry_get_referrers): NULL when the registry has no
 * referrers API.
 */
int cocoimg__docker_source_referrers(json_t **out, cocoimg__source *s,
                                     const cocoimg__digest *digest, const char *artifact_type,
                                     cocoimg_error **err);
/*
 * The X-Registry-Supports-Signatures signature list (JSON) of @p digest in
 * a docker source's repository; *out NULL when the registry does not
 * advertise the API.
 */
int cocoimg__docker_source_signatures(json_t **out, cocoimg__source *s,
                                      const cocoimg__digest *digest, cocoimg_error **err);
int cocoimg__docker_source_open(cocoimg__source **out, const cocoimg_context *ctx,
                                const cocoimg_reference *ref, cocoimg_error **err);
int cocoimg__docker_dest_open(cocoimg__dest **out, const cocoimg_context *ctx,
                              const cocoimg_reference *ref, cocoimg_error **err);

#endif
