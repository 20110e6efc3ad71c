/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KBS client (public API in include/cocoimg/kbs.h): the RCAR handshake
 * of protocol 0.4.0 and resource fetching (spec 1.1-1.8).
 *
 * State of a client: an ephemeral P-256 TEE key (new for every handshake),
 * the kbs-session-id cookie with its expiry, and the attestation token with
 * its exp.  A resource request goes out with the cookie while it is valid,
 * then with the token as Bearer (trustee's passport mode), so one handshake
 * serves every resource until the token expires.  The KBS's 401 is
 * inspected: only session and token errors lead to a new handshake (at
 * most one per call), a policy refusal fails at once (upstream clients
 * attest three times for it).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "attester.h"
#include "kbs_int.h"
#include "util/context.h"

/* Upstream: handshake up to 5 attempts, resource up to 3 (spec 1.8, R4). */
#define HANDSHAKE_ATTEMPTS 5
#define RESOURCE_ATTEMPTS 3
#define REQUEST_TIMEOUT_MS 10000
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 4000
/* Renew a little before the KBS would refuse (a quarter of short lives). */
#define TOKEN_MARGIN_S 10
#define SESSION_MARGIN_S 1
/* key-encryption keys kept while the token that released them is valid */
#define KEY_CACHE_MAX 32
#define KEY_CACHE_BYTES 4096

/* Protocol versions whose messages this client builds (spec 1.9). */
static const char *const protocol_versions[] = {COCOIMG_KBS_PROTOCOL_VERSION, NULL};

struct cocoimg_kbs {
    const cocoimg_context *ctx;
    char *url;
    const char *version;
    const cocoimg__attester *attester;
    const char *attester_why;
    struct cocoimg__attester_env env;
    cocoimg__kbs_conn *conn;
    /* the handshake's key and what it earned */
    EVP_PKEY *tee_key;
    json_t *tee_jwk;
    char *session; /* kbs-session-id (wiped) */
    time_t session_expires;
    char *token; /* wiped */
    json_t *claims;
    int64_t token_exp;
    int64_t token_margin;
    unsigned int attestations;
    struct cocoimg__initdata init; /* text NULL: none */
    /* KEKs already released under the current token (cocoimg__kbs_get_key) */
    struct {
        char *uri;
        cocoimg__secret *key;
    } keys[KEY_CACHE_MAX];
    size_t n_keys;
};

int
cocoimg_kbs_options_init(cocoimg_kbs_options *opts, unsigned int version)
{
    if (version == 0 || version > COCOIMG_KBS_OPTIONS_VERSION)
        return COCOIMG_EINVAL;
    cocoimg_kbs_options def = COCOIMG_KBS_OPTIONS_INIT;
    *opts = def;
    opts->version = version;
    return 0;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void
drop_session(cocoimg_kbs *k)
{
    cocoimg__free_wipe_str(k->session);
    k->session = NULL;
    k->session_expires = 0;
}

static void
drop_keys(cocoimg_kbs *k)
{
    for (size_t i = 0; i < k->n_keys; i++) {
        free(k->keys[i].uri);
        cocoimg__secret_free(k->keys[i].key);
    }
    k->n_keys = 0;
}

static void
drop_token(cocoimg_kbs *k)
{
    drop_keys(k); /* what the old token released is asked for again */
    cocoimg__free_wipe_str(k->token);
    k->token = NULL;
    json_decref(k->claims);
    k->claims = NULL;
    k->token_exp = 0;
}

void
cocoimg_kbs_free(cocoimg_kbs *k)
{
    if (!k)
        return;
    drop_session(k);
    drop_token(k);
    drop_keys(k);
    EVP_PKEY_free(k->tee_key); /* OpenSSL clears private EC scalars on free */
    json_decref(k->tee_jwk);
    cocoimg__kbs_conn_free(k->conn);
    cocoimg__initdata_clear(&k->init);
    free(k->url);
    free(k);
}

COCOIMG_DEFINE_CLEANUP(cocoimg_kbs, cocoimg_kbs_free)

const char *
cocoimg_kbs_attester_name(const cocoimg_kbs *k)
{
    return k ? k->attester->name : NULL;
}

static int
kbs_fetch(void *payload, const char *uri, uint8_t **out, size_t *len, cocoimg_error **err)
{
    return cocoimg_kbs_get_resource(out, len, payload, uri, err);
}

int
cocoimg_context_set_kbs(cocoimg_context *ctx, cocoimg_kbs *kbs, cocoimg_error **err)
{
    if (!ctx)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no context");
    if (!kbs) {
        cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_FETCH, NULL, NULL);
        return 0;
    }
    struct cocoimg__fetcher *f = calloc(1, sizeof(*f));
    if (!f)
        return cocoimg__error_oom(err);
    f->fetch = kbs_fetch;
    f->payload = kbs;
    cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_FETCH, f, free);
    return 0;
}

