/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_IMAGE_H
#define COCOIMG_IMAGE_H

/*
 * Copying and inspecting images.
 *
 * References use the syntax of cocoimg/reference.h ("oci:DIR[:REF]",
 * "oci-archive:FILE[:REF]").
 *
 *   cocoimg_copy_options opts = COCOIMG_COPY_OPTIONS_INIT;
 *   opts.platform = "linux/arm64";
 *   if (cocoimg_copy(ctx, "oci:src:v1", "oci-archive:out.tar:v1", &opts, &err) < 0) {
 *       fprintf(stderr, "%s\n", cocoimg_error_message(err));
 *       cocoimg_error_free(err);
 *   }
 *
 *   char *json = NULL;
 *   cocoimg_inspect_options io = COCOIMG_INSPECT_OPTIONS_INIT;
 *   if (cocoimg_inspect(&json, NULL, ctx, "oci:src:v1", &io, &err) == 0) {
 *       puts(json);
 *       cocoimg_free(json);
 *   }
 *
 * Threads.  cocoimg_copy() (and cocoimg_encrypt() / cocoimg_decrypt(),
 * which run the same copy engine) moves up to three layers at once between
 * local layouts and archives, and up to four when a registry is on either
 * side, each on a library thread of its own.  A large blob (4 MiB or more,
 * or of unknown size) that the other layers in flight cannot keep company
 * (more than half of the bytes still to move) is further streamed over up
 * to three threads: source
 * read + digest verification, the layer transformation (encryption or
 * decryption and the HMAC), destination hashing + writing (or pushing).
 * Configs and manifests are handled on the caller's thread, and every
 * library thread has ended when the call returns.  The first failure in
 * any layer stops the others and is the one reported.  cocoimg_inspect()
 * runs on the caller's thread only.
 *   - The context's log callback may be called from those library
 *     threads, several at the same time: it must be thread-safe.
 *   - The key-unwrapping callback of the crypt options (key providers) is
 *     called only from the caller's thread: a layer's key is unwrapped
 *     before its data flows.
 *   - A context, configured before, may be shared by any number of
 *     operations running at once (copy, inspect, encrypt, decrypt,
 *     layerinfo, unpack); it must not be changed while they run.  Option
 *     structs and the strings they point to are borrowed for the call and
 *     must stay unchanged until it returns; they may be shared by calls
 *     that run at once.  Error objects and returned buffers belong to the
 *     caller alone.
 *   - Several operations may read the same source at once; two operations
 *     must not write the same destination (layout, archive, registry tag)
 *     at the same time.
 */

#include <cocoimg/common.h>
#include <cocoimg/context.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

/** Options of cocoimg_copy(); initialise with COCOIMG_COPY_OPTIONS_INIT. */
typedef struct cocoimg_copy_options {
    unsigned int version; /**< COCOIMG_COPY_OPTIONS_VERSION */
    /** Non-zero: copy every manifest of an index and the index itself. */
    int all;
    /**
     * "os/arch[/variant]" picked from an index when @c all is 0; NULL: the
     * platform of the running machine.  Ignored for single-manifest sources.
     */
    const char *platform;
    /* --- version 2 --- */
    /**
     * Simple-sign what is written (skopeo copy --sign-by): the fingerprint
     * of a secret key in @c sign_gpg_homedir (NULL: GnuPG's default).  Every
     * manifest written is signed (with @c all: each image and the index)
     * for the destination's docker reference, and the signatures are
     * stored in the lookaside-staging store that @c registries_d names for
     * the destination (file:// only), before the tag is written: a failed
     * signature fails the copy.  Only docker:// destinations.  NULL: no
     * signing.
     */
    const char *sign_by;
    /** The passphrase of that key; NULL: none.  Never in a message. */
    const char *sign_passphrase;
    const char *sign_gpg_homedir;
    /** containers-registries.d(5) directory for the lookaside store; NULL: none. */
    const char *registries_d;
    /* --- version 3 --- */
    /**
     * Cosign-sign what is written (skopeo copy --sign-by-sigstore-private-key):
     * the path of a private key file (cosign's encrypted format, "ENCRYPTED
     * SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY", or a plain PEM
     * ECDSA/RSA/Ed25519 key), decrypted with @c sign_passphrase.  Every
     * manifest written (with @c all: each image and the index) gets a
     * signature layer in the HOST/REPO:sha256-HEX.sig attachment of the
     * destination, added to the signatures already there, before the tag
     * is written.  Only docker:// destinations.  NULL: no cosign signing.
     */
    const char *sign_by_sigstore_private_key;
    /**
     * With @c sign_by: write the simple signatures to this directory in
     * lookaside layout (REPO@sha256=HEX/signature-N) instead of the
     * lookaside-staging store of @c registries_d.  NULL: registries.d.
     */
    const char *sign_to;
} cocoimg_copy_options;

