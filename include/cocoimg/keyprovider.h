/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KEYPROVIDER_H
#define COCOIMG_KEYPROVIDER_H

/*
 * ocicrypt's keyprovider protocol, both sides.
 *
 * The client: a cocoimg_keyprovider (for cocoimg_crypt_options.keyprovider)
 * that calls the providers of an ocicrypt keyprovider configuration file
 * (the file OCICRYPT_KEYPROVIDER_CONFIG names; the library reads no
 * environment, the caller passes the path):
 *
 *   {"key-providers": {
 *      "attestation-agent": {"grpc": "127.0.0.1:50000"},
 *      "mykms": {"cmd": {"path": "/usr/bin/mykms", "args": ["--wrap"]}}}}
 *
 * `cmd` providers are run without a shell, the request JSON on stdin and
 * the reply on stdout, with a minimal environment; `grpc` providers are
 * called at keyprovider.KeyProviderService/WrapKey|UnWrapKey (plaintext
 * h2c, or TLS with "grpc-tls").  Unlike ocicrypt, a provider is sent only
 * its own parameters: never the other recipients' keys, never the private
 * keys or passwords given for decryption.  Every call has a deadline.
 *
 * The service: what `coco-keyprovider` serves, the attestation-agent
 * provider of CoCo (trustee's coco_keyprovider at build time, the guest's
 * CDH at run time): WrapKey seals the layer options under a KEK (from
 * keypath=FILE, or fetched from the KBS), UnWrapKey attests to the KBS,
 * fetches the packet's kid and opens it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cocoimg/common.h>
#include <cocoimg/crypt.h>
#include <cocoimg/errors.h>
#include <cocoimg/kbs.h>

COCOIMG_BEGIN_DECL

/* ----- client ------------------------------------------------------------ */

typedef struct cocoimg_kp_client cocoimg_kp_client;

#define COCOIMG_KP_CLIENT_OPTIONS_VERSION 1

/** Options of cocoimg_kp_client_new(); initialise with COCOIMG_KP_CLIENT_OPTIONS_INIT. */
typedef struct cocoimg_kp_client_options {
    unsigned int version; /**< COCOIMG_KP_CLIENT_OPTIONS_VERSION */
    /** ocicrypt keyprovider configuration file; NULL: no providers from a file */
    const char *config_file;
    /**
     * Decryption parameters "NAME[:PARAMS]" (skopeo's --decryption-key
     * provider:NAME[:PARAMS] without "provider:"): PARAMS go to provider
     * NAME's UnWrapKey, and to no other provider.
     */
    const char *const *decrypt_params;
    size_t n_decrypt_params;
    /**
     * A provider served in this process (cocoimg_kbs_keyprovider_init()),
     * for the provider name @c native_name; NULL: none.  Borrowed.
     */
    const cocoimg_keyprovider *native;
    const char *native_name;
    /**
     * 1: @c native serves @c native_name even when the file names it too
     * (the caller asked for it explicitly, as pull --kbs-url does); 0: the
     * file's entry wins and @c native serves the name only when the file
     * lacks it.
     */
    int native_overrides;
    /** Deadline of each provider call in milliseconds; 0: 30000. */
    int timeout_ms;
} cocoimg_kp_client_options;

#define COCOIMG_KP_CLIENT_OPTIONS_INIT                                                             \
    {                                                                                              \
        COCOIMG_KP_CLIENT_OPTIONS_VERSION, NULL, NULL, 0, NULL, NULL, 0, 0                         \
    }

/** Initialise @p o with defaults; @return 0, or COCOIMG_EINVAL for an unknown version. */
COCOIMG_EXTERN(int)
cocoimg_kp_client_options_init(cocoimg_kp_client_options *o, unsigned int version);

/**
 * Read the configuration file (strictly: unknown members, a provider with
 * neither cmd nor grpc, a relative cmd path are errors) and make a client.
 * A missing @c config_file is an error here (the caller decides whether an
 * unset variable means none).  @return 0 or a negative COCOIMG_E* code.
 */
COCOIMG_EXTERN(int)
cocoimg_kp_client_new(cocoimg_kp_client **out, const cocoimg_kp_client_options *o,
                      cocoimg_error **err);

/** Whether provider @p name is served (by the file or natively). */
COCOIMG_EXTERN(bool) cocoimg_kp_client_has(const cocoimg_kp_client *c, const char *name);

