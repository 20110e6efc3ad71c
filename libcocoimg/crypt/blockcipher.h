/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_BLOCKCIPHER_H
#define COCOIMG_CRYPT_BLOCKCIPHER_H

/*
 * The ocicrypt layer block cipher AES_256_CTR_HMAC_SHA256 (spec sections 1-3)
 * and its two option objects.
 *
 * Encrypting a layer:
 *
 *     _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
 *     cocoimg__layer_options_generate(&o, &err);        // fresh key + nonce
 *     cocoimg__reader_encrypt(&enc, src, o, o->hmac, &err);
 *     ... read enc to EOF (writing the ciphertext blob, hashing the plaintext) ...
 *     o->has_hmac = true;                               // o->hmac was filled at EOF
 *     cocoimg__layer_options_set_digest(o, "sha256:<plaintext>", &err);
 *     cocoimg__privopts_json(&priv, o, &err);           // secret: wrap it per recipient
 *     cocoimg__pubopts_annotation(&ann, o, &err);       // org.opencontainers.image.enc.pubopts
 *
 * Decrypting a layer:
 *
 *     cocoimg__pubopts_annotation_parse(&pub, annotation_value, &err);
 *     cocoimg__privopts_parse(&priv, unwrapped, unwrapped_len, &err);
 *     cocoimg__layer_options_combine(&o, priv, pub, &err);
 *     cocoimg__reader_decrypt(&dec, ciphertext, o, &err);
 *
 * Which decrypt path to use:
 *   - cocoimg__reader_decrypt() decrypts in one pass and gives the HMAC
 *     verdict only at EOF (COCOIMG_EAUTH instead of 0).  Plaintext before
 *     that is unauthenticated: the consumer must stage its output and commit
 *     only after reading EOF 0.  Use it for unpacking into a staging
 *     directory or writing a temp file that is renamed on success.
 *   - cocoimg__blockcipher_verify() streams the ciphertext once through the
 *     HMAC only.  Use it first when no plaintext may reach a parser
 *     (decompressor, tar) before the layer is authenticated and the
 *     ciphertext can be read twice (a local blob); then decrypt as above
 *     from a fresh reader.  The second pass still verifies, which also
 *     catches a blob that changed between the two passes.
 *
 * Parsing follows Go's encoding/json leniency (spec 2.4): object keys match
 * case-insensitively (ASCII, plus U+017F/U+212A as every Go version folds
 * them), unknown keys are ignored, null yields the zero value, []byte fields
 * accept padded standard base64 (CR/LF skipped) or an array of integers
 * 0..255.  It is strict where safety needs it: the document must be an
 * object of at most COCOIMG__OPTS_JSON_MAX bytes, two keys folding to the
 * same field are refused instead of "last one wins", every present field
 * must have the right type, the key is 32 bytes, a nonce 16, the HMAC 32.
 * All failures are COCOIMG_EFORMAT except an unknown cipher
 * (COCOIMG_ENOTSUP) and an oversized document (COCOIMG_ELIMIT).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/reader.h"
#include "util/error.h"
#include "util/secret.h"

#define COCOIMG__CIPHER_AES_CTR_HMAC "AES_256_CTR_HMAC_SHA256"
#define COCOIMG__SYMKEY_LEN 32
#define COCOIMG__NONCE_LEN 16
#define COCOIMG__HMAC_LEN 32
/* Real option documents are ~200 bytes; anything near this is hostile. */
#define COCOIMG__OPTS_JSON_MAX (64u * 1024)
#define COCOIMG__ANNOTATION_PUBOPTS "org.opencontainers.image.enc.pubopts"

/* Decoded PrivateLayerBlockCipherOptions (the wrapped, secret part). */
typedef struct cocoimg__privopts {
    cocoimg__secret *symkey; /* exactly COCOIMG__SYMKEY_LEN bytes */
    char *digest;            /* "" when absent; untrusted (spec 2.3), never NULL after parse */
    bool has_nonce;
    uint8_t nonce[COCOIMG__NONCE_LEN];
} cocoimg__privopts;

/* Decoded PublicLayerBlockCipherOptions; the cipher is known to be ours. */
typedef struct cocoimg__pubopts {
    uint8_t hmac[COCOIMG__HMAC_LEN];
    bool has_nonce; /* ocicrypt looks here first, then in privopts */
    uint8_t nonce[COCOIMG__NONCE_LEN];
} cocoimg__pubopts;

/* Everything the cipher needs for one layer, in either direction. */
typedef struct cocoimg__layer_options {
    cocoimg__secret *symkey; /* COCOIMG__SYMKEY_LEN bytes */
    uint8_t nonce[COCOIMG__NONCE_LEN];
    bool has_hmac; /* required for decryption and for pubopts */
    uint8_t hmac[COCOIMG__HMAC_LEN];
    char *digest; /* plaintext digest for privopts; NULL serialises as "" */
} cocoimg__layer_options;

