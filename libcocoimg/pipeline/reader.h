/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_PIPELINE_READER_H
#define COCOIMG_PIPELINE_READER_H

/*
 * The blob pipeline: small pull-style stages chained into one stream.
 *
 *   file -> verify(digest,size) -> decrypt -> hash -> decompress -> ... -> consumer
 *
 * Each stage is a cocoimg__reader that owns its upstream reader and frees it
 * with itself.  cocoimg__reader_read() returns the number of bytes (> 0),
 * 0 at end of stream, or a negative COCOIMG_E* code.  A verifying stage
 * gives its verdict at end of stream: it returns 0 only when the check
 * passed, COCOIMG_EDIGEST/EAUTH otherwise, so a consumer that stages its
 * output and commits only after reading 0 never publishes unverified data.
 * Stages never hold a whole blob: they work through bounded buffers
 * (COCOIMG_PIPE_BUFSZ).
 *
 * Readers are not thread-safe; one chain is used by one thread at a time.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/compression.h"
#include "oci/digest.h"
#include "util/error.h"

#define COCOIMG_PIPE_BUFSZ (256u * 1024)

typedef struct cocoimg__reader cocoimg__reader;

struct cocoimg__reader_ops {
    const char *name;
    /* read up to len bytes into buf: > 0 bytes, 0 EOF, < 0 error */
    ssize_t (*read)(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err);
    /* free the stage's own state (the framework frees upstream and r) */
    void (*free)(cocoimg__reader *r);
    /*
     * Optional, zero-copy: hand out up to @p max bytes in place, *ptr into
     * a buffer of the stage (or of its upstream) that stays valid and
     * unchanged until the next call on this reader.  Returns as read.
     */
    ssize_t (*peek)(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err);
    /* peek() only works when the upstream can peek (a pass-through stage) */
    bool peek_through;
    /* the stage hands on its upstream's bytes unchanged (it may fail the stream, never alter it) */
    bool same_bytes;
};

struct cocoimg__reader {
    const struct cocoimg__reader_ops *ops;
    cocoimg__reader *upstream; /* owned; NULL for a source */
    void *state;               /* stage private data */
    /*
     * Framework-owned: 0 while running, 1 after EOF, < 0 the sticky error.
     * Once a stage reported EOF or an error, later reads repeat it without
     * calling the stage again, so a verdict is given exactly once.
     */
    int status;
};

/*
 * Generic: allocate a stage; takes ownership of @p upstream even on failure,
 * and of @p state (released through ops->free) too.
 */
int cocoimg__reader_new(cocoimg__reader **out, const struct cocoimg__reader_ops *ops, void *state,
                        cocoimg__reader *upstream, cocoimg_error **err);
ssize_t cocoimg__reader_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err);
/*
 * Whether @p r can peek: hand out its bytes in place (the stages that copy
 * from a buffer of their own: async; the pass-through ones above it: hash,
 * verify).  A consumer that can work from a pointer peeks instead of
 * reading and saves a copy; read and peek may be mixed.
 */
bool cocoimg__reader_can_peek(const cocoimg__reader *r);
/* Peek at up to @p max bytes of @p r (see ops->peek); only when cocoimg__reader_can_peek(r). */
ssize_t cocoimg__reader_peek(cocoimg__reader *r, const void **ptr, size_t max, cocoimg_error **err);
/* Read exactly len bytes unless EOF comes first: returns bytes read (< len only at EOF). */
ssize_t cocoimg__reader_read_full(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err);
/* Read @p r to EOF discarding the data (to get a verdict); *total may be NULL. */
int cocoimg__reader_drain(cocoimg__reader *r, uint64_t *total, cocoimg_error **err);
/* Free @p r and its whole upstream chain; NULL allowed. */
void cocoimg__reader_free(cocoimg__reader *r);
COCOIMG_DEFINE_CLEANUP(cocoimg__reader, cocoimg__reader_free)
#define _cleanup_reader_ _cleanup_(cocoimg__reader_freep)

/* --- sources --- (every constructor below takes ownership of its upstream,
 * also when it fails) */

/* From a file descriptor; @p own: close it when freed. */
int cocoimg__reader_fd(cocoimg__reader **out, int fd, bool own, cocoimg_error **err);
/* From a file relative to @p dirfd (AT_FDCWD allowed), opened O_RDONLY|O_CLOEXEC|O_NOFOLLOW. */
int cocoimg__reader_file(cocoimg__reader **out, int dirfd, const char *path, cocoimg_error **err);
/* From memory; the buffer is borrowed and must outlive the reader. */
int cocoimg__reader_mem(cocoimg__reader **out, const void *buf, size_t len, cocoimg_error **err);

/* --- stages --- */

/* Progress (progress.c): add every byte read through it to @p counter (any thread). */
int cocoimg__reader_count(cocoimg__reader **out, cocoimg__reader *in, atomic_uint_fast64_t *counter,
                          cocoimg_error **err);
/*
 * Call @p fn after each read (@p eof at the end); a negative return fails
 * the read with it.  @p payload must outlive the reader.
 */
int cocoimg__reader_notify(cocoimg__reader **out, cocoimg__reader *in,
                           int (*fn)(void *payload, bool eof, cocoimg_error **err), void *payload,
                           cocoimg_error **err);

