/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_TESTS_TESTFS_H
#define COCOIMG_TESTS_TESTFS_H

/* File-system helpers shared by unit tests. */

#include <dirent.h>
#include <fcntl.h>
#include <string.h>

/* Entries of the directory @p dirfd, without "." and "..". */
static inline size_t
count_entries(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(fd);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

#endif
