/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KBS_H
#define COCOIMG_KBS_H

/*
 * A client of a Key Broker Service (trustee KBS): attestation with the
 * RCAR handshake of protocol 0.4.0 (POST /kbs/v0/auth, POST /kbs/v0/attest)
 * and resources fetched as JWE encrypted to an ephemeral TEE key that never
 * leaves the process.
 *
 *   cocoimg_kbs_options o = COCOIMG_KBS_OPTIONS_INIT;
 *   o.url = "https://kbs.example:8080";
 *   o.ca_file = "/etc/coco/kbs-ca.pem";
 *   cocoimg_kbs *kbs = NULL;
 *   uint8_t *key = NULL;
 *   size_t key_len = 0;
 *   if (cocoimg_kbs_new(&kbs, ctx, &o, &err) < 0 ||
 *       cocoimg_kbs_get_resource(&key, &key_len, kbs, "kbs:///default/key/1", &err) < 0)
 *       ... cocoimg_error_message(err) says what the KBS answered ...
 *   cocoimg_kbs_resource_free(key, key_len);
 *   cocoimg_kbs_free(kbs);
 *
 * The client attests once (lazily, at the first resource) and reuses the
 * session cookie (kbs-session-id, until its Expires) and then the
 * attestation token (until its exp) for every later resource, so a pull
 * costs one attestation however many keys it fetches.  It attests again
 * only when the KBS answers 401 with a session or token error; a refusal
 * (policy, missing resource) fails at once.  Transient failures (network,
 * HTTP 5xx) are retried with backoff and jitter; every public call gives up
 * within COCOIMG_KBS_DEADLINE_SECONDS.  Every KBS error reaches the caller
 * with its HTTP status, trustee's error type and detail.
 *
 * Threads: a client may be used by one thread at a time (it holds one
 * connection, the session and the TEE key).  Use one client per thread, or
 * serialise the calls.
 */

#include <stddef.h>
#include <stdint.h>

#include <cocoimg/common.h>
#include <cocoimg/context.h>
#include <cocoimg/crypt.h>
#include <cocoimg/errors.h>

COCOIMG_BEGIN_DECL

/** The attestation protocol version spoken by default (trustee >= v0.14). */
#define COCOIMG_KBS_PROTOCOL_VERSION "0.4.0"

/** Every public call of a client ends within this many seconds. */
#define COCOIMG_KBS_DEADLINE_SECONDS 25

typedef struct cocoimg_kbs cocoimg_kbs;

#define COCOIMG_KBS_OPTIONS_VERSION 1

/** Options of cocoimg_kbs_new(); initialise with COCOIMG_KBS_OPTIONS_INIT. */
typedef struct cocoimg_kbs_options {
    unsigned int version; /**< COCOIMG_KBS_OPTIONS_VERSION */
    /** "https://HOST[:PORT][/PREFIX]" of the KBS; required. */
    const char *url;
    /**
     * PEM file of the CA (or self-signed certificate) of the KBS: the only
     * certificates trusted for @c url.  NULL: the system trust store.
     */
    const char *ca_file;
    /**
     * Evidence source: "sample" (no TEE, tests only), "auto" or NULL
     * (detect the TEE; on a machine without one fall back to "sample" and
     * log a warning saying so).
     */
    const char *attester;
    /** Protocol version to speak; NULL: COCOIMG_KBS_PROTOCOL_VERSION. */
    const char *protocol_version;
    /** Init-data TOML file sent with every attestation; NULL: none. */
    const char *init_data_file;
    /**
     * 1: allow an "http://" @c url (tests only: the challenge exchange and
     * the token are then unprotected).  An https URL is always verified.
     */
    int insecure_http;
} cocoimg_kbs_options;

#define COCOIMG_KBS_OPTIONS_INIT                                                                   \
    {                                                                                              \
        COCOIMG_KBS_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0                               \
    }

/** Initialise @p opts; @return 0, or COCOIMG_EINVAL for an unknown version. */
COCOIMG_EXTERN(int)
cocoimg_kbs_options_init(cocoimg_kbs_options *opts, unsigned int version);

/**
 * Create a client; nothing is sent yet.  @p ctx (may be NULL: silent) is
 * borrowed for the client's life and receives its log lines (which
 * attester was chosen and why, attestations, retries; never a secret).
 * @return 0; COCOIMG_EINVAL (bad URL, plain http without insecure_http,
 * unknown attester), COCOIMG_ENOTSUP (protocol version not implemented,
 * init-data not supported yet), COCOIMG_EIO (CA file unreadable).
 */
