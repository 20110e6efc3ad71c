/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying one layer tar onto a rootfs (see apply.h for the semantics).
 *
 * Every write goes through a parent directory fd obtained by resolving the
 * parent path inside the rootfs, and the entry itself is made with *at()
 * calls relative to it, never following its last component.  Nothing here
 * trusts a string check alone: the kernel (openat2 RESOLVE_IN_ROOT) decides
 * where a path lands.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "unpack/apply.h"
#include "util/fs.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
/* fchmodat2(2) (Linux 6.6) has the same number on every architecture but alpha */
#if !defined(SYS_fchmodat2) && !defined(__alpha__)
#define SYS_fchmodat2 452
#endif
/* Opaque whiteouts recurse into directories this layer wrote; bound the fds held. */
#define PRUNE_MAX_DEPTH 256
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* --- a set of inodes this layer wrote (for opaque whiteouts) --- */

enum {
    INO_UPPER = 1,    /* written by this layer */
    INO_ANCESTOR = 2, /* a directory containing entries of this layer */
};

struct ino_slot {
    uint64_t dev, ino;
    uint8_t flags; /* 0: empty slot */
};

struct inoset {
    struct ino_slot *slots;
    size_t cap, n, max;
};

static size_t
ino_hash(uint64_t dev, uint64_t ino, size_t cap)
{
    uint64_t h = (ino ^ (dev << 32 | dev >> 32)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static struct ino_slot *
ino_find(const struct inoset *s, uint64_t dev, uint64_t ino)
{
    if (!s->cap)
        return NULL;
    for (size_t i = ino_hash(dev, ino, s->cap);; i = (i + 1) & (s->cap - 1)) {
        struct ino_slot *sl = &s->slots[i];
        if (!sl->flags || (sl->dev == dev && sl->ino == ino))
            return sl;
    }
}

static uint8_t
ino_get(const struct inoset *s, const struct stat *st)
{
    struct ino_slot *sl = ino_find(s, st->st_dev, st->st_ino);
    return sl ? sl->flags : 0;
}

/* Add @p flags; returns the previous flags or a negative code. */
static int
ino_add(struct inoset *s, const struct stat *st, uint8_t flags, cocoimg_error **err)
{
    if (2 * (s->n + 1) > s->cap) {
        if (s->n >= s->max)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "too many entries in layer");
        size_t ncap = s->cap ? 2 * s->cap : 1024;
        struct ino_slot *old = s->slots;
        size_t ocap = s->cap;
        s->slots = calloc(ncap, sizeof(*s->slots));
        if (!s->slots) {
            s->slots = old;
            return cocoimg__error_oom(err);
        }
        s->cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].flags)
                *ino_find(s, old[i].dev, old[i].ino) = old[i];
        free(old);
    }
    struct ino_slot *sl = ino_find(s, st->st_dev, st->st_ino);
    int prev = sl->flags;
    if (!prev) {
        sl->dev = st->st_dev;
        sl->ino = st->st_ino;
        s->n++;
    }
    sl->flags |= flags;
    return prev;
}

/* --- state --- */

struct deferred_dir {
    char *path; /* normalised */
    mode_t mode;
    struct timespec times[2];
};

struct apply {
    const cocoimg_context *ctx;
    int rootfd;
    struct stat rootst;
    bool root;
    bool openat2;
    bool keep_setid;
    uint64_t max_entries;
    cocoimg__reader *in;
    uint8_t *buf;
    bool peek; /* libarchive reads the upstream's own buffers */
    struct archive *a;
    cocoimg_error *rerr; /* error of the reader, surfaced instead of libarchive's */
    int rcode;
    uint64_t consumed; /* bytes of the stream handed to libarchive */
    bool padded;
    struct inoset upper;
    struct deferred_dir *dirs;
    size_t n_dirs, cap_dirs, tracked;
    cocoimg__apply_stats stats;
};

static atomic_int have_openat2 = -1;

static int
sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
    struct open_how how = {.flags = flags | O_CLOEXEC, .mode = 0, .resolve = resolve};
    long r;
    do
        r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    while (r < 0 && (errno == EINTR || errno == EAGAIN));
    return (int)r;
}

