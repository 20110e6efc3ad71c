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
 * http:// or https://), sigstoreSigned with keyPath/keyPaths/keyData (cosign
 * signatures of the HOST/REPO:sha256-HEX.sig artifact when registries.d has
 * use-sigstore-attachments; ECDSA, RSA PKCS#1 v1.5/PSS, Ed25519).  Keyless
 * (fulcio), pki and Rekor requirements parse but refuse every image when
 * evaluated (fail closed) until they are implemented.
 */

#include <stddef.h>

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

/**
 * Make a simple signature (containers-signature(5), as skopeo
 * standalone-sign): the payload names the sha256 digest of @p manifest and
 * @p docker_reference (normalised: "busybox" is docker.io/library/busybox),
 * signed by the secret key @p fingerprint of the GnuPG home @p gpg_homedir
 * (NULL: GnuPG's default).  @p passphrase may be NULL; it never appears in
 * a message.  *sig_out is freed with cocoimg_free().
 * @return 0; COCOIMG_ENOTFOUND (no such secret key), COCOIMG_EAUTH (the
 *         key needs a passphrase, or it is wrong), COCOIMG_EINVAL.
 */
COCOIMG_EXTERN(int)
cocoimg_standalone_sign(unsigned char **sig_out, size_t *sig_len, const void *manifest,
                        size_t manifest_len, const char *docker_reference, const char *fingerprint,
                        const char *passphrase, const char *gpg_homedir, cocoimg_error **err);

/**
 * Verify a simple signature of @p manifest for @p docker_reference (as
 * skopeo standalone-verify): the keys are @p public_key_file, or, when it
 * is NULL, the public keys @p fingerprints exported from @p gpg_homedir
 * (NULL: GnuPG's default); with a key file, @p fingerprints (if any)
 * restrict which of its keys may have signed.  Verification runs in a
 * throw-away GnuPG home.  On success the signing key's fingerprint and the
 * manifest digest go to *fingerprint_out / *digest_out (cocoimg_free()).
 * @return 0; COCOIMG_EPOLICY with the reason when the signature is not
 *         accepted; COCOIMG_EINVAL, COCOIMG_ENOTFOUND for bad arguments.
 */
COCOIMG_EXTERN(int)
cocoimg_standalone_verify(char **fingerprint_out, char **digest_out, const void *manifest,
                          size_t manifest_len, const char *docker_reference,
                          const char *const *fingerprints, size_t n_fingerprints,
                          const char *public_key_file, const char *gpg_homedir, const void *sig,
                          size_t sig_len, cocoimg_error **err);

/**
 * Make a cosign key pair (as skopeo generate-sigstore-key): an ECDSA P-256
 * key written to PREFIX.key in cosign's encrypted format ("ENCRYPTED
 * SIGSTORE PRIVATE KEY": scrypt N=65536 r=8 p=1 and NaCl secretbox over the
 * PKCS#8 key, encrypted with @p passphrase, which may be empty), mode 0600,
 * and its public key to PREFIX.pub (PEM SubjectPublicKeyInfo).  Neither
 * file may exist already.
 * @return 0; COCOIMG_EIO when a file exists or cannot be
 *         written (nothing is left behind), COCOIMG_EINVAL.
 */
COCOIMG_EXTERN(int)
cocoimg_generate_sigstore_key(const char *output_prefix, const char *passphrase,
                              cocoimg_error **err);

COCOIMG_END_DECL

#endif
