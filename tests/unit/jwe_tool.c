/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only front end of the JWE key wrapper, for cross-checks with other
 * JOSE implementations (tests/integration/jwe-jwcrypto.sh):
 *   jwe_tool wrap PUBKEY... < plaintext > jwe
 *   jwe_tool unwrap KEY[:PASSWORD]... < jwe > plaintext
 *   jwe_tool describe < jwe
 * Exits with the negated COCOIMG_E* code on failure (EAUTH = 9, ...), 100
 * on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt/config.h"
#include "crypt/keys.h"
#include "crypt/keywrap.h"

#define TOOL_MAX_INPUT (4u * 1024 * 1024)

static int
fail(int r, cocoimg_error *e)
{
    fprintf(stderr, "jwe_tool: %s\n", e ? cocoimg_error_message(e) : "failed");
    cocoimg_error_free(e);
    return -r;
}

static uint8_t *
read_stdin(size_t *len)
{
    uint8_t *buf = malloc(TOOL_MAX_INPUT + 1);
    if (!buf)
        return NULL;
    *len = fread(buf, 1, TOOL_MAX_INPUT + 1, stdin);
    if (*len > TOOL_MAX_INPUT) {
        free(buf);
        return NULL;
    }
    return buf;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "describe") != 0 && argc < 3)) {
        fprintf(stderr, "usage: jwe_tool wrap PUBKEY... | unwrap KEY... | describe\n");
        return 100;
    }
    cocoimg_error *e = NULL;
    cocoimg__crypt_config *cfg = NULL;
    size_t len;
    uint8_t *in = read_stdin(&len);
    if (!in || cocoimg__crypt_config_new(&cfg, &e) < 0) {
        free(in);
        return fail(COCOIMG_ENOMEM, e);
    }
    int r = 0;
    const struct cocoimg__keywrapper *w = &cocoimg__keywrap_jwe;
    if (strcmp(argv[1], "wrap") == 0) {
        for (int i = 2; r == 0 && i < argc; i++) {
            char spec[4096];
            snprintf(spec, sizeof(spec), "jwe:%s", argv[i]);
            r = cocoimg__crypt_config_add_recipient(cfg, spec, &e);
        }
        cocoimg__secret opts = {in, len, 0};
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (r == 0 &&
            (r = cocoimg__keywrap_wrap_blob(w, cfg->state[w->id], &opts, &out, &out_len, &e)) == 0)
            fwrite(out, 1, out_len, stdout);
        free(out);
    } else if (strcmp(argv[1], "unwrap") == 0) {
        for (int i = 2; r == 0 && i < argc; i++)
            r = cocoimg__crypt_config_add_key(cfg, argv[i], &e);
        cocoimg__secret *out = NULL;
        if (r == 0 && (r = w->unwrap(cfg, NULL, w->annotation, in, len, &out, &e)) == 0)
            fwrite(out->ptr, 1, out->len, stdout);
        cocoimg__secret_free(out);
    } else if (strcmp(argv[1], "describe") == 0) {
        json_t *d = NULL;
        if ((r = w->describe(in, len, &d, &e)) == 0) {
            char *s = json_dumps(d, JSON_COMPACT);
            puts(s);
            free(s);
            json_decref(d);
        }
    } else {
        r = COCOIMG_EINVAL;
        fprintf(stderr, "jwe_tool: unknown command '%s'\n", argv[1]);
    }
    free(in);
    cocoimg__crypt_config_free(cfg);
    return r < 0 ? fail(r, e) : 0;
}
