/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_REGISTRY_REGISTRY_H
#define COCOIMG_REGISTRY_REGISTRY_H

/*
 * Registry client (OCI distribution spec) on libcurl.
 *
 *   cocoimg__registry *r;
 *   struct cocoimg__registry_options o = {0};
 *   cocoimg__registry_new(&r, ctx, "quay.io", &o, &err);
 *   cocoimg__registry_get_manifest(&m, r, "org/app", "v1", &err);
 *   cocoimg__registry_get_blob(&rd, r, "org/app", &m->...digest, size, &err);
 *   ... cocoimg__reader_read(rd, ...) until 0 (verified) ...
 *   cocoimg__registry_free(r);
 *
 * One client talks to one registry host ("host[:port]").  It is
 * thread-safe: the token cache is locked, connections, DNS and TLS sessions
 * are shared through a locked curl share handle, and every request uses its
 * own easy handle.  Blob readers returned by the client are used by one
 * thread at a time (like every cocoimg__reader) and must be freed before
 * the client.
 *
 * Errors: COCOIMG_ENET (connection/TLS failure, after the retries),
 * COCOIMG_EHTTP (unexpected status; 401/403 name registry and repository),
 * COCOIMG_ENOTFOUND (404 or MANIFEST_UNKNOWN/BLOB_UNKNOWN/NAME_UNKNOWN),
 * COCOIMG_EDIGEST (content does not match), COCOIMG_ELIMIT (size caps).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"
#include "pipeline/reader.h"
#include "util/context.h"
#include "util/error.h"
#include "util/secret.h"

/* Manifests larger than this are refused (containers/image uses 4 MiB too). */
#define COCOIMG_REGISTRY_MANIFEST_MAX (4u * 1024 * 1024)

struct cocoimg__registry_options {
    /*
     * Explicit credentials (--creds USER:PASS).  When username is NULL the
     * credentials come from @p authfile, or when that is NULL from the
     * default locations (cocoimg__authfile_find()).
     */
    const char *username;
    const char *password;
    const char *authfile;
    /*
     * Directory with *.crt (extra CAs), *.cert + *.key (client certificate).
     * NULL: ~/.config/containers/certs.d/HOST, /etc/containers/certs.d/HOST,
     * /etc/docker/certs.d/HOST (every one that exists).
     */
    const char *cert_dir;
    /* Skip TLS verification and allow plain HTTP (--tls-verify=false). */
    bool insecure;
    /* Retries on connection errors, 5xx and 429: 0 = default (3), < 0 = none. */
    int retries;
    /* First backoff delay in ms (doubles each retry, capped at 10 s); 0 = 500. */
    unsigned int backoff_ms;
    /* Blobs larger than this are pushed in PATCH chunks of this size; 0 = 64 MiB. */
    uint64_t chunk_size;
    /*
     * Seconds without a byte received before a transfer fails as stalled
     * (then retried, or a blob resumed, a bounded number of times); 0 = 30.
     */
    unsigned int stall_timeout_s;
};

typedef struct cocoimg__registry cocoimg__registry;

/*
 * New client for @p host ("host[:port]"); options are copied.  Reads the
 * authfile and the certs.d directory now, so errors in them are reported
 * here (COCOIMG_EFORMAT/EIO/EINVAL).  No network traffic yet.
 */
int cocoimg__registry_new(cocoimg__registry **out, const cocoimg_context *ctx, const char *host,
                          const struct cocoimg__registry_options *opts, cocoimg_error **err);
void cocoimg__registry_free(cocoimg__registry *r);
COCOIMG_DEFINE_CLEANUP(cocoimg__registry, cocoimg__registry_free)
#define _cleanup_registry_ _cleanup_(cocoimg__registry_freep)

const char *cocoimg__registry_host(const cocoimg__registry *r);

/* GET /v2/: checks the registry speaks v2 and learns its auth scheme. */
int cocoimg__registry_ping(cocoimg__registry *r, cocoimg_error **err);

