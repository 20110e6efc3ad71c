/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry client: the client object, requests with retries and
 * re-authentication on 401, error mapping, and the manifest operations.
 * Credentials and tokens are in auth.c, TLS material in tls.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci/model.h"
#include "registry/registry_int.h"
#include "util/json.h"

#define DEFAULT_RETRIES 3
#define DEFAULT_BACKOFF_MS 500
#define MAX_BACKOFF_MS 10000
#define DEFAULT_CHUNK (64u * 1024 * 1024)
#define DEFAULT_STALL_S 30

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)h;
    (void)access;
    cocoimg__registry *r = userptr;
    pthread_mutex_lock(&r->share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
    (void)h;
    cocoimg__registry *r = userptr;
    pthread_mutex_unlock(&r->share_locks[data]);
}

void
cocoimg__registry_free(cocoimg__registry *r)
{
    if (!r)
        return;
    if (r->share)
        curl_share_cleanup(r->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&r->share_locks[i]);
    pthread_mutex_destroy(&r->lock);
    cocoimg__auth_tokens_clear(r);
    cocoimg__auth_challenge_clear(&r->chal);
    cocoimg__tls_files_clear(&r->tls);
    free(r->ca_blob);
    free(r->host);
    free(r->username);
    free(r->cred_from);
    free(r->authfile);
    cocoimg__secret_free(r->password);
    free(r);
}

const char *
cocoimg__registry_host(const cocoimg__registry *r)
{
    return r->host;
}

int
cocoimg__registry_new(cocoimg__registry **out, const cocoimg_context *ctx, const char *host,
                      const struct cocoimg__registry_options *opts, cocoimg_error **err)
{
    static const struct cocoimg__registry_options defaults = {0};
    if (!opts)
        opts = &defaults;
    if (!host || !*host || strpbrk(host, "/ \t\r\n@?#"))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid registry host '%s'",
                                  host ? host : "");
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return cocoimg__error_set(err, COCOIMG_ENET, 0, "curl init: %s",
                                  curl_easy_strerror(curl_init_rc));

    _cleanup_registry_ cocoimg__registry *r = calloc(1, sizeof(*r));
    if (!r)
        return cocoimg__error_oom(err);
    pthread_mutex_init(&r->lock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&r->share_locks[i], NULL);
    r->ctx = ctx;
    r->insecure = opts->insecure;
    r->retries = opts->retries < 0 ? 0 : opts->retries ? opts->retries : DEFAULT_RETRIES;
    r->backoff_ms = opts->backoff_ms ? opts->backoff_ms : DEFAULT_BACKOFF_MS;
    r->chunk_size = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK;
    r->stall_s = opts->stall_timeout_s ? opts->stall_timeout_s : DEFAULT_STALL_S;
    if (!(r->host = strdup(host)))
        return cocoimg__error_oom(err);

    int rc;
    if (opts->username) {
        const char *pw = opts->password ? opts->password : "";
        if (!*opts->username)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "empty user name in credentials");
        if (!(r->username = strdup(opts->username)))
            return cocoimg__error_oom(err);
        rc = cocoimg__secret_new(&r->password, strlen(pw) + 1, err);
        if (rc < 0)
            return rc;
        memcpy(r->password->ptr, pw, strlen(pw));
        r->password->len = strlen(pw);
        if (!(r->cred_from = strdup("the credentials given (--creds)")))
            return cocoimg__error_oom(err);
    } else {
        bool found = false;
        rc = cocoimg__authfile_find(&found, &r->username, &r->password, ctx, opts->authfile, host,
                                    err);
        if (rc < 0)
            return rc;
        if (opts->authfile && !(r->authfile = strdup(opts->authfile)))
            return cocoimg__error_oom(err);
        if (found && asprintf(&r->cred_from, "authfile %s",
                              opts->authfile ? opts->authfile : "(a default location)") < 0) {
            r->cred_from = NULL;
            return cocoimg__error_oom(err);
        }
    }

    rc = cocoimg__tls_load(&r->tls, &r->ca_blob, &r->ca_blob_len, host, opts->cert_dir, err);
    if (rc < 0)
        return cocoimg__error_wrap(err, rc, "registry '%s'", host);

    r->share = curl_share_init();
    if (!r->share)
        return cocoimg__error_oom(err);
    curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = TAKE_PTR(r);
    return 0;
}

