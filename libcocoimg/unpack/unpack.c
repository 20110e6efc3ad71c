/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cocoimg_unpack(): source -> resolve (top-level document -> platform ->
 * manifest -> config; resolve.h) -> per layer one stream (blob verify ->
 * [decrypt] -> decompress -> diffID hash -> apply) -> config.json; all in
 * a staging directory renamed to BUNDLE at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cocoimg/reference.h>
#include <cocoimg/unpack.h>

#include "registry/regconf.h"
#include "crypt/config.h"
#include "crypt/layer.h"
#include "oci/model.h"
#include "resolve.h"
#include "signatures/check.h"
#include "transport/transport.h"
#include "unpack/apply.h"
#include "unpack/runtime.h"
#include "util/context.h"
#include "util/fs.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

int
cocoimg_unpack_options_init(cocoimg_unpack_options *opts, unsigned int version)
{
    if (!COCOIMG__VERSION_OK(version, COCOIMG_UNPACK_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    cocoimg_unpack_options def = COCOIMG_UNPACK_OPTIONS_INIT;
    *opts = def;
    return 0;
}

/*
 * Threads of one unpack:
 *
 * - the applier (the caller's thread) takes the layers strictly in order.
 *   A layer nobody fetched yet is streamed straight from the source:
 *     blob (digest verified) -> cancel -> [[async] -> decrypt] -> count ->
 *     [async] -> decompress -> diffID hash -> salvage -> [async] -> report
 *     -> apply
 *   so network + verification, decryption (+ HMAC), decompression +
 *   hashing and tar application run on separate cores (the first async
 *   only for a large encrypted layer); a prefetched layer is read from
 *   its staged file through the same chain.  Only the applier calls the
 *   progress callback (report stage) and the key-unwrap callback.
 * - jobs - 1 workers (registries only) fetch the layers after the one being
 *   applied into staged files ".layer-N" in the staging directory, verified
 *   against their digest while written, so the applier finds them on disk.
 *
 * Disk use is bounded: a layer is "held" from the moment a worker starts
 * staging it until the applier has finished applying it (its unlinked file
 * is only freed then).  Workers hold at most `jobs` layers and
 * `prefetch_max_bytes` bytes (declared sizes: the blob reader enforces
 * them); a worker waits on `cond` before starting a layer that does not fit,
 * and never while downloading.  A layer larger than the whole budget is left
 * to the applier, which streams it.  So the layer the applier needs next is
 * always pending (it streams it), being downloaded by a worker that does not
 * wait, or staged: the applier never waits for a waiting worker.
 *
 * Every thread works through bounded buffers: memory does not grow with the
 * layer size.  The first error anywhere sets `cancel`; every stream checks
 * it, and the caller's options.cancel flag, on each read, so all threads
 * stop promptly and the caller removes the staging directory.
 */

struct pull;
static bool cancelled(const struct pull *p);

/* --- cancel stage: stops a stream once another thread failed or the caller cancelled --- */

static ssize_t
cancel_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    if (cancelled(r->state))
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled");
    return cocoimg__reader_read(r->upstream, buf, len, err);
}

static ssize_t
cancel_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err)
{
    if (cancelled(r->state))
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled");
    return cocoimg__reader_peek(r->upstream, ptr, max, err);
}

static const struct cocoimg__reader_ops cancel_ops = {.name = "cancel",
                                                      .read = cancel_read,
                                                      .peek = cancel_peek,
                                                      .peek_through = true,
                                                      .same_bytes = true};

/* --- count stage (any thread) and report stage (the applier) --- */

struct progress {
    const cocoimg_unpack_options *opts;
    size_t layer;
    uint64_t total;
    uint64_t reported;
    atomic_uint_fast64_t done; /* blob bytes read, updated by the count stage */
    const cocoimg_context *ctx;
    size_t count;
    const char *digest;
    int64_t size; /* the blob's declared size (-1: unknown) */
};

/* A progress event of layer @p p to the context's callback. */
static int
layer_event(struct progress *p, cocoimg_progress_kind kind, uint64_t done, cocoimg_error **err)
{
    cocoimg_progress_event ev = {.kind = kind,
                                 .operation = "unpack",
                                 .digest = p->digest,
                                 .index = p->layer,
                                 .count = p->count,
                                 .done = done,
                                 .total = p->size};
    return cocoimg__progress(p->ctx, &ev, err);
}

