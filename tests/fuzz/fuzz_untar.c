/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz layer application: the input is applied as a tar onto a fresh
 * rootfs (twice: the second time onto the result of the first, so
 * whiteouts, opaque markers and replacements meet lower entries).  A canary
 * directory next to the rootfs must stay untouched whatever the input; any
 * write outside the rootfs aborts.  Everything is removed afterwards.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unpack/apply.h"
#include "util/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
count_entries(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    size_t n = 0;
    struct dirent *de;
    if (!d)
        abort();
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char tmp[4096];
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/cocoimg-fuzz-untar-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp))
        abort();
    int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0 || mkdirat(tfd, "rootfs", 0755) < 0 || mkdirat(tfd, "canary", 0755) < 0)
        abort();
    int rootfd = openat(tfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int cfd = openat(tfd, "canary", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0 || cfd < 0)
        abort();
    struct stat before;
    if (fstat(cfd, &before) < 0)
        abort();

    for (int pass = 0; pass < 2; pass++) {
        cocoimg__reader *r = NULL;
        cocoimg_error *err = NULL;
        cocoimg__apply_options o = {.max_entries = 4096, .no_openat2 = pass == 1 && size % 2};
        if (cocoimg__reader_mem(&r, data, size, NULL) == 0)
            (void)cocoimg__unpack_apply(NULL, rootfd, r, &o, NULL, &err);
        cocoimg_error_free(err);
        cocoimg__reader_free(r);
    }

    struct stat after;
    if (count_entries(cfd) != 0 || count_entries(tfd) != 2 || fstat(cfd, &after) < 0 ||
        after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
        fprintf(stderr, "fuzz_untar: write outside the rootfs in %s\n", tmp);
        abort();
    }
    close(cfd);
    close(rootfd);
    close(tfd);
    if (cocoimg__rm_rf(AT_FDCWD, tmp, NULL) < 0)
        abort();
    return 0;
}
