/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resolve path (resolve.h) over OCI layouts built in a temp dir: the
 * check hook runs before any blob is fetched and its error aborts; platform
 * selection; nested indexes refused the same way in SELECT and ALL mode;
 * iteration over every instance.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "oci/model.h"
#include "resolve.h"
#include "tap.h"
#include "transport/transport.h"
#include "util/fs.h"
#include "util/json.h"

static char tmp[256];
static cocoimg_context *ctx;

/* --- a source that counts what is fetched through it -------------------- */

struct counting {
    cocoimg__source base;
    cocoimg__source *inner;
    int manifests; /* get_manifest calls */
    int blobs;     /* get_blob calls */
};

static int
counting_get_manifest(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                      uint8_t **buf_out, size_t *len_out, char **media_type_out,
                      cocoimg_error **err)
{
    struct counting *c = (struct counting *)s;
    c->manifests++;
    return cocoimg__source_get_manifest(c->inner, digest, size, buf_out, len_out, media_type_out,
                                        err);
}

static int
counting_get_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                  cocoimg__reader **out, cocoimg_error **err)
{
    struct counting *c = (struct counting *)s;
    c->blobs++;
    return cocoimg__source_get_blob(c->inner, digest, size, out, err);
}

static void
counting_free(cocoimg__source *s)
{
    struct counting *c = (struct counting *)s;
    cocoimg__source_free(c->inner);
    free(c);
}

static const struct cocoimg__source_ops counting_ops = {
    .name = "counting",
    .get_manifest = counting_get_manifest,
    .get_blob = counting_get_blob,
    .free = counting_free,
};

static struct counting *
counting_open(const char *layout, const char *ref)
{
    struct counting *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base.ops = &counting_ops;
    c->base.ctx = ctx;
    if (cocoimg__layout_source_open(&c->inner, ctx, layout, ref, NULL) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

/* --- fixtures -------------------------------------------------------- */

static int
put_mem(cocoimg__dest *d, const void *buf, size_t len, cocoimg__digest *dg)
{
    cocoimg__reader *r = NULL;
    if (cocoimg__reader_mem(&r, buf, len, NULL) < 0)
        return -1;
    return cocoimg__dest_put_blob(d, r, NULL, -1, dg, NULL, NULL);
}

/* Store a document; *dg / *len get its digest and size. */
static int
put_doc(cocoimg__dest *d, json_t *doc, const char *mt, cocoimg__digest *dg, size_t *len,
        char **bytes_out)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        return -1;
    *len = strlen(s);
    int r = cocoimg__dest_put_manifest(d, (uint8_t *)s, *len, mt, dg, NULL);
    if (bytes_out && r == 0)
        *bytes_out = s;
    else
        free(s);
    return r;
}

/* Store a one-layer image for @p arch; *dg / *len get its manifest digest and size. */
static int
store_image(cocoimg__dest *d, const char *arch, cocoimg__digest *dg, size_t *len, char **bytes)
{
    cocoimg__digest ld, cd, diff;
    char lds[COCOIMG_DIGEST_STRMAX], cds[COCOIMG_DIGEST_STRMAX];
    if (put_mem(d, arch, strlen(arch), &ld) < 0 ||
        cocoimg__digest_buffer(&diff, COCOIMG_DIGEST_SHA256, arch, strlen(arch), NULL) < 0)
        return -1;
    cocoimg__digest_format(&diff, cds);
    json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:[s]}}", "architecture", arch, "os", "linux",
                            "rootfs", "type", "layers", "diff_ids", cds);
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
                          (json_int_t)strlen(arch));
    return put_doc(d, m, COCOIMG_MT_OCI_MANIFEST, dg, len, bytes);
}

static json_t *
entry(const char *mt, const cocoimg__digest *dg, size_t len, const char *arch)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(dg, ds);
    return json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", mt, "digest", ds, "size",
                     (json_int_t)len, "platform", "os", "linux", "architecture", arch);
}

