/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UNPACK_H
#define COCOIMG_UNPACK_H

/*
 * Unpacking an image into an OCI runtime bundle (like `umoci unpack`).
 *
 *   cocoimg_unpack_options o = COCOIMG_UNPACK_OPTIONS_INIT;
 *   o.platform = "linux/amd64";
 *   if (cocoimg_unpack(ctx, "oci:img:v1", "/run/bundle", &o, &err) < 0) {
 *       fprintf(stderr, "%s\n", cocoimg_error_message(err));
 *       cocoimg_error_free(err);
 *   }
 *
 * Every layer is streamed once: blob (digest and size verified) ->
 * decryption when encrypted -> decompression (by media type) -> diffID
 * check -> extraction onto BUNDLE/rootfs with umoci/containers-storage
 * semantics (OCI whiteouts, hardlinks, symlinks never followed, modes,
 * owners when root, mtimes, xattrs); no write can leave the rootfs.
 * BUNDLE/config.json is a runtime-spec 1.0.2 configuration generated from
 * the image config.
 *
 * The bundle is built in a staging directory "BUNDLE.tmp-XXXXXX" next to
 * BUNDLE (mode 0700 until it is complete: it holds unverified plaintext)
 * and renamed to BUNDLE only when everything was verified; on any failure
 * or cancellation the staging directory is removed and BUNDLE does not
 * exist.
 *
 * A hostile layer is refused (COCOIMG_EFORMAT, nothing left): names or
 * hardlink targets with a ".." component, whiteouts of "." or "..".  What
 * a layer cannot set: the rootfs directory's own metadata (a "./" entry is
 * ignored), trusted.* and security.* xattrs other than
 * security.capability, overlayfs' user.overlay.*, and, when not running as
 * root, setuid/setgid bits (unless COCOIMG_UNPACK_KEEP_SETID).  A layer
 * decompressing to more than options.max_layer_bytes fails with
 * COCOIMG_ELIMIT.
 *
 * From a registry, layers download in parallel (options.jobs) while they are
 * applied strictly in order; memory stays bounded (a few MiB per thread)
 * whatever the layer sizes.  Each layer runs over up to three threads
 * (download + verification + decryption, decompression + diffID, tar).
 *
 * Threads: a cocoimg_context (configured before) may be used by several
 * cocoimg_unpack() calls at once; its log callback is then called from
 * several threads, and from the library's own threads during an unpack.
 * The progress callback is called only from the caller's thread; the
 * key provider of the crypt options (cocoimg_keyprovider) too.
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/common.h>
#include <cocoimg/context.h>
#include <cocoimg/crypt.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

#define COCOIMG_UNPACK_OPTIONS_VERSION 1

/**
 * Progress of layer @p layer (0-based from the bottom): @p done bytes of
 * the blob read out of @p total.  Called at the start of each layer, as the
 * data flows and at its end, always from the thread that called
 * cocoimg_unpack() (never from a download thread), for one layer at a time
 * in order.  Return 0 to go on; any other value cancels the unpack: every
 * download stops promptly, nothing is left behind, and cocoimg_unpack()
 * fails with COCOIMG_EUSER.
 */
typedef int (*cocoimg_unpack_progress_cb)(size_t layer, uint64_t done, uint64_t total,
                                          void *payload);

/**
 * Flag of cocoimg_unpack_options.flags: keep setuid/setgid bits when not
 * running as root.  By default they are dropped then: the files belong to
 * the unpacking user, so a setuid file would run with that user's rights.
 */
#define COCOIMG_UNPACK_KEEP_SETID (1u << 0)

