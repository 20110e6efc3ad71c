/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "oci/model.h"
#include "tap.h"
#include "util/json.h"

static bool
plat_is(const cocoimg__platform *p, const char *os, const char *arch, const char *variant)
{
    return strcmp(p->os, os) == 0 && strcmp(p->architecture, arch) == 0 &&
           strcmp(p->variant, variant) == 0;
}

static int
test_parse_normalize(void)
{
    static const struct {
        const char *in, *os, *arch, *variant;
    } v[] = {
        {"linux/amd64", "linux", "amd64", ""},    {"linux/x86_64", "linux", "amd64", ""},
        {"linux/x86-64", "linux", "amd64", ""},   {"Linux/AMD64", "linux", "amd64", ""},
        {"linux/amd64/v1", "linux", "amd64", ""}, {"linux/amd64/v3", "linux", "amd64", "v3"},
        {"linux/aarch64", "linux", "arm64", ""},  {"linux/arm64/v8", "linux", "arm64", ""},
        {"linux/arm64/8", "linux", "arm64", ""},  {"linux/arm64/v9", "linux", "arm64", "v9"},
        {"linux/armhf", "linux", "arm", "v7"},    {"linux/armel", "linux", "arm", "v6"},
        {"linux/arm", "linux", "arm", "v7"},      {"linux/arm/7", "linux", "arm", "v7"},
        {"linux/arm/6", "linux", "arm", "v6"},    {"linux/arm/v5", "linux", "arm", "v5"},
        {"linux/i686", "linux", "386", ""},       {"linux/i386", "linux", "386", ""},
        {"linux/s390x", "linux", "s390x", ""},    {"windows/amd64", "windows", "amd64", ""},
        {"macos/arm64", "darwin", "arm64", ""},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        cocoimg__platform p;
        CHECK_OK(cocoimg__platform_parse(&p, v[i].in, NULL));
        if (!plat_is(&p, v[i].os, v[i].arch, v[i].variant))
            printf("# '%s' -> %s/%s/%s\n", v[i].in, p.os, p.architecture, p.variant);
        CHECK(plat_is(&p, v[i].os, v[i].arch, v[i].variant));
    }
    static const char *bad[] = {"",          "linux",        "linux/",
                                "/amd64",    "linux//",      "linux/arm/v7/x",
                                "a b/amd64", "linux/amd64/", "linux/am$d"};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad); i++) {
        _cleanup_error_ cocoimg_error *err = NULL;
        cocoimg__platform p;
        int r = cocoimg__platform_parse(&p, bad[i], &err);
        if (r != COCOIMG_EINVAL)
            printf("# accepted '%s'\n", bad[i]);
        CHECK(r == COCOIMG_EINVAL);
        CHECK(strstr(cocoimg_error_message(err), "invalid platform") != NULL);
    }
    /* a component too long for the fixed-size fields */
    char big[200] = "linux/";
    memset(big + 6, 'a', 100);
    CHECK(cocoimg__platform_parse(&(cocoimg__platform){{0}, {0}, {0}}, big, NULL) ==
          COCOIMG_EINVAL);
    return 0;
}

static int
test_format_host(void)
{
    cocoimg__platform p;
    char buf[200];
    CHECK_OK(cocoimg__platform_parse(&p, "linux/armhf", NULL));
    cocoimg__platform_format(&p, buf, sizeof(buf));
    CHECK(strcmp(buf, "linux/arm/v7") == 0);
    CHECK_OK(cocoimg__platform_parse(&p, "linux/aarch64/v8", NULL));
    cocoimg__platform_format(&p, buf, sizeof(buf));
    CHECK(strcmp(buf, "linux/arm64") == 0);
    cocoimg__platform_format(&p, buf, 4);
    CHECK(strcmp(buf, "lin") == 0);

    cocoimg__platform h;
    cocoimg__platform_host(&h);
    CHECK(strcmp(h.os, "linux") == 0);
    CHECK(h.architecture[0] != '\0');
#if defined(__x86_64__)
    CHECK(plat_is(&h, "linux", "amd64", ""));
#elif defined(__aarch64__)
    CHECK(plat_is(&h, "linux", "arm64", ""));
#endif
    /* the host matches itself, formatted and parsed back */
    cocoimg__platform_format(&h, buf, sizeof(buf));
    CHECK_OK(cocoimg__platform_parse(&p, buf, NULL));
    CHECK(plat_is(&p, h.os, h.architecture, h.variant));
    return 0;
}

