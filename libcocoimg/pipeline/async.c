/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The async stage: runs its upstream chain in a thread of its own and hands
 * the bytes over through a few large slots, so the stages on either side
 * of it (say, verifying a source digest and encrypting + HMAC + hashing the
 * result) use two cores.  End of stream, errors and verdicts of the
 * upstream arrive at the consumer in order, after every byte that preceded
 * them: an upstream verifying stage still decides whether the stream ends
 * with 0.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/reader.h"

#define ASYNC_SLOTS 4
#define ASYNC_SLOT_SIZE (256u * 1024)

struct slot {
    uint8_t *buf;
    size_t len;
    size_t off; /* consumer position */
    int status; /* 0 data, 1 EOF after the data, < 0 error after the data */
};

struct async_state {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct slot slots[ASYNC_SLOTS];
    size_t head;  /* next slot the consumer reads */
    size_t tail;  /* next slot the producer fills */
    size_t count; /* filled slots */
    bool cancel;
    bool held; /* the consumer peeked the head slot to its end: released at its next call */
    bool done; /* producer finished (after the slot with the final status) */
    uint64_t sync_left;   /* bytes still passed through in the caller's thread (lazy start) */
    cocoimg_error *error; /* the producer's error, handed to the consumer */
    cocoimg__reader *upstream;
};

static void *
producer(void *arg)
{
    struct async_state *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->count == ASYNC_SLOTS && !s->cancel)
            pthread_cond_wait(&s->cond, &s->lock);
        if (s->cancel) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        struct slot *sl = &s->slots[s->tail];
        pthread_mutex_unlock(&s->lock);

        /* fill the slot; bytes read before an error or EOF are handed over first */
        cocoimg_error *e = NULL;
        size_t got = 0;
        ssize_t n = 1;
        while (got < ASYNC_SLOT_SIZE) {
            n = cocoimg__reader_read(s->upstream, sl->buf + got, ASYNC_SLOT_SIZE - got, &e);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        sl->off = 0;
        sl->len = got;
        sl->status = n < 0 ? (int)n : n == 0 ? 1 : 0;

        pthread_mutex_lock(&s->lock);
        if (n < 0)
            s->error = e;
        s->tail = (s->tail + 1) % ASYNC_SLOTS;
        s->count++;
        bool last = sl->status != 0;
        if (last)
            s->done = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        if (last)
            return NULL;
    }
}

/* Give the head slot back to the producer (the consumer is done with it). */
static void
release_head(struct async_state *s)
{
    pthread_mutex_lock(&s->lock);
    s->head = (s->head + 1) % ASYNC_SLOTS;
    s->count--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* The slot with the consumer's next bytes (after giving back one peeked to its end). */
static struct slot *
head_slot(struct async_state *s)
{
    if (s->held) {
        s->held = false;
        release_head(s);
    }
    pthread_mutex_lock(&s->lock);
    while (s->count == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    struct slot *sl = &s->slots[s->head];
    pthread_mutex_unlock(&s->lock);
    return sl;
}

static ssize_t async_status(struct async_state *s, struct slot *sl, cocoimg_error **err);

static int start(struct async_state *s, cocoimg_error **err);

/*
 * Lazy start: 1 while the first bytes still pass straight through in the
 * caller's thread; otherwise the thread runs (started here the first time): 0,
 * or the error starting it.
 */
static int
passing_through(struct async_state *s, cocoimg_error **err)
{
    if (s->started)
        return 0;
    return s->sync_left > 0 ? 1 : start(s, err);
}

static ssize_t
passed(struct async_state *s, ssize_t n)
{
    if (n > 0)
        s->sync_left -= (uint64_t)n < s->sync_left ? (uint64_t)n : s->sync_left;
    return n;
}

static ssize_t
async_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct async_state *s = r->state;
    int pt = passing_through(s, err);
    if (pt < 0)
        return pt;
    if (pt)
        return passed(s, cocoimg__reader_read(s->upstream, buf, len, err));
    struct slot *sl = head_slot(s);
    size_t avail = sl->len - sl->off;
    if (avail > 0) {
        size_t n = avail < len ? avail : len;
        memcpy(buf, sl->buf + sl->off, n);
        sl->off += n;
        if (sl->off == sl->len && sl->status == 0)
            release_head(s);
        return (ssize_t)n;
    }
    return async_status(s, sl, err);
}

/* In place: the slot stays the consumer's until its next call. */
static ssize_t
async_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err)
{
    struct async_state *s = r->state;
    int pt = passing_through(s, err);
    if (pt < 0)
        return pt;
    if (pt && cocoimg__reader_can_peek(s->upstream))
        return passed(s, cocoimg__reader_peek(s->upstream, ptr, max, err));
    if (pt) {
        /* slot 0 is ours until the thread starts, which is never before the next call */
        *ptr = s->slots[0].buf;
        return passed(s, cocoimg__reader_read(s->upstream, s->slots[0].buf,
                                              max < ASYNC_SLOT_SIZE ? max : ASYNC_SLOT_SIZE, err));
    }
    struct slot *sl = head_slot(s);
    size_t avail = sl->len - sl->off;
    if (avail > 0) {
        size_t n = avail < max ? avail : max;
        *ptr = sl->buf + sl->off;
        sl->off += n;
        if (sl->off == sl->len && sl->status == 0)
            s->held = true;
        return (ssize_t)n;
    }
    return async_status(s, sl, err);
}