const char *
cocoimg_kbs_attester_reason(const cocoimg_kbs *k)
{
    return k ? k->attester_why : NULL;
}

static bool
session_valid(const cocoimg_kbs *k)
{
    return k->session &&
           (k->session_expires == 0 || time(NULL) + SESSION_MARGIN_S < k->session_expires);
}

static bool
token_valid(const cocoimg_kbs *k)
{
    return k->token && (k->token_exp == 0 || (int64_t)time(NULL) + k->token_margin < k->token_exp);
}

/* Keep the session cookie a response set (or removed). */
static void
take_cookie(cocoimg_kbs *k, struct cocoimg__kbs_resp *resp)
{
    if (!resp->cookie_set)
        return;
    drop_session(k);
    k->session = TAKE_PTR(resp->cookie);
    k->session_expires = k->session ? resp->cookie_expires : 0;
}

static int
check_url(char **out, const char *url, bool insecure_http, cocoimg_error **err)
{
    if (!url || !*url)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no KBS URL");
    bool https = strncasecmp(url, "https://", 8) == 0;
    bool http = strncasecmp(url, "http://", 7) == 0;
    _cleanup_free_ char *shown = cocoimg__kbs_printable(url, strlen(url), 200);
    if (!https && !http)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "KBS URL '%s': expected https://HOST[:PORT]",
                                  shown ? shown : "?");
    if (http && !insecure_http)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "KBS URL '%s': plain HTTP refused (the challenge and the token "
                                  "would travel unprotected); use https, or allow it for tests "
                                  "with insecure-http",
                                  shown ? shown : "?");
    const char *host = url + (https ? 8 : 7);
    if (!*host || *host == '/')
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "KBS URL '%s': no host",
                                  shown ? shown : "?");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "KBS URL '%s': no query, fragment or blanks allowed",
                                      shown ? shown : "?");
    char *u = strdup(url);
    if (!u)
        return cocoimg__error_oom(err);
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    *out = u;
    return 0;
}

/*
 * COCOIMG_ATTESTER_ROOT (tests only): a directory that stands for / when
 * attesters look at /sys and /dev, so a fake configfs-tsm can be used.
 */
static int
attester_root(struct cocoimg__attester_env *env, const cocoimg_context *ctx, cocoimg_error **err)
{
    const char *root = secure_getenv("COCOIMG_ATTESTER_ROOT");
    if (!root || !*root)
        return 0;
    struct stat st;
    if (root[0] != '/' || stat(root, &st) < 0 || !S_ISDIR(st.st_mode) || strlen(root) > 1024)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "COCOIMG_ATTESTER_ROOT must be an absolute directory");
    env->root = root;
    cocoimg__log(ctx, COCOIMG_LOG_WARNING,
                 "COCOIMG_ATTESTER_ROOT=%s: attesters read /sys and /dev under it (tests only)",
                 root);
    return 0;
}

