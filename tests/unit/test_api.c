/* SPDX-License-Identifier: Apache-2.0 */
/* Rules of the public API: versioned option structs, the context's settings. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/cocoimg.h>

#include "tap.h"
#include "util/context.h"
#include "util/error.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_context, cocoimg_context_free)

/* Was the call refused for its options version (and only for that)? */
static bool
version_refused(int rc, cocoimg_error *e)
{
    bool refused = rc == COCOIMG_EINVAL && e && strstr(cocoimg_error_message(e), "version");
    cocoimg_error_free(e);
    return refused;
}

/* The codes' type is enum cocoimg_error_code, next to the getter of the same name. */
static int
test_error_code_type(void)
{
    enum cocoimg_error_code c = COCOIMG_EINVAL;
    cocoimg_error *e = NULL;
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    CHECK(cocoimg_context_set_flags(ctx, 1u << 31, &e) == (int)c);
    CHECK(cocoimg_error_code(e) == (int)c);
    cocoimg_error_free(e);
    return 0;
}

/* The rule every check uses: a version-3 library takes versions 1, 2 and 3. */
static int
test_version_rule(void)
{
    CHECK(!COCOIMG__VERSION_OK(0u, 3u));
    CHECK(COCOIMG__VERSION_OK(1u, 3u) && COCOIMG__VERSION_OK(2u, 3u) &&
          COCOIMG__VERSION_OK(3u, 3u));
    CHECK(!COCOIMG__VERSION_OK(4u, 3u) && !COCOIMG__VERSION_OK(~0u, 3u));
    CHECK(COCOIMG__VERSION_OK(1u, 1u) && !COCOIMG__VERSION_OK(2u, 1u));
    return 0;
}

/* Every *_options_init() takes the versions 1 up to the current one, none other. */
static int
test_options_init_versions(void)
{
    cocoimg_copy_options co;
    cocoimg_inspect_options io;
    cocoimg_crypt_options cr;
    cocoimg_unpack_options uo;
    cocoimg_registry_options ro;
    CHECK(cocoimg_copy_options_init(&co, 1) == 0 && co.version >= 1);
    CHECK(cocoimg_inspect_options_init(&io, 1) == 0 && io.version >= 1);
    CHECK(cocoimg_crypt_options_init(&cr, 1) == 0 && cr.version >= 1);
    CHECK(cocoimg_unpack_options_init(&uo, 1) == 0 && uo.version >= 1);
    CHECK(cocoimg_registry_options_init(&ro, 1) == 0 && ro.version >= 1 && ro.tls_verify == 1);
    CHECK(cocoimg_copy_options_init(&co, COCOIMG_COPY_OPTIONS_VERSION) == 0);
    CHECK(cocoimg_inspect_options_init(&io, COCOIMG_INSPECT_OPTIONS_VERSION) == 0);
    CHECK(cocoimg_crypt_options_init(&cr, COCOIMG_CRYPT_OPTIONS_VERSION) == 0);
    CHECK(cocoimg_unpack_options_init(&uo, COCOIMG_UNPACK_OPTIONS_VERSION) == 0);
    CHECK(cocoimg_registry_options_init(&ro, COCOIMG_REGISTRY_OPTIONS_VERSION) == 0);
    const unsigned int bad[][5] = {
        {0, 0, 0, 0, 0},
        {COCOIMG_COPY_OPTIONS_VERSION + 1, COCOIMG_INSPECT_OPTIONS_VERSION + 1,
         COCOIMG_CRYPT_OPTIONS_VERSION + 1, COCOIMG_UNPACK_OPTIONS_VERSION + 1,
         COCOIMG_REGISTRY_OPTIONS_VERSION + 1},
    };
    for (size_t i = 0; i < 2; i++) {
        CHECK(cocoimg_copy_options_init(&co, bad[i][0]) == COCOIMG_EINVAL);
        CHECK(cocoimg_inspect_options_init(&io, bad[i][1]) == COCOIMG_EINVAL);
        CHECK(cocoimg_crypt_options_init(&cr, bad[i][2]) == COCOIMG_EINVAL);
        CHECK(cocoimg_unpack_options_init(&uo, bad[i][3]) == COCOIMG_EINVAL);
        CHECK(cocoimg_registry_options_init(&ro, bad[i][4]) == COCOIMG_EINVAL);
    }
    return 0;
}

/*
 * The operations take a version-1 struct (they fail later, on the missing
 * image) and refuse version 0 and current + 1 before doing anything.
 */