void cocoimg__privopts_free(cocoimg__privopts *p);
void cocoimg__pubopts_free(cocoimg__pubopts *p);
void cocoimg__layer_options_free(cocoimg__layer_options *o);
COCOIMG_DEFINE_CLEANUP(cocoimg__privopts, cocoimg__privopts_free)
COCOIMG_DEFINE_CLEANUP(cocoimg__pubopts, cocoimg__pubopts_free)
COCOIMG_DEFINE_CLEANUP(cocoimg__layer_options, cocoimg__layer_options_free)
#define _cleanup_privopts_ _cleanup_(cocoimg__privopts_freep)
#define _cleanup_pubopts_ _cleanup_(cocoimg__pubopts_freep)
#define _cleanup_layer_options_ _cleanup_(cocoimg__layer_options_freep)

/* Fresh options for encrypting one layer: random key (RAND_priv_bytes) and nonce. */
int cocoimg__layer_options_generate(cocoimg__layer_options **out, cocoimg_error **err);
/* Options from known values (tests, re-encryption); @p hmac may be NULL. */
int cocoimg__layer_options_new(cocoimg__layer_options **out, const uint8_t *key, size_t key_len,
                               const uint8_t nonce[COCOIMG__NONCE_LEN], const uint8_t *hmac,
                               cocoimg_error **err);
/* Replace the digest recorded in privopts (copied; NULL clears it). */
int cocoimg__layer_options_set_digest(cocoimg__layer_options *o, const char *digest,
                                      cocoimg_error **err);

/*
 * Serialise exactly as ocicrypt (Go encoding/json) does:
 *   {"symkey":"<b64>","digest":"<digest>","cipheroptions":{"nonce":"<b64>"}}
 * The result holds the key, hence a secret (len = JSON length, no NUL).
 * COCOIMG_EINVAL if the digest is not valid UTF-8.
 */
int cocoimg__privopts_json(cocoimg__secret **out, const cocoimg__layer_options *o,
                           cocoimg_error **err);
/*
 * {"cipher":"AES_256_CTR_HMAC_SHA256","hmac":"<b64>","cipheroptions":{}};
 * *out is malloc'd and NUL-terminated.  COCOIMG_EINVAL without an HMAC.
 */
int cocoimg__pubopts_json(char **out, size_t *len_out, const cocoimg__layer_options *o,
                          cocoimg_error **err);
/* b64(pubopts JSON), the value of COCOIMG__ANNOTATION_PUBOPTS; malloc'd. */
int cocoimg__pubopts_annotation(char **out, const cocoimg__layer_options *o, cocoimg_error **err);

/* Parse privopts JSON (see the rules above); the caller still owns and wipes @p json. */
int cocoimg__privopts_parse(cocoimg__privopts **out, const void *json, size_t len,
                            cocoimg_error **err);
/* Parse pubopts JSON; the cipher must be AES_256_CTR_HMAC_SHA256 and the HMAC 32 bytes. */
int cocoimg__pubopts_parse(cocoimg__pubopts **out, const void *json, size_t len,
                           cocoimg_error **err);
/* Parse the pubopts annotation value (Go StdEncoding: padded, CR/LF skipped). */
int cocoimg__pubopts_annotation_parse(cocoimg__pubopts **out, const char *value,
                                      cocoimg_error **err);
/*
 * Decryption options from both halves: key and digest from @p priv, HMAC
 * from @p pub, nonce from @p pub if present, else from @p priv (ocicrypt's
 * order); no nonce at all is COCOIMG_EFORMAT (ocicrypt would silently pick
 * a random one and fail later).
 */
int cocoimg__layer_options_combine(cocoimg__layer_options **out, const cocoimg__privopts *priv,
                                   const cocoimg__pubopts *pub, cocoimg_error **err);

/*
 * Encrypt stage: AES-256-CTR (the nonce is the whole initial counter block)
 * and HMAC-SHA256 keyed with the same key over the ciphertext, one pass.
 * At EOF the tag is stored in @p hmac_out, which must outlive the reader.
 * The key is copied: @p opts need not outlive the reader.
 * Takes ownership of @p upstream, also on failure.
 */
int cocoimg__reader_encrypt(cocoimg__reader **out, cocoimg__reader *upstream,
                            const cocoimg__layer_options *opts, uint8_t hmac_out[COCOIMG__HMAC_LEN],
                            cocoimg_error **err);
/*
 * Decrypt stage; @p opts needs the HMAC.  Returns COCOIMG_EAUTH instead of
 * EOF when the HMAC over the ciphertext does not match (also for truncated
 * ciphertext or a wrong key): the plaintext read so far must be discarded.
 * Takes ownership of @p upstream, also on failure.
 */
int cocoimg__reader_decrypt(cocoimg__reader **out, cocoimg__reader *upstream,
                            const cocoimg__layer_options *opts, cocoimg_error **err);
/*
 * Verify-first: read @p ciphertext (borrowed, not freed) to EOF through the
 * HMAC only and compare in constant time: 0 or COCOIMG_EAUTH.  *size_out
 * (may be NULL) gets the ciphertext length.
 */
int cocoimg__blockcipher_verify(cocoimg__reader *ciphertext, const cocoimg__layer_options *opts,
                                uint64_t *size_out, cocoimg_error **err);

#endif