/* --- requests --- */

static void
sleep_ms(unsigned int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static unsigned int
backoff(const cocoimg__registry *r, int attempt, int64_t retry_after)
{
    uint64_t ms = (uint64_t)r->backoff_ms << (attempt < 16 ? attempt : 16);
    if (retry_after > 0 && (uint64_t)retry_after * 1000 > ms)
        ms = (uint64_t)retry_after * 1000;
    return ms > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : (unsigned int)ms;
}

/* The URL without its query (which may carry upload state): for messages. */
static void
log_request(const cocoimg__registry *r, const char *method, const char *url, long status)
{
    size_t n = strcspn(url, "?");
    cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG, "%s %.*s -> %ld", method, (int)n, url, status);
}

/*
 * Describe a failed response: registry and repository, status, and the
 * first error of the registry's JSON error body.
 */
int
cocoimg__registry_status_error(const cocoimg__registry *r, const char *repo, const char *what,
                               const struct cocoimg__xfer *x, cocoimg_error **err)
{
    const char *code = NULL, *msg = NULL;
    _cleanup_json_ json_t *j = NULL;
    if (x->ebody_len) {
        json_error_t je;
        j = json_loadb((const char *)x->ebody, x->ebody_len, 0, &je);
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        code = json_string_value(json_object_get(e0, "code"));
        msg = json_string_value(json_object_get(e0, "message"));
    }
    char where[512];
    if (repo)
        snprintf(where, sizeof(where), "registry '%s': repository '%s'", r->host, repo);
    else
        snprintf(where, sizeof(where), "registry '%s'", r->host);
    char detail[300] = "";
    if (code || msg)
        snprintf(detail, sizeof(detail), " (%s%s%.200s)", code ? code : "", code && msg ? ": " : "",
                 msg ? msg : "");
    bool unknown = code && (strcmp(code, "MANIFEST_UNKNOWN") == 0 ||
                            strcmp(code, "BLOB_UNKNOWN") == 0 || strcmp(code, "NAME_UNKNOWN") == 0);
    if (x->status == 404 || unknown)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "%s: %s not found%s", where, what,
                                  detail);
    if (x->status == 401 && r->cred_from)
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                  "%s: %s: 401 Unauthorized: the registry rejected %s%s", where,
                                  what, r->cred_from, detail);
    if (x->status == 401 && r->authfile)
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                  "%s: %s: 401 Unauthorized: authfile %s has no credentials for "
                                  "%s: add them, or pass --creds%s",
                                  where, what, r->authfile, r->host, detail);
    if (x->status == 401)
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                  "%s: %s: 401 Unauthorized: no credentials for %s found in "
                                  "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
                                  "~/.config/containers/auth.json or ~/.docker/config.json: pass "
                                  "--creds or --authfile%s",
                                  where, what, r->host, detail);
    if (x->status == 403)
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0, "%s: %s: 403 Forbidden: access denied%s",
                                  where, what, detail);
    return cocoimg__error_set(err, COCOIMG_EHTTP, 0, "%s: %s: unexpected HTTP status %ld%s", where,
                              what, x->status, detail);
}

int
cocoimg__registry_net_error(const cocoimg__registry *r, const char *what,
                            const struct cocoimg__xfer *x, cocoimg_error **err)
{
    if (x->up_rc < 0) {
        int rc = x->up_rc;
        if (err && !*err) {
            *err = x->up_err;
            ((struct cocoimg__xfer *)x)->up_err = NULL;
        }
        return cocoimg__error_wrap(err, rc, "registry '%s': %s", r->host, what);
    }
    if (x->body_overflow)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "registry '%s': %s: response larger than %zu bytes", r->host,
                                  what, x->body_max);
    if (x->stalled)
        return cocoimg__error_set(err, COCOIMG_ENET, 0,
                                  "registry '%s': %s: stalled: no data for %u s", r->host, what,
                                  r->stall_s);
    return cocoimg__error_set(err, COCOIMG_ENET, 0, "registry '%s': %s: %s", r->host, what,
                              cocoimg__xfer_curl_error(x));
}

