/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/reader.h"
#include "tap.h"
#include "util/fs.h"

/* gzip -n and zstd of "hello\n"; the second zstd frame has no checksum */
static const uint8_t gz_hello[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00,
                                   0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00};
static const uint8_t zst_hello[] = {0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x31, 0x00, 0x00, 0x68,
                                    0x65, 0x6c, 0x6c, 0x6f, 0x0a, 0x53, 0x88, 0xbd, 0x91};
static const uint8_t zst_world[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x31, 0x00,
                                    0x00, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x0a};

/* --- helpers --------------------------------------------------------------- */

/* A synthetic source: @p n bytes of a pattern, counting what was pulled. */
struct gen_state {
    uint64_t left, pulled;
    int kind; /* 0 zeros, 1 mixed random/text */
    uint64_t x;
};

static ssize_t
gen_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    (void)err;
    struct gen_state *s = r->state;
    size_t n = len < s->left ? len : (size_t)s->left;
    if (s->kind == 0) {
        memset(buf, 0, n);
    } else {
        uint8_t *p = buf;
        for (size_t i = 0; i < n; i++) {
            uint64_t pos = s->pulled + i;
            /* alternate 64 KiB of xorshift noise and 64 KiB of text */
            if ((pos >> 16) & 1) {
                s->x ^= s->x << 13;
                s->x ^= s->x >> 7;
                s->x ^= s->x << 17;
                p[i] = (uint8_t)s->x;
            } else {
                p[i] = "the quick brown fox jumps over the lazy dog\n"[pos % 44];
            }
        }
    }
    s->left -= n;
    s->pulled += n;
    return (ssize_t)n;
}

static void
gen_free(cocoimg__reader *r)
{
    free(r->state);
}

static const struct cocoimg__reader_ops gen_ops = {
    .name = "gen", .read = gen_read, .free = gen_free};

static int
gen_new(cocoimg__reader **out, uint64_t n, int kind, struct gen_state **peek)
{
    struct gen_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    *s = (struct gen_state){.left = n, .kind = kind, .x = 0x9e3779b97f4a7c15ull};
    if (peek)
        *peek = s;
    return cocoimg__reader_new(out, &gen_ops, s, NULL, NULL);
}

/* Produce the pattern into memory. */
static int
gen_mem(uint8_t **out, size_t n, int kind)
{
    cocoimg__reader *g = NULL;
    if (gen_new(&g, n, kind, NULL) < 0)
        return -1;
    size_t len = 0;
    int r = cocoimg__reader_to_mem(g, n, out, &len, NULL);
    cocoimg__reader_free(g);
    return r < 0 || len != n ? -1 : 0;
}

/* Run @p r to EOF through reads of @p chunk bytes; returns the final code. */
static int
slurp(cocoimg__reader *r, size_t chunk, uint8_t *dst, size_t cap, size_t *got, cocoimg_error **err)
{
    uint8_t tmp[4096];
    *got = 0;
    for (;;) {
        size_t want = chunk < sizeof(tmp) ? chunk : sizeof(tmp);
        ssize_t n = cocoimg__reader_read(r, tmp, want, err);
        if (n <= 0)
            return (int)n;
        if (*got + (size_t)n > cap)
            return -999;
        memcpy(dst + *got, tmp, (size_t)n);
        *got += (size_t)n;
    }
}

/* Compress @p in with @p c, into a malloc'd buffer. */
static int
compress_mem(cocoimg__compression c, int level, const uint8_t *in, size_t n, uint8_t **out,
             size_t *outlen)
{
    cocoimg__reader *r = NULL;
    if (cocoimg__reader_mem(&r, in, n, NULL) < 0 ||
        cocoimg__reader_compress(&r, r, c, level, NULL) < 0)
        return -1;
    int rr = cocoimg__reader_to_mem(r, n + n / 2 + 65536, out, outlen, NULL);
    cocoimg__reader_free(r);
    return rr;
}

/* cocoimg__reader_decompress() flags of the helpers below. */
static unsigned int decompress_flags;

/* Decompress a memory buffer fully; returns the reader's final code. */
static int
decompress_mem(cocoimg__compression c, const uint8_t *in, size_t n, size_t max, uint8_t **out,
               size_t *outlen, cocoimg_error **err)
{
    _cleanup_reader_ cocoimg__reader *r = NULL;
    int rr = cocoimg__reader_mem(&r, in, n, err);
    if (rr < 0)
        return rr;
    rr = cocoimg__reader_decompress(&r, TAKE_PTR(r), c, decompress_flags, err);
    if (rr < 0)
        return rr;
    return cocoimg__reader_to_mem(r, max, out, outlen, err);
}

/* --- tests ----------------------------------------------------------------- */