static ssize_t
count_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct progress *p = r->state;
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    if (n > 0)
        atomic_fetch_add(&p->done, (uint64_t)n);
    return n;
}

static const struct cocoimg__reader_ops count_ops = {.name = "count", .read = count_read};

static int
report(struct progress *p, cocoimg_error **err)
{
    uint64_t done = atomic_load(&p->done);
    if ((!p->opts->progress && !cocoimg__progress_wanted(p->ctx)) ||
        (done == p->reported && done != 0))
        return 0;
    p->reported = done;
    if (p->opts->progress &&
        p->opts->progress(p->layer, done, p->total, p->opts->progress_payload) != 0)
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled by the progress callback");
    return done ? layer_event(p, COCOIMG_PROGRESS_LAYER_DATA, done, err) : 0;
}

static ssize_t
report_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    if (n < 0)
        return n;
    int e = report(r->state, err);
    return e < 0 ? e : n;
}

static ssize_t
report_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err)
{
    ssize_t n = cocoimg__reader_peek(r->upstream, ptr, max, err);
    if (n < 0)
        return n;
    int e = report(r->state, err);
    return e < 0 ? e : n;
}

static const struct cocoimg__reader_ops report_ops = {.name = "report",
                                                      .read = report_read,
                                                      .peek = report_peek,
                                                      .peek_through = true,
                                                      .same_bytes = true};

/*
 * --- salvage stage: the verdict of a broken stream ---
 *
 * A tampered blob usually breaks the decompressor before the digest (or
 * HMAC) verdict at its EOF.  When the stream below fails, read the rest of
 * the compressed stream @p raw (in this thread: the decompressor no longer
 * reads it) so a mismatch is reported as such rather than as bad data.
 */

struct salvage {
    cocoimg__reader *raw; /* borrowed: part of the upstream chain */
    const atomic_int *cancel;
};

static ssize_t
salvage_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct salvage *s = r->state;
    cocoimg_error *e = NULL;
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, &e);
    if (n >= 0 || n == COCOIMG_EDIGEST || n == COCOIMG_EAUTH || n == COCOIMG_EUSER ||
        atomic_load(s->cancel)) {
        if (err && !*err)
            *err = e;
        else
            cocoimg_error_free(e);
        return n;
    }
    cocoimg_error *derr = NULL;
    int dr = cocoimg__reader_drain(s->raw, NULL, &derr);
    if (dr == COCOIMG_EDIGEST || dr == COCOIMG_EAUTH) {
        cocoimg_error_free(e);
        e = TAKE_PTR(derr);
        n = dr;
    }
    cocoimg_error_free(derr);
    if (err && !*err)
        *err = e;
    else
        cocoimg_error_free(e);
    return n;
}

static void
salvage_free(cocoimg__reader *r)
{
    free(r->state);
}

static const struct cocoimg__reader_ops salvage_ops = {
    .name = "salvage", .read = salvage_read, .free = salvage_free};

/* --- the bundle --- */