int
cocoimg_kbs_new(cocoimg_kbs **out, const cocoimg_context *ctx, const cocoimg_kbs_options *opts,
                cocoimg_error **err)
{
    if (!opts || opts->version == 0 || opts->version > COCOIMG_KBS_OPTIONS_VERSION)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unsupported KBS options version");
    _cleanup_(cocoimg_kbs_freep) cocoimg_kbs *k = calloc(1, sizeof(*k));
    if (!k)
        return cocoimg__error_oom(err);
    k->ctx = ctx;
    k->env.ctx = ctx;
    k->env.root = "";
    int r = check_url(&k->url, opts->url, opts->insecure_http != 0, err);
    if (r < 0)
        return r;
    const char *want =
        opts->protocol_version ? opts->protocol_version : COCOIMG_KBS_PROTOCOL_VERSION;
    for (const char *const *v = protocol_versions; *v && !k->version; v++)
        if (strcmp(*v, want) == 0)
            k->version = *v;
    if (!k->version) {
        _cleanup_free_ char *p = cocoimg__kbs_printable(want, strlen(want), 64);
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "KBS protocol version '%s' not implemented (coco-img speaks %s)",
                                  p ? p : "?", COCOIMG_KBS_PROTOCOL_VERSION);
    }
    if (opts->init_data_file &&
        (r = cocoimg__initdata_load(&k->init, opts->init_data_file, err)) < 0)
        return r;
    if ((r = attester_root(&k->env, ctx, err)) < 0)
        return r;
    if (opts->ca_file) {
        int fd = open(opts->ca_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "KBS CA file '%s'", opts->ca_file);
        close(fd);
    }
    if ((r = cocoimg__attester_select(&k->attester, &k->attester_why, opts->attester, &k->env,
                                      err)) < 0)
        return r;
    if ((r = cocoimg__kbs_conn_new(&k->conn, k->url, opts->ca_file, opts->insecure_http != 0,
                                   err)) < 0)
        return r;
    *out = TAKE_PTR(k);
    return 0;
}

/* --- errors ------------------------------------------------------------------ */

static bool
is_session_error(const char *name)
{
    return name && (strcmp(name, "TokenNotFound") == 0 || strcmp(name, "TokenVerifierError") == 0 ||
                    strcmp(name, "AttestationError") == 0);
}

static int
code_for(long status, const char *name)
{
    if (name) {
        if (strcmp(name, "PolicyDeny") == 0)
            return COCOIMG_EPOLICY;
        if (strcmp(name, "AttestationError") == 0 || strcmp(name, "TokenNotFound") == 0 ||
            strcmp(name, "TokenVerifierError") == 0)
            return COCOIMG_EAUTH;
        if (strcmp(name, "PluginNotFound") == 0)
            return COCOIMG_ENOTFOUND;
    }
    return status == 404 ? COCOIMG_ENOTFOUND : COCOIMG_EHTTP;
}

/*
 * The error for a non-200 answer: HTTP status, trustee's error type and
 * detail (or a printable start of whatever else the body was).
 */
static int
status_error(const cocoimg_kbs *k, const char *what, const struct cocoimg__kbs_resp *resp,
             cocoimg_error **err)
{
    _cleanup_free_ char *name = NULL;
    _cleanup_free_ char *detail = NULL;
    if (resp->len && cocoimg__kbs_error_parse(&name, &detail, resp->body, resp->len, NULL) == 0)
        return cocoimg__error_set(err, code_for(resp->status, name), 0,
                                  "KBS %s: %s: HTTP %ld %s: %s", k->url, what, resp->status, name,
                                  detail);
    _cleanup_free_ char *snip =
        resp->len ? cocoimg__kbs_printable(resp->body, resp->len, 200) : NULL;
    return cocoimg__error_set(err, code_for(resp->status, NULL), 0, "KBS %s: %s: HTTP %ld%s%s",
                              k->url, what, resp->status, snip ? ": " : "", snip ? snip : "");
}

/* A 401 of /auth whose detail is a version error (spec 1.2). */
static int
version_error(const cocoimg_kbs *k, const struct cocoimg__kbs_resp *resp, cocoimg_error **err)
{
    _cleanup_free_ char *name = NULL;
    _cleanup_free_ char *detail = NULL;
    if (!resp->len || cocoimg__kbs_error_parse(&name, &detail, resp->body, resp->len, NULL) < 0)
        return 0;
    if (!strstr(detail, "Protocol Version Mismatch") &&
        !strstr(detail, "failed to parse KBS version"))
        return 0;
    char expect[64] = "";
    const char *e = strstr(detail, "expect ");
    if (e) {
        e += 7;
        size_t n = strcspn(e, " ,;");
        if (n >= sizeof(expect))
            n = sizeof(expect) - 1;
        memcpy(expect, e, n);
        expect[n] = '\0';
    }
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                              "KBS %s: protocol version mismatch: coco-img speaks %s, the KBS "
                              "expects %s (HTTP %ld %s: %s)",
                              k->url, k->version, *expect ? expect : "another version",
                              resp->status, name, detail);
}

/* --- requests with retries ---------------------------------------------------- */

/* Hand @p e to the caller (the first error wins) or free it. */
static void
pass_error(cocoimg_error **err, cocoimg_error *e)
{
    if (err && !*err)
        *err = e;
    else
        cocoimg_error_free(e);
}

