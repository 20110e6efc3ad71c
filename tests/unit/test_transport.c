/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"
#include "oci/model.h"
#include "tap.h"
#include "transport/transport.h"
#include "util/context.h"
#include "util/fs.h"
#include "util/json.h"

static char tmp[256];
static cocoimg_context *ctx;

static const char *
path_in(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", tmp, name);
    return buf;
}

/* Number of entries in DIR/blobs/sha256, -1 if missing; *tmps gets dot files. */
static int
count_blobs(const char *layout, int *tmps)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/blobs/sha256", layout);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    *tmps = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                (*tmps)++;
            continue;
        }
        n++;
    }
    closedir(d);
    return n;
}

static char *
slurp(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    if (cocoimg__read_file(&buf, len, AT_FDCWD, path, 1 << 24, NULL) < 0)
        return NULL;
    return (char *)buf;
}

static int
put_mem(cocoimg__dest *d, const void *buf, size_t len, cocoimg__digest *dg)
{
    cocoimg__reader *r = NULL;
    if (cocoimg__reader_mem(&r, buf, len, NULL) < 0)
        return -1;
    return cocoimg__dest_put_blob(d, r, NULL, -1, dg, NULL, NULL);
}

/* Store a one-layer image in @p d; *mf / *mf_len get the manifest bytes. */
static int
store_image(cocoimg__dest *d, const char *layer, const char *arch, char **mf, size_t *mf_len)
{
    cocoimg__digest ld, cd, diff;
    char lds[COCOIMG_DIGEST_STRMAX], cds[COCOIMG_DIGEST_STRMAX];
    if (put_mem(d, layer, strlen(layer), &ld) < 0 ||
        cocoimg__digest_buffer(&diff, COCOIMG_DIGEST_SHA256, layer, strlen(layer), NULL) < 0)
        return -1;
    cocoimg__digest_format(&diff, cds);
    json_t *cfg =
        json_pack("{s:s, s:s, s:{s:[s]}, s:{s:s, s:[s]}}", "architecture", arch, "os", "linux",
                  "config", "Env", "A=1", "rootfs", "type", "layers", "diff_ids", cds);
    char *cs = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(cfg);
    size_t cl = strlen(cs);
    int r = put_mem(d, cs, cl, &cd);
    free(cs);
    if (r < 0)
        return -1;
    cocoimg__digest_format(&ld, lds);
    cocoimg__digest_format(&cd, cds);
    json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
                          "mediaType", COCOIMG_MT_OCI_MANIFEST, "config", "mediaType",
                          COCOIMG_MT_OCI_CONFIG, "digest", cds, "size", (json_int_t)cl, "layers",
                          "mediaType", COCOIMG_MT_OCI_LAYER, "digest", lds, "size",
                          (json_int_t)strlen(layer));
    *mf = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    *mf_len = strlen(*mf);
    cocoimg__digest md;
    return cocoimg__dest_put_manifest(d, (uint8_t *)*mf, *mf_len, COCOIMG_MT_OCI_MANIFEST, &md,
                                      NULL);
}

static int
make_layout(const char *path, const char *ref, const char *layer)
{
    cocoimg__dest *d = NULL;
    if (cocoimg__layout_dest_open(&d, ctx, path, ref, NULL) < 0)
        return -1;
    char *mf = NULL;
    size_t len = 0;
    int r = store_image(d, layer, "amd64", &mf, &len);
    if (r == 0)
        r = cocoimg__dest_commit(d, (uint8_t *)mf, len, COCOIMG_MT_OCI_MANIFEST, NULL);
    free(mf);
    cocoimg__dest_free(d);
    return r;
}

static int
top_manifest(const char *path, const char *ref, char **buf, size_t *len)
{
    cocoimg__source *s = NULL;
    if (cocoimg__layout_source_open(&s, ctx, path, ref, NULL) < 0)
        return -1;
    char *mt = NULL;
    int r = cocoimg__source_get_manifest(s, NULL, -1, (uint8_t **)buf, len, &mt, NULL);
    free(mt);
    cocoimg__source_free(s);
    return r;
}

