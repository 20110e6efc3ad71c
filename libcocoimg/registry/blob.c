/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blobs: streaming download with Range resume, existence checks, and
 * uploads (monolithic PUT, chunked PATCH, cross-repository mount).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

/* How many times one download may be resumed after a broken connection. */
#define MAX_RESUMES 5

struct blob_src {
    cocoimg__registry *r;
    char *repo;
    char *url;
    char *scope;
    char *what;
    struct cocoimg__xfer *x;
    uint64_t offset; /* bytes handed to the consumer */
    int64_t size;
    unsigned int resumes;
};

static void
blob_src_free(struct blob_src *s)
{
    if (!s)
        return;
    cocoimg__xfer_free(s->x);
    free(s->repo);
    free(s->url);
    free(s->scope);
    free(s->what);
    free(s);
}
COCOIMG_DEFINE_CLEANUP(struct blob_src, blob_src_free)

/* Start (or restart at s->offset) the GET; leaves s->x with a 2xx response. */
static int
blob_open(struct blob_src *s, cocoimg_error **err)
{
    cocoimg__xfer_free(TAKE_PTR(s->x));
    struct cocoimg__xfer_spec sp = {
        .method = "GET", .url = s->url, .stream = true, .follow = true, .range_from = s->offset};
    int rc = cocoimg__registry_request(&s->x, s->r, &sp, s->repo, s->scope, s->what, err);
    if (rc < 0)
        return rc;
    struct cocoimg__xfer *x = s->x;
    if (s->offset == 0 && x->status == 200)
        return 0;
    if (s->offset > 0 && x->status == 200)
        return 0; /* no Range support: the write callback skips what we have */
    if (s->offset > 0 && x->status == 206) {
        const char *cr = x->content_range;
        uint64_t start = 0;
        if (!cr || sscanf(cr, "bytes %" SCNu64 "-", &start) != 1 || start != s->offset)
            return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                      "registry '%s': repository '%s': %s: resumed at byte %" PRIu64
                                      " but the server sent range '%s'",
                                      s->r->host, s->repo, s->what, s->offset, cr ? cr : "");
        return 0;
    }
    return cocoimg__registry_status_error(s->r, s->repo, s->what, x, err);
}

/*
 * Up to @p len received bytes: *ptr into the transfer's ring, valid until
 * the next call (the ring only moves while curl runs, inside this call).
 */