static int
test_matches(void)
{
    cocoimg__platform w;
    CHECK_OK(cocoimg__platform_parse(&w, "linux/arm64", NULL));
    CHECK(cocoimg__platform_matches(&w, "linux", "arm64", "v8"));
    CHECK(cocoimg__platform_matches(&w, "linux", "arm64", NULL));
    CHECK(cocoimg__platform_matches(&w, "linux", "aarch64", ""));
    CHECK(cocoimg__platform_matches(&w, "linux", "arm64", "v9")); /* want without variant */
    CHECK(!cocoimg__platform_matches(&w, "linux", "amd64", NULL));
    CHECK(!cocoimg__platform_matches(&w, "windows", "arm64", NULL));
    CHECK(!cocoimg__platform_matches(&w, NULL, "arm64", NULL));
    CHECK(!cocoimg__platform_matches(&w, "linux", NULL, NULL));

    CHECK_OK(cocoimg__platform_parse(&w, "linux/arm/v7", NULL));
    CHECK(cocoimg__platform_matches(&w, "linux", "arm", NULL)); /* arm = arm/v7 */
    CHECK(cocoimg__platform_matches(&w, "linux", "arm", "v7"));
    CHECK(cocoimg__platform_matches(&w, "linux", "arm", "v6")); /* v7 runs v6 */
    CHECK(!cocoimg__platform_matches(&w, "linux", "arm", "v8"));
    CHECK(!cocoimg__platform_matches(&w, "linux", "arm64", NULL));

    CHECK_OK(cocoimg__platform_parse(&w, "linux/amd64/v3", NULL));
    CHECK(cocoimg__platform_matches(&w, "linux", "amd64", NULL));
    CHECK(cocoimg__platform_matches(&w, "linux", "amd64", "v2"));
    CHECK(!cocoimg__platform_matches(&w, "linux", "amd64", "v4"));
    CHECK_OK(cocoimg__platform_parse(&w, "linux/amd64", NULL));
    CHECK(cocoimg__platform_matches(&w, "linux", "x86_64", NULL));
    CHECK(cocoimg__platform_matches(&w, "LINUX", "amd64", "v1"));
    return 0;
}

/* An OCI index with one entry per platform string ("os/arch[/variant]"). */
static int
make_index(cocoimg__index **out, const char *const *plats, size_t n, cocoimg_error **err)
{
    _cleanup_json_ json_t *root = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
                                            COCOIMG_MT_OCI_INDEX, "manifests");
    if (!root)
        return -1;
    json_t *arr = json_object_get(root, "manifests");
    for (size_t i = 0; i < n; i++) {
        char digest[80] = "sha256:";
        memset(digest + 7, "0123456789abcdef"[i % 16], 64);
        digest[71] = '\0';
        char buf[100];
        snprintf(buf, sizeof(buf), "%s", plats[i]);
        char *os = buf, *arch = strchr(buf, '/'), *variant = NULL;
        *arch++ = '\0';
        if ((variant = strchr(arch, '/')))
            *variant++ = '\0';
        json_t *pl = json_pack("{s:s, s:s}", "os", os, "architecture", arch);
        if (variant)
            json_object_set_new(pl, "variant", json_string(variant));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:o}", "mediaType",
                                             COCOIMG_MT_OCI_MANIFEST, "digest", digest, "size",
                                             100 + (int)i, "platform", pl));
    }
    /* one attestation-like entry without a platform never matches */
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:i}", "mediaType", COCOIMG_MT_OCI_MANIFEST, "digest",
                       "sha256:"
                       "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                       "size", 5));
    _cleanup_free_ char *s = NULL;
    size_t len;
    int r = cocoimg__json_dump(&s, &len, root, err);
    if (r < 0)
        return r;
    return cocoimg__index_parse(out, s, len, NULL, err);
}

static int
select_one(size_t *out, const cocoimg__index *ix, const char *want)
{
    cocoimg__platform w;
    int r = cocoimg__platform_parse(&w, want, NULL);
    if (r < 0)
        return r;
    return cocoimg__index_select(out, ix, &w, NULL);
}