/* A fetched manifest or index. */
typedef struct cocoimg__registry_manifest {
    uint8_t *data;          /* NULL for HEAD */
    size_t len;             /* body length (GET) or Content-Length (HEAD) */
    char *media_type;       /* Content-Type without parameters; NULL if none */
    cocoimg__digest digest; /* of the bytes (GET), else Docker-Content-Digest */
} cocoimg__registry_manifest;

void cocoimg__registry_manifest_free(cocoimg__registry_manifest *m);
COCOIMG_DEFINE_CLEANUP(cocoimg__registry_manifest, cocoimg__registry_manifest_free)

/*
 * GET a manifest by tag or digest ("sha256:..."), accepting OCI manifest
 * and index and Docker schema2 manifest and list.  Fetched by digest, the
 * bytes must match it (COCOIMG_EDIGEST).  Bodies over
 * COCOIMG_REGISTRY_MANIFEST_MAX fail with COCOIMG_ELIMIT.
 */
/*
 * The tags of @p repo (GET /v2/REPO/tags/list) as a JSON array of strings,
 * in the registry's order (docker-registry sorts them).
 */
int cocoimg__registry_list_tags(json_t **out, cocoimg__registry *r, const char *repo,
                                cocoimg_error **err);

/*
 * Did the registry's /v2/ answer carry X-Registry-Supports-Signatures: 1
 * (pings first if needed)?  Then simple signatures are read with
 * cocoimg__registry_get_signatures(): GET /extensions/v2/REPO/signatures/
 * DIGEST, the JSON {"signatures": [{version, type, name, content}]}
 * (at most 4 MiB).  A status other than 200 is an error.
 */
int cocoimg__registry_supports_signatures(bool *out, cocoimg__registry *r, cocoimg_error **err);
int cocoimg__registry_get_signatures(json_t **out, cocoimg__registry *r, const char *repo,
                                     const cocoimg__digest *digest, cocoimg_error **err);

/*
 * GET /v2/REPO/referrers/DIGEST[?artifactType=T] (OCI distribution 1.1):
 * *out is the referrers image index (an object with a "manifests" array,
 * at most COCOIMG_REGISTRY_MANIFEST_MAX bytes), or NULL when the registry
 * answers 404 (no referrers API: use the tag schema "ALG-HEX").
 */
int cocoimg__registry_get_referrers(json_t **out, cocoimg__registry *r, const char *repo,
                                    const cocoimg__digest *digest, const char *artifact_type,
                                    cocoimg_error **err);

int cocoimg__registry_get_manifest(cocoimg__registry_manifest **out, cocoimg__registry *r,
                                   const char *repo, const char *ref, cocoimg_error **err);
/* HEAD a manifest: media type, digest (Docker-Content-Digest) and size; no body. */
int cocoimg__registry_head_manifest(cocoimg__registry_manifest **out, cocoimg__registry *r,
                                    const char *repo, const char *ref, cocoimg_error **err);
/*
 * PUT a manifest under @p ref (a tag, or its digest).  *digest_out (may be
 * NULL) gets the digest of @p data.
 */
int cocoimg__registry_put_manifest(cocoimg__registry *r, const char *repo, const char *ref,
                                   const void *data, size_t len, const char *media_type,
                                   cocoimg__digest *digest_out, cocoimg_error **err);

/*
 * Stream a blob.  The reader pulls the bytes from the network as it is read
 * (bounded buffer, never the whole blob), follows redirects, resumes an
 * interrupted download with a Range request (bounded number of times) and
 * verifies digest and @p size (< 0: unknown) over all bytes: the final read
 * returns 0 only when they match, else COCOIMG_EDIGEST.  HTTP errors
 * (404, 401, ...) are reported by this call, not by the first read.
 */
int cocoimg__registry_get_blob(cocoimg__reader **out, cocoimg__registry *r, const char *repo,
                               const cocoimg__digest *digest, int64_t size, cocoimg_error **err);
