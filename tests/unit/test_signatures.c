/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registries.d parsing and lookup, the simple-signing payload parser,
 * lookaside URLs, and cosign's private key files and payload.
 */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "signatures/cosign.h"
#include "signatures/cosign_sign.h"
#include "signatures/bundle.h"
#include "signatures/lookaside.h"
#include "signatures/registries_d.h"
#include "signatures/simple.h"
#include "tap.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

static cocoimg_reference *
ref(const char *s)
{
    cocoimg_reference *r = NULL;
    return cocoimg_reference_parse(&r, s, NULL) == 0 ? r : NULL;
}

static int
add(cocoimg__registries_d *rd, const char *yaml, const char *name, char **msg)
{
    cocoimg_error *e = NULL;
    int r = cocoimg__registries_d_add(rd, yaml, strlen(yaml), name, &e);
    if (msg)
        *msg = e ? strdup(cocoimg_error_message(e)) : NULL;
    cocoimg_error_free(e);
    return r;
}

static int
refused_rd(const char *yaml, const char *want)
{
    cocoimg__registries_d *rd = NULL;
    if (cocoimg__registries_d_new(&rd, NULL) < 0)
        return -1;
    char *msg = NULL;
    int r = add(rd, yaml, "f.yaml", &msg);
    int ok = r == COCOIMG_EFORMAT && msg && strstr(msg, want);
    if (!ok)
        printf("# yaml %s: r=%d msg=%s (wanted %s)\n", yaml, r, msg ? msg : "-", want);
    free(msg);
    cocoimg__registries_d_free(rd);
    return ok ? 0 : -1;
}

static int
test_registries_d_refusals(void)
{
    CHECK(refused_rd("docker: [1, 2]", "docker: not a mapping") == 0);
    CHECK(refused_rd("default-docker:\n  lookaside: [x]\n",
                     "default-docker.lookaside: not a string") == 0);
    CHECK(refused_rd("default-docker:\n  use-sigstore-attachments: maybe\n", "not a boolean") == 0);
    CHECK(
        refused_rd("docker:\n  a.io/x: {lookaside: file:///a}\n  a.io/x: {lookaside: file:///b}\n",
                   "appears twice") == 0);
    CHECK(refused_rd("a: &x {lookaside: file:///a}\ndocker:\n  q.io: *x\n", "aliases") == 0);
    CHECK(refused_rd("docker: {\n", "YAML error") == 0);
    CHECK(refused_rd("a: 1\n---\nb: 2\n", "more than one YAML document") == 0);
    return 0;
}

static int
test_registries_d_lookup(void)
{
    cocoimg__registries_d *rd = NULL;
    CHECK_OK(cocoimg__registries_d_new(&rd, NULL));
    CHECK(
        add(rd,
            "default-docker:\n  sigstore: file:///default\n"
            "docker:\n"
            "  quay.io/ns:\n    lookaside: https://sigs.example.com/ns\n    lookaside-staging: "
            "file:///stage\n"
            "  quay.io/ns/app:v1:\n    sigstore: file:///old\n    sigstore-staging: "
            "file:///oldstage\n"
            "  '*.example.org':\n    lookaside: file:///wild\n    use-sigstore-attachments: true\n"
            "  unknown.io:\n    some-future-key: 1\n",
            "a.yaml", NULL) == 0);
    char *msg = NULL;
    CHECK(add(rd, "docker:\n  quay.io/ns: {lookaside: file:///dup}\n", "b.yaml", &msg) ==
          COCOIMG_EFORMAT);
    CHECK(
        msg &&
        strstr(msg,
               "invalid registries.d file b.yaml: docker.quay.io/ns is already defined in a.yaml"));
    free(msg);
    CHECK(add(rd, "default-docker: {lookaside: file:///dup}\n", "c.yaml", NULL) == COCOIMG_EFORMAT);
    cocoimg__sigstore_config c;
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r1 = ref("docker://quay.io/ns/app:v2");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r2 = ref("docker://quay.io/ns/app:v1");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r3 = ref("docker://a.b.example.org/x:1");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r4 = ref("docker://busybox");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r5 = ref("docker://unknown.io/x");
    CHECK(r1 && r2 && r3 && r4 && r5);
    cocoimg__registries_d_for(&c, rd, r1);
    CHECK(strcmp(c.lookaside, "https://sigs.example.com/ns") == 0 &&
          strcmp(c.lookaside_staging, "file:///stage") == 0);
    cocoimg__registries_d_for(&c, rd, r2);
    CHECK(strcmp(c.lookaside, "file:///old") == 0 &&
          strcmp(c.lookaside_staging, "file:///oldstage") == 0);
    cocoimg__registries_d_for(&c, rd, r3);
    CHECK(strcmp(c.lookaside, "file:///wild") == 0 && c.use_sigstore_attachments);
    cocoimg__registries_d_for(&c, rd, r4);
    CHECK(strcmp(c.lookaside, "file:///default") == 0 &&
          strcmp(c.lookaside_staging, "file:///default") == 0);
    /* the most specific scope wins even when it has no lookaside */
    cocoimg__registries_d_for(&c, rd, r5);
    CHECK(c.lookaside == NULL);
    cocoimg__registries_d_free(rd);
    return 0;
}

