/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "pipeline/reader.h"

/*
 * Compression stages.  Each owns one COCOIMG_PIPE_BUFSZ input buffer,
 * allocated with the stage, and writes straight into the caller's buffer.
 * A read call returns as soon as it produced anything, so the output of one
 * call is bounded by the caller's length: a decompression bomb can be cut
 * off by a downstream limit stage.  Every loop iteration either consumes
 * input, pulls more from upstream or produces output; an iteration that
 * does none of these is treated as corrupt input instead of spinning.
 */

const char *
cocoimg__compression_name(cocoimg__compression c)
{
    switch (c) {
    case COCOIMG_COMPRESSION_NONE:
        return "none";
    case COCOIMG_COMPRESSION_GZIP:
        return "gzip";
    case COCOIMG_COMPRESSION_ZSTD:
        return "zstd";
    }
    return "unknown";
}

cocoimg__compression
cocoimg__compression_detect(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return COCOIMG_COMPRESSION_GZIP;
    if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        return COCOIMG_COMPRESSION_ZSTD;
    return COCOIMG_COMPRESSION_NONE;
}

/*
 * Pull more input when the current buffer is used up; sets *eof at the end.
 * From an upstream that can peek, the input is its own buffer (no copy):
 * it stays valid until the next refill, which comes only once it is used up.
 */
static int
refill(cocoimg__reader *up, uint8_t *inbuf, const uint8_t **next, size_t *avail, bool *eof,
       cocoimg_error **err)
{
    if (*avail > 0 || *eof)
        return 0;
    const void *p = inbuf;
    ssize_t n = cocoimg__reader_can_peek(up)
                    ? cocoimg__reader_peek(up, &p, COCOIMG_PIPE_BUFSZ, err)
                    : cocoimg__reader_read(up, inbuf, COCOIMG_PIPE_BUFSZ, err);
    if (n < 0)
        return (int)n;
    if (n == 0)
        *eof = true;
    *next = n > 0 ? p : inbuf;
    *avail = (size_t)n;
    return 0;
}

/* --- gzip ---------------------------------------------------------------- */

struct gz_state {
    z_stream z;
    bool initialised;
    bool in_eof;
    bool member_done; /* between members: EOF here is a clean end */
    uint8_t inbuf[COCOIMG_PIPE_BUFSZ];
};

static int
gz_error(cocoimg_error **err, int zr, const z_stream *z, const char *op)
{
    if (zr == Z_MEM_ERROR)
        return cocoimg__error_oom(err);
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "gzip: %s: %s", op,
                              z->msg ? z->msg : "corrupt data");
}

static ssize_t
gunzip_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct gz_state *s = r->state;
    z_stream *z = &s->z;
    if (len > UINT_MAX)
        len = UINT_MAX;
    for (;;) {
        const uint8_t *next = z->next_in;
        size_t avail = z->avail_in;
        int rr = refill(r->upstream, s->inbuf, &next, &avail, &s->in_eof, err);
        if (rr < 0)
            return rr;
        z->next_in = (Bytef *)next;
        z->avail_in = (uInt)avail;

        if (s->member_done) {
            if (z->avail_in == 0) {
                if (s->in_eof)
                    return 0;
                continue;
            }
            /* More bytes after a member: only another gzip member is allowed. */
            int zr = inflateReset(z);
            if (zr != Z_OK)
                return gz_error(err, zr, z, "reset");
            s->member_done = false;
        }
        if (z->avail_in == 0 && s->in_eof)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "gzip: unexpected end of data");

        uInt in_before = z->avail_in;
        z->next_out = buf;
        z->avail_out = (uInt)len;
        int zr = inflate(z, Z_NO_FLUSH);
        size_t produced = len - z->avail_out;
        if (zr == Z_STREAM_END)
            s->member_done = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return gz_error(err, zr, z, "inflate");
        if (produced > 0)
            return (ssize_t)produced;
        if (!s->member_done && z->avail_in == in_before && z->avail_in > 0)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "gzip: no progress");
    }
}