static bool
transient_status(long st)
{
    return st == 408 || st == 429 || (st >= 500 && st != 501 && st != 505);
}

/*
 * Send @p req until an answer that is not transient arrives, at most
 * @p attempts times and never past @p deadline (monotonic ms), with
 * exponential backoff and jitter in between.  0 with the final answer in
 * @p resp (which may still be a 5xx after the last attempt); COCOIMG_ENET
 * when the KBS could not be reached.
 */
static int
send_retry(struct cocoimg__kbs_resp *resp, cocoimg_kbs *k, struct cocoimg__kbs_req *req,
           int attempts, int64_t deadline, cocoimg_error **err)
{
    int64_t start = mono_ms();
    for (int attempt = 1;; attempt++) {
        int64_t left = deadline - mono_ms();
        if (left < 100)
            left = 100; /* the first attempt always goes out */
        req->timeout_ms = left < REQUEST_TIMEOUT_MS ? (long)left : REQUEST_TIMEOUT_MS;
        cocoimg__kbs_resp_clear(resp);
        cocoimg_error *e = NULL;
        int r = cocoimg__kbs_conn_send(resp, k->conn, req, &e);
        bool again = r == 0 ? transient_status(resp->status) : resp->retryable;
        if (r == 0)
            take_cookie(k, resp);
        if (!again) {
            if (r < 0) {
                pass_error(err, e);
                return cocoimg__error_wrap(err, r, "KBS %s", k->url);
            }
            return 0;
        }
        long delay = BACKOFF_FIRST_MS << (attempt - 1 < 5 ? attempt - 1 : 5);
        if (delay > BACKOFF_MAX_MS)
            delay = BACKOFF_MAX_MS;
        uint32_t rnd = 0;
        RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
        delay = delay / 2 + (long)(rnd % (uint32_t)(delay / 2 + 1));
        bool last = attempt >= attempts || mono_ms() + delay >= deadline;
        if (last) {
            double secs = (double)(mono_ms() - start) / 1000.0;
            if (r == 0) {
                cocoimg_error_free(e);
                return 0; /* the caller reports the last status */
            }
            pass_error(err, e);
            return cocoimg__error_wrap(err, r, "KBS %s (gave up after %d attempts in %.1f s)",
                                       k->url, attempt, secs);
        }
        if (r == 0)
            cocoimg__log(k->ctx, COCOIMG_LOG_INFO, "KBS %s: %s /kbs/v0/%s: HTTP %ld, retrying",
                         k->url, req->method, req->path, resp->status);
        else
            cocoimg__log(k->ctx, COCOIMG_LOG_INFO, "KBS %s: %s, retrying", k->url,
                         cocoimg_error_message(e));
        cocoimg_error_free(e);
        sleep_ms(delay);
    }
}

/* --- the RCAR handshake (spec 1.2-1.6) -------------------------------------------- */

static int
new_tee_key(cocoimg_kbs *k, cocoimg_error **err)
{
    EVP_PKEY *key = NULL;
    json_t *jwk = NULL;
    int r = cocoimg__tee_key_new(&key, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__tee_key_jwk(&jwk, key, err)) < 0) {
        EVP_PKEY_free(key);
        return r;
    }
    EVP_PKEY_free(k->tee_key);
    json_decref(k->tee_jwk);
    k->tee_key = key;
    k->tee_jwk = jwk;
    return 0;
}