/** Options of cocoimg_unpack(); initialise with COCOIMG_UNPACK_OPTIONS_INIT. */
typedef struct cocoimg_unpack_options {
    unsigned int version; /**< COCOIMG_UNPACK_OPTIONS_VERSION */
    /** "os/arch[/variant]" picked from an index; NULL: the running machine. */
    const char *platform;
    /**
     * Decryption keys for encrypted layers (keys, dec_recipients,
     * gpg_homedir, use_gpg_keys, keyprovider); NULL: no keys, an encrypted
     * layer fails with COCOIMG_ENOKEY.  recipients, layers and all are
     * refused (COCOIMG_EINVAL naming the field), platform unless it equals
     * the platform above.  Borrowed for the call.
     */
    const cocoimg_crypt_options *crypt;
    /** Optional progress and cancellation callback, and its payload. */
    cocoimg_unpack_progress_cb progress;
    void *progress_payload;
    /**
     * Blobs downloaded at once from a registry (docker://): the layer being
     * applied streams straight into the rootfs while jobs - 1 threads
     * prefetch the next layers into files of the staging directory
     * (verified while written, deleted once applied; bounded by
     * prefetch_max_bytes).  0: the default
     * (COCOIMG_UNPACK_DEFAULT_JOBS); 1: one layer after the other; at most
     * COCOIMG_UNPACK_MAX_JOBS.  Local sources (oci:, oci-archive:) always
     * stream layer by layer.
     */
    unsigned int jobs;
    /**
     * Disk budget of the prefetched layers: the download threads hold at
     * most this many bytes of staged blobs (and at most @c jobs staged
     * layers) that the caller's thread has not finished applying; a worker
     * waits for the applier before it starts a layer that would exceed it.
     * A layer larger than the budget is never prefetched: it is streamed
     * when its turn comes.  0: the default
     * (COCOIMG_UNPACK_DEFAULT_PREFETCH_MAX_BYTES).
     */
    uint64_t prefetch_max_bytes;
    /** COCOIMG_UNPACK_* flags. */
    unsigned int flags;
    /**
     * Most bytes a layer may decompress to (the whole tar stream, trailing
     * padding included); more fails with COCOIMG_ELIMIT before it fills the
     * disk.  0: the default, COCOIMG_UNPACK_DEFAULT_LAYER_RATIO times the
     * layer's blob size and at least COCOIMG_UNPACK_DEFAULT_MIN_LAYER_BYTES;
     * UINT64_MAX: no limit.
     */
    uint64_t max_layer_bytes;
    /**
     * Optional cancellation flag, polled by every stream of the unpack (on
     * each read, in every thread) and between its steps: once *cancel is
     * non-zero the unpack stops, removes its staging directory and fails
     * with COCOIMG_EUSER.  A signal handler may set it (the one kind of
     * object a handler may write); NULL: none.
     */
    const volatile sig_atomic_t *cancel;
} cocoimg_unpack_options;

#define COCOIMG_UNPACK_DEFAULT_JOBS 3
#define COCOIMG_UNPACK_MAX_JOBS 64
#define COCOIMG_UNPACK_DEFAULT_PREFETCH_MAX_BYTES (UINT64_C(1) << 30)
#define COCOIMG_UNPACK_DEFAULT_LAYER_RATIO 64
#define COCOIMG_UNPACK_DEFAULT_MIN_LAYER_BYTES (UINT64_C(1) << 30)

#define COCOIMG_UNPACK_OPTIONS_INIT                                                                \
    {                                                                                              \
        COCOIMG_UNPACK_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL                   \
    }

/** Initialise @p opts; @return 0, or COCOIMG_EINVAL for an unknown version. */
COCOIMG_EXTERN(int)
cocoimg_unpack_options_init(cocoimg_unpack_options *opts, unsigned int version);

/**
 * Unpack the image @p src into the runtime bundle directory @p bundle
 * (created; an existing empty directory is replaced).
 * @param opts may be NULL (defaults).
 * @return 0; COCOIMG_EEXISTS when @p bundle exists and is not an empty
 * directory; COCOIMG_EDIGEST when a blob or a layer's diffID does not
 * match; COCOIMG_EAUTH / COCOIMG_ENOKEY for encrypted layers;
 * COCOIMG_EFORMAT for a malformed or hostile layer; COCOIMG_ELIMIT for a
 * layer larger than options.max_layer_bytes once decompressed;
 * COCOIMG_EUSER when the progress callback or options.cancel cancelled;
 * other COCOIMG_E* codes.
 */
COCOIMG_EXTERN(int)
cocoimg_unpack(cocoimg_context *ctx, const char *src, const char *bundle,
               const cocoimg_unpack_options *opts, cocoimg_error **err);

COCOIMG_END_DECL

#endif
