/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/reader.h"
#include "util/fs.h"

/* Bytes a file sink writes before it asks the kernel to start writing them back. */
#define WRITEBACK_CHUNK (8u * 1024 * 1024)

/* --- framework ---------------------------------------------------------- */

int
cocoimg__reader_new(cocoimg__reader **out, const struct cocoimg__reader_ops *ops, void *state,
                    cocoimg__reader *upstream, cocoimg_error **err)
{
    cocoimg__reader *r = calloc(1, sizeof(*r));
    if (!r) {
        /* release what we were handed, as promised */
        cocoimg__reader tmp = {.ops = ops, .state = state};
        if (ops->free)
            ops->free(&tmp);
        cocoimg__reader_free(upstream);
        return cocoimg__error_oom(err);
    }
    r->ops = ops;
    r->state = state;
    r->upstream = upstream;
    *out = r;
    return 0;
}

ssize_t
cocoimg__reader_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    if (r->status == 1)
        return 0;
    if (r->status < 0)
        return cocoimg__error_set(err, r->status, 0, "%s: read after failure", r->ops->name);
    /* 0 would be indistinguishable from EOF; refuse it without poisoning the chain */
    assert(len > 0);
    if (len == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "%s: read of 0 bytes", r->ops->name);
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    ssize_t n = r->ops->read(r, buf, len, err);
    if (n == 0)
        r->status = 1;
    else if (n < 0)
        r->status = (int)n;
    assert(n <= (ssize_t)len);
    return n;
}

bool
cocoimg__reader_can_peek(const cocoimg__reader *r)
{
    for (; r; r = r->upstream) {
        if (!r->ops->peek)
            return false;
        if (!r->ops->peek_through)
            return true;
    }
    return false;
}

ssize_t
cocoimg__reader_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err)
{
    *ptr = NULL;
    if (r->status == 1)
        return 0;
    if (r->status < 0)
        return cocoimg__error_set(err, r->status, 0, "%s: read after failure", r->ops->name);
    assert(max > 0 && r->ops->peek);
    if (max == 0 || !r->ops->peek)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "%s: cannot peek", r->ops->name);
    if (max > SSIZE_MAX)
        max = SSIZE_MAX;
    ssize_t n = r->ops->peek(r, ptr, max, err);
    if (n == 0)
        r->status = 1;
    else if (n < 0)
        r->status = (int)n;
    assert(n <= (ssize_t)max);
    return n;
}

ssize_t
cocoimg__reader_read_full(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    uint8_t *p = buf;
    size_t got = 0;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    while (got < len) {
        ssize_t n = cocoimg__reader_read(r, p + got, len - got, err);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

void
cocoimg__reader_free(cocoimg__reader *r)
{
    /* iterative: chains can be long and must not cost stack */
    while (r) {
        cocoimg__reader *up = r->upstream;
        if (r->ops && r->ops->free)
            r->ops->free(r);
        free(r);
        r = up;
    }
}

/* --- sources ------------------------------------------------------------ */

struct fd_state {
    int fd;
    bool own;
};

static ssize_t
fd_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct fd_state *s = r->state;
    for (;;) {
        ssize_t n = read(s->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "read: %s", strerror(errno));
    }
}

static void
fd_free(cocoimg__reader *r)
{
    struct fd_state *s = r->state;
    if (s && s->own && s->fd >= 0)
        close(s->fd);
    free(s);
}

static const struct cocoimg__reader_ops fd_ops = {.name = "fd", .read = fd_read, .free = fd_free};

int
cocoimg__reader_fd(cocoimg__reader **out, int fd, bool own, cocoimg_error **err)
{
    struct fd_state *s = malloc(sizeof(*s));
    if (!s) {
        if (own)
            close(fd);
        return cocoimg__error_oom(err);
    }
    *s = (struct fd_state){fd, own};
    return cocoimg__reader_new(out, &fd_ops, s, NULL, err);
}

int
cocoimg__reader_file(cocoimg__reader **out, int dirfd, const char *path, cocoimg_error **err)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return cocoimg__error_set(err, e == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO, e,
                                  "open '%s': %s", path, strerror(e));
    }
    return cocoimg__reader_fd(out, fd, true, err);
}