static bool
openat2_supported(void)
{
    int v = atomic_load(&have_openat2);
    if (v < 0) {
        int fd = sys_openat2(AT_FDCWD, "/", O_PATH, 0);
        v = !(fd < 0 && errno == ENOSYS);
        if (fd >= 0)
            close(fd);
        atomic_store(&have_openat2, v);
    }
    return v;
}

/* --- names --- */

int
cocoimg__unpack_normalize(char *out, size_t outsz, const char *name, cocoimg_error **err)
{
    size_t len = 0;
    const char *p = name;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = strchrnul(p, '/');
        size_t cl = (size_t)(e - p);
        if (cl == 0 || (cl == 1 && p[0] == '.')) {
            /* empty or "." component */
        } else if (cl == 2 && p[0] == '.' && p[1] == '.') {
            /* ".." pops a component; at the root it stays at the root */
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else {
            if (cl > 255)
                return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "name component too long");
            if (len + (len ? 1 : 0) + cl + 1 > outsz)
                return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "name too long");
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, cl);
            len += cl;
        }
        p = e;
    }
    if (outsz == 0)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "name too long");
    out[len] = '\0';
    return 0;
}

bool
cocoimg__unpack_has_dotdot(const char *name)
{
    for (const char *p = name; *p;) {
        const char *e = strchrnul(p, '/');
        if (e - p == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p = *e ? e + 1 : e;
    }
    return false;
}

/* Split a normalised non-empty path in place: returns the base, *path becomes the parent. */
static char *
split_last(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash) {
        memmove(path + 1, path, strlen(path) + 1);
        path[0] = '\0';
        return path + 1;
    }
    *slash = '\0';
    return slash + 1;
}

/* --- resolution inside the root --- */

static int
walk_fallback(int rootfd, const char *dir, bool create, int *out, bool *created_any,
              cocoimg_error **err)
{
    _cleanup_close_ int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "dup root");
    const char *p = dir;
    char comp[256];
    while (*p) {
        const char *e = strchrnul(p, '/');
        size_t cl = (size_t)(e - p);
        memcpy(comp, p, cl);
        comp[cl] = '\0';
        int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir parent '%s'", comp);
            if (created_any)
                *created_any = true;
            nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (nfd < 0) {
            int en = errno;
            struct stat st;
            if ((en == ENOTDIR || en == ELOOP) &&
                fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return cocoimg__error_set(err, COCOIMG_EFORMAT, ELOOP,
                                          "symlink '%s' in parent path (refused without openat2)",
                                          comp);
            if (en == ENOENT)
                return cocoimg__error_set(err, COCOIMG_ENOTFOUND, en, "parent '%s' missing", comp);
            if (en == ENOTDIR)
                return cocoimg__error_set(err, COCOIMG_EFORMAT, ENOTDIR,
                                          "parent '%s' is not a directory", comp);
            return cocoimg__error_set(err, COCOIMG_EIO, en, "open parent '%s'", comp);
        }
        close(fd);
        fd = nfd;
        p = *e ? e + 1 : e;
    }
    *out = TAKE_FD(fd);
    return 0;
}

/*
 * Open the directory @p dir (normalised, "" = root) inside the root as an
 * O_PATH fd; with @p create, missing components are made (mode 0755, like
 * umoci's MkdirAll).  ENOTFOUND when missing and !create.
 */
