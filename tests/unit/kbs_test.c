/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pieces of the KBS client (keyprovider/) against the spec vectors in
 * tests/vectors/coco/kbs (a copy of the shared ones): JCS, report_data and
 * the sample evidence, the Attestation message, the JWE resource response
 * with its intermediates, resource URIs, error bodies, the Set-Cookie and
 * token parsers.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attester.h"
#include "kbs_int.h"
#include "tap.h"
#include "util/base64.h"

static json_t *
vector(const char *name)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/vectors/coco/kbs/%s", top ? top : ".", name);
    json_error_t e;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        printf("# cannot load %s: %s\n", path, e.text);
    return j;
}

static int
hexeq(const uint8_t *b, size_t n, const char *hex)
{
    if (strlen(hex) != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v != b[i])
            return 0;
    }
    return 1;
}

static int
jcs_is(const char *json, const char *want)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char *out = NULL;
    int ok = j && cocoimg__jcs(&out, NULL, j, NULL) == 0 && strcmp(out, want) == 0;
    if (!ok)
        printf("# jcs(%s) = %s, want %s\n", json, out ? out : "(error)", want);
    free(out);
    json_decref(j);
    return ok;
}

static int
test_jcs_vector(void)
{
    json_t *v = vector("07-jcs-sha384-vector.json");
    CHECK(v);
    char *out = NULL;
    size_t len = 0;
    CHECK_OK(cocoimg__jcs(&out, &len, json_object_get(v, "input"), NULL));
    CHECK(strcmp(out, json_string_value(json_object_get(v, "jcs"))) == 0);
    uint8_t md[48];
    unsigned n = 0;
    CHECK(EVP_Digest(out, len, md, &n, EVP_sha384(), NULL) && n == 48);
    CHECK(hexeq(md, 48, json_string_value(json_object_get(v, "sha384_hex"))));
    free(out);
    json_decref(v);
    return 0;
}

/* RFC 8785 3.2.2 / 3.2.3 and appendix B samples. */
static int
test_jcs_rfc8785(void)
{
    /* sorting by UTF-16 code units: U+1F600 (D83D DE00) before U+FB33 */
    CHECK(jcs_is("{\"\\ufb33\":1,\"\\ud83d\\ude00\":2,\"\\u20ac\":3,\"\\r\":4,\"1\":5,"
                 "\"\\u0080\":6,\"\\u00f6\":7}",
                 "{\"\\r\":4,\"1\":5,\"\xc2\x80\":6,\"\xc3\xb6\":7,\"\xe2\x82\xac\":3,"
                 "\"\xf0\x9f\x98\x80\":2,\"\xef\xac\xb3\":1}"));
    CHECK(jcs_is("[\"\\u001f\\u0000\\b\\t\\n\\f\\r\\\"\\\\/\\u007f\"]",
                 "[\"\\u001f\\u0000\\b\\t\\n\\f\\r\\\"\\\\/\x7f\"]"));
    CHECK(jcs_is("[1e21, 1e-7, 0.000001, 123456789012345680000.0, 4.35, -0.0, 5e-324, "
                 "1.7976931348623157e308, 333333333.3333333, 1e23, 0.1, 100.0, 9007199254740993]",
                 "[1e+21,1e-7,0.000001,123456789012345680000,4.35,0,5e-324,"
                 "1.7976931348623157e+308,333333333.3333333,1e+23,0.1,100,9007199254740992]"));
    CHECK(jcs_is("{\"a\":{\"c\":[true,false,null],\"b\":{}},\"\":[]}",
                 "{\"\":[],\"a\":{\"b\":{},\"c\":[true,false,null]}}"));
    return 0;
}

