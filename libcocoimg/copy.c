/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cocoimg/reference.h>

#include "registry/regconf.h"
#include "copy.h"
#include "resolve.h"
#include "signatures/check.h"
#include "signatures/sign.h"
#include "transport/transport.h"
#include "util/context.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

struct copy_state {
    cocoimg_context *ctx;
    cocoimg__source *src;
    cocoimg__dest *dst;
    const struct cocoimg__copy_hooks *hooks;
    cocoimg__copy_signer *signer; /* NULL: no signing */
    /* layers in flight (copy_layers) */
    size_t jobs; /* at most this many at once; 1: one after the other, on the caller's thread */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a job finished */
    atomic_int cancel;   /* set by the copy's first failure: every stream stops */
    int rc;              /* that failure */
    cocoimg_error *error;
};

int
cocoimg_copy_options_init(cocoimg_copy_options *opts, unsigned int version)
{
    if (!COCOIMG__VERSION_OK(version, COCOIMG_COPY_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    cocoimg_copy_options def = COCOIMG_COPY_OPTIONS_INIT;
    /* only the prefix a caller of @p version has */
    size_t n = version >= 3   ? sizeof(def)
               : version == 2 ? offsetof(cocoimg_copy_options, sign_by_sigstore_private_key)
                              : offsetof(cocoimg_copy_options, sign_by);
    memcpy(opts, &def, n);
    opts->version = version;
    return 0;
}

/*
 * Blobs this large get the stages before and after the hand-over point run
 * on two cores (cocoimg__reader_async); smaller ones are not worth a thread.
 */
#define ASYNC_MIN_SIZE (4 * 1024 * 1024)

/*
 * Progress of one layer: the count stage adds what the source side read
 * (maybe on another thread); the notify stage, read by the destination on
 * the caller's thread, reports it at most every 100 ms and at the end.
 */
struct layer_progress {
    struct copy_state *st;
    size_t idx, count;
    char digest[COCOIMG_DIGEST_STRMAX];
    int64_t total;
    atomic_uint_fast64_t done;
    uint64_t reported;
    struct timespec last;
};

static int
progress_event(struct layer_progress *lp, cocoimg_progress_kind kind, cocoimg_error **err)
{
    cocoimg_progress_event ev = {
        .kind = kind,
        .operation = lp->st->hooks && lp->st->hooks->name ? lp->st->hooks->name : "copy",
        .digest = lp->digest,
        .index = lp->idx,
        .count = lp->count,
        .done = atomic_load(&lp->done),
        .total = lp->total,
    };
    return cocoimg__progress(lp->st->ctx, &ev, err);
}

static int
progress_notify(void *payload, bool eof, cocoimg_error **err)
{
    struct layer_progress *lp = payload;
    uint64_t done = atomic_load(&lp->done);
    if (eof || done == lp->reported)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (now.tv_sec - lp->last.tv_sec) * 1000 + (now.tv_nsec - lp->last.tv_nsec) / 1000000;
    if (ms < 100 && (lp->total < 0 || done < (uint64_t)lp->total))
        return 0;
    lp->last = now;
    lp->reported = done;
    return progress_event(lp, COCOIMG_PROGRESS_LAYER_DATA, err);
}

/* The count stage on @p in (before the async hand-over), when progress is wanted. */
static int
progress_count(struct layer_progress *lp, cocoimg__reader **in, cocoimg_error **err)
{
    if (!lp || !cocoimg__progress_wanted(lp->st->ctx))
        return 0;
    return cocoimg__reader_count(in, TAKE_PTR(*in), &lp->done, err);
}

/* The notify stage on @p out (what the destination reads). */
static int
progress_attach(struct layer_progress *lp, cocoimg__reader **out, cocoimg_error **err)
{
    if (!lp || !cocoimg__progress_wanted(lp->st->ctx))
        return 0;
    return cocoimg__reader_notify(out, TAKE_PTR(*out), progress_notify, lp, err);
}

/* @p split false: other layers in flight keep the cores busy (split_layer()). */
static int
maybe_async(cocoimg__reader **r, int64_t size, bool split, cocoimg_error **err)
{
    if (size >= 0 && (size < ASYNC_MIN_SIZE || !split))
        return 0;
    return cocoimg__reader_async(r, TAKE_PTR(*r), err);
}

/* --- cancel stage: a layer's stream stops once another layer failed --- */

static ssize_t
cancel_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    const atomic_int *cancel = r->state;
    if (atomic_load(cancel))
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled");
    return cocoimg__reader_read(r->upstream, buf, len, err);
}

static const struct cocoimg__reader_ops cancel_ops = {
    .name = "cancel", .read = cancel_read, .same_bytes = true};

/* The source stream of @p d, checked against cancel and counted for progress. */
static int
open_blob(struct copy_state *st, const cocoimg__descriptor *d, struct layer_progress *lp,
          cocoimg__reader **out, cocoimg_error **err)
{
    cocoimg__reader *in = NULL;
    int r = cocoimg__source_get_blob(st->src, &d->digest, d->size, &in, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__reader_new(&in, &cancel_ops, &st->cancel, in, err)) < 0)
        return r;
    if ((r = progress_count(lp, &in, err)) < 0) {
        cocoimg__reader_free(in);
        return r;
    }
    *out = in;
    return 0;
}