static ssize_t
async_status(struct async_state *s, struct slot *sl, cocoimg_error **err)
{
    /* the final slot, drained: its status is the stream's */
    if (sl->status == 1)
        return 0;
    pthread_mutex_lock(&s->lock);
    cocoimg_error *e = s->error;
    s->error = NULL;
    pthread_mutex_unlock(&s->lock);
    if (err && !*err)
        *err = e;
    else
        cocoimg_error_free(e);
    if (!e)
        cocoimg__error_set(err, sl->status, 0, "read failed");
    return sl->status;
}

static void
async_free(cocoimg__reader *r)
{
    struct async_state *s = r->state;
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->cancel = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        /* the producer may be inside an upstream read: wait for it, the
         * framework frees the upstream right after us */
        pthread_join(s->thread, NULL);
    }
    cocoimg_error_free(s->error);
    for (size_t i = 0; i < ASYNC_SLOTS; i++)
        free(s->slots[i].buf);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
    r->state = NULL;
}

static const struct cocoimg__reader_ops async_ops = {.name = "async",
                                                     .read = async_read,
                                                     .free = async_free,
                                                     .peek = async_peek,
                                                     .same_bytes = true};

static int
start(struct async_state *s, cocoimg_error **err)
{
    int e = pthread_create(&s->thread, NULL, producer, s);
    if (e)
        return cocoimg__error_set(err, COCOIMG_ERROR, e, "cannot start a pipeline thread");
    s->started = true;
    return 0;
}

int
cocoimg__reader_async_after(cocoimg__reader **out, cocoimg__reader *upstream, uint64_t sync_bytes,
                            cocoimg_error **err)
{
    struct async_state *s = calloc(1, sizeof(*s));
    if (!s) {
        cocoimg__reader_free(upstream);
        return cocoimg__error_oom(err);
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->upstream = upstream;
    s->sync_left = sync_bytes;
    cocoimg__reader *r = NULL;
    int rc = cocoimg__reader_new(&r, &async_ops, s, upstream, err);
    if (rc < 0)
        return rc; /* freed s (through async_free) and upstream */
    for (size_t i = 0; i < ASYNC_SLOTS; i++) {
        if (!(s->slots[i].buf = malloc(ASYNC_SLOT_SIZE))) {
            cocoimg__reader_free(r);
            return cocoimg__error_oom(err);
        }
    }
    if (sync_bytes == 0 && (rc = start(s, err)) < 0) {
        cocoimg__reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int
cocoimg__reader_async(cocoimg__reader **out, cocoimg__reader *upstream, cocoimg_error **err)
{
    return cocoimg__reader_async_after(out, upstream, 0, err);
}