struct mem_state {
    const uint8_t *p;
    size_t left;
};

static ssize_t
mem_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    (void)err;
    struct mem_state *s = r->state;
    size_t n = len < s->left ? len : s->left;
    if (n) {
        memcpy(buf, s->p, n);
        s->p += n;
        s->left -= n;
    }
    return (ssize_t)n;
}

static void
plain_free(cocoimg__reader *r)
{
    free(r->state);
}

static const struct cocoimg__reader_ops mem_ops = {
    .name = "mem", .read = mem_read, .free = plain_free};

int
cocoimg__reader_mem(cocoimg__reader **out, const void *buf, size_t len, cocoimg_error **err)
{
    struct mem_state *s = malloc(sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    *s = (struct mem_state){buf, len};
    return cocoimg__reader_new(out, &mem_ops, s, NULL, err);
}

/* --- verify / hash / limit ---------------------------------------------- */

struct verify_state {
    cocoimg__hasher *h;
    cocoimg__digest expected;
    int64_t size; /* < 0: unknown */
    uint64_t count;
};

/* Never more than one byte past the declared size: an over-long blob is
 * caught at its first extra byte, and no byte beyond the size is handed out. */
static size_t
verify_clamp(const struct verify_state *s, size_t len)
{
    if (s->size >= 0) {
        uint64_t room = (uint64_t)s->size - s->count + 1;
        if (len > room)
            len = (size_t)room;
    }
    return len;
}

/* @p n (the upstream's return) bytes at @p buf passed: account for them, or give the verdict. */
static ssize_t
verify_pass(struct verify_state *s, const void *buf, ssize_t n, cocoimg_error **err)
{
    if (n < 0)
        return n;
    if (n > 0) {
        s->count += (uint64_t)n;
        if (s->size >= 0 && s->count > (uint64_t)s->size)
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "blob larger than its descriptor (%" PRId64 " bytes)",
                                      s->size);
        int rr = cocoimg__hasher_update(s->h, buf, (size_t)n, err);
        return rr < 0 ? rr : n;
    }
    if (s->size >= 0 && s->count != (uint64_t)s->size)
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "blob shorter than its descriptor (%" PRIu64 " of %" PRId64
                                  " bytes)",
                                  s->count, s->size);
    cocoimg__digest got;
    int rr = cocoimg__hasher_final(s->h, &got, err);
    if (rr < 0)
        return rr;
    if (!cocoimg__digest_equal(&got, &s->expected)) {
        char g[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&got, g);
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "blob does not match its digest (got %s)", g);
    }
    return 0;
}

static ssize_t
verify_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct verify_state *s = r->state;
    ssize_t n = cocoimg__reader_read(r->upstream, buf, verify_clamp(s, len), err);
    return verify_pass(s, buf, n, err);
}

static ssize_t
verify_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err)
{
    struct verify_state *s = r->state;
    ssize_t n = cocoimg__reader_peek(r->upstream, ptr, verify_clamp(s, max), err);
    return verify_pass(s, *ptr, n, err);
}

static void
verify_free(cocoimg__reader *r)
{
    struct verify_state *s = r->state;
    if (s)
        cocoimg__hasher_free(s->h);
    free(s);
}

static const struct cocoimg__reader_ops verify_ops = {.name = "verify",
                                                      .read = verify_read,
                                                      .free = verify_free,
                                                      .peek = verify_peek,
                                                      .peek_through = true};

int
cocoimg__reader_verify(cocoimg__reader **out, cocoimg__reader *upstream,
                       const cocoimg__digest *expected, int64_t size, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    _cleanup_free_ struct verify_state *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    int r = cocoimg__hasher_new(&s->h, expected->alg, err);
    if (r < 0)
        return r;
    s->expected = *expected;
    s->size = size;
    return cocoimg__reader_new(out, &verify_ops, TAKE_PTR(s), TAKE_PTR(up), err);
}

