/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cosign signatures: fetching the sigstore attachments of an image and
 * key-based verification (see cosign.h), written from cosign's
 * documentation and containers-sigstore-signing(5).
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/model.h"
#include "pipeline/reader.h"
#include "signatures/cosign.h"
#include "signatures/sigstore.h"
#include "signatures/simple.h"
#include "transport/transport.h"
#include "util/base64.h"
#include "util/fs.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

#define SIMPLESIGNING_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define ANN_CERT "dev.sigstore.cosign/certificate"
#define ANN_BUNDLE "dev.sigstore.cosign/bundle"
#define ANN_CHAIN "dev.sigstore.cosign/chain"
#define MAX_ANNOTATION (256u * 1024)

void
cocoimg__cosign_list_clear(cocoimg__cosign_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].payload);
        free(l->v[i].sig);
        free(l->v[i].cert);
        free(l->v[i].chain);
        free(l->v[i].bundle);
    }
    memset(l, 0, sizeof(*l));
}

int
cocoimg__cosign_read_blob(uint8_t **out, size_t *len, cocoimg__source *s,
                          const cocoimg__descriptor *d, cocoimg_error **err)
{
    if (d->size < 0 || d->size > (int64_t)COCOIMG__COSIGN_MAX_PAYLOAD)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "signature blob too large");
    _cleanup_reader_ cocoimg__reader *r = NULL;
    int rc = cocoimg__source_get_blob(s, &d->digest, d->size, &r, err);
    if (rc < 0)
        return rc;
    size_t cap = (size_t)d->size + 1;
    _cleanup_free_ uint8_t *buf = malloc(cap);
    if (!buf)
        return cocoimg__error_oom(err);
    size_t n = 0;
    for (;;) {
        uint8_t tmp[4096];
        ssize_t k = cocoimg__reader_read(r, tmp, sizeof(tmp), err);
        if (k < 0)
            return (int)k;
        if (k == 0)
            break;
        if ((size_t)k > cap - 1 - n)
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "signature blob longer than its size");
        memcpy(buf + n, tmp, (size_t)k);
        n += (size_t)k;
    }
    buf[n] = '\0';
    *out = TAKE_PTR(buf);
    *len = n;
    return 0;
}

int
cocoimg__cosign_open_tag(cocoimg__source **out, const cocoimg_context *ctx,
                         const cocoimg_reference *ref, const cocoimg__digest *digest,
                         const char *suffix, cocoimg_error **err)
{
    char hex[129];
    cocoimg__digest_hex(digest, hex);
    _cleanup_free_ char *s = NULL;
    if (asprintf(&s, "docker://%s/%s:%s-%s%s", cocoimg_reference_registry(ref),
                 cocoimg_reference_repository(ref), cocoimg__digest_alg_name(digest->alg), hex,
                 suffix) < 0) {
        s = NULL;
        return cocoimg__error_oom(err);
    }
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *tref = NULL;
    int r = cocoimg_reference_parse(&tref, s, err);
    if (r < 0)
        return r;
    return cocoimg__source_open(out, ctx, tref, err);
}

