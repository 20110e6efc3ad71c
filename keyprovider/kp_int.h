/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KEYPROVIDER_KP_INT_H
#define COCOIMG_KEYPROVIDER_KP_INT_H

/*
 * The ocicrypt keyprovider protocol (ocicrypt keywrap/keyprovider, spec
 * ocicrypt 6.5): the JSON messages carried in the single bytes field of the
 * gRPC messages or on a cmd provider's stdin/stdout, and the native
 * attestation-agent wrap/unwrap that both the plugin and the puller use.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/kbs.h>

#include "util/error.h"
#include "util/secret.h"

/* Largest request or reply document accepted (real ones are a few KiB). */
#define COCOIMG__KP_MSG_MAX (1024u * 1024)

enum cocoimg__kp_op {
    COCOIMG__KP_OP_WRAP = 0,   /* "keywrap", gRPC WrapKey */
    COCOIMG__KP_OP_UNWRAP = 1, /* "keyunwrap", gRPC UnWrapKey */
};

/* A request as a provider sees it. */
struct cocoimg__kp_request {
    enum cocoimg__kp_op op;
    /* Parameters[name] of the EncryptConfig (wrap) or DecryptConfig (unwrap), decoded */
    char **params;
    size_t n_params;
    /* wrap: the private layer options; unwrap: the annotation item (wrapped bytes) */
    cocoimg__secret *data;
};

/*
 * Parse a request; @p name selects whose Parameters are read (others,
 * such as the private keys skopeo forwards, are ignored and wiped).  Byte
 * fields are base64 strings (Go) or arrays of 0..255 (Rust).  Every JSON
 * string that held key material is wiped before the document is freed.
 */
int cocoimg__kp_request_parse(struct cocoimg__kp_request *out, const uint8_t *json, size_t len,
                              const char *name, cocoimg_error **err);
void cocoimg__kp_request_clear(struct cocoimg__kp_request *r);

/*
 * Build the request ocicrypt sends, but holding only what provider @p name
 * needs: its own parameters (each item base64; none: "Enabled" for wrap,
 * as ocicrypt does) and @p data (optsdata or annotation).  *out is a
 * secret buffer (wrap requests hold the layer key).
 */
int cocoimg__kp_request_build(cocoimg__secret **out, enum cocoimg__kp_op op, const char *name,
                              const char *const *params, size_t n_params, const uint8_t *data,
                              size_t data_len, cocoimg_error **err);

/* The reply: {"keywrapresults":{"annotation":B64}} or {"keyunwrapresults":{"optsdata":B64}}. */
int cocoimg__kp_reply_build(cocoimg__secret **out, enum cocoimg__kp_op op, const uint8_t *data,
                            size_t data_len, cocoimg_error **err);
/* Read the member of a reply for @p op (the other one is ignored); an empty result fails. */
int cocoimg__kp_reply_parse(cocoimg__secret **out, enum cocoimg__kp_op op, const uint8_t *json,
                            size_t len, cocoimg_error **err);

/*
 * attestation-agent (aa.c): wrap @p optsdata for params
 * "keyid=kbs:///R/T/G[::keypath=FILE][::algorithm=A256GCM]"; without
 * keypath the KEK is fetched from @p kbs (NULL: keypath required).
 * *out is the annotation packet JSON.
 */
int cocoimg__aa_wrap(uint8_t **out, size_t *out_len, const char *params, const uint8_t *optsdata,
                     size_t optsdata_len, cocoimg_kbs *kbs, cocoimg_error **err);
/* An annotation packet, parsed: the kid as kbs:///R/T/G, ciphertext||tag, IV. */
struct cocoimg__aa_packet {
    char *uri;
    uint8_t *ct;
    size_t ct_len;
    uint8_t iv[12];
};
/* Parse (failures other than an unsupported shape are the uniform unwrap error). */
int cocoimg__aa_packet_parse(struct cocoimg__aa_packet *pk, const uint8_t *wrapped,
                             size_t wrapped_len, cocoimg_error **err);
void cocoimg__aa_packet_clear(struct cocoimg__aa_packet *pk);
/* Open with @p kek (anything but 32 bytes, or a bad tag: the uniform error). */
int cocoimg__aa_packet_open(uint8_t **out, size_t *out_len, const struct cocoimg__aa_packet *pk,
                            const uint8_t *kek, size_t kek_len, cocoimg_error **err);
/* Open an annotation packet with the KEK that @p kbs releases. */
int cocoimg__aa_unwrap(uint8_t **out, size_t *out_len, const uint8_t *packet, size_t packet_len,
                       cocoimg_kbs *kbs, cocoimg_error **err);

#endif