static int
test_report_data_vector(void)
{
    json_t *att = vector("03-attest-request-sample.json");
    json_t *der = vector("03a-report-data-derivation.json");
    CHECK(att && der);
    json_t *rd = json_object_get(att, "runtime-data");
    const char *nonce = json_string_value(json_object_get(rd, "nonce"));
    json_t *jwk = json_object_get(rd, "tee-pubkey");
    uint8_t out[64];
    size_t len = 0;
    CHECK_OK(cocoimg__kbs_report_data(out, &len, &cocoimg__kbs_hash_default, nonce, jwk, "", NULL));
    CHECK(len == 48);
    CHECK(
        hexeq(out, len, json_string_value(json_object_get(der, "primary_report_data_sha384_hex"))));
    /* the canonical PRD string itself */
    json_t *prd =
        json_pack("{s:O,s:s,s:s}", "tee-pubkey", jwk, "nonce", nonce, "additional-evidence", "");
    char *canon = NULL;
    CHECK_OK(cocoimg__jcs(&canon, NULL, prd, NULL));
    CHECK(strcmp(canon, json_string_value(json_object_get(der, "primary_runtime_data_jcs"))) == 0);
    free(canon);
    json_decref(prd);
    /* the sample evidence and the whole Attestation message */
    json_t *ev = NULL;
    struct cocoimg__attester_env env = {NULL, ""};
    struct cocoimg__attester_claims claims = {0};
    CHECK_OK(cocoimg__attester_sample.evidence(&ev, &claims, &env, out, len, NULL));
    CHECK(
        json_equal(ev, json_object_get(json_object_get(att, "tee-evidence"), "primary_evidence")));
    char *msg = NULL;
    CHECK_OK(cocoimg__kbs_attestation_json(&msg, nonce, jwk, ev, "", NULL, NULL));
    json_t *mine = json_loads(msg, 0, NULL);
    CHECK(mine && json_equal(mine, att));
    free(msg);
    json_decref(mine);
    json_decref(ev);
    json_decref(att);
    json_decref(der);
    return 0;
}

static int
test_request_challenge(void)
{
    json_t *req = vector("01-auth-request.json");
    CHECK(req);
    char *s = NULL;
    CHECK_OK(cocoimg__kbs_request_json(&s, "0.4.0", "sample", NULL));
    json_t *mine = json_loads(s, 0, NULL);
    CHECK(mine && json_equal(mine, req));
    free(s);
    json_decref(mine);
    json_decref(req);

    json_t *ch = vector("02-auth-challenge.json");
    CHECK(ch);
    char *body = json_dumps(ch, 0);
    struct cocoimg__kbs_challenge c = {0};
    CHECK_OK(cocoimg__kbs_challenge_parse(&c, body, strlen(body), NULL));
    CHECK(strcmp(c.nonce, json_string_value(json_object_get(ch, "nonce"))) == 0);
    CHECK(c.hash == &cocoimg__kbs_hash_default);
    cocoimg__kbs_challenge_clear(&c);
    free(body);
    json_decref(ch);

    const char *sel = "{\"nonce\":\"n\",\"extra-params\":{\"selected-hash-algorithm\":\"SHA512\"}}";
    CHECK_OK(cocoimg__kbs_challenge_parse(&c, sel, strlen(sel), NULL));
    CHECK(strcmp(c.hash->name, "sha512") == 0 && c.hash->len == 64);
    cocoimg__kbs_challenge_clear(&c);
    static const struct {
        const char *body;
        int code;
    } bad[] = {
        {"{\"nonce\":\"n\",\"extra-params\":{\"selected-hash-algorithm\":\"md5\"}}",
         COCOIMG_ENOTSUP},
        {"{\"nonce\":\"n\",\"extra-params\":3}", COCOIMG_EFORMAT},
        {"{\"nonce\":\"\",\"extra-params\":\"\"}", COCOIMG_EFORMAT},
        {"{\"nonce\":\"a\\u0000b\"}", COCOIMG_EFORMAT},
        {"{\"nonce\":7}", COCOIMG_EFORMAT},
        {"[\"nonce\"]", COCOIMG_EFORMAT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cocoimg_error *e = NULL;
        CHECK(cocoimg__kbs_challenge_parse(&c, bad[i].body, strlen(bad[i].body), &e) ==
              bad[i].code);
        CHECK(cocoimg_error_code(e) == bad[i].code);
        cocoimg_error_free(e);
    }
    return 0;
}

static EVP_PKEY *
test_key(void)
{
    json_t *k = vector("tee-key-p256.TEST-ONLY.jwk.json");
    EVP_PKEY *pk = NULL;
    if (k && cocoimg__tee_key_from_jwk(&pk, json_object_get(k, "jwk"), NULL) < 0)
        pk = NULL;
    json_decref(k);
    return pk;
}

static int
decode_fixed(uint8_t *out, size_t n, const char *b64)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    if (cocoimg__b64_decode(&raw, &len, b64, strlen(b64), COCOIMG_B64_URL, "x", NULL) < 0)
        return 0;
    int ok = len == n;
    if (ok)
        memcpy(out, raw, n);
    free(raw);
    return ok;
}

