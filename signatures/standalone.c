/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cocoimg_standalone_sign() / cocoimg_standalone_verify(): skopeo's
 * standalone-sign and standalone-verify on top of sign.c and simple.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cocoimg/policy.h>

#include "gpg/gpg.h"
#include "oci/digest.h"
#include "signatures/policy.h"
#include "signatures/sign.h"
#include "signatures/simple.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

/* "docker.io/library/busybox:latest" from "busybox:latest" */
static int
normalise(char **out, cocoimg_reference **ref_out, const char *docker_reference,
          cocoimg_error **err)
{
    if (!docker_reference || !*docker_reference || strstr(docker_reference, "://"))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "a docker reference (HOST/REPO[:TAG]) is needed");
    _cleanup_free_ char *full = NULL;
    if (asprintf(&full, "docker://%s", docker_reference) < 0)
        return cocoimg__error_oom(err);
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r = NULL;
    int rc = cocoimg_reference_parse(&r, full, err);
    if (rc < 0)
        return rc;
    if (!(*out = cocoimg__docker_identity(r)))
        return cocoimg__error_oom(err);
    if (ref_out)
        *ref_out = TAKE_PTR(r);
    return 0;
}

int
cocoimg_standalone_sign(unsigned char **sig_out, size_t *sig_len, const void *manifest,
                        size_t manifest_len, const char *docker_reference, const char *fingerprint,
                        const char *passphrase, const char *gpg_homedir, cocoimg_error **err)
{
    if (!sig_out || !sig_len || !manifest || !fingerprint || !*fingerprint)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "standalone-sign: invalid arguments");
    _cleanup_free_ char *ident = NULL;
    int r = normalise(&ident, NULL, docker_reference, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "standalone-sign");
    cocoimg__signer s = {
        .fingerprint = fingerprint, .passphrase = passphrase, .homedir = gpg_homedir};
    if ((r = cocoimg__simple_sign(sig_out, sig_len, &s, manifest, manifest_len, ident, err)) < 0)
        return cocoimg__error_wrap(err, r, "standalone-sign");
    return 0;
}

/* the public keys of @p fprs from @p homedir, concatenated (binary) */
static int
export_keys(uint8_t **out, size_t *len, const char *const *fprs, size_t n, const char *homedir,
            cocoimg_error **err)
{
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    int r = cocoimg__gpg_ctx_new(&ctx, homedir, NULL, err);
    if (r < 0)
        return r;
    gpgme_data_t d = NULL;
    if (gpgme_data_new(&d))
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < n; i++) {
        gpgme_key_t key = NULL;
        if (gpgme_get_key(ctx, fprs[i], &key, 0) || !key) {
            gpgme_data_release(d);
            return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0,
                                      "no public key %.100s in the GnuPG home", fprs[i]);
        }
        gpgme_key_t keys[2] = {key, NULL};
        gpgme_error_t e = gpgme_op_export_keys(ctx, keys, 0, d);
        gpgme_key_unref(key);
        if (e) {
            gpgme_data_release(d);
            return cocoimg__error_set(err, COCOIMG_ERROR, 0, "cannot export key %.100s: %s",
                                      fprs[i], gpgme_strerror(e));
        }
    }
    size_t n_out = 0;
    char *buf = gpgme_data_release_and_get_mem(d, &n_out);
    if (!buf || !n_out) {
        gpgme_free(buf);
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "no public keys exported");
    }
    if (!(*out = malloc(n_out))) {
        gpgme_free(buf);
        return cocoimg__error_oom(err);
    }
    memcpy(*out, buf, n_out);
    gpgme_free(buf);
    *len = n_out;
    return 0;
}

int
cocoimg_standalone_verify(char **fingerprint_out, char **digest_out, const void *manifest,
                          size_t manifest_len, const char *docker_reference,
                          const char *const *fingerprints, size_t n_fingerprints,
                          const char *public_key_file, const char *gpg_homedir, const void *sig,
                          size_t sig_len, cocoimg_error **err)
{
    if (!manifest || !sig || (!public_key_file && n_fingerprints == 0))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "standalone-verify: a public key file or key fingerprints are "
                                  "needed");
    _cleanup_free_ char *ident = NULL;
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
    int r = normalise(&ident, &ref, docker_reference, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "standalone-verify");
    cocoimg__key_source src = {0};
    char *paths[1] = {(char *)public_key_file};
    _cleanup_free_ uint8_t *exported = NULL;
    if (public_key_file) {
        src.paths = paths;
        src.n_paths = 1;
    } else {
        if ((r = export_keys(&exported, &src.data_len, fingerprints, n_fingerprints, gpg_homedir,
                             err)) < 0)
            return cocoimg__error_wrap(err, r, "standalone-verify");
        src.data = exported;
    }
    src.set = true;
    _cleanup_(cocoimg__simple_keys_freep) cocoimg__simple_keys *keys = NULL;
    if ((r = cocoimg__simple_keys_new(&keys, &src, NULL, err)) < 0)
        return cocoimg__error_wrap(err, r, "standalone-verify");
    cocoimg__requirement req = {.type = COCOIMG__REQ_SIGNED_BY};
    req.identity.type = COCOIMG__ID_EXACT_REFERENCE;
    req.identity.reference = ident;
    char fpr[41] = "";
    r = cocoimg__simple_verify(keys, &req, ref, sig, sig_len, manifest, manifest_len, fpr, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "standalone-verify");
    if (public_key_file && n_fingerprints) {
        bool ok = false;
        for (size_t i = 0; i < n_fingerprints; i++)
            if (strcasecmp(fingerprints[i], fpr) == 0)
                ok = true;
        if (!ok)
            return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                      "standalone-verify: signed by key %s, not one of the "
                                      "fingerprints given",
                                      fpr);
    }
    cocoimg__digest d;
    if ((r = cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, manifest, manifest_len, err)) < 0)
        return r;
    char dg[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&d, dg);
    if (fingerprint_out && !(*fingerprint_out = strdup(fpr)))
        return cocoimg__error_oom(err);
    if (digest_out && !(*digest_out = strdup(dg))) {
        if (fingerprint_out) {
            free(*fingerprint_out);
            *fingerprint_out = NULL;
        }
        return cocoimg__error_oom(err);
    }
    return 0;
}
