/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_SIGNATURES_SIGN_H
#define COCOIMG_SIGNATURES_SIGN_H

/*
 * Making simple signatures (internal): the payload for a manifest and a
 * docker reference, signed with GPGME by a secret key of a GnuPG home (the
 * user's: NULL is GnuPG's default).
 */

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct cocoimg__signer {
    const char *fingerprint; /* of a secret key (or of its primary key) */
    const char *passphrase;  /* NULL: none; never in a message */
    const char *homedir;     /* NULL: GnuPG's default */
} cocoimg__signer;

/*
 * Sign @p manifest (its sha256 digest goes into the payload) for
 * @p docker_reference ("host/repo:tag").  *out is malloc'd.
 */
int cocoimg__simple_sign(uint8_t **out, size_t *len, const cocoimg__signer *s,
                         const uint8_t *manifest, size_t manifest_len, const char *docker_reference,
                         cocoimg_error **err);

/* Signing while copying (cocoimg_copy_options.sign_by). */
#include <cocoimg/image.h>
#include <cocoimg/reference.h>

typedef struct cocoimg__copy_signer cocoimg__copy_signer;

/*
 * NULL in *out when @p opts asks for no signing.  Fails (COCOIMG_EINVAL)
 * for a destination that is not docker://, for simple signing without
 * sign_to or a file:// lookaside store in @p opts->registries_d; loads
 * (decrypts) the sigstore private key now, so a wrong passphrase fails
 * before anything is copied (COCOIMG_EAUTH).
 */
int cocoimg__copy_signer_new(cocoimg__copy_signer **out, const cocoimg_context *ctx,
                             const cocoimg_copy_options *opts, const cocoimg_reference *dst,
                             cocoimg_error **err);
/* Sign @p manifest (as written) and store the signature(s). */
int cocoimg__copy_signer_sign(cocoimg__copy_signer *s, const uint8_t *manifest, size_t len,
                              cocoimg_error **err);
void cocoimg__copy_signer_free(cocoimg__copy_signer *s);
COCOIMG_DEFINE_CLEANUP(cocoimg__copy_signer, cocoimg__copy_signer_free)
#endif