static int
open_dir(int rootfd, bool use_openat2, const char *dir, bool create, int *out, bool *created_any,
         cocoimg_error **err)
{
    if (!*dir) {
        int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "dup root");
        *out = fd;
        return 0;
    }
    if (!use_openat2)
        return walk_fallback(rootfd, dir, create, out, created_any, err);

    int fd = sys_openat2(rootfd, dir, O_PATH | O_DIRECTORY, RESOLVE_FLAGS);
    if (fd >= 0) {
        *out = fd;
        return 0;
    }
    if (errno == ENOENT && create) {
        /* make the missing components one by one, each resolved from the root again */
        char prefix[COCOIMG_APPLY_MAX_PATH + 1];
        size_t dl = strlen(dir);
        if (dl >= sizeof(prefix))
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "name too long");
        _cleanup_close_ int pfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (pfd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "dup root");
        size_t pos = 0;
        while (pos < dl) {
            size_t end = pos;
            while (end < dl && dir[end] != '/')
                end++;
            memcpy(prefix, dir, end);
            prefix[end] = '\0';
            int nfd = sys_openat2(rootfd, prefix, O_PATH | O_DIRECTORY, RESOLVE_FLAGS);
            if (nfd < 0 && errno == ENOENT) {
                char comp[256];
                memcpy(comp, dir + pos, end - pos);
                comp[end - pos] = '\0';
                if (mkdirat(pfd, comp, 0755) < 0 && errno != EEXIST)
                    return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir parent '%s'", prefix);
                if (created_any)
                    *created_any = true;
                nfd = sys_openat2(rootfd, prefix, O_PATH | O_DIRECTORY, RESOLVE_FLAGS);
            }
            if (nfd < 0) {
                if (errno == ENOTDIR || errno == ENOENT)
                    return cocoimg__error_set(err, COCOIMG_EFORMAT, ENOTDIR,
                                              "parent '%s' is not a directory or is a dangling "
                                              "symlink",
                                              prefix);
                return cocoimg__error_set(err, COCOIMG_EIO, errno, "open parent '%s'", prefix);
            }
            close(pfd);
            pfd = nfd;
            pos = end + 1;
        }
        *out = TAKE_FD(pfd);
        return 0;
    }
    if (errno == ENOENT)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, errno, "parent '%s' missing", dir);
    if (errno == ENOTDIR)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, ENOTDIR, "parent '%s' is not a directory",
                                  dir);
    if (errno == EXDEV || errno == ELOOP)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, errno, "unsafe parent path '%s'", dir);
    return cocoimg__error_set(err, COCOIMG_EIO, errno, "open parent '%s'", dir);
}

int
cocoimg__unpack_open_in_root(int rootfd, const char *path, int flags, bool nofollow,
                             cocoimg_error **err)
{
    char norm[COCOIMG_APPLY_MAX_PATH + 1];
    int r = cocoimg__unpack_normalize(norm, sizeof(norm), path, err);
    if (r < 0)
        return r;
    if (!*norm) {
        int fd = openat(rootfd, ".", flags | O_CLOEXEC);
        return fd >= 0 ? fd : cocoimg__error_set(err, COCOIMG_EIO, errno, "open root");
    }
    int fd;
    if (openat2_supported()) {
        fd =
            sys_openat2(rootfd, norm, (uint64_t)flags | (nofollow ? O_NOFOLLOW : 0), RESOLVE_FLAGS);
    } else {
        char *base = split_last(norm);
        _cleanup_close_ int pfd = -1;
        r = walk_fallback(rootfd, norm, false, &pfd, NULL, err);
        if (r < 0)
            return r;
        fd = openat(pfd, base, flags | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd >= 0)
        return fd;
    if (errno == ENOENT)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, errno, "'%s' not found", path);
    return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", path);
}

/* --- this layer's inodes --- */

static int
mark_upper(struct apply *ap, int pfd, const char *base, cocoimg_error **err)
{
    struct stat st;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat");
    int r = ino_add(&ap->upper, &st, INO_UPPER, err);
    return r < 0 ? r : 0;
}

/* Mark @p pfd and its ancestors up to the root as containing entries of this layer. */
static int
mark_ancestors(struct apply *ap, int pfd, cocoimg_error **err)
{
    _cleanup_close_ int cur = -1;
    int fd = pfd;
    for (int depth = 0; depth < (int)COCOIMG_APPLY_MAX_PATH; depth++) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat parent");
        if (st.st_dev == ap->rootst.st_dev && st.st_ino == ap->rootst.st_ino)
            return 0;
        int prev = ino_add(&ap->upper, &st, INO_ANCESTOR, err);
        if (prev < 0)
            return prev;
        if (prev & INO_ANCESTOR)
            return 0;
        int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '..'");
        if (cur >= 0)
            close(cur);
        cur = fd = up;
    }
    return 0;
}

/* --- removal --- */

static int
remove_entry(int pfd, const char *base, const struct stat *st, cocoimg_error **err)
{
    if (S_ISDIR(st->st_mode))
        return cocoimg__rm_rf(pfd, base, err);
    if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "remove existing entry");
    return 0;
}

