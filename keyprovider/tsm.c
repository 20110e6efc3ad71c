/* SPDX-License-Identifier: Apache-2.0 */
/*
 * configfs-tsm reports (spec 2.2 steps 1-7).  Every attribute is opened
 * relative to the entry's directory fd, O_NOFOLLOW, and must be a regular
 * file (configfs attributes are); reads are bounded.  configfs commits a
 * binary attribute's data when the writer closes it, so inblob is closed
 * before outblob is read.  The generation counter is read before the write
 * and after the reads: it must have moved by exactly our one write, or
 * another process wrote the same entry (only possible if it guessed the
 * name) and the report may answer its inblob.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsm.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* a TDX quote with its certification data is ~5-10 KiB, SNP certs ~ 4 KiB */
#define TSM_BLOB_MAX (4u << 20)
#define TSM_ATTEMPTS 3

int
cocoimg__attester_path(char *buf, size_t size, const struct cocoimg__attester_env *env,
                       const char *path)
{
    int n = snprintf(buf, size, "%s%s", env && env->root ? env->root : "", path);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

void
cocoimg__tsm_report_clear(struct cocoimg__tsm_report *r)
{
    free(r->outblob);
    free(r->auxblob);
    *r = (struct cocoimg__tsm_report){0};
}

/* an entry of the report directory, removed when it leaves scope */
struct entry {
    int dirfd; /* the report directory */
    int fd;    /* the entry */
    char name[48];
};

static void
entry_remove(struct entry *e)
{
    if (e->fd >= 0)
        close(e->fd);
    if (e->dirfd >= 0) {
        if (e->name[0])
            (void)unlinkat(e->dirfd, e->name, AT_REMOVEDIR);
        close(e->dirfd);
    }
    e->fd = e->dirfd = -1;
    e->name[0] = '\0';
}

/* 0 and an entry; 1 when there is no report directory; < 0 on error */
static int
entry_create(struct entry *e, const struct cocoimg__attester_env *env, cocoimg_error **err)
{
    char dir[4096];
    if (cocoimg__attester_path(dir, sizeof(dir), env, COCOIMG__TSM_REPORT_DIR) < 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "attester root path too long");
    e->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (e->dirfd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 1;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "configfs-tsm: open %s", dir);
    }
    uint64_t rnd = 0;
    if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
        return cocoimg__error_set(err, COCOIMG_ERROR, 0, "configfs-tsm: no randomness");
    snprintf(e->name, sizeof(e->name), "cocoimg-%ld-%016llx", (long)getpid(),
             (unsigned long long)rnd);
    if (mkdirat(e->dirfd, e->name, 0700) < 0) {
        int saved = errno;
        e->name[0] = '\0';
        return cocoimg__error_set(err, COCOIMG_EIO, saved,
                                  "configfs-tsm: cannot create a report entry in %s", dir);
    }
    e->fd = openat(e->dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (e->fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "configfs-tsm: open the report entry");
    return 0;
}

static int
attr_read(uint8_t **out, size_t *len, const struct entry *e, const char *attr, size_t max,
          bool optional, cocoimg_error **err)
{
    *out = NULL;
    *len = 0;
    _cleanup_close_ int fd = openat(e->fd, attr, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (optional && errno == ENOENT)
            return 0;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "configfs-tsm: read %s", attr);
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "configfs-tsm: %s is not an attribute file", attr);
    return cocoimg__read_fd(out, len, fd, &st, attr, max, err);
}

static int
attr_text(char *out, size_t size, const struct entry *e, const char *attr, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *b = NULL;
    size_t n = 0;
    int r = attr_read(&b, &n, e, attr, 256, false, err);
    if (r < 0)
        return r;
    while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
        n--;
    if (n >= size || memchr(b, 0, n))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "configfs-tsm: malformed %s", attr);
    memcpy(out, b, n);
    out[n] = 0;
    return 0;
}