const cocoimg__digest *
cocoimg__reader_verified(const cocoimg__reader *r, int64_t *size)
{
    for (; r; r = r->upstream) {
        if (r->ops == &verify_ops) {
            const struct verify_state *s = r->state;
            *size = s->size;
            return &s->expected;
        }
        if (!r->ops->same_bytes)
            return NULL;
    }
    return NULL;
}

bool
cocoimg__reader_checks(const cocoimg__reader *r, const cocoimg__digest *digest, int64_t size)
{
    int64_t vsize = -1;
    const cocoimg__digest *v = cocoimg__reader_verified(r, &vsize);
    return v && cocoimg__digest_equal(v, digest) && (size < 0 || vsize == size);
}

struct hash_state {
    cocoimg__hasher *h;
    cocoimg__digest *digest_out;
    uint64_t *size_out;
    uint64_t count;
};

static ssize_t
hash_pass(struct hash_state *s, const void *buf, ssize_t n, cocoimg_error **err)
{
    if (n > 0) {
        s->count += (uint64_t)n;
        int rr = cocoimg__hasher_update(s->h, buf, (size_t)n, err);
        return rr < 0 ? rr : n;
    }
    if (n < 0)
        return n;
    cocoimg__digest d;
    int rr = cocoimg__hasher_final(s->h, &d, err);
    if (rr < 0)
        return rr;
    if (s->digest_out)
        *s->digest_out = d;
    if (s->size_out)
        *s->size_out = s->count;
    return 0;
}

static ssize_t
hash_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    return hash_pass(r->state, buf, n, err);
}

static ssize_t
hash_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err)
{
    ssize_t n = cocoimg__reader_peek(r->upstream, ptr, max, err);
    return hash_pass(r->state, *ptr, n, err);
}

static void
hash_free(cocoimg__reader *r)
{
    struct hash_state *s = r->state;
    if (s)
        cocoimg__hasher_free(s->h);
    free(s);
}

static const struct cocoimg__reader_ops hash_ops = {.name = "hash",
                                                    .read = hash_read,
                                                    .free = hash_free,
                                                    .peek = hash_peek,
                                                    .peek_through = true,
                                                    .same_bytes = true};

int
cocoimg__reader_hash(cocoimg__reader **out, cocoimg__reader *upstream, cocoimg__digest_alg alg,
                     cocoimg__digest *digest_out, uint64_t *size_out, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    _cleanup_free_ struct hash_state *s = calloc(1, sizeof(*s));
    if (!s)
        return cocoimg__error_oom(err);
    int r = cocoimg__hasher_new(&s->h, alg, err);
    if (r < 0)
        return r;
    s->digest_out = digest_out;
    s->size_out = size_out;
    return cocoimg__reader_new(out, &hash_ops, TAKE_PTR(s), TAKE_PTR(up), err);
}

struct limit_state {
    uint64_t max, count;
    char what[]; /* for the message */
};

static ssize_t
limit_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct limit_state *s = r->state;
    /* one byte past the limit is enough to know it was exceeded */
    uint64_t room = s->max - s->count + 1;
    if (room != 0 && len > room)
        len = (size_t)room;
    ssize_t n = cocoimg__reader_read(r->upstream, buf, len, err);
    if (n <= 0)
        return n;
    s->count += (uint64_t)n;
    if (s->count > s->max)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "%s exceeds %" PRIu64 " bytes", s->what,
                                  s->max);
    return n;
}

static const struct cocoimg__reader_ops limit_ops = {
    .name = "limit", .read = limit_read, .free = plain_free, .same_bytes = true};

int
cocoimg__reader_limit(cocoimg__reader **out, cocoimg__reader *upstream, uint64_t max,
                      const char *what, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    if (!what)
        what = "stream";
    size_t wl = strlen(what);
    struct limit_state *s = malloc(sizeof(*s) + wl + 1);
    if (!s)
        return cocoimg__error_oom(err);
    s->max = max;
    s->count = 0;
    memcpy(s->what, what, wl + 1);
    return cocoimg__reader_new(out, &limit_ops, s, TAKE_PTR(up), err);
}

/* --- sinks -------------------------------------------------------------- */

