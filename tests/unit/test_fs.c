/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "testfs.h"
#include "util/fs.h"

/* A fresh temporary directory per test; removed (with rm -rf) at the end. */
static char tmpdir[4096];
static int tmpfd = -1;

static int
setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/cocoimg-fs-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    tmpfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return tmpfd < 0 ? -1 : 0;
}

static void
teardown(void)
{
    if (tmpfd >= 0)
        close(tmpfd);
    tmpfd = -1;
    cocoimg__rm_rf(AT_FDCWD, tmpdir, NULL);
}

static int
put(int dirfd, const char *path, const char *content)
{
    int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int r = cocoimg__write_all(fd, content, strlen(content), NULL);
    close(fd);
    return r;
}

static int
t_tmpfile(void)
{
    /* abort leaves nothing behind, and is idempotent */
    cocoimg__tmpfile t = COCOIMG_TMPFILE_INIT;
    CHECK_OK(cocoimg__tmpfile_open(&t, tmpfd, "blob", NULL));
    CHECK(t.fd >= 0 && t.name && strncmp(t.name, "blob.tmp-", 9) == 0);
    CHECK_OK(cocoimg__write_all(t.fd, "hello", 5, NULL));
    CHECK(count_entries(tmpfd) == 1);
    cocoimg__tmpfile_abort(&t);
    cocoimg__tmpfile_abort(&t);
    CHECK(t.fd == -1 && t.name == NULL);
    CHECK(count_entries(tmpfd) == 0);

    /* the cleanup attribute aborts an uncommitted file */
    {
        _cleanup_tmpfile_ cocoimg__tmpfile t2 = COCOIMG_TMPFILE_INIT;
        CHECK_OK(cocoimg__tmpfile_open(&t2, tmpfd, "x", NULL));
    }
    CHECK(count_entries(tmpfd) == 0);

    /* commit publishes under the final name, replacing an older file */
    CHECK(put(tmpfd, "final", "old") == 0);
    CHECK_OK(cocoimg__tmpfile_open(&t, tmpfd, "final", NULL));
    CHECK_OK(cocoimg__write_all(t.fd, "new content", 11, NULL));
    CHECK_OK(cocoimg__tmpfile_commit(&t, "final", NULL));
    CHECK(t.fd == -1 && t.name == NULL);
    cocoimg__tmpfile_abort(&t); /* no-op after commit */
    CHECK(count_entries(tmpfd) == 1);
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_OK(cocoimg__read_file(&buf, &len, tmpfd, "final", 100, NULL));
    CHECK(len == 11 && memcmp(buf, "new content", 11) == 0 && buf[11] == '\0');
    struct stat st;
    CHECK(fstatat(tmpfd, "final", &st, 0) == 0 && S_ISREG(st.st_mode));

    /* commit into a missing directory fails and cleans up */
    _cleanup_error_ cocoimg_error *err = NULL;
    CHECK_OK(cocoimg__tmpfile_open(&t, tmpfd, "y", NULL));
    CHECK(cocoimg__tmpfile_commit(&t, "nodir/y", &err) == COCOIMG_ENOTFOUND);
    CHECK(t.fd == -1 && t.name == NULL);
    CHECK(count_entries(tmpfd) == 1);

    /* staging in a directory that is not there */
    cocoimg_error_free(TAKE_PTR(err));
    int nd = openat(tmpfd, "nodir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(nd < 0);
    CHECK(cocoimg__write_file_atomic(tmpfd, "nodir/z", "z", 1, &err) == COCOIMG_ENOTFOUND);
    CHECK(count_entries(tmpfd) == 1);
    return 0;
}

static int
t_read_write(void)
{
    _cleanup_error_ cocoimg_error *err = NULL;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;

    CHECK_OK(cocoimg__mkdir_p(tmpfd, "a/b//c/", NULL));
    CHECK_OK(cocoimg__mkdir_p(tmpfd, "a/b/c", NULL)); /* existing is fine */
    CHECK_OK(cocoimg__write_file_atomic(tmpfd, "a/b/c/f.json", "{\"x\":1}", 7, NULL));
    CHECK_OK(cocoimg__read_file(&buf, &len, tmpfd, "a/b/c/f.json", 7, NULL));
    CHECK(len == 7 && memcmp(buf, "{\"x\":1}", 7) == 0);
    free(TAKE_PTR(buf));
    CHECK(count_entries(tmpfd) == 1);

    /* limit: one byte too many */
    CHECK(cocoimg__read_file(&buf, &len, tmpfd, "a/b/c/f.json", 6, &err) == COCOIMG_ELIMIT);
    CHECK(buf == NULL);
    cocoimg_error_free(TAKE_PTR(err));
    /* empty file */
    CHECK_OK(cocoimg__write_file_atomic(tmpfd, "empty", "", 0, NULL));
    CHECK_OK(cocoimg__read_file(&buf, &len, tmpfd, "empty", 0, NULL));
    CHECK(len == 0 && buf && buf[0] == '\0');
    free(TAKE_PTR(buf));
    /* a larger file read with a small-first buffer via a pipe-like growth */
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
    CHECK_OK(cocoimg__write_file_atomic(tmpfd, "big", big, sizeof(big), NULL));
    CHECK_OK(cocoimg__read_file(&buf, &len, tmpfd, "big", SIZE_MAX, NULL));
    CHECK(len == sizeof(big) && memcmp(buf, big, len) == 0);
    free(TAKE_PTR(buf));

    CHECK(cocoimg__read_file(&buf, &len, tmpfd, "missing", 10, &err) == COCOIMG_ENOTFOUND);
    CHECK(cocoimg_error_code(err) == COCOIMG_ENOTFOUND);
    cocoimg_error_free(TAKE_PTR(err));
    CHECK(cocoimg__read_file(&buf, &len, tmpfd, "a", 10, &err) == COCOIMG_EIO);
    cocoimg_error_free(TAKE_PTR(err));

    /* mkdir_p through a file fails */
    CHECK(cocoimg__mkdir_p(tmpfd, "empty/sub", &err) < 0);
    cocoimg_error_free(TAKE_PTR(err));
    CHECK(cocoimg__mkdir_p(tmpfd, "empty", &err) == COCOIMG_EIO);
    CHECK(cocoimg_error_errno(err) == ENOTDIR);

    /* write_all to a bad fd */
    cocoimg_error_free(TAKE_PTR(err));
    CHECK(cocoimg__write_all(-1, "x", 1, &err) == COCOIMG_EIO);
    CHECK(cocoimg_error_errno(err) == EBADF);
    return 0;
}

static int
t_rm_rf_symlinks(void)
{
    /* outside/keep must survive removing tree/, which links to outside/ */
    CHECK_OK(cocoimg__mkdir_p(tmpfd, "outside/sub", NULL));
    CHECK(put(tmpfd, "outside/keep", "precious") == 0);
    CHECK(put(tmpfd, "outside/sub/keep2", "precious") == 0);
    CHECK_OK(cocoimg__mkdir_p(tmpfd, "tree/d1/d2", NULL));
    CHECK(put(tmpfd, "tree/f", "x") == 0);
    CHECK(put(tmpfd, "tree/d1/d2/f", "x") == 0);
    CHECK(symlinkat("../outside", tmpfd, "tree/link") == 0);
    CHECK(symlinkat("../../outside/sub", tmpfd, "tree/d1/link") == 0);
    CHECK(symlinkat("../outside/keep", tmpfd, "tree/flink") == 0);
    char abs[4200];
    snprintf(abs, sizeof(abs), "%s/outside", tmpdir);
    CHECK(symlinkat(abs, tmpfd, "tree/d1/d2/abslink") == 0);
    /* a read-only, unsearchable directory deep inside */
    CHECK_OK(cocoimg__mkdir_p(tmpfd, "tree/ro/inner", NULL));
    CHECK(put(tmpfd, "tree/ro/inner/f", "x") == 0);
    CHECK(fchmodat(tmpfd, "tree/ro/inner", 0500, 0) == 0);
    CHECK(fchmodat(tmpfd, "tree/ro", 0, 0) == 0);

    CHECK_OK(cocoimg__rm_rf(tmpfd, "tree", NULL));
    struct stat st;
    CHECK(fstatat(tmpfd, "tree", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
    CHECK(fstatat(tmpfd, "outside/keep", &st, 0) == 0);
    CHECK(fstatat(tmpfd, "outside/sub/keep2", &st, 0) == 0);
    CHECK((st.st_mode & 0777) == 0644);

    /* rm_rf of a symlink to a directory removes the link only */
    CHECK(symlinkat("outside", tmpfd, "dirlink") == 0);
    CHECK_OK(cocoimg__rm_rf(tmpfd, "dirlink", NULL));
    CHECK(fstatat(tmpfd, "dirlink", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
    CHECK(fstatat(tmpfd, "outside/keep", &st, 0) == 0);

    /* missing paths are fine, "." and ".." are refused */
    CHECK_OK(cocoimg__rm_rf(tmpfd, "missing", NULL));
    CHECK_OK(cocoimg__rm_rf(tmpfd, "missing/deeper/x", NULL));
    CHECK(cocoimg__rm_rf(tmpfd, "outside/..", NULL) == COCOIMG_EINVAL);
    CHECK(cocoimg__rm_rf(tmpfd, ".", NULL) == COCOIMG_EINVAL);
    /* a plain file */
    CHECK_OK(cocoimg__rm_rf(tmpfd, "outside/keep", NULL));
    CHECK(fstatat(tmpfd, "outside/keep", &st, 0) < 0);
    return 0;
}

static int
t_rm_rf_deep(void)
{
    /* deeper than a sane fd limit would allow if every level kept an fd open */
    CHECK_OK(cocoimg__mkdir_p(tmpfd, "deep", NULL));
    int fd = openat(tmpfd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    for (int i = 0; i < 1500; i++) {
        CHECK(mkdirat(fd, "d", 0755) == 0);
        CHECK(put(fd, "f", "x") == 0);
        int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        CHECK(nfd >= 0);
        fd = nfd;
    }
    close(fd);
    CHECK_OK(cocoimg__rm_rf(tmpfd, "deep", NULL));
    CHECK(count_entries(tmpfd) == 0);
    return 0;
}

#define WRAP(fn)                                                                                   \
    static int fn##_w(void)                                                                        \
    {                                                                                              \
        if (setup() < 0)                                                                           \
            return -1;                                                                             \
        int r = fn();                                                                              \
        teardown();                                                                                \
        return r;                                                                                  \
    }
WRAP(t_tmpfile)
WRAP(t_read_write)
WRAP(t_rm_rf_symlinks)
WRAP(t_rm_rf_deep)

static const struct tap_test tests[] = {
    {"tmpfile_abort_and_commit", t_tmpfile_w},
    {"read_write_mkdir", t_read_write_w},
    {"rm_rf_never_follows_symlinks", t_rm_rf_symlinks_w},
    {"rm_rf_deep_tree", t_rm_rf_deep_w},
    {0},
};

int
main(void)
{
    umask(022);
    return tap_run(tests);
}