static int
test_index_select(void)
{
    static const char *const plats[] = {
        "linux/amd64",   "linux/arm/v6", "linux/arm/v7",  "linux/aarch64/v8",
        "linux/ppc64le", "linux/s390x",  "windows/amd64", "linux/arm/v5",
    };
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    CHECK_OK(make_index(&ix, plats, COCOIMG_ARRAY_SIZE(plats), NULL));
    CHECK(ix->n_manifests == COCOIMG_ARRAY_SIZE(plats) + 1);
    CHECK(strcmp(ix->manifests[3].architecture, "aarch64") == 0);
    CHECK(strcmp(ix->manifests[3].variant, "v8") == 0);

    size_t i = 99;
    CHECK_OK(select_one(&i, ix, "linux/amd64"));
    CHECK(i == 0);
    CHECK_OK(select_one(&i, ix, "linux/x86_64"));
    CHECK(i == 0);
    CHECK_OK(select_one(&i, ix, "windows/amd64"));
    CHECK(i == 6);
    CHECK_OK(select_one(&i, ix, "linux/arm64"));
    CHECK(i == 3);
    CHECK_OK(select_one(&i, ix, "linux/arm64/v8"));
    CHECK(i == 3);
    /* exact variant beats the earlier compatible entry */
    CHECK_OK(select_one(&i, ix, "linux/arm/v7"));
    CHECK(i == 2);
    CHECK_OK(select_one(&i, ix, "linux/armhf"));
    CHECK(i == 2);
    CHECK_OK(select_one(&i, ix, "linux/armel"));
    CHECK(i == 1);
    CHECK_OK(select_one(&i, ix, "linux/arm/v5"));
    CHECK(i == 7);
    /* arm v8 (32-bit) has no exact entry: the best lower variant, v7 */
    CHECK_OK(select_one(&i, ix, "linux/arm/v8"));
    CHECK(i == 2);
    CHECK_OK(select_one(&i, ix, "linux/ppc64le"));
    CHECK(i == 4);

    _cleanup_error_ cocoimg_error *err = NULL;
    cocoimg__platform w;
    CHECK_OK(cocoimg__platform_parse(&w, "linux/riscv64", NULL));
    CHECK(cocoimg__index_select(&i, ix, &w, &err) == COCOIMG_ENOTFOUND);
    const char *msg = cocoimg_error_message(err);
    CHECK(strstr(msg, "'linux/riscv64'") != NULL);
    CHECK(strstr(msg, "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64, linux/ppc64le") !=
          NULL);
    CHECK(strstr(msg, "windows/amd64") != NULL);
    CHECK(select_one(&i, ix, "darwin/amd64") == COCOIMG_ENOTFOUND);
    CHECK(select_one(&i, ix, "linux/arm64/v9") == COCOIMG_ENOTFOUND);
    return 0;
}

static int
test_select_many_bounded(void)
{
    /* a huge index: the error message stays bounded */
    static const char *plats[200];
    for (size_t k = 0; k < COCOIMG_ARRAY_SIZE(plats); k++)
        plats[k] = "linux/mips64le";
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    CHECK_OK(make_index(&ix, plats, COCOIMG_ARRAY_SIZE(plats), NULL));
    _cleanup_error_ cocoimg_error *err = NULL;
    cocoimg__platform w;
    size_t i;
    CHECK_OK(cocoimg__platform_parse(&w, "linux/amd64", NULL));
    CHECK(cocoimg__index_select(&i, ix, &w, &err) == COCOIMG_ENOTFOUND);
    CHECK(strlen(cocoimg_error_message(err)) < 1200);
    CHECK(strstr(cocoimg_error_message(err), ", ...") != NULL);
    /* empty index */
    _cleanup_(cocoimg__index_freep) cocoimg__index *empty = NULL;
    CHECK_OK(make_index(&empty, NULL, 0, NULL));
    _cleanup_error_ cocoimg_error *err2 = NULL;
    CHECK(cocoimg__index_select(&i, empty, &w, &err2) == COCOIMG_ENOTFOUND);
    CHECK(strstr(cocoimg_error_message(err2), "available: none") != NULL);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_parse_normalize), TAP_TEST(test_format_host),         TAP_TEST(test_matches),
    TAP_TEST(test_index_select),    TAP_TEST(test_select_many_bounded), {0},
};

int
main(void)
{
    return tap_run(tests);
}