static int
test_registries_d_dir(void)
{
    cocoimg__registries_d *rd = NULL;
    CHECK_OK(cocoimg__registries_d_load(&rd, "/nonexistent/registries.d", NULL));
    cocoimg__registries_d_free(rd);
    return 0;
}

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
payload(const char *json, char **msg)
{
    cocoimg__simple_payload p;
    cocoimg_error *e = NULL;
    int r = cocoimg__simple_payload_parse(&p, json, strlen(json), &e);
    if (msg)
        *msg = e ? strdup(cocoimg_error_message(e)) : NULL;
    cocoimg_error_free(e);
    if (r == 0)
        cocoimg__simple_payload_clear(&p);
    return r;
}

static int
test_payload(void)
{
    const char *good = "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
                       "{\"docker-manifest-digest\": \"" DG "\"}, \"identity\": "
                       "{\"docker-reference\": \"quay.io/a/b:v1\"}}, \"optional\": "
                       "{\"creator\": \"x\", \"timestamp\": 1, \"future\": true}}";
    CHECK(payload(good, NULL) == 0);
    const char *bad[] = {
        /* an unknown critical field */
        "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
        "{\"docker-manifest-digest\": \"" DG
        "\"}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}, \"new\": 1}, \"optional\": {}}",
        /* an unknown top-level field */
        "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
        "{\"docker-manifest-digest\": \"" DG
        "\"}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}}, \"optional\": {}, \"x\": 1}",
        /* no optional */
        "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
        "{\"docker-manifest-digest\": \"" DG
        "\"}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}}}",
        /* wrong type */
        "{\"critical\": {\"type\": \"other\", \"image\": {\"docker-manifest-digest\": \"" DG
        "\"}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}}, \"optional\": {}}",
        /* extra image field */
        "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
        "{\"docker-manifest-digest\": \"" DG
        "\", \"x\": 1}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}}, \"optional\": {}}",
        /* bad digest */
        "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
        "{\"docker-manifest-digest\": \"sha256:xyz\"}, \"identity\": {\"docker-reference\": "
        "\"q.io/a:b\"}}, \"optional\": {}}",
        /* timestamp not an integer */
        "{\"critical\": {\"type\": \"atomic container signature\", \"image\": "
        "{\"docker-manifest-digest\": \"" DG
        "\"}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}}, \"optional\": {\"timestamp\": "
        "\"1\"}}",
        /* duplicate keys */
        "{\"critical\": {\"type\": \"atomic container signature\", \"type\": \"atomic container "
        "signature\", \"image\": {\"docker-manifest-digest\": \"" DG
        "\"}, \"identity\": {\"docker-reference\": \"q.io/a:b\"}}, \"optional\": {}}",
        "[]",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *msg = NULL;
        int r = payload(bad[i], &msg);
        if (r != COCOIMG_EFORMAT || !msg || strncmp(msg, "signature payload: ", 19) != 0)
            printf("# bad payload %zu: r=%d %s\n", i, r, msg ? msg : "-");
        CHECK(r == COCOIMG_EFORMAT);
        free(msg);
    }
    /* what we make is what we parse */
    char *made = NULL;
    size_t len = 0;
    CHECK_OK(cocoimg__simple_payload_make(&made, &len, DG, "quay.io/a/b:v1", NULL));
    cocoimg__simple_payload p;
    CHECK_OK(cocoimg__simple_payload_parse(&p, made, len, NULL));
    CHECK(strcmp(p.manifest_digest, DG) == 0 && strcmp(p.docker_reference, "quay.io/a/b:v1") == 0);
    cocoimg__simple_payload_clear(&p);
    free(made);
    return 0;
}