static void
gunzip_free(cocoimg__reader *r)
{
    struct gz_state *s = r->state;
    if (s && s->initialised)
        inflateEnd(&s->z);
    free(s);
}

static const struct cocoimg__reader_ops gunzip_ops = {
    .name = "gunzip", .read = gunzip_read, .free = gunzip_free};

#ifdef HAVE_ISAL
/*
 * gunzip with ISA-L's streaming isal_inflate (about twice zlib's speed on
 * layer data, see bench/pull.sh): same contract as the zlib stage above
 * (multi-member, CRC checked, truncation and trailing garbage are errors).
 */
struct isal_state {
    struct inflate_state st;
    bool in_eof;
    bool member_done;
    uint8_t inbuf[COCOIMG_PIPE_BUFSZ];
};

static ssize_t
isal_gunzip_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct isal_state *s = r->state;
    struct inflate_state *st = &s->st;
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    for (;;) {
        const uint8_t *next = st->next_in;
        size_t avail = st->avail_in;
        int rr = refill(r->upstream, s->inbuf, &next, &avail, &s->in_eof, err);
        if (rr < 0)
            return rr;
        st->next_in = (uint8_t *)next;
        st->avail_in = (uint32_t)avail;

        if (s->member_done) {
            if (st->avail_in == 0) {
                if (s->in_eof)
                    return 0;
                continue;
            }
            /* more bytes after a member: only another gzip member is allowed */
            uint8_t *keep = st->next_in;
            uint32_t keep_len = st->avail_in;
            isal_inflate_reset(st);
            st->crc_flag = ISAL_GZIP;
            st->next_in = keep;
            st->avail_in = keep_len;
            s->member_done = false;
        }
        if (st->avail_in == 0 && s->in_eof)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "gzip: unexpected end of data");

        uint32_t in_before = st->avail_in;
        st->next_out = buf;
        st->avail_out = (uint32_t)len;
        int ir = isal_inflate(st);
        size_t produced = len - st->avail_out;
        if (ir != ISAL_DECOMP_OK)
            return cocoimg__error_set(
                err, COCOIMG_EFORMAT, 0, "gzip: inflate: %s (%d)",
                ir == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch" : "corrupt data", ir);
        if (st->block_state == ISAL_BLOCK_FINISH)
            s->member_done = true;
        if (produced > 0)
            return (ssize_t)produced;
        if (!s->member_done && st->avail_in == in_before && st->avail_in > 0)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "gzip: no progress");
    }
}

static void
isal_gunzip_free(cocoimg__reader *r)
{
    free(r->state);
}

static const struct cocoimg__reader_ops isal_gunzip_ops = {
    .name = "gunzip-isal", .read = isal_gunzip_read, .free = isal_gunzip_free};
#endif

static ssize_t
gzip_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct gz_state *s = r->state;
    z_stream *z = &s->z;
    if (len > UINT_MAX)
        len = UINT_MAX;
    for (;;) {
        if (s->member_done)
            return 0;
        const uint8_t *next = z->next_in;
        size_t avail = z->avail_in;
        int rr = refill(r->upstream, s->inbuf, &next, &avail, &s->in_eof, err);
        if (rr < 0)
            return rr;
        z->next_in = (Bytef *)next;
        z->avail_in = (uInt)avail;

        z->next_out = buf;
        z->avail_out = (uInt)len;
        int zr = deflate(z, s->in_eof ? Z_FINISH : Z_NO_FLUSH);
        size_t produced = len - z->avail_out;
        if (zr == Z_STREAM_END)
            s->member_done = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return cocoimg__error_set(err, COCOIMG_ERROR, 0, "gzip: deflate failed (%d)", zr);
        if (produced > 0)
            return (ssize_t)produced;
    }
}