static int
test_mem_source_and_sticky_eof(void)
{
    _cleanup_reader_ cocoimg__reader *r = NULL;
    char buf[8];
    CHECK_OK(cocoimg__reader_mem(&r, "abcdefghij", 10, NULL));
    CHECK(cocoimg__reader_read(r, buf, 3, NULL) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK(cocoimg__reader_read_full(r, buf, 8, NULL) == 7 && memcmp(buf, "defghij", 7) == 0);
    CHECK(cocoimg__reader_read(r, buf, 8, NULL) == 0);
    CHECK(cocoimg__reader_read(r, buf, 8, NULL) == 0);
    return 0;
}

static int
test_verify(void)
{
    static const char data[] = "The blob pipeline verifies before anything parses.";
    size_t n = sizeof(data) - 1;
    cocoimg__digest good, bad;
    CHECK_OK(cocoimg__digest_buffer(&good, COCOIMG_DIGEST_SHA256, data, n, NULL));
    bad = good;
    bad.bytes[31] ^= 1;
    uint8_t out[256];
    size_t got;

    /* correct digest, known and unknown size, various chunkings */
    const int64_t sizes[] = {(int64_t)n, -1};
    const size_t chunks[] = {1, 7, 4096};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++) {
            _cleanup_reader_ cocoimg__reader *r = NULL;
            CHECK_OK(cocoimg__reader_mem(&r, data, n, NULL));
            CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &good, sizes[i], NULL));
            CHECK(slurp(r, chunks[j], out, sizeof(out), &got, NULL) == 0);
            CHECK(got == n && memcmp(out, data, n) == 0);
        }

    /* wrong digest: all data first, the verdict at EOF, then sticky */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, data, n, NULL));
        CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &bad, (int64_t)n, NULL));
        CHECK(cocoimg__reader_read(r, out, sizeof(out), &err) == (ssize_t)n);
        CHECK(err == NULL);
        CHECK(cocoimg__reader_read(r, out, sizeof(out), &err) == COCOIMG_EDIGEST);
        CHECK(strstr(cocoimg_error_message(err), "does not match its digest") != NULL);
        CHECK(cocoimg__reader_read(r, out, sizeof(out), NULL) == COCOIMG_EDIGEST);
    }
    /* wrong digest with unknown size */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, data, n, NULL));
        CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &bad, -1, NULL));
        CHECK(slurp(r, 4096, out, sizeof(out), &got, NULL) == COCOIMG_EDIGEST && got == n);
    }
    /* short stream: right digest of a prefix but the descriptor says more */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, data, n, NULL));
        CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &good, (int64_t)n + 1, NULL));
        CHECK(slurp(r, 4096, out, sizeof(out), &got, &err) == COCOIMG_EDIGEST && got == n);
        CHECK(strstr(cocoimg_error_message(err), "shorter") != NULL);
    }
    /* long stream: fails at the first byte past the size, never hands it out */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, data, n, NULL));
        CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &good, 10, NULL));
        CHECK(slurp(r, 3, out, sizeof(out), &got, &err) == COCOIMG_EDIGEST);
        /* 3+3+3, then a read of 2 (one byte past the size) is refused whole */
        CHECK(got == 9);
        CHECK(strstr(cocoimg_error_message(err), "larger than its descriptor") != NULL);
    }
    /* and in one big read the error comes at once */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, data, n, NULL));
        CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &good, 10, NULL));
        CHECK(cocoimg__reader_read(r, out, sizeof(out), NULL) == COCOIMG_EDIGEST);
    }
    /* empty blob, size 0 */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        cocoimg__digest e;
        CHECK_OK(cocoimg__digest_buffer(&e, COCOIMG_DIGEST_SHA512, "", 0, NULL));
        CHECK_OK(cocoimg__reader_mem(&r, "", 0, NULL));
        CHECK_OK(cocoimg__reader_verify(&r, TAKE_PTR(r), &e, 0, NULL));
        CHECK(cocoimg__reader_read(r, out, sizeof(out), NULL) == 0);
    }
    return 0;
}

static int
test_hash_and_limit(void)
{
    cocoimg__digest d, want;
    uint64_t size = 0;
    CHECK_OK(cocoimg__digest_buffer(&want, COCOIMG_DIGEST_SHA256, "abc", 3, NULL));
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, "abc", 3, NULL));
        CHECK_OK(cocoimg__reader_hash(&r, TAKE_PTR(r), COCOIMG_DIGEST_SHA256, &d, &size, NULL));
        CHECK_OK(cocoimg__reader_drain(r, NULL, NULL));
        CHECK(cocoimg__digest_equal(&d, &want) && size == 3);
    }
    /* limit: exactly max passes, one more fails */
    uint8_t out[64];
    size_t got;
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, "0123456789", 10, NULL));
        CHECK_OK(cocoimg__reader_limit(&r, TAKE_PTR(r), 10, "config", NULL));
        CHECK(slurp(r, 4, out, sizeof(out), &got, NULL) == 0 && got == 10);
    }
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        CHECK_OK(cocoimg__reader_mem(&r, "0123456789", 10, NULL));
        CHECK_OK(cocoimg__reader_limit(&r, TAKE_PTR(r), 9, "config", NULL));
        CHECK(slurp(r, 4, out, sizeof(out), &got, &err) == COCOIMG_ELIMIT);
        CHECK(got == 8); /* 4 + 4, then the read of 2 crosses the limit */
        CHECK(strcmp(cocoimg_error_message(err), "config exceeds 9 bytes") == 0);
    }
    /* ownership on failure: an invalid algorithm still frees the upstream (LSan) */
    {
        cocoimg__reader *r = NULL, *v = NULL;
        cocoimg__digest odd = want;
        odd.alg = (cocoimg__digest_alg)7;
        CHECK_OK(cocoimg__reader_mem(&r, "abc", 3, NULL));
        CHECK(cocoimg__reader_verify(&v, r, &odd, 3, NULL) == COCOIMG_ENOTSUP);
        CHECK_OK(cocoimg__reader_mem(&r, "abc", 3, NULL));
        CHECK(cocoimg__reader_compress(&v, r, COCOIMG_COMPRESSION_GZIP, 10, NULL) ==
              COCOIMG_EINVAL);
        CHECK_OK(cocoimg__reader_mem(&r, "abc", 3, NULL));
        CHECK(cocoimg__reader_compress(&v, r, COCOIMG_COMPRESSION_ZSTD, 20, NULL) ==
              COCOIMG_EINVAL);
        CHECK_OK(cocoimg__reader_mem(&r, "abc", 3, NULL));
        CHECK(cocoimg__reader_decompress(&v, r, (cocoimg__compression)9, 0, NULL) ==
              COCOIMG_ENOTSUP);
        CHECK(v == NULL);
        /* NONE hands the upstream back */
        CHECK_OK(cocoimg__reader_mem(&r, "abc", 3, NULL));
        CHECK_OK(cocoimg__reader_decompress(&v, r, COCOIMG_COMPRESSION_NONE, 0, NULL));
        CHECK(v == r);
        cocoimg__reader_free(v);
    }
    return 0;
}

