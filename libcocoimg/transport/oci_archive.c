/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/reader.h"
#include "transport/transport.h"
#include "util/context.h"
#include "util/fs.h"

/*
 * oci-archive:FILE[:REF] is a tar of an OCI image layout.  Reading extracts
 * it into a private temporary directory and serves it as a layout; writing
 * builds a layout in a temporary directory and, on commit, writes it as a
 * tar next to FILE and renames it over FILE.  Like containers/image, a
 * write replaces FILE: refs already in an existing archive are not kept.
 *
 * Extraction does not hand entry names to the file system: only the names
 * a layout has (oci-layout, index.json, blobs/ALG/HEX) are written, each
 * through O_NOFOLLOW|O_EXCL opens relative to the private directory, so
 * "..", absolute paths, links and duplicates cannot escape or overwrite.
 */

#define ARCHIVE_MAX_ENTRIES 65536
/* total bytes extracted from one archive */
#define ARCHIVE_MAX_TOTAL (UINT64_C(256) << 30)

static int
make_tmpdir(char **out, const cocoimg_context *ctx, cocoimg_error **err)
{
    char *p = NULL;
    if (asprintf(&p, "%s/cocoimg-archive-XXXXXX", cocoimg__context_tmpdir(ctx)) < 0)
        return cocoimg__error_oom(err);
    if (!mkdtemp(p)) {
        int en = errno;
        free(p);
        return cocoimg__error_set(err, COCOIMG_EIO, en, "create a temporary directory in '%s'",
                                  cocoimg__context_tmpdir(ctx));
    }
    *out = p;
    return 0;
}

static void
remove_tmpdir(char *path)
{
    if (!path)
        return;
    _cleanup_error_ cocoimg_error *e = NULL;
    (void)cocoimg__rm_rf(AT_FDCWD, path, &e);
    free(path);
}

static bool
all_of(const char *s, size_t n, const char *set)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]))
            return false;
    return true;
}

typedef enum { NAME_OTHER, NAME_DIR, NAME_FILE } name_class;

/*
 * Classify a (normalised) entry name.  For blobs/ALG and blobs/ALG/HEX,
 * *alg_len is the length of ALG (which starts at name + 6).
 */
static name_class
classify(const char *name, bool is_dir, size_t *alg_len)
{
    if (!is_dir && (strcmp(name, "oci-layout") == 0 || strcmp(name, "index.json") == 0))
        return NAME_FILE;
    if (strncmp(name, "blobs", 5) != 0)
        return NAME_OTHER;
    if (name[5] == '\0')
        return is_dir ? NAME_DIR : NAME_OTHER;
    if (name[5] != '/')
        return NAME_OTHER;
    const char *alg = name + 6;
    const char *slash = strchr(alg, '/');
    size_t al = slash ? (size_t)(slash - alg) : strlen(alg);
    if (!all_of(alg, al, "abcdefghijklmnopqrstuvwxyz0123456789") || al > 32)
        return NAME_OTHER;
    *alg_len = al;
    if (!slash)
        return is_dir ? NAME_DIR : NAME_OTHER;
    const char *hex = slash + 1;
    size_t hl = strlen(hex);
    if (is_dir || hl > 128 || !all_of(hex, hl, "0123456789abcdef"))
        return NAME_OTHER;
    return NAME_FILE;
}

static int
mkdir_at(int dirfd, const char *name, cocoimg_error **err)
{
    if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir '%s'", name);
    return 0;
}

