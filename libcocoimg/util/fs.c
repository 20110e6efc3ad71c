/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

static int
io_error(cocoimg_error **err, int errnum, const char *what, const char *path)
{
    int code = errnum == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO;
    return cocoimg__error_set(err, code, errnum, "%s '%s': %s", what, path, strerror(errnum));
}

/* --- staged files ------------------------------------------------------- */

int
cocoimg__tmpfile_open(cocoimg__tmpfile *t, int dirfd, const char *prefix, cocoimg_error **err)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    t->dirfd = dirfd;
    t->fd = -1;
    t->name = NULL;

    size_t plen = strlen(prefix);
    _cleanup_free_ char *name = malloc(plen + sizeof(".tmp-XXXXXX"));
    if (!name)
        return cocoimg__error_oom(err);
    memcpy(name, prefix, plen);
    memcpy(name + plen, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
    char *x = name + plen + 5;

    for (int attempt = 0; attempt < 100; attempt++) {
        uint8_t rnd[6];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "getrandom failed");
        for (size_t i = 0; i < sizeof(rnd); i++)
            x[i] = chars[rnd[i] % (sizeof(chars) - 1)];
        int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) {
            t->fd = fd;
            t->name = TAKE_PTR(name);
            return 0;
        }
        if (errno != EEXIST)
            return io_error(err, errno, "create", name);
    }
    return cocoimg__error_set(err, COCOIMG_EIO, EEXIST, "create '%s': no unused name", name);
}

/* Make a rename in @p dirfd durable. */
static int
fsync_dir(int dirfd, cocoimg_error **err)
{
    _cleanup_close_ int own = -1;
    if (dirfd == AT_FDCWD) {
        own = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (own < 0)
            return io_error(err, errno, "open", ".");
        dirfd = own;
    }
    /* Some filesystems cannot fsync directories; that is not a failure of ours. */
    if (fsync(dirfd) < 0 && errno != EINVAL && errno != EROFS && errno != EBADF)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "fsync directory: %s", strerror(errno));
    return 0;
}

int
cocoimg__tmpfile_commit(cocoimg__tmpfile *t, const char *final, cocoimg_error **err)
{
    if (t->fd < 0 || !t->name)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "commit '%s': no staged file", final);
    int r = 0;
    if (fsync(t->fd) < 0)
        r = io_error(err, errno, "fsync", t->name);
    int fd = TAKE_FD(t->fd);
    if (close(fd) < 0 && r == 0 && errno != EINTR)
        r = io_error(err, errno, "close", t->name);
    if (r == 0 && renameat(t->dirfd, t->name, t->dirfd, final) < 0)
        r = io_error(err, errno, "rename to", final);
    if (r < 0) {
        unlinkat(t->dirfd, t->name, 0);
        free(TAKE_PTR(t->name));
        return r;
    }
    free(TAKE_PTR(t->name));
    return fsync_dir(t->dirfd, err);
}

void
cocoimg__tmpfile_abort(cocoimg__tmpfile *t)
{
    if (t->fd >= 0)
        close(TAKE_FD(t->fd));
    if (t->name) {
        unlinkat(t->dirfd, t->name, 0);
        free(TAKE_PTR(t->name));
    }
}

/* --- whole files -------------------------------------------------------- */

int
cocoimg__write_all(int fd, const void *buf, size_t len, cocoimg_error **err)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "write: %s", strerror(errno));
        }
        if (n == 0)
            return cocoimg__error_set(err, COCOIMG_EIO, 0, "write: no progress");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
cocoimg__read_file(uint8_t **out, size_t *len, int dirfd, const char *path, size_t max,
                   cocoimg_error **err)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return io_error(err, errno, "open", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return io_error(err, errno, "stat", path);
    if (S_ISDIR(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EIO, EISDIR, "read '%s': is a directory", path);
    return cocoimg__read_fd(out, len, fd, &st, path, max, err);
}

int
cocoimg__read_fd(uint8_t **out, size_t *len, int fd, const struct stat *st_in, const char *path,
                 size_t max, cocoimg_error **err)
{
    if (max > SIZE_MAX - 2)
        max = SIZE_MAX - 2;
    struct stat st;
    if (st_in)
        st = *st_in;
    else if (fstat(fd, &st) < 0)
        return io_error(err, errno, "stat", path);
    /* Size the buffer from st_size when it is plausible; pipes grow in chunks. */
    size_t cap = 64 * 1024;
    if (S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size <= max)
        cap = (size_t)st.st_size + 1;
    if (cap > max + 1)
        cap = max + 1;
    _cleanup_free_ uint8_t *buf = malloc(cap + 1);
    if (!buf)
        return cocoimg__error_oom(err);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (n > max)
                break;
            size_t ncap = cap < max / 2 ? cap * 2 : max + 1;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (!nb)
                return cocoimg__error_oom(err);
            buf = nb;
            cap = ncap;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return io_error(err, errno, "read", path);
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n > max)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "read '%s': larger than %zu bytes", path,
                                  max);
    buf[n] = '\0'; /* convenience for text files; not counted in *len */
    *out = TAKE_PTR(buf);
    *len = n;
    return 0;
}

