/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/json.h"
#include "util/secret.h"
#include "util/strbuf.h"

static int
inner(cocoimg_error **err)
{
    return cocoimg__error_set(err, COCOIMG_EDIGEST, 0, "blob '%s' does not match", "x");
}

static int
test_error_wrap(void)
{
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = inner(&err);
    CHECK(r == COCOIMG_EDIGEST);
    r = cocoimg__error_wrap(&err, r, "layer %d", 2);
    r = cocoimg__error_wrap(&err, r, "copy");
    CHECK(r == COCOIMG_EDIGEST);
    CHECK(cocoimg_error_code(err) == COCOIMG_EDIGEST);
    CHECK(strcmp(cocoimg_error_message(err), "copy: layer 2: blob 'x' does not match") == 0);
    /* the first error wins */
    cocoimg__error_set(&err, COCOIMG_EIO, 5, "later");
    CHECK(cocoimg_error_code(err) == COCOIMG_EDIGEST);
    /* NULL err is allowed everywhere */
    CHECK(inner(NULL) == COCOIMG_EDIGEST);
    CHECK(cocoimg__error_wrap(NULL, COCOIMG_EIO, "x") == COCOIMG_EIO);
    return 0;
}

static int
test_error_oom_static(void)
{
    cocoimg_error *err = NULL;
    cocoimg__error_oom(&err);
    CHECK(cocoimg_error_code(err) == COCOIMG_ENOMEM);
    cocoimg__error_wrap(&err, COCOIMG_ENOMEM, "ctx");
    CHECK(strcmp(cocoimg_error_message(err), "out of memory") == 0);
    cocoimg_error_free(err); /* no-op on the static error */
    CHECK(strcmp(cocoimg_strerror(COCOIMG_EAUTH), "authentication failed") == 0);
    return 0;
}

static int
test_base64(void)
{
    static const struct {
        const char *in, *std, *url;
    } v[] = {{"", "", ""},
             {"f", "Zg==", "Zg"},
             {"fo", "Zm8=", "Zm8"},
             {"foo", "Zm9v", "Zm9v"},
             {"foob", "Zm9vYg==", "Zm9vYg"},
             {"\xfb\xff", "+/8=", "-_8"}};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        _cleanup_free_ char *s = NULL, *u = NULL;
        _cleanup_free_ uint8_t *d = NULL, *e = NULL;
        size_t dl = 0, el = 0;
        CHECK_OK(cocoimg__b64_encode(&s, v[i].in, strlen(v[i].in), COCOIMG_B64_STD, NULL));
        CHECK(strcmp(s, v[i].std) == 0);
        CHECK_OK(cocoimg__b64_encode(&u, v[i].in, strlen(v[i].in), COCOIMG_B64_URL, NULL));
        CHECK(strcmp(u, v[i].url) == 0);
        CHECK_OK(cocoimg__b64_decode(&d, &dl, s, strlen(s), COCOIMG_B64_STD, "t", NULL));
        CHECK(dl == strlen(v[i].in) && memcmp(d, v[i].in, dl) == 0);
        CHECK_OK(cocoimg__b64_decode(&e, &el, u, strlen(u), COCOIMG_B64_URL, "t", NULL));
        CHECK(el == strlen(v[i].in) && memcmp(e, v[i].in, el) == 0);
    }
    static const char *bad_std[] = {"Zg=",  "Zg",    "Z===", "Zh==", "Zm9v\n",
                                    "-_8=", "Zm9vY", "====", "Zg=a"};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad_std); i++) {
        _cleanup_error_ cocoimg_error *err = NULL;
        _cleanup_free_ uint8_t *d = NULL;
        size_t dl;
        int r = cocoimg__b64_decode(&d, &dl, bad_std[i], strlen(bad_std[i]), COCOIMG_B64_STD,
                                    "annotation", &err);
        if (r != COCOIMG_EFORMAT)
            printf("# accepted bad base64 '%s'\n", bad_std[i]);
        CHECK(r == COCOIMG_EFORMAT);
        CHECK(strstr(cocoimg_error_message(err), "annotation") != NULL);
    }
    return 0;
}