/*
 * Verify digest and size: passes bytes through; more than @p size bytes
 * fails at once (COCOIMG_EDIGEST, "larger than its descriptor": reads are
 * clamped to one byte past the size, so no byte beyond it is ever handed
 * out); at EOF a short stream or a digest mismatch fails with
 * COCOIMG_EDIGEST.
 * @p size < 0: size unknown, only the digest is checked.
 */
int cocoimg__reader_verify(cocoimg__reader **out, cocoimg__reader *upstream,
                           const cocoimg__digest *expected, int64_t size, cocoimg_error **err);
/*
 * The digest a verify stage of @p r checks, when every stage between @p r
 * and it hands on its bytes unchanged (ops->same_bytes): @p r then ends
 * with that stage's verdict, so a consumer that commits only after reading
 * 0 need not hash the bytes again.  *size gets the size it checks (-1:
 * unknown).  NULL when there is no such stage.
 */
const cocoimg__digest *cocoimg__reader_verified(const cocoimg__reader *r, int64_t *size);
/*
 * Whether @p r ends with the verdict of a verify stage (as above) for
 * @p digest and, unless @p size < 0, exactly @p size bytes: a consumer
 * that would check the same needs no stage or hash of its own.
 */
bool cocoimg__reader_checks(const cocoimg__reader *r, const cocoimg__digest *digest, int64_t size);
/*
 * Hash what passes through; at EOF store the digest in *digest_out and the
 * byte count in *size_out (both may be NULL; they must outlive the reader).
 */
int cocoimg__reader_hash(cocoimg__reader **out, cocoimg__reader *upstream, cocoimg__digest_alg alg,
                         cocoimg__digest *digest_out, uint64_t *size_out, cocoimg_error **err);
/* Fail with COCOIMG_ELIMIT once more than @p max bytes passed. */
int cocoimg__reader_limit(cocoimg__reader **out, cocoimg__reader *upstream, uint64_t max,
                          const char *what, cocoimg_error **err);

/* cocoimg__reader_decompress() flags. */
#define COCOIMG__DECOMPRESS_NO_ISAL (1u << 0) /* gzip with zlib even when built with ISA-L */

/*
 * Decompress gzip (multi-member allowed) or zstd (multi-frame allowed).
 * Truncated or corrupt input fails with COCOIMG_EFORMAT, never loops.
 * NONE returns @p upstream unchanged.  @p flags: COCOIMG__DECOMPRESS_*
 * (callers map the context's COCOIMG_CONTEXT_NO_ISAL to _NO_ISAL).
 */
int cocoimg__reader_decompress(cocoimg__reader **out, cocoimg__reader *upstream,
                               cocoimg__compression c, unsigned int flags, cocoimg_error **err);
/* Compress (gzip level 1..9 / zstd level 1..19; 0 = default). */
int cocoimg__reader_compress(cocoimg__reader **out, cocoimg__reader *upstream,
                             cocoimg__compression c, int level, cocoimg_error **err);
/* Sniff the compression from magic bytes (gzip 1f8b, zstd 28b52ffd). */
cocoimg__compression cocoimg__compression_detect(const void *buf, size_t len);
/* "none", "gzip", "zstd" (for messages). */
const char *cocoimg__compression_name(cocoimg__compression c);

/*
 * Run @p upstream in a thread of its own (the whole chain above this stage),
 * handing bytes over through a few 256 KiB slots: the stages above and below
 * use two cores.  The upstream's EOF, verdicts and errors arrive in order.
 * Freeing the reader stops and joins the thread.
 */
int cocoimg__reader_async(cocoimg__reader **out, cocoimg__reader *upstream, cocoimg_error **err);
/*
 * The same, started lazily: the first @p sync_bytes bytes are read through
 * in the caller's thread, and the thread starts only when more are asked
 * for, so a stream whose size is not known in advance (a decompressed
 * layer) gets a thread only when it turns out large.  0: at once.
 */
int cocoimg__reader_async_after(cocoimg__reader **out, cocoimg__reader *upstream,
                                uint64_t sync_bytes, cocoimg_error **err);

/* --- sinks --- */

/*
 * Read @p r to EOF, writing everything to @p fd; *total (may be NULL) gets
 * the count.  The kernel is asked to write back as it goes, so the fsync
 * that publishes the file waits for the tail only.
 */
int cocoimg__reader_to_fd(cocoimg__reader *r, int fd, uint64_t *total, cocoimg_error **err);
/*
 * The same for @p fd, a new file of our own at offset 0 (no other writer shares it) that
 * is published and not read back soon (an OCI layout's blob); *total (may be
 * NULL) gets the count.  Whole 1 MiB pieces go with O_DIRECT (none of the
 * kernel's copy, no dirty pages for the publishing fsync), the tail through
 * the page cache; where O_DIRECT is refused, all of it goes through the
 * page cache, its writeback started as it goes.  @p fd is left without
 * O_DIRECT.
 */
int cocoimg__reader_to_blob_fd(cocoimg__reader *r, int fd, uint64_t *total, cocoimg_error **err);
/* The same for a scratch file that is never made durable (a staged download): no writeback. */
int cocoimg__reader_to_scratch_fd(cocoimg__reader *r, int fd, uint64_t *total, cocoimg_error **err);
/*
 * Read @p r to EOF into a malloc'd buffer of at most @p max bytes
 * (COCOIMG_ELIMIT beyond).  A NUL follows the data (not counted in *len).
 */
int cocoimg__reader_to_mem(cocoimg__reader *r, size_t max, uint8_t **out, size_t *len,
                           cocoimg_error **err);

#endif