static int
test_layout_refs(void)
{
    char p[512];
    path_in(p, "refs");
    CHECK_OK(make_layout(p, "v1", "layer one"));
    CHECK_OK(make_layout(p, "v2", "layer two"));
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    CHECK_OK(top_manifest(p, "v1", &a, &al));
    CHECK_OK(make_layout(p, "v1", "layer three")); /* replaces v1 */
    CHECK_OK(top_manifest(p, "v1", &b, &bl));
    int differ = al != bl || memcmp(a, b, al) != 0;
    free(a);
    free(b);
    CHECK(differ);
    char ip[600];
    snprintf(ip, sizeof(ip), "%s/index.json", p);
    size_t il = 0;
    char *ix = slurp(ip, &il);
    CHECK(ix);
    json_t *j = json_loadb(ix, il, 0, NULL);
    free(ix);
    CHECK(j && json_array_size(json_object_get(j, "manifests")) == 2);
    json_decref(j);

    /* no ref: a layout with two images needs one */
    cocoimg__source *s = NULL;
    cocoimg_error *err = NULL;
    CHECK(cocoimg__layout_source_open(&s, ctx, p, NULL, NULL) == 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    char *mt = NULL;
    CHECK(cocoimg__source_get_manifest(s, NULL, -1, &buf, &len, &mt, &err) == COCOIMG_EINVAL);
    cocoimg_error_free(err);
    err = NULL;
    cocoimg__source_free(s);
    CHECK(top_manifest(p, "nope", &a, &al) == COCOIMG_ENOTFOUND);

    /* unnamed entries replace each other */
    path_in(p, "unnamed");
    CHECK_OK(make_layout(p, NULL, "x"));
    CHECK_OK(make_layout(p, NULL, "y"));
    CHECK_OK(top_manifest(p, NULL, &a, &al));
    free(a);
    return 0;
}

static int
test_abort(void)
{
    char p[512];
    cocoimg__dest *d = NULL;
    /* a new layout disappears */
    path_in(p, "aborted-new");
    CHECK_OK(cocoimg__layout_dest_open(&d, ctx, p, "x", NULL));
    cocoimg__digest dg;
    CHECK_OK(put_mem(d, "data", 4, &dg));
    cocoimg__dest_free(d);
    CHECK(access(p, F_OK) < 0 && errno == ENOENT);

    /* an existing layout keeps index.json and loses only the new blobs */
    path_in(p, "aborted-old");
    CHECK_OK(make_layout(p, "v1", "kept layer"));
    int tmps = 0, n0 = count_blobs(p, &tmps);
    char ip[600];
    snprintf(ip, sizeof(ip), "%s/index.json", p);
    size_t l0 = 0, l1 = 0;
    char *i0 = slurp(ip, &l0);
    CHECK_OK(cocoimg__layout_dest_open(&d, ctx, p, "v1", NULL));
    CHECK_OK(put_mem(d, "kept layer", 10, &dg)); /* already there: must survive */
    CHECK_OK(put_mem(d, "new data", 8, &dg));
    CHECK(count_blobs(p, &tmps) == n0 + 1);
    cocoimg__dest_free(d);
    char *i1 = slurp(ip, &l1);
    CHECK(count_blobs(p, &tmps) == n0 && tmps == 0);
    int same = i0 && i1 && l0 == l1 && memcmp(i0, i1, l0) == 0;
    free(i0);
    free(i1);
    CHECK(same);
    return 0;
}

static int
test_put_blob_mismatch(void)
{
    char p[512];
    path_in(p, "mismatch");
    CHECK_OK(make_layout(p, "v1", "base"));
    int tmps = 0, n0 = count_blobs(p, &tmps);
    cocoimg__dest *d = NULL;
    CHECK_OK(cocoimg__layout_dest_open(&d, ctx, p, "v1", NULL));
    cocoimg__digest want;
    CHECK_OK(cocoimg__digest_buffer(&want, COCOIMG_DIGEST_SHA256, "abc", 3, NULL));
    cocoimg__reader *r = NULL;
    CHECK_OK(cocoimg__reader_mem(&r, "abd", 3, NULL));
    cocoimg_error *err = NULL;
    int rc = cocoimg__dest_put_blob(d, r, &want, 3, NULL, NULL, &err);
    cocoimg_error_free(err);
    cocoimg__dest_free(d);
    CHECK(rc == COCOIMG_EDIGEST);
    CHECK(count_blobs(p, &tmps) == n0 && tmps == 0);
    return 0;
}

static int
test_blob_verified_and_no_symlinks(void)
{
    char p[512];
    path_in(p, "verify");
    CHECK_OK(make_layout(p, "v1", "original"));
    cocoimg__digest dg;
    CHECK_OK(cocoimg__digest_buffer(&dg, COCOIMG_DIGEST_SHA256, "original", 8, NULL));
    char hex[129], bp[800];
    cocoimg__digest_hex(&dg, hex);
    snprintf(bp, sizeof(bp), "%s/blobs/sha256/%s", p, hex);
    FILE *f = fopen(bp, "w");
    CHECK(f);
    fputs("0riginal", f);
    fclose(f);

    cocoimg__source *s = NULL;
    CHECK_OK(cocoimg__layout_source_open(&s, ctx, p, "v1", NULL));
    cocoimg__reader *r = NULL;
    CHECK_OK(cocoimg__source_get_blob(s, &dg, 8, &r, NULL));
    uint8_t *buf = NULL;
    size_t len = 0;
    cocoimg_error *err = NULL;
    int rc = cocoimg__reader_to_mem(r, 100, &buf, &len, &err);
    cocoimg__reader_free(r);
    cocoimg_error_free(err);
    err = NULL;
    free(buf);
    CHECK(rc == COCOIMG_EDIGEST);

    char target[600];
    path_in(target, "outside");
    f = fopen(target, "w");
    CHECK(f);
    fputs("original", f);
    fclose(f);
    unlink(bp);
    CHECK(symlink(target, bp) == 0);
    rc = cocoimg__source_get_blob(s, &dg, 8, &r, &err);
    cocoimg_error_free(err);
    cocoimg__source_free(s);
    CHECK(rc == COCOIMG_EFORMAT);
    return 0;
}

/* hooks: prefix every layer with "enc:" and annotate */
static int
hook_layer(void *payload, const cocoimg__manifest *m, size_t idx, json_t *desc,
           cocoimg__reader **in, cocoimg__reader **out, void **layer_state, cocoimg_error **err)
{
    (void)layer_state;
    static char buf[4][64];
    int *calls = payload;
    uint8_t *data = NULL;
    size_t len = 0;
    int r = cocoimg__reader_to_mem(*in, 32, &data, &len, err);
    if (r < 0)
        return r;
    char *b = buf[(*calls)++ % 4];
    snprintf(b, 64, "enc:%.*s", (int)len, (char *)data);
    free(data);
    json_object_set_new(desc, "mediaType", json_string(COCOIMG_MT_OCI_LAYER "+encrypted"));
    return cocoimg__reader_mem(out, b, strlen(b), err);
}

static int
hook_layer_done(void *payload, void *layer_state, json_t *desc, cocoimg_error **err)
{
    (void)layer_state;
    json_object_set_new(desc, "annotations", json_pack("{s:s}", "test.done", "yes"));
    return 0;
}

static int
hook_manifest(void *payload, json_t *root, cocoimg_error **err)
{
    json_object_set_new(root, "annotations", json_pack("{s:s}", "test.manifest", "yes"));
    return 0;
}

static int
test_copy_hooks(void)
{
    char p[512], q[512], src[600], dst[600];
    path_in(p, "hook-src");
    path_in(q, "hook-dst");
    CHECK_OK(make_layout(p, "v1", "plain"));
    snprintf(src, sizeof(src), "oci:%s:v1", p);
    snprintf(dst, sizeof(dst), "oci:%s:v1", q);
    int calls = 0;
    struct cocoimg__copy_hooks h = {.payload = &calls,
                                    .layer = hook_layer,
                                    .layer_done = hook_layer_done,
                                    .manifest = hook_manifest};
    CHECK_OK(cocoimg__copy_internal(ctx, src, dst, NULL, &h, NULL));
    CHECK(calls == 1);
    char *mf = NULL;
    size_t len = 0;
    CHECK_OK(top_manifest(q, "v1", &mf, &len));
    cocoimg__manifest *m = NULL;
    int rc = cocoimg__manifest_parse(&m, mf, len, NULL, NULL);
    free(mf);
    CHECK(rc == 0);
    cocoimg__digest want;
    CHECK_OK(cocoimg__digest_buffer(&want, COCOIMG_DIGEST_SHA256, "enc:plain", 9, NULL));
    int ok = m->n_layers == 1 && cocoimg__digest_equal(&m->layers[0].digest, &want) &&
             m->layers[0].size == 9 &&
             strcmp(m->layers[0].media_type, COCOIMG_MT_OCI_LAYER "+encrypted") == 0 &&
             json_object_get(json_object_get(m->layers[0].json, "annotations"), "test.done") &&
             json_object_get(json_object_get(m->root, "annotations"), "test.manifest");
    cocoimg__manifest_free(m);
    CHECK(ok);

    /* without hooks the copy is byte for byte */
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    snprintf(dst, sizeof(dst), "oci:%s:plain", q);
    CHECK_OK(cocoimg_copy(ctx, src, dst, NULL, NULL));
    CHECK_OK(top_manifest(p, "v1", &a, &al));
    CHECK_OK(top_manifest(q, "plain", &b, &bl));
    ok = al == bl && memcmp(a, b, al) == 0;
    free(a);
    free(b);
    CHECK(ok);
    return 0;
}

static int
test_copy_all_hooks_updates_index(void)
{
    char p[512], q[512], src[600], dst[600];
    path_in(p, "all-src");
    path_in(q, "all-dst");
    cocoimg__dest *d = NULL;
    CHECK_OK(cocoimg__layout_dest_open(&d, ctx, p, "multi", NULL));
    char *m1 = NULL, *m2 = NULL;
    size_t l1 = 0, l2 = 0;
    CHECK_OK(store_image(d, "amd layer", "amd64", &m1, &l1));
    CHECK_OK(store_image(d, "arm layer", "arm64", &m2, &l2));
    cocoimg__digest d1, d2;
    char s1[COCOIMG_DIGEST_STRMAX], s2[COCOIMG_DIGEST_STRMAX];
    CHECK_OK(cocoimg__digest_buffer(&d1, COCOIMG_DIGEST_SHA256, m1, l1, NULL));
    CHECK_OK(cocoimg__digest_buffer(&d2, COCOIMG_DIGEST_SHA256, m2, l2, NULL));
    free(m1);
    free(m2);
    cocoimg__digest_format(&d1, s1);
    cocoimg__digest_format(&d2, s2);
    json_t *ix =
        json_pack("{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s, s:s}}, {s:s, s:s, s:I, "
                  "s:{s:s, s:s}}]}",
                  "schemaVersion", 2, "mediaType", COCOIMG_MT_OCI_INDEX, "manifests", "mediaType",
                  COCOIMG_MT_OCI_MANIFEST, "digest", s1, "size", (json_int_t)l1, "platform", "os",
                  "linux", "architecture", "amd64", "mediaType", COCOIMG_MT_OCI_MANIFEST, "digest",
                  s2, "size", (json_int_t)l2, "platform", "os", "linux", "architecture", "arm64");
    char *is = json_dumps(ix, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ix);
    cocoimg__digest idg;
    int rc =
        cocoimg__dest_put_manifest(d, (uint8_t *)is, strlen(is), COCOIMG_MT_OCI_INDEX, &idg, NULL);
    if (rc == 0)
        rc = cocoimg__dest_commit(d, (uint8_t *)is, strlen(is), COCOIMG_MT_OCI_INDEX, NULL);
    free(is);
    cocoimg__dest_free(d);
    CHECK(rc == 0);

    snprintf(src, sizeof(src), "oci:%s:multi", p);
    snprintf(dst, sizeof(dst), "oci:%s:multi", q);
    int calls = 0;
    struct cocoimg__copy_hooks h = {.payload = &calls, .layer = hook_layer};
    cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
    o.all = 1;
    CHECK_OK(cocoimg__copy_internal(ctx, src, dst, &o, &h, NULL));
    CHECK(calls == 2);
    /* the index now names the rewritten manifests, and each reads back verified */
    char *top = NULL;
    size_t tl = 0;
    CHECK_OK(top_manifest(q, "multi", &top, &tl));
    cocoimg__index *x = NULL;
    rc = cocoimg__index_parse(&x, top, tl, NULL, NULL);
    free(top);
    CHECK(rc == 0);
    int ok = x->n_manifests == 2 && !cocoimg__digest_equal(&x->manifests[0].digest, &d1) &&
             !cocoimg__digest_equal(&x->manifests[1].digest, &d2) &&
             strcmp(x->manifests[1].architecture, "arm64") == 0;
    cocoimg__source *s = NULL;
    if (ok && cocoimg__layout_source_open(&s, ctx, q, "multi", NULL) == 0) {
        for (size_t i = 0; i < 2; i++) {
            uint8_t *b = NULL;
            size_t bl = 0;
            char *mt = NULL;
            if (cocoimg__source_get_manifest(s, &x->manifests[i].digest, x->manifests[i].size, &b,
                                             &bl, &mt, NULL) < 0)
                ok = 0;
            free(b);
            free(mt);
        }
        cocoimg__source_free(s);
    } else {
        ok = 0;
    }
    cocoimg__index_free(x);
    CHECK(ok);

    /* a platform instead: only that manifest, which becomes the image */
    snprintf(dst, sizeof(dst), "oci:%s:arm", q);
    o.all = 0;
    o.platform = "linux/arm64";
    CHECK_OK(cocoimg_copy(ctx, src, dst, &o, NULL));
    char *a = NULL;
    size_t al = 0;
    CHECK_OK(top_manifest(q, "arm", &a, &al));
    cocoimg__digest got;
    CHECK_OK(cocoimg__digest_buffer(&got, COCOIMG_DIGEST_SHA256, a, al, NULL));
    free(a);
    CHECK(cocoimg__digest_equal(&got, &d2));
    return 0;
}

static int
test_archive_roundtrip(void)
{
    char p[512], src[600], dst[600], back[600];
    path_in(p, "arch-src");
    CHECK_OK(make_layout(p, "v1", "archived layer"));
    snprintf(src, sizeof(src), "oci:%s:v1", p);
    snprintf(dst, sizeof(dst), "oci-archive:%s/image.tar:t", tmp);
    CHECK_OK(cocoimg_copy(ctx, src, dst, NULL, NULL));
    snprintf(back, sizeof(back), "oci:%s/arch-back:r", tmp);
    CHECK_OK(cocoimg_copy(ctx, dst, back, NULL, NULL));
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    char q[512];
    CHECK_OK(top_manifest(p, "v1", &a, &al));
    CHECK_OK(top_manifest(path_in(q, "arch-back"), "r", &b, &bl));
    int ok = al == bl && memcmp(a, b, al) == 0;
    free(a);
    free(b);
    CHECK(ok);
    /* no extraction directories left in the context tmpdir */
    DIR *dir = opendir(tmp);
    CHECK(dir);
    struct dirent *de;
    int left = 0;
    while ((de = readdir(dir)))
        left += strncmp(de->d_name, "cocoimg-archive-", 16) == 0;
    closedir(dir);
    CHECK(left == 0);
    /* a missing archive is "not found" */
    cocoimg_error *err = NULL;
    snprintf(dst, sizeof(dst), "oci-archive:%s/missing.tar", tmp);
    char *out = NULL;
    CHECK(cocoimg_inspect(&out, NULL, ctx, dst, NULL, &err) == COCOIMG_ENOTFOUND);
    cocoimg_error_free(err);
    return 0;
}

static int
test_options_init(void)
{
    cocoimg_copy_options o;
    CHECK(cocoimg_copy_options_init(&o, COCOIMG_COPY_OPTIONS_VERSION) == 0);
    CHECK(o.version == COCOIMG_COPY_OPTIONS_VERSION && o.all == 0 && o.platform == NULL);
    CHECK(cocoimg_copy_options_init(&o, 99) == COCOIMG_EINVAL);
    cocoimg_inspect_options io;
    CHECK(cocoimg_inspect_options_init(&io, COCOIMG_INSPECT_OPTIONS_VERSION) == 0);
    CHECK(io.flags == 0 && io.platform == NULL);
    o.version = 99;
    cocoimg_error *err = NULL;
    CHECK(cocoimg_copy(ctx, "oci:a", "oci:b", &o, &err) == COCOIMG_EINVAL);
    cocoimg_error_free(err);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_layout_refs),
    TAP_TEST(test_abort),
    TAP_TEST(test_put_blob_mismatch),
    TAP_TEST(test_blob_verified_and_no_symlinks),
    TAP_TEST(test_copy_hooks),
    TAP_TEST(test_copy_all_hooks_updates_index),
    TAP_TEST(test_archive_roundtrip),
    TAP_TEST(test_options_init),
    {0},
};

int
main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/test_transport.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp))
        return 1;
    if (cocoimg_context_new(&ctx, NULL) < 0 || cocoimg_context_set_tmpdir(ctx, tmp, NULL) < 0)
        return 1;
    int r = tap_run(tests);
    cocoimg__rm_rf(AT_FDCWD, tmp, NULL);
    cocoimg_context_free(ctx);
    return r;
}