static json_t *
index_of(json_t *manifests)
{
    return json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", COCOIMG_MT_OCI_INDEX,
                     "manifests", manifests);
}

/*
 * LAYOUT:multi  an index [linux/amd64, linux/arm64]
 * LAYOUT:nested an index [linux/arm64, an index (as linux/amd64) holding the amd64 image]
 * LAYOUT:lone   the amd64 manifest itself
 */
enum fixture { MULTI, NESTED, LONE };
static char layout[512];
static cocoimg__digest amd_dg, arm_dg, inner_dg;
static cocoimg_reference *the_ref; /* handed to the hook unchanged */

static int
build_ref(const char *ref, enum fixture kind)
{
    cocoimg__dest *d = NULL;
    if (cocoimg__layout_dest_open(&d, ctx, layout, ref, NULL) < 0)
        return -1;
    size_t amd_len, arm_len, len = 0, inner_len;
    char *bytes = NULL, *amd = NULL;
    const char *mt = COCOIMG_MT_OCI_INDEX;
    cocoimg__digest dg;
    int r = store_image(d, "amd64", &amd_dg, &amd_len, &amd);
    if (r == 0)
        r = store_image(d, "arm64", &arm_dg, &arm_len, NULL);
    if (r == 0 && kind == LONE) {
        bytes = TAKE_PTR(amd);
        len = amd_len;
        mt = COCOIMG_MT_OCI_MANIFEST;
    } else if (r == 0 && kind == MULTI) {
        r = put_doc(
            d,
            index_of(json_pack("[o, o]", entry(COCOIMG_MT_OCI_MANIFEST, &amd_dg, amd_len, "amd64"),
                               entry(COCOIMG_MT_OCI_MANIFEST, &arm_dg, arm_len, "arm64"))),
            mt, &dg, &len, &bytes);
    } else if (r == 0) {
        r = put_doc(
            d,
            index_of(json_pack("[o]", entry(COCOIMG_MT_OCI_MANIFEST, &amd_dg, amd_len, "amd64"))),
            mt, &inner_dg, &inner_len, NULL);
        if (r == 0)
            r = put_doc(d,
                        index_of(json_pack(
                            "[o, o]", entry(COCOIMG_MT_OCI_MANIFEST, &arm_dg, arm_len, "arm64"),
                            entry(COCOIMG_MT_OCI_INDEX, &inner_dg, inner_len, "amd64"))),
                        mt, &dg, &len, &bytes);
    }
    if (r == 0)
        r = cocoimg__dest_commit(d, (uint8_t *)bytes, len, mt, NULL);
    free(bytes);
    free(amd);
    cocoimg__dest_free(d);
    return r;
}

/* --- the check hook: records what was fetched when it ran ---------------- */

struct check_log {
    struct counting *src;
    int calls;
    int blobs_seen;         /* blob fetches before any call (must stay 0) */
    cocoimg__digest top[4]; /* per call */
    cocoimg__digest image[4];
    const cocoimg_reference *ref;
    int fail_at; /* 1-based call that rejects; 0: never */
};

static int
check_hook(void *payload, const cocoimg_reference *user_ref, const cocoimg__resolve_doc *top,
           const cocoimg__resolve_doc *image, cocoimg_error **err)
{
    struct check_log *log = payload;
    log->blobs_seen += log->src->blobs;
    if (log->calls < 4) {
        log->top[log->calls] = top->digest;
        log->image[log->calls] = image->digest;
    }
    log->ref = user_ref;
    if (++log->calls == log->fail_at)
        return cocoimg__error_set(err, COCOIMG_EPOLICY, 0, "rejected by the test policy");
    return 0;
}

/* Resolve LAYOUT:@p ref with @p platform / @p all and the check hook. */
static int
resolve(cocoimg__resolve **out, struct counting **src, struct check_log *log, const char *ref,
        const char *platform, bool all, cocoimg_error **err)
{
    *src = counting_open(layout, ref);
    if (!*src)
        return -1;
    cocoimg__resolve_options ro;
    int r = cocoimg__resolve_options_init(&ro, platform, all, err);
    if (r < 0)
        return r;
    log->src = *src;
    ro.check = check_hook;
    ro.check_payload = log;
    return cocoimg__resolve_open(out, &(*src)->base, the_ref, &ro, err);
}

