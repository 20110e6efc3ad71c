/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AES_256_CTR_HMAC_SHA256 reader stages (spec section 1): the blob is the
 * raw CTR output, the tag is HMAC-SHA256(key, ciphertext), encrypt-then-MAC.
 *
 * Both stages work in place in the consumer's buffer: read the upstream
 * bytes straight into it, then run AES and HMAC over it in slices small
 * enough to stay in L1/L2 between the two passes.  No copies, no per-byte
 * work.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "crypt/blockcipher.h"

/* AES then HMAC over this much before moving on: the slice stays cache-hot. */
#define SLICE (32u * 1024)

struct cipher_state {
    EVP_CIPHER_CTX *cipher;
    EVP_MAC_CTX *mac;
    bool encrypt;
    bool peek;                           /* the upstream hands its bytes out in place */
    bool done;                           /* EOF reached and verdict taken */
    int verdict;                         /* 0 or COCOIMG_EAUTH once done */
    uint64_t len;                        /* ciphertext bytes seen */
    uint8_t expected[COCOIMG__HMAC_LEN]; /* decrypt: tag to compare with */
    uint8_t *hmac_out;                   /* encrypt: where to put the tag */
};

static void
cipher_state_free(struct cipher_state *s)
{
    if (!s)
        return;
    /* both free functions cleanse the expanded key schedules */
    EVP_CIPHER_CTX_free(s->cipher);
    EVP_MAC_CTX_free(s->mac);
    cocoimg__wipe(s, sizeof(*s));
    free(s);
}
COCOIMG_DEFINE_CLEANUP(struct cipher_state, cipher_state_free)

static int
check_opts(const cocoimg__layer_options *o, bool need_hmac, cocoimg_error **err)
{
    if (!o->symkey || o->symkey->len != COCOIMG__SYMKEY_LEN)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "invalid key length of %zu bytes; need %d bytes",
                                  o->symkey ? o->symkey->len : 0, COCOIMG__SYMKEY_LEN);
    if (need_hmac && !o->has_hmac)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "HMAC is not provided for decryption process");
    return 0;
}

static int
mac_new(EVP_MAC_CTX **out, const cocoimg__layer_options *o, cocoimg_error **err)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "HMAC not available in libcrypto");
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!ctx)
        return cocoimg__error_oom(err);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx, o->symkey->ptr, o->symkey->len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "HMAC-SHA256 init failed");
    }
    *out = ctx;
    return 0;
}

static int
state_new(struct cipher_state **out, const cocoimg__layer_options *o, bool encrypt,
          cocoimg_error **err)
{
    _cleanup_(cipher_state_freep) struct cipher_state *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    s->encrypt = encrypt;
    int r = mac_new(&s->mac, o, err);
    if (r < 0)
        return r;
    if (!(s->cipher = EVP_CIPHER_CTX_new()))
        return cocoimg__error_oom(err);
    /* explicit fetch: avoids the implicit per-init provider lookup */
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
    if (!aes)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "AES-256-CTR not available in libcrypto");
    /* CTR is symmetric: the same keystream XOR serves both directions */
    int ok = EVP_EncryptInit_ex2(s->cipher, aes, o->symkey->ptr, o->nonce, NULL);
    EVP_CIPHER_free(aes);
    if (ok != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "AES-256-CTR init failed");
    *out = TAKE_PTR(s);
    return 0;
}

/* AES-256-CTR of @p in into @p out (the same buffer, or one that does not overlap it). */
static int
ctr_xor(struct cipher_state *s, const uint8_t *in, uint8_t *out, size_t len, cocoimg_error **err)
{
    int outl;
    if (EVP_EncryptUpdate(s->cipher, out, &outl, in, (int)len) != 1 || (size_t)outl != len)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "AES-256-CTR failed");
    return 0;
}

static int
mac_update(struct cipher_state *s, const uint8_t *buf, size_t len, cocoimg_error **err)
{
    if (EVP_MAC_update(s->mac, buf, len) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "HMAC-SHA256 failed");
    return 0;
}

static int
mac_final(struct cipher_state *s, uint8_t tag[COCOIMG__HMAC_LEN], cocoimg_error **err)
{
    size_t outl = 0;
    if (EVP_MAC_final(s->mac, tag, &outl, COCOIMG__HMAC_LEN) != 1 || outl != COCOIMG__HMAC_LEN)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "HMAC-SHA256 failed");
    return 0;
}

/*
 * Process @p len bytes of @p in into @p out (in place when they are the
 * same), slice by slice (also keeps EVP's int lengths safe).
 */
static int
process(struct cipher_state *s, const uint8_t *in, uint8_t *out, size_t len, cocoimg_error **err)
{
    int r;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < SLICE ? len - off : SLICE;
        /* encrypt-then-MAC: the MAC always sees the ciphertext */
        if (s->encrypt) {
            if ((r = ctr_xor(s, in + off, out + off, n, err)) < 0 ||
                (r = mac_update(s, out + off, n, err)) < 0)
                return r;
        } else {
            if ((r = mac_update(s, in + off, n, err)) < 0 ||
                (r = ctr_xor(s, in + off, out + off, n, err)) < 0)
                return r;
        }
        off += n;
    }
    s->len += len;
    return 0;
}