/* 0 if @p bundle is absent or an empty directory; COCOIMG_EEXISTS otherwise. */
static int
check_bundle(const char *bundle, cocoimg_error **err)
{
    struct stat st;
    if (lstat(bundle, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "bundle '%s'", bundle);
    }
    if (!S_ISDIR(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EEXISTS, 0, "bundle '%s' exists", bundle);
    _cleanup_close_ int fd = open(bundle, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "bundle '%s'", bundle);
    fd = -1;
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    if (!empty)
        return cocoimg__error_set(err, COCOIMG_EEXISTS, 0, "bundle '%s' exists and is not empty",
                                  bundle);
    return 0;
}

enum layer_state {
    LAYER_PENDING,  /* nobody took it yet */
    LAYER_FETCHING, /* a worker stages it */
    LAYER_STAGED,   /* complete and verified in its staged file */
    LAYER_TAKEN,    /* the applier has it */
};

struct pull {
    cocoimg_context *ctx;
    const cocoimg_unpack_options *opts;
    cocoimg__source *src;
    const cocoimg__manifest *m;
    const cocoimg__config *c;
    int sfd;                      /* staging directory */
    int rootfd;                   /* staging/rootfs */
    cocoimg__crypt_config *crypt; /* built at the first encrypted layer (applier) */

    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum layer_state *state; /* per layer */
    bool *held;              /* per layer: counted in n_held / held_bytes */
    size_t next_fetch;       /* workers take layers from here on */
    size_t n_held, max_held; /* layers held by the prefetch and their cap */
    uint64_t held_bytes, budget, peak_bytes;
    atomic_int cancel;
    int first_r; /* the first error (0: none) and its message */
    cocoimg_error *first_err;
};

/*
 * Blobs this large get their stages spread over threads (async);
 * for smaller ones a thread costs more than it saves.
 */
#define ASYNC_MIN_SIZE (4 * 1024 * 1024)

/* An error elsewhere, or the caller's flag (options.cancel, maybe set by a signal handler). */
static bool
cancelled(const struct pull *p)
{
    return atomic_load(&p->cancel) || (p->opts->cancel && *p->opts->cancel);
}

/* The most bytes layer @p idx may decompress to (options.max_layer_bytes). */
static uint64_t
layer_limit(const struct pull *p, size_t idx)
{
    if (p->opts->max_layer_bytes)
        return p->opts->max_layer_bytes;
    int64_t size = p->m->layers[idx].size;
    uint64_t lim = COCOIMG_UNPACK_DEFAULT_MIN_LAYER_BYTES;
    if (size > 0 && (uint64_t)size > lim / COCOIMG_UNPACK_DEFAULT_LAYER_RATIO)
        lim = (uint64_t)size > UINT64_MAX / COCOIMG_UNPACK_DEFAULT_LAYER_RATIO
                  ? UINT64_MAX
                  : (uint64_t)size * COCOIMG_UNPACK_DEFAULT_LAYER_RATIO;
    return lim;
}

static void
staged_name(char *buf, size_t len, size_t idx)
{
    snprintf(buf, len, ".layer-%zu", idx);
}

/*
 * Record an error (the first one wins; an EUSER "cancelled" caused by an
 * earlier error is dropped) and stop every thread.
 */
static void
fail(struct pull *p, int r, cocoimg_error *e)
{
    pthread_mutex_lock(&p->lock);
    if (p->first_r == 0) {
        p->first_r = r;
        p->first_err = e;
        e = NULL;
    }
    atomic_store(&p->cancel, 1);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    cocoimg_error_free(e);
}

/* Decryption keys of opts->crypt (keys, PKCS7 certificates, GnuPG, key provider). */
static int
crypt_config(struct pull *p, cocoimg_error **err)
{
    if (p->crypt)
        return 0;
    _cleanup_(cocoimg__crypt_config_freep) cocoimg__crypt_config *cfg = NULL;
    int r = cocoimg__crypt_config_from_options(&cfg, p->opts->crypt, COCOIMG__CRYPT_UNPACK, err);
    if (r < 0)
        return r;
    p->crypt = TAKE_PTR(cfg);
    return 0;
}

/* --- workers --- */

/* Stage layer @p idx into its file, verified against its digest. */
static int
fetch_layer(struct pull *p, size_t idx, cocoimg_error **err)
{
    const cocoimg__descriptor *ld = &p->m->layers[idx];
    char name[32];
    staged_name(name, sizeof(name), idx);
    cocoimg__reader *in = NULL;
    int r = cocoimg__source_get_blob(p->src, &ld->digest, ld->size, &in, err);
    if (r < 0)
        return r;
    _cleanup_reader_ cocoimg__reader *chain = in;
    if ((r = cocoimg__reader_new(&chain, &cancel_ops, p, TAKE_PTR(chain), err)) < 0)
        return r;
    _cleanup_close_ int fd = openat(p->sfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "create '%s'", name);
    if ((r = cocoimg__reader_to_scratch_fd(chain, fd, NULL, err)) < 0) {
        (void)unlinkat(p->sfd, name, 0);
        return r;
    }
    return 0;
}

/* Whether layer @p idx may ever be prefetched (it fits the budget on its own). */
static bool
prefetchable(const struct pull *p, size_t idx)
{
    int64_t sz = p->m->layers[idx].size;
    return sz >= 0 && (uint64_t)sz <= p->budget;
}

/* The applier is done with layer @p idx: give back what it held.  Under lock. */
static void
release_layer(struct pull *p, size_t idx)
{
    if (!p->held[idx])
        return;
    p->held[idx] = false;
    p->n_held--;
    p->held_bytes -= (uint64_t)p->m->layers[idx].size;
    pthread_cond_broadcast(&p->cond);
}

static void *
worker(void *arg)
{
    struct pull *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!atomic_load(&p->cancel)) {
        size_t i = p->next_fetch;
        while (i < p->m->n_layers && (p->state[i] != LAYER_PENDING || !prefetchable(p, i)))
            i++;
        if (i >= p->m->n_layers)
            break;
        uint64_t sz = (uint64_t)p->m->layers[i].size;
        if (p->n_held >= p->max_held || sz > p->budget - p->held_bytes) {
            /*
             * Not before the applier consumed some: layer i stays pending,
             * so the applier streams it itself if it gets there first.
             */
            pthread_cond_wait(&p->cond, &p->lock);
            continue;
        }
        p->state[i] = LAYER_FETCHING;
        p->held[i] = true;
        p->n_held++;
        p->held_bytes += sz;
        if (p->held_bytes > p->peak_bytes)
            p->peak_bytes = p->held_bytes;
        pthread_mutex_unlock(&p->lock);

        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&p->m->layers[i].digest, ds);
        cocoimg__log(p->ctx, COCOIMG_LOG_DEBUG, "unpack: prefetching layer %zu %s", i, ds);
        cocoimg_error *e = NULL;
        int r = fetch_layer(p, i, &e);
        if (r < 0) {
            cocoimg__error_wrap(&e, r, "layer %zu (%s)", i, ds);
            fail(p, r, e);
            pthread_mutex_lock(&p->lock);
            break;
        }
        pthread_mutex_lock(&p->lock);
        p->state[i] = LAYER_STAGED;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* --- the applier --- */

/*
 * Take layer @p idx: *in gets a reader over its blob, from its staged file
 * (unlinked at once: the space goes with the reader) or from the source.
 */
static int
take_layer(struct pull *p, size_t idx, cocoimg__reader **in, cocoimg_error **err)
{
    const cocoimg__descriptor *ld = &p->m->layers[idx];
    pthread_mutex_lock(&p->lock);
    if (p->next_fetch <= idx)
        p->next_fetch = idx + 1;
    while (p->state[idx] == LAYER_FETCHING && !atomic_load(&p->cancel))
        pthread_cond_wait(&p->cond, &p->lock);
    bool staged = p->state[idx] == LAYER_STAGED;
    p->state[idx] = LAYER_TAKEN;
    /* next_fetch moved: a waiting worker may now pick another layer */
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (atomic_load(&p->cancel))
        return cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled");
    if (!staged) {
        if (p->max_held && idx > 0 && !prefetchable(p, idx))
            cocoimg__log(p->ctx, COCOIMG_LOG_DEBUG,
                         "unpack: layer %zu streamed: larger than the prefetch budget", idx);
        return cocoimg__source_get_blob(p->src, &ld->digest, ld->size, in, err);
    }
    char name[32];
    staged_name(name, sizeof(name), idx);
    int r = cocoimg__reader_file(in, p->sfd, name, err);
    (void)unlinkat(p->sfd, name, 0);
    /*
     * Not verified again: it is the verified blob in a file (0600) of our
     * own staging directory, and the diffID check covers what is applied.
     */
    return r;
}

static int
unpack_layer(struct pull *p, size_t idx, cocoimg_error **err)
{
    const cocoimg__descriptor *ld = &p->m->layers[idx];
    const cocoimg__digest *diff_id = &p->c->diff_ids[idx];
    cocoimg__layer_type lt;
    int r = cocoimg__layer_type_parse(&lt, ld->media_type, err);
    if (r < 0)
        return r;
    if (lt.encrypted && (r = crypt_config(p, err)) < 0)
        return r;
    bool big = ld->size < 0 || ld->size >= ASYNC_MIN_SIZE;

    /* declared before the chain: the stages point at it until the chain is freed */
    char lds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&ld->digest, lds);
    struct progress prog = {
        p->opts, idx,     ld->size > 0 ? (uint64_t)ld->size : 0, 0, 0, p->ctx, p->m->n_layers,
        lds,     ld->size};
    if ((r = layer_event(&prog, COCOIMG_PROGRESS_LAYER_START, 0, err)) < 0 ||
        (r = report(&prog, err)) < 0)
        return r;
    /* the key options of the decrypting stage outlive the chain */
    _cleanup_(cocoimg__layer_crypt_freep) cocoimg__layer_crypt *lc = NULL;
    cocoimg__reader *in = NULL;
    if ((r = take_layer(p, idx, &in, err)) < 0)
        return r;
    _cleanup_reader_ cocoimg__reader *chain = in;
    if ((r = cocoimg__reader_new(&chain, &cancel_ops, p, TAKE_PTR(chain), err)) < 0)
        return r;
    /*
     * A large encrypted layer streamed from its source is hashed twice on
     * the way in (its digest, then the HMAC after the decryption): the
     * digest gets a thread of its own, so each of those threads does one
     * pass.  A staged layer was verified when it was written.
     */
    if (lt.encrypted && big && cocoimg__reader_checks(chain, &ld->digest, -1) &&
        (r = cocoimg__reader_async(&chain, TAKE_PTR(chain), err)) < 0)
        return r;
    /* the decrypting stream gives the HMAC verdict (COCOIMG_EAUTH) at its EOF */
    if (lt.encrypted &&
        (r = cocoimg__layer_decrypt_begin(&lc, p->ctx, p->crypt, ld->json, &chain, err)) < 0)
        return r;
    if ((r = cocoimg__reader_new(&chain, &count_ops, &prog, TAKE_PTR(chain), err)) < 0)
        return r;
    if (big && (r = cocoimg__reader_async(&chain, TAKE_PTR(chain), err)) < 0)
        return r;
    cocoimg__reader *raw = chain;
    unsigned int dflags =
        cocoimg__context_flags(p->ctx) & COCOIMG_CONTEXT_NO_ISAL ? COCOIMG__DECOMPRESS_NO_ISAL : 0;
    if ((r = cocoimg__reader_decompress(&chain, TAKE_PTR(chain), lt.compression, dflags, err)) < 0)
        return r;
    /* a decompression bomb with a valid digest stops here, before it fills the disk */
    uint64_t max_tar = layer_limit(p, idx);
    if (max_tar != UINT64_MAX && (r = cocoimg__reader_limit(&chain, TAKE_PTR(chain), max_tar,
                                                            "the decompressed layer", err)) < 0)
        return r;
    cocoimg__digest got;
    uint64_t tar_size = 0;
    if ((r = cocoimg__reader_hash(&chain, TAKE_PTR(chain), diff_id->alg, &got, &tar_size, err)) < 0)
        return r;
    struct salvage *sv = malloc(sizeof(*sv));
    if (!sv)
        return cocoimg__error_oom(err);
    *sv = (struct salvage){raw, &p->cancel};
    if ((r = cocoimg__reader_new(&chain, &salvage_ops, sv, TAKE_PTR(chain), err)) < 0)
        return r;
    /*
     * A small blob may decompress to a large tar (the compressible layer of
     * an image): its applier gets a thread of its own once the tar passed
     * ASYNC_MIN_SIZE, so the decompressing and hashing do not share a core
     * with the tar application.
     */
    if ((big || lt.compression != COCOIMG_COMPRESSION_NONE) &&
        (r = cocoimg__reader_async_after(&chain, TAKE_PTR(chain), big ? 0 : ASYNC_MIN_SIZE, err)) <
            0)
        return r;
    if ((r = cocoimg__reader_new(&chain, &report_ops, &prog, TAKE_PTR(chain), err)) < 0)
        return r;

    cocoimg__apply_stats stats = {0};
    cocoimg__apply_options aopts = {.keep_setid = p->opts->flags & COCOIMG_UNPACK_KEEP_SETID};
    cocoimg_error *aerr = NULL;
    if ((r = cocoimg__unpack_apply(p->ctx, p->rootfd, chain, &aopts, &stats, &aerr)) < 0) {
        /*
         * The tar parser gave up (bad data): read the rest so a digest or
         * HMAC mismatch upstream is reported as such (salvage covers a
         * broken decompressor).
         */
        if (r != COCOIMG_EDIGEST && r != COCOIMG_EAUTH && r != COCOIMG_EUSER &&
            !atomic_load(&p->cancel)) {
            cocoimg_error *derr = NULL;
            int dr = cocoimg__reader_drain(chain, NULL, &derr);
            if (dr == COCOIMG_EDIGEST || dr == COCOIMG_EAUTH) {
                cocoimg_error_free(aerr);
                aerr = TAKE_PTR(derr);
                r = dr;
            }
            cocoimg_error_free(derr);
        }
        if (err && !*err)
            *err = aerr;
        else
            cocoimg_error_free(aerr);
        return r;
    }
    cocoimg__reader_free(TAKE_PTR(chain)); /* joins the stage threads */
    if (!cocoimg__digest_equal(&got, diff_id)) {
        char want[COCOIMG_DIGEST_STRMAX], have[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(diff_id, want);
        cocoimg__digest_format(&got, have);
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "diffID %s does not match the config's %s", have, want);
    }
    prog.reported = UINT64_MAX; /* the final call happens even if nothing changed */
    if ((r = report(&prog, err)) < 0 ||
        (r = layer_event(&prog, COCOIMG_PROGRESS_LAYER_DONE, atomic_load(&prog.done), err)) < 0)
        return r;
    cocoimg__log(p->ctx, COCOIMG_LOG_DEBUG,
                 "unpack: layer %zu: %llu entries, %llu whiteouts, %llu skipped, %llu tar bytes",
                 idx, (unsigned long long)stats.entries, (unsigned long long)stats.whiteouts,
                 (unsigned long long)stats.skipped, (unsigned long long)tar_size);
    return 0;
}