static int
extract_entry(struct archive *a, int dirfd, const char *name, size_t alg_len, uint64_t *total,
              cocoimg_error **err)
{
    _cleanup_close_ int pfd = -1;
    const char *leaf = name;
    if (strncmp(name, "blobs/", 6) == 0) {
        char alg[40];
        memcpy(alg, name + 6, alg_len);
        alg[alg_len] = '\0';
        int r = mkdir_at(dirfd, "blobs", err);
        if (r < 0)
            return r;
        _cleanup_close_ int bfd =
            openat(dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (bfd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "open 'blobs'");
        if ((r = mkdir_at(bfd, alg, err)) < 0)
            return r;
        pfd = openat(bfd, alg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pfd < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "open 'blobs/%s'", alg);
        leaf = name + 7 + alg_len;
    }
    _cleanup_close_ int fd = openat(pfd >= 0 ? pfd : dirfd, leaf,
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "duplicate entry");
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "create");
    }
    _cleanup_free_ uint8_t *buf = malloc(COCOIMG_PIPE_BUFSZ);
    if (!buf)
        return cocoimg__error_oom(err);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, COCOIMG_PIPE_BUFSZ);
        if (n == 0)
            break;
        if (n < 0)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s", archive_error_string(a));
        *total += (uint64_t)n;
        if (*total > ARCHIVE_MAX_TOTAL)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                      "archive content exceeds the limit of %llu bytes",
                                      (unsigned long long)ARCHIVE_MAX_TOTAL);
        int r = cocoimg__write_all(fd, buf, (size_t)n, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static void
archive_read_freep(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}

int
cocoimg__archive_extract(int dirfd, const char *archive_path, cocoimg_error **err)
{
    _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
    if (!a)
        return cocoimg__error_oom(err);
    archive_read_support_format_tar(a);
    _cleanup_close_ int fd = open(archive_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "'%s' does not exist",
                                      archive_path);
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", archive_path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s' is not a regular file",
                                  archive_path);
    if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s': %s", archive_path,
                                  archive_error_string(a));
    uint64_t total = 0;
    size_t n = 0;
    for (;;) {
        struct archive_entry *ae;
        int r = archive_read_next_header(a, &ae);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s': %s", archive_path,
                                      archive_error_string(a));
        if (++n > ARCHIVE_MAX_ENTRIES)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "'%s': more than %d entries",
                                      archive_path, ARCHIVE_MAX_ENTRIES);
        const char *raw = archive_entry_pathname(ae);
        if (!raw)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s': entry without a name",
                                      archive_path);
        while (raw[0] == '.' && raw[1] == '/')
            raw += 2;
        char name[256];
        size_t nl = strlen(raw);
        if (nl >= sizeof(name))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s': entry name too long",
                                      archive_path);
        memcpy(name, raw, nl + 1);
        mode_t type = archive_entry_filetype(ae);
        bool is_dir = type == AE_IFDIR;
        while (nl > 0 && name[nl - 1] == '/')
            name[--nl] = '\0';
        if (!is_dir && type != AE_IFREG)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "'%s': entry '%s' is not a regular file or directory",
                                      archive_path, name);
        if (archive_entry_hardlink(ae))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s': entry '%s' is a hard link",
                                      archive_path, name);
        size_t alg_len = 0;
        name_class c =
            (nl == 0 || strcmp(name, ".") == 0) ? NAME_OTHER : classify(name, is_dir, &alg_len);
        if (c == NAME_FILE) {
            r = extract_entry(a, dirfd, name, alg_len, &total, err);
            if (r < 0)
                return cocoimg__error_wrap(err, r, "'%s': entry '%s'", archive_path, name);
        } else if (c == NAME_DIR) {
            /* created on demand by the files below them */
        } else {
            /* not part of a layout: ignored, never written */
        }
    }
    return 0;
}

/* --- writing ----------------------------------------------------------- */

static void
archive_write_freep(struct archive **a)
{
    if (*a)
        archive_write_free(*a);
}

static int
tar_header(struct archive *a, const char *name, mode_t type, int64_t size, cocoimg_error **err)
{
    struct archive_entry *ae = archive_entry_new();
    if (!ae)
        return cocoimg__error_oom(err);
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, type);
    archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(ae, type == AE_IFDIR ? 0 : size);
    archive_entry_set_mtime(ae, 0, 0);
    int r = archive_write_header(a, ae);
    archive_entry_free(ae);
    if (r != ARCHIVE_OK)
        return cocoimg__error_set(err, COCOIMG_EIO, 0, "tar '%s': %s", name,
                                  archive_error_string(a));
    return 0;
}

static int
tar_file(struct archive *a, int dirfd, const char *leaf, const char *name, cocoimg_error **err)
{
    _cleanup_close_ int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", name);
    if (!S_ISREG(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s' is not a regular file", name);
    int r = tar_header(a, name, AE_IFREG, st.st_size, err);
    if (r < 0)
        return r;
    _cleanup_free_ uint8_t *buf = malloc(COCOIMG_PIPE_BUFSZ);
    if (!buf)
        return cocoimg__error_oom(err);
    int64_t left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, buf, COCOIMG_PIPE_BUFSZ);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "read '%s'", name);
        if (n == 0)
            return cocoimg__error_set(err, COCOIMG_EIO, 0, "'%s' shrank while archiving", name);
        if (n > left)
            n = (ssize_t)left;
        if (archive_write_data(a, buf, (size_t)n) != n)
            return cocoimg__error_set(err, COCOIMG_EIO, 0, "tar '%s': %s", name,
                                      archive_error_string(a));
        left -= n;
    }
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Sorted names in @p dirfd/@p sub, skipping dot files (staging leftovers). */
static int
list_dir(char ***out, size_t *n_out, int *fd_out, int dirfd, const char *sub, cocoimg_error **err)
{
    int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", sub);
    int dfd = dup(fd);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!dir) {
        int en = errno;
        if (dfd >= 0)
            close(dfd);
        close(fd);
        return cocoimg__error_set(err, COCOIMG_EIO, en, "opendir '%s'", sub);
    }
    char **v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        char **nv = realloc(v, (n + 1) * sizeof(*v));
        if (!nv || !(nv[n] = strdup(de->d_name))) {
            free_names(nv ? nv : v, n);
            closedir(dir);
            close(fd);
            return cocoimg__error_oom(err);
        }
        v = nv;
        n++;
    }
    closedir(dir);
    if (n)
        qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    *n_out = n;
    *fd_out = fd;
    return 0;
}