static int
test_jwe_vector(void)
{
    json_t *v = vector("05-resource-response-ecdh-es-a256kw-p256.json");
    EVP_PKEY *key = test_key();
    CHECK(v && key);
    json_t *resp = json_object_get(v, "response"), *mid = json_object_get(v, "intermediate");
    /* the intermediates: Z from the epk, the Concat KDF's KEK */
    json_t *hdr =
        json_loads(json_string_value(json_object_get(mid, "protected_header_json")), 0, NULL);
    json_t *epk = json_object_get(hdr, "epk");
    uint8_t x[32], y[32], kek[32];
    CHECK(decode_fixed(x, 32, json_string_value(json_object_get(epk, "x"))));
    CHECK(decode_fixed(y, 32, json_string_value(json_object_get(epk, "y"))));
    cocoimg__secret *z = NULL;
    CHECK_OK(cocoimg__kbs_ecdh(&z, key, x, y, 32, NULL));
    CHECK(hexeq(z->ptr, z->len, json_string_value(json_object_get(mid, "ecdh_Z_hex"))));
    CHECK_OK(cocoimg__kbs_concat_kdf(kek, z->ptr, z->len, NULL));
    CHECK(hexeq(kek, 32, json_string_value(json_object_get(mid, "concat_kdf_kek_hex"))));
    cocoimg__secret_free(z);
    json_decref(hdr);
    /* the whole response */
    char *body = json_dumps(resp, 0);
    cocoimg__secret *pt = NULL;
    CHECK_OK(cocoimg__kbs_jwe_decrypt(&pt, key, body, strlen(body), NULL));
    const char *want = json_string_value(json_object_get(v, "expected_plaintext_utf8"));
    CHECK(pt->len == strlen(want) && memcmp(pt->ptr, want, pt->len) == 0);
    CHECK(pt->ptr[pt->len] == '\0');
    cocoimg__secret_free(pt);
    free(body);

    /* every alteration is refused, with the right code */
    static const struct {
        const char *member, *value;
        int code;
    } bad[] = {
        {"tag", "RzuxtgGI5v9Q91GslQbs2Q", COCOIMG_EAUTH},
        {"ciphertext", "uvGxBAtoIIQsnLdu", COCOIMG_EAUTH},
        {"encrypted_key", "aO0w2KScIOEl3q7HKOlJ0UCszmQMXmJ5RoZsPuCTaXpBUZtMYxB7OQ", COCOIMG_EAUTH},
        {"iv", "fc00f47FQzIFF3ge", COCOIMG_EAUTH},
        {"tag", "RzuxtgGI5v9Q91GslQbs", COCOIMG_EFORMAT},
        {"iv", "!!", COCOIMG_EFORMAT},
        {"aad", "ignored", 0},
        {"unprotected", "x", COCOIMG_ENOTSUP},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *c = json_deep_copy(resp);
        json_object_set_new(c, bad[i].member, json_string(bad[i].value));
        char *b = json_dumps(c, 0);
        cocoimg_error *e = NULL;
        int r = cocoimg__kbs_jwe_decrypt(&pt, key, b, strlen(b), &e);
        if (r != bad[i].code)
            printf("# %s: %d %s\n", bad[i].member, r, e ? cocoimg_error_message(e) : "");
        CHECK(r == bad[i].code);
        if (r == 0)
            cocoimg__secret_free(pt);
        cocoimg_error_free(e);
        free(b);
        json_decref(c);
    }
    /* the same header with other bytes: the AAD is the received string */
    static const struct {
        const char *header;
        int code;
    } hdrs[] = {
        {"{\"alg\": \"ECDH-ES+A256KW\", \"enc\": \"A256GCM\", \"epk\": {\"crv\": \"P-256\", "
         "\"kty\": \"EC\", \"x\": \"XnJCv9EMdXCLZCwNVG8VzATQ6NMqE1lHQiqnBZKXrsg\", \"y\": "
         "\"NPhUgUz2NGlcBXcc_WBuHBWqZxG5om5Zu3HmMvbkYJA\"}}",
         COCOIMG_EAUTH},
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\",\"epk\":{\"crv\":\"P-256\","
         "\"kty\":\"EC\",\"x\":\"XnJCv9EMdXCLZCwNVG8VzATQ6NMqE1lHQiqnBZKXrsg\",\"y\":"
         "\"NPhUgUz2NGlcBXcc_WBuHBWqZxG5om5Zu3HmMvbkYJA\"}}",
         COCOIMG_ENOTSUP},
        {"{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}", COCOIMG_ENOTSUP},
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\",\"epk\":{}}",
         COCOIMG_ENOTSUP},
        /* a point off the curve (y + 1) */
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":\"P-256\","
         "\"kty\":\"EC\",\"x\":\"XnJCv9EMdXCLZCwNVG8VzATQ6NMqE1lHQiqnBZKXrsg\",\"y\":"
         "\"NPhUgUz2NGlcBXcc_WBuHBWqZxG5om5Zu3HmMvbkYJE\"}}",
         COCOIMG_EFORMAT},
        {"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":\"P-384\","
         "\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}}",
         COCOIMG_ENOTSUP},
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *ph = NULL;
        CHECK_OK(cocoimg__b64_encode(&ph, hdrs[i].header, strlen(hdrs[i].header), COCOIMG_B64_URL,
                                     NULL));
        json_t *c = json_deep_copy(resp);
        json_object_set_new(c, "protected", json_string(ph));
        char *b = json_dumps(c, 0);
        cocoimg_error *e = NULL;
        int r = cocoimg__kbs_jwe_decrypt(&pt, key, b, strlen(b), &e);
        if (r != hdrs[i].code)
            printf("# header %zu: %d %s\n", i, r, e ? cocoimg_error_message(e) : "");
        CHECK(r == hdrs[i].code);
        cocoimg_error_free(e);
        free(b);
        free(ph);
        json_decref(c);
    }
    /* another TEE key cannot unwrap it */
    EVP_PKEY *other = NULL;
    CHECK_OK(cocoimg__tee_key_new(&other, NULL));
    body = json_dumps(resp, 0);
    CHECK(cocoimg__kbs_jwe_decrypt(&pt, other, body, strlen(body), NULL) == COCOIMG_EAUTH);
    free(body);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    json_decref(v);
    return 0;
}

