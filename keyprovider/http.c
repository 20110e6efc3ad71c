/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP exchange with a KBS: one curl easy handle per client (its
 * connection is reused across auth, attest and resources), requests run to
 * completion with a per-request timeout.  TLS trusts the pinned CA file
 * only; plain http only when the client allows it.  curl's cookie engine
 * stays off: the one cookie of the protocol, kbs-session-id, is parsed here
 * and sent back explicitly, nothing else is kept.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kbs_int.h"

#define COOKIE_NAME "kbs-session-id"
#define COOKIE_MAX 256

struct cocoimg__kbs_conn {
    CURL *h;
    char *base;
    char *ca_file;
    bool allow_http;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
cocoimg__kbs_resp_clear(struct cocoimg__kbs_resp *r)
{
    free(r->body);
    free(r->cookie);
    memset(r, 0, sizeof(*r));
}

int
cocoimg__kbs_conn_new(cocoimg__kbs_conn **out, const char *base_url, const char *ca_file,
                      bool allow_http, cocoimg_error **err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "curl: %s",
                                  curl_easy_strerror(curl_init_rc));
    cocoimg__kbs_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return cocoimg__error_oom(err);
    c->allow_http = allow_http;
    if (!(c->base = strdup(base_url)) || (ca_file && !(c->ca_file = strdup(ca_file))) ||
        !(c->h = curl_easy_init())) {
        cocoimg__kbs_conn_free(c);
        return cocoimg__error_oom(err);
    }
    *out = c;
    return 0;
}

void
cocoimg__kbs_conn_free(cocoimg__kbs_conn *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->base);
    free(c->ca_file);
    free(c);
}

static bool
cookie_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.';
}

static const char *
trim(const char *s, const char *e, const char **end)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *end = e;
    return s;
}

bool
cocoimg__kbs_parse_set_cookie(struct cocoimg__kbs_resp *resp, const char *v, size_t len, time_t now)
{
    const char *end = v + len;
    const char *semi = memchr(v, ';', len);
    const char *pe, *ps = trim(v, semi ? semi : end, &pe);
    const char *eq = memchr(ps, '=', (size_t)(pe - ps));
    const size_t nl = strlen(COOKIE_NAME);
    if (!eq || (size_t)(eq - ps) != nl || memcmp(ps, COOKIE_NAME, nl) != 0)
        return false; /* another cookie: not ours to keep */
    const char *val = eq + 1;
    size_t vl = (size_t)(pe - val);
    /* a value we would not send back verbatim is dropped */
    bool ok = vl <= COOKIE_MAX;
    for (size_t i = 0; ok && i < vl; i++)
        ok = cookie_char(val[i]);
    if (!ok)
        return false;
    time_t expires = 0;
    bool have_max_age = false;
    for (const char *a = semi; a && a < end;) {
        const char *next = memchr(a + 1, ';', (size_t)(end - a - 1));
        const char *ae, *as = trim(a + 1, next ? next : end, &ae);
        const char *aeq = memchr(as, '=', (size_t)(ae - as));
        if (aeq) {
            size_t an = (size_t)(aeq - as);
            char tmp[128];
            size_t avl = (size_t)(ae - aeq - 1);
            if (avl < sizeof(tmp)) {
                memcpy(tmp, aeq + 1, avl);
                tmp[avl] = '\0';
                if (an == 7 && strncasecmp(as, "max-age", 7) == 0) {
                    char *ep = NULL;
                    long ma = strtol(tmp, &ep, 10);
                    if (ep != tmp && *ep == '\0') {
                        /* Max-Age wins over Expires (RFC 6265 5.3 step 3) */
                        expires = ma <= 0 ? 1 : now + ma;
                        have_max_age = true;
                    }
                } else if (an == 7 && strncasecmp(as, "expires", 7) == 0 && !have_max_age) {
                    time_t t = curl_getdate(tmp, NULL);
                    if (t > 0)
                        expires = t;
                }
            }
        }
        a = next;
    }
    free(resp->cookie);
    resp->cookie = NULL;
    resp->cookie_set = true;
    resp->cookie_expires = expires;
    if (vl == 0 || (expires && expires <= now))
        return true; /* removed or already expired */
    resp->cookie = strndup(val, vl);
    return true;
}