static ssize_t
blob_next(cocoimg__reader *rd, const uint8_t **ptr, size_t len, cocoimg_error **err)
{
    struct blob_src *s = rd->state;
    for (;;) {
        struct cocoimg__xfer *x = s->x;
        if (x->body_len) {
            size_t n = len < x->body_len ? len : x->body_len;
            *ptr = x->body + x->body_off;
            x->body_off += n;
            x->body_len -= n;
            if (x->body_len == 0)
                x->body_off = 0;
            s->offset += n;
            return (ssize_t)n;
        }
        if (!x->done) {
            int rc = cocoimg__xfer_run(x, true, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (x->result == CURLE_OK)
            return 0; /* the verifying stage above judges length and digest */
        if (s->size >= 0 && s->offset >= (uint64_t)s->size)
            return 0;
        if (!cocoimg__curl_retryable(x->result))
            return cocoimg__registry_net_error(s->r, s->what, x, err);
        if (s->resumes >= MAX_RESUMES) {
            int rc = cocoimg__registry_net_error(s->r, s->what, x, err);
            return cocoimg__error_wrap(err, rc,
                                       "gave up after %u resumed downloads at byte %" PRIu64,
                                       s->resumes, s->offset);
        }
        cocoimg__log(s->r->ctx, COCOIMG_LOG_INFO,
                     "registry '%s': %s: %s; resuming at byte %" PRIu64, s->r->host, s->what,
                     cocoimg__xfer_curl_error(x), s->offset);
        s->resumes++;
        int rc = blob_open(s, err);
        if (rc < 0)
            return rc;
    }
}

static ssize_t
blob_read(cocoimg__reader *rd, void *buf, size_t len, cocoimg_error **err)
{
    const uint8_t *p = NULL;
    ssize_t n = blob_next(rd, &p, len, err);
    if (n > 0)
        memcpy(buf, p, (size_t)n);
    return n;
}

static ssize_t
blob_peek(cocoimg__reader *rd, const void **ptr, size_t max, cocoimg_error **err)
{
    const uint8_t *p = NULL;
    ssize_t n = blob_next(rd, &p, max, err);
    *ptr = p;
    return n;
}

static void
blob_reader_free(cocoimg__reader *rd)
{
    blob_src_free(rd->state);
}

static const struct cocoimg__reader_ops blob_ops = {
    .name = "registry-blob",
    .read = blob_read,
    .free = blob_reader_free,
    .peek = blob_peek,
};

int
cocoimg__registry_get_blob(cocoimg__reader **out, cocoimg__registry *r, const char *repo,
                           const cocoimg__digest *digest, int64_t size, cocoimg_error **err)
{
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, ds);
    _cleanup_(blob_src_freep) struct blob_src *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    s->r = r;
    s->size = size;
    if (!(s->repo = strdup(repo)) || asprintf(&s->what, "blob '%s'", ds) < 0) {
        s->what = NULL;
        return cocoimg__error_oom(err);
    }
    if ((rc = cocoimg__registry_url(&s->url, r, repo, "blobs", ds, err)) < 0 ||
        (rc = cocoimg__registry_scope(&s->scope, repo, false, NULL, err)) < 0)
        return rc;
    rc = blob_open(s, err);
    if (rc < 0)
        return rc;
    if (size >= 0 && s->x->status == 200 && s->x->content_length >= 0 &&
        s->x->content_length != size)
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "registry '%s': repository '%s': %s has %" PRId64
                                  " bytes, expected %" PRId64,
                                  r->host, repo, s->what, s->x->content_length, size);

    cocoimg__reader *raw = NULL;
    /* the reader owns the state from here, also when this fails */
    rc = cocoimg__reader_new(&raw, &blob_ops, TAKE_PTR(s), NULL, err);
    if (rc < 0)
        return rc;
    return cocoimg__reader_verify(out, raw, digest, size, err);
}

static int
blob_head(bool *exists, int64_t *size_out, cocoimg__registry *r, const char *repo, const char *ds,
          const char *scope, cocoimg_error **err)
{
    _cleanup_free_ char *url = NULL, *what = NULL;
    int rc = cocoimg__registry_url(&url, r, repo, "blobs", ds, err);
    if (rc < 0)
        return rc;
    if (asprintf(&what, "blob '%s'", ds) < 0) {
        what = NULL;
        return cocoimg__error_oom(err);
    }
    struct cocoimg__xfer_spec sp = {.method = "HEAD", .url = url, .follow = true};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
    if (rc < 0)
        return rc;
    if (x->status == 404) {
        *exists = false;
        return 0;
    }
    if (x->status != 200)
        return cocoimg__registry_status_error(r, repo, what, x, err);
    *exists = true;
    if (size_out)
        *size_out = x->content_length;
    return 0;
}

int
cocoimg__registry_blob_exists(bool *exists, int64_t *size_out, cocoimg__registry *r,
                              const char *repo, const cocoimg__digest *digest, cocoimg_error **err)
{
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, ds);
    _cleanup_free_ char *scope = NULL;
    if ((rc = cocoimg__registry_scope(&scope, repo, false, NULL, err)) < 0)
        return rc;
    *exists = false;
    return blob_head(exists, size_out, r, repo, ds, scope, err);
}

/*
 * Resolve an upload Location (often relative) against the request URL, a
 * URL of the registry; refuse a scheme downgrade (cocoimg__location_check()).
 */