/* Remove from @p dfd everything a lower layer put there (opaque whiteout). */
static int
prune(struct apply *ap, int dfd, int depth, cocoimg_error **err)
{
    if (depth > PRUNE_MAX_DEPTH)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "opaque directory nested too deeply");
    int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open directory");
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "opendir");
    }
    int r = 0;
    struct dirent *de;
    while (r == 0) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno)
                r = cocoimg__error_set(err, COCOIMG_EIO, errno, "readdir");
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            r = cocoimg__error_set(err, COCOIMG_EIO, errno, "stat '%s'", de->d_name);
            break;
        }
        uint8_t f = ino_get(&ap->upper, &st);
        if (f && S_ISDIR(st.st_mode)) {
            int cfd = openat(dfd, de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0) {
                r = cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", de->d_name);
                break;
            }
            r = prune(ap, cfd, depth + 1, err);
            close(cfd);
            if (r < 0)
                r = cocoimg__error_wrap(err, r, "%s", de->d_name);
        } else if (!(f & INO_UPPER)) {
            r = remove_entry(dfd, de->d_name, &st, err);
        }
    }
    closedir(d);
    return r;
}

static int
apply_opaque(struct apply *ap, const char *dir, cocoimg_error **err)
{
    _cleanup_close_ int fd = -1;
    if (!ap->openat2 && *dir) {
        char tmp[COCOIMG_APPLY_MAX_PATH + 1];
        snprintf(tmp, sizeof(tmp), "%s", dir);
        cocoimg_error *e = NULL;
        int r = walk_fallback(ap->rootfd, tmp, false, &fd, NULL, &e);
        if (r == COCOIMG_ENOTFOUND || cocoimg_error_errno(e) == ENOTDIR) {
            cocoimg_error_free(e);
            return 0;
        }
        if (r < 0) {
            if (err && !*err)
                *err = e;
            else
                cocoimg_error_free(e);
            return r;
        }
    } else {
        fd = *dir ? sys_openat2(ap->rootfd, dir, O_PATH | O_DIRECTORY, RESOLVE_FLAGS)
                  : fcntl(ap->rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                return 0; /* nothing below to hide */
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "open opaque directory");
        }
    }
    return prune(ap, fd, 0, err);
}

static int
apply_whiteout(struct apply *ap, const char *dir, const char *target, cocoimg_error **err)
{
    if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "invalid whiteout target '%s'", target);
    _cleanup_close_ int pfd = -1;
    cocoimg_error *e = NULL;
    int r = open_dir(ap->rootfd, ap->openat2, dir, false, &pfd, NULL, &e);
    if (r < 0) {
        if (r == COCOIMG_ENOTFOUND || cocoimg_error_errno(e) == ENOTDIR) {
            cocoimg_error_free(e);
            return 0; /* parent missing or not a directory: nothing to remove */
        }
        if (err && !*err)
            *err = e;
        else
            cocoimg_error_free(e);
        return r;
    }
    struct stat st;
    if (fstatat(pfd, target, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat whiteout target");
    }
    /* whiteouts hide lower layers only; an entry of this layer stays */
    if (ino_get(&ap->upper, &st) & INO_UPPER)
        return 0;
    return remove_entry(pfd, target, &st, err);
}

/* --- metadata --- */

/*
 * Extended attributes restored (see apply.h for the why): user.* always and,
 * as root, security.capability; never the namespaces that a storage layer
 * below the rootfs interprets (overlayfs' trusted.overlay.* / user.overlay.*,
 * the override_stat ownership records of containers-storage and
 * fuse-overlayfs), nor any other trusted.* or security.* attribute.
 */
static const char *const xattr_denied_prefixes[] = {
    "user.overlay.",
    "user.containers.override_stat",
    "user.fuseoverlayfs.",
};

static bool
xattr_allowed(const struct apply *ap, const char *name)
{
    if (strncmp(name, "user.", 5) == 0) {
        for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(xattr_denied_prefixes); i++)
            if (strncmp(name, xattr_denied_prefixes[i], strlen(xattr_denied_prefixes[i])) == 0)
                return false;
        return true;
    }
    return ap->root && strcmp(name, "security.capability") == 0;
}

