/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <string.h>

#include <cocoimg/cocoimg.h>

#include "tap.h"
#include "util/error.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

#define D256 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static bool
streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int
test_oci(void)
{
    static const struct {
        const char *in;
        cocoimg_transport t;
        const char *path, *name, *canon;
    } v[] = {
        {"oci:dir", COCOIMG_TRANSPORT_OCI, "dir", NULL, "oci:dir"},
        {"oci:/tmp/x:v1", COCOIMG_TRANSPORT_OCI, "/tmp/x", "v1", "oci:/tmp/x:v1"},
        {"oci:dir:", COCOIMG_TRANSPORT_OCI, "dir", NULL, "oci:dir"},
        /* split at the first ':', so the ref name may hold a docker-like name:tag */
        {"oci:dir:docker.io/library/alpine:3.19", COCOIMG_TRANSPORT_OCI, "dir",
         "docker.io/library/alpine:3.19", "oci:dir:docker.io/library/alpine:3.19"},
        {"oci:./rel/dir:a--b.c_d@e+f", COCOIMG_TRANSPORT_OCI, "./rel/dir", "a--b.c_d@e+f", NULL},
        {"oci-archive:img.tar", COCOIMG_TRANSPORT_OCI_ARCHIVE, "img.tar", NULL,
         "oci-archive:img.tar"},
        {"oci-archive:/a/img.tar:latest", COCOIMG_TRANSPORT_OCI_ARCHIVE, "/a/img.tar", "latest",
         "oci-archive:/a/img.tar:latest"},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        int r = cocoimg_reference_parse(&ref, v[i].in, &err);
        if (r < 0)
            printf("# '%s': %s\n", v[i].in, cocoimg_error_message(err));
        CHECK(r == 0);
        CHECK(cocoimg_reference_transport(ref) == v[i].t);
        CHECK(streq(cocoimg_reference_path(ref), v[i].path));
        CHECK(streq(cocoimg_reference_ref_name(ref), v[i].name));
        CHECK(cocoimg_reference_registry(ref) == NULL);
        CHECK(cocoimg_reference_tag(ref) == NULL);
        if (v[i].canon)
            CHECK(streq(cocoimg_reference_string(ref), v[i].canon));
    }
    return 0;
}