static int
resolve_location(char **out, cocoimg__registry *r, const struct cocoimg__xfer *x, const char *query,
                 cocoimg_error **err)
{
    if (!x->location || !*x->location)
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0, "upload response without Location");
    CURLU *u = curl_url();
    if (!u)
        return cocoimg__error_oom(err);
    int rc = 0;
    char *s = NULL;
    if (curl_url_set(u, CURLUPART_URL, x->url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, x->location, 0) != CURLUE_OK)
        rc = cocoimg__error_set(err, COCOIMG_EHTTP, 0, "invalid upload Location '%s'", x->location);
    else if (query && curl_url_set(u, CURLUPART_QUERY, query,
                                   CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
        rc = cocoimg__error_oom(err);
    else if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
        rc = cocoimg__error_oom(err);
    curl_url_cleanup(u);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->lock);
    const char *scheme = r->scheme;
    pthread_mutex_unlock(&r->lock);
    bool same = false;
    rc = cocoimg__location_check(&same, s, r->host, scheme, r->insecure, err);
    if (rc < 0) {
        curl_free(s);
        return rc;
    }
    if (!same)
        cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG,
                     "registry '%s': upload continues on another host (no credentials sent there)",
                     r->host);
    *out = strdup(s);
    curl_free(s);
    return *out ? 0 : cocoimg__error_oom(err);
}

/*
 * Cancel the upload session at @p loc (best effort: the registry forgets
 * abandoned sessions anyway, this only frees its storage sooner).
 */
static void
upload_cancel(cocoimg__registry *r, const char *repo, const char *scope, const char *loc)
{
    if (!loc)
        return;
    struct cocoimg__xfer_spec sp = {.method = "DELETE", .url = loc};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    if (cocoimg__registry_request(&x, r, &sp, repo, scope, "upload cancel", NULL) == 0)
        cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG,
                     "registry '%s': upload session cancelled (HTTP %ld)", r->host, x->status);
}

/*
 * POST /v2/REPO/blobs/uploads/ (with ?mount=@p ds&from=@p mount_from when
 * @p mount_from is not NULL).  *mounted is true when the registry mounted
 * the blob (201); otherwise *loc_out gets the URL of the upload session it
 * opened (202).
 */
static int
upload_start(bool *mounted, char **loc_out, cocoimg__registry *r, const char *repo, const char *ds,
             const char *mount_from, const char *scope, const char *what, cocoimg_error **err)
{
    _cleanup_free_ char *path = NULL, *url = NULL;
    *mounted = false;
    int rc = mount_from ? asprintf(&path, "uploads/?mount=%s&from=%s", ds, mount_from)
                        : asprintf(&path, "uploads/");
    if (rc < 0) {
        path = NULL;
        return cocoimg__error_oom(err);
    }
    if ((rc = cocoimg__registry_url(&url, r, repo, "blobs", path, err)) < 0)
        return rc;
    struct cocoimg__xfer_spec sp = {.method = "POST", .url = url};
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
    if (rc < 0)
        return rc;
    if (x->status == 201 && mount_from) {
        if (x->docker_digest && strcmp(x->docker_digest, ds) != 0)
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "registry '%s': repository '%s': %s: mounted as '%s'",
                                      r->host, repo, what, x->docker_digest);
        cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG, "registry '%s': mounted %s from '%s'", r->host, ds,
                     mount_from);
        *mounted = true;
        return 0;
    }
    if (x->status != 202)
        return cocoimg__registry_status_error(r, repo, what, x, err);
    if ((rc = resolve_location(loc_out, r, x, NULL, err)) < 0)
        return cocoimg__error_wrap(err, rc, "registry '%s': %s", r->host, what);
    return 0;
}

/* The upload URL @p loc with "digest=DS" added: the URL of the final PUT. */
static int
commit_url(char **out, cocoimg__registry *r, const char *loc, const char *ds, cocoimg_error **err)
{
    _cleanup_free_ char *q = NULL;
    if (asprintf(&q, "digest=%s", ds) < 0) {
        q = NULL;
        return cocoimg__error_oom(err);
    }
    struct cocoimg__xfer x0 = {.url = (char *)loc, .location = (char *)loc};
    return resolve_location(out, r, &x0, q, err);
}

