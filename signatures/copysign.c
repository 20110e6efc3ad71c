/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing while copying: each manifest written to a docker:// destination
 * is signed for the destination's docker reference and the signature is
 * stored under lookaside-staging (registries.d), as skopeo copy --sign-by.
 */
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "signatures/lookaside.h"
#include "signatures/policy.h"
#include "signatures/registries_d.h"
#include "signatures/sign.h"
#include "util/secret.h"

struct cocoimg__copy_signer {
    cocoimg__signer signer;
    char *fingerprint, *passphrase, *homedir;
    char *identity; /* host/repo:tag of the destination */
    char *staging;  /* file:// base */
    const cocoimg_reference *dst;
};

void
cocoimg__copy_signer_free(cocoimg__copy_signer *s)
{
    if (!s)
        return;
    free(s->fingerprint);
    cocoimg__free_wipe_str(s->passphrase);
    free(s->homedir);
    free(s->identity);
    free(s->staging);
    free(s);
}

int
cocoimg__copy_signer_new(cocoimg__copy_signer **out, const cocoimg_copy_options *opts,
                         const cocoimg_reference *dst, cocoimg_error **err)
{
    *out = NULL;
    if (opts->version < 2 || !opts->sign_by)
        return 0;
    if (cocoimg_reference_transport(dst) != COCOIMG_TRANSPORT_DOCKER)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "signing: only docker:// destinations can be signed");
    _cleanup_(cocoimg__registries_d_freep) cocoimg__registries_d *rd = NULL;
    int r = opts->registries_d ? cocoimg__registries_d_load(&rd, opts->registries_d, err)
                               : cocoimg__registries_d_new(&rd, err);
    if (r < 0)
        return r;
    cocoimg__sigstore_config cfg;
    cocoimg__registries_d_for(&cfg, rd, dst);
    if (!cfg.lookaside_staging)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "signing: registries.d %s has no lookaside store for %s",
                                  opts->registries_d ? opts->registries_d : "(none given)",
                                  cocoimg_reference_string(dst));
    if (strncmp(cfg.lookaside_staging, "file://", 7) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "signing: the lookaside store %s is not file://: only local "
                                  "stores are written",
                                  cfg.lookaside_staging);
    cocoimg__copy_signer *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    s->dst = dst;
    if (!(s->fingerprint = strdup(opts->sign_by)) ||
        (opts->sign_passphrase && !(s->passphrase = strdup(opts->sign_passphrase))) ||
        (opts->sign_gpg_homedir && !(s->homedir = strdup(opts->sign_gpg_homedir))) ||
        !(s->staging = strdup(cfg.lookaside_staging)) ||
        !(s->identity = cocoimg__docker_identity(dst))) {
        cocoimg__copy_signer_free(s);
        return cocoimg__error_oom(err);
    }
    /* the signed identity names the tag (a digest-only destination: the repository) */
    char *at = strchr(s->identity, '@');
    if (at && cocoimg_reference_tag(dst))
        *at = '\0';
    s->signer.fingerprint = s->fingerprint;
    s->signer.passphrase = s->passphrase;
    s->signer.homedir = s->homedir;
    *out = s;
    return 0;
}

int
cocoimg__copy_signer_sign(cocoimg__copy_signer *s, const uint8_t *manifest, size_t len,
                          cocoimg_error **err)
{
    if (!s)
        return 0;
    _cleanup_free_ uint8_t *sig = NULL;
    size_t slen = 0;
    int r = cocoimg__simple_sign(&sig, &slen, &s->signer, manifest, len, s->identity, err);
    if (r < 0)
        return r;
    cocoimg__digest d;
    if ((r = cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, manifest, len, err)) < 0)
        return r;
    return cocoimg__lookaside_store(s->staging, s->dst, &d, sig, slen, err);
}