static int
handshake(cocoimg_kbs *k, int64_t deadline, cocoimg_error **err)
{
    drop_session(k);
    drop_token(k);
    /* a fresh ephemeral key per handshake: a token is bound to its key */
    int r = new_tee_key(k, err);
    if (r < 0)
        return r;

    _cleanup_free_ char *request = NULL;
    if ((r = cocoimg__kbs_request_json(&request, k->version, k->attester->tee, err)) < 0)
        return r;
    struct cocoimg__kbs_resp resp = {0};
    struct cocoimg__kbs_req req = {.method = "POST", .path = "auth", .body = request};
    r = send_retry(&resp, k, &req, HANDSHAKE_ATTEMPTS, deadline, err);
    if (r == 0 && resp.status != 200) {
        r = version_error(k, &resp, err);
        if (r == 0)
            r = status_error(k, "POST /kbs/v0/auth", &resp, err);
    }
    struct cocoimg__kbs_challenge chal = {0};
    if (r == 0 && (r = cocoimg__kbs_challenge_parse(&chal, resp.body, resp.len, err)) < 0)
        cocoimg__error_wrap(err, r, "KBS %s", k->url);
    cocoimg__kbs_resp_clear(&resp);
    if (r < 0)
        return r;
    if (!k->session) {
        cocoimg__kbs_challenge_clear(&chal);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "KBS %s: the challenge came without a kbs-session-id cookie",
                                  k->url);
    }

    /* runtime data and evidence bound to it (spec 1.5); no additional
     * devices yet, so additional_evidence is "" */
    const char *additional = "";
    uint8_t rd[COCOIMG__KBS_REPORT_DATA_MAX];
    size_t rd_len = 0;
    _cleanup_json_ json_t *evidence = NULL;
    _cleanup_free_ char *attestation = NULL;
    r = cocoimg__kbs_report_data(rd, &rd_len, chal.hash, chal.nonce, k->tee_jwk, additional, err);
    struct cocoimg__attester_claims hw = {0};
    if (r == 0 && (r = k->attester->evidence(&evidence, &hw, &k->env, rd, rd_len, err)) < 0)
        cocoimg__error_wrap(err, r, "attester %s", k->attester->name);
    /* the TEE must have been launched with this init-data (AA's BindInitData) */
    if (r == 0 && k->init.text && hw.init_data_field)
        r = cocoimg__initdata_check(&k->init, hw.init_data_field, hw.init_data, hw.init_data_len,
                                    err);
    if (r == 0)
        r = cocoimg__kbs_attestation_json(&attestation, chal.nonce, k->tee_jwk, evidence,
                                          additional, k->init.text, err);
    cocoimg__kbs_challenge_clear(&chal);
    if (r < 0)
        return r;

    _cleanup_free_ char *session = strdup(k->session);
    if (!session)
        return cocoimg__error_oom(err);
    req = (struct cocoimg__kbs_req){
        .method = "POST", .path = "attest", .body = attestation, .cookie = session};
    r = send_retry(&resp, k, &req, HANDSHAKE_ATTEMPTS, deadline, err);
    cocoimg__wipe(session, strlen(session));
    if (r == 0 && resp.status != 200)
        r = status_error(k, "attestation refused: POST /kbs/v0/attest", &resp, err);
    char *token = NULL;
    json_t *claims = NULL;
    int64_t exp = 0;
    if (r == 0 &&
        (r = cocoimg__kbs_token_parse(&token, &claims, &exp, resp.body, resp.len, err)) < 0)
        cocoimg__error_wrap(err, r, "KBS %s", k->url);
    cocoimg__kbs_resp_clear(&resp);
    if (r < 0)
        return r;
    k->token = token;
    k->claims = claims;
    k->token_exp = exp;
    int64_t life = exp - (int64_t)time(NULL);
    k->token_margin = life / 4 < TOKEN_MARGIN_S ? (life > 0 ? life / 4 : 0) : TOKEN_MARGIN_S;
    k->attestations++;
    if (exp)
        cocoimg__log(k->ctx, COCOIMG_LOG_INFO,
                     "KBS %s: attested with the %s attester (token valid for %lld s)", k->url,
                     k->attester->name, (long long)(exp - (int64_t)time(NULL)));
    else
        cocoimg__log(k->ctx, COCOIMG_LOG_INFO, "KBS %s: attested with the %s attester", k->url,
                     k->attester->name);
    return 0;
}

int
cocoimg_kbs_attest(char **claims_out, cocoimg_kbs *k, cocoimg_error **err)
{
    int64_t deadline = mono_ms() + COCOIMG_KBS_DEADLINE_SECONDS * 1000;
    if (!token_valid(k)) {
        int r = handshake(k, deadline, err);
        if (r < 0)
            return r;
    }
    return cocoimg__json_dump(claims_out, NULL, k->claims, err);
}

/* --- resources (spec 1.7) ----------------------------------------------------------- */

