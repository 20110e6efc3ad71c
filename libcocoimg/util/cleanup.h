/* SPDX-License-Identifier: Apache-2.0 */
#ifndef COCOIMG_UTIL_CLEANUP_H
#define COCOIMG_UTIL_CLEANUP_H

/*
 * Ownership helpers (systemd/crun style).  A variable declared with a
 * _cleanup_*_ attribute is released when it leaves scope; hand it on with
 * TAKE_PTR()/TAKE_FD().  Every cleanup function tolerates NULL / -1.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Generate `static inline void fnp(type **p)` that calls fn(*p) if set. */
#define COCOIMG_DEFINE_CLEANUP(type, fn)                                                           \
    static inline void fn##p(type **p)                                                             \
    {                                                                                              \
        if (*p)                                                                                    \
            fn(*p);                                                                                \
    }

static inline void
cocoimg__freep(void *p)
{
    free(*(void **)p);
}

static inline void
cocoimg__closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void
cocoimg__fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_ _cleanup_(cocoimg__freep)
#define _cleanup_close_ _cleanup_(cocoimg__closep)
#define _cleanup_fclose_ _cleanup_(cocoimg__fclosep)

#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _take_tmp = (p);                                                             \
        (p) = NULL;                                                                                \
        _take_tmp;                                                                                 \
    })

#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _take_fd = (fd);                                                                       \
        (fd) = -1;                                                                                 \
        _take_fd;                                                                                  \
    })

#define COCOIMG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