/**
 * Fill @p out so that cocoimg_crypt_options.keyprovider uses @p c; @p c
 * must outlive the operation.  @return 0, or COCOIMG_EINVAL.
 */
COCOIMG_EXTERN(int) cocoimg_kp_client_keyprovider(cocoimg_keyprovider *out, cocoimg_kp_client *c);

COCOIMG_EXTERN(void) cocoimg_kp_client_free(cocoimg_kp_client *c);

/* ----- service ------------------------------------------------------------ */

typedef struct cocoimg_kp_service cocoimg_kp_service;

#define COCOIMG_KP_SERVICE_OPTIONS_VERSION 1

/** Options of cocoimg_kp_service_new(); initialise with COCOIMG_KP_SERVICE_OPTIONS_INIT. */
typedef struct cocoimg_kp_service_options {
    unsigned int version; /**< COCOIMG_KP_SERVICE_OPTIONS_VERSION */
    /** Whose parameters a request carries; NULL: "attestation-agent". */
    const char *name;
    /**
     * The KBS: UnWrapKey fetches each packet's kid from it, WrapKey without
     * keypath= fetches the KEK of keyid.  NULL: UnWrapKey is refused and
     * WrapKey needs keypath=.  Borrowed; the service serialises its use.
     */
    cocoimg_kbs *kbs;
} cocoimg_kp_service_options;

#define COCOIMG_KP_SERVICE_OPTIONS_INIT                                                            \
    {                                                                                              \
        COCOIMG_KP_SERVICE_OPTIONS_VERSION, NULL, NULL                                             \
    }

COCOIMG_EXTERN(int)
cocoimg_kp_service_options_init(cocoimg_kp_service_options *o, unsigned int version);

COCOIMG_EXTERN(int)
cocoimg_kp_service_new(cocoimg_kp_service **out, const cocoimg_kp_service_options *o,
                       cocoimg_error **err);

/** Which request a transport received. */
typedef enum cocoimg_kp_method {
    COCOIMG_KP_ANY = 0,   /**< cmd protocol: the request's "op" decides */
    COCOIMG_KP_WRAPKEY,   /**< gRPC WrapKey: "op" must be "keywrap" */
    COCOIMG_KP_UNWRAPKEY, /**< gRPC UnWrapKey: "op" must be "keyunwrap" */
} cocoimg_kp_method;

/**
 * Answer one request (the JSON of the protocol): on success *reply is a
 * malloc'd reply JSON, to be freed with cocoimg_kp_reply_free().  Safe to
 * call from several threads at once.  Errors never quote the request.
 */
COCOIMG_EXTERN(int)
cocoimg_kp_service_handle(uint8_t **reply, size_t *reply_len, cocoimg_kp_service *s,
                          cocoimg_kp_method method, const uint8_t *request, size_t request_len,
                          cocoimg_error **err);

/** Wipe and free a reply of cocoimg_kp_service_handle(); NULL is allowed. */
COCOIMG_EXTERN(void) cocoimg_kp_reply_free(uint8_t *reply, size_t len);

COCOIMG_EXTERN(void) cocoimg_kp_service_free(cocoimg_kp_service *s);

/* ----- gRPC server ----------------------------------------------------------- */

typedef struct cocoimg_kp_server cocoimg_kp_server;

/**
 * A gRPC keyprovider.KeyProviderService server for @p s (borrowed) on
 * @p listen: "HOST:PORT" (PORT 0: a free port) or "unix:PATH".
 * @p workers threads answer requests concurrently (0: 4).
 */
COCOIMG_EXTERN(int)
cocoimg_kp_server_new(cocoimg_kp_server **out, cocoimg_kp_service *s, const char *listen,
                      unsigned workers, cocoimg_error **err);

/** The TCP port listened on (0 for a unix socket). */
COCOIMG_EXTERN(int) cocoimg_kp_server_port(const cocoimg_kp_server *srv);

/** Serve until cocoimg_kp_server_stop(); in-flight calls finish first. */
COCOIMG_EXTERN(int) cocoimg_kp_server_run(cocoimg_kp_server *srv, cocoimg_error **err);

/** Ask a running server to stop (thread-safe; not async-signal-safe). */
COCOIMG_EXTERN(void) cocoimg_kp_server_stop(cocoimg_kp_server *srv);

COCOIMG_EXTERN(void) cocoimg_kp_server_free(cocoimg_kp_server *srv);

COCOIMG_END_DECL

#endif
