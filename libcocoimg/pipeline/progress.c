/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Progress stages (reader.h): a count stage adds the bytes that pass
 * through it to an atomic counter (it may run on any thread, e.g. the
 * source side of an async hand-over); a notify stage calls a function
 * after each read (put it where the caller's thread reads, so callbacks
 * run there).
 */
#include <stdlib.h>

#include "pipeline/reader.h"

static ssize_t
count_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    if (n > 0)
        atomic_fetch_add((atomic_uint_fast64_t *)r->state, (uint64_t)n);
    return n;
}

static const struct cocoimg__reader_ops count_ops = {
    .name = "count", .read = count_read, .same_bytes = true};

int
cocoimg__reader_count(cocoimg__reader **out, cocoimg__reader *in, atomic_uint_fast64_t *counter,
                      cocoimg_error **err)
{
    return cocoimg__reader_new(out, &count_ops, counter, in, err);
}

struct notify {
    int (*fn)(void *payload, bool eof, cocoimg_error **err);
    void *payload;
};

static ssize_t
notify_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct notify *nt = r->state;
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    if (n < 0)
        return n;
    int e = nt->fn(nt->payload, n == 0, err);
    return e < 0 ? e : n;
}

static void
notify_free(cocoimg__reader *r)
{
    free(r->state);
}

static const struct cocoimg__reader_ops notify_ops = {
    .name = "notify", .read = notify_read, .free = notify_free, .same_bytes = true};

int
cocoimg__reader_notify(cocoimg__reader **out, cocoimg__reader *in,
                       int (*fn)(void *payload, bool eof, cocoimg_error **err), void *payload,
                       cocoimg_error **err)
{
    struct notify *nt = malloc(sizeof(*nt));
    if (!nt) {
        cocoimg__reader_free(in);
        return cocoimg__error_oom(err);
    }
    nt->fn = fn;
    nt->payload = payload;
    return cocoimg__reader_new(out, &notify_ops, nt, in, err);
}