int
cocoimg__registry_run(struct cocoimg__xfer **out, cocoimg__registry *r,
                      const struct cocoimg__xfer_spec *sp, const char *what, cocoimg_error **err)
{
    bool replayable = sp->up_reader == NULL;
    for (int attempt = 0;; attempt++) {
        struct cocoimg__xfer *x = NULL;
        int rc = cocoimg__xfer_new(&x, r, sp, err);
        if (rc < 0)
            return rc;
        rc = cocoimg__xfer_run(x, sp->stream, err);
        if (rc < 0) {
            cocoimg__xfer_free(x);
            return rc;
        }
        bool failed = x->done && x->result != CURLE_OK;
        /* a streamed body that already started is resumed by its reader */
        if (failed && sp->stream && x->hdr_done && x->status / 100 == 2 && x->body_seen)
            failed = false;
        if (failed || x->hdr_done)
            log_request(r, sp->method, sp->url, failed ? 0 : x->status);
        bool can_retry = replayable && attempt < r->retries;
        if (failed) {
            if (can_retry && x->up_rc == 0 && !x->body_overflow &&
                cocoimg__curl_retryable(x->result)) {
                cocoimg__log(r->ctx, COCOIMG_LOG_INFO, "registry '%s': %s: %s, retrying", r->host,
                             what, cocoimg__xfer_curl_error(x));
                cocoimg__xfer_free(x);
                sleep_ms(backoff(r, attempt, 0));
                continue;
            }
            rc = cocoimg__registry_net_error(r, what, x, err);
            cocoimg__xfer_free(x);
            return rc;
        }
        if (can_retry && (x->status >= 500 || x->status == 429)) {
            /* the body of the failed answer must arrive before we reuse the connection */
            if (!x->done)
                cocoimg__xfer_run(x, false, NULL);
            cocoimg__log(r->ctx, COCOIMG_LOG_INFO, "registry '%s': %s: HTTP %ld, retrying", r->host,
                         what, x->status);
            unsigned int ms = backoff(r, attempt, x->retry_after);
            cocoimg__xfer_free(x);
            sleep_ms(ms);
            continue;
        }
        if (!x->done && (x->status < 200 || x->status >= 300))
            cocoimg__xfer_run(x, false, NULL); /* collect the error body */
        *out = x;
        return 0;
    }
}

/* GET /v2/: pick the scheme and learn the auth challenge. */
static int
do_ping(cocoimg__registry *r, cocoimg_error **err)
{
    const char *schemes[2] = {"https", "http"};
    size_t ns = r->insecure ? 2 : 1;
    for (size_t i = 0; i < ns; i++) {
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s://%s/v2/", schemes[i], r->host) < 0) {
            url = NULL;
            return cocoimg__error_oom(err);
        }
        struct cocoimg__xfer_spec sp = {.method = "GET", .url = url, .max_body = 0, .follow = true};
        _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
        cocoimg_error *e = NULL;
        int rc = cocoimg__registry_run(&x, r, &sp, "ping", &e);
        if (rc < 0) {
            if (i + 1 < ns && rc == COCOIMG_ENET) {
                cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG,
                             "registry '%s': https failed, trying plain http", r->host);
                cocoimg_error_free(e);
                continue;
            }
            if (err && !*err)
                *err = e;
            else
                cocoimg_error_free(e);
            return rc;
        }
        cocoimg__auth_challenge ch = {0};
        if (x->status == 401) {
            if (!x->www_auth)
                return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                          "registry '%s': 401 without WWW-Authenticate", r->host);
            rc = cocoimg__auth_challenge_parse(&ch, x->www_auth, err);
            if (rc < 0)
                return cocoimg__error_wrap(err, rc, "registry '%s'", r->host);
        } else if (x->status != 200) {
            return cocoimg__registry_status_error(r, NULL, "ping '/v2/'", x, err);
        }
        pthread_mutex_lock(&r->lock);
        r->scheme = schemes[i];
        cocoimg__auth_challenge_clear(&r->chal);
        r->chal = ch;
        r->supports_signatures = x->supports_signatures;
        r->pinged = true;
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    return 0; /* not reached */
}