static int
to_fd(cocoimg__reader *r, int fd, bool writeback, uint64_t *total, cocoimg_error **err)
{
    /* written straight from the upstream's buffer when it can peek */
    bool peek = cocoimg__reader_can_peek(r);
    _cleanup_free_ uint8_t *buf = peek ? NULL : malloc(COCOIMG_PIPE_BUFSZ);
    if (!peek && !buf)
        return cocoimg__error_oom(err);
    uint64_t sum = 0, flushed = 0;
    for (;;) {
        const void *p = buf;
        ssize_t n = peek ? cocoimg__reader_peek(r, &p, SIZE_MAX, err)
                         : cocoimg__reader_read(r, buf, COCOIMG_PIPE_BUFSZ, err);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        int rr = cocoimg__write_all(fd, p, (size_t)n, err);
        if (rr < 0)
            return rr;
        sum += (uint64_t)n;
        /*
         * Start the writeback of what we wrote as we go, so the fsync that
         * publishes a staged blob waits for the tail only, not for the
         * whole layer.  Not a file (a pipe): nothing to do.
         */
        if (writeback && sum - flushed >= WRITEBACK_CHUNK) {
            (void)sync_file_range(fd, (off64_t)flushed, (off64_t)(sum - flushed),
                                  SYNC_FILE_RANGE_WRITE);
            flushed = sum;
        }
    }
    if (total)
        *total = sum;
    return 0;
}

/*
 * A blob that is published and not read back (an OCI layout's blobs):
 * written with O_DIRECT in DIRECT_UNIT pieces from aligned buffers, the
 * tail (and a blob smaller than one piece) through the page cache.  Going
 * around the page cache saves the kernel's copy and its page allocations,
 * which on a VM whose balloon reports free pages cost a host fault each
 * (sys time of a 768 MiB buffered write varied 0.2-3.4 s here; direct
 * 0.03-0.09 s), and leaves no dirty pages for the fsync that publishes the
 * blob.  Where the file system refuses O_DIRECT (EINVAL from fcntl or from
 * the first write) the blob is written through the page cache instead,
 * its writeback started as it goes.
 *
 * A direct write returns only once the device has the piece (0.8-1.8 ms a
 * MiB here, against about 2.3 ms of hashing and ciphering to make it), so
 * from the second piece on the writes are made by a thread of the sink's
 * own, from a ring of DIRECT_BUFS buffers: the caller fills one while up to
 * two wait for or are in the write, so the core that made a piece goes on
 * to the next one instead of waiting, and a slow write (several layers'
 * sinks share the device) is absorbed by the queued one (3 buffers against
 * 2: encrypt 1.17 -> 1.12 s, median of 8 alternating runs).  Every write is
 * made by one thread at a time, in order, so the file offset needs no care;
 * the writer's error reaches the caller at its next hand-over or at the end.
 */
#define DIRECT_UNIT (1u << 20)
#define DIRECT_ALIGN 4096u
#define DIRECT_BUFS 3u

static int
set_direct(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    int want = on ? (fl | O_DIRECT) : (fl & ~O_DIRECT);
    return want == fl ? 0 : fcntl(fd, F_SETFL, want);
}

struct direct_sink {
    int fd;
    /* DIRECT_UNIT bytes each, DIRECT_ALIGN-aligned; [1..] only once the thread starts */
    uint8_t *buf[DIRECT_BUFS];
    unsigned cur; /* the buffer the caller fills */
    size_t fill;
    uint64_t off;
    int direct; /* 1 on, 0 not tried yet, -1 refused */
    /* the writer thread, once started; the fields after thread under lock */
    bool threaded, thread_tried;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned head;   /* the oldest piece handed over and not yet written */
    unsigned queued; /* pieces handed over and not yet written: buf[head], buf[head + 1], ... */
    bool quit;
    int wrc; /* the writer's first failure; then it writes nothing more */
    cocoimg_error *werr;
};