int
cocoimg__cosign_fetch(cocoimg__cosign_list *out, const cocoimg_context *ctx,
                      const cocoimg_reference *ref, const cocoimg__digest *digest,
                      cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    if (cocoimg_reference_transport(ref) != COCOIMG_TRANSPORT_DOCKER)
        return 0;
    _cleanup_source_ cocoimg__source *src = NULL;
    int r = cocoimg__cosign_open_tag(&src, ctx, ref, digest, ".sig", err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "cosign signatures");
    _cleanup_free_ uint8_t *mbuf = NULL;
    _cleanup_free_ char *mt = NULL;
    size_t mlen = 0;
    _cleanup_error_ cocoimg_error *merr = NULL;
    r = cocoimg__source_get_manifest(src, NULL, -1, &mbuf, &mlen, &mt, &merr);
    if (r == COCOIMG_ENOTFOUND)
        return 0; /* no attachments */
    if (r < 0) {
        if (err && !*err)
            *err = TAKE_PTR(merr);
        return cocoimg__error_wrap(err, r, "cosign signatures");
    }
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    if ((r = cocoimg__manifest_parse(&m, mbuf, mlen, mt, err)) < 0)
        return cocoimg__error_wrap(err, r, "cosign signatures");
    for (size_t i = 0; i < m->n_layers; i++) {
        const cocoimg__descriptor *l = &m->layers[i];
        if (!l->media_type || strcmp(l->media_type, SIMPLESIGNING_TYPE) != 0)
            continue;
        if (out->n == COCOIMG__COSIGN_MAX_SIGNATURES) {
            cocoimg__cosign_list_clear(out);
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "too many cosign signatures");
        }
        json_t *ann = json_object_get(l->json, "annotations");
        const char *sig64 = json_is_object(ann) ? cocoimg__json_str(ann, ANN_SIGNATURE) : NULL;
        cocoimg__cosign_sig *cs = &out->v[out->n];
        memset(cs, 0, sizeof(*cs));
        if (sig64 && strlen(sig64) < 65536)
            (void)cocoimg__b64_decode(&cs->sig, &cs->sig_len, sig64, strlen(sig64), COCOIMG_B64_STD,
                                      "signature", NULL);
        const char *names[3] = {ANN_CERT, ANN_CHAIN, ANN_BUNDLE};
        char **dst[3] = {&cs->cert, &cs->chain, &cs->bundle};
        bool oom = false;
        for (int k = 0; k < 3 && json_is_object(ann); k++) {
            const char *v = cocoimg__json_str(ann, names[k]);
            /* an oversized annotation is dropped: the requirement then refuses it */
            if (v && strlen(v) < MAX_ANNOTATION && !(*dst[k] = strdup(v)))
                oom = true;
        }
        if (oom ||
            (r = cocoimg__cosign_read_blob(&cs->payload, &cs->payload_len, src, l, err)) < 0) {
            out->n++;
            cocoimg__cosign_list_clear(out);
            if (oom)
                return cocoimg__error_oom(err);
            cocoimg__cosign_list_clear(out);
            return cocoimg__error_wrap(err, r, "cosign signature %zu", i + 1);
        }
        out->n++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */

int
cocoimg__cosign_payload_parse(char **digest_out, char **ref_out, const void *buf, size_t len,
                              cocoimg_error **err)
{
    cocoimg__simple_payload p;
    int r = cocoimg__payload_parse(&p, buf, len, COCOIMG__PAYLOAD_COSIGN, err);
    if (r < 0)
        return r;
    *digest_out = TAKE_PTR(p.manifest_digest);
    *ref_out = TAKE_PTR(p.docker_reference);
    cocoimg__simple_payload_clear(&p);
    return 0;
}

int
cocoimg__cosign_verify_pkey(EVP_PKEY *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                            size_t sig_len)
{
    int id = EVP_PKEY_get_base_id(k);
    if (id == EVP_PKEY_ED25519) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        int ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
                 EVP_DigestVerify(c, sig, sig_len, msg, msg_len) == 1;
        EVP_MD_CTX_free(c);
        return ok;
    }
    const EVP_MD *mds[3] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    int pads = id == EVP_PKEY_RSA ? 2 : 1;
    for (int m = 0; m < 3; m++)
        for (int p = 0; p < pads; p++) {
            EVP_MD_CTX *c = EVP_MD_CTX_new();
            EVP_PKEY_CTX *pc = NULL;
            int ok = c && EVP_DigestVerifyInit(c, &pc, mds[m], NULL, k) == 1;
            if (ok && id == EVP_PKEY_RSA && p == 1)
                ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_AUTO) == 1;
            ok = ok && EVP_DigestVerify(c, sig, sig_len, msg, msg_len) == 1;
            EVP_MD_CTX_free(c);
            if (ok)
                return 1;
        }
    return 0;
}

int
cocoimg__cosign_verify_raw(const uint8_t *pem, size_t pem_len, const uint8_t *msg, size_t msg_len,
                           const uint8_t *sig, size_t sig_len)
{
    if (pem_len > INT32_MAX)
        return 0;
    BIO *b = BIO_new_mem_buf(pem, (int)pem_len);
    if (!b)
        return 0;
    int ok = 0;
    EVP_PKEY *k;
    while (!ok && (k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL))) {
        int id = EVP_PKEY_get_base_id(k);
        if (id == EVP_PKEY_EC || id == EVP_PKEY_RSA || id == EVP_PKEY_ED25519)
            ok = cocoimg__cosign_verify_pkey(k, msg, msg_len, sig, sig_len);
        EVP_PKEY_free(k);
    }
    BIO_free(b);
    return ok;
}