static int
test_lookaside_url(void)
{
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r = ref("docker://quay.io/ns/app:v1");
    CHECK(r);
    cocoimg__digest d;
    CHECK_OK(cocoimg__digest_parse(&d, DG, NULL));
    char *u = cocoimg__lookaside_url("https://sigs.example.com/store//", r, &d, 3);
    CHECK(u &&
          strcmp(u, "https://sigs.example.com/store/ns/"
                    "app@sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/"
                    "signature-3") == 0);
    free(u);
    return 0;
}

/* load @p pem with @p pass: the error code, and the message in @p msg (<= n bytes) */
static int
load_key(EVP_PKEY **k, const char *pem, const char *pass, char *msg, size_t n)
{
    cocoimg_error *e = NULL;
    int r = cocoimg__sigstore_key_load(k, (const uint8_t *)pem, strlen(pem), pass, &e);
    snprintf(msg, n, "%s", e ? cocoimg_error_message(e) : "");
    cocoimg_error_free(e);
    return r;
}

static int
test_sigstore_key_roundtrip(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    CHECK(k);
    char *pem = NULL, msg[512];
    CHECK_OK(cocoimg__sigstore_key_encrypt(&pem, k, "pw-1", NULL));
    CHECK(strncmp(pem, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n", 47) == 0);
    EVP_PKEY *back = NULL;
    CHECK(load_key(&back, pem, "pw-1", msg, sizeof(msg)) == 0 && EVP_PKEY_eq(k, back) == 1);
    EVP_PKEY *bad = NULL;
    CHECK(load_key(&bad, pem, "pw-2", msg, sizeof(msg)) == COCOIMG_EAUTH && !bad);
    CHECK(strstr(msg, "wrong passphrase") && !strstr(msg, "pw-2"));
    CHECK(load_key(&bad, pem, NULL, msg, sizeof(msg)) == COCOIMG_EAUTH &&
          strstr(msg, "passphrase"));
    /* a flipped ciphertext byte fails like a wrong passphrase */
    pem[120] = pem[120] == 'A' ? 'B' : 'A';
    int r = load_key(&bad, pem, "pw-1", msg, sizeof(msg));
    CHECK(r == COCOIMG_EAUTH || r == COCOIMG_EFORMAT);
    /* sign a payload and verify it as the verifier does */
    char *payload = NULL;
    size_t plen = 0;
    CHECK_OK(cocoimg__cosign_payload_make(&payload, &plen, DG, "quay.io/a/b:v1", NULL));
    char *dg = NULL, *rf = NULL;
    CHECK_OK(cocoimg__cosign_payload_parse(&dg, &rf, payload, plen, NULL));
    CHECK(strcmp(dg, DG) == 0 && strcmp(rf, "quay.io/a/b:v1") == 0);
    uint8_t *sig = NULL;
    size_t slen = 0;
    CHECK_OK(cocoimg__cosign_sign_raw(&sig, &slen, back, payload, plen, NULL));
    BIO *b = BIO_new(BIO_s_mem());
    char *pub = NULL;
    CHECK(b && PEM_write_bio_PUBKEY(b, k) == 1);
    long publen = BIO_get_mem_data(b, &pub);
    CHECK(cocoimg__cosign_verify_raw((uint8_t *)pub, (size_t)publen, (uint8_t *)payload, plen, sig,
                                     slen) == 1);
    payload[0] = ' ';
    CHECK(cocoimg__cosign_verify_raw((uint8_t *)pub, (size_t)publen, (uint8_t *)payload, plen, sig,
                                     slen) == 0);
    BIO_free(b);
    free(sig);
    free(dg);
    free(rf);
    free(payload);
    free(pem);
    EVP_PKEY_free(back);
    EVP_PKEY_free(k);
    return 0;
}

/* an ENCRYPTED SIGSTORE PRIVATE KEY block around @p json; refused with @p want */
static int
refused_key(const char *json, int want, const char *why)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *mem = NULL;
    if (!b || PEM_write_bio(b, "ENCRYPTED SIGSTORE PRIVATE KEY", "", (const unsigned char *)json,
                            (long)strlen(json)) <= 0)
        return -1;
    long n = BIO_get_mem_data(b, &mem);
    char *pem = strndup(mem, (size_t)n), msg[512];
    BIO_free(b);
    EVP_PKEY *k = NULL;
    int r = load_key(&k, pem, "pw", msg, sizeof(msg));
    free(pem);
    if (r != want || k || !strstr(msg, why)) {
        printf("# %s: got %d '%s'\n", json, r, msg);
        EVP_PKEY_free(k);
        return -1;
    }
    return 0;
}

#define KDF(n, r, p)                                                                               \
    "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":" #n ",\"r\":" #r ",\"p\":" #p "},"           \
    "\"salt\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"},"
