/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "oci/digest.h"
#include "tap.h"

#define ABC256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EMPTY512                                                                                   \
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"                             \
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define ABC512                                                                                     \
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"                             \
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static int
test_known_answers(void)
{
    cocoimg__digest d;
    char s[COCOIMG_DIGEST_STRMAX], hex[129];
    CHECK_OK(cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, "abc", 3, NULL));
    CHECK(d.alg == COCOIMG_DIGEST_SHA256 && d.len == 32);
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha256:" ABC256) == 0);
    cocoimg__digest_hex(&d, hex);
    CHECK(strcmp(hex, ABC256) == 0);

    CHECK_OK(cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA256, "", 0, NULL));
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha256:" EMPTY256) == 0);

    CHECK_OK(cocoimg__digest_buffer(&d, COCOIMG_DIGEST_SHA512, "", 0, NULL));
    CHECK(d.alg == COCOIMG_DIGEST_SHA512 && d.len == 64);
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha512:" EMPTY512) == 0);
    CHECK(strlen(s) == COCOIMG_DIGEST_STRMAX - 1);

    CHECK(strcmp(cocoimg__digest_alg_name(COCOIMG_DIGEST_SHA256), "sha256") == 0);
    CHECK(strcmp(cocoimg__digest_alg_name(COCOIMG_DIGEST_SHA512), "sha512") == 0);
    return 0;
}

static int
test_streaming_and_reuse(void)
{
    _cleanup_(cocoimg__hasher_freep) cocoimg__hasher *h = NULL;
    cocoimg__digest d;
    char s[COCOIMG_DIGEST_STRMAX];
    CHECK_OK(cocoimg__hasher_new(&h, COCOIMG_DIGEST_SHA512, NULL));
    CHECK_OK(cocoimg__hasher_update(h, "a", 1, NULL));
    CHECK_OK(cocoimg__hasher_update(h, "", 0, NULL));
    CHECK_OK(cocoimg__hasher_update(h, "bc", 2, NULL));
    CHECK_OK(cocoimg__hasher_final(h, &d, NULL));
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha512:" ABC512) == 0);
    /* final leaves the hasher reset: nothing hashed since gives the empty digest */
    CHECK_OK(cocoimg__hasher_final(h, &d, NULL));
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha512:" EMPTY512) == 0);
    /* an explicit reset discards partial input */
    CHECK_OK(cocoimg__hasher_update(h, "junk", 4, NULL));
    CHECK_OK(cocoimg__hasher_reset(h, NULL));
    CHECK_OK(cocoimg__hasher_update(h, "abc", 3, NULL));
    CHECK_OK(cocoimg__hasher_final(h, &d, NULL));
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha512:" ABC512) == 0);

    /* 1,000,000 x 'a' (FIPS 180-2 vector) in uneven chunks */
    _cleanup_(cocoimg__hasher_freep) cocoimg__hasher *h2 = NULL;
    CHECK_OK(cocoimg__hasher_new(&h2, COCOIMG_DIGEST_SHA256, NULL));
    char a[4099];
    memset(a, 'a', sizeof(a));
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof(a) ? left : sizeof(a);
        CHECK_OK(cocoimg__hasher_update(h2, a, n, NULL));
        left -= n;
    }
    CHECK_OK(cocoimg__hasher_final(h2, &d, NULL));
    cocoimg__digest_format(&d, s);
    CHECK(strcmp(s, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") ==
          0);
    return 0;
}

static int
test_parse_roundtrip(void)
{
    static const char *ok[] = {"sha256:" ABC256, "sha512:" EMPTY512, "sha256:" EMPTY256};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(ok); i++) {
        cocoimg__digest d;
        char s[COCOIMG_DIGEST_STRMAX];
        CHECK_OK(cocoimg__digest_parse(&d, ok[i], NULL));
        cocoimg__digest_format(&d, s);
        CHECK(strcmp(s, ok[i]) == 0);
    }
    cocoimg__digest a, b, c, e;
    CHECK_OK(cocoimg__digest_parse(&a, "sha256:" ABC256, NULL));
    CHECK_OK(cocoimg__digest_buffer(&b, COCOIMG_DIGEST_SHA256, "abc", 3, NULL));
    CHECK(cocoimg__digest_equal(&a, &b));
    CHECK_OK(cocoimg__digest_parse(&c, "sha256:" EMPTY256, NULL));
    CHECK(!cocoimg__digest_equal(&a, &c));
    /* same leading bytes, different algorithm */
    CHECK_OK(cocoimg__digest_buffer(&e, COCOIMG_DIGEST_SHA512, "abc", 3, NULL));
    memcpy(e.bytes, a.bytes, 32);
    CHECK(!cocoimg__digest_equal(&a, &e));
    return 0;
}

static int
test_parse_rejects(void)
{
    static const struct {
        const char *s;
        int code;
    } bad[] = {
        {"", COCOIMG_EFORMAT},
        {":", COCOIMG_EFORMAT},
        {"sha256:", COCOIMG_EFORMAT},
        {":" ABC256, COCOIMG_EFORMAT},
        {"sha256" ABC256, COCOIMG_EFORMAT},  /* missing colon */
        {"SHA256:" ABC256, COCOIMG_EFORMAT}, /* uppercase algorithm */
        {"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
         COCOIMG_EFORMAT}, /* uppercase hex */
        {"sha256:Ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
         COCOIMG_EFORMAT},
        {"sha256:" ABC256 "0", COCOIMG_EFORMAT}, /* too long */
        {"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
         COCOIMG_EFORMAT},                   /* too short */
        {"sha512:" ABC256, COCOIMG_EFORMAT}, /* sha256 length for sha512 */
        {"sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
         COCOIMG_EFORMAT}, /* not hex */
        {"sha256:" ABC256 " ", COCOIMG_EFORMAT},
        {" sha256:" ABC256, COCOIMG_EFORMAT},
        {"sha256:" ABC256 "\n", COCOIMG_EFORMAT},
        {"sha256::" ABC256, COCOIMG_EFORMAT},
        {"sha256+:" ABC256, COCOIMG_EFORMAT}, /* dangling separator */
        {"+sha256:" ABC256, COCOIMG_EFORMAT},
        {"sha..256:" ABC256, COCOIMG_EFORMAT},
        {"sha384:abc+", COCOIMG_EFORMAT},    /* bad encoded char */
        {"sha384:" ABC256, COCOIMG_ENOTSUP}, /* well-formed, unknown alg */
        {"md5:d41d8cd98f00b204e9800998ecf8427e", COCOIMG_ENOTSUP},
        {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", COCOIMG_ENOTSUP},
        {"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", COCOIMG_ENOTSUP},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad); i++) {
        _cleanup_error_ cocoimg_error *err = NULL;
        cocoimg__digest d = {0};
        int r = cocoimg__digest_parse(&d, bad[i].s, &err);
        if (r != bad[i].code)
            printf("# '%s': got %d want %d\n", bad[i].s, r, bad[i].code);
        CHECK(r == bad[i].code);
        CHECK(cocoimg_error_code(err) == bad[i].code);
        CHECK(strchr(cocoimg_error_message(err), '\n') == NULL);
        CHECK(d.len == 0); /* output untouched on failure */
    }
    CHECK(cocoimg__digest_parse(&(cocoimg__digest){0}, NULL, NULL) == COCOIMG_EFORMAT);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_known_answers),
    TAP_TEST(test_streaming_and_reuse),
    TAP_TEST(test_parse_roundtrip),
    TAP_TEST(test_parse_rejects),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
