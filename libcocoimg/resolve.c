/* SPDX-License-Identifier: Apache-2.0 */
/* Reference -> top-level document -> index -> platform -> manifest -> config (resolve.h). */
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "util/json.h"

/*
 * In ALL mode every instance manifest is held from the open to the free
 * (they are all checked before any is used); bound what an index can make
 * us hold.
 */
#define RESOLVE_MAX_HELD (64u * 1024 * 1024)

struct cocoimg__resolve {
    cocoimg__source *src;              /* borrowed */
    const cocoimg_reference *user_ref; /* borrowed */
    cocoimg__resolve_doc top;
    uint8_t *top_buf;
    char *top_mt;
    cocoimg__doc_kind top_kind;
    cocoimg__index *index;
    size_t n_images;
    cocoimg__resolve_image *images;
    size_t next;
};

int
cocoimg__resolve_options_init(cocoimg__resolve_options *out, const char *platform, bool all,
                              cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    if (all && platform)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "a platform and 'all' are mutually exclusive");
    out->mode = all ? COCOIMG__RESOLVE_ALL : COCOIMG__RESOLVE_SELECT;
    if (!platform) {
        cocoimg__platform_host(&out->platform);
        return 0;
    }
    int r = cocoimg__platform_parse(&out->platform, platform, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "platform '%.100s'", platform);
    return 0;
}

static int
nested_index(const cocoimg__digest *d, cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(d, ds);
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "manifest %s: nested index is not supported",
                              ds);
}

static void
image_clear(cocoimg__resolve_image *img)
{
    cocoimg__manifest_free(img->manifest);
    free((uint8_t *)img->doc.bytes);
    free((char *)img->doc.media_type);
    memset(img, 0, sizeof(*img));
}

void
cocoimg__resolve_free(cocoimg__resolve *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_images; i++)
        image_clear(&res->images[i]);
    free(res->images);
    cocoimg__index_free(res->index);
    free(res->top_buf);
    free(res->top_mt);
    free(res);
}

/* Fetch, verify and parse the manifest of index entry @p i into @p img. */
static int
load_entry(cocoimg__resolve *res, size_t i, cocoimg__resolve_image *img, cocoimg_error **err)
{
    const cocoimg__descriptor *d = &res->index->manifests[i];
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&d->digest, ds);
    if (cocoimg__doc_is_index(cocoimg__doc_kind_of(d->media_type)))
        return nested_index(&d->digest, err);
    uint8_t *buf = NULL;
    size_t len = 0;
    char *mt = NULL;
    int r = cocoimg__source_get_manifest(res->src, &d->digest, d->size, &buf, &len, &mt, err);
    free(mt); /* the entry names the media type; the transport's may be missing */
    if (r < 0)
        return cocoimg__error_wrap(err, r, "manifest %s", ds);
    img->doc.bytes = buf;
    img->doc.len = len;
    img->doc.digest = d->digest;
    if (!(img->doc.media_type = strdup(d->media_type)))
        return cocoimg__error_oom(err);
    img->entry = d;
    img->entry_index = i;
    /* the entry's mediaType said manifest; the content must not be an index either */
    cocoimg__doc_kind kind;
    if ((r = cocoimg__doc_detect(&kind, buf, len, d->media_type, err)) < 0)
        return cocoimg__error_wrap(err, r, "manifest %s", ds);
    if (cocoimg__doc_is_index(kind))
        return nested_index(&d->digest, err);
    if ((r = cocoimg__manifest_parse(&img->manifest, buf, len, d->media_type, err)) < 0)
        return cocoimg__error_wrap(err, r, "manifest %s", ds);
    return 0;
}

/* The lone manifest that is the top-level document. */
static int
load_top_manifest(cocoimg__resolve *res, cocoimg__resolve_image *img, cocoimg_error **err)
{
    uint8_t *buf = malloc(res->top.len ? res->top.len : 1);
    if (!buf)
        return cocoimg__error_oom(err);
    memcpy(buf, res->top.bytes, res->top.len);
    img->doc = res->top;
    img->doc.bytes = buf;
    img->doc.media_type = NULL;
    if (res->top.media_type && !(img->doc.media_type = strdup(res->top.media_type)))
        return cocoimg__error_oom(err);
    return cocoimg__manifest_parse(&img->manifest, buf, res->top.len, res->top.media_type, err);
}

