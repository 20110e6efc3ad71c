/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lookaside store of simple signatures (see lookaside.h).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signatures/lookaside.h"
#include "transport/transport.h"
#include "util/base64.h"
#include "util/json.h"
#include "signatures/simple.h"
#include "util/fs.h"

void
cocoimg__sig_list_clear(cocoimg__sig_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    memset(l, 0, sizeof(*l));
}

char *
cocoimg__lookaside_url(const char *base, const cocoimg_reference *ref,
                       const cocoimg__digest *digest, size_t index)
{
    char hex[129];
    cocoimg__digest_hex(digest, hex);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    char *s = NULL;
    if (asprintf(&s, "%.*s/%s@%s=%s/signature-%zu", (int)bl, base,
                 cocoimg_reference_repository(ref), cocoimg__digest_alg_name(digest->alg), hex,
                 index) < 0)
        return NULL;
    return s;
}

struct body {
    uint8_t *buf;
    size_t len;
    bool too_big;
};

static size_t
body_write(char *p, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    size_t add = size * n;
    if (add > COCOIMG__SIMPLE_MAX_SIGNATURE - b->len) {
        b->too_big = true;
        return 0;
    }
    uint8_t *nb = realloc(b->buf, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, add);
    b->buf = nb;
    b->len += add;
    return add;
}

/* 1: got it, 0: does not exist, <0: error */
static int
fetch_http(const char *url, uint8_t **out, size_t *len, cocoimg_error **err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return cocoimg__error_oom(err);
    struct body b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    CURLcode c = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (c != CURLE_OK) {
        free(b.buf);
        if (b.too_big)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "signature %s is too large", url);
        return cocoimg__error_set(err, COCOIMG_ENET, 0, "signature %s: %s", url,
                                  curl_easy_strerror(c));
    }
    if (status == 404) {
        free(b.buf);
        return 0;
    }
    if (status != 200) {
        free(b.buf);
        return cocoimg__error_set(err, COCOIMG_EHTTP, 0, "signature %s: HTTP status %ld", url,
                                  status);
    }
    if (!b.buf && !(b.buf = malloc(1)))
        return cocoimg__error_oom(err);
    *out = b.buf;
    *len = b.len;
    return 1;
}

static int
fetch_one(const char *url, uint8_t **out, size_t *len, cocoimg_error **err)
{
    if (strncmp(url, "file://", 7) == 0) {
        _cleanup_error_ cocoimg_error *e = NULL;
        int r = cocoimg__read_file(out, len, AT_FDCWD, url + 7, COCOIMG__SIMPLE_MAX_SIGNATURE, &e);
        if (r == COCOIMG_ENOTFOUND)
            return 0;
        if (r < 0)
            return cocoimg__error_set(err, r, cocoimg_error_errno(e), "signature %s: %s", url,
                                      cocoimg_error_message(e));
        return 1;
    }
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return fetch_http(url, out, len, err);
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                              "lookaside %s: only file://, http:// and https:// are supported",
                              url);
}

int
cocoimg__lookaside_fetch(cocoimg__sig_list *out, const char *base, const cocoimg_reference *ref,
                         const cocoimg__digest *digest, cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 1;; i++) {
        _cleanup_free_ char *url = cocoimg__lookaside_url(base, ref, digest, i);
        if (!url)
            return cocoimg__error_oom(err);
        uint8_t *buf = NULL;
        size_t len = 0;
        int r = fetch_one(url, &buf, &len, err);
        if (r < 0) {
            cocoimg__sig_list_clear(out);
            return r;
        }
        if (r == 0)
            return 0;
        if (out->n == COCOIMG__LOOKASIDE_MAX_SIGNATURES) {
            free(buf);
            cocoimg__sig_list_clear(out);
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                      "more than %d signatures in the lookaside store",
                                      COCOIMG__LOOKASIDE_MAX_SIGNATURES);
        }
        out->v[out->n] = buf;
        out->len[out->n] = len;
        out->n++;
    }
}

int
cocoimg__lookaside_store(const char *base, const cocoimg_reference *ref,
                         const cocoimg__digest *digest, const void *sig, size_t len,
                         cocoimg_error **err)
{
    if (strncmp(base, "file://", 7) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "writing signatures to %s: only file:// lookaside stores are "
                                  "writable",
                                  base);
    for (size_t i = 1; i <= COCOIMG__LOOKASIDE_MAX_SIGNATURES; i++) {
        _cleanup_free_ char *url = cocoimg__lookaside_url(base, ref, digest, i);
        if (!url)
            return cocoimg__error_oom(err);
        const char *path = url + 7;
        if (access(path, F_OK) == 0)
            continue;
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
            return cocoimg__error_oom(err);
        *strrchr(dir, '/') = '\0';
        int r = cocoimg__mkdir_p(AT_FDCWD, dir, err);
        if (r < 0)
            return r;
        return cocoimg__write_file_atomic(AT_FDCWD, path, sig, len, err);
    }
    return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "too many signatures in the lookaside store");
}

/* --- X-Registry-Supports-Signatures ------------------------------------- */

int
cocoimg__extsig_fetch(cocoimg__sig_list *out, bool *supported, const cocoimg_context *ctx,
                      const cocoimg_reference *ref, const cocoimg__digest *digest,
                      cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    *supported = false;
    if (cocoimg_reference_transport(ref) != COCOIMG_TRANSPORT_DOCKER)
        return 0;
    _cleanup_source_ cocoimg__source *src = NULL;
    int r = cocoimg__source_open(&src, ctx, ref, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "signatures");
    _cleanup_json_ json_t *j = NULL;
    if ((r = cocoimg__docker_source_signatures(&j, src, digest, err)) < 0)
        return cocoimg__error_wrap(err, r, "X-Registry-Supports-Signatures");
    if (!j)
        return 0;
    *supported = true;
    json_t *sigs = json_object_get(j, "signatures");
    if (json_is_null(sigs) || !sigs)
        return 0;
    if (!json_is_array(sigs))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "X-Registry-Supports-Signatures: 'signatures' is not an array");
    size_t i;
    json_t *e;
    json_array_foreach(sigs, i, e)
    {
        if (!json_is_object(e)) {
            r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                   "X-Registry-Supports-Signatures: signature %zu is not an "
                                   "object",
                                   i + 1);
            goto fail;
        }
        /* as containers/image: other versions and types are skipped */
        json_t *ver = json_object_get(e, "version");
        const char *type = cocoimg__json_str(e, "type");
        if (!json_is_integer(ver) || json_integer_value(ver) != 2 || !type ||
            strcmp(type, "atomic") != 0)
            continue;
        const char *c = cocoimg__json_str(e, "content");
        if (!c || !*c) {
            r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                   "X-Registry-Supports-Signatures: signature %zu has no content",
                                   i + 1);
            goto fail;
        }
        if (out->n == COCOIMG__LOOKASIDE_MAX_SIGNATURES) {
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "more than %d signatures",
                                   COCOIMG__LOOKASIDE_MAX_SIGNATURES);
            goto fail;
        }
        if ((r = cocoimg__b64_decode(&out->v[out->n], &out->len[out->n], c, strlen(c),
                                     COCOIMG_B64_STD, "signature content", err)) < 0)
            goto fail;
        out->n++;
    }
    return 0;
fail:
    cocoimg__sig_list_clear(out);
    return cocoimg__error_wrap(err, r, "X-Registry-Supports-Signatures");
}