COCOIMG_EXTERN(int)
cocoimg_kbs_new(cocoimg_kbs **out, const cocoimg_context *ctx, const cocoimg_kbs_options *opts,
                cocoimg_error **err);

/** Free @p kbs (wipes its TEE key, session and token); NULL is allowed. */
COCOIMG_EXTERN(void) cocoimg_kbs_free(cocoimg_kbs *kbs);

/**
 * The name of the attester the client uses ("sample", ...); borrowed.
 */
COCOIMG_EXTERN(const char *) cocoimg_kbs_attester_name(const cocoimg_kbs *kbs);
/**
 * Why that attester was chosen: what auto-detection found ("configfs-tsm
 * provider tdx_guest", "found /dev/sev-guest", "no TEE detected") or
 * "asked for by name"; static, never NULL for a client.
 */
COCOIMG_EXTERN(const char *) cocoimg_kbs_attester_reason(const cocoimg_kbs *kbs);

/**
 * Let @p ctx fetch configuration given as kbs:// URIs through @p kbs, as
 * CoCo's guest components do: the policy file of cocoimg_context_set_policy()
 * and the key paths in it (fetched when the policy is set, so call this
 * first), and an explicit registry authfile.  @p kbs is borrowed: keep it
 * until @p ctx is freed or this is called again (NULL: stop).  Fetches are
 * serialised; use the context from one thread while it fetches.
 */
COCOIMG_EXTERN(int)
cocoimg_context_set_kbs(cocoimg_context *ctx, cocoimg_kbs *kbs, cocoimg_error **err);

/**
 * Attest (unless the client holds a token that is still valid) and return
 * the claims of the attestation token as compact JSON in @p claims_out
 * (free with cocoimg_free()).  The token's signature is not checked: the
 * claims are for display (the KBS checks its own token).
 * @return 0; COCOIMG_EAUTH (evidence rejected), COCOIMG_ENOTSUP (protocol
 * version mismatch), COCOIMG_ENET (KBS unreachable), COCOIMG_EHTTP,
 * COCOIMG_EFORMAT (malformed answer).
 */
COCOIMG_EXTERN(int)
cocoimg_kbs_attest(char **claims_out, cocoimg_kbs *kbs, cocoimg_error **err);

/**
 * Fetch the resource @p uri ("kbs:///REPO/TYPE/TAG[?QUERY]",
 * "kbs://HOST:PORT/REPO/TYPE/TAG" whose authority is ignored: the client's
 * URL is used, or "kbs+PLUGIN:///PATH" for another KBS plugin), attesting
 * first when needed.  On success *out (@p out_len bytes, plus a NUL not
 * counted) holds the decrypted resource: release it with
 * cocoimg_kbs_resource_free().  On failure nothing is returned.
 * @return 0; COCOIMG_EINVAL (bad URI), COCOIMG_EPOLICY (denied by the KBS
 * policy), COCOIMG_EAUTH (evidence rejected, JWE does not authenticate),
 * COCOIMG_ENOTFOUND (no such plugin), COCOIMG_ENOTSUP, COCOIMG_ENET,
 * COCOIMG_EHTTP (other KBS errors, e.g. a missing resource), COCOIMG_EFORMAT.
 */
COCOIMG_EXTERN(int)
cocoimg_kbs_get_resource(uint8_t **out, size_t *out_len, cocoimg_kbs *kbs, const char *uri,
                         cocoimg_error **err);

/** Wipe and free a resource returned by cocoimg_kbs_get_resource(); NULL is allowed. */
COCOIMG_EXTERN(void) cocoimg_kbs_resource_free(uint8_t *buf, size_t len);

/**
 * The "attestation-agent" key provider of CoCo images, natively: fill
 * @p out (for cocoimg_crypt_options.keyprovider) so that layers whose
 * keys are wrapped for provider attestation-agent (the annotation packet
 * {kid, wrapped_data, iv, wrap_type A256GCM} that coco_keyprovider writes)
 * are unwrapped with the key-encryption key fetched from @p kbs as the
 * resource kid (one attestation for all layers; a KBS refusal reaches the
 * caller with the KBS's answer).  Encrypt: recipients
 * "provider:attestation-agent:keyid=kbs:///R/T/G::keypath=KEK-FILE" wrap
 * with the 32-byte KEK in KEK-FILE (@p kbs may then be NULL).  @p kbs is
 * borrowed and must outlive the operation; it is used only from the
 * caller's thread, as the provider's callbacks are.
 * @return 0, or COCOIMG_EINVAL for a NULL @p out.
 */
COCOIMG_EXTERN(int) cocoimg_kbs_keyprovider_init(cocoimg_keyprovider *out, cocoimg_kbs *kbs);

COCOIMG_END_DECL

#endif