static void
gzip_free(cocoimg__reader *r)
{
    struct gz_state *s = r->state;
    if (s && s->initialised)
        deflateEnd(&s->z);
    free(s);
}

static const struct cocoimg__reader_ops gzip_ops = {
    .name = "gzip", .read = gzip_read, .free = gzip_free};

/* --- zstd ---------------------------------------------------------------- */

struct zstd_state {
    ZSTD_DStream *ds;
    ZSTD_CCtx *cs;
    ZSTD_inBuffer in;
    bool in_eof;
    bool frame_done; /* the last call completed a frame: EOF here is clean */
    bool finished;   /* compressor: epilogue written */
    uint8_t inbuf[COCOIMG_PIPE_BUFSZ];
};

static ssize_t
unzstd_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct zstd_state *s = r->state;
    for (;;) {
        const uint8_t *next = (const uint8_t *)s->in.src + s->in.pos;
        size_t avail = s->in.size - s->in.pos;
        bool had_input = avail > 0;
        int rr = refill(r->upstream, s->inbuf, &next, &avail, &s->in_eof, err);
        if (rr < 0)
            return rr;
        if (!had_input)
            s->in = (ZSTD_inBuffer){next, avail, 0};

        bool input_left = s->in.pos < s->in.size;
        if (!input_left && s->in_eof && s->frame_done)
            return 0;

        size_t pos_before = s->in.pos;
        ZSTD_outBuffer out = {buf, len, 0};
        size_t zr = ZSTD_decompressStream(s->ds, &out, &s->in);
        if (ZSTD_isError(zr))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "zstd: %s", ZSTD_getErrorName(zr));
        s->frame_done = zr == 0;
        if (out.pos > 0)
            return (ssize_t)out.pos;
        if (s->in.pos == s->in.size && s->in_eof) {
            if (s->frame_done)
                return 0;
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "zstd: unexpected end of data");
        }
        if (s->in.pos == pos_before && input_left)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "zstd: no progress");
    }
}

static ssize_t
zstd_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    struct zstd_state *s = r->state;
    for (;;) {
        if (s->finished)
            return 0;
        const uint8_t *next = (const uint8_t *)s->in.src + s->in.pos;
        size_t avail = s->in.size - s->in.pos;
        bool had_input = avail > 0;
        int rr = refill(r->upstream, s->inbuf, &next, &avail, &s->in_eof, err);
        if (rr < 0)
            return rr;
        if (!had_input)
            s->in = (ZSTD_inBuffer){next, avail, 0};

        ZSTD_outBuffer out = {buf, len, 0};
        size_t zr =
            ZSTD_compressStream2(s->cs, &out, &s->in, s->in_eof ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(zr))
            return cocoimg__error_set(err, COCOIMG_ERROR, 0, "zstd: %s", ZSTD_getErrorName(zr));
        if (s->in_eof && zr == 0)
            s->finished = true;
        if (out.pos > 0)
            return (ssize_t)out.pos;
    }
}

static void
zstd_free(cocoimg__reader *r)
{
    struct zstd_state *s = r->state;
    if (s) {
        ZSTD_freeDStream(s->ds);
        ZSTD_freeCCtx(s->cs);
    }
    free(s);
}

static const struct cocoimg__reader_ops unzstd_ops = {
    .name = "unzstd", .read = unzstd_read, .free = zstd_free};
static const struct cocoimg__reader_ops zstd_ops = {
    .name = "zstd", .read = zstd_read, .free = zstd_free};

/* --- constructors -------------------------------------------------------- */