struct xfer {
    struct cocoimg__kbs_resp *resp;
    size_t cap;
    bool overflow;
    bool oom;
};

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nitems;
    size_t l = n;
    while (l > 0 && (buf[l - 1] == '\r' || buf[l - 1] == '\n'))
        l--;
    if (l >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue): forget the last one's cookie */
        free(x->resp->cookie);
        x->resp->cookie = NULL;
        x->resp->cookie_set = false;
        x->resp->cookie_expires = 0;
        return n;
    }
    static const char sc[] = "set-cookie:";
    if (l > sizeof(sc) - 1 && strncasecmp(buf, sc, sizeof(sc) - 1) == 0) {
        const char *v = buf + sizeof(sc) - 1;
        size_t vl = l - (sizeof(sc) - 1);
        while (vl > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        cocoimg__kbs_parse_set_cookie(x->resp, v, vl, time(NULL));
    }
    return n;
}

static size_t
write_cb(char *buf, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    struct cocoimg__kbs_resp *r = x->resp;
    size_t n = size * nmemb;
    if (r->len + n > COCOIMG__KBS_BODY_MAX) {
        x->overflow = true;
        return 0;
    }
    if (r->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        uint8_t *nb = realloc(r->body, cap);
        if (!nb) {
            x->oom = true;
            return 0;
        }
        r->body = nb;
        x->cap = cap;
    }
    memcpy(r->body + r->len, buf, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static bool
retryable(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* Wipe the strings of a header list (it may hold the token), then free it. */
static void
slist_free_wipe(struct curl_slist *l)
{
    for (struct curl_slist *i = l; i; i = i->next)
        cocoimg__wipe(i->data, strlen(i->data));
    curl_slist_free_all(l);
}

int
cocoimg__kbs_conn_send(struct cocoimg__kbs_resp *resp, cocoimg__kbs_conn *c,
                       const struct cocoimg__kbs_req *req, cocoimg_error **err)
{
    memset(resp, 0, sizeof(*resp));
    _cleanup_free_ char *url = NULL;
    _cleanup_free_ char *cookie = NULL;
    if (asprintf(&url, "%s/kbs/v0/%s", c->base, req->path) < 0)
        return cocoimg__error_oom(err);
    if (req->cookie && asprintf(&cookie, COOKIE_NAME "=%s", req->cookie) < 0)
        return cocoimg__error_oom(err);
    struct curl_slist *hdrs = NULL, *nl;
#define ADD(s)                                                                                     \
    do {                                                                                           \
        if (!(nl = curl_slist_append(hdrs, (s))))                                                  \
            goto oom;                                                                              \
        hdrs = nl;                                                                                 \
    } while (0)
    ADD("Expect:");
    ADD("Accept: application/json");
    if (req->body)
        ADD("Content-Type: application/json");
    if (req->bearer) {
        char *auth = NULL;
        if (asprintf(&auth, "Authorization: Bearer %s", req->bearer) < 0)
            goto oom;
        nl = curl_slist_append(hdrs, auth);
        cocoimg__free_wipe_str(auth);
        if (!nl)
            goto oom;
        hdrs = nl;
    }
#undef ADD

    CURL *h = c->h;
    curl_easy_reset(h); /* keeps the connection cache */
    c->errbuf[0] = '\0';
    struct xfer x = {.resp = resp};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "coco-img/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file) {
        /* the pinned CA and nothing else: no system directory */
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (cookie)
        curl_easy_setopt(h, CURLOPT_COOKIE, cookie);
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->body ? strlen(req->body) : 0));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    /* the Authorization header and the cookie leave memory with the request */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_COOKIE, NULL);
    slist_free_wipe(hdrs);
    if (cookie)
        cocoimg__wipe(cookie, strlen(cookie));
    if (x.oom)
        return cocoimg__error_oom(err);
    if (x.overflow)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s %s: the answer exceeds %u bytes",
                                  req->method, req->path, (unsigned)COCOIMG__KBS_BODY_MAX);
    if (rc != CURLE_OK) {
        resp->curl_code = (int)rc;
        resp->retryable = retryable(rc);
        return cocoimg__error_set(err, COCOIMG_ENET, 0, "%s /kbs/v0/%s: %s", req->method, req->path,
                                  c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!resp->body && !(resp->body = calloc(1, 1)))
        return cocoimg__error_oom(err);
    return 0;
oom:
    slist_free_wipe(hdrs);
    return cocoimg__error_oom(err);
}