static int
test_known_vectors(void)
{
    _cleanup_free_ uint8_t *out = NULL;
    size_t len = 0;
    CHECK_OK(decompress_mem(COCOIMG_COMPRESSION_GZIP, gz_hello, sizeof(gz_hello), 100, &out, &len,
                            NULL));
    CHECK(len == 6 && memcmp(out, "hello\n", 6) == 0);
    free(TAKE_PTR(out));
    /* two zstd frames, with and without checksum */
    uint8_t two[sizeof(zst_hello) + sizeof(zst_world)];
    memcpy(two, zst_hello, sizeof(zst_hello));
    memcpy(two + sizeof(zst_hello), zst_world, sizeof(zst_world));
    CHECK_OK(decompress_mem(COCOIMG_COMPRESSION_ZSTD, two, sizeof(two), 100, &out, &len, NULL));
    CHECK(len == 12 && memcmp(out, "hello\nworld\n", 12) == 0);

    CHECK(cocoimg__compression_detect(gz_hello, sizeof(gz_hello)) == COCOIMG_COMPRESSION_GZIP);
    CHECK(cocoimg__compression_detect(zst_hello, 4) == COCOIMG_COMPRESSION_ZSTD);
    CHECK(cocoimg__compression_detect(zst_hello, 3) == COCOIMG_COMPRESSION_NONE);
    CHECK(cocoimg__compression_detect("\x1f", 1) == COCOIMG_COMPRESSION_NONE);
    CHECK(cocoimg__compression_detect("ustar", 5) == COCOIMG_COMPRESSION_NONE);
    CHECK(cocoimg__compression_detect(NULL, 0) == COCOIMG_COMPRESSION_NONE);
    CHECK(strcmp(cocoimg__compression_name(COCOIMG_COMPRESSION_ZSTD), "zstd") == 0);
    return 0;
}

static int
roundtrip(cocoimg__compression c, int level)
{
    const size_t n = 3 * 1024 * 1024 + 12345;
    _cleanup_free_ uint8_t *plain = NULL, *packed = NULL, *back = NULL;
    size_t plen = 0, blen = 0;
    CHECK(gen_mem(&plain, n, 1) == 0);
    CHECK_OK(compress_mem(c, level, plain, n, &packed, &plen));
    CHECK(cocoimg__compression_detect(packed, plen) == c);
    CHECK(plen < n); /* the text half compresses */
    CHECK_OK(decompress_mem(c, packed, plen, n, &back, &blen, NULL));
    CHECK(blen == n && memcmp(back, plain, n) == 0);

    /* small odd reads through the decompressor */
    _cleanup_reader_ cocoimg__reader *r = NULL;
    CHECK_OK(cocoimg__reader_mem(&r, packed, plen, NULL));
    CHECK_OK(cocoimg__reader_decompress(&r, TAKE_PTR(r), c, decompress_flags, NULL));
    memset(back, 0, n);
    size_t got = 0;
    CHECK(slurp(r, 1000, back, n, &got, NULL) == 0);
    CHECK(got == n && memcmp(back, plain, n) == 0);

    /* concatenated members / frames decode to the concatenation */
    _cleanup_free_ uint8_t *cat = malloc(2 * plen), *back2 = NULL;
    CHECK(cat);
    memcpy(cat, packed, plen);
    memcpy(cat + plen, packed, plen);
    CHECK_OK(decompress_mem(c, cat, 2 * plen, 2 * n, &back2, &blen, NULL));
    CHECK(blen == 2 * n && memcmp(back2, plain, n) == 0 && memcmp(back2 + n, plain, n) == 0);
    /* an output cap on the sink applies */
    free(TAKE_PTR(back2));
    CHECK(decompress_mem(c, cat, 2 * plen, 2 * n - 1, &back2, &blen, NULL) == COCOIMG_ELIMIT);

    /* truncation anywhere is an error, including at the cut between members */
    const size_t cuts[] = {0, 1, 2, 9, 10, 100, plen / 2, plen - 9, plen - 8, plen - 4, plen - 1};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(cuts); i++) {
        _cleanup_free_ uint8_t *tb = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        int rr = decompress_mem(c, packed, cuts[i], n, &tb, &blen, &err);
        if (rr != COCOIMG_EFORMAT)
            printf("# %s cut at %zu: %d\n", cocoimg__compression_name(c), cuts[i], rr);
        CHECK(rr == COCOIMG_EFORMAT);
        CHECK(cocoimg_error_code(err) == COCOIMG_EFORMAT);
    }
    {
        _cleanup_free_ uint8_t *tb = NULL;
        CHECK(decompress_mem(c, cat, plen + 5, 2 * n, &tb, &blen, NULL) == COCOIMG_EFORMAT);
    }

    /* corruption in the header, the body and the trailer */
    const size_t flips[] = {0, 1, 3, plen / 3, plen / 2, plen - 2};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(flips); i++) {
        _cleanup_free_ uint8_t *tb = NULL;
        packed[flips[i]] ^= 0x55;
        int rr = decompress_mem(c, packed, plen, n, &tb, &blen, NULL);
        packed[flips[i]] ^= 0x55;
        if (rr != COCOIMG_EFORMAT)
            printf("# %s flip at %zu: %d\n", cocoimg__compression_name(c), flips[i], rr);
        CHECK(rr == COCOIMG_EFORMAT);
    }

    /* trailing garbage after a complete member or frame */
    static const char *tails[] = {"x", "\0\0\0\0\0\0\0\0", "\x1f", "garbage after the end"};
    const size_t tail_lens[] = {1, 8, 1, 21};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(tails); i++) {
        _cleanup_free_ uint8_t *tb = NULL;
        memcpy(cat + plen, tails[i], tail_lens[i]);
        int rr = decompress_mem(c, cat, plen + tail_lens[i], n, &tb, &blen, NULL);
        CHECK(rr == COCOIMG_EFORMAT);
    }
    return 0;
}

