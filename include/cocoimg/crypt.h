/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_CRYPT_H
#define COCOIMG_CRYPT_H

/*
 * ocicrypt-compatible layer encryption.
 *
 * cocoimg_encrypt() copies SRC to DST and encrypts the selected layers with
 * AES-256-CTR + HMAC-SHA256, wrapping each layer key for every recipient
 * (JWE, PKCS7, OpenPGP), exactly as containers/ocicrypt does: skopeo,
 * podman, buildah and containerd's imgcrypt decrypt the result, and
 * cocoimg_decrypt() decrypts what they encrypt.
 *
 *   cocoimg_crypt_options o = COCOIMG_CRYPT_OPTIONS_INIT;
 *   const char *rcpt[] = {"jwe:pub.pem"};
 *   o.recipients = rcpt; o.n_recipients = 1;
 *   r = cocoimg_encrypt(ctx, "oci:build:v1", "oci:out:v1", &o, &err);
 *
 * A decrypted layer is published at DST only after its HMAC and digest were
 * verified; on any failure DST is left as it was.
 */

#include <cocoimg/common.h>
#include <cocoimg/context.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

#define COCOIMG_CRYPT_OPTIONS_VERSION 2

#define COCOIMG_KEYPROVIDER_VERSION 1

/**
 * A key provider: the caller's wrapper for `provider:NAME[:PARAMS]`
 * recipients and `org.opencontainers.image.enc.keys.provider.NAME`
 * annotations (what ocicrypt hands to a keyprovider's WrapKey/UnWrapKey).
 * A guest agent plugs attestation (KBS) in here.
 *
 * Both callbacks are only ever called from the thread that called the
 * library function (cocoimg_encrypt, cocoimg_decrypt, cocoimg_unpack...),
 * never from a library thread, and not concurrently for one call.
 *
 * On success a callback stores a malloc'd buffer in *out / *out_len (the
 * library wipes and frees it) and returns 0.  On failure it returns a
 * negative COCOIMG_E* code (COCOIMG_ENOKEY: "not my key", the next item is
 * tried) and may set *err with cocoimg_error_new() so its reason reaches
 * the user.
 */
typedef struct cocoimg_keyprovider {
    unsigned int version; /**< COCOIMG_KEYPROVIDER_VERSION */
    /**
     * encrypt: wrap @p optsdata (the private layer options JSON) for
     * provider @p provider with @p params (the text after
     * "provider:NAME:", NULL when none); *out is the blob stored
     * (base64-encoded) in the keys.provider.NAME annotation.  NULL: the
     * provider cannot encrypt.
     */
    int (*wrap)(uint8_t **out, size_t *out_len, const char *provider, const char *params,
                const uint8_t *optsdata, size_t optsdata_len, cocoimg_error **err, void *payload);
    /**
     * decrypt: unwrap one base64-decoded item of a keys.provider.NAME
     * annotation (@p provider = "NAME") into the private layer options
     * JSON (ocicrypt "optsdata").  NULL: the provider cannot decrypt.
     */
    int (*unwrap)(uint8_t **out, size_t *out_len, const char *provider, const uint8_t *wrapped,
                  size_t wrapped_len, cocoimg_error **err, void *payload);
    void *payload; /**< passed last to the callbacks */
} cocoimg_keyprovider;

/**
 * Options of cocoimg_encrypt(), cocoimg_decrypt(), cocoimg_layerinfo() /
 * cocoimg_layer_list_load() and (as cocoimg_unpack_options.crypt)
 * cocoimg_unpack().  Which fields each operation takes:
 *
 *   field              encrypt  decrypt  layerinfo  unpack
 *   recipients            x
 *   keys                  x        x                  x
 *   dec_recipients        x        x                  x
 *   gpg_homedir           x        x                  x
 *   use_gpg_keys          x        x                  x
 *   layers                x        x        x
 *   platform              x        x        x        (=)
 *   all                   x        x        x
 *   keyprovider           x        x                  x
 *   pkcs7_allow_unauth... x        x                  x   (version 2)
 *
 * (encrypt takes keys to add recipients to layers that are encrypted
 * already; unpack takes platform only when it equals
 * cocoimg_unpack_options.platform.)  A field that is set but does not
 * apply is refused with COCOIMG_EINVAL naming it, never ignored.
 */
