/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keyprovider protocol messages (keyprovider/kpjson.c) against the
 * vectors in tests/vectors/coco/keyprovider (copies of the shared ones:
 * Go encoding of a real skopeo wrap request, CDH's unwrap), the Rust byte
 * array form, what a client sends (only its own parameters), and the
 * service's refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cocoimg/keyprovider.h>

#include "kp_int.h"
#include "tap.h"
#include "util/base64.h"
#include "util/json.h"

static json_t *
vector(const char *name)
{
    const char *top = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/vectors/coco/keyprovider/%s", top ? top : ".", name);
    return json_load_file(path, 0, NULL);
}

/* member @p key of vector 02, serialised */
static char *
msg02(const char *key)
{
    json_t *v = vector("02-keyprovider-protocol-messages.json");
    char *s = v ? json_dumps(json_object_get(v, key), JSON_COMPACT) : NULL;
    json_decref(v);
    return s;
}

static bool
secret_is(const cocoimg__secret *s, const char *b64)
{
    uint8_t *want = NULL;
    size_t n = 0;
    if (cocoimg__b64_decode(&want, &n, b64, strlen(b64), COCOIMG_B64_STD, "t", NULL) < 0)
        return false;
    bool ok = s && s->len == n && memcmp(s->ptr, want, n) == 0;
    free(want);
    return ok;
}

static int
test_parse_go_wrap(void)
{
    char *req = msg02("wrapkey_input");
    CHECK(req);
    struct cocoimg__kp_request rq;
    CHECK_OK(
        cocoimg__kp_request_parse(&rq, (uint8_t *)req, strlen(req), "attestation-agent", NULL));
    CHECK(rq.op == COCOIMG__KP_OP_WRAP);
    CHECK(rq.n_params == 1);
    CHECK(strcmp(rq.params[0], "keypath=/keys/kek1::keyid=kbs:///default/key/key_id1::"
                               "algorithm=A256GCM") == 0);
    CHECK(rq.data && rq.data->len > 0 && memcmp(rq.data->ptr, "{\"symkey\"", 9) == 0);
    cocoimg__kp_request_clear(&rq);
    /* another provider's name: no parameters of its own */
    CHECK_OK(cocoimg__kp_request_parse(&rq, (uint8_t *)req, strlen(req), "other", NULL));
    CHECK(rq.n_params == 0);
    cocoimg__kp_request_clear(&rq);
    free(req);
    return 0;
}

static int
test_parse_unwrap(void)
{
    char *req = msg02("unwrapkey_input");
    CHECK(req);
    struct cocoimg__kp_request rq;
    CHECK_OK(
        cocoimg__kp_request_parse(&rq, (uint8_t *)req, strlen(req), "attestation-agent", NULL));
    CHECK(rq.op == COCOIMG__KP_OP_UNWRAP);
    CHECK(rq.n_params == 1 && strcmp(rq.params[0], "cc_kbc::null") == 0);
    CHECK(rq.data && rq.data->len > 10 && memcmp(rq.data->ptr, "{\"kid\"", 6) == 0);
    cocoimg__kp_request_clear(&rq);
    free(req);
    return 0;
}

static int
test_reply_forms(void)
{
    json_t *v = vector("02-keyprovider-protocol-messages.json");
    CHECK(v);
    const char *ann = json_string_value(json_object_get(
        json_object_get(json_object_get(v, "wrapkey_output"), "keywrapresults"), "annotation"));
    CHECK(ann);
    char *s = json_dumps(json_object_get(v, "wrapkey_output"), JSON_COMPACT);
    cocoimg__secret *out = NULL;
    CHECK_OK(cocoimg__kp_reply_parse(&out, COCOIMG__KP_OP_WRAP, (uint8_t *)s, strlen(s), NULL));
    CHECK(secret_is(out, ann));
    /* the same bytes as Rust writes them: an array of integers */
    json_t *arr = json_array();
    for (size_t i = 0; i < out->len; i++)
        json_array_append_new(arr, json_integer(out->ptr[i]));
    json_t *rust = json_pack("{s:{s:o}}", "keywrapresults", "annotation", arr);
    char *rs = json_dumps(rust, JSON_COMPACT);
    cocoimg__secret *out2 = NULL;
    CHECK_OK(cocoimg__kp_reply_parse(&out2, COCOIMG__KP_OP_WRAP, (uint8_t *)rs, strlen(rs), NULL));
    CHECK(out2->len == out->len && memcmp(out2->ptr, out->ptr, out->len) == 0);
    /* the unwrap member is ignored by a wrap reader, and an empty one fails */
    const char *both = "{\"keywrapresults\":{\"annotation\":null},"
                       "\"keyunwrapresults\":{\"optsdata\":\"eyJ9\"}}";
    cocoimg__secret *o3 = NULL;
    CHECK(cocoimg__kp_reply_parse(&o3, COCOIMG__KP_OP_WRAP, (const uint8_t *)both, strlen(both),
                                  NULL) == COCOIMG_EFORMAT);
    CHECK_OK(cocoimg__kp_reply_parse(&o3, COCOIMG__KP_OP_UNWRAP, (const uint8_t *)both,
                                     strlen(both), NULL));
    CHECK(o3->len == 3 && memcmp(o3->ptr, "{\"}", 3) == 0);
    /* bad bytes */
    static const char *const bad[] = {
        "{\"keywrapresults\":{\"annotation\":[1,256]}}",
        "{\"keywrapresults\":{\"annotation\":[1,-1]}}",
        "{\"keywrapresults\":{\"annotation\":\"***\"}}",
        "{\"keywrapresults\":{\"annotation\":7}}",
        "{\"keywrapresults\":[]}",
        "[]",
        "{\"keywrapresults\":{\"annotation\":\"QQ==\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cocoimg__secret *o = NULL;
        cocoimg_error *err = NULL;
        CHECK(cocoimg__kp_reply_parse(&o, COCOIMG__KP_OP_WRAP, (const uint8_t *)bad[i],
                                      strlen(bad[i]), &err) < 0);
        CHECK(!o && err);
        cocoimg_error_free(err);
    }
    cocoimg__secret_free(out);
    cocoimg__secret_free(out2);
    cocoimg__secret_free(o3);
    free(s);
    free(rs);
    json_decref(rust);
    json_decref(v);
    return 0;
}

/* What our client sends: Go's shape, this provider's parameters only. */
static int
test_build_roundtrip(void)
{
    const char *params[] = {"keyid=kbs:///a/b/c::keypath=/k"};
    cocoimg__secret *req = NULL;
    CHECK_OK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_WRAP, "attestation-agent", params, 1,
                                       (const uint8_t *)"{\"symkey\":1}", 12, NULL));
    json_t *doc = json_loadb((const char *)req->ptr, req->len, 0, NULL);
    CHECK(doc);
    json_t *ec = json_object_get(json_object_get(doc, "keywrapparams"), "ec");
    CHECK(json_object_size(json_object_get(ec, "Parameters")) == 1);
    CHECK(json_is_null(json_object_get(json_object_get(doc, "keyunwrapparams"), "dc")));
    json_decref(doc);
    struct cocoimg__kp_request rq;
    CHECK_OK(cocoimg__kp_request_parse(&rq, req->ptr, req->len, "attestation-agent", NULL));
    CHECK(rq.op == COCOIMG__KP_OP_WRAP && rq.n_params == 1 && strcmp(rq.params[0], params[0]) == 0);
    CHECK(rq.data->len == 12 && memcmp(rq.data->ptr, "{\"symkey\":1}", 12) == 0);
    cocoimg__kp_request_clear(&rq);
    cocoimg__secret_free(req);
    /* no parameters: "Enabled", as ocicrypt sends */
    CHECK_OK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_WRAP, "x", NULL, 0,
                                       (const uint8_t *)"o", 1, NULL));
    CHECK_OK(cocoimg__kp_request_parse(&rq, req->ptr, req->len, "x", NULL));
    CHECK(rq.n_params == 1 && strcmp(rq.params[0], "Enabled") == 0);
    cocoimg__kp_request_clear(&rq);
    cocoimg__secret_free(req);
    /* unwrap */
    CHECK_OK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_UNWRAP, "x", NULL, 0,
                                       (const uint8_t *)"ann", 3, NULL));
    CHECK_OK(cocoimg__kp_request_parse(&rq, req->ptr, req->len, "x", NULL));
    CHECK(rq.op == COCOIMG__KP_OP_UNWRAP && rq.n_params == 0 && rq.data->len == 3);
    cocoimg__kp_request_clear(&rq);
    cocoimg__secret_free(req);
    /* a name that would need escaping is refused */
    CHECK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_WRAP, "a\"b", NULL, 0,
                                    (const uint8_t *)"o", 1, NULL) == COCOIMG_EINVAL);
    /* replies */
    CHECK_OK(
        cocoimg__kp_reply_build(&req, COCOIMG__KP_OP_UNWRAP, (const uint8_t *)"secret", 6, NULL));
    CHECK(req->len == strlen("{\"keyunwrapresults\":{\"optsdata\":\"c2VjcmV0\"}}"));
    CHECK(memcmp(req->ptr, "{\"keyunwrapresults\":{\"optsdata\":\"c2VjcmV0\"}}", req->len) == 0);
    cocoimg__secret_free(req);
    return 0;
}

