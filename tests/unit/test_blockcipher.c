/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AES_256_CTR_HMAC_SHA256 and its options against real ocicrypt (skopeo)
 * output from $OCI_VECTORS (tests/vectors/ocicrypt).
 */
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "crypt/blockcipher.h"
#include "tap.h"
#include "util/base64.h"
#include "util/json.h"

#define KAT_KEY "91612d5383deea6a472e116c6b4fde0ae6cdc06b5f00524a6a28525007a6189c"
#define KAT_NONCE "3d6bc44b7b3952b64bab8a63cf9b178b"
#define KAT_HMAC "7d50546b91565afd4da8bd0ae918b1c2a12126c647879ad8e571dc5b096cf221"
#define KAT_DIGEST "sha256:29e5757116a62120787e429566616310f7835315f8b8fd3a22b6a87daee7939c"
#define KAT_CIPHERTEXT "7f70f0f021341182cf6344586cfcd76a732f1ce5ceb12d7f2ba871d216d9683a"
#define KAT_PRIVOPTS                                                                               \
    "{\"symkey\":\"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw=\",\"digest\":\"" KAT_DIGEST        \
    "\",\"cipheroptions\":{\"nonce\":\"PWvES3s5UrZLq4pjz5sXiw==\"}}"
#define KAT_PUBOPTS                                                                                \
    "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":"                                            \
    "\"fVBUa5FWWv1NqL0K6RixwqEhJsZHh5rY5XHcWwls8iE=\","                                            \
    "\"cipheroptions\":{}}"

/* --- helpers ------------------------------------------------------------- */

static void
unhex(uint8_t *out, const char *hex)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned int b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (uint8_t)b;
    }
}

static const char *
vectors(void)
{
    static char dir[2048];
    const char *shared = getenv("OCI_VECTORS");
    if (!shared)
        return NULL;
    snprintf(dir, sizeof(dir), "%s", shared);
    return dir;
}

/* Read a file under the vectors dir; NULL if it cannot be read. */
static uint8_t *
slurp(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", vectors(), rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static json_t *
expected_json(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/expected.json", vectors());
    return json_load_file(path, 0, NULL);
}

/* Length of @p s without trailing whitespace (some vectors end in '\n'). */
static size_t
trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
        n--;
    return n;
}

static int
parse_both(cocoimg__layer_options **out, const char *priv_json, const char *pub_json)
{
    _cleanup_privopts_ cocoimg__privopts *priv = NULL;
    _cleanup_pubopts_ cocoimg__pubopts *pub = NULL;
    int r = cocoimg__privopts_parse(&priv, priv_json, strlen(priv_json), NULL);
    if (r < 0)
        return r;
    r = cocoimg__pubopts_parse(&pub, pub_json, strlen(pub_json), NULL);
    if (r < 0)
        return r;
    return cocoimg__layer_options_combine(out, priv, pub, NULL);
}

/* --- options ------------------------------------------------------------- */

static int
test_options_kat(void)
{
    uint8_t key[32], nonce[16], hmac[32];
    unhex(key, KAT_KEY);
    unhex(nonce, KAT_NONCE);
    unhex(hmac, KAT_HMAC);

    _cleanup_privopts_ cocoimg__privopts *priv = NULL;
    _cleanup_pubopts_ cocoimg__pubopts *pub = NULL;
    CHECK_OK(cocoimg__privopts_parse(&priv, KAT_PRIVOPTS, strlen(KAT_PRIVOPTS), NULL));
    CHECK(priv->symkey->len == 32 && memcmp(priv->symkey->ptr, key, 32) == 0);
    CHECK(priv->has_nonce && memcmp(priv->nonce, nonce, 16) == 0);
    CHECK(strcmp(priv->digest, KAT_DIGEST) == 0);
    CHECK_OK(cocoimg__pubopts_parse(&pub, KAT_PUBOPTS, strlen(KAT_PUBOPTS), NULL));
    CHECK(memcmp(pub->hmac, hmac, 32) == 0);
    CHECK(!pub->has_nonce);

    /* serialising the same values gives ocicrypt's exact bytes */
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(cocoimg__layer_options_new(&o, key, 32, nonce, hmac, NULL));
    CHECK_OK(cocoimg__layer_options_set_digest(o, KAT_DIGEST, NULL));
    _cleanup_secret_ cocoimg__secret *pj = NULL;
    CHECK_OK(cocoimg__privopts_json(&pj, o, NULL));
    CHECK(pj->len == strlen(KAT_PRIVOPTS) && memcmp(pj->ptr, KAT_PRIVOPTS, pj->len) == 0);
    _cleanup_free_ char *uj = NULL;
    size_t ulen;
    CHECK_OK(cocoimg__pubopts_json(&uj, &ulen, o, NULL));
    CHECK(ulen == strlen(KAT_PUBOPTS) && strcmp(uj, KAT_PUBOPTS) == 0);
    return 0;
}