/*
 * One blob on its way to the destination.  The caller's thread prepares it
 * (hooks, key unwrapping, the reader chain), a worker thread puts it
 * (cocoimg__dest_put_blob drives the whole chain), the caller's thread
 * completes it (descriptor, hooks->layer_done, progress).
 */
struct layer_job {
    struct layer_progress lp;        /* the stages point at it: jobs never move */
    cocoimg__reader *in;             /* the stream to put; NULL: nothing to put */
    const cocoimg__digest *expected; /* copied unchanged: its digest; NULL: transformed */
    int64_t expected_size;
    bool split;         /* a large stream runs over up to three threads (split_layer()) */
    bool skipped;       /* the destination had the blob */
    bool transformed;   /* in is the hook's stream: digest and size learnt while put */
    json_t *desc;       /* hooks: the layer's descriptor, maybe changed */
    void *hook_state;   /* hooks->layer's state of this layer */
    cocoimg__digest dg; /* what was put (transformed) */
    int64_t size;
    pthread_t thread;
    bool started;  /* a worker puts it */
    bool finished; /* the worker is done (under copy_state.lock) */
    bool reaped;
    bool primary; /* its failure was this copy's first */
    int rc;
    cocoimg_error *err;
};

static void
job_clear(struct copy_state *st, struct layer_job *j)
{
    cocoimg__reader_free(TAKE_PTR(j->in));
    json_decref(TAKE_PTR(j->desc));
    if (j->hook_state && st->hooks && st->hooks->layer_free)
        st->hooks->layer_free(st->hooks->payload, j->hook_state);
    j->hook_state = NULL;
    cocoimg_error_free(TAKE_PTR(j->err));
}

/*
 * A failure on the caller's thread: stop every layer.  The first failure
 * of the copy is the one reported (a worker's may have come first: the
 * caller's is then a consequence or a bystander and is dropped).
 */
static int
copy_fail(struct copy_state *st, int r, cocoimg_error **err)
{
    int zero = 0;
    cocoimg_error *e = err ? TAKE_PTR(*err) : NULL;
    if (atomic_compare_exchange_strong(&st->cancel, &zero, 1)) {
        st->rc = r;
        st->error = e;
    } else {
        cocoimg_error_free(e);
    }
    return r;
}

/* The result of the copy so far: 0, or the first failure, moved to *err. */
static int
copy_result(struct copy_state *st, cocoimg_error **err)
{
    if (st->rc >= 0)
        return 0;
    if (err && !*err)
        *err = TAKE_PTR(st->error);
    cocoimg_error_free(TAKE_PTR(st->error));
    return st->rc;
}

