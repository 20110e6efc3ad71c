/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for the key provider (cocoimg_keyprovider), through the
 * public API only:
 *   keyprovider_tool decrypt|unpack SRC DST
 *   keyprovider_tool encrypt SRC DST RECIPIENT...
 * Provider "test": wrap gives "TEST:<privopts>"; an item "TEST:<privopts>" unwraps to
 * <privopts>; an item "DENY:<reason>" fails with COCOIMG_EAUTH and the
 * message "key service says: <reason>"; anything else is "not my key".
 * wrap with PARAMS "deny" fails with "key service refuses to wrap".
 * Both callbacks check they run on the calling thread.  Exit status: 0,
 * minus the COCOIMG_E* code, or 99 when a callback ran on another thread.
 */
#include <cocoimg/cocoimg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int calls;
static int wrong_thread;
static pthread_t caller;

static int
wrap(uint8_t **out, size_t *out_len, const char *provider, const char *params,
     const uint8_t *optsdata, size_t optsdata_len, cocoimg_error **err, void *payload)
{
    (void)payload;
    calls++;
    if (!pthread_equal(pthread_self(), caller))
        wrong_thread = 1;
    if (strcmp(provider, "test") != 0)
        return cocoimg_error_new(err, COCOIMG_ENOTFOUND, "no provider '%s' here", provider);
    if (params && strcmp(params, "deny") == 0)
        return cocoimg_error_new(err, COCOIMG_EAUTH, "key service refuses to wrap");
    if (!(*out = malloc(optsdata_len + 5)))
        return COCOIMG_ENOMEM;
    memcpy(*out, "TEST:", 5);
    memcpy(*out + 5, optsdata, optsdata_len);
    *out_len = optsdata_len + 5;
    return 0;
}

static int
unwrap(uint8_t **out, size_t *out_len, const char *provider, const uint8_t *wrapped, size_t len,
       cocoimg_error **err, void *payload)
{
    (void)payload;
    calls++;
    if (!pthread_equal(pthread_self(), caller))
        wrong_thread = 1;
    if (strcmp(provider, "test") == 0 && len >= 5 && memcmp(wrapped, "DENY:", 5) == 0)
        return cocoimg_error_new(err, COCOIMG_EAUTH, "key service says: %.*s", (int)(len - 5),
                                 (const char *)wrapped + 5);
    if (strcmp(provider, "test") != 0 || len < 5 || memcmp(wrapped, "TEST:", 5) != 0)
        return COCOIMG_ENOKEY;
    if (!(*out = malloc(len - 5)))
        return COCOIMG_ENOMEM;
    memcpy(*out, wrapped + 5, len - 5);
    *out_len = len - 5;
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "encrypt") == 0) != (argc > 4)) {
        fprintf(stderr, "usage: keyprovider_tool decrypt|unpack SRC DST\n"
                        "       keyprovider_tool encrypt SRC DST RECIPIENT...\n");
        return 2;
    }
    caller = pthread_self();
    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0)
        return 1;
    cocoimg_keyprovider kp = {COCOIMG_KEYPROVIDER_VERSION, wrap, unwrap, NULL};
    cocoimg_crypt_options co = COCOIMG_CRYPT_OPTIONS_INIT;
    co.keyprovider = &kp;
    int r;
    if (strcmp(argv[1], "unpack") == 0) {
        cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
        uo.crypt = &co;
        r = cocoimg_unpack(ctx, argv[2], argv[3], &uo, &err);
    } else if (strcmp(argv[1], "encrypt") == 0) {
        co.recipients = (const char *const *)argv + 4;
        co.n_recipients = (size_t)argc - 4;
        r = cocoimg_encrypt(ctx, argv[2], argv[3], &co, &err);
    } else {
        r = cocoimg_decrypt(ctx, argv[2], argv[3], &co, &err);
    }
    if (r < 0)
        fprintf(stderr, "keyprovider_tool: %s\n", cocoimg_error_message(err));
    fprintf(stderr, "keyprovider_tool: %d callback calls\n", calls);
    cocoimg_error_free(err);
    cocoimg_context_free(ctx);
    if (wrong_thread) {
        fprintf(stderr, "keyprovider_tool: a callback ran on a library thread\n");
        return 99;
    }
    return r < 0 ? -r : 0;
}