/* Our annotation is byte-identical to the one skopeo put into the manifest. */
static int
test_options_annotation_matches_skopeo(void)
{
    if (!vectors()) {
        printf("# OCI_VECTORS is not set (run under make check)\n");
        return -1;
    }
    size_t len;
    _cleanup_free_ uint8_t *idx_raw = slurp("layouts/enc-jwe-rsa/index.json", &len);
    CHECK(idx_raw);
    _cleanup_json_ json_t *idx = json_loadb((char *)idx_raw, len, 0, NULL);
    CHECK(idx);
    const char *mdig = json_string_value(
        json_object_get(json_array_get(json_object_get(idx, "manifests"), 0), "digest"));
    CHECK(mdig && strncmp(mdig, "sha256:", 7) == 0);
    char rel[256];
    snprintf(rel, sizeof(rel), "layouts/enc-jwe-rsa/blobs/sha256/%s", mdig + 7);
    _cleanup_free_ uint8_t *man_raw = slurp(rel, &len);
    CHECK(man_raw);
    _cleanup_json_ json_t *man = json_loadb((char *)man_raw, len, 0, NULL);
    json_t *l0 = json_array_get(json_object_get(man, "layers"), 0);
    const char *ann = json_string_value(
        json_object_get(json_object_get(l0, "annotations"), COCOIMG__ANNOTATION_PUBOPTS));
    CHECK(ann);

    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(parse_both(&o, KAT_PRIVOPTS, KAT_PUBOPTS));
    _cleanup_free_ char *ours = NULL;
    CHECK_OK(cocoimg__pubopts_annotation(&ours, o, NULL));
    CHECK(strcmp(ours, ann) == 0);

    _cleanup_pubopts_ cocoimg__pubopts *pub = NULL;
    CHECK_OK(cocoimg__pubopts_annotation_parse(&pub, ann, NULL));
    CHECK(memcmp(pub->hmac, o->hmac, 32) == 0);
    return 0;
}

/* Every option pair in expected.json parses and re-serialises to the same bytes. */
static int
test_options_roundtrip_vectors(void)
{
    if (!vectors()) {
        printf("# OCI_VECTORS is not set (run under make check)\n");
        return -1;
    }
    _cleanup_json_ json_t *exp = expected_json();
    CHECK(exp);
    const char *layout;
    json_t *layers;
    int n = 0;
    json_object_foreach(exp, layout, layers)
    {
        size_t i;
        json_t *e;
        json_array_foreach(layers, i, e)
        {
            if (!json_is_true(json_object_get(e, "encrypted")))
                continue;
            const char *pj = cocoimg__json_str(e, "privopts");
            const char *uj = cocoimg__json_str(e, "pubopts");
            CHECK(pj && uj);
            _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
            CHECK_OK(parse_both(&o, pj, uj));
            _cleanup_secret_ cocoimg__secret *pj2 = NULL;
            CHECK_OK(cocoimg__privopts_json(&pj2, o, NULL));
            CHECK(pj2->len == 193);
            CHECK(pj2->len == trimmed_len(pj) && memcmp(pj2->ptr, pj, pj2->len) == 0);
            _cleanup_free_ char *uj2 = NULL;
            CHECK_OK(cocoimg__pubopts_json(&uj2, NULL, o, NULL));
            CHECK(strlen(uj2) == trimmed_len(uj) && memcmp(uj2, uj, strlen(uj2)) == 0);
            n++;
        }
    }
    printf("# %d option pairs round-tripped\n", n);
    CHECK(n >= 20);
    return 0;
}

static int
test_options_generate(void)
{
    _cleanup_layer_options_ cocoimg__layer_options *a = NULL, *b = NULL;
    CHECK_OK(cocoimg__layer_options_generate(&a, NULL));
    CHECK_OK(cocoimg__layer_options_generate(&b, NULL));
    CHECK(a->symkey->len == 32 && !a->has_hmac && !a->digest);
    CHECK(memcmp(a->symkey->ptr, b->symkey->ptr, 32) != 0);
    CHECK(memcmp(a->nonce, b->nonce, 16) != 0);
    CHECK_OK(cocoimg__layer_options_set_digest(a, KAT_DIGEST, NULL));
    _cleanup_secret_ cocoimg__secret *pj = NULL;
    CHECK_OK(cocoimg__privopts_json(&pj, a, NULL));
    CHECK(pj->len == 193);
    _cleanup_privopts_ cocoimg__privopts *p = NULL;
    CHECK_OK(cocoimg__privopts_parse(&p, pj->ptr, pj->len, NULL));
    CHECK(memcmp(p->symkey->ptr, a->symkey->ptr, 32) == 0);
    CHECK(memcmp(p->nonce, a->nonce, 16) == 0 && strcmp(p->digest, KAT_DIGEST) == 0);

    /* no digest: Go's zero value "" */
    _cleanup_secret_ cocoimg__secret *pj2 = NULL;
    CHECK_OK(cocoimg__layer_options_set_digest(b, NULL, NULL));
    CHECK_OK(cocoimg__privopts_json(&pj2, b, NULL));
    CHECK(memmem(pj2->ptr, pj2->len, "\"digest\":\"\",", 12) != NULL);

    /* pubopts needs the HMAC of a finished encryption */
    _cleanup_error_ cocoimg_error *err = NULL;
    char *s = NULL;
    CHECK(cocoimg__pubopts_json(&s, NULL, a, &err) == COCOIMG_EINVAL);
    CHECK(cocoimg__pubopts_annotation(&s, a, NULL) == COCOIMG_EINVAL);
    CHECK(s == NULL);
    return 0;
}

