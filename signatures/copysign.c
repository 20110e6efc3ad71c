/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing while copying: each manifest written to a docker:// destination
 * is signed for the destination's docker reference and the signature is
 * stored under lookaside-staging (registries.d) or --sign-to DIR, as
 * skopeo copy --sign-by; with a sigstore private key, a cosign signature
 * is pushed to the destination's .sig attachment, as skopeo copy
 * --sign-by-sigstore-private-key.
 */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "signatures/cosign_sign.h"
#include "signatures/lookaside.h"
#include "signatures/policy.h"
#include "signatures/registries_d.h"
#include "signatures/sign.h"
#include "util/fs.h"
#include "util/secret.h"

struct cocoimg__copy_signer {
    cocoimg__signer signer;
    char *fingerprint, *homedir;
    cocoimg__secret *passphrase; /* NUL-terminated; NULL: none */
    char *identity;              /* host/repo:tag of the destination */
    char *staging;               /* file:// base */
    const cocoimg_reference *dst;
    const cocoimg_context *ctx;
    EVP_PKEY *cosign_key; /* NULL: no cosign signing */
};

void
cocoimg__copy_signer_free(cocoimg__copy_signer *s)
{
    if (!s)
        return;
    free(s->fingerprint);
    cocoimg__secret_free(s->passphrase);
    free(s->homedir);
    free(s->identity);
    free(s->staging);
    EVP_PKEY_free(s->cosign_key);
    free(s);
}

static int
load_cosign_key(EVP_PKEY **out, const char *path, const char *pass, cocoimg_error **err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = cocoimg__read_file(&buf, &len, AT_FDCWD, path, 1u << 16, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "signing: sigstore private key %s", path);
    r = cocoimg__sigstore_key_load(out, buf, len, pass, err);
    cocoimg__wipe(buf, len);
    free(buf);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "signing: %s", path);
    return 0;
}

/* the file:// base of the simple signatures: --sign-to DIR, else registries.d */
static int
simple_store(char **out, const cocoimg_copy_options *opts, const cocoimg_reference *dst,
             cocoimg_error **err)
{
    if (opts->version >= 3 && opts->sign_to) {
        int r = cocoimg__mkdir_p(AT_FDCWD, opts->sign_to, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "signing: --sign-to %s", opts->sign_to);
        char *abs = realpath(opts->sign_to, NULL);
        if (!abs)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "signing: %s", opts->sign_to);
        int n = asprintf(out, "file://%s", abs);
        free(abs);
        return n < 0 ? cocoimg__error_oom(err) : 0;
    }
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
    return (*out = strdup(cfg.lookaside_staging)) ? 0 : cocoimg__error_oom(err);
}

int
cocoimg__copy_signer_new(cocoimg__copy_signer **out, const cocoimg_context *ctx,
                         const cocoimg_copy_options *opts, const cocoimg_reference *dst,
                         cocoimg_error **err)
{
    *out = NULL;
    const char *keypath = opts->version >= 3 ? opts->sign_by_sigstore_private_key : NULL;
    const char *sign_by = opts->version >= 2 ? opts->sign_by : NULL;
    if (!sign_by && !keypath) {
        if (opts->version >= 3 && opts->sign_to)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "signing: sign_to needs sign_by");
        return 0;
    }
    if (cocoimg_reference_transport(dst) != COCOIMG_TRANSPORT_DOCKER)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "signing: only docker:// destinations can be signed");
    _cleanup_(cocoimg__copy_signer_freep) cocoimg__copy_signer *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    s->dst = dst;
    s->ctx = ctx;
    int r;
    if (sign_by && (r = simple_store(&s->staging, opts, dst, err)) < 0)
        return r;
    if (keypath && (r = load_cosign_key(&s->cosign_key, keypath, opts->sign_passphrase, err)) < 0)
        return r;
    if (sign_by && opts->sign_passphrase &&
        (r = cocoimg__secret_dup(&s->passphrase, opts->sign_passphrase,
                                 strlen(opts->sign_passphrase) + 1, err)) < 0)
        return r;
    if ((sign_by && !(s->fingerprint = strdup(sign_by))) ||
        (opts->sign_gpg_homedir && !(s->homedir = strdup(opts->sign_gpg_homedir))) ||
        !(s->identity = cocoimg__docker_identity(dst)))
        return cocoimg__error_oom(err);
    /* the signed identity names the tag (a digest-only destination: the repository) */
    char *at = strchr(s->identity, '@');
    if (at && cocoimg_reference_tag(dst))
        *at = '\0';
    s->signer.fingerprint = s->fingerprint;
    s->signer.passphrase = s->passphrase ? (const char *)s->passphrase->ptr : NULL;
    s->signer.homedir = s->homedir;
    *out = TAKE_PTR(s);
    return 0;
}

static int
cosign_sign(cocoimg__copy_signer *s, const cocoimg__digest *d, cocoimg_error **err)
{
    char dg[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(d, dg);
    /* a digest-only destination is signed for its repository, as cosign does */
    _cleanup_free_ char *ident = strdup(s->identity);
    if (!ident)
        return cocoimg__error_oom(err);
    char *at = strchr(ident, '@');
    if (at)
        *at = '\0';
    _cleanup_free_ char *payload = NULL;
    size_t plen = 0;
    int r = cocoimg__cosign_payload_make(&payload, &plen, dg, ident, err);
    _cleanup_free_ uint8_t *sig = NULL;
    size_t slen = 0;
    if (r == 0)
        r = cocoimg__cosign_sign_raw(&sig, &slen, s->cosign_key, payload, plen, err);
    if (r == 0)
        r = cocoimg__cosign_attach(s->ctx, s->dst, d, payload, plen, sig, slen, err);
    return r;
}

int
cocoimg__copy_signer_sign(cocoimg__copy_signer *s, const uint8_t *manifest, size_t len,
                          cocoimg_error **err)
{
    if (!s)
        return 0;
    cocoimg__digest d;
    int r = cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, manifest, len, err);
    if (r < 0)
        return r;
    if (s->cosign_key && (r = cosign_sign(s, &d, err)) < 0)
        return r;
    if (!s->fingerprint)
        return 0;
    _cleanup_free_ uint8_t *sig = NULL;
    size_t slen = 0;
    if ((r = cocoimg__simple_sign(&sig, &slen, &s->signer, manifest, len, s->identity, err)) < 0)
        return r;
    return cocoimg__lookaside_store(s->staging, s->dst, &d, sig, slen, err);
}