int
cocoimg__reader_decompress(cocoimg__reader **out, cocoimg__reader *upstream, cocoimg__compression c,
                           unsigned int flags, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    switch (c) {
    case COCOIMG_COMPRESSION_NONE:
        *out = TAKE_PTR(up);
        return 0;
    case COCOIMG_COMPRESSION_GZIP: {
#ifdef HAVE_ISAL
        if (!(flags & COCOIMG__DECOMPRESS_NO_ISAL)) {
            struct isal_state *is = calloc(1, sizeof(*is));
            if (!is)
                return cocoimg__error_oom(err);
            isal_inflate_init(&is->st);
            is->st.crc_flag = ISAL_GZIP;
            return cocoimg__reader_new(out, &isal_gunzip_ops, is, TAKE_PTR(up), err);
        }
#endif
        struct gz_state *s = calloc(1, sizeof(*s));
        if (!s)
            return cocoimg__error_oom(err);
        /* 16 + MAX_WBITS: gzip wrapper only, so trailing non-gzip data is an error */
        int zr = inflateInit2(&s->z, 16 + MAX_WBITS);
        if (zr != Z_OK) {
            free(s);
            return zr == Z_MEM_ERROR ? cocoimg__error_oom(err)
                                     : cocoimg__error_set(err, COCOIMG_ERROR, 0,
                                                          "gzip: inflate init failed (%d)", zr);
        }
        s->initialised = true;
        return cocoimg__reader_new(out, &gunzip_ops, s, TAKE_PTR(up), err);
    }
    case COCOIMG_COMPRESSION_ZSTD: {
        struct zstd_state *s = calloc(1, sizeof(*s));
        if (!s)
            return cocoimg__error_oom(err);
        s->ds = ZSTD_createDStream();
        if (!s->ds || ZSTD_isError(ZSTD_initDStream(s->ds))) {
            ZSTD_freeDStream(s->ds);
            free(s);
            return cocoimg__error_oom(err);
        }
        s->in = (ZSTD_inBuffer){s->inbuf, 0, 0};
        return cocoimg__reader_new(out, &unzstd_ops, s, TAKE_PTR(up), err);
    }
    }
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "compression %d", (int)c);
}

int
cocoimg__reader_compress(cocoimg__reader **out, cocoimg__reader *upstream, cocoimg__compression c,
                         int level, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *up = upstream;
    switch (c) {
    case COCOIMG_COMPRESSION_NONE:
        *out = TAKE_PTR(up);
        return 0;
    case COCOIMG_COMPRESSION_GZIP: {
        if (level < 0 || level > 9)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "gzip: level %d not in 1..9", level);
        struct gz_state *s = calloc(1, sizeof(*s));
        if (!s)
            return cocoimg__error_oom(err);
        int zr = deflateInit2(&s->z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                              16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        if (zr != Z_OK) {
            free(s);
            return zr == Z_MEM_ERROR ? cocoimg__error_oom(err)
                                     : cocoimg__error_set(err, COCOIMG_ERROR, 0,
                                                          "gzip: deflate init failed (%d)", zr);
        }
        s->initialised = true;
        return cocoimg__reader_new(out, &gzip_ops, s, TAKE_PTR(up), err);
    }
    case COCOIMG_COMPRESSION_ZSTD: {
        if (level < 0 || level > 19)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "zstd: level %d not in 1..19", level);
        struct zstd_state *s = calloc(1, sizeof(*s));
        if (!s)
            return cocoimg__error_oom(err);
        s->cs = ZSTD_createCCtx();
        if (!s->cs ||
            ZSTD_isError(ZSTD_CCtx_setParameter(s->cs, ZSTD_c_compressionLevel,
                                                level ? level : ZSTD_CLEVEL_DEFAULT)) ||
            /* a content checksum lets any reader catch corruption */
            ZSTD_isError(ZSTD_CCtx_setParameter(s->cs, ZSTD_c_checksumFlag, 1))) {
            ZSTD_freeCCtx(s->cs);
            free(s);
            return cocoimg__error_set(err, COCOIMG_ERROR, 0, "zstd: compressor init failed");
        }
        s->in = (ZSTD_inBuffer){s->inbuf, 0, 0};
        return cocoimg__reader_new(out, &zstd_ops, s, TAKE_PTR(up), err);
    }
    }
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "compression %d", (int)c);
}
