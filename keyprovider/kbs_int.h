/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KEYPROVIDER_KBS_INT_H
#define COCOIMG_KEYPROVIDER_KBS_INT_H

/*
 * Internals of the KBS client (keyprovider/), split so each piece can be
 * tested and fuzzed alone: RFC 8785 canonical JSON (jcs.c), the TEE key and
 * the JWE resource response (jwe.c), the protocol messages and report_data
 * (msg.c), resource URIs (uri.c) and the HTTP exchange (http.c).  The
 * protocol logic is in kbs.c, the attesters behind attester.h.
 */

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cocoimg/kbs.h>

#include "util/error.h"
#include "util/jcs.h"
#include "util/json.h"
#include "util/secret.h"

/* Trustee's error types are this prefix + the variant name (spec 1.8). */
#define COCOIMG__KBS_ERROR_PREFIX "https://github.com/confidential-containers/kbs/errors/"
/* Bodies of KBS answers (JSON, JWE of a resource) are capped at this. */
#define COCOIMG__KBS_BODY_MAX COCOIMG_JSON_MAX_SIZE
/* report_data is at most 64 bytes (the hardware REPORTDATA size). */
#define COCOIMG__KBS_REPORT_DATA_MAX 64

/* JCS (RFC 8785): cocoimg__jcs() of util/jcs.h */

/* --- hashes of report_data (spec 1.3, 1.5) ------------------------------- */

typedef struct cocoimg__kbs_hash {
    const char *name; /* wire name: sha256, sha384, sha512 */
    const char *ossl; /* OpenSSL digest name */
    size_t len;
} cocoimg__kbs_hash;

/* The default (sha384) */
extern const cocoimg__kbs_hash cocoimg__kbs_hash_default;
/* By wire name, case-insensitive; NULL when unknown or unavailable. */
const cocoimg__kbs_hash *cocoimg__kbs_hash_find(const char *name);
/* The names offered in the Request's supported-hash-algorithms. */
int cocoimg__kbs_hash_names(json_t **out, cocoimg_error **err);

/* --- the TEE key and the JWE resource response (spec 1.4, 1.7) ------------ */

/* A fresh ephemeral P-256 key pair. */
int cocoimg__tee_key_new(EVP_PKEY **out, cocoimg_error **err);
/*
 * The public JWK of @p key exactly as sent in runtime-data: kty, crv, alg,
 * x, y (fixed-width coordinates), nothing else.
 */
int cocoimg__tee_key_jwk(json_t **out, EVP_PKEY *key, cocoimg_error **err);
/* A P-256 key from a JWK with d (and x, y): test vectors, fuzzing. */
int cocoimg__tee_key_from_jwk(EVP_PKEY **out, const json_t *jwk, cocoimg_error **err);

/* The steps of the decryption, exposed for the known-answer tests. */
int cocoimg__kbs_ecdh(cocoimg__secret **z_out, EVP_PKEY *key, const uint8_t *x, const uint8_t *y,
                      size_t coord_len, cocoimg_error **err);
/* JWA Concat KDF (RFC 7518 4.6.2) for ECDH-ES+A256KW, empty apu/apv. */
int cocoimg__kbs_concat_kdf(uint8_t kek[32], const uint8_t *z, size_t z_len, cocoimg_error **err);

/*
 * Decrypt a resource response: a flattened JWE (protected, encrypted_key,
 * iv, ciphertext, tag) with alg ECDH-ES+A256KW and enc A256GCM to @p key;
 * the AAD is the protected member as received.  Intermediate keys are
 * wiped.  COCOIMG_EFORMAT (malformed), COCOIMG_ENOTSUP (other algorithms,
 * zip, crit), COCOIMG_EAUTH (key unwrap or tag failure).
 */
int cocoimg__kbs_jwe_decrypt(cocoimg__secret **out, EVP_PKEY *key, const void *body, size_t len,
                             cocoimg_error **err);

/* --- messages (spec 1.2-1.6, 1.8) ----------------------------------------- */

/* The Request of POST /kbs/v0/auth. */
int cocoimg__kbs_request_json(char **out, const char *version, const char *tee,
                              cocoimg_error **err);

struct cocoimg__kbs_challenge {
    char *nonce;
    const cocoimg__kbs_hash *hash; /* selected by extra-params, else sha384 */
};
void cocoimg__kbs_challenge_clear(struct cocoimg__kbs_challenge *c);
int cocoimg__kbs_challenge_parse(struct cocoimg__kbs_challenge *out, const void *body, size_t len,
                                 cocoimg_error **err);

/*
 * report_data = H(JCS({"tee-pubkey", "nonce", "additional-evidence"}))
 * (spec 1.5 step 3-4), *out_len = H's size.
 */
int cocoimg__kbs_report_data(uint8_t out[COCOIMG__KBS_REPORT_DATA_MAX], size_t *out_len,
                             const cocoimg__kbs_hash *h, const char *nonce,
                             const json_t *tee_pubkey, const char *additional_evidence,
                             cocoimg_error **err);