/* Fresh TEE keys: exactly the five members, fixed-width coordinates. */
static int
test_tee_key_jwk(void)
{
    for (int i = 0; i < 300; i++) {
        EVP_PKEY *k = NULL;
        json_t *jwk = NULL;
        CHECK_OK(cocoimg__tee_key_new(&k, NULL));
        CHECK_OK(cocoimg__tee_key_jwk(&jwk, k, NULL));
        CHECK(json_object_size(jwk) == 5);
        CHECK(strcmp(cocoimg__json_str(jwk, "kty"), "EC") == 0);
        CHECK(strcmp(cocoimg__json_str(jwk, "crv"), "P-256") == 0);
        CHECK(strcmp(cocoimg__json_str(jwk, "alg"), "ECDH-ES+A256KW") == 0);
        CHECK(strlen(cocoimg__json_str(jwk, "x")) == 43 &&
              strlen(cocoimg__json_str(jwk, "y")) == 43);
        json_decref(jwk);
        EVP_PKEY_free(k);
    }
    return 0;
}

static int
test_uri(void)
{
    json_t *v = vector("08-resource-uri-mapping.json");
    CHECK(v);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(v, "cases"), i, c)
    {
        char *path = NULL;
        CHECK_OK(cocoimg__kbs_uri_path(&path, cocoimg__json_str(c, "uri"), NULL));
        const char *want = cocoimg__json_str(c, "http_path");
        CHECK(strncmp(want, "/kbs/v0/", 8) == 0);
        if (strcmp(path, want + 8) != 0)
            printf("# %s -> %s, want %s\n", cocoimg__json_str(c, "uri"), path, want);
        CHECK(strcmp(path, want + 8) == 0);
        free(path);
    }
    json_decref(v);
    static const char *const bad[] = {
        "/default/image-kek/0d2f",
        "default/key/1",
        "kbs:///",
        "kbs://host",
        "kbs:///a//b",
        "kbs:///a/../b",
        "kbs:///a/./b",
        "kbs:///a/b c",
        "kbs:///a/b#frag",
        "http://h/a/b/c",
        "kbs+:///a/b/c",
        "kbs+Bad:///a",
        "kbs:///a/%zz/c",
        "kbs:///a/b/c?x y",
        "kbs:///a/b\n",
    };
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *path = NULL;
        cocoimg_error *e = NULL;
        int r = cocoimg__kbs_uri_path(&path, bad[i], &e);
        if (r != COCOIMG_EINVAL)
            printf("# %s accepted (%s)\n", bad[i], path ? path : "");
        CHECK(r == COCOIMG_EINVAL && !path);
        CHECK(strstr(cocoimg_error_message(e), "resource URI"));
        CHECK(!strchr(cocoimg_error_message(e), '\n'));
        cocoimg_error_free(e);
    }
    return 0;
}