static int
apply_xattrs(struct apply *ap, struct archive_entry *e, int fd, const char *path,
             cocoimg_error **err)
{
    const char *name;
    const void *value;
    size_t size;
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (!xattr_allowed(ap, name)) {
            cocoimg__log(ap->ctx, COCOIMG_LOG_DEBUG, "'%s': xattr '%s' ignored", path, name);
            continue;
        }
        if (fsetxattr(fd, name, value, size, 0) < 0) {
            if (errno == ENOTSUP || errno == EPERM) {
                cocoimg__log(ap->ctx, COCOIMG_LOG_WARNING, "'%s': xattr '%s' not set: %s", path,
                             name, strerror(errno));
                continue;
            }
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "set xattr '%s'", name);
        }
    }
    return 0;
}

/*
 * The permission bits of a non-directory entry: setuid and setgid are
 * dropped when not running as root (the file belongs to the unpacking user,
 * not to the archive's owner) unless the caller keeps them.
 */
static mode_t
entry_mode(const struct apply *ap, struct archive_entry *e)
{
    mode_t mode = archive_entry_mode(e) & 07777;
    if (!ap->root && !ap->keep_setid)
        mode &= ~(mode_t)(S_ISUID | S_ISGID);
    return mode;
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        ts[0] = ts[1];
    }
}

/* Owner, mode (after chown: chown clears setuid), xattrs, times of an open fd. */
static int
meta_fd(struct apply *ap, struct archive_entry *e, int fd, const char *path, bool times, bool mode,
        cocoimg_error **err)
{
    if (ap->root && fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "chown");
    if (mode && fchmod(fd, entry_mode(ap, e)) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "chmod");
    /* after chown: chown drops security.capability */
    int r = apply_xattrs(ap, e, fd, path, err);
    if (r < 0)
        return r;
    if (times) {
        struct timespec ts[2];
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "set times");
    }
    return 0;
}

/*
 * chmod of the inode behind the O_PATH fd @p fd (fchmod(2) refuses O_PATH
 * fds): fchmodat2(AT_EMPTY_PATH), else the /proc/self/fd magic link, which
 * also names that very inode.  Never a path that could have been swapped.
 */
static int
chmod_opath(int fd, mode_t mode)
{
#ifdef SYS_fchmodat2
    if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
        return -1;
#endif
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return fchmodat(AT_FDCWD, proc, mode, 0);
}

/*
 * The same for an entry of @p type that cannot be opened for I/O (symlink,
 * fifo, device) and that we just made as @p base in @p pfd: it is opened
 * O_PATH|O_NOFOLLOW and checked to still be that node (type, one link), and
 * owner and mode are set through that fd, so a node swapped under us (for a
 * symlink or a hardlink to a file elsewhere) is never followed or changed.
 */
static int
meta_node(struct apply *ap, struct archive_entry *e, int pfd, const char *base, mode_t type,
          cocoimg_error **err)
{
    _cleanup_close_ int fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open new entry");
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat new entry");
    if ((st.st_mode & S_IFMT) != type || st.st_nlink != 1)
        return cocoimg__error_set(err, COCOIMG_EIO, 0, "entry replaced while it was created");
    if (ap->root && fchownat(fd, "", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                             AT_EMPTY_PATH) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "chown");
    /* symlink modes mean nothing (and Linux cannot change them) */
    if (type != S_IFLNK && chmod_opath(fd, entry_mode(ap, e)) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "chmod");
    if (archive_entry_xattr_count(e) > 0)
        cocoimg__log(ap->ctx, COCOIMG_LOG_DEBUG, "xattrs on special file '%s' ignored", base);
    struct timespec ts[2];
    entry_times(e, ts);
    if (utimensat(fd, "", ts, AT_EMPTY_PATH) < 0) {
        /* AT_EMPTY_PATH for utimensat is recent: by name, never followed (times only) */
        if ((errno != EINVAL && errno != EBADF) ||
            utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "set times");
    }
    return 0;
}

static int
defer_dir(struct apply *ap, const char *path, struct archive_entry *e, cocoimg_error **err)
{
    size_t len = strlen(path) + 1;
    if (ap->tracked + len > COCOIMG_APPLY_MAX_TRACKED)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "too many directories in layer");
    if (ap->n_dirs == ap->cap_dirs) {
        size_t ncap = ap->cap_dirs ? 2 * ap->cap_dirs : 64;
        struct deferred_dir *nd = realloc(ap->dirs, ncap * sizeof(*nd));
        if (!nd)
            return cocoimg__error_oom(err);
        ap->dirs = nd;
        ap->cap_dirs = ncap;
    }
    struct deferred_dir *d = &ap->dirs[ap->n_dirs];
    d->path = strdup(path);
    if (!d->path)
        return cocoimg__error_oom(err);
    d->mode = archive_entry_mode(e) & 07777;
    entry_times(e, d->times);
    ap->n_dirs++;
    ap->tracked += len;
    return 0;
}