static int
attr_u64(unsigned long long *v, const struct entry *e, const char *attr, cocoimg_error **err)
{
    char t[32];
    int r = attr_text(t, sizeof(t), e, attr, err);
    if (r < 0)
        return r;
    char *end = NULL;
    errno = 0;
    *v = strtoull(t, &end, 10);
    if (!t[0] || t[0] == '-' || errno || *end)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "configfs-tsm: malformed %s", attr);
    return 0;
}

int
cocoimg__tsm_provider(char *provider, size_t size, const struct cocoimg__attester_env *env,
                      cocoimg_error **err)
{
    struct entry e __attribute__((cleanup(entry_remove))) = {.dirfd = -1, .fd = -1};
    int r = entry_create(&e, env, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    if ((r = attr_text(provider, size, &e, "provider", err)) < 0)
        return r;
    return 1;
}

static int
report_once(struct cocoimg__tsm_report *out, const struct cocoimg__attester_env *env,
            const char *provider, const uint8_t inblob[64], bool want_aux, cocoimg_error **err)
{
    struct entry e __attribute__((cleanup(entry_remove))) = {.dirfd = -1, .fd = -1};
    int r = entry_create(&e, env, err);
    if (r > 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "configfs-tsm is not available (no %s; Linux >= 6.7 with "
                                  "CONFIG_TSM_REPORTS is needed)",
                                  COCOIMG__TSM_REPORT_DIR);
    if (r < 0)
        return r;
    char got[64];
    if ((r = attr_text(got, sizeof(got), &e, "provider", err)) < 0)
        return r;
    if (strcmp(got, provider) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "configfs-tsm provider is %.32s, not %s (another TEE)", got,
                                  provider);
    unsigned long long g0 = 0, g1 = 0;
    if ((r = attr_u64(&g0, &e, "generation", err)) < 0)
        return r;
    {
        _cleanup_close_ int fd = openat(e.fd, "inblob", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "configfs-tsm: open inblob");
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "configfs-tsm: inblob is not an attribute file");
        ssize_t w;
        do
            w = write(fd, inblob, 64);
        while (w < 0 && errno == EINTR);
        if (w != 64)
            return cocoimg__error_set(err, COCOIMG_EIO, w < 0 ? errno : 0,
                                      "configfs-tsm: write inblob");
        /* configfs commits the data on release */
        int c = close(TAKE_FD(fd));
        if (c < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "configfs-tsm: write inblob");
    }
    if ((r = attr_read(&out->outblob, &out->outlen, &e, "outblob", TSM_BLOB_MAX, false, err)) < 0)
        return r;
    if (want_aux &&
        (r = attr_read(&out->auxblob, &out->auxlen, &e, "auxblob", TSM_BLOB_MAX, true, err)) < 0)
        return r;
    if ((r = attr_u64(&g1, &e, "generation", err)) < 0)
        return r;
    if (!out->outlen)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "configfs-tsm: empty outblob");
    if (g1 != g0 + 1)
        return 1; /* raced */
    return 0;
}

int
cocoimg__tsm_report(struct cocoimg__tsm_report *out, const struct cocoimg__attester_env *env,
                    const char *provider, const uint8_t inblob[64], bool want_aux,
                    cocoimg_error **err)
{
    for (int i = 0; i < TSM_ATTEMPTS; i++) {
        *out = (struct cocoimg__tsm_report){0};
        int r = report_once(out, env, provider, inblob, want_aux, err);
        if (r == 0)
            return 0;
        cocoimg__tsm_report_clear(out);
        if (r < 0)
            return r;
        cocoimg__log(env->ctx, COCOIMG_LOG_WARNING,
                     "configfs-tsm: another writer changed the report entry; retrying");
    }
    return cocoimg__error_set(err, COCOIMG_EIO, 0,
                              "configfs-tsm: the report entry was written by another process %d "
                              "times in a row (generation moved); giving up",
                              TSM_ATTEMPTS);
}