static int
test_docker(void)
{
    static const struct {
        const char *in, *registry, *repo, *tag, *digest, *canon;
    } v[] = {
        {"docker://alpine", "docker.io", "library/alpine", "latest", NULL,
         "docker://docker.io/library/alpine:latest"},
        {"docker://alpine:3.19", "docker.io", "library/alpine", "3.19", NULL,
         "docker://docker.io/library/alpine:3.19"},
        {"docker://user/app", "docker.io", "user/app", "latest", NULL,
         "docker://docker.io/user/app:latest"},
        {"docker://docker.io/alpine", "docker.io", "library/alpine", "latest", NULL, NULL},
        {"docker://index.docker.io/user/app:v1", "docker.io", "user/app", "v1", NULL,
         "docker://docker.io/user/app:v1"},
        {"docker://quay.io/org/sub/app:_x.Y-z", "quay.io", "org/sub/app", "_x.Y-z", NULL, NULL},
        {"docker://localhost/app", "localhost", "app", "latest", NULL, NULL},
        {"docker://localhost:5000/a/b:t", "localhost:5000", "a/b", "t", NULL,
         "docker://localhost:5000/a/b:t"},
        {"docker://127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", NULL, NULL},
        {"docker://[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, NULL},
        {"docker://alpine@" D256, "docker.io", "library/alpine", NULL, D256,
         "docker://docker.io/library/alpine@" D256},
        {"docker://reg.example:443/a/b:t@" D256, "reg.example:443", "a/b", "t", D256,
         "docker://reg.example:443/a/b:t@" D256},
        {"docker://my-reg.example/a.b/c__d/e---f", "my-reg.example", "a.b/c__d/e---f", "latest",
         NULL, NULL},
        /* a first component without '.', ':' and not localhost is a path component */
        {"docker://registry/app", "docker.io", "registry/app", "latest", NULL, NULL},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        int r = cocoimg_reference_parse(&ref, v[i].in, &err);
        if (r < 0)
            printf("# '%s': %s\n", v[i].in, cocoimg_error_message(err));
        CHECK(r == 0);
        CHECK(cocoimg_reference_transport(ref) == COCOIMG_TRANSPORT_DOCKER);
        if (!streq(cocoimg_reference_repository(ref), v[i].repo))
            printf("# '%s': repo '%s'\n", v[i].in, cocoimg_reference_repository(ref));
        CHECK(streq(cocoimg_reference_registry(ref), v[i].registry));
        CHECK(streq(cocoimg_reference_repository(ref), v[i].repo));
        CHECK(streq(cocoimg_reference_tag(ref), v[i].tag));
        CHECK(streq(cocoimg_reference_digest(ref), v[i].digest));
        CHECK(cocoimg_reference_path(ref) == NULL);
        CHECK(cocoimg_reference_ref_name(ref) == NULL);
        if (v[i].canon)
            CHECK(streq(cocoimg_reference_string(ref), v[i].canon));
        /* the canonical form parses back to itself */
        _cleanup_(cocoimg_reference_freep) cocoimg_reference *again = NULL;
        CHECK_OK(cocoimg_reference_parse(&again, cocoimg_reference_string(ref), NULL));
        CHECK(streq(cocoimg_reference_string(again), cocoimg_reference_string(ref)));
    }
    return 0;
}

static int
test_rejections(void)
{
    static const struct {
        const char *in, *msg;
    } v[] = {
        {"oci:dir:../x", "'.' or '..'"},
        {"oci:dir:a/../b", "'.' or '..'"},
        {"oci:dir:./x", "'.' or '..'"},
        {"oci:dir:a//b", "empty path component"},
        {"oci:dir:/a", "leading or trailing"},
        {"oci:dir:a/", "leading or trailing"},
        {"oci:dir:-a", "ref name"},
        {"oci:dir:a..b", "ref name"},
        {"oci:dir:a b", "ref name"},
        {"oci:", "empty path"},
        {"oci::v1", "empty path"},
        {"oci-archive:", "empty path"},
        {"foo:bar", "unknown transport"},
        {"", "unknown transport"},
        {"dir:/tmp/x", "unknown transport"},
        {"docker:alpine", "unknown transport"},
        {"docker://", "empty image name"},
        {"docker://UPPER/x", "lowercase"},
        {"docker://Alpine", "lowercase"},
        {"docker://alpine:", "invalid tag"},
        {"docker://alpine:-bad", "invalid tag"},
        {"docker://alpine:a/b", "invalid registry"},
        {"docker://alpine:"
         "a12345678901234567890123456789012345678901234567890"
         "1234567890123456789012345678901234567890"
         "12345678901234567890123456789012345678",
         "invalid tag"},
        {"docker://alpine@sha256:abc", "digest"},
        {"docker://alpine@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "digest"},
        {"docker://alpine@md5:0123", "digest"},
        {"docker://a//b", "invalid repository"},
        {"docker://a/", "invalid repository"},
        {"docker://reg.example/", "invalid repository"},
        {"docker://-reg.example/app", "invalid registry"},
        {"docker://reg.example:99999999/app", "invalid registry"},
        {"docker://reg.example:/app", "invalid registry"},
        {"docker://a_/b", "invalid repository"},
        {"docker://a___b", "invalid repository"},
        {"docker://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image ID"},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        cocoimg_reference *ref = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        int r = cocoimg_reference_parse(&ref, v[i].in, &err);
        if (r != COCOIMG_EINVAL || !strstr(cocoimg_error_message(err), v[i].msg))
            printf("# '%s': r=%d '%s'\n", v[i].in, r, err ? cocoimg_error_message(err) : "");
        CHECK(r == COCOIMG_EINVAL);
        CHECK(ref == NULL);
        CHECK(strstr(cocoimg_error_message(err), v[i].msg) != NULL);
    }
    /* too long */
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "oci:", 4);
    big[sizeof(big) - 1] = '\0';
    cocoimg_reference *ref = NULL;
    CHECK(cocoimg_reference_parse(&ref, big, NULL) == COCOIMG_EINVAL);
    /* a name over 255 characters */
    char longname[300] = "docker://reg.example/";
    memset(longname + strlen(longname), 'a', 250);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(cocoimg_reference_parse(&ref, longname, NULL) == COCOIMG_EINVAL);
    CHECK(cocoimg_reference_parse(&ref, NULL, NULL) == COCOIMG_EINVAL);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_oci),
    TAP_TEST(test_docker),
    TAP_TEST(test_rejections),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