/* Apply every layer in order, with @p n_workers prefetching ahead. */
static int
apply_layers(struct pull *p, unsigned int n_workers, cocoimg_error **err)
{
    size_t n = p->m->n_layers;
    pthread_t *threads = NULL;
    unsigned int started = 0;
    if (n_workers > n)
        n_workers = (unsigned int)n;
    if (n_workers > 0 && !(threads = calloc(n_workers, sizeof(*threads))))
        return cocoimg__error_oom(err);
    p->next_fetch = 1; /* the applier streams layer 0 itself */
    p->max_held = n_workers ? n_workers + 1 : 0;
    for (; started < n_workers; started++) {
        int e = pthread_create(&threads[started], NULL, worker, p);
        if (e) {
            fail(p, COCOIMG_ERROR, NULL);
            cocoimg__error_set(err, COCOIMG_ERROR, e, "cannot start a download thread");
            break;
        }
    }
    for (size_t i = 0; i < n && !atomic_load(&p->cancel); i++) {
        if (cancelled(p)) {
            cocoimg_error *ce = NULL;
            int cr = cocoimg__error_set(&ce, COCOIMG_EUSER, 0, "cancelled");
            fail(p, cr, ce);
            break;
        }
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&p->m->layers[i].digest, ds);
        cocoimg__log(p->ctx, COCOIMG_LOG_INFO, "unpack: layer %zu/%zu %s", i + 1, n, ds);
        cocoimg_error *e = NULL;
        int r = unpack_layer(p, i, &e);
        /* its chain is freed: the space of a staged file is given back */
        pthread_mutex_lock(&p->lock);
        release_layer(p, i);
        pthread_mutex_unlock(&p->lock);
        if (r < 0) {
            cocoimg__error_wrap(&e, r, "layer %zu (%s)", i, ds);
            fail(p, r, e);
        }
    }
    /* nothing left to fetch; stop the workers either way (waiting ones too) */
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->cancel, 1);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (started)
        cocoimg__log(p->ctx, COCOIMG_LOG_DEBUG,
                     "unpack: prefetch peak %llu staged bytes (budget %llu bytes, %zu layers)",
                     (unsigned long long)p->peak_bytes, (unsigned long long)p->budget, p->max_held);
    if (p->first_r < 0) {
        if (err && !*err)
            *err = TAKE_PTR(p->first_err);
        return p->first_r;
    }
    return started < n_workers ? COCOIMG_ERROR : 0;
}

