/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_COPY_H
#define COCOIMG_COPY_H

/*
 * The copy engine behind cocoimg_copy(), with hooks for work that rewrites
 * layers on the way (encryption, decryption).
 *
 * The source is resolved first (resolve.h: top-level document, index,
 * platform or every entry, manifests verified, hooks->check), before the
 * destination is opened.  For every image manifest copied, the engine:
 *   1. copies the config blob unchanged;
 *   2. for each layer i, if hooks->layer is set, calls it with a mutable
 *      copy of the layer descriptor and the verified source stream.  The
 *      hook may take the stream (set *in to NULL; it then owns it) and
 *      return a replacement stream in *out.  The engine writes *out to the
 *      destination, sets "digest" and "size" of @p desc from what it wrote
 *      and calls hooks->layer_done(desc).  Up to `parallel` layers (see
 *      transport.h) are in flight at once, each written by a thread of
 *      its own; hooks and progress events stay on the caller's thread.  If *out stays NULL the
 * layer is copied unchanged (changes the hook made to @p desc are kept).
 *   3. if any descriptor changed, calls hooks->manifest(root) and writes the
 *      manifest re-serialised (compact, key order kept); otherwise the source
 *      bytes are written unchanged, so the digest is preserved.  A parent
 *      index entry then gets the new digest, size and mediaType.
 * Hooks return 0 or a negative COCOIMG_E* code and set *err.
 */

#include <jansson.h>

#include <cocoimg/image.h>

#include "oci/model.h"
#include "pipeline/reader.h"
#include "resolve.h"

struct cocoimg__copy_hooks {
    void *payload;
    /*
     * Optional: the resolve's check hook (resolve.h), called with @p payload
     * for every image to be copied before any blob is fetched or anything
     * is created at the destination.
     */
    cocoimg__resolve_check_fn check;
    /*
     * Optional, called first for each layer: may change @p desc; sets
     * *stream to say whether layer() wants the blob's bytes.  A layer that
     * is not streamed is copied (or mounted, or skipped when present)
     * without the source blob ever being opened.
     */
    int (*plan)(void *payload, const cocoimg__manifest *m, size_t idx, json_t *desc, bool *stream,
                cocoimg_error **err);
    /*
     * *layer_state: the hook's state of this layer, handed to layer_done()
     * and then to layer_free() (also when the copy fails first).  Several
     * layers may be in flight at once; every hook is called on the
     * caller's thread, layer_done() in the order the layers finish.
     */
    int (*layer)(void *payload, const cocoimg__manifest *m, size_t idx, json_t *desc,
                 cocoimg__reader **in, cocoimg__reader **out, void **layer_state,
                 cocoimg_error **err);
    int (*layer_done)(void *payload, void *layer_state, json_t *desc, cocoimg_error **err);
    void (*layer_free)(void *payload, void *layer_state);
    int (*manifest)(void *payload, json_t *manifest_root, cocoimg_error **err);
    /* The operation's name in progress events ("encrypt", ...); NULL: "copy". */
    const char *name;
};

/* cocoimg_copy() with @p hooks (NULL: a plain copy). */
int cocoimg__copy_internal(cocoimg_context *ctx, const char *src, const char *dst,
                           const cocoimg_copy_options *opts,
                           const struct cocoimg__copy_hooks *hooks, cocoimg_error **err);

#endif