static int
finish(struct cipher_state *s, cocoimg_error **err)
{
    uint8_t tag[COCOIMG__HMAC_LEN];
    int r = mac_final(s, tag, err);
    if (r < 0)
        return r;
    if (s->encrypt) {
        if (s->hmac_out)
            memcpy(s->hmac_out, tag, sizeof(tag));
        s->verdict = 0;
    } else {
        s->verdict = CRYPTO_memcmp(tag, s->expected, sizeof(tag)) == 0 ? 0 : COCOIMG_EAUTH;
    }
    cocoimg__wipe(tag, sizeof(tag));
    s->done = true;
    return 0;
}

static int
verdict(struct cipher_state *s, cocoimg_error **err)
{
    if (s->verdict < 0)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                  "layer HMAC mismatch after %llu bytes: ciphertext is not "
                                  "authentic or the key is wrong",
                                  (unsigned long long)s->len);
    return 0;
}

static ssize_t
cipher_read(cocoimg__reader *rd, void *buf, size_t len, cocoimg_error **err)
{
    struct cipher_state *s = rd->state;
    /* the framework never calls again after EOF or an error; stay safe anyway */
    if (s->done)
        return verdict(s, err);
    /* from the upstream's buffer straight into the consumer's when it can peek */
    const void *in = buf;
    ssize_t n = s->peek ? cocoimg__reader_peek(rd->upstream, &in, len, err)
                        : cocoimg__reader_read(rd->upstream, buf, len, err);
    if (n < 0)
        return n;
    if (n == 0) {
        int r = finish(s, err);
        if (r < 0)
            return r;
        return verdict(s, err);
    }
    int r = process(s, in, buf, (size_t)n, err);
    if (r < 0)
        return r;
    return n;
}

static void
cipher_free(cocoimg__reader *rd)
{
    cipher_state_free(rd->state);
}

static const struct cocoimg__reader_ops encrypt_ops = {
    .name = "encrypt",
    .read = cipher_read,
    .free = cipher_free,
};

static const struct cocoimg__reader_ops decrypt_ops = {
    .name = "decrypt",
    .read = cipher_read,
    .free = cipher_free,
};

int
cocoimg__reader_encrypt(cocoimg__reader **out, cocoimg__reader *upstream,
                        const cocoimg__layer_options *opts, uint8_t hmac_out[COCOIMG__HMAC_LEN],
                        cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    _cleanup_(cipher_state_freep) struct cipher_state *s = NULL;
    int r = check_opts(opts, false, err);
    if (r < 0)
        return r;
    if ((r = state_new(&s, opts, true, err)) < 0)
        return r;
    s->hmac_out = hmac_out;
    s->peek = cocoimg__reader_can_peek(up);
    /* the framework owns the state from here, also on failure */
    return cocoimg__reader_new(out, &encrypt_ops, TAKE_PTR(s), TAKE_PTR(up), err);
}

int
cocoimg__reader_decrypt(cocoimg__reader **out, cocoimg__reader *upstream,
                        const cocoimg__layer_options *opts, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    _cleanup_(cipher_state_freep) struct cipher_state *s = NULL;
    int r = check_opts(opts, true, err);
    if (r < 0)
        return r;
    if ((r = state_new(&s, opts, false, err)) < 0)
        return r;
    memcpy(s->expected, opts->hmac, COCOIMG__HMAC_LEN);
    s->peek = cocoimg__reader_can_peek(up);
    return cocoimg__reader_new(out, &decrypt_ops, TAKE_PTR(s), TAKE_PTR(up), err);
}

int
cocoimg__blockcipher_verify(cocoimg__reader *ciphertext, const cocoimg__layer_options *opts,
                            uint64_t *size_out, cocoimg_error **err)
{
    int r = check_opts(opts, true, err);
    if (r < 0)
        return r;
    _cleanup_(cipher_state_freep) struct cipher_state *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    if ((r = mac_new(&s->mac, opts, err)) < 0)
        return r;
    memcpy(s->expected, opts->hmac, COCOIMG__HMAC_LEN);
    _cleanup_free_ uint8_t *buf = malloc(COCOIMG_PIPE_BUFSZ);
    if (!buf)
        return cocoimg__error_oom(err);
    for (;;) {
        ssize_t n = cocoimg__reader_read(ciphertext, buf, COCOIMG_PIPE_BUFSZ, err);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        if ((r = mac_update(s, buf, (size_t)n, err)) < 0)
            return r;
        s->len += (uint64_t)n;
    }
    if ((r = finish(s, err)) < 0)
        return r;
    if (size_out)
        *size_out = s->len;
    return verdict(s, err);
}