static void *
job_thread(void *arg)
{
    struct layer_job *j = arg;
    struct copy_state *st = j->lp.st;
    j->rc = cocoimg__dest_put_blob(st->dst, TAKE_PTR(j->in), j->expected, j->expected_size, &j->dg,
                                   &j->size, &j->err);
    if (j->rc < 0) {
        int zero = 0;
        j->primary = atomic_compare_exchange_strong(&st->cancel, &zero, 1);
    }
    pthread_mutex_lock(&st->lock);
    j->finished = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Put @p j's stream on this thread, with the progress reported as it flows. */
static int
job_put_here(struct copy_state *st, struct layer_job *j, cocoimg_error **err)
{
    int r = progress_attach(&j->lp, &j->in, err);
    if (r < 0)
        return r;
    return cocoimg__dest_put_blob(st->dst, TAKE_PTR(j->in), j->expected, j->expected_size, &j->dg,
                                  &j->size, err);
}

/* Prepare the copy of blob @p d unchanged (nothing to put when the destination has it). */
static int
prepare_blob(struct copy_state *st, const cocoimg__descriptor *d, struct layer_job *j,
             bool progress, cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&d->digest, ds);
    bool have = false;
    int r = cocoimg__dest_has_blob(st->dst, &d->digest, d->size, &have, err);
    if (r < 0)
        return r;
    if (have) {
        cocoimg__log(st->ctx, COCOIMG_LOG_DEBUG, "copy: blob %s already present", ds);
        j->skipped = true;
        return progress ? progress_event(&j->lp, COCOIMG_PROGRESS_LAYER_SKIPPED, err) : 0;
    }
    cocoimg__log(st->ctx, COCOIMG_LOG_INFO, "copy: blob %s (%lld bytes)", ds, (long long)d->size);
    cocoimg__reader *in = NULL;
    if ((r = open_blob(st, d, progress ? &j->lp : NULL, &in, err)) < 0)
        return r;
    /* source verification in one thread, destination hashing and writing in another */
    if ((r = maybe_async(&in, d->size, j->split, err)) < 0)
        return r;
    j->in = in;
    j->expected = &d->digest;
    j->expected_size = d->size;
    return 0;
}

/* Copy a blob (the config) unchanged, on this thread. */
static int
copy_blob(struct copy_state *st, const cocoimg__descriptor *d, cocoimg_error **err)
{
    struct layer_job j = {.lp = {.st = st}, .split = true};
    int r = prepare_blob(st, d, &j, false, err);
    if (r == 0 && j.in)
        r = cocoimg__dest_put_blob(st->dst, TAKE_PTR(j.in), j.expected, j.expected_size, NULL, NULL,
                                   err);
    job_clear(st, &j);
    return r;
}

/* Prepare layer @p idx of @p m on the caller's thread: hooks, keys, the reader chain. */
static int
prepare_layer(struct copy_state *st, const cocoimg__manifest *m, size_t idx, struct layer_job *j,
              cocoimg_error **err)
{
    const cocoimg__descriptor *ld = &m->layers[idx];
    j->lp = (struct layer_progress){.st = st, .idx = idx, .count = m->n_layers, .total = ld->size};
    cocoimg__digest_format(&ld->digest, j->lp.digest);
    clock_gettime(CLOCK_MONOTONIC, &j->lp.last);
    int r;
    if ((r = progress_event(&j->lp, COCOIMG_PROGRESS_LAYER_START, err)) < 0)
        return r;
    if (!st->hooks || !st->hooks->layer)
        return prepare_blob(st, ld, j, true, err);

    if (!(j->desc = json_deep_copy(ld->json)))
        return cocoimg__error_oom(err);
    bool stream = true;
    if (st->hooks->plan &&
        (r = st->hooks->plan(st->hooks->payload, m, idx, j->desc, &stream, err)) < 0)
        return r;
    if (!stream)
        return prepare_blob(st, ld, j, true, err);
    _cleanup_reader_ cocoimg__reader *in = NULL;
    if ((r = open_blob(st, ld, &j->lp, &in, err)) < 0)
        return r;
    /*
     * Three threads for a transformed layer: source read + verification,
     * the hook's stages (decrypt/encrypt + HMAC), destination hash + write.
     */
    if ((r = maybe_async(&in, ld->size, j->split, err)) < 0)
        return r;
    cocoimg__reader *out = NULL;
    r = st->hooks->layer(st->hooks->payload, m, idx, j->desc, &in, &out, &j->hook_state, err);
    if (r < 0) {
        cocoimg__reader_free(out);
        return r;
    }
    if (!out) {
        /* the hook left this layer alone: copied unchanged */
        cocoimg__reader_free(TAKE_PTR(in));
        atomic_store(&j->lp.done, 0);
        return prepare_blob(st, ld, j, true, err);
    }
    if ((r = maybe_async(&out, ld->size, j->split, err)) < 0)
        return r;
    j->in = out;
    j->transformed = true;
    return 0;
}