static int
test_request_refusals(void)
{
    static const char *const bad[] = {
        "",
        "{}",
        "{\"op\":QQ==}", /* jansson's text would quote the token */
        "{\"op\":\"keyfrob\"}",
        "{\"op\":\"keywrap\"}",
        "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":null,\"optsdata\":null}}",
        "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":[],\"optsdata\":\"QQ==\"}}",
        "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\"x\":\"QQ==\"}},"
        "\"optsdata\":\"QQ==\"}}",
        "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\"x\":[\"AA==\"]}},"
        "\"optsdata\":\"QQ==\"}}",
        "{\"op\":\"keywrap\",\"keywrapparams\":{\"optsdata\":\"Q\"}}",
        "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":null,\"annotation\":[]}}",
        "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":null,\"annotation\":[300]}}",
        "{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":null,\"annotation\":\"QQ==\"},"
        "\"op\":\"keyunwrap\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cocoimg__kp_request rq;
        cocoimg_error *err = NULL;
        int r = cocoimg__kp_request_parse(&rq, (const uint8_t *)bad[i], strlen(bad[i]), "x", &err);
        if (r >= 0)
            printf("# accepted: %s\n", bad[i]);
        CHECK(r < 0 && err);
        CHECK(rq.params == NULL && rq.data == NULL);
        /* the message never quotes the request */
        CHECK(!strstr(cocoimg_error_message(err), "QQ=="));
        cocoimg_error_free(err);
    }
    /* ocicrypt-rs: the options JSON as a plain string */
    const char *rs = "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{}},"
                     "\"optsdata\":\"{\\\"symkey\\\":1}\"}}";
    struct cocoimg__kp_request rq0;
    CHECK_OK(cocoimg__kp_request_parse(&rq0, (const uint8_t *)rs, strlen(rs), "x", NULL));
    CHECK(rq0.data->len == 12 && memcmp(rq0.data->ptr, "{\"symkey\":1}", 12) == 0);
    cocoimg__kp_request_clear(&rq0);
    /* Go's byte fields tolerate CR/LF, and null or {} maps */
    const char *okreq =
        "{\"op\":\"keyunwrap\",\"keywrapparams\":{\"ec\":{},\"optsdata\":null},"
        "\"keyunwrapparams\":{\"dc\":{\"Parameters\":null},\"annotation\":\"QU\\nJD\"}}";
    struct cocoimg__kp_request rq;
    CHECK_OK(cocoimg__kp_request_parse(&rq, (const uint8_t *)okreq, strlen(okreq), "x", NULL));
    CHECK(rq.data->len == 3 && memcmp(rq.data->ptr, "ABC", 3) == 0);
    cocoimg__kp_request_clear(&rq);
    return 0;
}

