/* SPDX-License-Identifier: Apache-2.0 */
/* Rules of the public API: versioned option structs, the context's settings. */
#include <stdbool.h>
#include <stdio.h>
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
    CHECK(cocoimg_registry_options_init(&ro, 1) == 0 && ro.version == 1 &&
          ro.insecure == 1 /* v1: tls_verify */);
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

/* Was the call refused with COCOIMG_EINVAL naming crypt option @p field? */
static bool
field_refused(int rc, cocoimg_error *e, const char *field)
{
    char want[64];
    snprintf(want, sizeof(want), "crypt option '%s' does not apply", field);
    bool refused = rc == COCOIMG_EINVAL && e && strstr(cocoimg_error_message(e), want);
    if (!refused)
        printf("# %s: got %d (%s)\n", field, rc, e ? cocoimg_error_message(e) : "no error");
    cocoimg_error_free(e);
    return refused;
}

static int
kp_unwrap(uint8_t **out, size_t *out_len, const char *provider, const uint8_t *wrapped,
          size_t wrapped_len, cocoimg_error **err, void *payload)
{
    (void)out, (void)out_len, (void)provider, (void)wrapped, (void)wrapped_len, (void)payload;
    return cocoimg_error_new(err, COCOIMG_ENOKEY, "no key %d", 42);
}

/* cocoimg_crypt_options serves four operations: fields that do not apply are refused. */
static int
test_crypt_fields_per_operation(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    const char *src = "oci:/nonexistent-cocoimg-api/src:a",
               *dst = "oci:/nonexistent-cocoimg-api/dst:a";
    const char *list[] = {"x"};
    const int layers[] = {0};
    cocoimg_keyprovider kp = {COCOIMG_KEYPROVIDER_VERSION, NULL, kp_unwrap, NULL};
    cocoimg_error *e = NULL;
    char *out = NULL;
    int rc;

    /* unpack: recipients, layers, all, and a platform that is not unpack's own */
    cocoimg_crypt_options cr = COCOIMG_CRYPT_OPTIONS_INIT;
    cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
    uo.crypt = &cr;
    cr.recipients = list, cr.n_recipients = 1;
    rc = cocoimg_unpack(ctx, src, "/nonexistent-cocoimg-api/b", &uo, &e);
    CHECK(field_refused(rc, e, "recipients"));
    cr = (cocoimg_crypt_options)COCOIMG_CRYPT_OPTIONS_INIT;
    cr.layers = layers, cr.n_layers = 1;
    e = NULL;
    rc = cocoimg_unpack(ctx, src, "/nonexistent-cocoimg-api/b", &uo, &e);
    CHECK(field_refused(rc, e, "layers"));
    cr = (cocoimg_crypt_options)COCOIMG_CRYPT_OPTIONS_INIT;
    cr.all = 1;
    e = NULL;
    rc = cocoimg_unpack(ctx, src, "/nonexistent-cocoimg-api/b", &uo, &e);
    CHECK(field_refused(rc, e, "all"));
    cr = (cocoimg_crypt_options)COCOIMG_CRYPT_OPTIONS_INIT;
    cr.platform = "linux/s390x";
    e = NULL;
    rc = cocoimg_unpack(ctx, src, "/nonexistent-cocoimg-api/b", &uo, &e);
    CHECK(field_refused(rc, e, "platform"));
    /* ... but keys and a key provider apply (the source does not exist: not found) */
    cr = (cocoimg_crypt_options)COCOIMG_CRYPT_OPTIONS_INIT;
    cr.keyprovider = &kp;
    cr.keys = list, cr.n_keys = 1;
    e = NULL;
    rc = cocoimg_unpack(ctx, src, "/nonexistent-cocoimg-api/b", &uo, &e);
    CHECK(rc < 0 && !strstr(cocoimg_error_message(e), "does not apply"));
    cocoimg_error_free(e);

    /* decrypt: recipients */
    cr = (cocoimg_crypt_options)COCOIMG_CRYPT_OPTIONS_INIT;
    cr.keys = list, cr.n_keys = 1;
    cr.recipients = list, cr.n_recipients = 1;
    e = NULL;
    rc = cocoimg_decrypt(ctx, src, dst, &cr, &e);
    CHECK(field_refused(rc, e, "recipients"));

    /* layerinfo: no keys of any kind */
    const struct {
        const char *field;
        cocoimg_crypt_options o;
    } info[] = {
        {"recipients", {.version = 1, .recipients = list, .n_recipients = 1}},
        {"keys", {.version = 1, .keys = list, .n_keys = 1}},
        {"dec_recipients", {.version = 1, .dec_recipients = list, .n_dec_recipients = 1}},
        {"gpg_homedir", {.version = 1, .gpg_homedir = "/nonexistent"}},
        {"use_gpg_keys", {.version = 1, .use_gpg_keys = 1}},
        {"keyprovider", {.version = 1, .keyprovider = &kp}},
    };
    for (size_t i = 0; i < sizeof(info) / sizeof(info[0]); i++) {
        e = NULL;
        rc = cocoimg_layerinfo(&out, ctx, src, &info[i].o, &e);
        CHECK(field_refused(rc, e, info[i].field));
        CHECK(!out);
    }

    /* a key provider of an unknown version */
    cocoimg_keyprovider kp2 = {COCOIMG_KEYPROVIDER_VERSION + 1, NULL, kp_unwrap, NULL};
    cr = (cocoimg_crypt_options)COCOIMG_CRYPT_OPTIONS_INIT;
    cr.keyprovider = &kp2;
    e = NULL;
    rc = cocoimg_decrypt(ctx, src, dst, &cr, &e);
    CHECK(version_refused(rc, e));
    return 0;
}

/* cocoimg_error_new(): for callbacks to hand a reason to the library. */
static int
test_error_new(void)
{
    cocoimg_error *e = NULL;
    CHECK(cocoimg_error_new(&e, COCOIMG_EAUTH, "service said %s", "no") == COCOIMG_EAUTH);
    CHECK(e && cocoimg_error_code(e) == COCOIMG_EAUTH &&
          strcmp(cocoimg_error_message(e), "service said no") == 0);
    /* the first error is kept */
    CHECK(cocoimg_error_new(&e, COCOIMG_EIO, "later") == COCOIMG_EIO);
    CHECK(strcmp(cocoimg_error_message(e), "service said no") == 0);
    cocoimg_error_free(e);
    CHECK(cocoimg_error_new(NULL, COCOIMG_EIO, "x") == COCOIMG_EIO);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_error_code_type),
    TAP_TEST(test_version_rule),
    TAP_TEST(test_options_init_versions),
    TAP_TEST(test_operations_check_versions),
    TAP_TEST(test_context_tmpdir),
    TAP_TEST(test_context_flags),
    TAP_TEST(test_crypt_fields_per_operation),
    TAP_TEST(test_error_new),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