static int
finish_dirs(struct apply *ap, cocoimg_error **err)
{
    /* deepest last written first does not matter: chmod/utimens never touch parents */
    for (size_t i = ap->n_dirs; i-- > 0;) {
        struct deferred_dir *d = &ap->dirs[i];
        char tmp[COCOIMG_APPLY_MAX_PATH + 1];
        snprintf(tmp, sizeof(tmp), "%s", d->path);
        char *base = split_last(tmp);
        _cleanup_close_ int pfd = -1;
        cocoimg_error *e = NULL;
        if (open_dir(ap->rootfd, ap->openat2, tmp, false, &pfd, NULL, &e) < 0) {
            cocoimg_error_free(e);
            continue; /* replaced later in the layer */
        }
        _cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                continue;
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "open directory '%s'", d->path);
        }
        if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "directory '%s' metadata", d->path);
    }
    return 0;
}

/* --- entries --- */

static int
write_data(struct apply *ap, struct archive_entry *e, int fd, cocoimg_error **err)
{
    const void *buf;
    size_t size;
    la_int64_t off, end = 0;
    for (;;) {
        int r = archive_read_data_block(ap->a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            if (ap->rcode)
                return ap->rcode;
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "tar data: %s",
                                      archive_error_string(ap->a));
        }
        const uint8_t *p = buf;
        while (size > 0) {
            ssize_t w = pwrite(fd, p, size, off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return cocoimg__error_set(err, COCOIMG_EIO, errno, "write");
            }
            p += w;
            size -= (size_t)w;
            off += w;
        }
        if (off > end)
            end = off;
    }
    /* sparse files end in a hole */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > end &&
        ftruncate(fd, archive_entry_size(e)) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "truncate");
    return 0;
}

static int
apply_hardlink(struct apply *ap, const char *norm, int pfd, const char *base, const char *target,
               const struct stat *existing, cocoimg_error **err)
{
    char tnorm[COCOIMG_APPLY_MAX_PATH + 1];
    if (cocoimg__unpack_has_dotdot(target))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "hardlink target '%s' has a '..' component (refused)", target);
    int r = cocoimg__unpack_normalize(tnorm, sizeof(tnorm), target, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "hardlink target");
    if (!*tnorm)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "hardlink to the root directory");
    if (strcmp(tnorm, norm) == 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "hardlink to itself");
    char *tbase = split_last(tnorm);
    _cleanup_close_ int tpfd = -1;
    r = open_dir(ap->rootfd, ap->openat2, tnorm, false, &tpfd, NULL, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r == COCOIMG_ENOTFOUND ? COCOIMG_EFORMAT : r,
                                   "hardlink target '%s'", target);
    struct stat tst;
    if (fstatat(tpfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, errno, "hardlink target '%s' missing",
                                  target);
    if (S_ISDIR(tst.st_mode))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "hardlink target '%s' is a directory",
                                  target);
    if (existing) {
        if (existing->st_dev == tst.st_dev && existing->st_ino == tst.st_ino)
            return 0; /* already that file */
        r = remove_entry(pfd, base, existing, err);
        if (r < 0)
            return r;
    }
    /* flags 0: a symlink target is linked itself, never followed */
    if (linkat(tpfd, tbase, pfd, base, 0) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "link to '%s'", target);
    r = ino_add(&ap->upper, &tst, INO_UPPER, err);
    return r < 0 ? r : 0;
}