int
cocoimg_kbs_get_resource(uint8_t **out, size_t *out_len, cocoimg_kbs *k, const char *uri,
                         cocoimg_error **err)
{
    *out = NULL;
    *out_len = 0;
    _cleanup_free_ char *path = NULL;
    int r = cocoimg__kbs_uri_path(&path, uri, err);
    if (r < 0)
        return r;
    int64_t deadline = mono_ms() + COCOIMG_KBS_DEADLINE_SECONDS * 1000;
    _cleanup_free_ char *what = NULL;
    if (asprintf(&what, "GET /kbs/v0/%s", path) < 0)
        return cocoimg__error_oom(err);
    bool reattested = false;
    for (int attempt = 1;; attempt++) {
        if (!token_valid(k)) {
            if ((r = handshake(k, deadline, err)) < 0)
                return r;
        }
        bool by_cookie = session_valid(k);
        _cleanup_free_ char *cred = strdup(by_cookie ? k->session : k->token);
        if (!cred)
            return cocoimg__error_oom(err);
        struct cocoimg__kbs_req req = {.method = "GET",
                                       .path = path,
                                       .cookie = by_cookie ? cred : NULL,
                                       .bearer = by_cookie ? NULL : cred};
        struct cocoimg__kbs_resp resp = {0};
        r = send_retry(&resp, k, &req, RESOURCE_ATTEMPTS, deadline, err);
        cocoimg__wipe(cred, strlen(cred));
        if (r < 0) {
            cocoimg__kbs_resp_clear(&resp);
            return r;
        }
        if (resp.status == 200) {
            cocoimg__secret *pt = NULL;
            r = cocoimg__kbs_jwe_decrypt(&pt, k->tee_key, resp.body, resp.len, err);
            cocoimg__kbs_resp_clear(&resp);
            if (r < 0)
                return cocoimg__error_wrap(err, r, "KBS %s: %s", k->url, what);
            /* a copy the caller wipes (cocoimg_kbs_resource_free) */
            return cocoimg__secret_take(out, out_len, pt, err);
        }
        _cleanup_free_ char *name = NULL;
        _cleanup_free_ char *detail = NULL;
        if (resp.len)
            cocoimg__kbs_error_parse(&name, &detail, resp.body, resp.len, NULL);
        if (resp.status == 401 && is_session_error(name) && attempt < RESOURCE_ATTEMPTS) {
            if (by_cookie && token_valid(k)) {
                /* the KBS forgot the session: the token still holds */
                cocoimg__log(k->ctx, COCOIMG_LOG_INFO,
                             "KBS %s: session refused (%s), retrying with the token", k->url, name);
                drop_session(k);
                cocoimg__kbs_resp_clear(&resp);
                continue;
            }
            if (!reattested) {
                cocoimg__log(k->ctx, COCOIMG_LOG_INFO,
                             "KBS %s: token refused (%s), attesting again", k->url, name);
                reattested = true;
                drop_session(k);
                drop_token(k);
                cocoimg__kbs_resp_clear(&resp);
                continue;
            }
        }
        r = status_error(k, what, &resp, err);
        cocoimg__kbs_resp_clear(&resp);
        return r;
    }
}

void
cocoimg_kbs_resource_free(uint8_t *buf, size_t len)
{
    if (!buf)
        return;
    cocoimg__wipe(buf, len);
    free(buf);
}

int
cocoimg__kbs_get_key(uint8_t **out, size_t *out_len, cocoimg_kbs *k, const char *uri,
                     cocoimg_error **err)
{
    *out = NULL;
    *out_len = 0;
    if (token_valid(k))
        for (size_t i = 0; i < k->n_keys; i++)
            if (strcmp(k->keys[i].uri, uri) == 0) {
                uint8_t *copy = malloc(k->keys[i].key->len ? k->keys[i].key->len : 1);
                if (!copy)
                    return cocoimg__error_oom(err);
                memcpy(copy, k->keys[i].key->ptr, k->keys[i].key->len);
                *out = copy;
                *out_len = k->keys[i].key->len;
                return 0;
            }
    int r = cocoimg_kbs_get_resource(out, out_len, k, uri, err);
    if (r < 0 || *out_len > KEY_CACHE_BYTES || k->n_keys >= KEY_CACHE_MAX)
        return r;
    /* best effort: a key that cannot be cached is simply asked for again */
    char *u = strdup(uri);
    cocoimg__secret *sec = NULL;
    if (u && cocoimg__secret_dup(&sec, *out, *out_len, NULL) == 0) {
        k->keys[k->n_keys].uri = u;
        k->keys[k->n_keys].key = sec;
        k->n_keys++;
    } else {
        free(u);
    }
    return 0;
}