/* HEAD a blob: *exists (and *size_out, may be NULL) on 200, false on 404. */
int cocoimg__registry_blob_exists(bool *exists, int64_t *size_out, cocoimg__registry *r,
                                  const char *repo, const cocoimg__digest *digest,
                                  cocoimg_error **err);

typedef enum {
    COCOIMG_PUSH_UPLOADED = 0, /* the bytes were sent */
    COCOIMG_PUSH_EXISTED = 1,  /* the registry already had the blob */
    COCOIMG_PUSH_MOUNTED = 2,  /* mounted from another repository */
} cocoimg__push_result;

/*
 * Push a blob read from @p src (owned: freed by this call).  Skips the
 * upload if the registry has the blob (HEAD), tries a cross-repository
 * mount when @p mount_from is not NULL, then uploads: one monolithic PUT
 * when size <= chunk_size, else PATCH chunks and a final PUT.  The stream
 * is checked against @p digest and @p size (COCOIMG_EDIGEST) while it is
 * sent.  *result (may be NULL) says what happened.
 */
int cocoimg__registry_push_blob(cocoimg__push_result *result, cocoimg__registry *r,
                                const char *repo, cocoimg__reader *src,
                                const cocoimg__digest *digest, int64_t size, const char *mount_from,
                                cocoimg_error **err);

/*
 * Push a blob whose digest and size are known only at its end (@p src,
 * owned: freed by this call, e.g. a layer being encrypted): POST opens an
 * upload session, PATCH requests stream the bytes in pieces of at most
 * chunk_size, sent without a length (chunked transfer encoding), each to
 * the Location of the previous answer, while they are hashed with @p alg;
 * when @p src has ended (with its verdict: a failing verifying stage fails
 * the push) a PUT ?digest= with an empty body commits the blob.  Memory
 * stays bounded: no chunk is buffered.  On failure the upload session is
 * cancelled (DELETE, best effort) and nothing was committed.  *digest_out
 * and *size_out (may be NULL) get what was pushed; *result (may be NULL)
 * is COCOIMG_PUSH_UPLOADED.
 */
int cocoimg__registry_push_blob_stream(cocoimg__push_result *result, cocoimg__registry *r,
                                       const char *repo, cocoimg__reader *src,
                                       cocoimg__digest_alg alg, cocoimg__digest *digest_out,
                                       int64_t *size_out, cocoimg_error **err);

/*
 * Cross-repository mount (POST ?mount=DIGEST&from=FROM): *mounted is true
 * when the registry linked the blob of @p from into @p repo (201).  When it
 * does not (202: it opened an upload session instead, which is cancelled)
 * *mounted is false and this still succeeds.
 */
int cocoimg__registry_mount_blob(bool *mounted, cocoimg__registry *r, const char *repo,
                                 const cocoimg__digest *digest, const char *from,
                                 cocoimg_error **err);

/* --- auth (auth.c), exposed for the unit tests --- */

/* A parsed WWW-Authenticate challenge. */
typedef enum {
    COCOIMG_AUTH_NONE = 0,
    COCOIMG_AUTH_BASIC = 1,
    COCOIMG_AUTH_BEARER = 2,
} cocoimg__auth_scheme;

typedef struct cocoimg__auth_challenge {
    cocoimg__auth_scheme scheme;
    char *realm;   /* NULL if absent */
    char *service; /* NULL if absent */
    char *scope;   /* NULL if absent */
    char *error;   /* error="insufficient_scope" etc., NULL if absent */
} cocoimg__auth_challenge;

/*
 * Parse a WWW-Authenticate header value (RFC 7235: scheme then
 * comma-separated auth-params, quoted-string values with backslash escapes,
 * case-insensitive names).  When several challenges are present Bearer is
 * preferred over Basic.  Unknown schemes give COCOIMG_ENOTSUP, malformed
 * input COCOIMG_EFORMAT.  Bearer without realm is malformed.
 */