static void
release(cocoimg__resolve *res, struct counting *src, cocoimg_error *err)
{
    cocoimg__resolve_free(res);
    if (src)
        cocoimg__source_free(&src->base);
    cocoimg_error_free(err);
}

/* --- tests --------------------------------------------------------------- */

static int
test_check_runs_before_any_blob(void)
{
    cocoimg__resolve *res = NULL;
    struct counting *src = NULL;
    struct check_log log = {0};
    CHECK_OK(resolve(&res, &src, &log, "multi", "linux/arm64", false, NULL));
    CHECK(log.calls == 1);
    CHECK(log.blobs_seen == 0 && src->blobs == 0);
    CHECK(log.ref == the_ref); /* the caller's reference, handed on */
    /* the top-level index, then the selected manifest */
    CHECK(cocoimg__digest_equal(&log.top[0], &cocoimg__resolve_top(res)->digest));
    CHECK(cocoimg__digest_equal(&log.image[0], &arm_dg));
    CHECK(src->manifests == 2);
    /* the config comes only on demand, verified and parsed */
    cocoimg__resolve_image *img = cocoimg__resolve_next(res);
    CHECK(img && !cocoimg__resolve_next(res));
    cocoimg__config *c = NULL;
    CHECK_OK(cocoimg__resolve_config(&c, NULL, NULL, res, img, NULL));
    CHECK(src->blobs == 1);
    CHECK(strcmp(c->architecture, "arm64") == 0);
    cocoimg__config_free(c);
    release(res, src, NULL);
    return 0;
}

static int
test_check_error_aborts(void)
{
    cocoimg__resolve *res = NULL;
    struct counting *src = NULL;
    cocoimg_error *err = NULL;
    struct check_log log = {.fail_at = 1};
    int r = resolve(&res, &src, &log, "multi", "linux/amd64", false, &err);
    CHECK(r == COCOIMG_EPOLICY && !res);
    CHECK(strcmp(cocoimg_error_message(err), "rejected by the test policy") == 0);
    CHECK(log.calls == 1 && src->blobs == 0);
    release(res, src, err);

    /* ALL: the second image's rejection fails the open; still no blob fetched */
    err = NULL;
    struct check_log log2 = {.fail_at = 2};
    r = resolve(&res, &src, &log2, "multi", NULL, true, &err);
    CHECK(r == COCOIMG_EPOLICY && !res);
    CHECK(log2.calls == 2 && log2.blobs_seen == 0 && src->blobs == 0);
    release(res, src, err);
    return 0;
}

static int
test_platform_selection(void)
{
    static const struct {
        const char *platform;
        const cocoimg__digest *want;
    } cases[] = {
        {"linux/amd64", &amd_dg},
        {"linux/arm64", &arm_dg},
        {"linux/aarch64", &arm_dg}, /* normalised */
        {"linux/arm64/v8", &arm_dg},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cocoimg__resolve *res = NULL;
        struct counting *src = NULL;
        struct check_log log = {0};
        CHECK_OK(resolve(&res, &src, &log, "multi", cases[i].platform, false, NULL));
        CHECK(cocoimg__resolve_count(res) == 1);
        cocoimg__resolve_image *img = cocoimg__resolve_image_at(res, 0);
        CHECK(cocoimg__digest_equal(&img->doc.digest, cases[i].want));
        CHECK(img->entry && img->entry_index == (cases[i].want == &amd_dg ? 0u : 1u));
        CHECK(img->manifest && img->manifest->n_layers == 1);
        release(res, src, NULL);
    }

    /* not there: ENOTFOUND listing what is; the hook never ran */
    cocoimg__resolve *res = NULL;
    struct counting *src = NULL;
    cocoimg_error *err = NULL;
    struct check_log log = {0};
    CHECK(resolve(&res, &src, &log, "multi", "linux/s390x", false, &err) == COCOIMG_ENOTFOUND);
    CHECK(strstr(cocoimg_error_message(err), "linux/amd64, linux/arm64"));
    CHECK(log.calls == 0 && src->manifests == 1);
    release(res, src, err);

    /* option errors: the same message wherever the option comes from */
    cocoimg__resolve_options ro;
    err = NULL;
    CHECK(cocoimg__resolve_options_init(&ro, "linux", false, &err) == COCOIMG_EINVAL);
    CHECK(strncmp(cocoimg_error_message(err), "platform 'linux': ", 18) == 0);
    cocoimg_error_free(err);
    err = NULL;
    CHECK(cocoimg__resolve_options_init(&ro, "linux/amd64", true, &err) == COCOIMG_EINVAL);
    CHECK(strcmp(cocoimg_error_message(err), "a platform and 'all' are mutually exclusive") == 0);
    cocoimg_error_free(err);
    return 0;
}