static int
test_gzip_roundtrip(void)
{
    CHECK(roundtrip(COCOIMG_COMPRESSION_GZIP, 0) == 0);
    /* level 1 and 9 also produce valid, different streams */
    uint8_t plain[10000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)("abcab"[i % 5] + i / 1000);
    _cleanup_free_ uint8_t *p1 = NULL, *p9 = NULL, *b = NULL;
    size_t l1, l9, bl;
    CHECK_OK(compress_mem(COCOIMG_COMPRESSION_GZIP, 1, plain, sizeof(plain), &p1, &l1));
    CHECK_OK(compress_mem(COCOIMG_COMPRESSION_GZIP, 9, plain, sizeof(plain), &p9, &l9));
    CHECK_OK(decompress_mem(COCOIMG_COMPRESSION_GZIP, p9, l9, sizeof(plain), &b, &bl, NULL));
    CHECK(bl == sizeof(plain) && memcmp(b, plain, bl) == 0);
    CHECK(l9 <= l1);
    /* compressing nothing gives a valid empty member */
    _cleanup_free_ uint8_t *e = NULL, *eb = NULL;
    size_t el, ebl;
    CHECK_OK(compress_mem(COCOIMG_COMPRESSION_GZIP, 0, plain, 0, &e, &el));
    CHECK(el >= 18);
    CHECK_OK(decompress_mem(COCOIMG_COMPRESSION_GZIP, e, el, 10, &eb, &ebl, NULL));
    CHECK(ebl == 0);
    return 0;
}

/* gzip: ISA-L when built with it, zlib with COCOIMG__DECOMPRESS_NO_ISAL; both pass the same tests.
 */
static const char *
gunzip_stage(unsigned int flags)
{
    cocoimg__reader *r = NULL;
    if (cocoimg__reader_mem(&r, gz_hello, sizeof(gz_hello), NULL) < 0 ||
        cocoimg__reader_decompress(&r, r, COCOIMG_COMPRESSION_GZIP, flags, NULL) < 0)
        return "";
    const char *name = r->ops->name;
    cocoimg__reader_free(r);
    return name;
}

static int
test_gzip_isal_flag(void)
{
    CHECK(strcmp(gunzip_stage(COCOIMG__DECOMPRESS_NO_ISAL), "gunzip") == 0);
#ifdef HAVE_ISAL
    CHECK(strcmp(gunzip_stage(0), "gunzip-isal") == 0);
#else
    CHECK(strcmp(gunzip_stage(0), "gunzip") == 0);
#endif
    decompress_flags = COCOIMG__DECOMPRESS_NO_ISAL;
    int rc = roundtrip(COCOIMG_COMPRESSION_GZIP, 0);
    decompress_flags = 0;
    CHECK(rc == 0);
    return 0;
}

static int
test_zstd_roundtrip(void)
{
    CHECK(roundtrip(COCOIMG_COMPRESSION_ZSTD, 0) == 0);
    _cleanup_free_ uint8_t *e = NULL, *eb = NULL;
    size_t el, ebl;
    CHECK_OK(compress_mem(COCOIMG_COMPRESSION_ZSTD, 19, (const uint8_t *)"", 0, &e, &el));
    CHECK_OK(decompress_mem(COCOIMG_COMPRESSION_ZSTD, e, el, 10, &eb, &ebl, NULL));
    CHECK(ebl == 0);
    return 0;
}

/* A bomb is stopped by a limit stage after bounded work. */
static int
bomb(cocoimg__compression c)
{
    const uint64_t big = 256ull * 1024 * 1024;
    _cleanup_free_ uint8_t *packed = NULL;
    size_t plen = 0;
    {
        _cleanup_reader_ cocoimg__reader *g = NULL;
        CHECK(gen_new(&g, big, 0, NULL) == 0);
        CHECK_OK(cocoimg__reader_compress(&g, TAKE_PTR(g), c, 1, NULL));
        CHECK_OK(cocoimg__reader_to_mem(g, 4 * 1024 * 1024, &packed, &plen, NULL));
    }
    CHECK(plen < big / 200);

    _cleanup_reader_ cocoimg__reader *r = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    CHECK_OK(cocoimg__reader_mem(&r, packed, plen, NULL));
    /* a pass-through stage under the decompressor shows whether input ran out */
    CHECK_OK(cocoimg__reader_hash(&r, TAKE_PTR(r), COCOIMG_DIGEST_SHA256, NULL, NULL, NULL));
    cocoimg__reader *hash_stage = r;
    CHECK_OK(cocoimg__reader_decompress(&r, TAKE_PTR(r), c, 0, NULL));
    CHECK_OK(cocoimg__reader_limit(&r, TAKE_PTR(r), 1024 * 1024, "layer", NULL));
    CHECK(cocoimg__reader_drain(r, NULL, &err) == COCOIMG_ELIMIT);
    /* the stage never reached EOF: it stopped early, well before all input */
    CHECK(hash_stage->status == 0);
    CHECK(strstr(cocoimg_error_message(err), "layer exceeds") != NULL);
    return 0;
}

static int
test_bomb_stopped_by_limit(void)
{
    CHECK(bomb(COCOIMG_COMPRESSION_GZIP) == 0);
    CHECK(bomb(COCOIMG_COMPRESSION_ZSTD) == 0);
    return 0;
}