/* The service without a KBS: wrap with keypath, refusals, op/method checks. */
static int
test_service(void)
{
    char kek[] = "/tmp/coco-kp-test-XXXXXX";
    int fd = mkstemp(kek);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789abcdef0123456789abcdef", 32) == 32);
    close(fd);
    cocoimg_kp_service_options so;
    CHECK_OK(cocoimg_kp_service_options_init(&so, COCOIMG_KP_SERVICE_OPTIONS_VERSION));
    cocoimg_kp_service *svc = NULL;
    CHECK_OK(cocoimg_kp_service_new(&svc, &so, NULL));
    char params[256];
    snprintf(params, sizeof(params), "keyid=kbs:///default/key/1::keypath=%s", kek);
    const char *pl[] = {params};
    const char *opts = "{\"symkey\":\"AAAA\",\"cipheroptions\":{}}";
    cocoimg__secret *req = NULL;
    CHECK_OK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_WRAP, "attestation-agent", pl, 1,
                                       (const uint8_t *)opts, strlen(opts), NULL));
    uint8_t *reply = NULL;
    size_t rlen = 0;
    CHECK_OK(cocoimg_kp_service_handle(&reply, &rlen, svc, COCOIMG_KP_WRAPKEY, req->ptr, req->len,
                                       NULL));
    cocoimg__secret *pkt = NULL;
    CHECK_OK(cocoimg__kp_reply_parse(&pkt, COCOIMG__KP_OP_WRAP, reply, rlen, NULL));
    json_t *p = json_loadb((const char *)pkt->ptr, pkt->len, 0, NULL);
    CHECK(p && strcmp(json_string_value(json_object_get(p, "kid")), "kbs:///default/key/1") == 0);
    CHECK(strcmp(json_string_value(json_object_get(p, "wrap_type")), "A256GCM") == 0);
    json_decref(p);
    cocoimg__secret_free(pkt);
    cocoimg_kp_reply_free(reply, rlen);
    /* the same request on UnWrapKey is refused */
    cocoimg_error *err = NULL;
    CHECK(cocoimg_kp_service_handle(&reply, &rlen, svc, COCOIMG_KP_UNWRAPKEY, req->ptr, req->len,
                                    &err) == COCOIMG_EINVAL);
    cocoimg_error_free(err);
    err = NULL;
    cocoimg__secret_free(req);
    /* refused: no keyid, a 16-byte KEK, no parameters, unwrap without a KBS */
    char kek16[] = "/tmp/coco-kp-test-XXXXXX";
    fd = mkstemp(kek16);
    CHECK(fd >= 0 && write(fd, "0123456789abcdef", 16) == 16);
    close(fd);
    char p16[256], pnokid[256];
    snprintf(p16, sizeof(p16), "keyid=kbs:///default/key/1::keypath=%s", kek16);
    snprintf(pnokid, sizeof(pnokid), "keypath=%s", kek);
    const char *cases[][1] = {{p16}, {pnokid}, {"Enabled"}, {"keyid=kbs:///a/b/c"}};
    for (size_t i = 0; i < 4; i++) {
        CHECK_OK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_WRAP, "attestation-agent", cases[i],
                                           1, (const uint8_t *)opts, strlen(opts), NULL));
        reply = NULL;
        CHECK(cocoimg_kp_service_handle(&reply, &rlen, svc, COCOIMG_KP_ANY, req->ptr, req->len,
                                        &err) < 0);
        CHECK(err && !reply);
        CHECK(!strstr(cocoimg_error_message(err), "symkey"));
        cocoimg_error_free(err);
        err = NULL;
        cocoimg__secret_free(req);
    }
    CHECK_OK(cocoimg__kp_request_build(&req, COCOIMG__KP_OP_UNWRAP, "attestation-agent", NULL, 0,
                                       (const uint8_t *)"{}", 2, NULL));
    CHECK(cocoimg_kp_service_handle(&reply, &rlen, svc, COCOIMG_KP_ANY, req->ptr, req->len, &err) ==
          COCOIMG_ENOKEY);
    cocoimg_error_free(err);
    cocoimg__secret_free(req);
    cocoimg_kp_service_free(svc);
    unlink(kek);
    unlink(kek16);
    return 0;
}