static int
expect_nested(const char *platform, bool all)
{
    cocoimg__resolve *res = NULL;
    struct counting *src = NULL;
    cocoimg_error *err = NULL;
    struct check_log log = {0};
    CHECK(resolve(&res, &src, &log, "nested", platform, all, &err) == COCOIMG_ENOTSUP && !res);
    char ds[COCOIMG_DIGEST_STRMAX], want[256];
    cocoimg__digest_format(&inner_dg, ds);
    snprintf(want, sizeof(want), "manifest %s: nested index is not supported", ds);
    CHECK(strcmp(cocoimg_error_message(err), want) == 0);
    /*
     * refused from the index alone: no instance manifest (not even the
     * arm64 one before it in ALL mode), no blob, no hook
     */
    CHECK(src->manifests == 1 && src->blobs == 0 && log.calls == 0);
    release(res, src, err);
    return 0;
}

static int
test_nested_index(void)
{
    /* the entry selected is an index */
    CHECK_OK(expect_nested("linux/amd64", false));
    /* ALL: any entry is */
    CHECK_OK(expect_nested(NULL, true));
    /* an index next to the entry selected is no obstacle */
    cocoimg__resolve *res = NULL;
    struct counting *src = NULL;
    struct check_log log = {0};
    CHECK_OK(resolve(&res, &src, &log, "nested", "linux/arm64", false, NULL));
    CHECK(cocoimg__resolve_count(res) == 1);
    CHECK(cocoimg__digest_equal(&cocoimg__resolve_image_at(res, 0)->doc.digest, &arm_dg));
    CHECK(log.calls == 1);
    release(res, src, NULL);
    return 0;
}

static int
test_all_instances(void)
{
    cocoimg__resolve *res = NULL;
    struct counting *src = NULL;
    struct check_log log = {0};
    CHECK_OK(resolve(&res, &src, &log, "multi", NULL, true, NULL));
    /* every image checked once, all before the first blob */
    CHECK(log.calls == 2 && log.blobs_seen == 0 && src->blobs == 0);
    CHECK(cocoimg__digest_equal(&log.image[0], &amd_dg));
    CHECK(cocoimg__digest_equal(&log.image[1], &arm_dg));
    CHECK(cocoimg__digest_equal(&log.top[0], &log.top[1]));
    CHECK(cocoimg__resolve_top_kind(res) == COCOIMG_DOC_OCI_INDEX);
    CHECK(cocoimg__resolve_index(res) && cocoimg__resolve_index(res)->n_manifests == 2);
    CHECK(cocoimg__resolve_count(res) == 2);
    const char *arch[] = {"amd64", "arm64"};
    size_t n = 0;
    cocoimg__resolve_image *img;
    while ((img = cocoimg__resolve_next(res))) {
        CHECK(n < 2 && img->entry_index == n);
        CHECK(strcmp(img->entry->architecture, arch[n]) == 0);
        uint8_t *cb = NULL;
        size_t cl = 0;
        cocoimg__config *c = NULL;
        CHECK_OK(cocoimg__resolve_config(&c, &cb, &cl, res, img, NULL));
        CHECK(cb && cl > 0 && strcmp(c->architecture, arch[n]) == 0);
        cocoimg__config_free(c);
        free(cb);
        n++;
    }
    CHECK(n == 2 && src->blobs == 2);
    CHECK(log.calls == 2); /* iterating does not check again */
    release(res, src, NULL);
    return 0;
}

