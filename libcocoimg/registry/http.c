/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP engine of the registry client: one transfer = one curl easy
 * handle driven by its own multi handle, so a caller can either run it to
 * completion or pull the response body incrementally (blob streaming) with
 * a bounded buffer, pausing the transfer while the consumer is behind.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry/registry_int.h"

/* Bodies of error responses are kept for their message only. */
#define ERRBODY_MAX (64u * 1024)
/* Size of one curl receive buffer and of the streaming buffer (two of them). */
#define RECV_BUFSZ (128 * 1024)
#define RING_CAP COCOIMG__XFER_RING_CAP
_Static_assert(RING_CAP == 2u * RECV_BUFSZ, "the ring holds two receive buffers");

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
cocoimg__slist_wipe(struct curl_slist *l)
{
    /* curl_slist_append() made its own copies: the Authorization header among them */
    for (; l; l = l->next)
        if (l->data)
            cocoimg__wipe(l->data, strlen(l->data));
}

void
cocoimg__xfer_free(struct cocoimg__xfer *x)
{
    if (!x)
        return;
    if (x->multi && x->easy)
        curl_multi_remove_handle(x->multi, x->easy);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    if (x->multi)
        curl_multi_cleanup(x->multi);
    cocoimg__slist_wipe(x->hdrs);
    curl_slist_free_all(x->hdrs);
    if (x->auth_header)
        cocoimg__free_wipe_str(x->auth_header);
    free(x->url);
    free(x->content_type);
    free(x->docker_digest);
    free(x->location);
    free(x->www_auth);
    free(x->content_range);
    free(x->range);
    if (x->body && !x->stream)
        cocoimg__wipe(x->body, x->body_len); /* a token answer */
    free(x->body);
    free(x->ebody);
    cocoimg_error_free(x->up_err);
    free(x);
}

static void
reset_response(struct cocoimg__xfer *x)
{
    x->status = 0;
    x->hdr_done = false;
    x->content_length = -1;
    x->retry_after = 0;
    free(x->content_type);
    free(x->docker_digest);
    free(x->location);
    free(x->www_auth);
    free(x->content_range);
    free(x->range);
    x->content_type = x->docker_digest = x->location = x->www_auth = x->content_range = NULL;
    x->range = NULL;
    x->supports_signatures = false;
    x->ebody_len = 0;
}

static void
set_field(char **slot, const char *v, size_t len, bool append)
{
    if (append && *slot) {
        /* repeated header (WWW-Authenticate): join as a list, RFC 9110 5.3 */
        char *n = NULL;
        if (asprintf(&n, "%s, %.*s", *slot, (int)len, v) >= 0) {
            free(*slot);
            *slot = n;
        }
        return;
    }
    free(*slot);
    *slot = strndup(v, len);
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct cocoimg__xfer *x = userdata;
    size_t n = size * nitems;
    size_t l = n;
    x->last_io_ms = mono_ms();
    while (l > 0 && (buf[l - 1] == '\r' || buf[l - 1] == '\n'))
        l--;
    if (l == 0) {
        /* end of one response's headers; a followed redirect is not final */
        bool redirect = x->follow && x->status >= 300 && x->status < 400 && x->location;
        if (x->status >= 200 && !redirect) {
            x->hdr_done = true;
            /* a 200 answer to a Range request starts at 0: skip what we have */
            x->skip = x->status == 200 ? x->range_from : 0;
        }
        return n;
    }
    if (l >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        reset_response(x);
        const char *sp = memchr(buf, ' ', l);
        if (sp && (size_t)(sp - buf) + 4 <= l) {
            long st = 0;
            for (int i = 1; i <= 3; i++) {
                char c = sp[i];
                if (c < '0' || c > '9') {
                    st = 0;
                    break;
                }
                st = st * 10 + (c - '0');
            }
            x->status = st;
        }
        return n;
    }
    const char *colon = memchr(buf, ':', l);
    if (!colon)
        return n;
    size_t nl = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vl = l - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(buf, name, nl) == 0)
    if (IS("content-type"))
        set_field(&x->content_type, v, vl, false);
    else if (IS("docker-content-digest"))
        set_field(&x->docker_digest, v, vl, false);
    else if (IS("location"))
        set_field(&x->location, v, vl, false);
    else if (IS("www-authenticate"))
        set_field(&x->www_auth, v, vl, true);
    else if (IS("content-range"))
        set_field(&x->content_range, v, vl, false);
    else if (IS("x-registry-supports-signatures"))
        x->supports_signatures = vl == 1 && v[0] == '1';
    else if (IS("range"))
        set_field(&x->range, v, vl, false);
    else if (IS("content-length") || IS("retry-after")) {
        int64_t val = 0;
        bool okv = vl > 0 && vl < 19;
        for (size_t i = 0; okv && i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                okv = false;
            else
                val = val * 10 + (v[i] - '0');
        }
        if (IS("content-length"))
            x->content_length = okv ? val : -1;
        else
            x->retry_after = okv ? val : 0;
    }
