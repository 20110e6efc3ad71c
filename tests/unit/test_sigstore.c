/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sigstore helpers: RFC 8785 canonical JSON, the Fulcio OIDC issuer
 * extensions, the certificate chain at the Rekor time and the Rekor SET,
 * with vectors made by python3-cryptography (sigstore_vectors.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signatures/sigstore.h"
#include "util/jcs.h"
#include "sigstore_vectors.h"
#include "tap.h"
#include "util/base64.h"

static int
canon_is(const char *in, const char *want)
{
    json_error_t je;
    json_t *j = json_loads(in, JSON_DECODE_ANY, &je);
    if (!j)
        return 0;
    char *out = NULL;
    size_t len = 0;
    int r = cocoimg__jcs(&out, &len, j, NULL);
    json_decref(j);
    int ok = want ? r == 0 && len == strlen(want) && strcmp(out, want) == 0 : r < 0;
    if (!ok)
        printf("# canonical %s -> %s\n", in, out ? out : "(error)");
    free(out);
    return ok;
}

static int
test_canonical_json(void)
{
    CHECK(
        canon_is("{ \"b\": 1, \"a\": [true, null, false] }", "{\"a\":[true,null,false],\"b\":1}"));
    CHECK(canon_is("\"\\u0001\\n/\\u00e9\\\"\"", "\"\\u0001\\n/\xc3\xa9\\\"\""));
    /* UTF-16 order: U+1F600 (D83D DE00) sorts before U+FB01, unlike code points */
    CHECK(canon_is("{\"\\ufb01\": 2, \"\\ud83d\\ude00\": 1, \"\\u00e9\": 0, \"z\": 3}",
                   "{\"z\":3,\"\xc3\xa9\":0,\"\xf0\x9f\x98\x80\":1,\"\xef\xac\x81\":2}"));
    CHECK(canon_is("{\"n\": 1.0, \"m\": -0.0, \"i\": -42}", "{\"i\":-42,\"m\":0,\"n\":1}"));
    /* RFC 8785 renders other numbers as ECMAScript does (util/jcs.c) */
    CHECK(canon_is("1.5", "1.5"));
    return 0;
}

static X509 *
cert(const char *pem)
{
    X509 *x = NULL;
    return cocoimg__sigstore_parse_cert(&x, pem, NULL) == 0 ? x : NULL;
}

static int
test_oidc_issuer(void)
{
    X509 *x = cert(V_CERT);
    CHECK(x);
    char *iss = NULL;
    int r = cocoimg__sigstore_oidc_issuer(&iss, x, NULL);
    X509_free(x);
    CHECK(r == 0 && strcmp(iss, "https://oidc.example.com") == 0);
    free(iss);
    x = cert(V_CERT_INCONS);
    CHECK(x);
    cocoimg_error *e = NULL;
    r = cocoimg__sigstore_oidc_issuer(&iss, x, &e);
    X509_free(x);
    CHECK(r == COCOIMG_EPOLICY && strstr(cocoimg_error_message(e), "inconsistent OIDC issuer"));
    cocoimg_error_free(e);
    x = cert(V_ROOT); /* no Fulcio extension */
    e = NULL;
    r = cocoimg__sigstore_oidc_issuer(&iss, x, &e);
    X509_free(x);
    CHECK(r == COCOIMG_EPOLICY && strstr(cocoimg_error_message(e), "no OIDC issuer"));
    cocoimg_error_free(e);
    return 0;
}

static int
fulcio_at(long long t, const char *root, const char *want)
{
    X509 *x = cert(V_CERT);
    if (!x)
        return 0;
    cocoimg_error *e = NULL;
    int r = cocoimg__sigstore_verify_fulcio(x, (const uint8_t *)root, strlen(root), V_CHAIN,
                                            "https://oidc.example.com", "dev@example.com",
                                            (time_t)t, &e);
    X509_free(x);
    int ok = want ? r == COCOIMG_EPOLICY && strstr(cocoimg_error_message(e), want) : r == 0;
    if (!ok)
        printf("# fulcio: %d %s\n", r, e ? cocoimg_error_message(e) : "");
    cocoimg_error_free(e);
    return ok;
}

static int
test_fulcio_chain(void)
{
    CHECK(fulcio_at(INTEGRATED_TIME, V_ROOT, NULL));
    CHECK(fulcio_at(INTEGRATED_TIME + 86400, V_ROOT, "not valid at the Rekor integrated time"));
    CHECK(fulcio_at(INTEGRATED_TIME, V_OTHER_ROOT, "not issued by the policy's Fulcio CA"));
    return 0;
}

static int
set_is(const char *bundle, const char *payload, const char *want)
{
    X509 *x = cert(V_CERT);
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    if (!x || cocoimg__b64_decode(&sig, &sig_len, V_SIG64, strlen(V_SIG64), COCOIMG_B64_STD, "s",
                                  NULL) < 0)
        return 0;
    int64_t t = 0;
    cocoimg_error *e = NULL;
    int r = cocoimg__sigstore_verify_set(&t, (const uint8_t *)V_REKOR, strlen(V_REKOR), bundle, x,
                                         NULL, 0, sig, sig_len, (const uint8_t *)payload,
                                         strlen(payload), &e);
    int ok = want ? r == COCOIMG_EPOLICY && strstr(cocoimg_error_message(e), want)
                  : r == 0 && t == INTEGRATED_TIME;
    if (!ok)
        printf("# SET: %d %s\n", r, e ? cocoimg_error_message(e) : "");
    cocoimg_error_free(e);
    X509_free(x);
    free(sig);
    return ok;
}

static char *
replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    if (!p)
        return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *o = malloc(n);
    if (o)
        snprintf(o, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return o;
}

static int
test_set(void)
{
    CHECK(set_is(V_BUNDLE, V_PAYLOAD, NULL));
    CHECK(set_is(NULL, V_PAYLOAD, "no Rekor SET"));
    CHECK(set_is("{\"Payload\": {}}", V_PAYLOAD, "no Rekor SET"));
    char *t = replace(V_BUNDLE, "\"logIndex\": 1234", "\"logIndex\": 1235");
    CHECK(t);
    int ok = set_is(t, V_PAYLOAD, "SET signature invalid");
    free(t);
    CHECK(ok);
    /* a member added after signing changes the canonical bytes */
    t = replace(V_BUNDLE, "\"logIndex\"", "\"x\": 1, \"logIndex\"");
    CHECK(t);
    ok = set_is(t, V_PAYLOAD, "SET signature invalid");
    free(t);
    CHECK(ok);
    /* the same entry for another payload */
    CHECK(set_is(V_BUNDLE, "{}", "another payload"));
    return 0;
}

static const struct tap_test tests[] = {TAP_TEST(test_canonical_json),
                                        TAP_TEST(test_oidc_issuer),
                                        TAP_TEST(test_fulcio_chain),
                                        TAP_TEST(test_set),
                                        {0}};

int
main(void)
{
    return tap_run(tests);
}
