/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/model.h"
#include "transport/transport.h"
#include "util/context.h"
#include "util/fs.h"
#include "util/json.h"

/*
 * OCI image layout (image-spec image-layout.md):
 *   DIR/oci-layout    {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json    an image index; entries carry the ref name annotation
 *   DIR/blobs/ALG/HEX content-addressed blobs
 * Blob paths are opened component by component with O_NOFOLLOW so a
 * symlink planted in a layout never redirects a read or a write.
 */

#define LAYOUT_FILE "oci-layout"
#define LAYOUT_VERSION "1.0.0"
#define INDEX_FILE "index.json"
#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static int
open_errno(cocoimg_error **err, int en, const char *what, const char *name)
{
    if (en == ENOENT)
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "%s '%s' not found", what, name);
    if (en == ELOOP || en == ENOTDIR)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s '%s' is a symlink or not the expected type", what, name);
    return cocoimg__error_set(err, COCOIMG_EIO, en, "open %s '%s'", what, name);
}

/* The directory blobs/ALG of @p dirfd; @p create makes it if missing. */
static int
open_alg_dir(int *out, int dirfd, cocoimg__digest_alg alg, bool create, cocoimg_error **err)
{
    const char *an = cocoimg__digest_alg_name(alg);
    if (create) {
        if (mkdirat(dirfd, "blobs", 0755) < 0 && errno != EEXIST)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir 'blobs'");
    }
    _cleanup_close_ int bfd = openat(dirfd, "blobs", OPEN_DIR_FLAGS);
    if (bfd < 0)
        return open_errno(err, errno, "directory", "blobs");
    if (create) {
        if (mkdirat(bfd, an, 0755) < 0 && errno != EEXIST)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir 'blobs/%s'", an);
    }
    int fd = openat(bfd, an, OPEN_DIR_FLAGS);
    if (fd < 0)
        return open_errno(err, errno, "directory blobs", an);
    *out = fd;
    return 0;
}

static int
open_blob(int *out, int dirfd, const cocoimg__digest *d, cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX], hex[129];
    cocoimg__digest_format(d, ds);
    cocoimg__digest_hex(d, hex);
    _cleanup_close_ int afd = -1;
    int r = open_alg_dir(&afd, dirfd, d->alg, false, err);
    if (r == COCOIMG_ENOTFOUND) {
        cocoimg_error_free(err ? TAKE_PTR(*err) : NULL);
        return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "blob '%s' not found", ds);
    }
    if (r < 0)
        return r;
    _cleanup_close_ int fd = openat(afd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return open_errno(err, errno, "blob", ds);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "stat blob '%s'", ds);
    if (!S_ISREG(st.st_mode))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "blob '%s' is not a regular file", ds);
    /* O_NONBLOCK only guarded the open against FIFOs */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *out = TAKE_FD(fd);
    return 0;
}

/* Read a small JSON file of the layout (never through a symlink). */
static int
read_small(uint8_t **buf, size_t *len, int dirfd, const char *name, size_t max, cocoimg_error **err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return open_errno(err, errno, "file", name);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "'%s' is not a regular file", name);
    }
    _cleanup_reader_ cocoimg__reader *r = NULL;
    int rc = cocoimg__reader_fd(&r, fd, true, err);
    if (rc < 0)
        return rc;
    rc = cocoimg__reader_to_mem(r, max, buf, len, err);
    if (rc < 0)
        return cocoimg__error_wrap(err, rc, "%s", name);
    return 0;
}

static int
check_layout_file(int dirfd, const char *path, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    int r = read_small(&buf, &len, dirfd, LAYOUT_FILE, 4096, err);
    if (r == COCOIMG_ENOTFOUND) {
        cocoimg_error_free(err ? TAKE_PTR(*err) : NULL);
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "'%s' is not an OCI image layout (no oci-layout file)", path);
    }
    if (r < 0)
        return r;
    _cleanup_json_ json_t *j = NULL;
    r = cocoimg__json_loadb(&j, buf, len, 4096, true, LAYOUT_FILE, err);
    if (r < 0)
        return r;
    const char *v = cocoimg__json_str(j, "imageLayoutVersion");
    if (!v)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "oci-layout: 'imageLayoutVersion' must be a string");
    if (strcmp(v, LAYOUT_VERSION) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "oci-layout: unsupported imageLayoutVersion '%s'", v);
    return 0;
}

