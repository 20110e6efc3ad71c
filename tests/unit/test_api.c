/* SPDX-License-Identifier: Apache-2.0 */
/* Rules of the public API: the context's settings. */
#include <stdlib.h>
#include <string.h>

#include <cocoimg/cocoimg.h>

#include "tap.h"
#include "util/context.h"
#include "util/error.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_context, cocoimg_context_free)

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
    TAP_TEST(test_context_tmpdir),
    TAP_TEST(test_context_flags),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