static int
apply_entry(struct apply *ap, struct archive_entry *e, const char *norm, cocoimg_error **err)
{
    mode_t type = archive_entry_filetype(e);
    const char *hardlink = archive_entry_hardlink(e);
    int r;

    if (!*norm) {
        /*
         * The root itself ("./"): its metadata is ignored, as the overlay
         * driver of containers-storage does, so a layer cannot make the
         * rootfs world-writable, setgid or someone else's.
         */
        if (type != AE_IFDIR || hardlink)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "root entry is not a directory");
        cocoimg__log(ap->ctx, COCOIMG_LOG_DEBUG, "metadata of the root entry '%s' ignored",
                     archive_entry_pathname(e));
        return 0;
    }

    char dir[COCOIMG_APPLY_MAX_PATH + 1];
    snprintf(dir, sizeof(dir), "%s", norm);
    char *base = split_last(dir);

    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
        ap->stats.whiteouts++;
        if (strcmp(base, WH_OPAQUE) == 0)
            return apply_opaque(ap, dir, err);
        return apply_whiteout(ap, dir, base + strlen(WH_PREFIX), err);
    }

    _cleanup_close_ int pfd = -1;
    r = open_dir(ap->rootfd, ap->openat2, dir, true, &pfd, NULL, err);
    if (r < 0)
        return r;
    r = mark_ancestors(ap, pfd, err);
    if (r < 0)
        return r;

    struct stat est;
    bool exists = fstatat(pfd, base, &est, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat");

    if (hardlink)
        return apply_hardlink(ap, norm, pfd, base, hardlink, exists ? &est : NULL, err);

    if (exists && !(S_ISDIR(est.st_mode) && type == AE_IFDIR)) {
        r = remove_entry(pfd, base, &est, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "replace");
    }

    switch (type) {
    case AE_IFREG: {
        _cleanup_close_ int fd =
            openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "create");
        r = write_data(ap, e, fd, err);
        if (r < 0)
            return r;
        r = meta_fd(ap, e, fd, norm, true, true, err);
        if (r < 0)
            return r;
        break;
    }
    case AE_IFDIR: {
        if (!exists || !S_ISDIR(est.st_mode)) {
            if (mkdirat(pfd, base, 0700) < 0)
                return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir");
        }
        _cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "open directory");
        /* mode and times at the end: entries below would change the mtime, and a
         * read-only mode would stop a non-root extraction */
        r = meta_fd(ap, e, fd, norm, false, false, err);
        if (r < 0)
            return r;
        r = defer_dir(ap, norm, e, err);
        if (r < 0)
            return r;
        break;
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        if (!target || !*target)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "symlink without target");
        if (symlinkat(target, pfd, base) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "symlink");
        r = meta_node(ap, e, pfd, base, S_IFLNK, err);
        if (r < 0)
            return r;
        break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
        if (!ap->root) {
            cocoimg__log(ap->ctx, COCOIMG_LOG_WARNING,
                         "'%s': device node skipped (not running as root)", norm);
            ap->stats.skipped++;
            return 0;
        }
        /* fall through */
    case AE_IFIFO: {
        dev_t dev =
            type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (mknodat(pfd, base, type | 0600, dev) < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "mknod");
        r = meta_node(ap, e, pfd, base, type, err);
        if (r < 0)
            return r;
        break;
    }
    case AE_IFSOCK:
        cocoimg__log(ap->ctx, COCOIMG_LOG_WARNING, "'%s': socket skipped", norm);
        ap->stats.skipped++;
        return 0;
    default:
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "unsupported entry type 0%o",
                                  (unsigned)type);
    }
    return mark_upper(ap, pfd, base, err);
}

/* --- libarchive glue --- */

static la_ssize_t
read_cb(struct archive *a, void *cd, const void **buf)
{
    struct apply *ap = cd;
    /* libarchive keeps *buf until its next call: an upstream's own buffer will do */
    const void *p = ap->buf;
    ssize_t n = ap->peek ? cocoimg__reader_peek(ap->in, &p, COCOIMG_PIPE_BUFSZ, &ap->rerr)
                         : cocoimg__reader_read(ap->in, ap->buf, COCOIMG_PIPE_BUFSZ, &ap->rerr);
    if (n < 0) {
        ap->rcode = (int)n;
        archive_set_error(a, EIO, "layer stream failed");
        return -1;
    }
    if (n == 0 && !ap->padded && ap->consumed % 512) {
        /*
         * Go's archive/tar writer not closed (umoci 0.4 "insert" layers)
         * leaves out the last record's padding; Go readers accept that, so
         * do we.  Only the padding is made up: truncated file data still
         * fails, and the diffID was computed over the real bytes upstream.
         */
        ap->padded = true;
        n = (ssize_t)(512 - ap->consumed % 512);
        memset(ap->buf, 0, (size_t)n);
        p = ap->buf;
    }
    ap->consumed += (uint64_t)n;
    *buf = p;
    return n;
}