/* Write @p len bytes of @p buf at the sink's offset (one thread at a time). */
static int
direct_write(struct direct_sink *s, const uint8_t *buf, size_t len, cocoimg_error **err)
{
    if (s->direct == 0)
        s->direct = set_direct(s->fd, true) == 0 ? 1 : -1;
    size_t done = 0;
    if (s->direct == 1) {
        ssize_t w;
        do
            w = write(s->fd, buf, len);
        while (w < 0 && errno == EINTR);
        if (w == (ssize_t)len) {
            s->off += (uint64_t)w;
            return 0;
        }
        if (w < 0 && errno != EINVAL)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "write: %s", strerror(errno));
        /* EINVAL: no direct I/O on this file system; a short write: the rest buffered */
        if (w > 0)
            done = (size_t)w;
        s->direct = -1;
        if (set_direct(s->fd, false) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "fcntl: %s", strerror(errno));
    }
    int rr = cocoimg__write_all(s->fd, buf + done, len - done, err);
    if (rr < 0)
        return rr;
    (void)sync_file_range(s->fd, (off64_t)s->off, (off64_t)len, SYNC_FILE_RANGE_WRITE);
    s->off += len;
    return 0;
}

static void *
direct_writer(void *arg)
{
    struct direct_sink *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queued && !s->quit)
            pthread_cond_wait(&s->cond, &s->lock);
        if (!s->queued)
            break;
        const uint8_t *buf = s->buf[s->head];
        pthread_mutex_unlock(&s->lock);
        cocoimg_error *e = NULL;
        int rc = direct_write(s, buf, DIRECT_UNIT, &e);
        pthread_mutex_lock(&s->lock);
        s->head = (s->head + 1) % DIRECT_BUFS;
        s->queued--;
        if (rc < 0) {
            s->wrc = rc;
            s->werr = e;
        }
        pthread_cond_broadcast(&s->cond);
        if (rc < 0)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/*
 * Wait until the writer has at most @p max pieces in hand; its failure, if
 * any, moves to @p err.
 */