/* A new directory under $TMPDIR (or /tmp), its path in @p dir: an fd on it, -1 on failure. */
static int
scratch_dir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/cocoimg-pipe-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int
test_fd_sinks_and_sources(void)
{
    char dir[4096];
    _cleanup_close_ int dfd = scratch_dir(dir, sizeof(dir));
    CHECK(dfd >= 0);
    int rc = -1;
    _cleanup_free_ uint8_t *plain = NULL, *back = NULL;
    size_t n = 700001, blen;
    if (gen_mem(&plain, n, 1) < 0)
        goto out;

    /* mem -> gzip -> staged file -> commit; then file -> gunzip -> verify */
    cocoimg__digest d;
    if (cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, plain, n, NULL) < 0)
        goto out;
    {
        _cleanup_tmpfile_ cocoimg__tmpfile t = COCOIMG_TMPFILE_INIT;
        _cleanup_reader_ cocoimg__reader *r = NULL;
        uint64_t total = 0;
        if (cocoimg__reader_mem(&r, plain, n, NULL) < 0 ||
            cocoimg__reader_compress(&r, TAKE_PTR(r), COCOIMG_COMPRESSION_GZIP, 0, NULL) < 0 ||
            cocoimg__tmpfile_open(&t, dfd, "blob", NULL) < 0 ||
            cocoimg__reader_to_fd(r, t.fd, &total, NULL) < 0 ||
            cocoimg__tmpfile_commit(&t, "blob", NULL) < 0)
            goto out;
        struct stat st;
        if (fstatat(dfd, "blob", &st, 0) < 0 || (uint64_t)st.st_size != total || total == 0)
            goto out;
    }
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        if (cocoimg__reader_file(&r, dfd, "blob", NULL) < 0 ||
            cocoimg__reader_decompress(&r, TAKE_PTR(r), COCOIMG_COMPRESSION_GZIP, 0, NULL) < 0 ||
            cocoimg__reader_verify(&r, TAKE_PTR(r), &d, (int64_t)n, NULL) < 0 ||
            cocoimg__reader_to_mem(r, n, &back, &blen, NULL) < 0)
            goto out;
        if (blen != n || memcmp(back, plain, n) != 0)
            goto out;
    }
    /* file source refuses a symlink and reports a missing file */
    {
        cocoimg__reader *r = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        if (symlinkat("blob", dfd, "link") < 0 ||
            cocoimg__reader_file(&r, dfd, "link", &err) != COCOIMG_EIO ||
            cocoimg_error_errno(err) != ELOOP)
            goto out;
        cocoimg_error_free(TAKE_PTR(err));
        if (cocoimg__reader_file(&r, dfd, "nope", &err) != COCOIMG_ENOTFOUND)
            goto out;
    }
    /* to_fd write failure surfaces as EIO */
    {
        _cleanup_reader_ cocoimg__reader *r = NULL;
        int p[2];
        if (pipe(p) < 0)
            goto out;
        close(p[1]);
        if (cocoimg__reader_mem(&r, "x", 1, NULL) < 0 ||
            cocoimg__reader_to_fd(r, p[0], NULL, NULL) != COCOIMG_EIO) {
            close(p[0]);
            goto out;
        }
        close(p[0]);
    }
    rc = 0;
out:
    cocoimg__rm_rf(AT_FDCWD, dir, NULL);
    return rc;
}

struct drain_arg {
    int fd;
    uint8_t *buf;
    size_t cap, got;
};

static void *
drain_thread(void *arg)
{
    struct drain_arg *a = arg;
    for (;;) {
        ssize_t n = read(a->fd, a->buf + a->got, a->cap - a->got);
        if (n <= 0)
            break;
        a->got += (size_t)n;
    }
    return NULL;
}

/*
 * The durable blob sink writes aligned 1 MiB pieces with O_DIRECT and the
 * tail through the page cache: every size around the piece boundaries comes
 * back byte for byte, from a peeking and from a plain reader, the file is
 * left without O_DIRECT, and a descriptor that refuses O_DIRECT (a socket)
 * gets the same bytes through the buffered path; a write refused after the
 * first piece (the writer thread's) is an error.
 */