static int
write_layout_tar(struct archive *a, int dirfd, cocoimg_error **err)
{
    int r;
    if ((r = tar_file(a, dirfd, "oci-layout", "oci-layout", err)) < 0 ||
        (r = tar_file(a, dirfd, "index.json", "index.json", err)) < 0 ||
        (r = tar_header(a, "blobs/", AE_IFDIR, 0, err)) < 0)
        return r;
    char **algs = NULL;
    size_t n_algs = 0;
    _cleanup_close_ int bfd = -1;
    if ((r = list_dir(&algs, &n_algs, &bfd, dirfd, "blobs", err)) < 0)
        return r;
    for (size_t i = 0; i < n_algs && r == 0; i++) {
        char path[512];
        snprintf(path, sizeof(path), "blobs/%s/", algs[i]);
        if ((r = tar_header(a, path, AE_IFDIR, 0, err)) < 0)
            break;
        char **hexes = NULL;
        size_t n_hex = 0;
        _cleanup_close_ int afd = -1;
        if ((r = list_dir(&hexes, &n_hex, &afd, bfd, algs[i], err)) < 0)
            break;
        for (size_t j = 0; j < n_hex && r == 0; j++) {
            snprintf(path, sizeof(path), "blobs/%s/%s", algs[i], hexes[j]);
            r = tar_file(a, afd, hexes[j], path, err);
        }
        free_names(hexes, n_hex);
    }
    free_names(algs, n_algs);
    return r;
}

static void
tmpfile_cleanup(cocoimg__tmpfile *t)
{
    cocoimg__tmpfile_abort(t);
}

int
cocoimg__archive_write(int dirfd, const char *archive_path, cocoimg_error **err)
{
    _cleanup_free_ char *dir = strdup(archive_path);
    if (!dir)
        return cocoimg__error_oom(err);
    char *slash = strrchr(dir, '/');
    const char *base = archive_path;
    if (slash) {
        base = archive_path + (slash - dir) + 1;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    if (!*base)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "'%s': not a file name", archive_path);
    _cleanup_close_ int pfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return cocoimg__error_set(err, errno == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO, errno,
                                  "'%s': parent directory", archive_path);
    _cleanup_(tmpfile_cleanup) cocoimg__tmpfile t = {.dirfd = -1, .fd = -1, .name = NULL};
    int r = cocoimg__tmpfile_open(&t, pfd, base, err);
    if (r < 0)
        return r;
    _cleanup_(archive_write_freep) struct archive *a = archive_write_new();
    if (!a)
        return cocoimg__error_oom(err);
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, t.fd) != ARCHIVE_OK)
        return cocoimg__error_set(err, COCOIMG_EIO, 0, "'%s': %s", archive_path,
                                  archive_error_string(a));
    r = write_layout_tar(a, dirfd, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "'%s'", archive_path);
    if (archive_write_close(a) != ARCHIVE_OK)
        return cocoimg__error_set(err, COCOIMG_EIO, 0, "'%s': %s", archive_path,
                                  archive_error_string(a));
    r = cocoimg__tmpfile_commit(&t, base, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "'%s'", archive_path);
    return 0;
}

/* --- source ------------------------------------------------------------ */

struct archive_source {
    cocoimg__source base;
    cocoimg__source *inner;
    char *tmpdir;
};

static int
archive_get_manifest(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                     uint8_t **buf_out, size_t *len_out, char **media_type_out, cocoimg_error **err)
{
    struct archive_source *as = (struct archive_source *)s;
    return as->inner->ops->get_manifest(as->inner, digest, size, buf_out, len_out, media_type_out,
                                        err);
}

static int
archive_get_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                 cocoimg__reader **out, cocoimg_error **err)
{
    struct archive_source *as = (struct archive_source *)s;
    return cocoimg__source_get_blob(as->inner, digest, size, out, err);
}

static void
archive_source_free(cocoimg__source *s)
{
    struct archive_source *as = (struct archive_source *)s;
    cocoimg__source_free(as->inner);
    remove_tmpdir(as->tmpdir);
    free(as);
}

