/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Standalone driver for the libFuzzer targets (used when the build is not
 * --enable-fuzzing): replays every file of the target's seed corpus
 * ($top_srcdir/tests/fuzz/corpus/<name>/, <name> = program name without the
 * "fuzz_" prefix) or the files given as arguments, and prints TAP.  A crash
 * (caught by ASan/UBSan) or a non-zero return fails the test, so an input
 * that once crashed stays fixed once it is in the corpus.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    /* a copy of exactly len bytes, so ASan catches overreads */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    int r = LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return r;
}

static int
cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
    char **files = NULL;
    size_t n = 0;
    if (argc > 1) {
        files = argv + 1;
        n = (size_t)argc - 1;
    } else {
        const char *top = getenv("top_srcdir");
        const char *name = strrchr(argv[0], '/');
        name = name ? name + 1 : argv[0];
        if (strncmp(name, "lt-", 3) == 0)
            name += 3;
        if (strncmp(name, "fuzz_", 5) == 0)
            name += 5;
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".", name);
        DIR *d = opendir(dir);
        if (!d) {
            printf("1..0 # SKIP no corpus at %s\n", dir);
            return 0;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char **nf = realloc(files, (n + 1) * sizeof(*files));
            if (!nf)
                return 1;
            files = nf;
            if (asprintf(&files[n], "%s/%s", dir, e->d_name) < 0)
                return 1;
            n++;
        }
        closedir(d);
        qsort(files, n, sizeof(*files), cmpstr);
    }
    printf("1..%zu\n", n);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        fflush(stdout);
        int r = run_file(files[i]);
        const char *base = strrchr(files[i], '/');
        printf("%sok %zu - %s\n", r == 0 ? "" : "not ", i + 1, base ? base + 1 : files[i]);
        failed += r != 0;
    }
    fflush(stdout);
    /* LeakSanitizer exits non-zero on leaks, so free what we own */
    if (argc <= 1) {
        for (size_t i = 0; i < n; i++)
            free(files[i]);
        free(files);
    }
    return failed ? 1 : 0;
}