static int
test_json_limits(void)
{
    _cleanup_error_ cocoimg_error *err = NULL;
    json_t *j = NULL;
    const char doc[] = "{\"a\":1,\"a\":2}";
    CHECK(cocoimg__json_loadb(&j, doc, strlen(doc), 1024, true, "manifest", &err) ==
          COCOIMG_EFORMAT);
    cocoimg_error_free(err);
    err = NULL;
    CHECK(cocoimg__json_loadb(&j, "[1]", 3, 1024, true, "manifest", &err) == COCOIMG_EFORMAT);
    cocoimg_error_free(err);
    err = NULL;
    CHECK(cocoimg__json_loadb(&j, "{}", 2, 1, true, "manifest", &err) == COCOIMG_ELIMIT);
    _cleanup_json_ json_t *ok = NULL;
    const char good[] = "{\"z\":1,\"a\":{\"k\":\"v\"}}";
    CHECK_OK(cocoimg__json_loadb(&ok, good, strlen(good), 1024, true, "m", NULL));
    _cleanup_free_ char *out = NULL;
    size_t n;
    CHECK_OK(cocoimg__json_dump(&out, &n, ok, NULL));
    CHECK(strcmp(out, good) == 0 && n == strlen(good)); /* order preserved */
    CHECK(cocoimg__json_opt_string_map(ok, "a", "m", NULL) == 0);
    CHECK(cocoimg__json_opt_string(ok, "z", "m", NULL) == COCOIMG_EFORMAT);
    return 0;
}

/* The VmFlags of the mapping that holds @p p in /proc/self/smaps ("" if none). */
static void
vmflags(char *out, size_t size, const void *p)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return;
    char line[512];
    bool in = false;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = a >= lo && a < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, size, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

/* a JSON error never quotes the document (key files, auth.json are secret) */
static int
test_json_error_no_input(void)
{
    static const char *const docs[] = {
        "{\"kty\":\"RSA\",\"n\":\"hunter2secret",
        "{\"auths\":{\"r\":{\"auth\":\"aHVudGVy\", hunter2}}}",
        "hunter2",
        "{\"a\": 1, \"a\": \"hunter2\"}",
        "[\"hunter2\" \"x\"]",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *j = NULL;
        cocoimg_error *e = NULL;
        CHECK(cocoimg__json_loadb(&j, docs[i], strlen(docs[i]), 1 << 20, false, "key file", &e) ==
              COCOIMG_EFORMAT);
        printf("# %s\n", cocoimg_error_message(e));
        CHECK(strstr(cocoimg_error_message(e), "malformed JSON at line"));
        CHECK(!strstr(cocoimg_error_message(e), "hunter") &&
              !strstr(cocoimg_error_message(e), "aHVu"));
        cocoimg_error_free(e);
    }
    return 0;
}

static int
test_secret(void)
{
    _cleanup_secret_ cocoimg__secret *s = NULL;
    CHECK_OK(cocoimg__secret_dup(&s, "key!", 4, NULL));
    CHECK(s->len == 4 && memcmp(s->ptr, "key!", 4) == 0);
    /* its own mapping, left out of core dumps (VmFlags "dd") */
    char flags[512];
    vmflags(flags, sizeof(flags), s->ptr);
    printf("# secret mapping VmFlags:%s", flags);
    CHECK(strstr(flags, " dd") != NULL);
    /* a large one, zero-filled, whole */
    _cleanup_secret_ cocoimg__secret *big = NULL;
    CHECK_OK(cocoimg__secret_new(&big, 3 * 4096 + 5, NULL));
    for (size_t i = 0; i < big->len; i++)
        CHECK(big->ptr[i] == 0);
    memset(big->ptr, 0xa5, big->len);
    vmflags(flags, sizeof(flags), big->ptr + big->len - 1);
    CHECK(strstr(flags, " dd") != NULL);
    return 0;
}

static int
test_strbuf(void)
{
    struct cocoimg__strbuf b = {0};
    cocoimg__strbuf_put(&b, "", 0); /* the buffer exists, empty */
    CHECK(!b.oom && b.p && b.len == 0 && b.p[0] == '\0');
    for (int i = 0; i < 100; i++)
        cocoimg__strbuf_put(&b, "0123456789", 10);
    CHECK(!b.oom && b.len == 1000 && strlen(b.p) == 1000 && b.cap > 1000);
    CHECK(memcmp(b.p + 990, "0123456789", 10) == 0);
    /* a length that would overflow the size arithmetic: out of memory, sticky, s not read */
    cocoimg__strbuf_put(&b, NULL, SIZE_MAX);
    CHECK(b.oom && b.len == 1000);
    cocoimg__strbuf_put(&b, "x", 1);
    CHECK(b.oom && b.len == 1000);
    free(b.p);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_error_wrap), TAP_TEST(test_error_oom_static),
    TAP_TEST(test_base64),     TAP_TEST(test_json_limits),
    TAP_TEST(test_secret),     TAP_TEST(test_json_error_no_input),
    TAP_TEST(test_strbuf),     {0}};

int
main(void)
{
    return tap_run(tests);
}