static int
test_error_body(void)
{
    json_t *v = vector("06-error-information.json");
    CHECK(v);
    static const char *const names[] = {"AttestationError", "TokenNotFound", "PolicyDeny",
                                        "InvalidRequestPath"};
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c)
    {
        char *b = json_dumps(c, 0), *name = NULL, *detail = NULL;
        CHECK_OK(cocoimg__kbs_error_parse(&name, &detail, b, strlen(b), NULL));
        CHECK(i < 4 && strcmp(name, names[i]) == 0);
        CHECK(strcmp(detail, cocoimg__json_str(c, "detail")) == 0);
        free(b);
        free(name);
        free(detail);
    }
    json_decref(v);
    /* control characters are neutralised, long details cut */
    const char *b = "{\"type\":\"other\",\"detail\":\"a\\nb\\u001bc\"}";
    char *name = NULL, *detail = NULL;
    CHECK_OK(cocoimg__kbs_error_parse(&name, &detail, b, strlen(b), NULL));
    CHECK(strcmp(name, "other") == 0 && strcmp(detail, "a?b?c") == 0);
    free(name);
    free(detail);
    CHECK(cocoimg__kbs_error_parse(&name, &detail, "service unavailable", 19, NULL) ==
          COCOIMG_EFORMAT);
    CHECK(cocoimg__kbs_error_parse(&name, &detail, "{\"type\":1,\"detail\":\"x\"}", 23, NULL) ==
          COCOIMG_EFORMAT);
    return 0;
}

static int
test_set_cookie(void)
{
    struct cocoimg__kbs_resp r = {0};
    const char *c1 = "kbs-session-id=0123abcd; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/";
    CHECK(cocoimg__kbs_parse_set_cookie(&r, c1, strlen(c1), 1000));
    CHECK(r.cookie_set && strcmp(r.cookie, "0123abcd") == 0 && r.cookie_expires == 2139722880);
    const char *c2 = "decoy=1; Path=/";
    cocoimg__kbs_resp_clear(&r);
    CHECK(!cocoimg__kbs_parse_set_cookie(&r, c2, strlen(c2), 1000) && !r.cookie_set);
    const char *c3 = "kbs-session-id=ab; expires=Wed, 21 Oct 2037 07:28:00 GMT; Max-Age=60";
    CHECK(cocoimg__kbs_parse_set_cookie(&r, c3, strlen(c3), 1000));
    CHECK(strcmp(r.cookie, "ab") == 0 && r.cookie_expires == 1060);
    const char *c4 = "kbs-session-id=ab; Expires=Thu, 01 Jan 1970 00:00:10 GMT";
    CHECK(cocoimg__kbs_parse_set_cookie(&r, c4, strlen(c4), 1000));
    CHECK(r.cookie_set && !r.cookie); /* already expired: removed */
    const char *c5 = "kbs-session-id=a\"b";
    cocoimg__kbs_resp_clear(&r);
    CHECK(!cocoimg__kbs_parse_set_cookie(&r, c5, strlen(c5), 1000) && !r.cookie_set);
    const char *c6 = "kbs-session-idx=1";
    CHECK(!cocoimg__kbs_parse_set_cookie(&r, c6, strlen(c6), 1000));
    const char *c7 = "kbs-session-id=zz";
    CHECK(cocoimg__kbs_parse_set_cookie(&r, c7, strlen(c7), 1000));
    CHECK(strcmp(r.cookie, "zz") == 0 && r.cookie_expires == 0);
    cocoimg__kbs_resp_clear(&r);
    return 0;
}