static int
test_options_go_escaping(void)
{
    uint8_t key[32] = {0}, nonce[16] = {0};
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(cocoimg__layer_options_new(&o, key, 32, nonce, NULL, NULL));
    /* what Go's encoding/json (>= 1.22) writes for these characters */
    CHECK_OK(cocoimg__layer_options_set_digest(o, "a<b>&\"\\\n\t\b\f\x01\x7f\xc3\xa9\xe2\x80\xa8",
                                               NULL));
    _cleanup_secret_ cocoimg__secret *pj = NULL;
    CHECK_OK(cocoimg__privopts_json(&pj, o, NULL));
    static const char want[] =
        "{\"symkey\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"digest\":"
        "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\t\\b\\f\\u0001\x7f\xc3\xa9\\u2028\","
        "\"cipheroptions\":{\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}}";
    CHECK(pj->len == strlen(want) && memcmp(pj->ptr, want, pj->len) == 0);
    /* and it parses back to the same string */
    _cleanup_privopts_ cocoimg__privopts *p = NULL;
    CHECK_OK(cocoimg__privopts_parse(&p, pj->ptr, pj->len, NULL));
    CHECK(strcmp(p->digest, o->digest) == 0);

    _cleanup_error_ cocoimg_error *err = NULL;
    cocoimg__secret *bad = NULL;
    CHECK_OK(cocoimg__layer_options_set_digest(o, "sha256:\xff", NULL));
    CHECK(cocoimg__privopts_json(&bad, o, &err) == COCOIMG_EINVAL && !bad);
    return 0;
}

#define K32 "kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw="
#define N16 "PWvES3s5UrZLq4pjz5sXiw=="
#define H32 "fVBUa5FWWv1NqL0K6RixwqEhJsZHh5rY5XHcWwls8iE="

/* What Go accepts, we accept (spec 2.4). */
static int
test_options_lenient(void)
{
    uint8_t key[32], nonce[16], hmac[32];
    unhex(key, KAT_KEY);
    unhex(nonce, KAT_NONCE);
    unhex(hmac, KAT_HMAC);

    /* case-insensitive keys, U+017F for 's', unknown keys, null digest, int arrays */
    static const char priv1[] =
        "{\"\xc5\xbfYMKEY\":\"" K32 "\",\"Digest\":null,\"extra\":[1,{\"x\":null}],"
        "\"CipherOptions\":{\"nonce\":[61,107,196,75,123,57,82,182,75,171,138,99,207,155,23,139],"
        "\"other\":null}}";
    _cleanup_privopts_ cocoimg__privopts *p = NULL;
    CHECK_OK(cocoimg__privopts_parse(&p, priv1, strlen(priv1), NULL));
    CHECK(memcmp(p->symkey->ptr, key, 32) == 0 && strcmp(p->digest, "") == 0);
    CHECK(p->has_nonce && memcmp(p->nonce, nonce, 16) == 0);

    /* Kelvin sign for 'k', CR/LF inside base64, no cipheroptions at all */
    static const char priv2[] = "{\"sym\xe2\x84\xaa"
                                "ey\":\"kWEtU4Pe6mpHLhFsa0/eCubN\\r\\n"
                                "wGtfAFJKaihSUAemGJw=\"}";
    _cleanup_privopts_ cocoimg__privopts *p2 = NULL;
    CHECK_OK(cocoimg__privopts_parse(&p2, priv2, strlen(priv2), NULL));
    CHECK(memcmp(p2->symkey->ptr, key, 32) == 0 && !p2->has_nonce);

    /* an unauthenticated pubopts nonce never overrides the wrapped one (issue 12) */
    static const char pub1[] = "{\"CIPHER\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"" H32
                               "\",\"cipheroptions\":{\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}}";
    _cleanup_pubopts_ cocoimg__pubopts *u = NULL;
    CHECK_OK(cocoimg__pubopts_parse(&u, pub1, strlen(pub1), NULL));
    CHECK(u->has_nonce && memcmp(u->hmac, hmac, 32) == 0);
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(cocoimg__layer_options_combine(&o, p, u, NULL));
    CHECK(memcmp(o->nonce, nonce, 16) == 0 && o->has_hmac);

    /* pubopts without a nonce: privopts' nonce; null cipheroptions allowed */
    static const char pub2[] =
        "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"" H32 "\",\"cipheroptions\":null}";
    _cleanup_pubopts_ cocoimg__pubopts *u2 = NULL;
    _cleanup_layer_options_ cocoimg__layer_options *o2 = NULL;
    CHECK_OK(cocoimg__pubopts_parse(&u2, pub2, strlen(pub2), NULL));
    CHECK_OK(cocoimg__layer_options_combine(&o2, p, u2, NULL));
    CHECK(memcmp(o2->nonce, nonce, 16) == 0);

    /* annotation with a line break (Go's StdEncoding skips CR/LF) */
    _cleanup_free_ char *ann = NULL;
    CHECK_OK(cocoimg__b64_encode(&ann, KAT_PUBOPTS, strlen(KAT_PUBOPTS), COCOIMG_B64_STD, NULL));
    char wrapped[512];
    snprintf(wrapped, sizeof(wrapped), "%.40s\r\n%s", ann, ann + 40);
    _cleanup_pubopts_ cocoimg__pubopts *u3 = NULL;
    CHECK_OK(cocoimg__pubopts_annotation_parse(&u3, wrapped, NULL));
    CHECK(memcmp(u3->hmac, hmac, 32) == 0);
    return 0;
}