static int
set_digest_size(json_t *desc, const cocoimg__digest *d, int64_t size, cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(d, ds);
    if (json_object_set_new(desc, "digest", json_string(ds)) < 0 ||
        json_object_set_new(desc, "size", json_integer(size)) < 0)
        return cocoimg__error_oom(err);
    return 0;
}

/* Complete layer @p idx after its blob was put: descriptor, hooks, progress. */
static int
complete_layer(struct copy_state *st, const cocoimg__manifest *m, size_t idx, struct layer_job *j,
               json_t **new_desc, cocoimg_error **err)
{
    int r;
    if (j->transformed) {
        if ((r = set_digest_size(j->desc, &j->dg, j->size, err)) < 0)
            return r;
        if (st->hooks->layer_done &&
            (r = st->hooks->layer_done(st->hooks->payload, j->hook_state, j->desc, err)) < 0)
            return r;
    }
    if (!j->skipped && (r = progress_event(&j->lp, COCOIMG_PROGRESS_LAYER_DONE, err)) < 0)
        return r;
    if (j->desc && !json_equal(j->desc, m->layers[idx].json))
        *new_desc = TAKE_PTR(j->desc);
    return 0;
}

/* Wrap a layer's error with its index and digest. */
static int
layer_error(const cocoimg__manifest *m, size_t idx, int r, cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&m->layers[idx].digest, ds);
    return cocoimg__error_wrap(err, r, "layer %zu (%s)", idx, ds);
}

/*
 * Join the finished jobs among jobs[0..n) and complete them; with @p all,
 * wait for every started one, otherwise only until fewer than st->jobs run
 * (or the copy failed).  While waiting, the running layers' progress is
 * reported every 100 ms from this (the caller's) thread.
 */
static void
reap(struct copy_state *st, const cocoimg__manifest *m, struct layer_job *jobs, size_t n, bool all,
     json_t **changed)
{
    for (;;) {
        pthread_mutex_lock(&st->lock);
        size_t running = 0, fin = n;
        for (size_t i = 0; i < n; i++) {
            if (!jobs[i].started || jobs[i].reaped)
                continue;
            if (!jobs[i].finished)
                running++;
            else if (fin == n)
                fin = i;
        }
        if (fin == n) {
            if (running == 0 || (!all && (running < st->jobs || atomic_load(&st->cancel)))) {
                pthread_mutex_unlock(&st->lock);
                return;
            }
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += 100 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&st->cond, &st->lock, &until);
            pthread_mutex_unlock(&st->lock);
            for (size_t i = 0; i < n && !atomic_load(&st->cancel); i++) {
                if (!jobs[i].started || jobs[i].reaped)
                    continue;
                cocoimg_error *e = NULL;
                int r = progress_notify(&jobs[i].lp, false, &e);
                if (r < 0)
                    copy_fail(st, r, &e);
            }
            continue;
        }
        pthread_mutex_unlock(&st->lock);
        struct layer_job *j = &jobs[fin];
        pthread_join(j->thread, NULL);
        j->reaped = true;
        if (j->rc < 0) {
            if (j->primary) {
                st->rc = layer_error(m, fin, j->rc, &j->err);
                st->error = TAKE_PTR(j->err);
            }
        } else if (!atomic_load(&st->cancel)) {
            cocoimg_error *e = NULL;
            int r = complete_layer(st, m, fin, j, &changed[fin], &e);
            if (r < 0)
                copy_fail(st, layer_error(m, fin, r, &e), &e);
        }
        job_clear(st, j);
    }
}

/*
 * Whether layer @p idx's stream is split over threads (source verification,
 * transformation, destination: up to three): only when the layers in flight
 * beside it cannot keep the cores busy, that is when it holds more than
 * half of the bytes still to move (it, the later layers, and what the
 * running ones have left).  Otherwise each layer runs on one thread, its
 * bytes passing every stage while they are in that core's cache.
 */