int
cocoimg__registry_ping(cocoimg__registry *r, cocoimg_error **err)
{
    return do_ping(r, err);
}

static int
base_url(char **out, cocoimg__registry *r, const char *path, cocoimg_error **err)
{
    pthread_mutex_lock(&r->lock);
    bool pinged = r->pinged;
    pthread_mutex_unlock(&r->lock);
    if (!pinged) {
        int rc = do_ping(r, err);
        if (rc < 0)
            return rc;
    }
    if (asprintf(out, "%s://%s%s", r->scheme, r->host, path) < 0) {
        *out = NULL;
        return cocoimg__error_oom(err);
    }
    return 0;
}

int
cocoimg__registry_request(struct cocoimg__xfer **out, cocoimg__registry *r,
                          struct cocoimg__xfer_spec *sp, const char *repo, const char *scope,
                          const char *what, cocoimg_error **err)
{
    bool replayable = sp->up_reader == NULL;
    /* the registry's credentials go to its own host:port only (an upload
     * Location may point elsewhere) */
    pthread_mutex_lock(&r->lock);
    const char *scheme = r->scheme;
    pthread_mutex_unlock(&r->lock);
    bool own_host = false;
    int crc =
        cocoimg__url_check(&own_host, NULL, sp->url, r->host, scheme, r->insecure, "request", err);
    if (crc < 0)
        return crc;
    for (int pass = 0; pass < 2; pass++) {
        char *auth = NULL;
        int rc = own_host ? cocoimg__auth_header(&auth, r, scope, repo, err) : 0;
        if (rc < 0)
            return rc;
        sp->auth_header = auth;
        struct cocoimg__xfer *x = NULL;
        rc = cocoimg__registry_run(&x, r, sp, what, err);
        sp->auth_header = NULL;
        if (auth)
            cocoimg__free_wipe_str(auth);
        if (rc < 0)
            return rc;
        if (x->status == 401 && pass == 0 && replayable && x->www_auth) {
            /* token expired or revoked, or the registry changed its mind:
             * learn the new challenge, drop the token and try once more */
            cocoimg__auth_challenge ch = {0};
            if (cocoimg__auth_challenge_parse(&ch, x->www_auth, NULL) == 0) {
                bool retry = ch.scheme == COCOIMG_AUTH_BEARER ||
                             (r->username && r->chal.scheme != COCOIMG_AUTH_BASIC);
                pthread_mutex_lock(&r->lock);
                if (scope)
                    cocoimg__auth_token_drop(r, scope);
                cocoimg__auth_challenge_clear(&r->chal);
                r->chal = ch;
                pthread_mutex_unlock(&r->lock);
                if (retry) {
                    cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG,
                                 "registry '%s': 401, renewing credentials", r->host);
                    cocoimg__xfer_free(x);
                    continue;
                }
            }
        }
        *out = x;
        return 0;
    }
    return cocoimg__error_set(err, COCOIMG_ERROR, 0, "unreachable");
}

int
cocoimg__registry_scope(char **out, const char *repo, bool push, const char *mount_from,
                        cocoimg_error **err)
{
    int n = mount_from
                ? asprintf(out, "repository:%s:pull,push repository:%s:pull", repo, mount_from)
                : asprintf(out, "repository:%s:%s", repo, push ? "pull,push" : "pull");
    if (n < 0) {
        *out = NULL;
        return cocoimg__error_oom(err);
    }
    return 0;
}

int
cocoimg__registry_check_repo(const char *repo, cocoimg_error **err)
{
    /* distribution's path component grammar, loosely: enough to keep URLs sane */
    if (!repo || !*repo || repo[0] == '/' || repo[strlen(repo) - 1] == '/' || strstr(repo, "//") ||
        strstr(repo, ".."))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid repository name '%s'",
                                  repo ? repo : "");
    for (const char *p = repo; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid repository name '%s'", repo);
    return 0;
}

int
cocoimg__registry_url(char **out, cocoimg__registry *r, const char *repo, const char *kind,
                      const char *ref, cocoimg_error **err)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/v2/%s/%s/%s", repo, kind, ref) < 0) {
        path = NULL;
        return cocoimg__error_oom(err);
    }
    return base_url(out, r, path, err);
}