int cocoimg__auth_challenge_parse(cocoimg__auth_challenge *out, const char *value,
                                  cocoimg_error **err);
void cocoimg__auth_challenge_clear(cocoimg__auth_challenge *c);

/*
 * Check a URL a registry told the client to use (a Bearer realm, an upload
 * Location): its scheme must be https, or http when @p insecure.  Fails
 * with COCOIMG_EHTTP otherwise (or COCOIMG_EFORMAT when it does not parse).
 * *same_host is true when the URL's host and port are those of the
 * registry @p reg_host reached over @p reg_scheme (default ports per
 * scheme); only then may the registry's own credentials go there over
 * plain HTTP.  *https (may be NULL): the URL is https (as curl parses it).
 */
int cocoimg__url_check(bool *same_host, bool *https, const char *url, const char *reg_host,
                       const char *reg_scheme, bool insecure, const char *what,
                       cocoimg_error **err);

/*
 * May the Basic credentials of the registry be sent to the token @p realm?
 * Fails (cocoimg__url_check()) for a realm a verified registry must not use;
 * *send is true for an https realm and for a plain-http realm on the
 * (insecure) registry's own host and port, false for any other.
 */
/*
 * A Bearer token may go into an Authorization header: non-empty, at most
 * 64 KiB, only the characters of RFC 6750's b64token (A-Z a-z 0-9 - . _ ~
 * + / and trailing '=').  Control characters (CR/LF: header injection),
 * spaces and anything else make it unusable.
 */
bool cocoimg__auth_token_ok(const char *tok, size_t len);

/*
 * An upload Location, already resolved to an absolute URL: refused as by
 * cocoimg__url_check(), and also when it is plain http while the registry
 * is reached over https (a downgrade, even for an insecure registry).
 * *same_host: the Location is on the registry's own host and port (only
 * then does it get the Authorization header).
 */
int cocoimg__location_check(bool *same_host, const char *url, const char *reg_host,
                            const char *reg_scheme, bool insecure, cocoimg_error **err);

int cocoimg__auth_realm_check(bool *send, const char *realm, const char *reg_host,
                              const char *reg_scheme, bool insecure, cocoimg_error **err);

/*
 * Look up @p host (and, more specific, "host/repo" prefixes when @p repo
 * is not NULL) in a containers auth.json / docker config.json document.
 * As docker does, a "credHelpers" entry for @p host (keys compared like the
 * "auths" keys, without repository) wins, then "credsStore"; the helper
 * named is asked (cocoimg__credhelper_get(); for docker.io with the server
 * "https://index.docker.io/v1/") and its answer is the result, "auths" is
 * not consulted then.
 * Keys may carry a scheme and path ("https://index.docker.io/v1/"); for
 * docker.io the legacy index keys match too.  *found is false when there is
 * no entry.  The password is returned in a secret.  A malformed entry fails
 * with COCOIMG_EFORMAT naming @p what.
 */
int cocoimg__authfile_lookup(bool *found, char **user_out, cocoimg__secret **pass_out,
                             const void *buf, size_t len, const char *host, const char *repo,
                             const char *what, cocoimg_error **err);
/*
 * Credentials for @p host from @p authfile (only that file), or from the
 * default locations in order: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json; then
 * $XDG_CONFIG_HOME (~/.config)/containers/auth.json, ~/.docker/config.json.
 * The first file with an entry wins; missing files are skipped (a missing
 * explicit @p authfile is COCOIMG_ENOTFOUND).  An explicit @p authfile may be
 * a kbs:// resource, fetched through @p ctx's KBS.
 */
int cocoimg__authfile_find(bool *found, char **user_out, cocoimg__secret **pass_out,
                           const cocoimg_context *ctx, const char *authfile, const char *host,
                           cocoimg_error **err);

/* A credential helper gets this long to answer (ms), and may print this much. */
#define CREDHELPER_TIMEOUT_MS 30000
#define CREDHELPER_OUTPUT_MAX (64u * 1024)

