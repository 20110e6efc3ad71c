/* SPDX-License-Identifier: Apache-2.0 */
/* Registry settings of the context and the docker:// transport (offline parts). */
#include <stdlib.h>
#include <string.h>

#include "registry/settings.h"
#include "tap.h"
#include "transport/transport.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)
COCOIMG_DEFINE_CLEANUP(cocoimg_context, cocoimg_context_free)

static int
code_of(cocoimg_error *e)
{
    int c = cocoimg_error_code(e);
    cocoimg_error_free(e);
    return c;
}

static int
test_options_init(void)
{
    cocoimg_registry_options o;
    memset(&o, 0x55, sizeof(o));
    CHECK(cocoimg_registry_options_init(&o, COCOIMG_REGISTRY_OPTIONS_VERSION) == 0);
    CHECK(o.version == COCOIMG_REGISTRY_OPTIONS_VERSION && o.insecure == 0);
    /* version 1: the last field is tls_verify, default 1 (verify) */
    memset(&o, 0x55, sizeof(o));
    CHECK(cocoimg_registry_options_init(&o, 1) == 0 && o.version == 1 && o.insecure == 1);
    /* a version 1 struct ends before stall_timeout: not written */
    CHECK(o.stall_timeout == 0x55555555u);
    CHECK(cocoimg_registry_options_init(&o, 2) == 0 && o.stall_timeout == 0 && o.insecure == 0);
    CHECK(!o.username && !o.password && !o.authfile && !o.cert_dir);
    CHECK(cocoimg_registry_options_init(&o, 99) == COCOIMG_EINVAL);
    return 0;
}

/* The settings live in the context's registry slot, made by the first set: look again after one. */
static void
sides_of(const cocoimg_context *ctx, const struct cocoimg__registry_settings **s,
         const struct cocoimg__registry_settings **d)
{
    *s = cocoimg__registry_settings_get(ctx, COCOIMG_SIDE_SRC);
    *d = cocoimg__registry_settings_get(ctx, COCOIMG_SIDE_DST);
}

static int
test_set_registry_sides(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    const struct cocoimg__registry_settings *s, *d;
    sides_of(ctx, &s, &d);
    CHECK(!s->insecure && !d->insecure && !s->username && !d->cert_dir);

    char user[] = "alice", pw[] = "s3cret";
    cocoimg_registry_options o = COCOIMG_REGISTRY_OPTIONS_INIT;
    o.username = user;
    o.password = pw;
    o.cert_dir = "/certs";
    o.insecure = 1;
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &o, NULL));
    sides_of(ctx, &s, &d);
    /* copied, not borrowed */
    memset(user, 'x', 5);
    memset(pw, 'x', 6);
    CHECK(strcmp(s->username, "alice") == 0 && strcmp(s->password, "s3cret") == 0);
    CHECK(strcmp(s->cert_dir, "/certs") == 0 && !s->authfile && s->insecure);
    CHECK(!d->username && !d->password && !d->insecure);

    cocoimg_registry_options o2 = COCOIMG_REGISTRY_OPTIONS_INIT;
    o2.authfile = "/auth.json";
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC | COCOIMG_SIDE_DST, &o2, NULL));
    sides_of(ctx, &s, &d);
    CHECK(!s->username && !s->password && !s->cert_dir && !s->insecure);
    CHECK(strcmp(s->authfile, "/auth.json") == 0 && strcmp(d->authfile, "/auth.json") == 0);

    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_DST, NULL, NULL));
    sides_of(ctx, &s, &d);
    CHECK(!d->authfile && strcmp(s->authfile, "/auth.json") == 0);
    return 0;
}

/* A zeroed struct verifies TLS; a version 1 struct keeps its tls_verify meaning. */
static int
test_set_registry_versions(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    const struct cocoimg__registry_settings *s, *d;
    cocoimg_registry_options z;
    memset(&z, 0, sizeof(z));
    z.version = COCOIMG_REGISTRY_OPTIONS_VERSION;
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC | COCOIMG_SIDE_DST, &z, NULL));
    sides_of(ctx, &s, &d);
    CHECK(!s->insecure && !d->insecure);
    z.insecure = 1;
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &z, NULL));
    sides_of(ctx, &s, &d);
    CHECK(s->insecure && !d->insecure);
    /* v1: the same int is tls_verify: 1 verifies, 0 does not */
    z.version = 1;
    z.insecure = 1;
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &z, NULL));
    sides_of(ctx, &s, &d);
    CHECK(!s->insecure);
    z.insecure = 0;
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_DST, &z, NULL));
    sides_of(ctx, &s, &d);
    CHECK(d->insecure && !s->insecure);
    return 0;
}