typedef struct cocoimg_crypt_options {
    unsigned int version; /**< COCOIMG_CRYPT_OPTIONS_VERSION */
    /**
     * encrypt: recipients "jwe:PUBKEY-FILE", "pkcs7:CERT-FILE",
     * "pgp:EMAIL-OR-KEYID", "provider:NAME[:PARAMS]" (through keyprovider)
     */
    const char *const *recipients;
    size_t n_recipients;
    /**
     * decrypt, and encrypt when adding recipients to encrypted layers:
     * private keys "FILE", "FILE:PASSWORD", "FILE:pass=PASSWORD",
     * "FILE:file=PWFILE", "FILE:fd=N" (ocicrypt syntax)
     */
    const char *const *keys;
    size_t n_keys;
    /** decrypt: certificates of PKCS7 recipients "pkcs7:CERT-FILE" (or "CERT-FILE") */
    const char *const *dec_recipients;
    size_t n_dec_recipients;
    /** GnuPG home for pgp recipients and secret keys (NULL: GnuPG's default) */
    const char *gpg_homedir;
    /** use the GnuPG secret keys for decryption */
    int use_gpg_keys;
    /** layers to process: 0-based from the bottom, negative from the top; none = all */
    const int *layers;
    size_t n_layers;
    /** platform "os/arch[/variant]" of an index to process (NULL: host platform) */
    const char *platform;
    /** process every manifest of an index */
    int all;
    /**
     * encrypt (provider: recipients) and decrypt (keys.provider.*
     * annotations): the caller's key provider, borrowed for the call (NULL: none)
     */
    const cocoimg_keyprovider *keyprovider;
    /* version 2 */
    /**
     * decrypt: also unwrap PKCS7 keys whose content encryption is not
     * authenticated (AES-CBC, 3DES; what `openssl cms -encrypt -aes256`
     * writes).  Off: such a key is refused before any private key is used,
     * with an error naming this option, because a tampered CBC blob can be
     * a padding oracle on the layer key.  ocicrypt writes AES-GCM.
     */
    int pkcs7_allow_unauthenticated;
} cocoimg_crypt_options;

#define COCOIMG_CRYPT_OPTIONS_INIT                                                                 \
    {                                                                                              \
        COCOIMG_CRYPT_OPTIONS_VERSION, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, \
            0                                                                                      \
    }

/** Initialise @p opts with defaults; @return 0, or COCOIMG_EINVAL for an unknown version. */
COCOIMG_EXTERN(int) cocoimg_crypt_options_init(cocoimg_crypt_options *opts, unsigned int version);

/**
 * Copy @p src to @p dst, encrypting the selected layers for the recipients.
 * Layers that are already encrypted get the new recipients added (their key
 * unwrapped with opts->keys; blob untouched).  Docker schema2 manifests are
 * converted to OCI.  @return 0 or a negative COCOIMG_E* code.
 */
COCOIMG_EXTERN(int)
cocoimg_encrypt(cocoimg_context *ctx, const char *src, const char *dst,
                const cocoimg_crypt_options *opts, cocoimg_error **err);

/**
 * Copy @p src to @p dst, decrypting the selected encrypted layers.
 * COCOIMG_ENOKEY when no key unwraps a layer, COCOIMG_EAUTH when its HMAC
 * fails, COCOIMG_EDIGEST on a digest mismatch.
 */
COCOIMG_EXTERN(int)
cocoimg_decrypt(cocoimg_context *ctx, const char *src, const char *dst,
                const cocoimg_crypt_options *opts, cocoimg_error **err);