static int
test_operations_check_versions(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    const char *src = "oci:/nonexistent-cocoimg-api/src:a",
               *dst = "oci:/nonexistent-cocoimg-api/dst:a";
    const unsigned int copy_v[] = {1, 0, COCOIMG_COPY_OPTIONS_VERSION + 1};
    const unsigned int inspect_v[] = {1, 0, COCOIMG_INSPECT_OPTIONS_VERSION + 1};
    const unsigned int crypt_v[] = {1, 0, COCOIMG_CRYPT_OPTIONS_VERSION + 1};
    const unsigned int unpack_v[] = {1, 0, COCOIMG_UNPACK_OPTIONS_VERSION + 1};
    const unsigned int registry_v[] = {1, 0, COCOIMG_REGISTRY_OPTIONS_VERSION + 1};
    for (size_t i = 0; i < 3; i++) {
        bool want_refused = i > 0;
        cocoimg_error *e = NULL;
        char *out = NULL;
        int rc;

        cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
        co.version = copy_v[i];
        rc = cocoimg_copy(ctx, src, dst, &co, &e);
        CHECK(rc < 0 && version_refused(rc, e) == want_refused);

        cocoimg_inspect_options io = COCOIMG_INSPECT_OPTIONS_INIT;
        io.version = inspect_v[i];
        e = NULL;
        rc = cocoimg_inspect(&out, NULL, ctx, src, &io, &e);
        CHECK(rc < 0 && !out && version_refused(rc, e) == want_refused);

        const char *rcpt[] = {"jwe:/nonexistent-cocoimg-api/pub.pem"};
        cocoimg_crypt_options cr = COCOIMG_CRYPT_OPTIONS_INIT;
        cr.version = crypt_v[i];
        cr.recipients = rcpt;
        cr.n_recipients = 1;
        e = NULL;
        rc = cocoimg_encrypt(ctx, src, dst, &cr, &e);
        CHECK(rc < 0 && version_refused(rc, e) == want_refused);
        cr.recipients = NULL;
        cr.n_recipients = 0;
        e = NULL;
        rc = cocoimg_decrypt(ctx, src, dst, &cr, &e);
        CHECK(rc < 0 && version_refused(rc, e) == want_refused);
        e = NULL;
        rc = cocoimg_layerinfo(&out, ctx, src, &cr, &e);
        CHECK(rc < 0 && !out && version_refused(rc, e) == want_refused);

        cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
        uo.version = unpack_v[i];
        e = NULL;
        rc = cocoimg_unpack(ctx, src, "/nonexistent-cocoimg-api/bundle", &uo, &e);
        CHECK(rc < 0 && version_refused(rc, e) == want_refused);

        cocoimg_registry_options ro = COCOIMG_REGISTRY_OPTIONS_INIT;
        ro.version = registry_v[i];
        e = NULL;
        rc = cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &ro, &e);
        CHECK(want_refused ? version_refused(rc, e) : rc == 0 && !e);
    }
    return 0;
}

/* The library reads no environment: the temporary directory is /var/tmp until set. */
static int
test_context_tmpdir(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    CHECK(setenv("TMPDIR", "/nonexistent-tmpdir", 1) == 0);
    CHECK(strcmp(cocoimg__context_tmpdir(ctx), "/var/tmp") == 0);
    CHECK(strcmp(cocoimg__context_tmpdir(NULL), "/var/tmp") == 0);
    CHECK_OK(cocoimg_context_set_tmpdir(ctx, "/scratch", NULL));
    CHECK(strcmp(cocoimg__context_tmpdir(ctx), "/scratch") == 0);
    _cleanup_error_ cocoimg_error *e = NULL;
    CHECK(cocoimg_context_set_tmpdir(ctx, "", &e) == COCOIMG_EINVAL);
    CHECK(cocoimg_error_code(e) == COCOIMG_EINVAL);
    CHECK(strcmp(cocoimg__context_tmpdir(ctx), "/scratch") == 0);
    CHECK_OK(cocoimg_context_set_tmpdir(ctx, NULL, NULL));
    CHECK(strcmp(cocoimg__context_tmpdir(ctx), "/var/tmp") == 0);
    unsetenv("TMPDIR");
    return 0;
}

static int
test_context_flags(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    CHECK(setenv("COCOIMG_NO_ISAL", "1", 1) == 0);
    CHECK(cocoimg__context_flags(ctx) == 0);
    CHECK(cocoimg__context_flags(NULL) == 0);
    CHECK_OK(cocoimg_context_set_flags(ctx, COCOIMG_CONTEXT_NO_ISAL, NULL));
    CHECK(cocoimg__context_flags(ctx) == COCOIMG_CONTEXT_NO_ISAL);
    /* an unknown flag (from a newer header) is refused and changes nothing */
    _cleanup_error_ cocoimg_error *e = NULL;
    CHECK(cocoimg_context_set_flags(ctx, 1u << 30, &e) == COCOIMG_EINVAL);
    CHECK(strstr(cocoimg_error_message(e), "0x40000000") != NULL);
    CHECK(cocoimg__context_flags(ctx) == COCOIMG_CONTEXT_NO_ISAL);
    CHECK_OK(cocoimg_context_set_flags(ctx, 0, NULL));
    CHECK(cocoimg__context_flags(ctx) == 0);
    unsetenv("COCOIMG_NO_ISAL");
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_error_code_type),
    TAP_TEST(test_version_rule),
    TAP_TEST(test_options_init_versions),
    TAP_TEST(test_operations_check_versions),
    TAP_TEST(test_context_tmpdir),
    TAP_TEST(test_context_flags),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