/* The Attestation of POST /kbs/v0/attest (init_data: TOML text or NULL). */
int cocoimg__kbs_attestation_json(char **out, const char *nonce, const json_t *tee_pubkey,
                                  const json_t *evidence, const char *additional_evidence,
                                  const char *init_data, cocoimg_error **err);

/*
 * {"token": JWT}: the token (*token_out, to be wiped), its decoded claims
 * and exp (0 when the token has none).
 */
int cocoimg__kbs_token_parse(char **token_out, json_t **claims_out, int64_t *exp_out,
                             const void *body, size_t len, cocoimg_error **err);

/*
 * A trustee error body {"type", "detail"}: 0 and *name_out (the variant
 * name when type has trustee's prefix, else type) and *detail_out (both
 * made printable and bounded); COCOIMG_EFORMAT when the body is not one.
 */
int cocoimg__kbs_error_parse(char **name_out, char **detail_out, const void *body, size_t len,
                             cocoimg_error **err);

/* Printable, bounded copy of untrusted text for a message (NULL on OOM). */
char *cocoimg__kbs_printable(const void *s, size_t len, size_t max);

/* --- resource URIs (spec 1.11) -------------------------------------------- */

/*
 * "kbs[+PLUGIN]://[AUTHORITY]/SEG[/SEG...][?QUERY]" to the path below
 * /kbs/v0/: "PLUGIN/SEG/...[?QUERY]" (plugin "resource" for kbs://).  The
 * authority is ignored.  COCOIMG_EINVAL for anything else (scheme-less
 * paths included).
 */
int cocoimg__kbs_uri_path(char **out, const char *uri, cocoimg_error **err);

/* --- HTTP (http.c) ---------------------------------------------------------- */

/* What a request carries besides method, path and body. */
struct cocoimg__kbs_req {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* below /kbs/v0/, e.g. "auth" */
    const char *body;   /* JSON for POST, NULL for GET */
    const char *cookie; /* kbs-session-id value or NULL */
    const char *bearer; /* token or NULL */
    long timeout_ms;
};

struct cocoimg__kbs_resp {
    long status;
    uint8_t *body; /* NUL-terminated after len */
    size_t len;
    /* Set-Cookie kbs-session-id seen: value (NULL: removed) and expiry
     * (0: none given) */
    bool cookie_set;
    char *cookie;
    time_t cookie_expires;
    int curl_code;  /* transport failure: the CURLcode */
    bool retryable; /* transport failure worth another try */
};
void cocoimg__kbs_resp_clear(struct cocoimg__kbs_resp *r);

typedef struct cocoimg__kbs_conn cocoimg__kbs_conn;
int cocoimg__kbs_conn_new(cocoimg__kbs_conn **out, const char *base_url, const char *ca_file,
                          bool allow_http, cocoimg_error **err);
void cocoimg__kbs_conn_free(cocoimg__kbs_conn *c);
/*
 * Send one request.  0 when an HTTP answer arrived (any status: see
 * resp->status); COCOIMG_ENET (resp->retryable says whether to try again)
 * or COCOIMG_ELIMIT (body too large) otherwise.
 */
int cocoimg__kbs_conn_send(struct cocoimg__kbs_resp *resp, cocoimg__kbs_conn *c,
                           const struct cocoimg__kbs_req *req, cocoimg_error **err);

/* Parse one Set-Cookie value for kbs-session-id (exposed for the tests). */
bool cocoimg__kbs_parse_set_cookie(struct cocoimg__kbs_resp *resp, const char *v, size_t len,
                                   time_t now);

/* --- init-data (initdata.c, spec 1.13) ---------------------------------------- */
struct cocoimg__initdata {
    char *path;
    char *text;            /* the TOML as read, NUL-terminated: Attestation.init-data.body */
    const char *algorithm; /* "sha256", "sha384", "sha512" */
    uint8_t digest[64];
    size_t digest_len;
};
int cocoimg__initdata_load(struct cocoimg__initdata *out, const char *path, cocoimg_error **err);
/* The same from @p len bytes at @p text (malloc'd, NUL after the end; taken over). */
int cocoimg__initdata_parse(struct cocoimg__initdata *out, uint8_t *text, size_t len,
                            const char *path, cocoimg_error **err);
void cocoimg__initdata_clear(struct cocoimg__initdata *d);
/* the digest against a TEE field (@p field names it), zero-padded or truncated to @p len */
int cocoimg__initdata_check(const struct cocoimg__initdata *d, const char *field,
                            const uint8_t *value, size_t len, cocoimg_error **err);

/*
 * cocoimg_kbs_get_resource() for key-encryption keys: a KEK already
 * released under the current token is served from memory (a secret buffer,
 * dropped with the token), so a pull asks the KBS once per distinct kid,
 * not once per layer.  The result is freed with cocoimg_kbs_resource_free().
 */
int cocoimg__kbs_get_key(uint8_t **out, size_t *out_len, cocoimg_kbs *k, const char *uri,
                         cocoimg_error **err);

#endif