/*
 * Ask the docker credential helper "docker-credential-@p helper" (found in
 * $PATH; relative and empty entries skipped) for the credentials of
 * @p server, as docker and containers/image do: "get" with @p server on
 * its stdin, {"ServerURL","Username","Secret"} JSON on its stdout.  It runs
 * without a shell, with a filtered environment (PATH, HOME, USER, XDG_*,
 * DBUS/DISPLAY, GnuPG/pass, AWS_*, GOOGLE_*, CLOUDSDK_*, AZURE_*), stdin a
 * socket, stderr /dev/null.  *found is false when it exits non-zero saying
 * "credentials not found" or answers empty credentials.  Errors: an invalid
 * name COCOIMG_EINVAL, not in $PATH COCOIMG_ENOTFOUND, more than
 * @p timeout_ms (0: CREDHELPER_TIMEOUT_MS; it is killed) or more than
 * CREDHELPER_OUTPUT_MAX bytes COCOIMG_ELIMIT, other failures COCOIMG_ERROR
 * (exit status and the first line of its output), output that is not the
 * JSON above COCOIMG_EFORMAT (never quoting it), an identity token
 * (Username "<token>") COCOIMG_ENOTSUP.  The secret is returned in a
 * secret buffer; every copy of the output is wiped.
 */
/*
 * The output of "docker-credential-NAME get" (exit status 0): a JSON object
 * with Username and Secret strings.  Empty credentials: *found false.
 * Identity tokens ("<token>") give COCOIMG_ENOTSUP; anything else
 * malformed COCOIMG_EFORMAT, without quoting the output.  Exposed for the
 * fuzz target; the caller wipes @p buf.
 */
int cocoimg__credhelper_parse(bool *found, char **user_out, cocoimg__secret **pass_out,
                              const uint8_t *buf, size_t len, const char *prog, const char *server,
                              cocoimg_error **err);
int cocoimg__credhelper_get(bool *found, char **user_out, cocoimg__secret **pass_out,
                            const char *helper, const char *server, unsigned int timeout_ms,
                            cocoimg_error **err);

/* TLS material of a registry (certs.d layout). */
typedef struct cocoimg__tls_files {
    size_t n_ca;
    char **ca;         /* *.crt, sorted */
    char *client_cert; /* *.cert, NULL if none */
    char *client_key;  /* the matching *.key */
} cocoimg__tls_files;

/*
 * Collect the TLS files of @p dir (missing dir: nothing, no error).  A
 * *.cert without its *.key or the reverse fails with COCOIMG_EINVAL.
 * Appends to @p tf (so several directories can be merged).
 */
int cocoimg__tls_files_collect(cocoimg__tls_files *tf, const char *dir, cocoimg_error **err);
/*
 * The directories to search for @p host: @p cert_dir alone when set, else
 * "<root>/<host>" for each root of the NULL-terminated @p roots.  Returns a
 * NULL-terminated malloc'd array of malloc'd strings.
 */
int cocoimg__tls_dirs(char ***out, const char *host, const char *cert_dir, const char *const *roots,
                      cocoimg_error **err);
/*
 * The TLS material of @p host: the files of @p cert_dir, or when NULL of
 * its certs.d directories ($HOME/.config/containers/certs.d/HOST,
 * /etc/containers/certs.d/HOST, /etc/docker/certs.d/HOST), collected into
 * @p tf; when they hold CAs, *bundle_out (malloc'd, *bundle_len bytes) is
 * the CA bundle for curl: the system bundle followed by those CAs.  It is
 * NULL when there are none (curl's default then).
 */
int cocoimg__tls_load(cocoimg__tls_files *tf, uint8_t **bundle_out, size_t *bundle_len,
                      const char *host, const char *cert_dir, cocoimg_error **err);
void cocoimg__tls_files_clear(cocoimg__tls_files *tf);
void cocoimg__strv_free(char **v);

#endif