/* 01: a generated packet opens with its published KEK; 03: the upstream README's parses */
static int
test_packets(void)
{
    json_t *v = vector("01-annotation-packet-generated.json");
    CHECK(v);
    const char *pj = json_string_value(json_object_get(v, "packet_json"));
    const char *kek_hex = json_string_value(json_object_get(v, "kek_hex"));
    const char *want = json_string_value(json_object_get(v, "optsdata_plaintext"));
    CHECK(pj && kek_hex && want && strlen(kek_hex) == 64);
    uint8_t kek[32];
    for (int i = 0; i < 32; i++)
        CHECK(sscanf(kek_hex + 2 * i, "%2hhx", &kek[i]) == 1);
    struct cocoimg__aa_packet pk;
    CHECK_OK(cocoimg__aa_packet_parse(&pk, (const uint8_t *)pj, strlen(pj), NULL));
    CHECK(strcmp(pk.uri, "kbs:///default/key/key_id1") == 0);
    uint8_t *opts = NULL;
    size_t n = 0;
    CHECK_OK(cocoimg__aa_packet_open(&opts, &n, &pk, kek, 32, NULL));
    CHECK(n == strlen(want) && memcmp(opts, want, n) == 0);
    free(opts);
    /* a wrong KEK, a short one: the same uniform error */
    kek[0] ^= 1;
    cocoimg_error *e1 = NULL, *e2 = NULL;
    CHECK(cocoimg__aa_packet_open(&opts, &n, &pk, kek, 32, &e1) == COCOIMG_ENOKEY);
    CHECK(cocoimg__aa_packet_open(&opts, &n, &pk, kek, 16, &e2) == COCOIMG_ENOKEY);
    CHECK(strcmp(cocoimg_error_message(e1), cocoimg_error_message(e2)) == 0);
    cocoimg_error_free(e1);
    cocoimg_error_free(e2);
    cocoimg__aa_packet_clear(&pk);
    json_decref(v);

    v = vector("03-annotation-packet-upstream-readme.json");
    CHECK(v);
    const char *ann = json_string_value(
        json_object_get(json_object_get(v, "annotations"),
                        "org.opencontainers.image.enc.keys.provider.attestation-agent"));
    CHECK(ann);
    uint8_t *raw = NULL;
    CHECK_OK(cocoimg__b64_decode(&raw, &n, ann, strlen(ann), COCOIMG_B64_STD, "a", NULL));
    CHECK_OK(cocoimg__aa_packet_parse(&pk, raw, n, NULL));
    CHECK(strcmp(pk.uri, "kbs:///default/key/key_id1") == 0 && pk.ct_len > 16);
    cocoimg__aa_packet_clear(&pk);
    free(raw);
    json_decref(v);

    static const char *const bad[] = {
        "{\"kid\":\"/default/image-kek/1\",\"wrapped_data\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
        "\"iv\":\"AAAAAAAAAAAAAAAA\",\"wrap_type\":\"A256GCM\"}",
        "{\"kid\":\"kbs:///a/b/c\",\"wrapped_data\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
        "\"iv\":\"AAAAAAAAAAAAAAAA\",\"wrap_type\":\"A256CTR\"}",
        "{\"kid\":\"kbs:///a/b/c\",\"wrapped_data\":\"AAAA\","
        "\"iv\":\"AAAAAAAAAAAAAAAA\",\"wrap_type\":\"A256GCM\"}",
        "{\"kid\":\"kbs:///a/b/c\",\"wrapped_data\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
        "\"iv\":\"AAAA\",\"wrap_type\":\"A256GCM\"}",
        "{\"kid\":\"kbs:///a/b/c\",\"wrapped_data\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
        "\"iv\":\"AAAAAAAAAAAAAAAA\",\"wrap_type\":\"A256GCM\",\"provider\":\"aliyun\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cocoimg_error *e = NULL;
        CHECK(cocoimg__aa_packet_parse(&pk, (const uint8_t *)bad[i], strlen(bad[i]), &e) < 0);
        CHECK(e && !pk.uri && !pk.ct);
        cocoimg_error_free(e);
    }
    return 0;
}