static const struct cocoimg__source_ops archive_source_ops = {
    .name = "oci-archive",
    .parallel = 2,
    .get_manifest = archive_get_manifest,
    .get_blob = archive_get_blob,
    .free = archive_source_free,
};

int
cocoimg__archive_source_open(cocoimg__source **out, const cocoimg_context *ctx, const char *path,
                             const char *ref_name, cocoimg_error **err)
{
    struct archive_source *as = calloc(1, sizeof(*as));
    if (!as)
        return cocoimg__error_oom(err);
    as->base.ops = &archive_source_ops;
    as->base.ctx = ctx;
    _cleanup_source_ cocoimg__source *s = &as->base;
    int r = make_tmpdir(&as->tmpdir, ctx, err);
    if (r < 0)
        return r;
    _cleanup_close_ int dfd = open(as->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", as->tmpdir);
    cocoimg__log(ctx, COCOIMG_LOG_DEBUG, "oci-archive: extracting '%s' to '%s'", path, as->tmpdir);
    r = cocoimg__archive_extract(dfd, path, err);
    if (r < 0)
        return r;
    r = cocoimg__layout_source_open(&as->inner, ctx, as->tmpdir, ref_name, err);
    if (r < 0) {
        if (r == COCOIMG_EFORMAT || r == COCOIMG_ENOTFOUND)
            return cocoimg__error_wrap(err, r, "archive '%s'", path);
        return r;
    }
    *out = TAKE_PTR(s);
    return 0;
}

/* --- destination ------------------------------------------------------- */

struct archive_dest {
    cocoimg__dest base;
    cocoimg__dest *inner;
    char *tmpdir;
    char *path;
};

static int
archive_has_blob(cocoimg__dest *d, const cocoimg__digest *digest, int64_t size, bool *out,
                 cocoimg_error **err)
{
    return cocoimg__dest_has_blob(((struct archive_dest *)d)->inner, digest, size, out, err);
}

static int
archive_put_blob(cocoimg__dest *d, cocoimg__reader *in, const cocoimg__digest *expected,
                 int64_t expected_size, cocoimg__digest *digest_out, int64_t *size_out,
                 cocoimg_error **err)
{
    return cocoimg__dest_put_blob(((struct archive_dest *)d)->inner, in, expected, expected_size,
                                  digest_out, size_out, err);
}

static int
archive_put_manifest(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                     cocoimg__digest *digest_out, cocoimg_error **err)
{
    return cocoimg__dest_put_manifest(((struct archive_dest *)d)->inner, buf, len, media_type,
                                      digest_out, err);
}

static int
archive_commit(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
               cocoimg_error **err)
{
    struct archive_dest *ad = (struct archive_dest *)d;
    int r = cocoimg__dest_commit(ad->inner, buf, len, media_type, err);
    if (r < 0)
        return r;
    _cleanup_close_ int dfd = open(ad->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", ad->tmpdir);
    return cocoimg__archive_write(dfd, ad->path, err);
}

static void
archive_abort(cocoimg__dest *d)
{
    /* FILE was never touched; the staging directory goes in free() */
}

static void
archive_dest_free(cocoimg__dest *d)
{
    struct archive_dest *ad = (struct archive_dest *)d;
    cocoimg__dest_free(ad->inner);
    remove_tmpdir(ad->tmpdir);
    free(ad->path);
    free(ad);
}

static const struct cocoimg__dest_ops archive_dest_ops = {
    .name = "oci-archive",
    .parallel = 2,
    .has_blob = archive_has_blob,
    .put_blob = archive_put_blob,
    .put_manifest = archive_put_manifest,
    .commit = archive_commit,
    .abort = archive_abort,
    .free = archive_dest_free,
};

int
cocoimg__archive_dest_open(cocoimg__dest **out, const cocoimg_context *ctx, const char *path,
                           const char *ref_name, cocoimg_error **err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EEXISTS, 0, "'%s' is a directory", path);
    struct archive_dest *ad = calloc(1, sizeof(*ad));
    if (!ad)
        return cocoimg__error_oom(err);
    ad->base.ops = &archive_dest_ops;
    ad->base.ctx = ctx;
    _cleanup_dest_ cocoimg__dest *d = &ad->base;
    if (!(ad->path = strdup(path)))
        return cocoimg__error_oom(err);
    int r = make_tmpdir(&ad->tmpdir, ctx, err);
    if (r < 0)
        return r;
    r = cocoimg__layout_dest_open(&ad->inner, ctx, ad->tmpdir, ref_name, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(d);
    return 0;
}
