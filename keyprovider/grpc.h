/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_KEYPROVIDER_GRPC_H
#define COCOIMG_KEYPROVIDER_GRPC_H

/*
 * The gRPC transport of the keyprovider protocol: unary calls of
 * keyprovider.KeyProviderService/WrapKey and /UnWrapKey whose messages
 * carry one bytes field (keyprovider.proto), on the gRPC C core with
 * protobuf-c messages.  The bytes are the protocol's JSON (kpjson.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum cocoimg__kp_method { COCOIMG__KP_WRAP = 0, COCOIMG__KP_UNWRAP = 1 };

/*
 * Server handler: called on a worker thread (several at once) with the
 * request's bytes field; on success a malloc'd reply in *out (the server
 * wipes and frees it).  A failure's code picks the gRPC status, its
 * message the status details.
 */
typedef int (*cocoimg__kp_handler)(void *ud, enum cocoimg__kp_method m, const uint8_t *in,
                                   size_t in_len, uint8_t **out, size_t *out_len,
                                   cocoimg_error **err);

typedef struct cocoimg__grpc_server cocoimg__grpc_server;

/* listen: "HOST:PORT" (PORT 0: a free one) or "unix:PATH" */
int cocoimg__grpc_server_new(cocoimg__grpc_server **out, const char *listen, unsigned workers,
                             size_t max_request, cocoimg__kp_handler h, void *ud,
                             cocoimg_error **err);
/* The bound TCP port, 0 for a unix socket. */
int cocoimg__grpc_server_port(const cocoimg__grpc_server *s);
/* Serve until cocoimg__grpc_server_stop(); calls in flight finish first. */
int cocoimg__grpc_server_run(cocoimg__grpc_server *s, cocoimg_error **err);
/* Thread-safe, idempotent; not async-signal-safe. */
void cocoimg__grpc_server_stop(cocoimg__grpc_server *s);
void cocoimg__grpc_server_free(cocoimg__grpc_server *s);

/* ocicrypt's "grpc-tls"; enabled false: plaintext h2c */
struct cocoimg__grpc_tls {
    bool enabled;
    const char *root_ca_file;         /* NULL: the system roots */
    const char *cert_file, *key_file; /* client certificate, both or neither */
    const char *server_name;          /* the TLS name to check, NULL: the target's host */
};

/*
 * One unary call on a fresh channel to @p target ("host:port",
 * "unix:/path", "unix:///path"); the reply is capped at @p max_reply and
 * the call at @p timeout_ms.  Errors name the target, the status and the
 * server's words, never the request.
 */
int cocoimg__grpc_call(const char *target, const struct cocoimg__grpc_tls *tls,
                       enum cocoimg__kp_method m, const uint8_t *in, size_t in_len, uint8_t **out,
                       size_t *out_len, size_t max_reply, int timeout_ms, cocoimg_error **err);

#endif