/* Split @p path into an opened parent directory and a base name. */
static int
open_parent(int dirfd, const char *path, bool missing_ok, int *pfd_out, const char **base_out,
            bool *own_out, cocoimg_error **err)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *pfd_out = dirfd;
        *base_out = path;
        *own_out = false;
        return 0;
    }
    _cleanup_free_ char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (!dir)
        return cocoimg__error_oom(err);
    int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && missing_ok && errno == ENOENT) {
        *pfd_out = -1;
        *base_out = NULL; /* tells the caller the parent does not exist */
        *own_out = false;
        return 0;
    }
    if (fd < 0)
        return io_error(err, errno, "open", dir);
    *pfd_out = fd;
    *base_out = slash + 1;
    *own_out = true;
    return 0;
}

int
cocoimg__write_file_atomic(int dirfd, const char *path, const void *buf, size_t len,
                           cocoimg_error **err)
{
    int pfd;
    const char *base;
    bool own;
    int r = open_parent(dirfd, path, false, &pfd, &base, &own, err);
    if (r < 0)
        return r;
    _cleanup_close_ int owned = own ? pfd : -1;
    if (*base == '\0')
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "write '%s': not a file name", path);

    cocoimg__tmpfile t;
    r = cocoimg__tmpfile_open(&t, pfd, base, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "write '%s'", path);
    r = cocoimg__write_all(t.fd, buf, len, err);
    if (r == 0)
        r = cocoimg__tmpfile_commit(&t, base, err);
    cocoimg__tmpfile_abort(&t);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "write '%s'", path);
    return 0;
}

/* --- directories -------------------------------------------------------- */

int
cocoimg__mkdir_p(int dirfd, const char *path, cocoimg_error **err)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return cocoimg__error_oom(err);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue; /* "a//b" or a leading "/" */
        char saved = p[i];
        p[i] = '\0';
        if (mkdirat(dirfd, p, 0755) < 0 && errno != EEXIST)
            return io_error(err, errno, "mkdir", p);
        p[i] = saved;
    }
    /* EEXIST above may have been a file: check that the result is a directory. */
    struct stat st;
    if (fstatat(dirfd, path, &st, 0) < 0)
        return io_error(err, errno, "stat", path);
    if (!S_ISDIR(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EIO, ENOTDIR, "mkdir '%s': not a directory", path);
    return 0;
}

struct rm_frame {
    dev_t dev;
    ino_t ino;
    char *name; /* entry name in the parent frame */
};

/*
 * A directory the caller owns may contain entries without write or search
 * permission (tar layers often do).  Grant ourselves access, on an fd that
 * was opened O_NOFOLLOW|O_DIRECTORY, so a swapped-in symlink is never chmod'ed.
 */
static int
open_subdir(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || errno != EACCES)
        return fd;
    _cleanup_close_ int pathfd =
        openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pathfd < 0)
        return -1;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
    if (chmod(proc, 0700) < 0) {
        errno = EACCES;
        return -1;
    }
    return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Remove one non-directory entry; 1 if it is a directory, 0 done, < 0 errno. */
static int
unlink_entry(int dfd, const char *name, bool may_chmod)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
            return 0;
        if (errno == EISDIR || errno == EPERM) {
            struct stat st;
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                return 1;
            if (errno == ENOENT)
                return 0;
        }
        if ((errno != EACCES && errno != EPERM) || !may_chmod)
            return -errno;
        /* no write permission on the directory itself: dfd is ours, not a symlink */
        if (attempt == 0 && fchmod(dfd, 0700) < 0)
            return -errno;
    }
    return -errno;
}

/*
 * Depth-first removal that holds only two descriptors at a time, so depth is
 * bounded by memory, not by the fd limit.  Going back up uses "..", checked
 * against the recorded device and inode so a concurrent rename cannot make
 * us delete outside the tree.
 */