/* --- tags --- */

/* Response cap for a tag list (a few 100k tags). */
#define TAG_LIST_MAX (4u * 1024 * 1024)

int
cocoimg__registry_list_tags(json_t **out, cocoimg__registry *r, const char *repo,
                            cocoimg_error **err)
{
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    _cleanup_free_ char *url = NULL, *scope = NULL;
    if ((rc = cocoimg__registry_url(&url, r, repo, "tags", "list", err)) < 0 ||
        (rc = cocoimg__registry_scope(&scope, repo, false, NULL, err)) < 0)
        return rc;
    struct cocoimg__xfer_spec sp = {
        .method = "GET", .url = url, .max_body = TAG_LIST_MAX, .follow = true};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    if ((rc = cocoimg__registry_request(&x, r, &sp, repo, scope, "tag list", err)) < 0)
        return rc;
    if (x->status != 200)
        return cocoimg__registry_status_error(r, repo, "tag list", x, err);
    if (x->body_overflow)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "registry '%s': repository '%s': tag list over %u bytes", r->host,
                                  repo, TAG_LIST_MAX);
    _cleanup_json_ json_t *j = NULL;
    if ((rc = cocoimg__json_loadb(&j, x->body ? (const char *)x->body : "", x->body_len,
                                  TAG_LIST_MAX, true, "tag list", err)) < 0)
        return rc;
    json_t *tags = json_object_get(j, "tags");
    if (json_is_null(tags) || !tags) {
        *out = json_array();
        return *out ? 0 : cocoimg__error_oom(err);
    }
    size_t i;
    json_t *t;
    if (!json_is_array(tags))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "tag list: 'tags' must be an array");
    json_array_foreach(tags, i, t)
    {
        if (!json_is_string(t))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "tag list: tags must be strings");
    }
    *out = json_incref(tags);
    return 0;
}

/* --- X-Registry-Supports-Signatures (containers-signature(5)) --- */

int
cocoimg__registry_supports_signatures(bool *out, cocoimg__registry *r, cocoimg_error **err)
{
    pthread_mutex_lock(&r->lock);
    bool pinged = r->pinged;
    pthread_mutex_unlock(&r->lock);
    if (!pinged) {
        int rc = do_ping(r, err);
        if (rc < 0)
            return rc;
    }
    pthread_mutex_lock(&r->lock);
    *out = r->supports_signatures;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* the signature list of one manifest: a few signatures of a few KiB */
#define SIG_LIST_MAX (4u * 1024 * 1024)

int
cocoimg__registry_get_signatures(json_t **out, cocoimg__registry *r, const char *repo,
                                 const cocoimg__digest *digest, cocoimg_error **err)
{
    *out = NULL;
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    char dstr[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, dstr);
    _cleanup_free_ char *path = NULL, *url = NULL, *scope = NULL;
    if (asprintf(&path, "/extensions/v2/%s/signatures/%s", repo, dstr) < 0) {
        path = NULL;
        return cocoimg__error_oom(err);
    }
    if ((rc = base_url(&url, r, path, err)) < 0 ||
        (rc = cocoimg__registry_scope(&scope, repo, false, NULL, err)) < 0)
        return rc;
    struct cocoimg__xfer_spec sp = {
        .method = "GET", .url = url, .max_body = SIG_LIST_MAX, .follow = true};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    if ((rc = cocoimg__registry_request(&x, r, &sp, repo, scope, "signature list", err)) < 0)
        return rc;
    if (x->status != 200)
        return cocoimg__registry_status_error(r, repo, "signature list", x, err);
    if (x->body_overflow)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "registry '%s': repository '%s': signature list over %u bytes",
                                  r->host, repo, SIG_LIST_MAX);
    return cocoimg__json_loadb(out, x->body ? (const char *)x->body : "", x->body_len, SIG_LIST_MAX,
                               true, "signature list", err);
}

/* --- referrers (OCI distribution 1.1) --- */