#undef IS
    return n;
}

size_t
cocoimg__xfer_write_cb(char *buf, size_t size, size_t nmemb, void *userdata)
{
    struct cocoimg__xfer *x = userdata;
    size_t n = size * nmemb;
    x->last_io_ms = mono_ms();
    if (!x->hdr_done)
        return n; /* body of a redirect: not ours */
    if (x->status < 200 || x->status >= 300) {
        size_t room = ERRBODY_MAX - x->ebody_len;
        size_t take = n < room ? n : room;
        if (take) {
            if (!x->ebody && !(x->ebody = malloc(ERRBODY_MAX + 1)))
                return 0;
            memcpy(x->ebody + x->ebody_len, buf, take);
            x->ebody_len += take;
        }
        return n;
    }
    x->body_seen = true;
    if (x->stream) {
        /*
         * A 200 answer to a Range request: drop what we already have.  The
         * skip is only consumed with the bytes it covers: after
         * CURL_WRITEFUNC_PAUSE curl hands the same buffer again, whole.
         */
        size_t d = n < x->skip ? n : (size_t)x->skip;
        if (d == n) {
            x->skip -= d;
            return size * nmemb;
        }
        const char *p = buf + d;
        size_t m = n - d;
        if (x->body_len + m > RING_CAP && x->body_off) {
            memmove(x->body, x->body + x->body_off, x->body_len);
            x->body_off = 0;
        }
        if (x->body_off + x->body_len + m > RING_CAP) {
            if (x->body_len == 0)
                return 0; /* cannot happen with RECV_BUFSZ < RING_CAP */
            x->paused = true;
            return CURL_WRITEFUNC_PAUSE;
        }
        memcpy(x->body + x->body_off + x->body_len, p, m);
        x->body_len += m;
        x->skip -= d;
        return size * nmemb;
    }
    if (x->nobody_sink)
        return n;
    if (x->body_len + n > x->body_max) {
        x->body_overflow = true;
        return 0;
    }
    if (x->body_len + n > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 16384;
        while (cap < x->body_len + n)
            cap *= 2;
        if (cap > x->body_max)
            cap = x->body_max;
        /* not realloc(): the old buffer may hold a token answer, wipe it before it goes */
        uint8_t *nb = malloc(cap + 1);
        if (!nb)
            return 0;
        if (x->body) {
            memcpy(nb, x->body, x->body_len);
            cocoimg__wipe(x->body, x->body_cap);
            free(x->body);
        }
        x->body = nb;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, buf, n);
    x->body_len += n;
    return n;
}

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct cocoimg__xfer *x = userdata;
    size_t want = size * nitems;
    x->last_io_ms = mono_ms(); /* time spent in our own reader is not the registry's */
    if (x->up_mem) {
        size_t left = x->up_len - x->up_off;
        size_t n = want < left ? want : left;
        memcpy(buf, x->up_mem + x->up_off, n);
        x->up_off += n;
        return n;
    }
    if (!x->up_reader)
        return 0;
    uint64_t left = x->up_limit - x->up_sent;
    if (left == 0)
        return 0;
    if (want > left)
        want = (size_t)left;
    ssize_t n = cocoimg__reader_read(x->up_reader, buf, want, &x->up_err);
    if (n < 0) {
        x->up_rc = (int)n;
        return CURL_READFUNC_ABORT;
    }
    if (n == 0 && x->up_unsized)
        return 0; /* the end of a body sent without a length */
    if (n == 0) {
        x->up_rc = cocoimg__error_set(&x->up_err, COCOIMG_EDIGEST, 0,
                                      "blob is shorter than its descriptor");
        return CURL_READFUNC_ABORT;
    }
    x->up_sent += (uint64_t)n;
    if (x->up_sent == x->up_limit && x->up_final) {
        /* The last byte: get the verifying stage's verdict before the
         * registry can commit the upload. */
        char extra;
        ssize_t e = cocoimg__reader_read(x->up_reader, &extra, 1, &x->up_err);
        if (e != 0) {
            x->up_rc = e < 0 ? (int)e
                             : cocoimg__error_set(&x->up_err, COCOIMG_EDIGEST, 0,
                                                  "blob is larger than its descriptor");
            return CURL_READFUNC_ABORT;
        }
    }
    return (size_t)n;
}

static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)h;
    (void)type;
    (void)data;
    (void)size;
    (void)userp;
    return 0;
}