static int
rm_tree(int pfd, const char *name, const char *path, cocoimg_error **err)
{
    int r = 0;
    size_t depth = 0, cap = 16;
    struct rm_frame *stack = calloc(cap, sizeof(*stack));
    int cur = -1;
    if (!stack)
        return cocoimg__error_oom(err);

    cur = open_subdir(pfd, name);
    if (cur < 0) {
        r = errno == ENOENT ? 0 : io_error(err, errno, "open", path);
        goto out;
    }
    struct stat st;
    if (fstat(cur, &st) < 0) {
        r = io_error(err, errno, "stat", path);
        goto out;
    }
    stack[0] = (struct rm_frame){st.st_dev, st.st_ino, strdup(name)};
    depth = 1;
    if (!stack[0].name) {
        r = cocoimg__error_oom(err);
        goto out;
    }

    while (depth > 0) {
        int dup_fd = fcntl(cur, F_DUPFD_CLOEXEC, 0);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (!d) {
            if (dup_fd >= 0)
                close(dup_fd);
            r = io_error(err, errno, "opendir", path);
            goto out;
        }
        int child = -1;
        char *child_name = NULL;
        struct dirent *de;
        for (;;) {
            errno = 0;
            de = readdir(d);
            if (!de) {
                if (errno != 0)
                    r = io_error(err, errno, "readdir", path);
                break;
            }
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            int k = unlink_entry(cur, de->d_name, true);
            if (k < 0) {
                r = cocoimg__error_set(err, COCOIMG_EIO, -k, "remove '%s' in '%s': %s", de->d_name,
                                       path, strerror(-k));
                break;
            }
            if (k == 0)
                continue;
            child = open_subdir(cur, de->d_name);
            if (child < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                    continue; /* raced: rescan catches a replacement */
                r = cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s' in '%s': %s", de->d_name,
                                       path, strerror(errno));
                break;
            }
            child_name = strdup(de->d_name);
            if (!child_name)
                r = cocoimg__error_oom(err);
            break;
        }
        closedir(d);
        if (r < 0) {
            if (child >= 0)
                close(child);
            goto out;
        }

        if (child >= 0) {
            if (fstat(child, &st) < 0) {
                r = io_error(err, errno, "stat", path);
                close(child);
                free(child_name);
                goto out;
            }
            if (depth == cap) {
                struct rm_frame *ns = realloc(stack, 2 * cap * sizeof(*stack));
                if (!ns) {
                    close(child);
                    free(child_name);
                    r = cocoimg__error_oom(err);
                    goto out;
                }
                stack = ns;
                cap *= 2;
            }
            stack[depth++] = (struct rm_frame){st.st_dev, st.st_ino, child_name};
            close(cur);
            cur = child;
            continue;
        }

        /* cur is empty now: remove it from its parent */
        struct rm_frame *top = &stack[depth - 1];
        if (depth == 1) {
            if (unlinkat(pfd, top->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = io_error(err, errno, "rmdir", path);
            free(top->name);
            depth = 0;
            break;
        }
        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (up < 0 || fstat(up, &st) < 0 || st.st_dev != stack[depth - 2].dev ||
            st.st_ino != stack[depth - 2].ino) {
            if (up >= 0)
                close(up);
            r = cocoimg__error_set(err, COCOIMG_EIO, 0, "remove '%s': tree changed underneath",
                                   path);
            goto out;
        }
        close(cur);
        cur = up;
        if (unlinkat(cur, top->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
            r = cocoimg__error_set(err, COCOIMG_EIO, errno, "rmdir '%s' in '%s': %s", top->name,
                                   path, strerror(errno));
            goto out;
        }
        free(top->name);
        depth--;
    }
out:
    for (size_t i = 0; i < depth; i++)
        free(stack[i].name);
    free(stack);
    if (cur >= 0)
        close(cur);
    return r;
}

int
cocoimg__rm_rf(int dirfd, const char *path, cocoimg_error **err)
{
    int pfd;
    const char *base;
    bool own;
    int r = open_parent(dirfd, path, true, &pfd, &base, &own, err);
    if (r < 0)
        return r;
    if (!base)
        return 0; /* parent missing: nothing to remove */
    _cleanup_close_ int owned = own ? pfd : -1;
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "remove '%s': refusing", path);

    /* never chmod the caller's directory: only entries inside the tree */
    int k = unlink_entry(pfd, base, false);
    if (k < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, -k, "remove '%s': %s", path, strerror(-k));
    if (k == 0)
        return 0;
    return rm_tree(pfd, base, path, err);
}