static int
load_index(cocoimg__index **out, int dirfd, cocoimg_error **err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    int r = read_small(&buf, &len, dirfd, INDEX_FILE, COCOIMG_JSON_MAX_SIZE, err);
    if (r < 0)
        return r;
    r = cocoimg__index_parse(out, buf, len, NULL, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "%s", INDEX_FILE);
    return 0;
}

static const char *
entry_ref_name(const cocoimg__descriptor *d)
{
    return cocoimg__json_str(json_object_get(d->json, "annotations"), COCOIMG_ANNOTATION_REF_NAME);
}

/* --- source ------------------------------------------------------------ */

struct layout_source {
    cocoimg__source base;
    int dirfd;
    char *path;
    char *ref_name;
};

static int
layout_get_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                cocoimg__reader **out, cocoimg_error **err)
{
    struct layout_source *ls = (struct layout_source *)s;
    int fd = -1;
    int r = open_blob(&fd, ls->dirfd, digest, err);
    if (r < 0)
        return r;
    _cleanup_reader_ cocoimg__reader *raw = NULL;
    r = cocoimg__reader_fd(&raw, fd, true, err);
    if (r < 0)
        return r;
    return cocoimg__reader_verify(out, TAKE_PTR(raw), digest, size, err);
}

static int
read_manifest_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                   uint8_t **buf_out, size_t *len_out, cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, ds);
    if (size > (int64_t)COCOIMG_JSON_MAX_SIZE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "manifest '%s': %lld bytes exceeds the limit of %u", ds,
                                  (long long)size, COCOIMG_JSON_MAX_SIZE);
    _cleanup_reader_ cocoimg__reader *r = NULL;
    int rc = layout_get_blob(s, digest, size, &r, err);
    if (rc < 0)
        return rc;
    rc = cocoimg__reader_to_mem(r, COCOIMG_JSON_MAX_SIZE, buf_out, len_out, err);
    if (rc < 0)
        return cocoimg__error_wrap(err, rc, "manifest '%s'", ds);
    return 0;
}

static int
layout_get_manifest(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                    uint8_t **buf_out, size_t *len_out, char **media_type_out, cocoimg_error **err)
{
    struct layout_source *ls = (struct layout_source *)s;
    if (digest)
        return read_manifest_blob(s, digest, size, buf_out, len_out, err);

    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    int r = load_index(&ix, ls->dirfd, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "'%s'", ls->path);
    const cocoimg__descriptor *pick = NULL;
    if (ls->ref_name) {
        for (size_t i = 0; i < ix->n_manifests; i++) {
            const char *n = entry_ref_name(&ix->manifests[i]);
            if (!n || strcmp(n, ls->ref_name) != 0)
                continue;
            if (pick)
                return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                          "'%s': several images with ref '%s'", ls->path,
                                          ls->ref_name);
            pick = &ix->manifests[i];
        }
        if (!pick)
            return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "'%s': no image with ref '%s'",
                                      ls->path, ls->ref_name);
    } else {
        if (ix->n_manifests == 0)
            return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "'%s': the layout has no image",
                                      ls->path);
        if (ix->n_manifests > 1)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "'%s' holds %zu images: choose one with oci:DIR:REF",
                                      ls->path, ix->n_manifests);
        pick = &ix->manifests[0];
    }
    r = read_manifest_blob(s, &pick->digest, pick->size, buf_out, len_out, err);
    if (r < 0)
        return r;
    if (pick->media_type && !(*media_type_out = strdup(pick->media_type))) {
        free(TAKE_PTR(*buf_out));
        return cocoimg__error_oom(err);
    }
    return 0;
}

static void
layout_source_free(cocoimg__source *s)
{
    struct layout_source *ls = (struct layout_source *)s;
    if (ls->dirfd >= 0)
        close(ls->dirfd);
    free(ls->path);
    free(ls->ref_name);
    free(ls);
}

static const struct cocoimg__source_ops layout_source_ops = {
    .name = "oci",
    .parallel = 3,
    .get_manifest = layout_get_manifest,
    .get_blob = layout_get_blob,
    .free = layout_source_free,
};