int
cocoimg__registry_mount_blob(bool *mounted, cocoimg__registry *r, const char *repo,
                             const cocoimg__digest *digest, const char *from, cocoimg_error **err)
{
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0 || (rc = cocoimg__registry_check_repo(from, err)) < 0)
        return rc;
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, ds);
    _cleanup_free_ char *scope = NULL, *what = NULL, *loc = NULL;
    if ((rc = cocoimg__registry_scope(&scope, repo, true, from, err)) < 0)
        return rc;
    if (asprintf(&what, "blob '%s'", ds) < 0) {
        what = NULL;
        return cocoimg__error_oom(err);
    }
    rc = upload_start(mounted, &loc, r, repo, ds, from, scope, what, err);
    if (rc < 0)
        return rc;
    /* not mounted: the registry opened an upload session instead, which we do not use */
    upload_cancel(r, repo, scope, loc);
    return 0;
}

int
cocoimg__registry_push_blob(cocoimg__push_result *result, cocoimg__registry *r, const char *repo,
                            cocoimg__reader *src, const cocoimg__digest *digest, int64_t size,
                            const char *mount_from, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *in = src;
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0 || (mount_from && (rc = cocoimg__registry_check_repo(mount_from, err)) < 0))
        return rc;
    if (size < 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "blob push needs the blob size");
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, ds);
    _cleanup_free_ char *scope = NULL, *what = NULL, *loc = NULL;
    if ((rc = cocoimg__registry_scope(&scope, repo, true, mount_from, err)) < 0)
        return rc;
    if (asprintf(&what, "blob '%s'", ds) < 0) {
        what = NULL;
        return cocoimg__error_oom(err);
    }
    if (result)
        *result = COCOIMG_PUSH_UPLOADED;

    bool exists = false;
    rc = blob_head(&exists, NULL, r, repo, ds, scope, err);
    if (rc < 0)
        return rc;
    if (exists) {
        if (result)
            *result = COCOIMG_PUSH_EXISTED;
        return 0;
    }

    /* POST starts an upload session (or mounts). */
    bool mounted = false;
    if ((rc = upload_start(&mounted, &loc, r, repo, ds, mount_from, scope, what, err)) < 0)
        return rc;
    if (mounted) {
        if (result)
            *result = COCOIMG_PUSH_MOUNTED;
        return 0;
    }

    /*
     * The bytes are checked against the descriptor as they are sent, by
     * the source's own verify stage when it checks exactly this digest and
     * size (an OCI layout's blob): hashing them twice would double the
     * client's share of a push.
     */
    if (!cocoimg__reader_checks(in, digest, size)) {
        cocoimg__reader *v = NULL;
        rc = cocoimg__reader_verify(&v, TAKE_PTR(in), digest, size, err);
        if (rc < 0)
            return rc;
        in = v;
    }

    uint64_t total = (uint64_t)size, off = 0;
    bool chunked = total > r->chunk_size;
    while (chunked && off < total) {
        uint64_t n = total - off < r->chunk_size ? total - off : r->chunk_size;
        char cr[80];
        snprintf(cr, sizeof(cr), "Content-Range: %" PRIu64 "-%" PRIu64, off, off + n - 1);
        const char *hdrs[] = {cr, "Content-Type: application/octet-stream", NULL};
        struct cocoimg__xfer_spec sp = {.method = "PATCH",
                                        .url = loc,
                                        .headers = hdrs,
                                        .up_reader = in,
                                        .up_limit = n,
                                        .up_final = off + n == total};
        _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
        rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
        if (rc < 0)
            return rc;
        if (x->status != 202)
            return cocoimg__registry_status_error(r, repo, what, x, err);
        free(loc);
        loc = NULL;
        if ((rc = resolve_location(&loc, r, x, NULL, err)) < 0)
            return cocoimg__error_wrap(err, rc, "registry '%s': %s", r->host, what);
        off += n;
    }

    /* Final PUT: the whole blob (monolithic) or nothing more (chunked). */
    _cleanup_free_ char *put_url = NULL;
    if ((rc = commit_url(&put_url, r, loc, ds, err)) < 0)
        return rc;
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    struct cocoimg__xfer_spec sp = {.method = "PUT", .url = put_url, .headers = hdrs};
    if (!chunked) {
        sp.up_reader = in;
        sp.up_limit = total;
        sp.up_final = true;
    }
    _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
    if (!chunked && total == 0) {
        /* nothing to stream, but the verdict on an empty blob still counts */
        char c;
        ssize_t e = cocoimg__reader_read(in, &c, 1, err);
        if (e != 0)
            return e < 0 ? (int)e
                         : cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                              "blob is larger than its descriptor");
        sp.up_reader = NULL;
    }
    rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
    if (rc < 0)
        return rc;
    if (x->status != 201)
        return cocoimg__registry_status_error(r, repo, what, x, err);
    cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG, "registry '%s': pushed %s (%s)", r->host, ds,
                 chunked ? "chunked" : "monolithic");
    return 0;
}