int
cocoimg__unpack_apply(const cocoimg_context *ctx, int rootfd, cocoimg__reader *tar,
                      const cocoimg__apply_options *opts, cocoimg__apply_stats *stats,
                      cocoimg_error **err)
{
    struct apply ap = {
        .ctx = ctx,
        .rootfd = rootfd,
        .root = geteuid() == 0 && !(opts && opts->rootless),
        .openat2 = openat2_supported() && !(opts && opts->no_openat2),
        .keep_setid = opts && opts->keep_setid,
        .max_entries = opts && opts->max_entries ? opts->max_entries : COCOIMG_APPLY_MAX_ENTRIES,
        .in = tar,
        .peek = cocoimg__reader_can_peek(tar),
    };
    int r = 0;
    char *norm = NULL;
    if (fstat(rootfd, &ap.rootst) < 0 || !S_ISDIR(ap.rootst.st_mode))
        return cocoimg__error_set(err, COCOIMG_EINVAL, errno, "rootfs is not a directory");
    ap.upper.max = 2 * ap.max_entries + 1024;
    ap.buf = malloc(COCOIMG_PIPE_BUFSZ);
    norm = malloc(COCOIMG_APPLY_MAX_PATH + 1);
    ap.a = archive_read_new();
    if (!ap.buf || !norm || !ap.a) {
        r = cocoimg__error_oom(err);
        goto out;
    }
    if (archive_read_support_format_tar(ap.a) != ARCHIVE_OK ||
        archive_read_support_format_empty(ap.a) != ARCHIVE_OK ||
        archive_read_open(ap.a, &ap, NULL, read_cb, NULL) != ARCHIVE_OK) {
        r = ap.rcode ? ap.rcode
                     : cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "tar: %s",
                                          archive_error_string(ap.a));
        goto out;
    }

    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(ap.a, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN) {
            r = ap.rcode ? ap.rcode
                         : cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "tar: %s",
                                              archive_error_string(ap.a));
            goto out;
        }
        if (++ap.stats.entries > ap.max_entries) {
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "more than %llu entries in layer",
                                   (unsigned long long)ap.max_entries);
            goto out;
        }
        const char *name = archive_entry_pathname(e);
        if (!name) {
            r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "tar entry without a name");
            goto out;
        }
        if (strlen(name) > COCOIMG_APPLY_MAX_PATH) {
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "entry name longer than %u bytes",
                                   COCOIMG_APPLY_MAX_PATH);
            goto out;
        }
        if (cocoimg__unpack_has_dotdot(name))
            r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "name has a '..' component (refused)");
        else
            r = cocoimg__unpack_normalize(norm, COCOIMG_APPLY_MAX_PATH + 1, name, err);
        if (r == 0)
            r = apply_entry(&ap, e, norm, err);
        if (r < 0) {
            if (ap.rcode) {
                /* the stream failed under us: its error, not the entry's */
                if (err) {
                    cocoimg_error_free(*err);
                    *err = NULL;
                }
                r = ap.rcode;
                goto out;
            }
            r = cocoimg__error_wrap(err, r, "entry '%s'", name);
            goto out;
        }
    }
    r = finish_dirs(&ap, err);
    if (r < 0)
        goto out;
    /* trailing padding after the end-of-archive blocks is part of the diffID */
    r = cocoimg__reader_drain(tar, NULL, &ap.rerr);
    if (r < 0)
        ap.rcode = r;
    if (stats)
        *stats = ap.stats;

out:
    if (ap.rcode) {
        r = ap.rcode;
        if (err && !*err)
            *err = TAKE_PTR(ap.rerr);
    }
    cocoimg_error_free(ap.rerr);
    if (ap.a)
        archive_read_free(ap.a);
    for (size_t i = 0; i < ap.n_dirs; i++)
        free(ap.dirs[i].path);
    free(ap.dirs);
    free(ap.upper.slots);
    free(ap.buf);
    free(norm);
    return r;
}
