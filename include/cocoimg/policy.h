/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_POLICY_H
#define COCOIMG_POLICY_H

/*
 * Signature policy: containers-policy.json(5) and containers-registries.d(5),
 * with containers/image's semantics.
 *
 * Once a context has a policy (cocoimg_context_set_policy()), every
 * cocoimg_copy(), cocoimg_encrypt(), cocoimg_decrypt() and cocoimg_unpack()
 * on it checks the source image against it at the one place where a
 * reference becomes a manifest, before any config or layer blob is
 * fetched: for an index, each image that will be used, with that image's
 * signatures.  A rejection fails the operation with COCOIMG_EPOLICY and a
 * message naming the requirement and why each signature was refused.
 * cocoimg_inspect() and cocoimg_layer_list_load() do not check (like
 * skopeo inspect).  A context without a policy checks nothing: a program
 * that must not run unsigned images (the coco-img CLI) always sets one.
 *
 * Supported: insecureAcceptAnything, reject, signedBy (GPGKeys: simple
 * signing, signatures from the lookaside store of registries.d, file://,
 * http:// or https://).  sigstoreSigned requirements parse but are
 * refused when evaluated (fail closed) until cosign verification lands.
 */

#include <cocoimg/common.h>
#include <cocoimg/context.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

#define COCOIMG_POLICY_OPTIONS_VERSION 1

typedef struct cocoimg_policy_options {
    unsigned int version; /**< COCOIMG_POLICY_OPTIONS_VERSION */
    /** The policy file (required). */
    const char *policy_path;
    /**
     * The registries.d directory (every *.yaml in it); NULL: none (no
     * lookaside: signedBy finds no signatures).  A directory that does not
     * exist is an empty configuration, as in containers/image.
     */
    const char *registries_d;
} cocoimg_policy_options;

#define COCOIMG_POLICY_OPTIONS_INIT                                                                \
    {                                                                                              \
        COCOIMG_POLICY_OPTIONS_VERSION, NULL, NULL                                                 \
    }

COCOIMG_EXTERN(int)
cocoimg_policy_options_init(cocoimg_policy_options *opts, unsigned int version);

/**
 * Load the policy and registries.d of @p opts into @p ctx (replacing any
 * earlier one).
 * @return 0; COCOIMG_ENOTFOUND (no policy file: never a silent accept),
 *         COCOIMG_EFORMAT ("invalid policy FILE: JSON.PATH: reason",
 *         "invalid registries.d file FILE: ..."), COCOIMG_EINVAL.
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_policy(cocoimg_context *ctx, const cocoimg_policy_options *opts,
                           cocoimg_error **err);

/**
 * Check @p ref (for an index: the image for @p platform, NULL: the host's)
 * against the policy of @p ctx, fetching only manifests and signatures.
 * @return 0 when accepted; COCOIMG_EPOLICY with the reason; COCOIMG_EINVAL
 *         when @p ctx has no policy; other codes for fetch failures.
 */
COCOIMG_EXTERN(int)
cocoimg_verify(cocoimg_context *ctx, const char *ref, const char *platform, cocoimg_error **err);

COCOIMG_END_DECL

#endif