int
cocoimg__registry_get_referrers(json_t **out, cocoimg__registry *r, const char *repo,
                                const cocoimg__digest *digest, const char *artifact_type,
                                cocoimg_error **err)
{
    *out = NULL;
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    char dstr[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, dstr);
    _cleanup_free_ char *url = NULL, *full = NULL, *scope = NULL;
    if ((rc = cocoimg__registry_url(&url, r, repo, "referrers", dstr, err)) < 0 ||
        (rc = cocoimg__registry_scope(&scope, repo, false, NULL, err)) < 0)
        return rc;
    /* artifact types are media types: [A-Za-z0-9.+/-] only, nothing to escape */
    if (artifact_type) {
        for (const char *c = artifact_type; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || strchr(".+/-_", *c)))
                return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                          "referrers: invalid artifact type");
        if (asprintf(&full, "%s?artifactType=%s", url, artifact_type) < 0) {
            full = NULL;
            return cocoimg__error_oom(err);
        }
    }
    static const char *const accept[] = {"Accept: " COCOIMG_MT_OCI_INDEX, NULL};
    struct cocoimg__xfer_spec sp = {.method = "GET",
                                    .url = full ? full : url,
                                    .headers = accept,
                                    .max_body = COCOIMG_REGISTRY_MANIFEST_MAX,
                                    .follow = true};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    if ((rc = cocoimg__registry_request(&x, r, &sp, repo, scope, "referrers", err)) < 0)
        return rc;
    if (x->status == 404)
        return 0; /* no referrers API: the caller falls back to the tag schema */
    if (x->status != 200)
        return cocoimg__registry_status_error(r, repo, "referrers", x, err);
    if (x->body_overflow)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "registry '%s': repository '%s': referrers index over %u bytes",
                                  r->host, repo, COCOIMG_REGISTRY_MANIFEST_MAX);
    _cleanup_json_ json_t *j = NULL;
    if ((rc = cocoimg__json_loadb(&j, x->body ? (const char *)x->body : "", x->body_len,
                                  COCOIMG_REGISTRY_MANIFEST_MAX, true, "referrers index", err)) < 0)
        return rc;
    if (!json_is_object(j) || !json_is_array(json_object_get(j, "manifests")))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "registry '%s': repository '%s': the referrers answer is not an "
                                  "image index",
                                  r->host, repo);
    *out = TAKE_PTR(j);
    return 0;
}

/* --- manifests --- */

static const char *const manifest_accept[] = {
    "Accept: " COCOIMG_MT_OCI_MANIFEST ", " COCOIMG_MT_OCI_INDEX ", " COCOIMG_MT_DOCKER_MANIFEST
    ", " COCOIMG_MT_DOCKER_LIST,
    NULL};

void
cocoimg__registry_manifest_free(cocoimg__registry_manifest *m)
{
    if (!m)
        return;
    free(m->data);
    free(m->media_type);
    free(m);
}

static int
check_ref(const char *ref, bool *is_digest, cocoimg__digest *d, cocoimg_error **err)
{
    *is_digest = strchr(ref, ':') != NULL;
    if (*is_digest)
        return cocoimg__digest_parse(d, ref, err);
    size_t n = strlen(ref);
    if (n == 0 || n > 128)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid tag '%s'", ref);
    for (size_t i = 0; i < n; i++) {
        char c = ref[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (i > 0 && (c == '.' || c == '-'))))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid tag '%s'", ref);
    }
    return 0;
}

static char *
media_type_of(const char *ct)
{
    if (!ct)
        return NULL;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n ? strndup(ct, n) : NULL;
}