/* The config of the image @p res resolved to (verified), checked against its manifest. */
static int
load_config(cocoimg__resolve *res, const cocoimg__resolve_image *img, cocoimg__config **c_out,
            cocoimg_error **err)
{
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    int r = cocoimg__resolve_config(&c, NULL, NULL, res, img, err);
    if (r < 0)
        return r;
    if (c->n_diff_ids != img->manifest->n_layers)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "config has %zu diff_ids for %zu layers",
                                  c->n_diff_ids, img->manifest->n_layers);
    *c_out = TAKE_PTR(c);
    return 0;
}

static int
build(struct pull *u, const cocoimg__manifest *m, const cocoimg__config *c, const char *staging,
      unsigned int n_workers, cocoimg_error **err)
{
    int r;
    _cleanup_close_ int sfd = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", staging);
    if (mkdirat(sfd, "rootfs", 0755) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir rootfs");
    _cleanup_close_ int rootfd =
        openat(sfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* 0755 whatever the umask; layers never change it (their "./" entry is ignored) */
    if (rootfd < 0 || fchmod(rootfd, 0755) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open rootfs");
    u->rootfd = rootfd;
    u->sfd = sfd;
    u->m = m;
    u->c = c;
    if (m->n_layers && (!(u->state = calloc(m->n_layers, sizeof(*u->state))) ||
                        !(u->held = calloc(m->n_layers, sizeof(*u->held)))))
        return cocoimg__error_oom(err);
    if ((r = apply_layers(u, n_workers, err)) < 0)
        return r;

    _cleanup_json_ json_t *spec = NULL;
    if ((r = cocoimg__runtime_config(&spec, c, rootfd, err)) < 0)
        return r;
    _cleanup_free_ char *js = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!js)
        return cocoimg__error_oom(err);
    return cocoimg__write_file_atomic(sfd, "config.json", js, strlen(js), err);
}

int
cocoimg_unpack(cocoimg_context *ctx, const char *src, const char *bundle,
               const cocoimg_unpack_options *opts, cocoimg_error **err)
{
    cocoimg_unpack_options def = COCOIMG_UNPACK_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    if (!COCOIMG__VERSION_OK(opts->version, COCOIMG_UNPACK_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unpack: unsupported options version %u",
                                  opts->version);
    if (opts->jobs > COCOIMG_UNPACK_MAX_JOBS)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unpack: jobs %u exceeds the limit of %u",
                                  opts->jobs, COCOIMG_UNPACK_MAX_JOBS);
    if (!bundle || !*bundle)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unpack: empty bundle path");
    /* refuse crypt options unpack does not use instead of ignoring them */
    if (opts->crypt) {
        int rc = cocoimg__crypt_options_check(opts->crypt, COCOIMG__CRYPT_UNPACK, err);
        if (rc < 0)
            return cocoimg__error_wrap(err, rc, "unpack");
        const char *cp = opts->crypt->platform;
        if (cp && (!opts->platform || strcmp(cp, opts->platform) != 0))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "unpack: crypt option 'platform' does not apply to unpack "
                                      "(use the unpack options' platform)");
    }
    cocoimg__resolve_options ro;
    int r = cocoimg__resolve_options_init(&ro, opts->platform, false, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "unpack");
    cocoimg__policy_install(&ro, ctx);
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
    if ((r = cocoimg__reference_parse_ctx(&ref, ctx, src, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack: source");
    if ((r = check_bundle(bundle, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack");

    _cleanup_source_ cocoimg__source *s = NULL;
    if ((r = cocoimg__source_open(&s, ctx, ref, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack: source");

    /* the image is resolved (manifest and config verified) before anything is created */
    _cleanup_resolve_ cocoimg__resolve *res = NULL;
    if ((r = cocoimg__resolve_open(&res, s, ref, &ro, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack");
    const cocoimg__resolve_image *img = cocoimg__resolve_next(res);
    _cleanup_(cocoimg__config_freep) cocoimg__config *config = NULL;
    if ((r = load_config(res, img, &config, err)) < 0)
        return cocoimg__error_wrap(err, r, "unpack");
    {
        char mds[COCOIMG_DIGEST_STRMAX], plat[200] = "";
        cocoimg__digest_format(&img->doc.digest, mds);
        if (img->entry && img->entry->os && img->entry->architecture)
            snprintf(plat, sizeof(plat), "%s/%s%s%s", img->entry->os, img->entry->architecture,
                     img->entry->variant ? "/" : "",
                     img->entry->variant ? img->entry->variant : "");
        cocoimg_progress_event ev = {.kind = COCOIMG_PROGRESS_IMAGE,
                                     .operation = "unpack",
                                     .digest = mds,
                                     .platform = *plat ? plat : NULL,
                                     .count = img->manifest->n_layers,
                                     .total = -1};
        if ((r = cocoimg__progress(ctx, &ev, err)) < 0)
            return cocoimg__error_wrap(err, r, "unpack");
    }

    /* strip trailing slashes so the staging dir is a sibling, not a child */
    _cleanup_free_ char *target = strdup(bundle);
    if (!target)
        return cocoimg__error_oom(err);
    for (size_t l = strlen(target); l > 1 && target[l - 1] == '/'; l--)
        target[l - 1] = '\0';
    _cleanup_free_ char *staging = NULL;
    if (asprintf(&staging, "%s.tmp-XXXXXX", target) < 0)
        return cocoimg__error_oom(err);
    /*
     * Next to BUNDLE (same file system: the rename is atomic; not in a
     * shared temporary directory), 0700 as mkdtemp makes it: until it is
     * complete it holds unverified plaintext, and nobody else may reach
     * into it and race the extraction.
     */
    if (!mkdtemp(staging))
        return cocoimg__error_set(err, COCOIMG_EIO, errno,
                                  "unpack: create staging directory for '%s'", bundle);

    /*
     * jobs = blobs downloaded at once: the layer being applied streams, the
     * workers prefetch the next ones.  A local source gains nothing from
     * prefetching (the data is on disk already): stream only.
     */
    unsigned int jobs = opts->jobs ? opts->jobs : COCOIMG_UNPACK_DEFAULT_JOBS;
    unsigned int n_workers =
        cocoimg_reference_transport(ref) == COCOIMG_TRANSPORT_DOCKER ? jobs - 1 : 0;
    struct pull u = {.ctx = ctx, .opts = opts, .src = s, .sfd = -1, .rootfd = -1};
    u.budget = opts->prefetch_max_bytes ? opts->prefetch_max_bytes
                                        : COCOIMG_UNPACK_DEFAULT_PREFETCH_MAX_BYTES;
    pthread_mutex_init(&u.lock, NULL);
    pthread_cond_init(&u.cond, NULL);
    atomic_init(&u.cancel, 0);
    r = build(&u, img->manifest, config, staging, n_workers, err);
    cocoimg__crypt_config_free(u.crypt);
    free(u.state);
    free(u.held);
    cocoimg_error_free(u.first_err);
    pthread_cond_destroy(&u.cond);
    pthread_mutex_destroy(&u.lock);
    if (r == 0 && opts->cancel && *opts->cancel)
        r = cocoimg__error_set(err, COCOIMG_EUSER, 0, "cancelled");
    if (r == 0) {
        /* verified and complete: 0755 like umoci's bundles, then published */
        if (chmod(staging, 0755) < 0)
            r = cocoimg__error_set(err, COCOIMG_EIO, errno, "chmod '%s'", staging);
        /* an empty BUNDLE directory is replaced atomically by rename(2) */
        else if (rename(staging, target) < 0)
            r = cocoimg__error_set(
                err, errno == ENOTEMPTY || errno == EEXIST ? COCOIMG_EEXISTS : COCOIMG_EIO, errno,
                "rename to '%s'", bundle);
    }
    if (r < 0) {
        cocoimg__rm_rf(AT_FDCWD, staging, NULL);
        return cocoimg__error_wrap(err, r, "unpack");
    }
    cocoimg__log(ctx, COCOIMG_LOG_INFO, "unpack: %s -> %s done", src, bundle);
    return 0;
}