static int
test_token(void)
{
    /* header {"alg":"ES256"}, claims {"exp":2000000000,"sub":"x"} */
    const char *b =
        "{\"token\":\"eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjIwMDAwMDAwMDAsInN1YiI6IngifQ.c2ln\"}";
    char *tok = NULL;
    json_t *claims = NULL;
    int64_t exp = 0;
    CHECK_OK(cocoimg__kbs_token_parse(&tok, &claims, &exp, b, strlen(b), NULL));
    CHECK(exp == 2000000000 && strcmp(cocoimg__json_str(claims, "sub"), "x") == 0);
    CHECK(strncmp(tok, "eyJhbGciOiJFUzI1NiJ9.", 21) == 0);
    free(tok);
    json_decref(claims);
    static const char *const bad[] = {
        "{\"token\":\"a.b\"}",
        "{\"token\":\"a.b.c.d\"}",
        "{\"token\":\"eyJhbGciOiJFUzI1NiJ9.eyJleHAiOiJzb29uIn0.c2ln\"}", /* exp "soon" */
        "{\"token\":\"eyJhbGciOiJFUzI1NiJ9.WzFd.c2ln\"}",                /* claims [1] */
        "{\"token\":\"eyJhbGciOiJFUzI1NiJ9.e+J9.c2ln\"}",
        "{\"tok\":\"x\"}",
        "null",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cocoimg_error *e = NULL;
        CHECK(cocoimg__kbs_token_parse(&tok, &claims, &exp, bad[i], strlen(bad[i]), &e) ==
              COCOIMG_EFORMAT);
        cocoimg_error_free(e);
    }
    return 0;
}

/* init-data (spec 1.13): the two top-level keys, the digest of the raw text */
static int
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    return 0;
}

static int
test_initdata(void)
{
    char dir[] = "/tmp/cocoimg-initdata-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof(path), "%s/i.toml", dir);
    const char *good = "# comment\r\nversion = \"0.1.0\"  # trailing\r\n"
                       "algorithm = 'sha256'\n\n[data]\n\"x\" = \"algorithm = nothing\"\n";
    CHECK_OK(put(path, good));
    struct cocoimg__initdata d;
    CHECK_OK(cocoimg__initdata_load(&d, path, NULL));
    uint8_t want[32];
    unsigned int wl = 0;
    CHECK(EVP_Digest(good, strlen(good), want, &wl, EVP_sha256(), NULL) == 1);
    CHECK(d.digest_len == 32 && memcmp(d.digest, want, 32) == 0);
    CHECK(strcmp(d.algorithm, "sha256") == 0 && strcmp(d.text, good) == 0);
    /* MRCONFIGID: the digest zero-padded to 48; HOST_DATA: 32 */
    uint8_t field[48] = {0};
    memcpy(field, want, 32);
    CHECK_OK(cocoimg__initdata_check(&d, "MRCONFIGID", field, 48, NULL));
    CHECK_OK(cocoimg__initdata_check(&d, "HOST_DATA", field, 32, NULL));
    field[40] = 1;
    cocoimg_error *e = NULL;
    CHECK(cocoimg__initdata_check(&d, "MRCONFIGID", field, 48, &e) == COCOIMG_EAUTH);
    CHECK(e && strstr(cocoimg_error_message(e), "MRCONFIGID"));
    cocoimg_error_free(e);
    cocoimg__initdata_clear(&d);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"algorithm = \"sha384\"\n", "version"},
        {"version = \"0.2.0\"\nalgorithm = \"sha384\"\n", "version must be"},
        {"version = \"0.1.0\"\nalgorithm = \"sm3\"\n", "sha256, sha384 or sha512"},
        {"version = \"0.1.0\"\nalgorithm = \"sha384\"\nalgorithm = \"sha512\"\n", "twice"},
        {"version = \"0.1.0\"\nalgorithm = \"sha384\"\npolicy = \"x\"\n", "unknown top-level"},
        {"version = \"0.1.0\"\nalgorithm = sha384\n", "expected key"},
        {"version = \"0.1.0\"\n[data]\nalgorithm = \"sha384\"\n", "required before"},
        {"version = \"0.1.0\"\nalgorithm = \"sha384\"\n# \xff\xfe\n", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_OK(put(path, bad[i].text));
        e = NULL;
        CHECK(cocoimg__initdata_load(&d, path, &e) < 0);
        if (!e || !strstr(cocoimg_error_message(e), bad[i].msg))
            printf("# case %zu: %s\n", i, e ? cocoimg_error_message(e) : "(no error)");
        CHECK(e && strstr(cocoimg_error_message(e), bad[i].msg));
        cocoimg_error_free(e);
    }
    unlink(path);
    rmdir(dir);
    return 0;
}