static int
test_set_registry_invalid(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    cocoimg_registry_options o = COCOIMG_REGISTRY_OPTIONS_INIT;
    o.authfile = "/keep";
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &o, NULL));

    cocoimg_error *e = NULL;
    CHECK(cocoimg_context_set_registry(ctx, 0, &o, &e) == COCOIMG_EINVAL);
    CHECK(code_of(e) == COCOIMG_EINVAL);
    e = NULL;
    CHECK(cocoimg_context_set_registry(ctx, 4, &o, &e) == COCOIMG_EINVAL);
    cocoimg_error_free(e);
    cocoimg_registry_options bad = COCOIMG_REGISTRY_OPTIONS_INIT;
    bad.username = "";
    e = NULL;
    CHECK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &bad, &e) == COCOIMG_EINVAL);
    CHECK(strstr(cocoimg_error_message(e), "empty user name"));
    cocoimg_error_free(e);
    bad.username = NULL;
    bad.password = "pw";
    CHECK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &bad, NULL) == COCOIMG_EINVAL);
    bad.password = NULL;
    bad.version = 7;
    CHECK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &bad, NULL) == COCOIMG_EINVAL);
    /* a refused call changes nothing */
    CHECK(strcmp(cocoimg__registry_settings_get(ctx, COCOIMG_SIDE_SRC)->authfile, "/keep") == 0);
    return 0;
}

/* The transport reads its side's settings: a missing --authfile fails at open. */
static int
test_docker_open_uses_side(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    cocoimg_registry_options o = COCOIMG_REGISTRY_OPTIONS_INIT;
    o.authfile = "/nonexistent/coco-img-auth.json";
    CHECK_OK(cocoimg_context_set_registry(ctx, COCOIMG_SIDE_SRC, &o, NULL));
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
    CHECK_OK(cocoimg_reference_parse(&ref, "docker://127.0.0.1:1/test/app:v1", NULL));

    cocoimg__source *s = NULL;
    cocoimg_error *e = NULL;
    CHECK(cocoimg__source_open(&s, ctx, ref, &e) == COCOIMG_ENOTFOUND);
    CHECK(strstr(cocoimg_error_message(e), "coco-img-auth.json"));
    cocoimg_error_free(e);

    /* the destination side has no authfile set: opens (no network yet) */
    cocoimg__dest *d = NULL;
    CHECK_OK(cocoimg__dest_open(&d, ctx, ref, NULL));
    cocoimg__dest_free(d);
    return 0;
}

/* docker://...@DIGEST as destination: the image written must have that digest. */
static int
test_docker_dest_digest_pinned(void)
{
    _cleanup_(cocoimg_context_freep) cocoimg_context *ctx = NULL;
    CHECK_OK(cocoimg_context_new(&ctx, NULL));
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
    CHECK_OK(
        cocoimg_reference_parse(&ref,
                                "docker://127.0.0.1:1/test/app@sha256:"
                                "0000000000000000000000000000000000000000000000000000000000000000",
                                NULL));
    cocoimg__dest *d = NULL;
    CHECK_OK(cocoimg__dest_open(&d, ctx, ref, NULL));
    static const char doc[] = "{\"schemaVersion\":2}";
    cocoimg_error *e = NULL;
    int r = cocoimg__dest_commit(d, (const uint8_t *)doc, sizeof(doc) - 1,
                                 "application/vnd.oci.image.manifest.v1+json", &e);
    cocoimg__dest_free(d);
    CHECK(r == COCOIMG_EINVAL);
    CHECK(strstr(cocoimg_error_message(e), "destination names digest"));
    cocoimg_error_free(e);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_options_init),
    TAP_TEST(test_set_registry_sides),
    TAP_TEST(test_set_registry_versions),
    TAP_TEST(test_set_registry_invalid),
    TAP_TEST(test_docker_open_uses_side),
    TAP_TEST(test_docker_dest_digest_pinned),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