#define BOX                                                                                        \
    "\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},"     \
    "\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}"

static int
test_sigstore_key_refusals(void)
{
    CHECK(refused_key(KDF(2097152, 8, 1) BOX, COCOIMG_ELIMIT, "kdf.params.N") == 0);
    CHECK(refused_key(KDF(1048576, 8, 1) BOX, COCOIMG_ELIMIT, "256 MiB") == 0);
    CHECK(refused_key(KDF(65536, 33, 1) BOX, COCOIMG_ELIMIT, "kdf.params.r") == 0);
    CHECK(refused_key(KDF(65535, 8, 1) BOX, COCOIMG_EFORMAT, "power of two") == 0);
    CHECK(refused_key(KDF(65536, 8, 1) "\"cipher\":{\"name\":\"aes\",\"nonce\":\"\"},"
                                       "\"ciphertext\":\"\"}",
                      COCOIMG_ENOTSUP, "nacl/secretbox") == 0);
    CHECK(refused_key("{\"kdf\":{\"name\":\"pbkdf2\",\"params\":{}},\"cipher\":{}}",
                      COCOIMG_ENOTSUP, "scrypt") == 0);
    CHECK(refused_key("[1]", COCOIMG_EFORMAT, "sigstore private key") == 0);
    /* a well-formed box under the wrong key */
    CHECK(refused_key(KDF(16, 1, 1) BOX, COCOIMG_EAUTH, "wrong passphrase") == 0);
    EVP_PKEY *k = NULL;
    char msg[256];
    CHECK(load_key(&k, "not pem", "pw", msg, sizeof(msg)) == COCOIMG_EFORMAT);
    return 0;
}