static int
test_direct_sink(void)
{
    char dir[4096];
    _cleanup_close_ int dfd = scratch_dir(dir, sizeof(dir));
    CHECK(dfd >= 0);
    int rc = -1;
    const size_t M = 1u << 20;
    /* up to twice round the writer thread's ring of pieces */
    const size_t sizes[] = {0, 1, 4095, M - 1, M, M + 1, 3 * M + 17, 4 * M, 8 * M + 3};
    _cleanup_free_ uint8_t *data = NULL;
    if (gen_mem(&data, 9 * M, 1) < 0)
        goto out;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int plain = 0; plain < 2; plain++) {
            size_t n = sizes[i];
            _cleanup_tmpfile_ cocoimg__tmpfile t = COCOIMG_TMPFILE_INIT;
            _cleanup_reader_ cocoimg__reader *r = NULL;
            uint64_t total = 1;
            /* the generator cannot peek: the sink reads into its buffer */
            if ((plain ? gen_new(&r, n, 1, NULL) : cocoimg__reader_mem(&r, data, n, NULL)) < 0)
                goto out;
            if (cocoimg__tmpfile_open(&t, dfd, "d", NULL) < 0 ||
                cocoimg__reader_to_blob_fd(r, t.fd, &total, NULL) < 0 || total != n) {
                printf("# size %zu (%s): write failed\n", n, plain ? "read" : "peek");
                goto out;
            }
            int fl = fcntl(t.fd, F_GETFL);
            if (fl < 0 || (fl & O_DIRECT)) {
                printf("# size %zu: O_DIRECT left on the file\n", n);
                goto out;
            }
            if (cocoimg__tmpfile_commit(&t, "d", NULL) < 0)
                goto out;
            _cleanup_free_ uint8_t *back = NULL;
            size_t blen = 0;
            if (cocoimg__read_file(&back, &blen, dfd, "d", 9 * M, NULL) < 0 || blen != n ||
                (n && memcmp(back, data, n) != 0)) {
                printf("# size %zu (%s): the file differs\n", n, plain ? "read" : "peek");
                goto out;
            }
        }
    }
    /* a stream that fails after direct pieces went out: an error, and O_DIRECT off */
    {
        _cleanup_tmpfile_ cocoimg__tmpfile t = COCOIMG_TMPFILE_INIT;
        _cleanup_reader_ cocoimg__reader *r = NULL;
        cocoimg__digest wrong = {.alg = COCOIMG_DIGEST_SHA256};
        if (cocoimg__reader_mem(&r, data, 3 * M, NULL) < 0 ||
            cocoimg__reader_verify(&r, TAKE_PTR(r), &wrong, (int64_t)(3 * M), NULL) < 0 ||
            cocoimg__tmpfile_open(&t, dfd, "e", NULL) < 0)
            goto out;
        if (cocoimg__reader_to_blob_fd(r, t.fd, NULL, NULL) != COCOIMG_EDIGEST) {
            printf("# a failing stream was not an error\n");
            goto out;
        }
        int fl = fcntl(t.fd, F_GETFL);
        if (fl < 0 || (fl & O_DIRECT)) {
            printf("# O_DIRECT left on after an error\n");
            goto out;
        }
    }
    /* a socket refuses O_DIRECT: the buffered path carries the bytes */
    {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
            goto out;
        struct drain_arg a = {.fd = sp[1], .buf = malloc(4 * M), .cap = 4 * M};
        pthread_t th;
        if (!a.buf || pthread_create(&th, NULL, drain_thread, &a) != 0) {
            free(a.buf);
            close(sp[0]);
            close(sp[1]);
            goto out;
        }
        _cleanup_reader_ cocoimg__reader *r = NULL;
        uint64_t total = 0;
        int wr = cocoimg__reader_mem(&r, data, 3 * M + 17, NULL) < 0
                     ? -1
                     : cocoimg__reader_to_blob_fd(r, sp[0], &total, NULL);
        close(sp[0]);
        pthread_join(th, NULL);
        close(sp[1]);
        bool same =
            wr == 0 && total == 3 * M + 17 && a.got == total && memcmp(a.buf, data, a.got) == 0;
        free(a.buf);
        if (!same) {
            printf("# socket: rc %d, %zu bytes arrived\n", wr, a.got);
            goto out;
        }
    }
    /*
     * A write that fails after the first piece is the writer thread's: the
     * file size limit lets two pieces through and refuses the third
     * (EFBIG); the sink returns the error, joins its thread and leaves the
     * descriptor without O_DIRECT.
     */
    {
        _cleanup_tmpfile_ cocoimg__tmpfile t = COCOIMG_TMPFILE_INIT;
        _cleanup_reader_ cocoimg__reader *r = NULL;
        cocoimg_error *e = NULL;
        struct rlimit old, lim;
        if (cocoimg__reader_mem(&r, data, 4 * M, NULL) < 0 ||
            cocoimg__tmpfile_open(&t, dfd, "f", NULL) < 0 || getrlimit(RLIMIT_FSIZE, &old) < 0)
            goto out;
        lim = old;
        lim.rlim_cur = 2 * M;
        void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
        int wr = -1;
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            wr = cocoimg__reader_to_blob_fd(r, t.fd, NULL, &e);
            (void)setrlimit(RLIMIT_FSIZE, &old);
        }
        signal(SIGXFSZ, was);
        int fl = fcntl(t.fd, F_GETFL);
        bool ok = wr == COCOIMG_EIO && e && strstr(cocoimg_error_message(e), "write: ") &&
                  fl >= 0 && !(fl & O_DIRECT);
        if (!ok)
            printf("# file size limit: rc %d, error '%s'\n", wr,
                   e ? cocoimg_error_message(e) : "(none)");
        cocoimg_error_free(e);
        if (!ok)
            goto out;
    }
    rc = 0;
out:
    cocoimg__rm_rf(AT_FDCWD, dir, NULL);
    return rc;
}

/*
 * @p len bytes of a fixed pattern (@p shift varies it), their digest and the
 * same digest with byte @p flip changed; NULL when out of memory.
 */
static uint8_t *
pattern(size_t len, unsigned shift, cocoimg__digest *want, cocoimg__digest *bad, size_t flip)
{
    uint8_t *data = malloc(len);
    if (!data)
        return NULL;
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 2654435761u >> shift);
    if (cocoimg__digest_buffer(want, COCOIMG_DIGEST_SHA256, data, len, NULL) < 0) {
        free(data);
        return NULL;
    }
    *bad = *want;
    bad->bytes[flip] ^= 1;
    return data;
}