static int
test_options(void)
{
    cocoimg_kbs_options o;
    CHECK(cocoimg_kbs_options_init(&o, 0) == COCOIMG_EINVAL);
    CHECK(cocoimg_kbs_options_init(&o, COCOIMG_KBS_OPTIONS_VERSION + 1) == COCOIMG_EINVAL);
    CHECK_OK(cocoimg_kbs_options_init(&o, COCOIMG_KBS_OPTIONS_VERSION));
    static const struct {
        const char *url, *version, *attester, *init;
        int insecure, code;
        const char *msg;
    } bad[] = {
        {"http://127.0.0.1:1", NULL, "sample", NULL, 0, COCOIMG_EINVAL, "plain HTTP refused"},
        {"ftp://127.0.0.1", NULL, "sample", NULL, 0, COCOIMG_EINVAL, "expected https"},
        {"https://", NULL, "sample", NULL, 0, COCOIMG_EINVAL, "no host"},
        {"https://h/?q", NULL, "sample", NULL, 0, COCOIMG_EINVAL, "no query"},
        {"https://h", "0.2.0", "sample", NULL, 0, COCOIMG_ENOTSUP, "0.2.0' not implemented"},
        {"https://h", NULL, "tpm", NULL, 0, COCOIMG_EINVAL, "unknown attester 'tpm'"},
        {"https://h", NULL, "sample", "/nonexistent/x.toml", 0, COCOIMG_ENOTFOUND,
         "init-data /nonexistent/x.toml"},
        {NULL, NULL, "sample", NULL, 0, COCOIMG_EINVAL, "no KBS URL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.url = bad[i].url;
        o.protocol_version = bad[i].version;
        o.attester = bad[i].attester;
        o.init_data_file = bad[i].init;
        o.insecure_http = bad[i].insecure;
        cocoimg_kbs *k = NULL;
        cocoimg_error *e = NULL;
        int r = cocoimg_kbs_new(&k, NULL, &o, &e);
        if (r != bad[i].code || !strstr(cocoimg_error_message(e), bad[i].msg))
            printf("# case %zu: %d %s\n", i, r, cocoimg_error_message(e));
        CHECK(r == bad[i].code && !k);
        CHECK(strstr(cocoimg_error_message(e), bad[i].msg));
        cocoimg_error_free(e);
    }
    o = (cocoimg_kbs_options)COCOIMG_KBS_OPTIONS_INIT;
    o.url = "http://127.0.0.1:1/";
    o.insecure_http = 1;
    cocoimg_kbs *k = NULL;
    CHECK_OK(cocoimg_kbs_new(&k, NULL, &o, NULL));
    CHECK(strcmp(cocoimg_kbs_attester_name(k), "sample") == 0);
    cocoimg_kbs_free(k);
    return 0;
}

static const struct tap_test tests[] = {TAP_TEST(test_jcs_vector),
                                        TAP_TEST(test_jcs_rfc8785),
                                        TAP_TEST(test_report_data_vector),
                                        TAP_TEST(test_request_challenge),
                                        TAP_TEST(test_jwe_vector),
                                        TAP_TEST(test_tee_key_jwk),
                                        TAP_TEST(test_uri),
                                        TAP_TEST(test_error_body),
                                        TAP_TEST(test_set_cookie),
                                        TAP_TEST(test_token),
                                        TAP_TEST(test_options),
                                        TAP_TEST(test_initdata),
                                        {0}};

int
main(void)
{
    return tap_run(tests);
}