int
cocoimg__layout_source_open(cocoimg__source **out, const cocoimg_context *ctx, const char *path,
                            const char *ref_name, cocoimg_error **err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0, "'%s' does not exist", path);
        if (errno == ENOTDIR)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "'%s' is not an OCI image layout (not a directory)", path);
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", path);
    }
    int r = check_layout_file(fd, path, err);
    if (r < 0)
        return r;
    struct layout_source *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return cocoimg__error_oom(err);
    ls->base.ops = &layout_source_ops;
    ls->base.ctx = ctx;
    ls->dirfd = -1;
    ls->path = strdup(path);
    ls->ref_name = ref_name ? strdup(ref_name) : NULL;
    if (!ls->path || (ref_name && !ls->ref_name)) {
        layout_source_free(&ls->base);
        return cocoimg__error_oom(err);
    }
    ls->dirfd = TAKE_FD(fd);
    *out = &ls->base;
    return 0;
}

/* --- destination ------------------------------------------------------- */

typedef enum {
    ORIGIN_EXISTING = 0, /* a layout that was there before */
    ORIGIN_CREATED,      /* we created the directory */
    ORIGIN_FILLED,       /* the directory existed empty; we made it a layout */
} layout_origin;

struct layout_dest {
    cocoimg__dest base;
    int dirfd;
    char *path;
    char *ref_name;
    layout_origin origin;
    /* blobs published by this destination that did not exist before: "ALG/HEX" */
    char **added;
    size_t n_added;
    pthread_mutex_t lock; /* added/n_added: put_blob runs on several threads */
};

