/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for the key-provider unwrap callback, through the public
 * API only:  unwrap_cb_tool decrypt|unpack SRC DST
 * The callback serves provider "test": an item "TEST:<privopts>" unwraps to
 * <privopts>; anything else is "not my key".  Exit status: 0, or minus the
 * COCOIMG_E* code.
 */
#include <cocoimg/cocoimg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int calls;

static int
unwrap(void *payload, const char *provider, const uint8_t *wrapped, size_t len, uint8_t **out,
       size_t *out_len)
{
    (void)payload;
    calls++;
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
    if (argc != 4) {
        fprintf(stderr, "usage: unwrap_cb_tool decrypt|unpack SRC DST\n");
        return 2;
    }
    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_context_new(&ctx, &err) < 0)
        return 1;
    cocoimg_crypt_options co = COCOIMG_CRYPT_OPTIONS_INIT;
    co.unwrap_cb = unwrap;
    int r;
    if (strcmp(argv[1], "unpack") == 0) {
        cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
        uo.crypt = &co;
        r = cocoimg_unpack(ctx, argv[2], argv[3], &uo, &err);
    } else {
        r = cocoimg_decrypt(ctx, argv[2], argv[3], &co, &err);
    }
    if (r < 0)
        fprintf(stderr, "unwrap_cb_tool: %s\n", cocoimg_error_message(err));
    fprintf(stderr, "unwrap_cb_tool: %d callback calls\n", calls);
    cocoimg_error_free(err);
    cocoimg_context_free(ctx);
    return r < 0 ? -r : 0;
}
