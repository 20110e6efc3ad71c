/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gRPC core is opened on first use (keyprovider/grpc.c).  This program
 * is built from grpc.c with COCOIMG__GRPC_LIBRARY naming a library that
 * does not exist: a call and a server then fail with a clear
 * COCOIMG_ENOTSUP that names the library, every time, and nothing is
 * sent.  (keyprovider.sh covers the library that loads.)
 */
#include <string.h>

#include "grpc.h"
#include "tap.h"
#include "util/error.h"

static int
handler(void *ud, enum cocoimg__kp_method m, const uint8_t *in, size_t in_len, uint8_t **out,
        size_t *out_len, cocoimg_error **err)
{
    (void)ud, (void)m, (void)in, (void)in_len, (void)out, (void)out_len, (void)err;
    return -1;
}

static int
load_fails(int r, cocoimg_error *e)
{
    const char *msg = cocoimg_error_message(e);
    printf("# %s\n", msg ? msg : "(no message)");
    CHECK(r == COCOIMG_ENOTSUP);
    CHECK(msg && strstr(msg, "cannot load the gRPC C core"));
    CHECK(strstr(msg, "libcocoimg-test-no-such-grpc.so.0"));
    /* the request's bytes are not part of it */
    CHECK(!strstr(msg, "keywrap"));
    return 0;
}

static int
test_call_without_the_core(void)
{
    static const uint8_t req[] = "{\"op\":\"keywrap\"}";
    for (int i = 0; i < 2; i++) {
        uint8_t *out = NULL;
        size_t out_len = 0;
        cocoimg_error *e = NULL;
        int r = cocoimg__grpc_call("127.0.0.1:1", NULL, COCOIMG__KP_WRAP, req, sizeof(req) - 1,
                                   &out, &out_len, 4096, 1000, &e);
        int t = load_fails(r, e);
        cocoimg_error_free(e);
        CHECK(!out);
        if (t < 0)
            return t;
    }
    return 0;
}

static int
test_server_without_the_core(void)
{
    cocoimg__grpc_server *s = NULL;
    cocoimg_error *e = NULL;
    int r = cocoimg__grpc_server_new(&s, "127.0.0.1:0", 1, 4096, handler, NULL, &e);
    int t = load_fails(r, e);
    cocoimg_error_free(e);
    CHECK(!s);
    return t;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_call_without_the_core),
    TAP_TEST(test_server_without_the_core),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