/* cmd providers through the public client: deadline, exit status, a reply that is not one */
static int
cmd_case(const char *script, int timeout_ms, int *code, char *msg, size_t msg_cap)
{
    char conf[] = "/tmp/coco-kp-conf-XXXXXX";
    int fd = mkstemp(conf);
    if (fd < 0)
        return -1;
    json_t *doc = json_pack("{s:{s:{s:{s:s,s:[s,s]}}}}", "key-providers", "t", "cmd", "path",
                            "/bin/sh", "args", "-c", script);
    char *txt = json_dumps(doc, 0);
    ssize_t w = write(fd, txt, strlen(txt));
    close(fd);
    free(txt);
    json_decref(doc);
    if (w < 0)
        return -1;
    cocoimg_kp_client_options o;
    cocoimg_kp_client_options_init(&o, COCOIMG_KP_CLIENT_OPTIONS_VERSION);
    o.config_file = conf;
    o.timeout_ms = timeout_ms;
    cocoimg_kp_client *c = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_kp_client_new(&c, &o, &err) < 0) {
        unlink(conf);
        cocoimg_error_free(err);
        return -1;
    }
    cocoimg_keyprovider kp;
    cocoimg_kp_client_keyprovider(&kp, c);
    uint8_t *out = NULL;
    size_t len = 0;
    *code = kp.unwrap(&out, &len, "t", (const uint8_t *)"packet", 6, &err, kp.payload);
    snprintf(msg, msg_cap, "%s", err ? cocoimg_error_message(err) : "");
    if (*code == 0)
        snprintf(msg, msg_cap, "%.*s", (int)len, (const char *)out);
    free(out);
    cocoimg_error_free(err);
    cocoimg_kp_client_free(c);
    unlink(conf);
    return 0;
}