static int
load_images(cocoimg__resolve *res, const cocoimg__resolve_options *o, cocoimg_error **err)
{
    size_t first = 0, n = 1;
    int r;
    if (res->index) {
        if (o->mode == COCOIMG__RESOLVE_ALL) {
            n = res->index->n_manifests;
            /* refuse a nested index before fetching anything */
            for (size_t i = 0; i < n; i++) {
                const cocoimg__descriptor *d = &res->index->manifests[i];
                if (cocoimg__doc_is_index(cocoimg__doc_kind_of(d->media_type)))
                    return nested_index(&d->digest, err);
            }
        } else if ((r = cocoimg__index_select(&first, res->index, &o->platform, err)) < 0) {
            return r;
        }
    }
    if (n && !(res->images = calloc(n, sizeof(*res->images))))
        return cocoimg__error_oom(err);
    uint64_t held = 0;
    for (size_t k = 0; k < n; k++) {
        cocoimg__resolve_image *img = &res->images[k];
        res->n_images = k + 1;
        r = res->index ? load_entry(res, first + k, img, err) : load_top_manifest(res, img, err);
        if (r < 0)
            return r;
        held += img->doc.len;
        if (held > RESOLVE_MAX_HELD)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                      "index: the manifests of its %zu entries exceed %u bytes", n,
                                      RESOLVE_MAX_HELD);
        /* every image is checked before the first config or layer blob is fetched */
        if (o->check &&
            (r = o->check(o->check_payload, res->user_ref, &res->top, &img->doc, err)) < 0)
            return r;
    }
    return 0;
}

int
cocoimg__resolve_open(cocoimg__resolve **out, cocoimg__source *src,
                      const cocoimg_reference *user_ref, const cocoimg__resolve_options *opts,
                      cocoimg_error **err)
{
    cocoimg__resolve_options def;
    if (!opts) {
        int r = cocoimg__resolve_options_init(&def, NULL, false, err);
        if (r < 0)
            return r;
        opts = &def;
    }
    _cleanup_resolve_ cocoimg__resolve *res = calloc(1, sizeof(*res));
    if (!res)
        return cocoimg__error_oom(err);
    res->src = src;
    res->user_ref = user_ref;
    size_t len = 0;
    int r = cocoimg__source_get_manifest(src, NULL, -1, &res->top_buf, &len, &res->top_mt, err);
    if (r < 0)
        return r;
    res->top.bytes = res->top_buf;
    res->top.len = len;
    res->top.media_type = res->top_mt;
    if ((r = cocoimg__digest_buffer(&res->top.digest, COCOIMG_DIGEST_SHA256, res->top_buf, len,
                                    err)) < 0)
        return r;
    if (opts->mode == COCOIMG__RESOLVE_TOP) {
        *out = TAKE_PTR(res);
        return 0;
    }
    if ((r = cocoimg__doc_detect(&res->top_kind, res->top_buf, len, res->top_mt, err)) < 0)
        return r;
    if (cocoimg__doc_is_index(res->top_kind) &&
        (r = cocoimg__index_parse(&res->index, res->top_buf, len, res->top_mt, err)) < 0)
        return r;
    if ((r = load_images(res, opts, err)) < 0)
        return r;
    *out = TAKE_PTR(res);
    return 0;
}

cocoimg__source *
cocoimg__resolve_source(const cocoimg__resolve *res)
{
    return res->src;
}

const cocoimg__resolve_doc *
cocoimg__resolve_top(const cocoimg__resolve *res)
{
    return &res->top;
}

cocoimg__doc_kind
cocoimg__resolve_top_kind(const cocoimg__resolve *res)
{
    return res->top_kind;
}

cocoimg__index *
cocoimg__resolve_index(const cocoimg__resolve *res)
{
    return res->index;
}

size_t
cocoimg__resolve_count(const cocoimg__resolve *res)
{
    return res->n_images;
}

cocoimg__resolve_image *
cocoimg__resolve_image_at(const cocoimg__resolve *res, size_t i)
{
    return i < res->n_images ? &res->images[i] : NULL;
}

cocoimg__resolve_image *
cocoimg__resolve_next(cocoimg__resolve *res)
{
    if (res->next >= res->n_images)
        return NULL;
    return &res->images[res->next++];
}

int
cocoimg__resolve_config(cocoimg__config **config_out, uint8_t **bytes_out, size_t *len_out,
                        const cocoimg__resolve *res, const cocoimg__resolve_image *img,
                        cocoimg_error **err)
{
    const cocoimg__descriptor *cd = &img->manifest->config;
    char cs[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&cd->digest, cs);
    if (cd->size > (int64_t)COCOIMG_JSON_MAX_SIZE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "config %s: %lld bytes exceeds the limit of %u", cs,
                                  (long long)cd->size, COCOIMG_JSON_MAX_SIZE);
    _cleanup_reader_ cocoimg__reader *rd = NULL;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    int r;
    if ((r = cocoimg__source_get_blob(res->src, &cd->digest, cd->size, &rd, err)) < 0 ||
        (r = cocoimg__reader_to_mem(rd, COCOIMG_JSON_MAX_SIZE, &buf, &len, err)) < 0)
        return cocoimg__error_wrap(err, r, "config %s", cs);
    if (config_out && (r = cocoimg__config_parse(config_out, buf, len, err)) < 0)
        return cocoimg__error_wrap(err, r, "config %s", cs);
    if (bytes_out) {
        *bytes_out = TAKE_PTR(buf);
        if (len_out)
            *len_out = len;
    }
    return 0;
}