/* the DSSE spec's PAE example, and the in-toto subject rules */
static int
test_dsse_intoto(void)
{
    uint8_t *pae = NULL;
    size_t n = 0;
    CHECK_OK(cocoimg__dsse_pae(&pae, &n, "http://example.com/HelloWorld",
                               (const uint8_t *)"hello world", 11, NULL));
    static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    CHECK(n == sizeof(want) - 1 && memcmp(pae, want, n) == 0);
    free(pae);
    CHECK_OK(cocoimg__dsse_pae(&pae, &n, "", NULL, 0, NULL));
    CHECK(n == 12 && memcmp(pae, "DSSEv1 0  0 ", 12) == 0);
    free(pae);
    static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char st[512];
    snprintf(st, sizeof(st),
             "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"x\","
             "\"digest\":{\"sha512\":\"ab\"}},{\"digest\":{\"sha256\":\"%s\"}}],"
             "\"predicateType\":\"https://sigstore.dev/cosign/sign/v1\",\"predicate\":{}}",
             hex);
    CHECK(cocoimg__intoto_subject_match(st, strlen(st), DG, NULL) == 1);
    CHECK(cocoimg__intoto_subject_match(
              st, strlen(st),
              "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
              NULL) == 0);
    /* a digest matches under its own algorithm name only */
    CHECK(cocoimg__intoto_subject_match(st, strlen(st), "sha512:ab", NULL) == 1);
    static const char other[] = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                                "[{\"digest\":{\"sha256\":\"00\"}}],\"predicateType\":"
                                "\"https://slsa.dev/provenance/v1\",\"predicate\":{}}";
    CHECK(cocoimg__intoto_subject_match(other, strlen(other), DG, NULL) < 0);
    static const char nosubj[] = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                                 "[],\"predicateType\":\"https://sigstore.dev/cosign/sign/v1\"}";
    CHECK(cocoimg__intoto_subject_match(nosubj, strlen(nosubj), DG, NULL) < 0);
    return 0;
}

/* bundle parsing refusals */
static int
test_bundle_parse(void)
{
    static const char *const badv[] = {
        "{}", "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}",
        /* both contents */
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
        "\"verificationMaterial\":{\"publicKey\":{}},\"messageSignature\":{\"signature\":"
        "\"AA==\"},\"dsseEnvelope\":{}}",
        /* two signatures */
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
        "\"verificationMaterial\":{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"AA==\","
        "\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AA==\"},{\"sig\":\"AA==\"}]}}",
        /* unknown field */
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"x\":1,"
        "\"verificationMaterial\":{\"publicKey\":{}},\"messageSignature\":{\"signature\":"
        "\"AA==\"}}",
        /* key and certificate */
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
        "\"verificationMaterial\":{\"publicKey\":{},\"certificate\":{\"rawBytes\":\"AA==\"}},"
        "\"messageSignature\":{\"signature\":\"AA==\"}}",
        NULL};
    for (size_t i = 0; badv[i]; i++) {
        cocoimg__bundle b;
        cocoimg_error *e = NULL;
        CHECK(cocoimg__bundle_parse(&b, badv[i], strlen(badv[i]), &e) == COCOIMG_EFORMAT);
        cocoimg_error_free(e);
    }
    static const char good[] =
        "{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\","
        "\"verificationMaterial\":{\"publicKey\":{\"hint\":\"h\"},\"tlogEntries\":[]},"
        "\"dsseEnvelope\":{\"payload\":\"aGVsbG8=\",\"payloadType\":\"t\",\"signatures\":"
        "[{\"sig\":\"AAE=\",\"keyid\":\"\"}]}}";
    cocoimg__bundle b;
    CHECK_OK(cocoimg__bundle_parse(&b, good, strlen(good), NULL));
    CHECK(b.kind == COCOIMG__BUNDLE_DSSE && !b.keyless && b.payload_len == 5 &&
          memcmp(b.payload, "hello", 5) == 0 && b.sig_len == 2 && strcmp(b.payload_type, "t") == 0);
    cocoimg__bundle_clear(&b);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_sigstore_key_roundtrip), TAP_TEST(test_sigstore_key_refusals),
    TAP_TEST(test_registries_d_refusals),  TAP_TEST(test_registries_d_lookup),
    TAP_TEST(test_registries_d_dir),       TAP_TEST(test_payload),
    TAP_TEST(test_lookaside_url),          TAP_TEST(test_dsse_intoto),
    TAP_TEST(test_bundle_parse),           {0},
};

int
main(void)
{
    return tap_run(tests);
}