int
cocoimg__cosign_verify_keys(bool *ok_out, const cocoimg__requirement *rq, const uint8_t *msg,
                            size_t msg_len, const uint8_t *sig, size_t sig_len, cocoimg_error **err)
{
    bool ok = false;
    for (size_t i = 0; i < rq->keys.n_paths && !ok; i++) {
        if (rq->keys.blobs && rq->keys.blobs[i]) { /* a kbs:// key, fetched with the policy */
            ok = cocoimg__cosign_verify_raw(rq->keys.blobs[i], rq->keys.blob_lens[i], msg, msg_len,
                                            sig, sig_len);
            continue;
        }
        _cleanup_free_ uint8_t *pem = NULL;
        size_t len = 0;
        int r = cocoimg__read_file(&pem, &len, AT_FDCWD, rq->keys.paths[i], 1u << 20, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "sigstoreSigned key %s", rq->keys.paths[i]);
        ok = cocoimg__cosign_verify_raw(pem, len, msg, msg_len, sig, sig_len);
    }
    if (!ok && rq->keys.data)
        ok = cocoimg__cosign_verify_raw(rq->keys.data, rq->keys.data_len, msg, msg_len, sig,
                                        sig_len);
    *ok_out = ok;
    return 0;
}

static int
reject(cocoimg_error **err, const char *what)
{
    return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", what);
}

/*
 * Key-based: the signature verifies with one of the policy's keys and, when
 * the policy has Rekor keys, the bundle's SET names it and that key.
 */
static int
verify_keys(const cocoimg__requirement *rq, const cocoimg__cosign_sig *s, cocoimg_error **err)
{
    if (!rq->keys.set)
        return reject(err, "the requirement has no keys");
    if (!s->sig || !s->sig_len)
        return reject(err, "no (valid base64) signature annotation");
    size_t n = rq->keys.n_paths + (rq->keys.data ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pem;
        size_t len = 0;
        _cleanup_free_ uint8_t *file = NULL;
        if (i == rq->keys.n_paths) {
            pem = rq->keys.data;
            len = rq->keys.data_len;
        } else if (rq->keys.blobs &&
                   rq->keys.blobs[i]) { /* a kbs:// key, fetched with the policy */
            pem = rq->keys.blobs[i];
            len = rq->keys.blob_lens[i];
        } else {
            int r = cocoimg__read_file(&file, &len, AT_FDCWD, rq->keys.paths[i], 1u << 20, err);
            if (r < 0)
                return cocoimg__error_wrap(err, r, "sigstoreSigned key %s", rq->keys.paths[i]);
            pem = file;
        }
        if (!cocoimg__cosign_verify_raw(pem, len, s->payload, s->payload_len, s->sig, s->sig_len))
            continue;
        if (!rq->rekor_keys.set)
            return 0;
        _cleanup_free_ uint8_t *rk = NULL;
        size_t rk_len = 0;
        int r = cocoimg__sigstore_load_source(&rk, &rk_len, &rq->rekor_keys, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "rekorPublicKey");
        int64_t t;
        return cocoimg__sigstore_verify_set(&t, rk, rk_len, s->bundle, NULL, pem, len, s->sig,
                                            s->sig_len, s->payload, s->payload_len, err);
    }
    return reject(err, "the signature does not verify with the policy's keys");
}

int
cocoimg__cosign_verify(const cocoimg__requirement *rq, const cocoimg_reference *intended,
                       const cocoimg__cosign_sig *s, const uint8_t *manifest, size_t manifest_len,
                       cocoimg_error **err)
{
    int r;
    if (rq->has_fulcio || rq->has_pki) {
        if ((r = cocoimg__sigstore_verify_cosign(rq, s, err)) < 0)
            return r;
    } else if ((r = verify_keys(rq, s, err)) < 0) {
        return r;
    }
    _cleanup_free_ char *dg = NULL;
    _cleanup_free_ char *ref = NULL;
    _cleanup_error_ cocoimg_error *perr = NULL;
    if (cocoimg__cosign_payload_parse(&dg, &ref, s->payload, s->payload_len, &perr) < 0)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "%s", cocoimg_error_message(perr));
    cocoimg__digest want, have;
    r = cocoimg__digest_parse(&want, dg, err);
    if (r == 0)
        r = cocoimg__digest_buffer(&have, want.alg, manifest, manifest_len, err);
    if (r < 0)
        return r;
    if (!cocoimg__digest_equal(&want, &have))
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0,
                                  "the signature is for manifest %s, not for this one", dg);
    const char *why = NULL;
    if (!cocoimg__identity_match(&rq->identity, intended, ref, &why))
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "signed identity %.300s: %s", ref,
                                  why ? why : "does not match");
    return 0;
}