static int
test_client_cmd(void)
{
    int code = 0;
    char msg[512];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(cmd_case("exec sleep 20", 300, &code, msg, sizeof(msg)) == 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK(code == COCOIMG_ENET && strstr(msg, "no answer within 300 ms"));
    CHECK(b.tv_sec - a.tv_sec < 5);
    CHECK(cmd_case("cat >/dev/null; echo 'no such key' >&2; exit 3", 5000, &code, msg,
                   sizeof(msg)) == 0);
    CHECK(code < 0 && strstr(msg, "exited with status 3: no such key"));
    /* the request echoed back is no reply; nothing of it is quoted */
    CHECK(cmd_case("cat", 5000, &code, msg, sizeof(msg)) == 0);
    CHECK(code == COCOIMG_EFORMAT && !strstr(msg, "cGFja2V0"));
    CHECK(cmd_case("cat >/dev/null; printf '{\"keyunwrapresults\":{\"optsdata\":[123,125]}}'", 5000,
                   &code, msg, sizeof(msg)) == 0);
    CHECK(code == 0 && strcmp(msg, "{}") == 0);
    /* a provider that does not read its stdin still answers */
    CHECK(cmd_case("printf '{\"keyunwrapresults\":{\"optsdata\":\"e30=\"}}'", 5000, &code, msg,
                   sizeof(msg)) == 0);
    CHECK(code == 0 && strcmp(msg, "{}") == 0);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_parse_go_wrap),   TAP_TEST(test_parse_unwrap),     TAP_TEST(test_reply_forms),
    TAP_TEST(test_build_roundtrip), TAP_TEST(test_request_refusals), TAP_TEST(test_service),
    TAP_TEST(test_packets),         TAP_TEST(test_client_cmd),       {0},
};

int
main(void)
{
    return tap_run(tests);
}