struct reject {
    int which; /* 0 privopts, 1 pubopts, 2 pubopts annotation */
    const char *input;
    int code;
};

static const struct reject rejects[] = {
    /* not an object / not JSON */
    {0, "[]", COCOIMG_EFORMAT},
    {0, "null", COCOIMG_EFORMAT},
    {0, "\"" K32 "\"", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\"", COCOIMG_EFORMAT},
    {1, "42", COCOIMG_EFORMAT},
    /* key: missing, short, long, bad base64, URL alphabet, unpadded, null, wrong types */
    {0, "{\"digest\":\"x\",\"cipheroptions\":{\"nonce\":\"" N16 "\"}}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" N16 "\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 K32 "\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJ!=\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"kWEtU4Pe6mpHLhFsa0_eCubNwGtfAFJKaihSUAemGJw=\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"kWEtU4Pe6mpHLhFsa0/eCubNwGtfAFJKaihSUAemGJw\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":null}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":12}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":[1,2,256]}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":[1.0]}", COCOIMG_EFORMAT},
    /* ambiguous: two keys fold to symkey */
    {0, "{\"symkey\":\"" K32 "\",\"SYMKEY\":\"" K32 "\"}", COCOIMG_EFORMAT},
    /* digest / cipheroptions / nonce types and lengths */
    {0, "{\"symkey\":\"" K32 "\",\"digest\":5}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"digest\":\"a\\u0000b\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":\"x\"}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":{\"nonce\":7}}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":{\"nonce\":null}}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":{\"nonce\":\"" K32 "\"}}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":{\"x\":{}}}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":{\"x\":\"!!\"}}", COCOIMG_EFORMAT},
    {0, "{\"symkey\":\"" K32 "\",\"cipheroptions\":{\"x\\n\":[300]}}", COCOIMG_EFORMAT},
    /* cipher: unknown, empty, missing, wrong type */
    {1, "{\"cipher\":\"AES_256_GCM\",\"hmac\":\"" H32 "\"}", COCOIMG_ENOTSUP},
    {1, "{\"cipher\":\"aes_256_ctr_hmac_sha256\",\"hmac\":\"" H32 "\"}", COCOIMG_ENOTSUP},
    {1, "{\"cipher\":\"\",\"hmac\":\"" H32 "\"}", COCOIMG_EFORMAT},
    {1, "{\"hmac\":\"" H32 "\"}", COCOIMG_EFORMAT},
    {1, "{\"cipher\":[],\"hmac\":\"" H32 "\"}", COCOIMG_EFORMAT},
    /* hmac: missing, empty, short, wrong type */
    {1, "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\"}", COCOIMG_EFORMAT},
    {1, "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"\"}", COCOIMG_EFORMAT},
    {1, "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"" N16 "\"}", COCOIMG_EFORMAT},
    {1, "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":{}}", COCOIMG_EFORMAT},
    {1, "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"" H32 "\",\"cipheroptions\":[]}",
     COCOIMG_EFORMAT},
    /* annotation: not base64, unpadded, base64 of a non-object */
    {2, "not base64!", COCOIMG_EFORMAT},
    {2, "eyJjaXBoZXIiOiJBRVNfMjU2X0NUUl9ITUFDX1NIQTI1NiJ9", COCOIMG_EFORMAT},
    {2, "W10=", COCOIMG_EFORMAT},
    {0},
};

static int
test_options_reject(void)
{
    int i = 0;
    for (const struct reject *t = rejects; t->input; t++, i++) {
        _cleanup_error_ cocoimg_error *err = NULL;
        cocoimg__privopts *p = NULL;
        cocoimg__pubopts *u = NULL;
        int r;
        if (t->which == 0)
            r = cocoimg__privopts_parse(&p, t->input, strlen(t->input), &err);
        else if (t->which == 1)
            r = cocoimg__pubopts_parse(&u, t->input, strlen(t->input), &err);
        else
            r = cocoimg__pubopts_annotation_parse(&u, t->input, &err);
        if (r != t->code) {
            printf("# reject[%d] %s: got %d (%s), want %d\n", i, t->input, r,
                   err ? cocoimg_error_message(err) : "-", t->code);
            return -1;
        }
        CHECK(!p && !u);
        CHECK(err && strchr(cocoimg_error_message(err), '\n') == NULL);
    }

    /* a document far beyond any real one */
    size_t big = COCOIMG__OPTS_JSON_MAX + 16;
    _cleanup_free_ char *doc = malloc(big);
    CHECK(doc);
    memset(doc, ' ', big);
    doc[0] = '{';
    doc[big - 1] = '}';
    cocoimg__privopts *p = NULL;
    CHECK(cocoimg__privopts_parse(&p, doc, big, NULL) == COCOIMG_ELIMIT);

    /* no nonce in either half */
    _cleanup_privopts_ cocoimg__privopts *pn = NULL;
    _cleanup_pubopts_ cocoimg__pubopts *un = NULL;
    static const char priv[] = "{\"symkey\":\"" K32 "\"}";
    CHECK_OK(cocoimg__privopts_parse(&pn, priv, strlen(priv), NULL));
    CHECK_OK(cocoimg__pubopts_parse(&un, KAT_PUBOPTS, strlen(KAT_PUBOPTS), NULL));
    _cleanup_error_ cocoimg_error *err = NULL;
    cocoimg__layer_options *o = NULL;
    CHECK(cocoimg__layer_options_combine(&o, pn, un, &err) == COCOIMG_EFORMAT && !o);
    /* ... and a nonce in the public half only is not taken either */
    static const char pubn[] = "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"" H32
                               "\",\"cipheroptions\":{\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}}";
    _cleanup_pubopts_ cocoimg__pubopts *upn = NULL;
    CHECK_OK(cocoimg__pubopts_parse(&upn, pubn, strlen(pubn), NULL));
    CHECK(upn->has_nonce);
    CHECK(cocoimg__layer_options_combine(&o, pn, upn, NULL) == COCOIMG_EFORMAT && !o);

    /* wrong key length on the encrypt side */
    uint8_t k[31] = {0}, n[16] = {0};
    CHECK(cocoimg__layer_options_new(&o, k, sizeof(k), n, NULL, NULL) == COCOIMG_EINVAL);
    return 0;
}

/* --- cipher stages ------------------------------------------------------- */

/* Pull @p r to EOF in reads of @p chunk bytes; returns the final code. */
static int
drain(cocoimg__reader *r, size_t chunk, uint8_t **out, size_t *out_len, cocoimg_error **err)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return COCOIMG_ENOMEM;
    for (;;) {
        if (cap - n < chunk) {
            uint8_t *nb = realloc(buf, cap = 2 * cap + chunk);
            if (!nb) {
                free(buf);
                return COCOIMG_ENOMEM;
            }
            buf = nb;
        }
        ssize_t got = cocoimg__reader_read(r, buf + n, chunk, err);
        if (got <= 0) {
            *out = buf;
            *out_len = n;
            return (int)got;
        }
        n += (size_t)got;
    }
}

/*
 * Run @p in through encrypt (enc) or decrypt, reading @p chunk at a time;
 * @p via_async: from an async stage (the cipher then works out of place).
 */
static int
run_stage_via(bool via_async, bool enc, const cocoimg__layer_options *o, const void *in, size_t len,
              size_t chunk, uint8_t hmac_out[32], uint8_t **out, size_t *out_len,
              cocoimg_error **err)
{
    cocoimg__reader *src = NULL;
    _cleanup_reader_ cocoimg__reader *st = NULL;
    int r = cocoimg__reader_mem(&src, in, len, err);
    if (r < 0)
        return r;
    /* through an async stage the cipher peeks: out of place, from its slots */
    if (via_async && (r = cocoimg__reader_async(&src, src, err)) < 0)
        return r;
    if (via_async != cocoimg__reader_can_peek(src))
        return COCOIMG_ERROR;
    r = enc ? cocoimg__reader_encrypt(&st, src, o, hmac_out, err)
            : cocoimg__reader_decrypt(&st, src, o, err);
    if (r < 0)
        return r;
    return drain(st, chunk, out, out_len, err);
}

static int
run_stage(bool enc, const cocoimg__layer_options *o, const void *in, size_t len, size_t chunk,
          uint8_t hmac_out[32], uint8_t **out, size_t *out_len, cocoimg_error **err)
{
    return run_stage_via(false, enc, o, in, len, chunk, hmac_out, out, out_len, err);
}

static int
kat_options(cocoimg__layer_options **o)
{
    uint8_t key[32], nonce[16], hmac[32];
    unhex(key, KAT_KEY);
    unhex(nonce, KAT_NONCE);
    unhex(hmac, KAT_HMAC);
    return cocoimg__layer_options_new(o, key, 32, nonce, hmac, NULL);
}

static int
test_cipher_kat(void)
{
    if (!vectors()) {
        printf("# OCI_VECTORS is not set (run under make check)\n");
        return -1;
    }
    size_t plen, clen;
    _cleanup_free_ uint8_t *plain = slurp("plaintext/layer1.tar.gz", &plen);
    _cleanup_free_ uint8_t *ct = slurp("layouts/enc-jwe-rsa/blobs/sha256/" KAT_CIPHERTEXT, &clen);
    CHECK(plain && ct && plen == 133 && clen == 133);
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(kat_options(&o));

    /* encrypting gives exactly ocicrypt's blob and HMAC, whatever the read size */
    static const size_t chunks[] = {1, 7, 16, 17, 133, 4096};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(chunks); i++) {
        uint8_t hmac[32] = {0};
        _cleanup_free_ uint8_t *out = NULL;
        size_t olen;
        CHECK_OK(run_stage(true, o, plain, plen, chunks[i], hmac, &out, &olen, NULL));
        CHECK(olen == clen && memcmp(out, ct, clen) == 0);
        CHECK(memcmp(hmac, o->hmac, 32) == 0);

        _cleanup_free_ uint8_t *back = NULL;
        CHECK_OK(run_stage(false, o, ct, clen, chunks[i], NULL, &back, &olen, NULL));
        CHECK(olen == plen && memcmp(back, plain, plen) == 0);

        /* the same bytes and tag out of place (peeking an async stage) */
        uint8_t hmac2[32] = {0};
        _cleanup_free_ uint8_t *out2 = NULL, *back2 = NULL;
        CHECK_OK(run_stage_via(true, true, o, plain, plen, chunks[i], hmac2, &out2, &olen, NULL));
        CHECK(olen == clen && memcmp(out2, ct, clen) == 0 && memcmp(hmac2, o->hmac, 32) == 0);
        CHECK_OK(run_stage_via(true, false, o, ct, clen, chunks[i], NULL, &back2, &olen, NULL));
        CHECK(olen == plen && memcmp(back2, plain, plen) == 0);
    }
    /* a tampered ciphertext fails out of place too */
    {
        _cleanup_free_ uint8_t *bad = malloc(clen), *junk = NULL;
        CHECK(bad);
        memcpy(bad, ct, clen);
        bad[clen / 2] ^= 0x20;
        size_t jl = 0;
        CHECK(run_stage_via(true, false, o, bad, clen, 64, NULL, &junk, &jl, NULL) ==
              COCOIMG_EAUTH);
    }

    /* verify-first agrees */
    _cleanup_reader_ cocoimg__reader *src = NULL;
    uint64_t size = 0;
    CHECK_OK(cocoimg__reader_mem(&src, ct, clen, NULL));
    CHECK_OK(cocoimg__blockcipher_verify(src, o, &size, NULL));
    CHECK(size == clen);
    return 0;
}

/* Decrypt every encrypted layer of every vector layout with its privopts. */
static int
test_cipher_vectors(void)
{
    if (!vectors()) {
        printf("# OCI_VECTORS is not set (run under make check)\n");
        return -1;
    }
    _cleanup_json_ json_t *exp = expected_json();
    CHECK(exp);
    const char *layout;
    json_t *layers;
    int n = 0;
    json_object_foreach(exp, layout, layers)
    {
        size_t i;
        json_t *e;
        json_array_foreach(layers, i, e)
        {
            if (!json_is_true(json_object_get(e, "encrypted")))
                continue;
            _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
            CHECK_OK(
                parse_both(&o, cocoimg__json_str(e, "privopts"), cocoimg__json_str(e, "pubopts")));
            const char *cdig = cocoimg__json_str(e, "ciphertextDigest");
            const char *pdig = cocoimg__json_str(e, "plaintextDigest");
            CHECK(cdig && pdig && strncmp(cdig, "sha256:", 7) == 0);
            char rel[512];
            snprintf(rel, sizeof(rel), "layouts/%s/blobs/sha256/%s", layout, cdig + 7);
            size_t clen;
            _cleanup_free_ uint8_t *ct = slurp(rel, &clen);
            CHECK(ct);

            _cleanup_error_ cocoimg_error *err = NULL;
            _cleanup_free_ uint8_t *plain = NULL;
            size_t plen;
            int r = run_stage(false, o, ct, clen, 65536, NULL, &plain, &plen, &err);
            if (r != 0)
                printf("# %s layer %zu: %s\n", layout, i, cocoimg_error_message(err));
            CHECK(r == 0);
            CHECK((json_int_t)plen == json_integer_value(json_object_get(e, "plaintextSize")));
            uint8_t md[32];
            char hex[72] = "sha256:";
            SHA256(plain, plen, md);
            for (int k = 0; k < 32; k++)
                snprintf(hex + 7 + 2 * k, 3, "%02x", md[k]);
            CHECK(strcmp(hex, pdig) == 0);

            /* and re-encrypting the plaintext reproduces ocicrypt's blob and tag */
            uint8_t hmac[32];
            _cleanup_free_ uint8_t *ct2 = NULL;
            size_t clen2;
            CHECK_OK(run_stage(true, o, plain, plen, 65536, hmac, &ct2, &clen2, NULL));
            CHECK(clen2 == clen && memcmp(ct2, ct, clen) == 0 && memcmp(hmac, o->hmac, 32) == 0);
            n++;
        }
    }
    printf("# %d layers decrypted\n", n);
    CHECK(n >= 20);
    return 0;
}

/* Expect @p ct (decrypted with @p o) to fail authentication at EOF. */
static int
expect_eauth(const cocoimg__layer_options *o, const uint8_t *ct, size_t len)
{
    _cleanup_error_ cocoimg_error *err = NULL;
    _cleanup_free_ uint8_t *out = NULL;
    size_t olen;
    int r = run_stage(false, o, ct, len, 4096, NULL, &out, &olen, &err);
    CHECK(r == COCOIMG_EAUTH && cocoimg_error_code(err) == COCOIMG_EAUTH);
    CHECK(olen == len); /* the verdict comes at EOF, after the (unauthenticated) data */

    _cleanup_reader_ cocoimg__reader *src = NULL;
    CHECK_OK(cocoimg__reader_mem(&src, ct, len, NULL));
    CHECK(cocoimg__blockcipher_verify(src, o, NULL, NULL) == COCOIMG_EAUTH);
    return 0;
}

static int
test_cipher_tamper(void)
{
    if (!vectors()) {
        printf("# OCI_VECTORS is not set (run under make check)\n");
        return -1;
    }
    size_t clen;
    _cleanup_free_ uint8_t *ct = slurp("layouts/enc-jwe-rsa/blobs/sha256/" KAT_CIPHERTEXT, &clen);
    CHECK(ct);
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(kat_options(&o));

    /* flipped bit, first, middle and last byte */
    static const size_t pos[] = {0, 50, 132};
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(pos); i++) {
        ct[pos[i]] ^= 0x01;
        CHECK(expect_eauth(o, ct, clen) == 0);
        ct[pos[i]] ^= 0x01;
    }
    /* truncated (also to nothing), and extended */
    CHECK(expect_eauth(o, ct, clen - 1) == 0);
    CHECK(expect_eauth(o, ct, 0) == 0);
    _cleanup_free_ uint8_t *longer = calloc(1, clen + 1);
    CHECK(longer);
    memcpy(longer, ct, clen);
    CHECK(expect_eauth(o, longer, clen + 1) == 0);

    /* the skopeo-verified tampered layout (byte 50 flipped) */
    size_t tlen;
    _cleanup_free_ uint8_t *tampered =
        slurp("layouts/enc-tampered/blobs/sha256/"
              "ba89cf50cdf426b2df0a5e0901cf5c310e27c80f78af0705a382e68808374043",
              &tlen);
    CHECK(tampered && tlen == clen);
    CHECK(expect_eauth(o, tampered, tlen) == 0);

    /* wrong key, wrong nonce (same key: the HMAC passes, the plaintext is garbage) */
    _cleanup_layer_options_ cocoimg__layer_options *wrong = NULL;
    CHECK_OK(kat_options(&wrong));
    wrong->symkey->ptr[31] ^= 0x80;
    CHECK(expect_eauth(wrong, ct, clen) == 0);
    wrong->symkey->ptr[31] ^= 0x80;
    wrong->nonce[15] ^= 1;
    _cleanup_free_ uint8_t *garbage = NULL;
    size_t glen;
    CHECK_OK(run_stage(false, wrong, ct, clen, 4096, NULL, &garbage, &glen, NULL));
    CHECK(glen == clen && garbage[0] != 0x1f);
    /* wrong HMAC */
    wrong->nonce[15] ^= 1;
    wrong->hmac[0] ^= 1;
    CHECK(expect_eauth(wrong, ct, clen) == 0);

    /* the verdict sticks: reading again after EAUTH gives EAUTH again */
    cocoimg__reader *src = NULL;
    _cleanup_reader_ cocoimg__reader *dec = NULL;
    CHECK_OK(cocoimg__reader_mem(&src, ct, clen, NULL));
    CHECK_OK(cocoimg__reader_decrypt(&dec, src, wrong, NULL));
    uint8_t buf[256];
    CHECK(cocoimg__reader_read(dec, buf, sizeof(buf), NULL) == (ssize_t)clen);
    CHECK(cocoimg__reader_read(dec, buf, sizeof(buf), NULL) == COCOIMG_EAUTH);
    CHECK(cocoimg__reader_read(dec, buf, sizeof(buf), NULL) == COCOIMG_EAUTH);
    return 0;
}

static int
test_cipher_roundtrip(void)
{
    /* > several pipeline buffers, odd size: partial CTR blocks across reads */
    size_t len = 3 * COCOIMG_PIPE_BUFSZ + 12345;
    _cleanup_free_ uint8_t *plain = malloc(len);
    CHECK(plain);
    for (size_t i = 0; i < len; i++)
        plain[i] = (uint8_t)(i * 131 + (i >> 9));
    _cleanup_layer_options_ cocoimg__layer_options *o = NULL;
    CHECK_OK(cocoimg__layer_options_generate(&o, NULL));

    _cleanup_free_ uint8_t *ct = NULL, *ct2 = NULL, *back = NULL;
    size_t clen, clen2, blen;
    CHECK_OK(run_stage(true, o, plain, len, COCOIMG_PIPE_BUFSZ, o->hmac, &ct, &clen, NULL));
    o->has_hmac = true;
    CHECK(clen == len && memcmp(ct, plain, 64) != 0);
    /* same bytes whatever the read pattern */
    uint8_t hmac2[32];
    CHECK_OK(run_stage(true, o, plain, len, 1000, hmac2, &ct2, &clen2, NULL));
    CHECK(clen2 == len && memcmp(ct, ct2, len) == 0 && memcmp(hmac2, o->hmac, 32) == 0);
    CHECK_OK(run_stage(false, o, ct, clen, 333, NULL, &back, &blen, NULL));
    CHECK(blen == len && memcmp(back, plain, len) == 0);

    /* empty layer: empty ciphertext, HMAC of "" */
    uint8_t e_hmac[32];
    _cleanup_free_ uint8_t *e_ct = NULL, *e_back = NULL;
    size_t e_len;
    CHECK_OK(run_stage(true, o, "", 0, 4096, e_hmac, &e_ct, &e_len, NULL));
    CHECK(e_len == 0);
    _cleanup_layer_options_ cocoimg__layer_options *eo = NULL;
    CHECK_OK(cocoimg__layer_options_new(&eo, o->symkey->ptr, 32, o->nonce, e_hmac, NULL));
    CHECK_OK(run_stage(false, eo, "", 0, 4096, NULL, &e_back, &e_len, NULL));
    CHECK(e_len == 0);

    /* decrypt needs an HMAC; a bad key length is refused up front */
    o->has_hmac = false;
    cocoimg__reader *src = NULL, *st = NULL;
    CHECK_OK(cocoimg__reader_mem(&src, plain, len, NULL));
    CHECK(cocoimg__reader_decrypt(&st, src, o, NULL) == COCOIMG_EINVAL && !st);
    o->symkey->len = 16;
    CHECK_OK(cocoimg__reader_mem(&src, plain, len, NULL));
    CHECK(cocoimg__reader_encrypt(&st, src, o, hmac2, NULL) == COCOIMG_EINVAL && !st);
    o->symkey->len = 32;
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_options_kat),
    TAP_TEST(test_options_annotation_matches_skopeo),
    TAP_TEST(test_options_roundtrip_vectors),
    TAP_TEST(test_options_generate),
    TAP_TEST(test_options_go_escaping),
    TAP_TEST(test_options_lenient),
    TAP_TEST(test_options_reject),
    TAP_TEST(test_cipher_kat),
    TAP_TEST(test_cipher_vectors),
    TAP_TEST(test_cipher_tamper),
    TAP_TEST(test_cipher_roundtrip),
    {0},
};

int
main(void)
{
    return tap_run(tests);
}
