/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_LAYER_H
#define COCOIMG_CRYPT_LAYER_H

/*
 * Encrypting and decrypting one layer descriptor (ocicrypt semantics, spec
 * sections 3 and 4): the glue between the block cipher, the key wrappers
 * and the copy pipeline.
 *
 * Encrypt:  begin() swaps the layer stream for an encrypting one; after the
 * copy has written the ciphertext blob and updated the descriptor's digest
 * and size, finish() wraps the layer key for every recipient and writes the
 * annotations and the +encrypted media type.  A layer that is already
 * encrypted gets recipients added instead (no new blob).
 *
 * Decrypt:  begin() unwraps the layer key and swaps the stream for a
 * decrypting one whose EOF is the HMAC verdict; finish() restores the media
 * type and drops the encryption annotations.
 */

#include <jansson.h>

#include "crypt/blockcipher.h"
#include "crypt/keywrap.h"
#include "pipeline/reader.h"
#include "util/context.h"

typedef struct cocoimg__layer_crypt cocoimg__layer_crypt;

void cocoimg__layer_crypt_free(cocoimg__layer_crypt *lc);
COCOIMG_DEFINE_CLEANUP(cocoimg__layer_crypt, cocoimg__layer_crypt_free)

/* The plaintext media type's encrypted form (ocicrypt/containers/image mapping). */
int cocoimg__encrypted_media_type(char **out, const char *media_type, cocoimg_error **err);
/* The media type with "+encrypted" stripped; COCOIMG_EINVAL if not encrypted. */
int cocoimg__decrypted_media_type(char **out, const char *media_type, cocoimg_error **err);

/*
 * Start encrypting the layer described by @p desc (not modified here).
 * @p io is the caller's layer stream, in and out: the caller always owns
 * *io (on failure it may have been freed and set to NULL).
 * - a layer that is never encrypted (Docker foreign): *lc_out = NULL, *io
 *   unchanged: copy it as is;
 * - a layer already encrypted: *io unchanged (the blob is copied as is) and
 *   finish() adds the recipients, unwrapping the layer key with the
 *   decryption keys of @p cfg;
 * - otherwise *io is replaced by the encrypting stream.
 * @p cfg and @p ctx must outlive *lc_out.
 */
int cocoimg__layer_encrypt_begin(cocoimg__layer_crypt **lc_out, const cocoimg_context *ctx,
                                 const cocoimg__crypt_config *cfg, const json_t *desc,
                                 cocoimg__reader **io, cocoimg_error **err);
/* After the blob was written (desc digest/size updated): annotations and media type. */
int cocoimg__layer_encrypt_finish(cocoimg__layer_crypt *lc, json_t *desc, cocoimg_error **err);

/*
 * Unwrap the layer options of the encrypted layer @p desc with the keys of
 * @p cfg: COCOIMG_ENOKEY when no key fits, COCOIMG_EFORMAT for malformed
 * annotations.  *privjson_out (may be NULL) gets the unwrapped privopts JSON.
 */
int cocoimg__layer_unwrap(cocoimg__layer_options **out, cocoimg__secret **privjson_out,
                          const cocoimg_context *ctx, const cocoimg__crypt_config *cfg,
                          const json_t *desc, cocoimg_error **err);

/*
 * Start decrypting the encrypted layer @p desc: *io (owned by the caller,
 * as for encrypt_begin) is replaced by a decrypting stream that returns
 * COCOIMG_EAUTH instead of EOF when the HMAC fails.  The caller publishes
 * the output only after EOF 0.
 */
int cocoimg__layer_decrypt_begin(cocoimg__layer_crypt **lc_out, const cocoimg_context *ctx,
                                 const cocoimg__crypt_config *cfg, const json_t *desc,
                                 cocoimg__reader **io, cocoimg_error **err);
/* After the plaintext blob was written: media type, annotations, digest check. */
int cocoimg__layer_decrypt_finish(cocoimg__layer_crypt *lc, json_t *desc, cocoimg_error **err);

/* layerinfo: describe one layer descriptor as a JSON object. */
int cocoimg__layer_describe(json_t **out, const json_t *desc, cocoimg_error **err);

#endif