/* The async stage hands every byte over in order, then the upstream verdict. */
static int
test_async(void)
{
    size_t len = 9 * 1024 * 1024 + 12345; /* several slots and a partial one */
    cocoimg__digest want, bad;
    uint8_t *data = pattern(len, 13, &want, &bad, 0);
    CHECK(data);

    /* good digest: all bytes, then EOF */
    cocoimg__reader *m = NULL, *v = NULL, *a = NULL, *h = NULL;
    CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
    CHECK_OK(cocoimg__reader_verify(&v, m, &want, (int64_t)len, NULL));
    CHECK_OK(cocoimg__reader_async(&a, v, NULL));
    cocoimg__digest got;
    uint64_t n = 0;
    CHECK_OK(cocoimg__reader_hash(&h, a, COCOIMG_DIGEST_SHA256, &got, &n, NULL));
    uint8_t buf[70000];
    ssize_t r;
    while ((r = cocoimg__reader_read(h, buf, sizeof(buf), NULL)) > 0)
        ;
    CHECK(r == 0 && n == len && cocoimg__digest_equal(&got, &want));
    cocoimg__reader_free(h);

    /* bad digest: the data still comes through, the verdict is EDIGEST at the end */
    cocoimg_error *err = NULL;
    CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
    CHECK_OK(cocoimg__reader_verify(&v, m, &bad, (int64_t)len, NULL));
    CHECK_OK(cocoimg__reader_async(&a, v, NULL));
    size_t total = 0;
    while ((r = cocoimg__reader_read(a, buf, sizeof(buf), &err)) > 0)
        total += (size_t)r;
    CHECK(r == COCOIMG_EDIGEST && total == len);
    CHECK(cocoimg_error_code(err) == COCOIMG_EDIGEST);
    cocoimg_error_free(err);
    cocoimg__reader_free(a);

    /* freed early while the producer is blocked on full slots: no hang, no leak */
    CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
    CHECK_OK(cocoimg__reader_async(&a, m, NULL));
    CHECK(cocoimg__reader_read(a, buf, 10, NULL) == 10);
    usleep(20000);
    cocoimg__reader_free(a);
    free(data);
    return 0;
}

/* Up to @p max bytes of @p r into @p dst, by peeking (and copying) or by reading. */
static ssize_t
take(cocoimg__reader *r, uint8_t *dst, size_t max, bool peek, cocoimg_error **err)
{
    if (!peek)
        return cocoimg__reader_read(r, dst, max, err);
    const void *p = NULL;
    ssize_t n = cocoimg__reader_peek(r, &p, max, err);
    if (n > 0)
        memcpy(dst, p, (size_t)n);
    return n;
}

/*
 * Peeking: async hands its slots out in place, verify and hash pass the
 * pointers through, mixed with reads; the bytes, the order and the verdict
 * are those of reading.
 */
static int
test_peek(void)
{
    size_t len = 3 * 1024 * 1024 + 4321;
    cocoimg__digest want, bad;
    uint8_t *data = pattern(len, 11, &want, &bad, 5), *back = malloc(len);
    CHECK(data && back);

    for (int pass = 0; pass < 2; pass++) {
        cocoimg__reader *m = NULL, *v = NULL, *a = NULL, *h = NULL;
        CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
        CHECK(!cocoimg__reader_can_peek(m));
        CHECK_OK(cocoimg__reader_verify(&v, m, pass ? &bad : &want, (int64_t)len, NULL));
        CHECK(!cocoimg__reader_can_peek(v)); /* a pass-through over a source that cannot */
        CHECK_OK(cocoimg__reader_async(&a, v, NULL));
        CHECK(cocoimg__reader_can_peek(a));
        cocoimg__digest got = {0};
        uint64_t n = 0;
        CHECK_OK(cocoimg__reader_hash(&h, a, COCOIMG_DIGEST_SHA256, &got, &n, NULL));
        CHECK(cocoimg__reader_can_peek(h));
        size_t off = 0, step = 0;
        ssize_t r;
        cocoimg_error *err = NULL;
        for (;;) {
            size_t want_n = 1 + (step * 7919) % 300000;
            if (want_n > len - off + 1)
                want_n = len - off + 1;
            r = take(h, back + off, want_n, step++ % 3 != 2, &err);
            if (r <= 0)
                break;
            CHECK((size_t)r <= want_n);
            off += (size_t)r;
            CHECK(off <= len);
        }
        CHECK(off == len && memcmp(back, data, len) == 0);
        if (pass == 0) {
            CHECK(r == 0 && err == NULL);
            CHECK(n == len && cocoimg__digest_equal(&got, &want));
            /* sticky EOF */
            const void *p = NULL;
            CHECK(cocoimg__reader_peek(h, &p, 10, NULL) == 0);
        } else {
            CHECK(r == COCOIMG_EDIGEST && cocoimg_error_code(err) == COCOIMG_EDIGEST);
        }
        cocoimg_error_free(err);
        cocoimg__reader_free(h);
    }

    /* cocoimg__reader_verified: through stages that keep the bytes, not through others */
    {
        cocoimg__reader *m = NULL, *v = NULL, *a = NULL, *z = NULL;
        int64_t vs = 0;
        CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
        CHECK(cocoimg__reader_verified(m, &vs) == NULL);
        CHECK_OK(cocoimg__reader_verify(&v, m, &want, (int64_t)len, NULL));
        CHECK_OK(cocoimg__reader_async(&a, v, NULL));
        const cocoimg__digest *d = cocoimg__reader_verified(a, &vs);
        CHECK(d && cocoimg__digest_equal(d, &want) && vs == (int64_t)len);
        CHECK_OK(cocoimg__reader_compress(&z, a, COCOIMG_COMPRESSION_GZIP, 1, NULL));
        CHECK(cocoimg__reader_verified(z, &vs) == NULL);
        cocoimg__reader_free(z);
    }

    /* the decompressors take their input from an async stage's slots (gzip, zstd) */
    static const cocoimg__compression algs[] = {COCOIMG_COMPRESSION_GZIP, COCOIMG_COMPRESSION_ZSTD};
    for (size_t k = 0; k < 2; k++) {
        cocoimg__reader *m = NULL, *c = NULL;
        uint8_t *packed = NULL;
        size_t plen = 0;
        CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
        CHECK_OK(cocoimg__reader_compress(&c, m, algs[k], 1, NULL));
        CHECK_OK(cocoimg__reader_to_mem(c, 2 * len, &packed, &plen, NULL));
        cocoimg__reader_free(c);
        cocoimg__reader *pm = NULL, *a = NULL, *d = NULL;
        CHECK_OK(cocoimg__reader_mem(&pm, packed, plen, NULL));
        CHECK_OK(cocoimg__reader_async(&a, pm, NULL));
        CHECK_OK(cocoimg__reader_decompress(&d, a, algs[k], 0, NULL));
        uint8_t *out = NULL;
        size_t olen = 0;
        CHECK_OK(cocoimg__reader_to_mem(d, 2 * len, &out, &olen, NULL));
        cocoimg__reader_free(d);
        CHECK(olen == len && memcmp(out, data, len) == 0);
        free(out);
        free(packed);
    }

    /* the file sink writes straight from the slots: the bytes arrive intact */
    char path[] = "/tmp/cocoimg-peek-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    cocoimg__reader *m = NULL, *a = NULL;
    CHECK_OK(cocoimg__reader_mem(&m, data, len, NULL));
    CHECK_OK(cocoimg__reader_async(&a, m, NULL));
    uint64_t total = 0;
    CHECK_OK(cocoimg__reader_to_fd(a, fd, &total, NULL));
    cocoimg__reader_free(a);
    CHECK(total == len && pread(fd, back, len, 0) == (ssize_t)len && memcmp(back, data, len) == 0);
    close(fd);
    free(data);
    free(back);
    return 0;
}