static bool
split_layer(const struct copy_state *st, const cocoimg__manifest *m, struct layer_job *jobs,
            size_t idx)
{
    if (st->jobs <= 1 || m->layers[idx].size < 0)
        return true;
    uint64_t rest = 0;
    for (size_t k = idx; k < m->n_layers; k++) {
        if (m->layers[k].size < 0)
            return true;
        rest += (uint64_t)m->layers[k].size;
    }
    for (size_t k = 0; k < idx; k++) {
        if (!jobs[k].started || jobs[k].reaped || jobs[k].lp.total < 0)
            continue;
        uint64_t done = atomic_load(&jobs[k].lp.done);
        if ((uint64_t)jobs[k].lp.total > done)
            rest += (uint64_t)jobs[k].lp.total - done;
    }
    return 2 * (uint64_t)m->layers[idx].size > rest;
}

/*
 * Copy the layers of @p m, up to st->jobs at once; changed[i] gets the
 * rewritten descriptor of layer i when the hooks changed it.
 */
static int
copy_layers(struct copy_state *st, const cocoimg__manifest *m, json_t **changed,
            cocoimg_error **err)
{
    size_t n = m->n_layers, prepared = 0;
    struct layer_job *jobs = n ? calloc(n, sizeof(*jobs)) : NULL;
    if (n && !jobs)
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < n; i++) {
        if (st->jobs > 1)
            reap(st, m, jobs, prepared, false, changed);
        if (atomic_load(&st->cancel))
            break;
        struct layer_job *j = &jobs[i];
        prepared = i + 1;
        j->split = split_layer(st, m, jobs, i);
        cocoimg_error *e = NULL;
        int r = prepare_layer(st, m, i, j, &e);
        if (r == 0 && j->in && st->jobs > 1) {
            int te = pthread_create(&j->thread, NULL, job_thread, j);
            if (te == 0) {
                j->started = true;
                continue;
            }
            r = cocoimg__error_set(&e, COCOIMG_ERROR, te, "cannot start a copy thread");
        } else if (r == 0 && j->in) {
            r = job_put_here(st, j, &e);
        }
        if (r == 0)
            r = complete_layer(st, m, i, j, &changed[i], &e);
        job_clear(st, j);
        if (r < 0)
            copy_fail(st, layer_error(m, i, r, &e), &e);
    }
    reap(st, m, jobs, prepared, true, changed);
    for (size_t i = 0; i < prepared; i++)
        job_clear(st, &jobs[i]);
    free(jobs);
    return copy_result(st, err);
}

/*
 * Copy the image @p img (its config and layers) and store its manifest.
 * *out / *out_len get the bytes stored (a copy of the source bytes unless
 * rewritten), *mt_out its media type (static).
 */
static int
copy_image(struct copy_state *st, cocoimg__resolve_image *img, uint8_t **out, size_t *out_len,
           const char **mt_out, cocoimg_error **err)
{
    cocoimg__manifest *m = img->manifest;
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&m->config.digest, ds);
    char mds[COCOIMG_DIGEST_STRMAX], plat[200] = "";
    cocoimg__digest_format(&img->doc.digest, mds);
    if (img->entry && img->entry->os && img->entry->architecture)
        snprintf(plat, sizeof(plat), "%s/%s%s%s", img->entry->os, img->entry->architecture,
                 img->entry->variant ? "/" : "", img->entry->variant ? img->entry->variant : "");
    cocoimg_progress_event ev = {.kind = COCOIMG_PROGRESS_IMAGE,
                                 .operation =
                                     st->hooks && st->hooks->name ? st->hooks->name : "copy",
                                 .digest = mds,
                                 .platform = *plat ? plat : NULL,
                                 .count = m->n_layers,
                                 .total = -1};
    int r = cocoimg__progress(st->ctx, &ev, err);
    if (r < 0)
        return r;
    if ((r = copy_blob(st, &m->config, err)) < 0)
        return cocoimg__error_wrap(err, r, "config %s", ds);

    size_t n = m->n_layers;
    json_t **changed = n ? calloc(n, sizeof(*changed)) : NULL;
    if (n && !changed)
        return cocoimg__error_oom(err);
    r = copy_layers(st, m, changed, err);
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || changed[i];
    /* swap the new descriptors in only now: the views of m borrow the old ones */
    json_t *layers = json_object_get(m->root, "layers");
    for (size_t i = 0; i < n; i++) {
        if (changed[i] && r == 0 && json_array_set(layers, i, changed[i]) < 0)
            r = cocoimg__error_oom(err);
        json_decref(changed[i]);
    }
    free(changed);
    if (r < 0)
        return r;

    _cleanup_free_ uint8_t *bytes = NULL;
    size_t blen = img->doc.len;
    if (any) {
        if ((r = cocoimg__manifest_refresh(m, err)) < 0)
            return r;
        if (st->hooks->manifest && (r = st->hooks->manifest(st->hooks->payload, m->root, err)) < 0)
            return r;
        /* the hook may have converted the manifest (Docker -> OCI): validate it again */
        cocoimg__doc_kind k = cocoimg__doc_kind_of(cocoimg__json_str(m->root, "mediaType"));
        if (k != COCOIMG_DOC_UNKNOWN)
            m->kind = k;
        if ((r = cocoimg__manifest_refresh(m, err)) < 0)
            return r;
        char *s = NULL;
        if ((r = cocoimg__json_dump(&s, &blen, m->root, err)) < 0)
            return r;
        bytes = (uint8_t *)s;
    } else {
        if (!(bytes = malloc(blen ? blen : 1)))
            return cocoimg__error_oom(err);
        memcpy(bytes, img->doc.bytes, blen);
    }
    const char *mt = cocoimg__json_str(m->root, "mediaType");
    if (!mt)
        mt = cocoimg__doc_media_type(m->kind);
    cocoimg__digest dg;
    r = cocoimg__dest_put_manifest(st->dst, bytes, blen, mt, &dg, err);
    if (r < 0)
        return r;
    *mt_out = cocoimg__doc_media_type(m->kind);
    *out_len = blen;
    *out = TAKE_PTR(bytes);
    return 0;
}