/*
 * A pass-through stage that can look one byte ahead: after a PATCH that
 * used up its whole chunk, this tells whether another one is needed
 * without holding more than that byte.
 */
struct peek_state {
    bool held;
    uint8_t byte;
};

static ssize_t
peek_read(cocoimg__reader *rd, void *buf, size_t len, cocoimg_error **err)
{
    struct peek_state *p = rd->state;
    if (p->held && len > 0) {
        p->held = false;
        *(uint8_t *)buf = p->byte;
        return 1;
    }
    return cocoimg__reader_read(rd->upstream, buf, len, err);
}

static void
peek_free(cocoimg__reader *rd)
{
    free(rd->state);
}

static const struct cocoimg__reader_ops peek_ops = {
    .name = "peek",
    .read = peek_read,
    .free = peek_free,
};

/* *eof: @p rd (a peek stage) has nothing more; its verdict, if any, is returned. */
static int
peek_eof(bool *eof, cocoimg__reader *rd, cocoimg_error **err)
{
    struct peek_state *p = rd->state;
    uint8_t b;
    ssize_t n = cocoimg__reader_read(rd, &b, 1, err);
    if (n < 0)
        return (int)n;
    *eof = n == 0;
    if (n > 0) {
        p->held = true;
        p->byte = b;
    }
    return 0;
}

/*
 * After a PATCH of @p sent bytes in total: the registry's Range ("0-LAST")
 * must cover exactly what was sent, else bytes were lost on the way.
 */
static int
check_upload_range(const cocoimg__registry *r, const char *repo, const struct cocoimg__xfer *x,
                   uint64_t sent, cocoimg_error **err)
{
    if (!x->range)
        return 0; /* optional in the spec */
    uint64_t a = 0, b = 0;
    char tail;
    if (sscanf(x->range, "%" SCNu64 "-%" SCNu64 "%c", &a, &b, &tail) != 2 || a != 0 ||
        (sent > 0 && b != sent - 1) || (sent == 0 && b != 0))
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0,
                                  "registry '%s': repository '%s': streamed blob: %" PRIu64
                                  " bytes sent but the upload has range '%s'",
                                  r->host, repo, sent, x->range);
    return 0;
}

/*
 * The PATCH requests of a streamed upload: up to chunk_size bytes each,
 * sent without a length (chunked), until @p in ends.  *loc follows the
 * Location of each answer; *sent counts the bytes.
 */