/* A source that records which threads read it: the caller's, another, or both. */
struct tid_src {
    const uint8_t *data;
    size_t len, off;
    pthread_t caller;
    size_t caller_bytes, other_bytes;
};

static ssize_t
tid_read(cocoimg__reader *r, void *buf, size_t len, cocoimg_error **err)
{
    (void)err;
    struct tid_src *t = r->state;
    size_t n = t->len - t->off < len ? t->len - t->off : len;
    if (n > 100000)
        n = 100000; /* many short reads, so the switch falls inside the stream */
    memcpy(buf, t->data + t->off, n);
    t->off += n;
    if (pthread_equal(pthread_self(), t->caller))
        t->caller_bytes += n;
    else
        t->other_bytes += n;
    return (ssize_t)n;
}

static void
tid_free(cocoimg__reader *r)
{
    (void)r; /* the state is the test's */
}

static const struct cocoimg__reader_ops tid_ops = {
    .name = "tid", .read = tid_read, .free = tid_free};

/*
 * The lazily started async stage: the first bytes are read in the caller's
 * thread, the rest in the stage's; bytes, order and verdict are those of
 * the plain stage, by read and by peek; a stream shorter than the
 * threshold never starts the thread.
 */
static int
test_async_after(void)
{
    size_t len = 2 * 1024 * 1024 + 777;
    cocoimg__digest want, bad;
    uint8_t *data = pattern(len, 7, &want, &bad, 9), *back = malloc(len);
    CHECK(data && back);

    /* pass: 0 read, 1 peek, 2 read with a bad digest, 3 threshold beyond the stream */
    for (int pass = 0; pass < 4; pass++) {
        struct tid_src t = {.data = data, .len = len, .caller = pthread_self()};
        cocoimg__reader *src = NULL, *v = NULL, *a = NULL;
        CHECK_OK(cocoimg__reader_new(&src, &tid_ops, &t, NULL, NULL));
        CHECK_OK(cocoimg__reader_verify(&v, src, pass == 2 ? &bad : &want, (int64_t)len, NULL));
        uint64_t after = pass == 3 ? len + 1 : 300000;
        CHECK_OK(cocoimg__reader_async_after(&a, v, after, NULL));
        CHECK(cocoimg__reader_can_peek(a));
        size_t off = 0;
        ssize_t r;
        cocoimg_error *err = NULL;
        for (;;) {
            r = take(a, back + off, 65536, pass == 1, &err);
            if (r <= 0)
                break;
            off += (size_t)r;
        }
        CHECK(off == len && memcmp(back, data, len) == 0);
        if (pass == 2) {
            CHECK(r == COCOIMG_EDIGEST && cocoimg_error_code(err) == COCOIMG_EDIGEST);
        } else {
            CHECK(r == 0 && err == NULL);
        }
        cocoimg_error_free(err);
        cocoimg__reader_free(a);
        if (pass == 3) {
            CHECK(t.caller_bytes == len && t.other_bytes == 0);
        } else {
            /* the caller read the threshold (rounded up to whole reads), the thread the rest */
            CHECK(t.caller_bytes >= after && t.caller_bytes < after + 100000);
            CHECK(t.other_bytes == len - t.caller_bytes);
        }
    }

    /* freed before the thread ever started, and right after it did: no hang, no leak */
    for (int pass = 0; pass < 2; pass++) {
        struct tid_src t = {.data = data, .len = len, .caller = pthread_self()};
        cocoimg__reader *src = NULL, *a = NULL;
        CHECK_OK(cocoimg__reader_new(&src, &tid_ops, &t, NULL, NULL));
        CHECK_OK(cocoimg__reader_async_after(&a, src, 100000, NULL));
        uint8_t buf[100000];
        CHECK(cocoimg__reader_read(a, buf, sizeof(buf), NULL) == 100000);
        if (pass)
            CHECK(cocoimg__reader_read(a, buf, 10, NULL) == 10);
        cocoimg__reader_free(a);
    }
    free(data);
    free(back);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_mem_source_and_sticky_eof),
    TAP_TEST(test_verify),
    TAP_TEST(test_hash_and_limit),
    TAP_TEST(test_known_vectors),
    TAP_TEST(test_gzip_roundtrip),
    TAP_TEST(test_gzip_isal_flag),
    TAP_TEST(test_zstd_roundtrip),
    TAP_TEST(test_bomb_stopped_by_limit),
    TAP_TEST(test_fd_sinks_and_sources),
    TAP_TEST(test_direct_sink),
    TAP_TEST(test_async),
    TAP_TEST(test_peek),
    TAP_TEST(test_async_after),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