/* Copy @p img, an entry of an index. */
static int
copy_entry(struct copy_state *st, cocoimg__resolve_image *img, uint8_t **out, size_t *out_len,
           const char **mt_out, cocoimg_error **err)
{
    int r = copy_image(st, img, out, out_len, mt_out, err);
    if (r < 0) {
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&img->doc.digest, ds);
        return cocoimg__error_wrap(err, r, "manifest %s", ds);
    }
    return 0;
}

/* Copy every image of the index of @p res, then the index (rewritten if an entry changed). */
static int
copy_all(struct copy_state *st, cocoimg__resolve *res, cocoimg_error **err)
{
    cocoimg__index *ix = cocoimg__resolve_index(res);
    const cocoimg__resolve_doc *top = cocoimg__resolve_top(res);
    const char *ix_mt = cocoimg__doc_media_type(cocoimg__resolve_top_kind(res));
    bool changed = false;
    int r;
    cocoimg__resolve_image *img;
    while ((img = cocoimg__resolve_next(res))) {
        json_t *entry = ix->manifests[img->entry_index].json;
        _cleanup_free_ uint8_t *mbuf = NULL;
        size_t mlen = 0;
        const char *mt = NULL;
        if ((r = copy_entry(st, img, &mbuf, &mlen, &mt, err)) < 0)
            return r;
        if ((r = cocoimg__copy_signer_sign(st->signer, mbuf, mlen, err)) < 0)
            return cocoimg__error_wrap(err, r, "signing manifest %zu", img->entry_index);
        cocoimg__digest dg;
        if ((r = cocoimg__digest_buffer(&dg, img->doc.digest.alg, mbuf, mlen, err)) < 0)
            return r;
        if (cocoimg__digest_equal(&dg, &img->doc.digest))
            continue;
        /* the manifest was rewritten: point the entry at the new one */
        if ((r = set_digest_size(entry, &dg, (int64_t)mlen, err)) < 0)
            return r;
        if (json_object_set_new(entry, "mediaType", json_string(mt)) < 0)
            return cocoimg__error_oom(err);
        changed = true;
    }
    _cleanup_free_ char *nbuf = NULL;
    size_t nlen = top->len;
    if (changed) {
        if ((r = cocoimg__index_refresh(ix, err)) < 0)
            return r;
        if ((r = cocoimg__json_dump(&nbuf, &nlen, ix->root, err)) < 0)
            return r;
    }
    const uint8_t *out = changed ? (const uint8_t *)nbuf : top->bytes;
    cocoimg__digest dg;
    if ((r = cocoimg__dest_put_manifest(st->dst, out, nlen, ix_mt, &dg, err)) < 0)
        return cocoimg__error_wrap(err, r, "index");
    if ((r = cocoimg__copy_signer_sign(st->signer, out, nlen, err)) < 0)
        return cocoimg__error_wrap(err, r, "signing the index");
    return cocoimg__dest_commit(st->dst, out, nlen, ix_mt, err);
}