static int
manifest_op(cocoimg__registry_manifest **out, cocoimg__registry *r, const char *repo,
            const char *ref, bool head, cocoimg_error **err)
{
    bool by_digest = false;
    cocoimg__digest want;
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    rc = check_ref(ref, &by_digest, &want, err);
    if (rc < 0)
        return rc;
    _cleanup_free_ char *url = NULL, *scope = NULL, *what = NULL;
    if ((rc = cocoimg__registry_url(&url, r, repo, "manifests", ref, err)) < 0 ||
        (rc = cocoimg__registry_scope(&scope, repo, false, NULL, err)) < 0)
        return rc;
    if (asprintf(&what, "manifest '%s'", ref) < 0) {
        what = NULL;
        return cocoimg__error_oom(err);
    }
    struct cocoimg__xfer_spec sp = {.method = head ? "HEAD" : "GET",
                                    .url = url,
                                    .headers = manifest_accept,
                                    .max_body = head ? 0 : COCOIMG_REGISTRY_MANIFEST_MAX,
                                    .follow = true};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
    if (rc < 0)
        return rc;
    if (x->status != 200)
        return cocoimg__registry_status_error(r, repo, what, x, err);

    _cleanup_(cocoimg__registry_manifest_freep) cocoimg__registry_manifest *m =
        calloc(1, sizeof(*m));
    if (!m)
        return cocoimg__error_oom(err);
    m->media_type = media_type_of(x->content_type);
    if (head) {
        m->len = x->content_length > 0 ? (size_t)x->content_length : 0;
        if (by_digest) {
            m->digest = want;
        } else if (!x->docker_digest ||
                   cocoimg__digest_parse(&m->digest, x->docker_digest, NULL) < 0) {
            return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                      "registry '%s': repository '%s': %s: no valid "
                                      "Docker-Content-Digest in HEAD response",
                                      r->host, repo, what);
        }
    } else {
        m->data = TAKE_PTR(x->body);
        m->len = x->body_len;
        if (!m->data && !(m->data = malloc(1)))
            return cocoimg__error_oom(err);
        rc = cocoimg__digest_buffer(&m->digest, by_digest ? want.alg : COCOIMG_DIGEST_SHA256,
                                    m->data, m->len, err);
        if (rc < 0)
            return rc;
        if (by_digest && !cocoimg__digest_equal(&m->digest, &want))
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "registry '%s': repository '%s': %s does not match its "
                                      "digest",
                                      r->host, repo, what);
    }
    *out = TAKE_PTR(m);
    return 0;
}

int
cocoimg__registry_get_manifest(cocoimg__registry_manifest **out, cocoimg__registry *r,
                               const char *repo, const char *ref, cocoimg_error **err)
{
    return manifest_op(out, r, repo, ref, false, err);
}

int
cocoimg__registry_head_manifest(cocoimg__registry_manifest **out, cocoimg__registry *r,
                                const char *repo, const char *ref, cocoimg_error **err)
{
    return manifest_op(out, r, repo, ref, true, err);
}

int
cocoimg__registry_put_manifest(cocoimg__registry *r, const char *repo, const char *ref,
                               const void *data, size_t len, const char *media_type,
                               cocoimg__digest *digest_out, cocoimg_error **err)
{
    bool by_digest = false;
    cocoimg__digest want, got;
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0 || (rc = check_ref(ref, &by_digest, &want, err)) < 0)
        return rc;
    if (len > COCOIMG_REGISTRY_MANIFEST_MAX)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "manifest of %zu bytes is too large",
                                  len);
    if (!media_type || !*media_type || strpbrk(media_type, "\r\n"))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "invalid manifest media type");
    rc = cocoimg__digest_buffer(&got, by_digest ? want.alg : COCOIMG_DIGEST_SHA256, data, len, err);
    if (rc < 0)
        return rc;
    if (by_digest && !cocoimg__digest_equal(&got, &want))
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "manifest does not match the digest '%s' it is pushed as", ref);
    _cleanup_free_ char *url = NULL, *scope = NULL, *what = NULL, *ct = NULL;
    if ((rc = cocoimg__registry_url(&url, r, repo, "manifests", ref, err)) < 0 ||
        (rc = cocoimg__registry_scope(&scope, repo, true, NULL, err)) < 0)
        return rc;
    if (asprintf(&what, "manifest '%s'", ref) < 0 ||
        asprintf(&ct, "Content-Type: %s", media_type) < 0)
        return cocoimg__error_oom(err);
    const char *hdrs[] = {ct, NULL};
    struct cocoimg__xfer_spec sp = {
        .method = "PUT", .url = url, .headers = hdrs, .body = data, .body_len = len, .max_body = 0};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
    if (rc < 0)
        return rc;
    if (x->status != 201 && x->status != 200)
        return cocoimg__registry_status_error(r, repo, what, x, err);
    if (digest_out)
        *digest_out = got;
    return 0;
}