static int
stream_chunks(uint64_t *sent, char **loc, cocoimg__registry *r, const char *repo, const char *scope,
              const char *what, cocoimg__reader *in, cocoimg_error **err)
{
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    for (;;) {
        /*
         * No Content-Range: its end is not known until the chunk is read,
         * and a chunk is never buffered.  docker-registry 2.8 ignores the
         * header; later distribution versions check it only together with
         * a Content-Length.  The Range answer is checked instead.
         */
        struct cocoimg__xfer_spec sp = {.method = "PATCH",
                                        .url = *loc,
                                        .headers = hdrs,
                                        .up_reader = in,
                                        .up_limit = r->chunk_size,
                                        .up_unsized = true};
        _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
        int rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err);
        if (rc < 0)
            return rc;
        if (x->status != 202)
            return cocoimg__registry_status_error(r, repo, what, x, err);
        *sent += x->up_sent;
        if ((rc = check_upload_range(r, repo, x, *sent, err)) < 0)
            return rc;
        char *next = NULL;
        if ((rc = resolve_location(&next, r, x, NULL, err)) < 0)
            return cocoimg__error_wrap(err, rc, "registry '%s': %s", r->host, what);
        free(*loc);
        *loc = next;
        bool eof = x->up_sent < r->chunk_size;
        if (!eof && (rc = peek_eof(&eof, in, err)) < 0)
            return rc;
        if (eof)
            return 0;
    }
}

int
cocoimg__registry_push_blob_stream(cocoimg__push_result *result, cocoimg__registry *r,
                                   const char *repo, cocoimg__reader *src, cocoimg__digest_alg alg,
                                   cocoimg__digest *digest_out, int64_t *size_out,
                                   cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *in = src;
    int rc = cocoimg__registry_check_repo(repo, err);
    if (rc < 0)
        return rc;
    const char *what = "streamed blob";
    _cleanup_free_ char *scope = NULL, *loc = NULL, *put_url = NULL;
    if ((rc = cocoimg__registry_scope(&scope, repo, true, NULL, err)) < 0)
        return rc;
    if (result)
        *result = COCOIMG_PUSH_UPLOADED;

    /* filled in by the hash stage at the end of the stream */
    cocoimg__digest dg = {0};
    uint64_t total = 0;
    cocoimg__reader *h = NULL;
    if ((rc = cocoimg__reader_hash(&h, TAKE_PTR(in), alg, &dg, &total, err)) < 0)
        return rc;
    struct peek_state *ps = calloc(1, sizeof(*ps));
    if (!ps) {
        cocoimg__reader_free(h);
        return cocoimg__error_oom(err);
    }
    if ((rc = cocoimg__reader_new(&in, &peek_ops, ps, h, err)) < 0)
        return rc;

    bool mounted = false;
    if ((rc = upload_start(&mounted, &loc, r, repo, NULL, NULL, scope, what, err)) < 0)
        return rc;
    uint64_t sent = 0;
    rc = stream_chunks(&sent, &loc, r, repo, scope, what, in, err);
    if (rc < 0)
        goto fail;
    /* the stream ended with its verdict (HMAC, digest) given: now the blob may exist */
    if (sent != total) {
        rc = cocoimg__error_set(err, COCOIMG_ERROR, 0,
                                "streamed blob: %" PRIu64 " bytes hashed but %" PRIu64 " sent",
                                total, sent);
        goto fail;
    }
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&dg, ds);
    if ((rc = commit_url(&put_url, r, loc, ds, err)) < 0)
        goto fail;
    {
        const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
        struct cocoimg__xfer_spec sp = {.method = "PUT", .url = put_url, .headers = hdrs};
        _cleanup_(cocoimg__xfer_freep) struct cocoimg__xfer *x = NULL;
        if ((rc = cocoimg__registry_request(&x, r, &sp, repo, scope, what, err)) < 0)
            goto fail;
        if (x->status != 201) {
            rc = cocoimg__registry_status_error(r, repo, what, x, err);
            goto fail;
        }
        if (x->docker_digest && strcmp(x->docker_digest, ds) != 0)
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "registry '%s': repository '%s': streamed blob '%s' "
                                      "stored as '%s'",
                                      r->host, repo, ds, x->docker_digest);
    }
    cocoimg__log(r->ctx, COCOIMG_LOG_DEBUG,
                 "registry '%s': pushed %s (%" PRIu64 " bytes, streamed)", r->host, ds, total);
    if (digest_out)
        *digest_out = dg;
    if (size_out)
        *size_out = (int64_t)total;
    return 0;
fail:
    upload_cancel(r, repo, scope, loc);
    return rc;
}
