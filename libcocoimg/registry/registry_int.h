/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_REGISTRY_REGISTRY_INT_H
#define COCOIMG_REGISTRY_REGISTRY_INT_H

/* Internals shared by the files of registry/ (not for other modules). */

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "registry/registry.h"

struct cocoimg__token {
    char *scope;
    char *value; /* secret: wiped on free */
    time_t expires;
    struct cocoimg__token *next;
};

struct cocoimg__registry {
    const cocoimg_context *ctx;
    char *host;
    char *username;            /* NULL: anonymous */
    cocoimg__secret *password; /* NUL-terminated after len */
    char *cred_from;           /* where the credentials came from (for a 401); NULL: none */
    char *authfile;            /* the explicit authfile, if any (for a 401) */
    bool insecure;
    int retries;
    unsigned int backoff_ms;
    uint64_t chunk_size;
    unsigned int stall_s; /* low-speed (stall) timeout in seconds */
    cocoimg__tls_files tls;
    uint8_t *ca_blob; /* system bundle + certs.d CAs; NULL: curl's default */
    size_t ca_blob_len;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    /* lock protects everything below */
    pthread_mutex_t lock;
    bool pinged;
    bool supports_signatures; /* /v2/ said X-Registry-Supports-Signatures: 1 */
    const char *scheme;       /* "https" or "http" once pinged */
    cocoimg__auth_challenge chal;
    struct cocoimg__token *tokens;
};

/* What to send. */
struct cocoimg__xfer_spec {
    const char *method;
    const char *url;
    const char *const *headers; /* NULL-terminated, may be NULL */
    const char *auth_header;    /* "Authorization: ..." or NULL (wiped) */
    const void *body;           /* replayable body (PUT/PATCH/POST) */
    size_t body_len;
    cocoimg__reader *up_reader; /* borrowed streamed body of up_limit bytes */
    uint64_t up_limit;
    bool up_final;       /* the stream must end right after these bytes */
    bool up_unsized;     /* length unknown (chunked): at most up_limit bytes, EOF ends it */
    size_t max_body;     /* response body cap; 0: discard */
    bool stream;         /* keep the body in the bounded streaming buffer */
    bool follow;         /* follow redirects (GET/HEAD) */
    uint64_t range_from; /* > 0: Range: bytes=N- */
};

struct cocoimg__xfer {
    CURL *easy;
    CURLM *multi;
    struct curl_slist *hdrs;
    char *auth_header;
    char *url;
    char errbuf[CURL_ERROR_SIZE];
    bool follow;
    /* response */
    long status;
    bool hdr_done;
    char *content_type, *docker_digest, *location, *www_auth, *content_range;
    bool supports_signatures; /* X-Registry-Supports-Signatures: 1 */
    char *range;              /* upload progress ("0-N") */
    int64_t content_length;
    int64_t retry_after;
    /* body: a growing buffer (bounded by body_max) or, when streaming, a
     * fixed buffer of RING_CAP bytes holding body_len bytes at body_off */
    bool stream, nobody_sink, body_overflow, body_seen, paused;
    uint8_t *body;
    size_t body_off, body_len, body_cap, body_max;
    uint64_t range_from, skip;
    uint8_t *ebody;
    size_t ebody_len;
    /* upload */
    const uint8_t *up_mem;
    size_t up_len, up_off;
    cocoimg__reader *up_reader;
    uint64_t up_limit, up_sent;
    bool up_final, up_unsized;
    int up_rc;
    cocoimg_error *up_err;
    /* stall detection: a transfer with no byte either way for stall_ms fails */
    int64_t last_io_ms;
    unsigned int stall_ms;
    bool stalled;
    /* completion */
    bool done;
    CURLcode result;
};

/* Bytes of the streaming buffer of a transfer. */
#define COCOIMG__XFER_RING_CAP (256u * 1024)
/* curl's write callback of a transfer (exposed for the unit tests). */
size_t cocoimg__xfer_write_cb(char *buf, size_t size, size_t nmemb, void *userdata);
/* Wipe the strings of a header list in place (call before curl_slist_free_all()). */
void cocoimg__slist_wipe(struct curl_slist *l);
int cocoimg__xfer_new(struct cocoimg__xfer **out, cocoimg__registry *r,
                      const struct cocoimg__xfer_spec *sp, cocoimg_error **err);
int cocoimg__xfer_run(struct cocoimg__xfer *x, bool until_data, cocoimg_error **err);
void cocoimg__xfer_free(struct cocoimg__xfer *x);
COCOIMG_DEFINE_CLEANUP(struct cocoimg__xfer, cocoimg__xfer_free)
bool cocoimg__curl_retryable(int code);
const char *cocoimg__xfer_curl_error(const struct cocoimg__xfer *x);

/*
 * Run one request with the retry policy only (no auth handling): retried
 * on connection errors, 5xx and 429 when the body can be replayed.
 * Returns 0 with *out holding the final response (any status).
 */
int cocoimg__registry_run(struct cocoimg__xfer **out, cocoimg__registry *r,
                          const struct cocoimg__xfer_spec *sp, const char *what,
                          cocoimg_error **err);

/* --- auth.c --- */

/*
 * The Authorization header for a request in @p scope (*out NULL when
 * anonymous): Basic with the client's credentials, or a cached Bearer
 * token for @p scope, fetched from the challenge's realm when there is none
 * (or it expired).  Takes r->lock itself.
 */
int cocoimg__auth_header(char **out, cocoimg__registry *r, const char *scope, const char *repo,
                         cocoimg_error **err);
/* Forget the token of @p scope (the caller holds r->lock). */
void cocoimg__auth_token_drop(cocoimg__registry *r, const char *scope);
/* Free every cached token (when the client is freed). */
void cocoimg__auth_tokens_clear(cocoimg__registry *r);

/* Run @p sp with auth (token or Basic for @p scope, renewed once on 401) and retries. */
int cocoimg__registry_request(struct cocoimg__xfer **out, cocoimg__registry *r,
                              struct cocoimg__xfer_spec *sp, const char *repo, const char *scope,
                              const char *what, cocoimg_error **err);
/* "repository:REPO:pull[,push]" (+ " repository:FROM:pull" for a mount). */
int cocoimg__registry_scope(char **out, const char *repo, bool push, const char *mount_from,
                            cocoimg_error **err);
int cocoimg__registry_check_repo(const char *repo, cocoimg_error **err);
/* SCHEME://HOST/v2/REPO/KIND/REF (pings first if needed). */
int cocoimg__registry_url(char **out, cocoimg__registry *r, const char *repo, const char *kind,
                          const char *ref, cocoimg_error **err);
/* Errors for a non-success status / a failed transfer, naming registry and repository. */
int cocoimg__registry_status_error(const cocoimg__registry *r, const char *repo, const char *what,
                                   const struct cocoimg__xfer *x, cocoimg_error **err);
int cocoimg__registry_net_error(const cocoimg__registry *r, const char *what,
                                const struct cocoimg__xfer *x, cocoimg_error **err);

#endif
