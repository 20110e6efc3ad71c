/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throwaway measurement for bench/pull.sh: streaming gzip decompression of
 * FILE... with zlib (inflate) and ISA-L (isal_inflate), 256 KiB in / 1 MiB
 * out chunks as in the pipeline; prints MB/s of output per library.
 *   cc -O2 bench/inflate.c -lz -lisal -o inflate && ./inflate layer.gz...
 */
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define IN_SZ (256 * 1024)
#define OUT_SZ (1024 * 1024)

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long
run_zlib(FILE *f, unsigned char *in, unsigned char *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    inflateInit2(&z, 16 + 15);
    unsigned long long total = 0;
    size_t n;
    int r = Z_OK;
    while (r != Z_STREAM_END && (n = fread(in, 1, IN_SZ, f)) > 0) {
        z.next_in = in;
        z.avail_in = (uInt)n;
        do {
            z.next_out = out;
            z.avail_out = OUT_SZ;
            r = inflate(&z, Z_NO_FLUSH);
            if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
                fprintf(stderr, "zlib error %d\n", r);
                exit(1);
            }
            total += OUT_SZ - z.avail_out;
        } while (z.avail_out == 0 || (z.avail_in > 0 && r != Z_STREAM_END));
    }
    inflateEnd(&z);
    return total;
}

static unsigned long long
run_isal(FILE *f, unsigned char *in, unsigned char *out)
{
    struct inflate_state *st = malloc(sizeof(*st));
    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    unsigned long long total = 0;
    size_t n;
    while (st->block_state != ISAL_BLOCK_FINISH && (n = fread(in, 1, IN_SZ, f)) > 0) {
        st->next_in = in;
        st->avail_in = (uint32_t)n;
        do {
            st->next_out = out;
            st->avail_out = OUT_SZ;
            int r = isal_inflate(st);
            if (r != ISAL_DECOMP_OK) {
                fprintf(stderr, "isal error %d\n", r);
                exit(1);
            }
            total += OUT_SZ - st->avail_out;
        } while (st->avail_out == 0 || (st->avail_in > 0 && st->block_state != ISAL_BLOCK_FINISH));
    }
    free(st);
    return total;
}

int
main(int argc, char **argv)
{
    unsigned char *in = malloc(IN_SZ), *out = malloc(OUT_SZ);
    for (int lib = 0; lib < 2; lib++) {
        unsigned long long total = 0;
        double secs = 0;
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f)
                return 1;
            double t0 = now();
            total += lib ? run_isal(f, in, out) : run_zlib(f, in, out);
            secs += now() - t0;
            fclose(f);
        }
        printf("%s %.0f MB/s (%llu bytes out, %.2f s)\n", lib ? "isal" : "zlib",
               (double)total / 1e6 / secs, total, secs);
    }
    free(in);
    free(out);
    return 0;
}
