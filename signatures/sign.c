/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Simple signing (containers-signature(5)): payload + an OpenPGP signed
 * message (binary, not detached, as skopeo writes), made with GPGME.
 */
#include <errno.h>
#include <gpgme.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gpg/gpg.h"
#include "oci/digest.h"
#include "signatures/sign.h"
#include "signatures/simple.h"

struct pass {
    const char *pw;
    int tries;
};

static gpgme_error_t
give_passphrase(void *hook, const char *uid_hint, const char *info, int prev_bad, int fd)
{
    (void)uid_hint;
    (void)info;
    struct pass *p = hook;
    if (!p->pw || prev_bad || p->tries++ > 0)
        return gpg_error(GPG_ERR_BAD_PASSPHRASE);
    size_t n = strlen(p->pw);
    if (gpgme_io_writen(fd, p->pw, n) < 0 || gpgme_io_writen(fd, "\n", 1) < 0)
        return gpg_error(GPG_ERR_CANCELED);
    return 0;
}

int
cocoimg__simple_sign(uint8_t **out, size_t *len, const cocoimg__signer *s, const uint8_t *manifest,
                     size_t manifest_len, const char *docker_reference, cocoimg_error **err)
{
    cocoimg__digest d;
    int r = cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, manifest, manifest_len, err);
    if (r < 0)
        return r;
    char dg[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&d, dg);
    _cleanup_free_ char *payload = NULL;
    size_t plen = 0;
    if ((r = cocoimg__simple_payload_make(&payload, &plen, dg, docker_reference, err)) < 0)
        return r;
    _cleanup_(cocoimg__gpgme_ctx_releasep) gpgme_ctx_t ctx = NULL;
    if ((r = cocoimg__gpg_ctx_new(&ctx, s->homedir, NULL, err)) < 0)
        return r;
    struct pass pass = {.pw = s->passphrase};
    gpgme_set_passphrase_cb(ctx, give_passphrase, &pass);
    gpgme_key_t key = NULL;
    gpgme_error_t e = gpgme_get_key(ctx, s->fingerprint, &key, 1);
    if (e || !key)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0,
                                  "sign: no secret key %.100s in the GnuPG home", s->fingerprint);
    e = gpgme_signers_add(ctx, key);
    gpgme_key_unref(key);
    if (e)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "sign: %s", gpgme_strerror(e));
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t in = NULL;
    _cleanup_(cocoimg__gpgme_data_releasep) gpgme_data_t sig = NULL;
    if (gpgme_data_new_from_mem(&in, payload, plen, 0) || gpgme_data_new(&sig))
        return cocoimg__error_oom(err);
    e = gpgme_op_sign(ctx, in, sig, GPGME_SIG_MODE_NORMAL);
    if (e) {
        /* the passphrase itself is never in the message */
        if (gpgme_err_code(e) == GPG_ERR_BAD_PASSPHRASE ||
            gpgme_err_code(e) == GPG_ERR_NO_PASSPHRASE)
            return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                      "sign: the key %.100s needs a (correct) passphrase",
                                      s->fingerprint);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "sign: %s", gpgme_strerror(e));
    }
    gpgme_sign_result_t res = gpgme_op_sign_result(ctx);
    if (!res || !res->signatures || res->invalid_signers)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "sign: GnuPG made no signature");
    size_t n = 0;
    char *buf = gpgme_data_release_and_get_mem(TAKE_PTR(sig), &n);
    if (!buf || n == 0) {
        gpgme_free(buf);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "sign: empty signature");
    }
    uint8_t *copy = malloc(n);
    if (!copy) {
        gpgme_free(buf);
        return cocoimg__error_oom(err);
    }
    memcpy(copy, buf, n);
    gpgme_free(buf);
    *out = copy;
    *len = n;
    return 0;
}