/**
 * The layers of an image as cocoimg_layer_list_load() describes them: per
 * layer its index in its manifest, the platform of that manifest's index
 * entry, digest, size, media type, whether encrypted, the key-wrapping
 * schemes and the recipients that can be derived without keys.  Strings
 * returned by the getters are owned by the list.
 */
typedef struct cocoimg_layer_list cocoimg_layer_list;
typedef struct cocoimg_layer_info cocoimg_layer_info;

/**
 * Describe the selected layers (opts->layers) of @p src: of the manifest
 * for opts->platform, or of every manifest of an index when opts->all is
 * set or no platform is given.  An index entry that is itself an index is
 * refused (COCOIMG_ENOTSUP).  Free *out with cocoimg_layer_list_free().
 */
COCOIMG_EXTERN(int)
cocoimg_layer_list_load(cocoimg_layer_list **out, cocoimg_context *ctx, const char *src,
                        const cocoimg_crypt_options *opts, cocoimg_error **err);
COCOIMG_EXTERN(void) cocoimg_layer_list_free(cocoimg_layer_list *list);
/** Number of layers in @p list. */
COCOIMG_EXTERN(size_t) cocoimg_layer_list_count(const cocoimg_layer_list *list);
/** Layer @p i of @p list (borrowed), NULL when @p i is out of range. */
COCOIMG_EXTERN(const cocoimg_layer_info *)
cocoimg_layer_list_get(const cocoimg_layer_list *list, size_t i);
/**
 * The list as a JSON array (malloc'd string in *out, free with
 * cocoimg_free()), one object per layer: "digest", "size", "mediaType",
 * "encrypted", "schemes", "recipients", "index" and, for an index entry
 * with a platform, "platform".
 */
COCOIMG_EXTERN(int)
cocoimg_layer_list_to_json(char **out, const cocoimg_layer_list *list, cocoimg_error **err);

/** 0-based position of the layer in its manifest. */
COCOIMG_EXTERN(size_t) cocoimg_layer_info_index(const cocoimg_layer_info *l);
/** "os/arch[/variant]" of its manifest's index entry; NULL for a lone manifest. */
COCOIMG_EXTERN(const char *) cocoimg_layer_info_platform(const cocoimg_layer_info *l);
/** "alg:hex" */
COCOIMG_EXTERN(const char *) cocoimg_layer_info_digest(const cocoimg_layer_info *l);
COCOIMG_EXTERN(int64_t) cocoimg_layer_info_size(const cocoimg_layer_info *l);
COCOIMG_EXTERN(const char *) cocoimg_layer_info_media_type(const cocoimg_layer_info *l);
/** 1 when the media type has the +encrypted suffix, else 0. */
COCOIMG_EXTERN(int) cocoimg_layer_info_encrypted(const cocoimg_layer_info *l);
/** Key-wrapping schemes ("jwe", "pkcs7", "pgp", "provider.NAME", ...) in annotation order. */
COCOIMG_EXTERN(size_t) cocoimg_layer_info_scheme_count(const cocoimg_layer_info *l);
COCOIMG_EXTERN(const char *) cocoimg_layer_info_scheme(const cocoimg_layer_info *l, size_t i);
/**
 * Recipients, each "SCHEME: WHO" (a JWE algorithm, a certificate subject,
 * an OpenPGP key id; "SCHEME: (undecodable)" when it cannot be read).
 */
COCOIMG_EXTERN(size_t) cocoimg_layer_info_recipient_count(const cocoimg_layer_info *l);
COCOIMG_EXTERN(const char *) cocoimg_layer_info_recipient(const cocoimg_layer_info *l, size_t i);

/**
 * cocoimg_layer_list_load() and cocoimg_layer_list_to_json() in one call:
 * the layers of @p src as a JSON array in *out (free with cocoimg_free()).
 */
COCOIMG_EXTERN(int)
cocoimg_layerinfo(char **out, cocoimg_context *ctx, const char *src,
                  const cocoimg_crypt_options *opts, cocoimg_error **err);

COCOIMG_END_DECL

#endif
