/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_FS_H
#define COCOIMG_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/*
 * Staged files: write into a temporary file in the destination directory,
 * then rename it into place only when complete (atomic publish).
 */
typedef struct cocoimg__tmpfile {
    int dirfd;  /* borrowed */
    int fd;     /* -1 once committed/aborted */
    char *name; /* temporary name relative to dirfd */
} cocoimg__tmpfile;

/* Initialiser for a tmpfile not opened yet (abort is then a no-op). */
#define COCOIMG_TMPFILE_INIT                                                                       \
    {                                                                                              \
        .dirfd = -1, .fd = -1, .name = NULL                                                        \
    }

/* Create "<prefix>.tmp-XXXXXX" in @p dirfd (mode 0644, O_CLOEXEC). */
int cocoimg__tmpfile_open(cocoimg__tmpfile *t, int dirfd, const char *prefix, cocoimg_error **err);
/* fsync, close and rename to @p final (relative to dirfd), replacing it. */
int cocoimg__tmpfile_commit(cocoimg__tmpfile *t, const char *final, cocoimg_error **err);
/* Close and unlink if not committed; safe to call twice. */
void cocoimg__tmpfile_abort(cocoimg__tmpfile *t);

static inline void
cocoimg__tmpfile_abortp(cocoimg__tmpfile *t)
{
    cocoimg__tmpfile_abort(t);
}
/* Abort on scope exit unless committed:
 *   _cleanup_tmpfile_ cocoimg__tmpfile t = COCOIMG_TMPFILE_INIT; */
#define _cleanup_tmpfile_ _cleanup_(cocoimg__tmpfile_abortp)

/* Write all of @p buf to @p fd (retrying short writes and EINTR). */
int cocoimg__write_all(int fd, const void *buf, size_t len, cocoimg_error **err);
/*
 * Read a whole file (relative to dirfd, symlinks followed) of at most @p max
 * bytes; COCOIMG_ELIMIT beyond, COCOIMG_ENOTFOUND if missing.  The buffer
 * has a NUL after the last byte (not counted in *len).
 */
int cocoimg__read_file(uint8_t **out, size_t *len, int dirfd, const char *path, size_t max,
                       cocoimg_error **err);
/*
 * The same from an open @p fd (its fstat in @p st, or NULL to take it), read
 * to the end; @p path names it in messages.
 */
struct stat;
int cocoimg__read_fd(uint8_t **out, size_t *len, int fd, const struct stat *st, const char *path,
                     size_t max, cocoimg_error **err);
/* Atomically write a whole file (tmpfile + rename). */
int cocoimg__write_file_atomic(int dirfd, const char *path, const void *buf, size_t len,
                               cocoimg_error **err);
/* mkdir -p relative to dirfd (mode 0755); existing directories are fine. */
int cocoimg__mkdir_p(int dirfd, const char *path, cocoimg_error **err);
/*
 * rm -rf of @p path relative to dirfd; never follows symlinks (a symlink is
 * removed, not its target); a missing path is success.  Entries inside the
 * tree lacking write/search permission are chmod'ed so they can be removed.
 */
int cocoimg__rm_rf(int dirfd, const char *path, cocoimg_error **err);

#endif
