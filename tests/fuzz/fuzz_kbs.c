/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz every parser of a KBS answer with one input: the challenge, the
 * attest response (token and claims), trustee's error body, the JWE
 * resource response (decrypted with the TEST-ONLY key of the spec
 * vectors, so the seed taken from the JWE vector decrypts fully), the
 * Set-Cookie header, the resource URI, and JCS of whatever parses as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs_int.h"

/* d, x, y of tests/vectors/coco/kbs/tee-key-p256.TEST-ONLY.jwk.json */
static const char test_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"G0ktWRIU9lpJNoizsFqW4KqUbZRGFy4TaElV_ZAo3pI\","
    "\"y\":\"w_OOA0YMNRoi1M6iYVqFbHbtIkwyz4B0t6fEv6YKm9A\","
    "\"d\":\"LijNPKwj2tkAaIvREMqgAqQFxYTGydj5dRX5LdVj4XE\"}";

static EVP_PKEY *key;

__attribute__((destructor)) static void
teardown(void)
{
    EVP_PKEY_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key) {
        json_t *j = json_loads(test_jwk, 0, NULL);
        if (!j || cocoimg__tee_key_from_jwk(&key, j, NULL) < 0)
            abort();
        json_decref(j);
    }
    cocoimg_error *err = NULL;

    struct cocoimg__kbs_challenge c = {0};
    int r = cocoimg__kbs_challenge_parse(&c, data, size, &err);
    if ((r == 0) != (c.nonce != NULL) || (r < 0) != (err != NULL) || (r == 0 && !c.hash))
        abort();
    cocoimg__kbs_challenge_clear(&c);
    cocoimg_error_free(err);
    err = NULL;

    char *tok = NULL;
    json_t *claims = NULL;
    int64_t exp = -1;
    r = cocoimg__kbs_token_parse(&tok, &claims, &exp, data, size, &err);
    if ((r == 0) != (tok != NULL && claims != NULL) || (r < 0) != (err != NULL) ||
        (r == 0 && exp < 0))
        abort();
    free(tok);
    json_decref(claims);
    cocoimg_error_free(err);
    err = NULL;

    char *name = NULL, *detail = NULL;
    r = cocoimg__kbs_error_parse(&name, &detail, data, size, &err);
    if ((r == 0) != (name && detail) || (r == 0 && (strchr(detail, '\n') || strchr(name, '\n'))))
        abort();
    free(name);
    free(detail);
    cocoimg_error_free(err);
    err = NULL;

    cocoimg__secret *pt = NULL;
    r = cocoimg__kbs_jwe_decrypt(&pt, key, data, size, &err);
    if ((r == 0) != (pt != NULL) || (r < 0) != (err != NULL))
        abort();
    cocoimg__secret_free(pt);
    cocoimg_error_free(err);
    err = NULL;

    struct cocoimg__kbs_resp resp = {0};
    cocoimg__kbs_parse_set_cookie(&resp, (const char *)data, size, 1000000);
    if (resp.cookie && strpbrk(resp.cookie, " ;\r\n\""))
        abort();
    cocoimg__kbs_resp_clear(&resp);

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *path = NULL;
    r = cocoimg__kbs_uri_path(&path, s, &err);
    if ((r == 0) != (path != NULL) || (path && strpbrk(path, " #\r\n")))
        abort();
    free(path);
    free(s);
    cocoimg_error_free(err);
    err = NULL;

    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (j) {
        char *canon = NULL;
        size_t clen = 0;
        if (cocoimg__jcs(&canon, &clen, j, &err) == 0) {
            /* canonical JSON reads back as the same value and is a fixed point */
            json_t *back = json_loadb(canon, clen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            char *again = NULL;
            /* (jansson cannot read back integers beyond 64 bits) */
            if (back && (cocoimg__jcs(&again, NULL, back, NULL) < 0 || strcmp(again, canon) != 0))
                abort();
            free(again);
            json_decref(back);
            free(canon);
        }
        cocoimg_error_free(err);
        json_decref(j);
    }
    return 0;
}