static int
test_lone_manifest(void)
{
    /* SELECT and ALL alike: the top-level document is the one image */
    for (int all = 0; all < 2; all++) {
        cocoimg__resolve *res = NULL;
        struct counting *src = NULL;
        struct check_log log = {0};
        CHECK_OK(resolve(&res, &src, &log, "lone", NULL, all, NULL));
        CHECK(!cocoimg__resolve_index(res));
        CHECK(cocoimg__resolve_top_kind(res) == COCOIMG_DOC_OCI_MANIFEST);
        CHECK(cocoimg__resolve_count(res) == 1 && src->manifests == 1);
        cocoimg__resolve_image *img = cocoimg__resolve_image_at(res, 0);
        CHECK(!img->entry && img->manifest);
        CHECK(cocoimg__digest_equal(&img->doc.digest, &amd_dg));
        CHECK(log.calls == 1 && cocoimg__digest_equal(&log.top[0], &log.image[0]));
        release(res, src, NULL);
    }
    return 0;
}

static int
test_top_only(void)
{
    /* TOP: the bytes of the top-level document, nothing parsed, nothing checked */
    cocoimg__resolve *res = NULL;
    struct counting *src = counting_open(layout, "nested");
    CHECK(src);
    struct check_log log = {.src = src};
    cocoimg__resolve_options ro;
    CHECK_OK(cocoimg__resolve_options_init(&ro, NULL, false, NULL));
    ro.mode = COCOIMG__RESOLVE_TOP;
    ro.check = check_hook;
    ro.check_payload = &log;
    CHECK_OK(cocoimg__resolve_open(&res, &src->base, NULL, &ro, NULL));
    CHECK(cocoimg__resolve_count(res) == 0 && !cocoimg__resolve_next(res));
    CHECK(cocoimg__resolve_top_kind(res) == COCOIMG_DOC_UNKNOWN && !cocoimg__resolve_index(res));
    const cocoimg__resolve_doc *top = cocoimg__resolve_top(res);
    cocoimg__digest dg;
    CHECK_OK(cocoimg__digest_buffer(&dg, COCOIMG_DIGEST_SHA256, top->bytes, top->len, NULL));
    CHECK(cocoimg__digest_equal(&dg, &top->digest));
    CHECK(log.calls == 0 && src->manifests == 1);
    release(res, src, NULL);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_check_runs_before_any_blob),
    TAP_TEST(test_check_error_aborts),
    TAP_TEST(test_platform_selection),
    TAP_TEST(test_nested_index),
    TAP_TEST(test_all_instances),
    TAP_TEST(test_lone_manifest),
    TAP_TEST(test_top_only),
    {0},
};

int
main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/test_resolve.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp))
        return 1;
    if (cocoimg_context_new(&ctx, NULL) < 0 || cocoimg_context_set_tmpdir(ctx, tmp, NULL) < 0)
        return 1;
    snprintf(layout, sizeof(layout), "%s/layout", tmp);
    char spec[600];
    snprintf(spec, sizeof(spec), "oci:%s:multi", layout);
    if (cocoimg_reference_parse(&the_ref, spec, NULL) < 0)
        return 1;
    int r = 1;
    if (build_ref("multi", MULTI) == 0 && build_ref("nested", NESTED) == 0 &&
        build_ref("lone", LONE) == 0)
        r = tap_run(tests);
    else
        printf("Bail out! the fixtures could not be built\n");
    cocoimg_reference_free(the_ref);
    cocoimg__rm_rf(AT_FDCWD, tmp, NULL);
    cocoimg_context_free(ctx);
    return r;
}
