/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_RESOLVE_H
#define COCOIMG_RESOLVE_H

/*
 * Reference -> image manifest(s), one path for copy, encrypt/decrypt,
 * layerinfo, inspect and unpack (internal).
 *
 *   source -> top-level document (bytes, media type, sha256 digest, kind)
 *          -> index (parsed)
 *          -> the entry for the platform wanted, or every entry (ALL)
 *          -> image manifest (fetched by digest: verified; parsed)
 *          -> check hook (signature policy: once per image)
 *          -> config (cocoimg__resolve_config(): on demand, bounded, verified)
 *
 * cocoimg__resolve_open() does everything up to and including the check
 * hook for every image it will hand out, before it returns: no config or
 * layer blob has been fetched when the hook runs, and a hook's error fails
 * the open.  An index entry that is itself an index is refused with
 * COCOIMG_ENOTSUP, "manifest DIGEST: nested index is not supported": in
 * SELECT mode when it is the entry selected, in ALL mode when any entry is
 * one.  Nothing is written anywhere, so callers resolve before they create
 * anything at their destination.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/reference.h>

#include "oci/model.h"
#include "transport/transport.h"
#include "util/error.h"

typedef enum {
    COCOIMG__RESOLVE_SELECT = 0, /* from an index, the entry for the platform wanted */
    COCOIMG__RESOLVE_ALL,        /* every entry of an index */
    COCOIMG__RESOLVE_TOP,        /* the top-level document only (bytes and digest, unparsed) */
} cocoimg__resolve_mode;

/* A document as resolved: bytes (verified), their digest, the media type it was named with. */
typedef struct cocoimg__resolve_doc {
    const uint8_t *bytes;
    size_t len;
    cocoimg__digest digest; /* top-level: sha256 of the bytes; entries: the entry's digest */
    const char *media_type; /* transport's Content-Type / the entry's mediaType; may be NULL */
} cocoimg__resolve_doc;

/*
 * The hook for the signature policy: called once per image handed out,
 * after its manifest was fetched, verified and parsed, before anything
 * else of it (config, layers) is fetched.  @p top is the top-level
 * document (the index, or the manifest itself: then @p top and @p image
 * name the same bytes).  Return 0 to accept, or a negative COCOIMG_E* code
 * with *err set (COCOIMG_EPOLICY for a rejection) to abort the open.
 */
typedef int (*cocoimg__resolve_check_fn)(void *payload, const cocoimg_reference *user_ref,
                                         const cocoimg__resolve_doc *top,
                                         const cocoimg__resolve_doc *image, cocoimg_error **err);

typedef struct cocoimg__resolve_options {
    cocoimg__resolve_mode mode;
    cocoimg__platform platform; /* SELECT: the platform wanted (normalised) */
    cocoimg__resolve_check_fn check;
    void *check_payload;
} cocoimg__resolve_options;

/*
 * Fill @p out from the user's options: @p platform "os/arch[/variant]"
 * (NULL: the host's), @p all for every entry of an index.  Both at once
 * fail (COCOIMG_EINVAL, "a platform and 'all' are mutually exclusive"); a
 * bad platform fails with "platform 'P': ...".  Callers wrap the error
 * with the operation's name.  No hook is set.
 */
int cocoimg__resolve_options_init(cocoimg__resolve_options *out, const char *platform, bool all,
                                  cocoimg_error **err);

/* One image handed out by the resolve; owned by it. */
typedef struct cocoimg__resolve_image {
    /*
     * Its index entry (borrowed from the index: valid until the caller
     * refreshes the index) and the entry's position; NULL / 0 when the
     * top-level document is the manifest.
     */
    const cocoimg__descriptor *entry;
    size_t entry_index;
    cocoimg__resolve_doc doc;    /* the manifest's bytes, as stored */
    cocoimg__manifest *manifest; /* parsed from doc; the caller may modify its root */
} cocoimg__resolve_image;

typedef struct cocoimg__resolve cocoimg__resolve;

/*
 * Resolve the top-level document of @p src (borrowed; it must outlive the
 * resolve) per @p opts (NULL: SELECT for the host platform, no hook).
 * @p user_ref is the reference the user asked for (borrowed), handed to
 * the hook.  Errors are not prefixed with the operation: callers wrap.
 */
int cocoimg__resolve_open(cocoimg__resolve **out, cocoimg__source *src,
                          const cocoimg_reference *user_ref, const cocoimg__resolve_options *opts,
                          cocoimg_error **err);
void cocoimg__resolve_free(cocoimg__resolve *res);
COCOIMG_DEFINE_CLEANUP(cocoimg__resolve, cocoimg__resolve_free)
#define _cleanup_resolve_ _cleanup_(cocoimg__resolve_freep)

/* The source the resolve reads (borrowed from the caller). */
cocoimg__source *cocoimg__resolve_source(const cocoimg__resolve *res);
/* The top-level document. */
const cocoimg__resolve_doc *cocoimg__resolve_top(const cocoimg__resolve *res);
/* Its kind (COCOIMG_DOC_UNKNOWN in TOP mode: not looked at). */
cocoimg__doc_kind cocoimg__resolve_top_kind(const cocoimg__resolve *res);
/* The parsed top-level index (NULL unless the top-level document is one); mutable. */
cocoimg__index *cocoimg__resolve_index(const cocoimg__resolve *res);

/*
 * The images, in index order: one in SELECT mode (or for a lone manifest),
 * every entry in ALL mode, none in TOP mode.  cocoimg__resolve_next()
 * iterates: NULL after the last one.
 */
size_t cocoimg__resolve_count(const cocoimg__resolve *res);
cocoimg__resolve_image *cocoimg__resolve_image_at(const cocoimg__resolve *res, size_t i);
cocoimg__resolve_image *cocoimg__resolve_next(cocoimg__resolve *res);

/*
 * Fetch the config of @p img (at most COCOIMG_JSON_MAX_SIZE, COCOIMG_ELIMIT
 * otherwise; digest and size verified).  The parsed config goes to
 * *config_out unless that is NULL, the bytes to *bytes_out / *len_out
 * (malloc'd) unless @p bytes_out is NULL.  Errors are prefixed
 * "config DIGEST".
 */
int cocoimg__resolve_config(cocoimg__config **config_out, uint8_t **bytes_out, size_t *len_out,
                            const cocoimg__resolve *res, const cocoimg__resolve_image *img,
                            cocoimg_error **err);

#endif