#define COCOIMG_COPY_OPTIONS_VERSION 3
#define COCOIMG_COPY_OPTIONS_INIT                                                                  \
    {                                                                                              \
        COCOIMG_COPY_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL                  \
    }

/**
 * Initialise @p opts to the defaults, like COCOIMG_COPY_OPTIONS_INIT.
 * @return 0, or COCOIMG_EINVAL if @p version is not supported.
 */
COCOIMG_EXTERN(int) cocoimg_copy_options_init(cocoimg_copy_options *opts, unsigned int version);

/**
 * Copy the image @p src to @p dst.  Blobs are streamed one by one and
 * verified against their digests; blobs already at @p dst are skipped.
 * Manifests are copied byte for byte, so digests are preserved.  Without
 * @c opts->all, an index source is resolved to one manifest (opts->platform
 * or the host platform) and that manifest becomes the destination image.
 * On failure nothing is visible at @p dst: a layout created by the copy is
 * removed, an existing one keeps its index.json (and loses the blobs the
 * copy added).
 *
 * @param opts may be NULL (defaults).
 * @return 0, or COCOIMG_EINVAL (bad reference or option), COCOIMG_ENOTFOUND
 *         (image, ref, blob or platform missing), COCOIMG_EDIGEST (content
 *         does not match its digest), COCOIMG_EFORMAT / COCOIMG_ENOTSUP
 *         (malformed or unsupported document), COCOIMG_ELIMIT, COCOIMG_EIO.
 */
COCOIMG_EXTERN(int)
cocoimg_copy(cocoimg_context *ctx, const char *src, const char *dst,
             const cocoimg_copy_options *opts, cocoimg_error **err);

/** cocoimg_inspect() flags. */
enum {
    /** The raw bytes of the document instead of the summary (index or manifest;
     *  with COCOIMG_INSPECT_CONFIG: the config blob bytes). */
    COCOIMG_INSPECT_RAW = 1u << 0,
    /** The image config (pretty-printed JSON) instead of the summary. */
    COCOIMG_INSPECT_CONFIG = 1u << 1,
    /** Registries: do not list the repository's tags (RepoTags stays empty). */
    COCOIMG_INSPECT_NO_TAGS = 1u << 2,
};

/** Options of cocoimg_inspect(); initialise with COCOIMG_INSPECT_OPTIONS_INIT. */
typedef struct cocoimg_inspect_options {
    unsigned int version; /**< COCOIMG_INSPECT_OPTIONS_VERSION */
    unsigned int flags;   /**< COCOIMG_INSPECT_* */
    /** "os/arch[/variant]" picked from an index; NULL: the host platform. */
    const char *platform;
} cocoimg_inspect_options;

#define COCOIMG_INSPECT_OPTIONS_VERSION 1
#define COCOIMG_INSPECT_OPTIONS_INIT                                                               \
    {                                                                                              \
        COCOIMG_INSPECT_OPTIONS_VERSION, 0, NULL                                                   \
    }

/**
 * Initialise @p opts to the defaults, like COCOIMG_INSPECT_OPTIONS_INIT.
 * @return 0, or COCOIMG_EINVAL if @p version is not supported.
 */
COCOIMG_EXTERN(int)
cocoimg_inspect_options_init(cocoimg_inspect_options *opts, unsigned int version);

/**
 * Describe the image @p ref.  Without flags, *out is a JSON object with the
 * fields and field order of `skopeo inspect`: Name (omitted for local
 * transports), Digest (of the top-level document), RepoTags, Created,
 * DockerVersion, Labels, Architecture, Variant (when set), Os, Layers,
 * LayersData, Env.  For an index, the manifest for opts->platform (default:
 * the host) is described.
 *
 * @param out receives a NUL-terminated string owned by the caller (free
 *        with cocoimg_free()); with COCOIMG_INSPECT_RAW it holds the exact
 *        document bytes.
 * @param len_out the length of *out without the NUL; may be NULL.
 * @param opts may be NULL (defaults).
 * @return 0, or COCOIMG_EINVAL, COCOIMG_ENOTFOUND, COCOIMG_EDIGEST,
 *         COCOIMG_EFORMAT / COCOIMG_ENOTSUP, COCOIMG_EIO.
 */
COCOIMG_EXTERN(int)
cocoimg_inspect(char **out, size_t *len_out, cocoimg_context *ctx, const char *ref,
                const cocoimg_inspect_options *opts, cocoimg_error **err);

COCOIMG_END_DECL

#endif