static int
layout_has_blob(cocoimg__dest *d, const cocoimg__digest *digest, int64_t size, bool *out,
                cocoimg_error **err)
{
    struct layout_dest *ld = (struct layout_dest *)d;
    char hex[129];
    cocoimg__digest_hex(digest, hex);
    *out = false;
    _cleanup_close_ int afd = -1;
    _cleanup_error_ cocoimg_error *e = NULL;
    if (open_alg_dir(&afd, ld->dirfd, digest->alg, false, &e) < 0)
        return 0; /* no such directory: no such blob; other problems show when writing */
    struct stat st;
    *out = fstatat(afd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
           (size < 0 || st.st_size == size);
    return 0;
}

static int
remember_added(struct layout_dest *ld, cocoimg__digest_alg alg, const char *hex,
               cocoimg_error **err)
{
    char *name = NULL;
    if (asprintf(&name, "%s/%s", cocoimg__digest_alg_name(alg), hex) < 0)
        return cocoimg__error_oom(err);
    pthread_mutex_lock(&ld->lock);
    char **n = realloc(ld->added, (ld->n_added + 1) * sizeof(*n));
    if (n) {
        ld->added = n;
        n[ld->n_added++] = name;
    }
    pthread_mutex_unlock(&ld->lock);
    if (!n) {
        free(name);
        return cocoimg__error_oom(err);
    }
    return 0;
}

static void
tmpfile_cleanup(cocoimg__tmpfile *t)
{
    cocoimg__tmpfile_abort(t);
}

static int
layout_put_blob(cocoimg__dest *d, cocoimg__reader *in, const cocoimg__digest *expected,
                int64_t expected_size, cocoimg__digest *digest_out, int64_t *size_out,
                cocoimg_error **err)
{
    struct layout_dest *ld = (struct layout_dest *)d;
    _cleanup_reader_ cocoimg__reader *r = in;
    cocoimg__digest_alg alg = expected ? expected->alg : COCOIMG_DIGEST_SHA256;
    _cleanup_close_ int afd = -1;
    int rc = open_alg_dir(&afd, ld->dirfd, alg, true, err);
    if (rc < 0)
        return rc;
    _cleanup_(tmpfile_cleanup) cocoimg__tmpfile t = {.dirfd = -1, .fd = -1, .name = NULL};
    rc = cocoimg__tmpfile_open(&t, afd, ".blob", err);
    if (rc < 0)
        return rc;
    cocoimg__digest got = {0};
    uint64_t n = 0;
    if (expected && cocoimg__reader_checks(r, expected, expected_size)) {
        /*
         * The stream ends with the verdict of a verify stage for the same
         * digest and size (a source blob copied unchanged): it reads 0
         * only if the bytes match, so hashing them again proves nothing.
         */
        rc = cocoimg__reader_to_blob_fd(r, t.fd, &n, err);
        if (rc < 0)
            return rc;
        got = *expected;
    } else {
        _cleanup_reader_ cocoimg__reader *h = NULL;
        rc = cocoimg__reader_hash(&h, TAKE_PTR(r), alg, &got, &n, err);
        if (rc < 0)
            return rc;
        rc = cocoimg__reader_to_blob_fd(h, t.fd, NULL, err);
        if (rc < 0)
            return rc;
    }
    char gs[COCOIMG_DIGEST_STRMAX], hex[129];
    cocoimg__digest_format(&got, gs);
    if (expected) {
        char es[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(expected, es);
        if (!cocoimg__digest_equal(expected, &got))
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "blob written does not match '%s' (got '%s')", es, gs);
        if (expected_size >= 0 && (uint64_t)expected_size != n)
            return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                      "blob '%s' has %llu bytes, expected %lld", es,
                                      (unsigned long long)n, (long long)expected_size);
    }
    cocoimg__digest_hex(&got, hex);
    struct stat st;
    bool existed = fstatat(afd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0;
    rc = cocoimg__tmpfile_commit(&t, hex, err);
    if (rc < 0)
        return rc;
    if (!existed && ld->origin == ORIGIN_EXISTING) {
        rc = remember_added(ld, alg, hex, err);
        if (rc < 0)
            return rc;
    }
    if (digest_out)
        *digest_out = got;
    if (size_out)
        *size_out = (int64_t)n;
    return 0;
}

static int
layout_put_manifest(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                    cocoimg__digest *digest_out, cocoimg_error **err)
{
    cocoimg__digest dg;
    int r = cocoimg__digest_buffer(&dg, COCOIMG_DIGEST_SHA256, buf, len, err);
    if (r < 0)
        return r;
    cocoimg__reader *in = NULL;
    r = cocoimg__reader_mem(&in, buf, len, err);
    if (r < 0)
        return r;
    r = layout_put_blob(d, in, &dg, (int64_t)len, digest_out, NULL, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "manifest");
    return 0;
}

static int
new_index(json_t **out, cocoimg_error **err)
{
    json_t *j = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", COCOIMG_MT_OCI_INDEX,
                          "manifests");
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

static int
layout_commit(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
              cocoimg_error **err)
{
    struct layout_dest *ld = (struct layout_dest *)d;
    cocoimg__digest dg;
    int r = cocoimg__digest_buffer(&dg, COCOIMG_DIGEST_SHA256, buf, len, err);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *desc = NULL;
    r = cocoimg__descriptor_new(&desc, media_type, &dg, (int64_t)len, err);
    if (r < 0)
        return r;
    if (ld->ref_name) {
        json_t *ann = json_pack("{s:s}", COCOIMG_ANNOTATION_REF_NAME, ld->ref_name);
        if (!ann || json_object_set_new(desc, "annotations", ann) < 0)
            return cocoimg__error_oom(err);
    }

    _cleanup_json_ json_t *root = NULL;
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    if (ld->origin == ORIGIN_EXISTING) {
        r = load_index(&ix, ld->dirfd, err);
        if (r == COCOIMG_ENOTFOUND) {
            cocoimg_error_free(err ? TAKE_PTR(*err) : NULL);
        } else if (r < 0) {
            return cocoimg__error_wrap(err, r, "'%s'", ld->path);
        } else {
            root = json_incref(ix->root);
        }
    }
    if (!root && (r = new_index(&root, err)) < 0)
        return r;

    /* keep every entry except the one(s) this ref replaces */
    json_t *old = json_object_get(root, "manifests");
    _cleanup_json_ json_t *keep = json_array();
    if (!keep)
        return cocoimg__error_oom(err);
    size_t i;
    json_t *e;
    json_array_foreach(old, i, e)
    {
        const char *n =
            cocoimg__json_str(json_object_get(e, "annotations"), COCOIMG_ANNOTATION_REF_NAME);
        bool replaced = ld->ref_name ? (n && strcmp(n, ld->ref_name) == 0) : n == NULL;
        if (!replaced && json_array_append(keep, e) < 0)
            return cocoimg__error_oom(err);
    }
    if (json_array_append(keep, desc) < 0 || json_object_set(root, "manifests", keep) < 0)
        return cocoimg__error_oom(err);

    _cleanup_free_ char *out = NULL;
    size_t out_len = 0;
    r = cocoimg__json_dump(&out, &out_len, root, err);
    if (r < 0)
        return r;
    r = cocoimg__write_file_atomic(ld->dirfd, INDEX_FILE, out, out_len, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "'%s'", ld->path);
    return 0;
}

static void
layout_abort(cocoimg__dest *d)
{
    struct layout_dest *ld = (struct layout_dest *)d;
    _cleanup_error_ cocoimg_error *e = NULL;
    switch (ld->origin) {
    case ORIGIN_CREATED:
        if (ld->path)
            (void)cocoimg__rm_rf(AT_FDCWD, ld->path, &e);
        break;
    case ORIGIN_FILLED:
        (void)cocoimg__rm_rf(ld->dirfd, "blobs", &e);
        (void)unlinkat(ld->dirfd, INDEX_FILE, 0);
        (void)unlinkat(ld->dirfd, LAYOUT_FILE, 0);
        break;
    case ORIGIN_EXISTING: {
        _cleanup_close_ int bfd = openat(ld->dirfd, "blobs", OPEN_DIR_FLAGS);
        for (size_t i = 0; bfd >= 0 && i < ld->n_added; i++)
            (void)unlinkat(bfd, ld->added[i], 0);
        break;
    }
    }
}

static void
layout_dest_free(cocoimg__dest *d)
{
    struct layout_dest *ld = (struct layout_dest *)d;
    if (ld->dirfd >= 0)
        close(ld->dirfd);
    for (size_t i = 0; i < ld->n_added; i++)
        free(ld->added[i]);
    free(ld->added);
    pthread_mutex_destroy(&ld->lock);
    free(ld->path);
    free(ld->ref_name);
    free(ld);
}

static const struct cocoimg__dest_ops layout_dest_ops = {
    .name = "oci",
    .parallel = 3,
    .has_blob = layout_has_blob,
    .put_blob = layout_put_blob,
    .put_manifest = layout_put_manifest,
    .commit = layout_commit,
    .abort = layout_abort,
    .free = layout_dest_free,
};

static int
dir_is_empty(int dirfd, bool *out, cocoimg_error **err)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "opendir");
    }
    *out = true;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            *out = false;
            break;
        }
    }
    closedir(dir);
    return 0;
}

