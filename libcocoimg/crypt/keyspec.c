/* SPDX-License-Identifier: Apache-2.0 */
/* Key specs "FILE[:PASSWORD|:pass=|:file=|:fd=]" (ocicrypt spec 7.3). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt/keys.h"
#include "crypt/keyspec.h"
#include "util/secret.h"

/* Longest password read from a file descriptor ("fd=N"), as ocicrypt. */
#define PASSWORD_FD_MAX 64

static bool
file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int
cocoimg__keyspec_password(char **out, const char *spec, cocoimg_error **err)
{
    if (strncmp(spec, "pass=", 5) == 0) {
        *out = strdup(spec + 5);
        return *out ? 0 : cocoimg__error_oom(err);
    }
    if (strncmp(spec, "file=", 5) == 0) {
        uint8_t *buf = NULL;
        size_t len;
        int r = cocoimg__key_read_file(&buf, &len, spec + 5, COCOIMG_KEY_FILE_MAX, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "password file");
        if (memchr(buf, 0, len)) {
            cocoimg__wipe(buf, len);
            free(buf);
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "password file '%s' contains NUL",
                                      spec + 5);
        }
        *out = (char *)buf;
        return 0;
    }
    if (strncmp(spec, "fd=", 3) == 0) {
        char *end;
        errno = 0;
        long fd = strtol(spec + 3, &end, 10);
        /* the descriptor number only: "fd=" is not secret, but the rest may be */
        if (errno || end == spec + 3 || *end || fd < 0 || fd > INT_MAX)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "bad password descriptor (fd=N with a number N)");
        char *buf = calloc(1, PASSWORD_FD_MAX + 1);
        if (!buf)
            return cocoimg__error_oom(err);
        ssize_t n;
        do
            n = read((int)fd, buf, PASSWORD_FD_MAX);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            int e = errno;
            free(buf);
            return cocoimg__error_set(err, COCOIMG_EIO, e, "read password from fd %ld", fd);
        }
        if (memchr(buf, 0, (size_t)n)) {
            cocoimg__wipe(buf, PASSWORD_FD_MAX);
            free(buf);
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "password from fd %ld contains NUL",
                                      fd);
        }
        *out = buf;
        return 0;
    }
    *out = strdup(spec);
    return *out ? 0 : cocoimg__error_oom(err);
}

int
cocoimg__keyspec_parse(char **file, char **password, const char *spec, cocoimg_error **err)
{
    *file = *password = NULL;
    if (!*spec)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "empty key specification");
    const char *colon = strrchr(spec, ':');
    if (file_exists(spec) || !colon) {
        *file = strdup(spec);
        return *file ? 0 : cocoimg__error_oom(err);
    }
    _cleanup_free_ char *f = strndup(spec, (size_t)(colon - spec));
    if (!f)
        return cocoimg__error_oom(err);
    /* anything after a ':' may be (part of) a password: never show it */
    if (!file_exists(f))
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, ENOENT,
                                  "key file '%.*s' not found (a ':PASSWORD' part is not shown)",
                                  (int)strcspn(spec, ":"), spec);
    int r = cocoimg__keyspec_password(password, colon + 1, err);
    if (r < 0)
        return r;
    *file = TAKE_PTR(f);
    return 0;
}