int
cocoimg__xfer_new(struct cocoimg__xfer **out, cocoimg__registry *r,
                  const struct cocoimg__xfer_spec *sp, cocoimg_error **err)
{
    struct cocoimg__xfer *x = calloc(1, sizeof(*x));
    if (!x)
        return cocoimg__error_oom(err);
    x->content_length = -1;
    x->stream = sp->stream;
    x->body_max = sp->max_body;
    x->nobody_sink = sp->max_body == 0 && !sp->stream;
    x->follow = sp->follow;
    x->range_from = sp->range_from;
    if (!(x->url = strdup(sp->url)))
        goto oom;
    if (sp->stream && !(x->body = malloc(RING_CAP)))
        goto oom;
    x->easy = curl_easy_init();
    x->multi = curl_multi_init();
    if (!x->easy || !x->multi)
        goto oom;

    CURL *h = x->easy;
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    curl_easy_setopt(h, CURLOPT_SHARE, r->share);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, r->insecure ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "coco-img/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled connection (no byte for stall_s) counts as a connection
     * error: retried, or resumed for a blob, a bounded number of times.
     * cocoimg__xfer_run() watches for it (curl's low-speed check averages
     * over a window of seconds and would see a stall late). */
    x->stall_ms = r->stall_s * 1000u;
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)RECV_BUFSZ);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cocoimg__xfer_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    if (sp->follow) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        /* never hand our Authorization to another host (default, stated here) */
        curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
    }
    if (r->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (r->ca_blob) {
        struct curl_blob blob = {
            .data = r->ca_blob, .len = r->ca_blob_len, .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (r->tls.client_cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, r->tls.client_cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, r->tls.client_key);
    }

    if (strcmp(sp->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(sp->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, sp->method);
        if (sp->up_reader || sp->body || strcmp(sp->method, "PUT") == 0 ||
            strcmp(sp->method, "PATCH") == 0) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
            curl_easy_setopt(h, CURLOPT_READDATA, x);
            uint64_t len = sp->up_reader ? sp->up_limit : sp->body_len;
            /* unknown length: HTTP/1.1 sends it chunked */
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                             sp->up_unsized ? (curl_off_t)-1 : (curl_off_t)len);
            x->up_mem = sp->up_reader ? NULL : (const uint8_t *)(sp->body ? sp->body : "");
            x->up_len = sp->body_len;
            x->up_reader = sp->up_reader;
            x->up_limit = sp->up_limit;
            x->up_final = sp->up_final;
            x->up_unsized = sp->up_reader && sp->up_unsized;
        } else {
            /* POST without body */
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        }
    }

    struct curl_slist *l = NULL;
#define ADD(s)                                                                                     \
    do {                                                                                           \
        struct curl_slist *nl = curl_slist_append(l, (s));                                         \
        if (!nl)                                                                                   \
            goto oom_l;                                                                            \
        l = nl;                                                                                    \
    } while (0)
    ADD("Expect:");
    for (size_t i = 0; sp->headers && sp->headers[i]; i++)
        ADD(sp->headers[i]);
    char range[64];
    if (sp->range_from > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", sp->range_from);
        ADD(range);
    }
    if (sp->auth_header) {
        if (!(x->auth_header = strdup(sp->auth_header)))
            goto oom_l;
        ADD(x->auth_header);
    }
#undef ADD
    x->hdrs = l;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    if (curl_multi_add_handle(x->multi, h) != CURLM_OK)
        goto oom;
    *out = x;
    return 0;
oom_l:
    cocoimg__slist_wipe(l);
    curl_slist_free_all(l);
oom:
    cocoimg__xfer_free(x);
    return cocoimg__error_oom(err);
}

/*
 * Drive the transfer: until it is done, or (when @p until_data) until the
 * response headers are complete and body bytes are buffered.
 */
int
cocoimg__xfer_run(struct cocoimg__xfer *x, bool until_data, cocoimg_error **err)
{
    /* time spent outside (the consumer's) does not count as the registry's silence */
    x->last_io_ms = mono_ms();
    while (!x->done) {
        if (x->stall_ms && mono_ms() - x->last_io_ms > (int64_t)x->stall_ms) {
            x->stalled = true;
            x->done = true;
            x->result = CURLE_OPERATION_TIMEDOUT;
            snprintf(x->errbuf, sizeof(x->errbuf), "stalled: no data for %u s",
                     x->stall_ms / 1000u);
            break;
        }
        if (until_data && x->hdr_done && (x->body_len > 0 || x->status < 200 || x->status >= 300))
            return 0;
        if (x->paused) {
            x->paused = false;
            curl_easy_pause(x->easy, CURLPAUSE_CONT);
            continue;
        }
        int running = 0;
        CURLMcode mc = curl_multi_perform(x->multi, &running);
        if (mc != CURLM_OK)
            return cocoimg__error_set(err, COCOIMG_ENET, 0, "curl: %s", curl_multi_strerror(mc));
        CURLMsg *m;
        int q;
        while ((m = curl_multi_info_read(x->multi, &q))) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == x->easy) {
                x->done = true;
                x->result = m->data.result;
            }
        }
        if (x->done)
            break;
        if (until_data && x->hdr_done && x->body_len > 0)
            return 0;
        if (x->paused)
            continue;
        mc = curl_multi_poll(x->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            return cocoimg__error_set(err, COCOIMG_ENET, 0, "curl: %s", curl_multi_strerror(mc));
    }
    return 0;
}

bool
cocoimg__curl_retryable(int code)
{
    switch ((CURLcode)code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

const char *
cocoimg__xfer_curl_error(const struct cocoimg__xfer *x)
{
    return x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
}