int
cocoimg__layout_dest_open(cocoimg__dest **out, const cocoimg_context *ctx, const char *path,
                          const char *ref_name, cocoimg_error **err)
{
    layout_origin origin = ORIGIN_EXISTING;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (mkdir(path, 0755) < 0) {
            if (errno == ENOENT)
                return cocoimg__error_set(err, COCOIMG_ENOTFOUND, 0,
                                          "'%s': parent directory does not exist", path);
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir '%s'", path);
        }
        origin = ORIGIN_CREATED;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        if (errno == ENOTDIR)
            return cocoimg__error_set(err, COCOIMG_EEXISTS, 0, "'%s' exists and is not a directory",
                                      path);
        return cocoimg__error_set(err, COCOIMG_EIO, errno, "open '%s'", path);
    }
    struct stat st;
    int r;
    if (origin == ORIGIN_EXISTING) {
        if (fstatat(fd, LAYOUT_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            r = check_layout_file(fd, path, err);
            if (r < 0)
                return r;
        } else {
            bool empty = false;
            r = dir_is_empty(fd, &empty, err);
            if (r < 0)
                return cocoimg__error_wrap(err, r, "'%s'", path);
            if (!empty)
                return cocoimg__error_set(err, COCOIMG_EEXISTS, 0,
                                          "'%s' is not an OCI image layout and not empty", path);
            origin = ORIGIN_FILLED;
        }
    }
    struct layout_dest *ld = calloc(1, sizeof(*ld));
    if (!ld)
        return cocoimg__error_oom(err);
    ld->base.ops = &layout_dest_ops;
    ld->base.ctx = ctx;
    pthread_mutex_init(&ld->lock, NULL);
    ld->origin = origin;
    ld->dirfd = TAKE_FD(fd);
    _cleanup_(cocoimg__dest_freep) cocoimg__dest *d = &ld->base;
    ld->path = strdup(path);
    ld->ref_name = ref_name ? strdup(ref_name) : NULL;
    if (!ld->path || (ref_name && !ld->ref_name))
        return cocoimg__error_oom(err);
    if (origin != ORIGIN_EXISTING) {
        static const char layout[] = "{\"imageLayoutVersion\":\"" LAYOUT_VERSION "\"}";
        r = cocoimg__write_file_atomic(ld->dirfd, LAYOUT_FILE, layout, sizeof(layout) - 1, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "'%s'", path);
        if (mkdirat(ld->dirfd, "blobs", 0755) < 0 && errno != EEXIST)
            return cocoimg__error_set(err, COCOIMG_EIO, errno, "mkdir '%s/blobs'", path);
    }
    cocoimg__log(ctx, COCOIMG_LOG_DEBUG, "oci: writing to %s layout '%s'",
                 origin == ORIGIN_EXISTING ? "existing" : "new", path);
    *out = TAKE_PTR(d);
    return 0;
}