static int
direct_wait(struct direct_sink *s, unsigned max, cocoimg_error **err)
{
    pthread_mutex_lock(&s->lock);
    while (s->queued > max && s->wrc == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    int rc = s->wrc;
    cocoimg_error *e = s->werr;
    s->werr = NULL;
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        return 0;
    if (err && !*err)
        *err = e;
    else
        cocoimg_error_free(e);
    if (!e)
        cocoimg__error_set(err, rc, 0, "write failed");
    return rc;
}

/* The full buffer goes out: to the writer thread, or written here while there is none. */
static int
direct_flush(struct direct_sink *s, cocoimg_error **err)
{
    if (!s->threaded && s->off > 0 && !s->thread_tried) {
        /* from the second piece on; without a thread (or its buffers) the writes stay here */
        s->thread_tried = true;
        bool ok = true;
        for (unsigned i = 1; i < DIRECT_BUFS && ok; i++) {
            void *mem = NULL;
            ok = posix_memalign(&mem, DIRECT_ALIGN, DIRECT_UNIT) == 0;
            s->buf[i] = ok ? mem : NULL;
        }
        if (ok) {
            pthread_mutex_init(&s->lock, NULL);
            pthread_cond_init(&s->cond, NULL);
            if (pthread_create(&s->thread, NULL, direct_writer, s) == 0) {
                s->threaded = true;
            } else {
                pthread_cond_destroy(&s->cond);
                pthread_mutex_destroy(&s->lock);
            }
        }
    }
    if (!s->threaded) {
        int rc = direct_write(s, s->buf[s->cur], s->fill, err);
        s->fill = 0;
        return rc;
    }
    /* buf[cur] joins the queue (it is buf[head + queued]); the next one must be written out */
    pthread_mutex_lock(&s->lock);
    s->queued++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    s->cur = (s->cur + 1) % DIRECT_BUFS;
    s->fill = 0;
    return direct_wait(s, DIRECT_BUFS - 1, err);
}

/* Stop the writer after what it has in hand; its failure, if any, moves to @p err. */
static int
direct_stop(struct direct_sink *s, cocoimg_error **err)
{
    if (!s->threaded)
        return 0;
    int rc = direct_wait(s, 0, err);
    pthread_mutex_lock(&s->lock);
    s->quit = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    s->threaded = false;
    return rc;
}

/* on every way out, also an error: no thread left, the descriptor without O_DIRECT */
static void
direct_sink_done(struct direct_sink *s)
{
    (void)direct_stop(s, NULL);
    cocoimg_error_free(s->werr);
    if (s->direct == 1)
        (void)set_direct(s->fd, false);
    for (unsigned i = 0; i < DIRECT_BUFS; i++)
        free(s->buf[i]);
}

int
cocoimg__reader_to_blob_fd(cocoimg__reader *r, int fd, uint64_t *total, cocoimg_error **err)
{
    _cleanup_(direct_sink_done) struct direct_sink s = {.fd = fd};
    void *mem = NULL;
    if (posix_memalign(&mem, DIRECT_ALIGN, DIRECT_UNIT) != 0)
        return cocoimg__error_oom(err);
    s.buf[0] = mem;
    bool peek = cocoimg__reader_can_peek(r);
    for (;;) {
        ssize_t n;
        uint8_t *b = s.buf[s.cur];
        if (peek) {
            const void *p = NULL;
            n = cocoimg__reader_peek(r, &p, DIRECT_UNIT - s.fill, err);
            if (n > 0)
                memcpy(b + s.fill, p, (size_t)n);
        } else {
            n = cocoimg__reader_read(r, b + s.fill, DIRECT_UNIT - s.fill, err);
        }
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        s.fill += (size_t)n;
        if (s.fill == DIRECT_UNIT) {
            int rc = direct_flush(&s, err);
            if (rc < 0)
                return rc;
        }
    }
    int rc = direct_stop(&s, err);
    if (rc < 0)
        return rc;
    /* the unaligned tail goes through the page cache; the file is left as it was opened */
    if (s.direct == 1 && set_direct(fd, false) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "fcntl: %s", strerror(errno));
    s.direct = -1;
    if (s.fill > 0 && (rc = direct_write(&s, s.buf[s.cur], s.fill, err)) < 0)
        return rc;
    if (total)
        *total = s.off;
    return 0;
}

int
cocoimg__reader_to_fd(cocoimg__reader *r, int fd, uint64_t *total, cocoimg_error **err)
{
    return to_fd(r, fd, true, total, err);
}

int
cocoimg__reader_to_scratch_fd(cocoimg__reader *r, int fd, uint64_t *total, cocoimg_error **err)
{
    return to_fd(r, fd, false, total, err);
}

int
cocoimg__reader_drain(cocoimg__reader *r, uint64_t *total, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = malloc(COCOIMG_PIPE_BUFSZ);
    if (!buf)
        return cocoimg__error_oom(err);
    uint64_t sum = 0;
    for (;;) {
        ssize_t n = cocoimg__reader_read(r, buf, COCOIMG_PIPE_BUFSZ, err);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        sum += (uint64_t)n;
    }
    if (total)
        *total = sum;
    return 0;
}

int
cocoimg__reader_to_mem(cocoimg__reader *r, size_t max, uint8_t **out, size_t *len,
                       cocoimg_error **err)
{
    if (max > SIZE_MAX - 2)
        max = SIZE_MAX - 2;
    /* room for max + 1 bytes (to see an overflow) and a NUL */
    size_t cap = max + 1 < 64 * 1024 ? max + 1 : 64 * 1024;
    _cleanup_free_ uint8_t *buf = malloc(cap + 1);
    if (!buf)
        return cocoimg__error_oom(err);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (n > max)
                break;
            size_t ncap = cap <= (max + 1) / 2 ? cap * 2 : max + 1;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb)
                return cocoimg__error_oom(err);
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - n;
        if (want > COCOIMG_PIPE_BUFSZ)
            want = COCOIMG_PIPE_BUFSZ;
        ssize_t k = cocoimg__reader_read(r, buf + n, want, err);
        if (k < 0)
            return (int)k;
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n > max)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "content exceeds %zu bytes", max);
    buf[n] = '\0'; /* convenience for JSON; not counted */
    *out = TAKE_PTR(buf);
    *len = n;
    return 0;
}