static void
copy_state_init(struct copy_state *st)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&st->lock, NULL);
}

static void
copy_state_fini(struct copy_state *st)
{
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->lock);
    cocoimg_error_free(st->error);
}

int
cocoimg__copy_internal(cocoimg_context *ctx, const char *src, const char *dst,
                       const cocoimg_copy_options *opts, const struct cocoimg__copy_hooks *hooks,
                       cocoimg_error **err)
{
    cocoimg_copy_options def = COCOIMG_COPY_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    if (!COCOIMG__VERSION_OK(opts->version, COCOIMG_COPY_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "copy: unsupported options version %u",
                                  opts->version);
    cocoimg__resolve_options ro;
    int r = cocoimg__resolve_options_init(&ro, opts->platform, opts->all, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "copy");
    if (hooks && hooks->check) {
        ro.check = hooks->check;
        ro.check_payload = hooks->payload;
    }
    /* the signature policy of the context wins over a hook's check */
    cocoimg__policy_install(&ro, ctx);

    _cleanup_(cocoimg_reference_freep) cocoimg_reference *sref = NULL;
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *dref = NULL;
    if ((r = cocoimg__reference_parse_ctx(&sref, ctx, src, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy: source");
    if ((r = cocoimg__reference_parse_ctx(&dref, ctx, dst, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy: destination");

    _cleanup_(cocoimg__copy_signer_freep) cocoimg__copy_signer *signer = NULL;
    if ((r = cocoimg__copy_signer_new(&signer, ctx, opts, dref, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy");
    _cleanup_(copy_state_fini) struct copy_state st = {
        .ctx = ctx, .hooks = hooks, .signer = signer, .jobs = 1};
    copy_state_init(&st);
    _cleanup_source_ cocoimg__source *s = NULL;
    if ((r = cocoimg__source_open(&s, ctx, sref, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy: source");
    st.src = s;

    /* every manifest is resolved and validated before anything is created at dst */
    _cleanup_resolve_ cocoimg__resolve *res = NULL;
    if ((r = cocoimg__resolve_open(&res, s, sref, &ro, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy: source");

    _cleanup_dest_ cocoimg__dest *d = NULL;
    if ((r = cocoimg__dest_open(&d, ctx, dref, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy: destination");
    st.dst = d;
    /* layers at once: what both ends take (the larger of their figures) */
    unsigned int ps = s->ops->parallel, pd = d->ops->parallel;
    if (ps && pd)
        st.jobs = ps > pd ? ps : pd;
    if ((r = cocoimg__dest_set_source(d, s, err)) < 0)
        return cocoimg__error_wrap(err, r, "copy: destination");

    if (cocoimg__resolve_index(res) && opts->all) {
        r = copy_all(&st, res, err);
    } else {
        _cleanup_free_ uint8_t *mbuf = NULL;
        size_t mlen = 0;
        const char *mt = NULL;
        cocoimg__resolve_image *img = cocoimg__resolve_next(res);
        if (img->entry)
            r = copy_entry(&st, img, &mbuf, &mlen, &mt, err);
        else
            r = copy_image(&st, img, &mbuf, &mlen, &mt, err);
        if (r == 0)
            r = cocoimg__copy_signer_sign(st.signer, mbuf, mlen, err);
        if (r == 0)
            r = cocoimg__dest_commit(d, mbuf, mlen, mt, err);
    }
    if (r < 0)
        return cocoimg__error_wrap(err, r, "copy");
    cocoimg__log(ctx, COCOIMG_LOG_INFO, "copy: %s -> %s done", src, dst);
    return 0;
}

int
cocoimg_copy(cocoimg_context *ctx, const char *src, const char *dst,
             const cocoimg_copy_options *opts, cocoimg_error **err)
{
    return cocoimg__copy_internal(ctx, src, dst, opts, NULL, err);
}
