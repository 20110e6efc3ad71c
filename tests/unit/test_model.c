/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "oci/model.h"
#include "tap.h"
#include "util/json.h"

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D2 "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char *
layouts_dir(void)
{
    static char dir[4096];
    const char *shared = getenv("OCI_VECTORS");
    snprintf(dir, sizeof(dir), "%s/layouts", shared ? shared : "tests/vectors/ocicrypt");
    return dir;
}

static int
slurp(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int
read_blob(const char *layout, const cocoimg__digest *d, char **out, size_t *len)
{
    char hex[129], path[8192];
    cocoimg__digest_hex(d, hex);
    snprintf(path, sizeof(path), "%s/%s/blobs/%s/%s", layouts_dir(), layout,
             cocoimg__digest_alg_name(d->alg), hex);
    return slurp(path, out, len);
}

/*
 * Lossless round trip: the dump of the parsed tree equals the input as
 * JSON, and byte for byte when the input was compact (Go writes compact
 * JSON, so our rewrite of an untouched document is identical).
 */
static int
check_round_trip(const json_t *root, const char *buf, size_t len, int *identical)
{
    _cleanup_free_ char *dump = NULL;
    size_t dlen = 0;
    CHECK_OK(cocoimg__json_dump(&dump, &dlen, root, NULL));
    _cleanup_json_ json_t *orig = NULL, *again = NULL;
    CHECK_OK(cocoimg__json_loadb(&orig, buf, len, COCOIMG_JSON_MAX_SIZE, true, "t", NULL));
    CHECK_OK(cocoimg__json_loadb(&again, dump, dlen, COCOIMG_JSON_MAX_SIZE, true, "t", NULL));
    CHECK(json_equal(orig, again));
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    if (len == dlen && memcmp(buf, dump, len) == 0)
        (*identical)++;
    return 0;
}

static int
check_config(const char *layout, const cocoimg__manifest *m, int *identical)
{
    _cleanup_free_ char *buf = NULL;
    size_t len;
    CHECK(read_blob(layout, &m->config.digest, &buf, &len) == 0);
    CHECK((int64_t)len == m->config.size);
    cocoimg__digest got;
    CHECK_OK(cocoimg__digest_buffer(&got, m->config.digest.alg, buf, len, NULL));
    CHECK(cocoimg__digest_equal(&got, &m->config.digest));
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    CHECK_OK(cocoimg__config_parse(&c, buf, len, NULL));
    CHECK(strcmp(c->os, "linux") == 0);
    CHECK(c->architecture[0] != '\0');
    CHECK(c->n_diff_ids == m->n_layers);
    CHECK(check_round_trip(c->root, buf, len, identical) == 0);
    return 0;
}

static int
check_layout(const char *layout, int *n_manifests, int *n_encrypted, int *identical)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s/index.json", layouts_dir(), layout);
    _cleanup_free_ char *ibuf = NULL;
    size_t ilen;
    if (slurp(path, &ibuf, &ilen) < 0)
        return 0; /* not a layout (plain-docker-dir) */
    cocoimg__doc_kind k;
    CHECK_OK(cocoimg__doc_detect(&k, ibuf, ilen, NULL, NULL));
    CHECK(k == COCOIMG_DOC_OCI_INDEX);
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    CHECK_OK(cocoimg__index_parse(&ix, ibuf, ilen, COCOIMG_MT_OCI_INDEX, NULL));
    CHECK(ix->kind == COCOIMG_DOC_OCI_INDEX);
    CHECK(ix->n_manifests >= 1);
    CHECK(check_round_trip(ix->root, ibuf, ilen, identical) == 0);
    for (size_t i = 0; i < ix->n_manifests; i++) {
        const cocoimg__descriptor *d = &ix->manifests[i];
        CHECK(cocoimg__doc_kind_of(d->media_type) == COCOIMG_DOC_OCI_MANIFEST);
        CHECK(json_is_string(
            json_object_get(json_object_get(d->json, "annotations"), COCOIMG_ANNOTATION_REF_NAME)));
        _cleanup_free_ char *mbuf = NULL;
        size_t mlen;
        CHECK(read_blob(layout, &d->digest, &mbuf, &mlen) == 0);
        CHECK((int64_t)mlen == d->size);
        _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
        _cleanup_error_ cocoimg_error *err = NULL;
        int r = cocoimg__manifest_parse(&m, mbuf, mlen, d->media_type, &err);
        if (r < 0)
            printf("# %s: %s\n", layout, cocoimg_error_message(err));
        CHECK(r == 0);
        CHECK(m->kind == COCOIMG_DOC_OCI_MANIFEST);
        CHECK(strcmp(m->config.media_type, COCOIMG_MT_OCI_CONFIG) == 0);
        CHECK(m->n_layers >= 1);
        for (size_t l = 0; l < m->n_layers; l++) {
            cocoimg__layer_type lt;
            CHECK_OK(cocoimg__layer_type_parse(&lt, m->layers[l].media_type, NULL));
            CHECK(!lt.docker);
            if (lt.encrypted) {
                (*n_encrypted)++;
                /* the ocicrypt annotations survive as unknown data */
                json_t *ann = json_object_get(m->layers[l].json, "annotations");
                CHECK(json_is_string(json_object_get(ann, "org.opencontainers.image.enc.pubopts")));
            }
        }
        CHECK(check_round_trip(m->root, mbuf, mlen, identical) == 0);
        CHECK(check_config(layout, m, identical) == 0);
        (*n_manifests)++;
    }
    return 0;
}

static int
test_vectors(void)
{
    DIR *d = opendir(layouts_dir());
    if (!d) {
        printf("# no vectors at %s\n", layouts_dir());
        return -1;
    }
    int n_manifests = 0, n_encrypted = 0, identical = 0, n_layouts = 0;
    struct dirent *e;
    int r = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (check_layout(e->d_name, &n_manifests, &n_encrypted, &identical) != 0) {
            printf("# layout %s failed\n", e->d_name);
            r = -1;
            break;
        }
        n_layouts++;
    }
    closedir(d);
    printf("# %d layouts, %d manifests, %d encrypted layers, %d byte-identical rewrites\n",
           n_layouts, n_manifests, n_encrypted, identical);
    CHECK(r == 0);
    CHECK(n_manifests >= 15);
    CHECK(n_encrypted >= 10);
    CHECK(identical >= 20);
    return 0;
}

static int
test_docker_dir(void)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/plain-docker-dir/manifest.json", layouts_dir());
    _cleanup_free_ char *buf = NULL;
    size_t len;
    if (slurp(path, &buf, &len) < 0)
        return 77;
    cocoimg__doc_kind k;
    CHECK_OK(cocoimg__doc_detect(&k, buf, len, NULL, NULL));
    CHECK(k == COCOIMG_DOC_DOCKER_MANIFEST);
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    CHECK_OK(cocoimg__manifest_parse(&m, buf, len, NULL, NULL));
    CHECK(m->kind == COCOIMG_DOC_DOCKER_MANIFEST);
    CHECK(strcmp(m->config.media_type, COCOIMG_MT_DOCKER_CONFIG) == 0);
    CHECK(m->config.size == 296);
    CHECK(m->n_layers == 1);
    CHECK(m->layers[0].size == 133);
    cocoimg__layer_type lt;
    CHECK_OK(cocoimg__layer_type_parse(&lt, m->layers[0].media_type, NULL));
    CHECK(lt.docker && !lt.encrypted && lt.compression == COCOIMG_COMPRESSION_GZIP);
    int identical = 0;
    CHECK(check_round_trip(m->root, buf, len, &identical) == 0);
    /* the dir: transport stores blobs by hex */
    char hex[129];
    cocoimg__digest_hex(&m->config.digest, hex);
    snprintf(path, sizeof(path), "%s/plain-docker-dir/%s", layouts_dir(), hex);
    _cleanup_free_ char *cbuf = NULL;
    size_t clen;
    CHECK(slurp(path, &cbuf, &clen) == 0);
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    CHECK_OK(cocoimg__config_parse(&c, cbuf, clen, NULL));
    CHECK(c->n_diff_ids == 1);
    /* the Docker manifest is no index */
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    CHECK(cocoimg__index_parse(&ix, buf, len, NULL, NULL) == COCOIMG_EFORMAT);
    return 0;
}

static int
test_layer_types(void)
{
    static const struct {
        const char *mt;
        cocoimg__compression c;
        bool enc, docker, nondist;
    } v[] = {
        {"application/vnd.oci.image.layer.v1.tar", COCOIMG_COMPRESSION_NONE, 0, 0, 0},
        {"application/vnd.oci.image.layer.v1.tar+gzip", COCOIMG_COMPRESSION_GZIP, 0, 0, 0},
        {"application/vnd.oci.image.layer.v1.tar+zstd", COCOIMG_COMPRESSION_ZSTD, 0, 0, 0},
        {"application/vnd.oci.image.layer.v1.tar+encrypted", COCOIMG_COMPRESSION_NONE, 1, 0, 0},
        {"application/vnd.oci.image.layer.v1.tar+gzip+encrypted", COCOIMG_COMPRESSION_GZIP, 1, 0,
         0},
        {"application/vnd.oci.image.layer.v1.tar+zstd+encrypted", COCOIMG_COMPRESSION_ZSTD, 1, 0,
         0},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar", COCOIMG_COMPRESSION_NONE, 0, 0,
         1},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", COCOIMG_COMPRESSION_GZIP,
         0, 0, 1},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd+encrypted",
         COCOIMG_COMPRESSION_ZSTD, 1, 0, 1},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+encrypted",
         COCOIMG_COMPRESSION_NONE, 1, 0, 1},
        {"application/vnd.docker.image.rootfs.diff.tar.gzip", COCOIMG_COMPRESSION_GZIP, 0, 1, 0},
        {"application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted", COCOIMG_COMPRESSION_GZIP, 1,
         1, 0},
        {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", COCOIMG_COMPRESSION_GZIP, 0,
         1, 1},
        {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip+encrypted",
         COCOIMG_COMPRESSION_GZIP, 1, 1, 1},
        {"application/vnd.docker.image.rootfs.diff.tar", COCOIMG_COMPRESSION_NONE, 0, 1, 0},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        cocoimg__layer_type lt;
        CHECK_OK(cocoimg__layer_type_parse(&lt, v[i].mt, NULL));
        CHECK(lt.compression == v[i].c);
        CHECK(lt.encrypted == v[i].enc);
        CHECK(lt.docker == v[i].docker);
        CHECK(lt.nondistributable == v[i].nondist);
    }
    static const char *bad[] = {
        "application/vnd.oci.image.layer.v1.tar+gzip+encrypted+encrypted",
        "application/vnd.oci.image.layer.v1.tar+bzip2",
        "application/vnd.oci.image.layer.v1.tar+encrypted+gzip",
        "+encrypted",
        "",
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.wasm.content.layer.v1+wasm",
        "APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR",
        "application/vnd.oci.image.layer.v1.tar ",
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad); i++) {
        cocoimg__layer_type lt;
        _cleanup_error_ cocoimg_error *err = NULL;
        CHECK(cocoimg__layer_type_parse(&lt, bad[i], &err) == COCOIMG_ENOTSUP);
        CHECK(strstr(cocoimg_error_message(err), "unsupported layer media type") != NULL);
    }
    return 0;
}

static int
detect(const char *doc, const char *hint, cocoimg__doc_kind *k)
{
    return cocoimg__doc_detect(k, doc, strlen(doc), hint, NULL);
}

static int
test_detect(void)
{
    cocoimg__doc_kind k;
    CHECK(cocoimg__doc_kind_of(COCOIMG_MT_OCI_MANIFEST) == COCOIMG_DOC_OCI_MANIFEST);
    CHECK(cocoimg__doc_kind_of(COCOIMG_MT_DOCKER_LIST) == COCOIMG_DOC_DOCKER_LIST);
    CHECK(cocoimg__doc_kind_of(COCOIMG_MT_DOCKER_MANIFEST "; charset=utf-8") ==
          COCOIMG_DOC_DOCKER_MANIFEST);
    CHECK(cocoimg__doc_kind_of(" application/VND.oci.image.index.v1+json ") ==
          COCOIMG_DOC_OCI_INDEX);
    CHECK(cocoimg__doc_kind_of(COCOIMG_MT_OCI_CONFIG) == COCOIMG_DOC_UNKNOWN);
    CHECK(cocoimg__doc_kind_of(COCOIMG_MT_OCI_MANIFEST "x") == COCOIMG_DOC_UNKNOWN);
    CHECK(cocoimg__doc_kind_of(NULL) == COCOIMG_DOC_UNKNOWN);
    CHECK(cocoimg__doc_is_index(COCOIMG_DOC_DOCKER_LIST));
    CHECK(!cocoimg__doc_is_index(COCOIMG_DOC_OCI_MANIFEST));

    CHECK_OK(detect("{\"mediaType\":\"" COCOIMG_MT_DOCKER_LIST "\"}", NULL, &k));
    CHECK(k == COCOIMG_DOC_DOCKER_LIST);
    CHECK_OK(detect("{\"manifests\":[]}", NULL, &k));
    CHECK(k == COCOIMG_DOC_OCI_INDEX);
    CHECK_OK(detect("{\"layers\":[]}", NULL, &k));
    CHECK(k == COCOIMG_DOC_OCI_MANIFEST);
    CHECK_OK(detect("{\"config\":{}}", "application/json", &k));
    CHECK(k == COCOIMG_DOC_OCI_MANIFEST);
    /* the hint decides when there is no mediaType member */
    CHECK_OK(detect("{\"layers\":[]}", COCOIMG_MT_DOCKER_MANIFEST, &k));
    CHECK(k == COCOIMG_DOC_DOCKER_MANIFEST);
    CHECK_OK(detect("{}", COCOIMG_MT_OCI_INDEX, &k));
    CHECK(k == COCOIMG_DOC_OCI_INDEX);
    /* a matching hint */
    CHECK_OK(detect("{\"mediaType\":\"" COCOIMG_MT_OCI_INDEX "\"}", COCOIMG_MT_OCI_INDEX, &k));

    static const struct {
        const char *doc, *hint;
        int code;
    } bad[] = {
        {"{\"mediaType\":\"" COCOIMG_MT_OCI_INDEX "\"}", COCOIMG_MT_OCI_MANIFEST, COCOIMG_EFORMAT},
        {"{\"mediaType\":\"" COCOIMG_MT_DOCKER_MANIFEST "\"}", COCOIMG_MT_OCI_MANIFEST,
         COCOIMG_EFORMAT},
        {"{\"mediaType\":7}", NULL, COCOIMG_EFORMAT},
        {"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+prettyjws\"}", NULL,
         COCOIMG_ENOTSUP},
        {"{\"mediaType\":\"application/vnd.example.thing+json\"}", NULL, COCOIMG_ENOTSUP},
        {"{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, COCOIMG_ENOTSUP},
        {"{\"schemaVersion\":2}", "application/vnd.docker.distribution.manifest.v1+json",
         COCOIMG_ENOTSUP},
        {"{}", NULL, COCOIMG_EFORMAT},
        {"{\"layers\":[],\"manifests\":[]}", NULL, COCOIMG_EFORMAT},
        {"[]", NULL, COCOIMG_EFORMAT},
        {"{", NULL, COCOIMG_EFORMAT},
        {"", NULL, COCOIMG_EFORMAT},
        {"{\"a\":1,\"a\":2}", NULL, COCOIMG_EFORMAT},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad); i++) {
        int r = detect(bad[i].doc, bad[i].hint, &k);
        if (r != bad[i].code)
            printf("# detect '%s': %d\n", bad[i].doc, r);
        CHECK(r == bad[i].code);
    }
    return 0;
}

/* A valid OCI manifest with @p extra spliced in as its first members. */
static char *
oci_manifest(const char *extra, const char *layer_extra)
{
    char *s = NULL;
    if (asprintf(&s,
                 "{%s\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG "\",\"digest\":\"" D1
                 "\",\"size\":10},"
                 "\"layers\":[{%s\"mediaType\":\"" COCOIMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D2
                 "\",\"size\":20}]}",
                 extra, layer_extra) < 0)
        return NULL;
    return s;
}

static int
expect_manifest(const char *doc, const char *hint, int code, const char *msg)
{
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = cocoimg__manifest_parse(&m, doc, strlen(doc), hint, &err);
    if (r != code || (msg && (!err || !strstr(cocoimg_error_message(err), msg))))
        printf("# doc %.300s\n#   -> %d '%s'\n", doc, r, err ? cocoimg_error_message(err) : "");
    CHECK(r == code);
    if (code < 0)
        CHECK(m == NULL);
    if (msg)
        CHECK(strstr(cocoimg_error_message(err), msg) != NULL);
    return 0;
}

static int
test_manifest_valid(void)
{
    _cleanup_free_ char *doc = oci_manifest(
        "\"x-unknown\":{\"deep\":[1,2.5,null,true]},\"annotations\":{\"a\":\"b\"},"
        "\"artifactType\":\"application/vnd.example+json\","
        "\"subject\":{\"mediaType\":\"" COCOIMG_MT_OCI_MANIFEST "\",\"digest\":\"" D2
        "\",\"size\":3},",
        "\"urls\":[\"https://example.com/x\"],\"annotations\":{\"k\":\"v\"},\"x-layer\":1,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"os.features\":[\"a\"]},");
    CHECK(doc);
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    CHECK_OK(cocoimg__manifest_parse(&m, doc, strlen(doc), NULL, NULL));
    CHECK(m->kind == COCOIMG_DOC_OCI_MANIFEST);
    CHECK(m->config.size == 10);
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&m->config.digest, ds);
    CHECK(strcmp(ds, D1) == 0);
    CHECK(m->n_layers == 1 && m->layers[0].size == 20);
    CHECK(strcmp(m->layers[0].os, "linux") == 0 && m->layers[0].variant == NULL);
    /* lossless: the dump is the input, unknown members and order included */
    _cleanup_free_ char *dump = NULL;
    CHECK_OK(cocoimg__json_dump(&dump, NULL, m->root, NULL));
    CHECK(strcmp(dump, doc) == 0);

    /* modify through the tree, refresh the views */
    json_t *layers = json_object_get(m->root, "layers");
    json_t *nd = NULL;
    CHECK_OK(cocoimg__descriptor_new(&nd, COCOIMG_MT_OCI_LAYER_ZSTD "+encrypted", &m->config.digest,
                                     77, NULL));
    CHECK(json_array_append_new(layers, nd) == 0);
    CHECK_OK(cocoimg__manifest_refresh(m, NULL));
    CHECK(m->n_layers == 2 && m->layers[1].size == 77);
    CHECK(json_is_integer(json_object_get(m->layers[0].json, "x-layer")));
    cocoimg__layer_type lt;
    CHECK_OK(cocoimg__layer_type_parse(&lt, m->layers[1].media_type, NULL));
    CHECK(lt.encrypted && lt.compression == COCOIMG_COMPRESSION_ZSTD);
    /* a broken modification fails the refresh and clears the views */
    json_object_set_new(nd, "size", json_integer(-1));
    CHECK(cocoimg__manifest_refresh(m, NULL) == COCOIMG_EFORMAT);
    CHECK(m->n_layers == 0 && m->layers == NULL);
    json_object_set_new(nd, "size", json_integer(1));
    CHECK_OK(cocoimg__manifest_refresh(m, NULL));
    CHECK(m->n_layers == 2);

    /* descriptor_new rejects nonsense */
    CHECK(cocoimg__descriptor_new(&nd, "nonsense", &m->config.digest, 1, NULL) == COCOIMG_EINVAL);
    CHECK(cocoimg__descriptor_new(&nd, COCOIMG_MT_OCI_LAYER, &m->config.digest, -5, NULL) ==
          COCOIMG_EINVAL);

    /* OCI manifest without mediaType member, with an empty layers array */
    const char *bare = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
                       "vnd.example.cfg\",\"digest\":\"" D1 "\",\"size\":0},\"layers\":[]}";
    CHECK(expect_manifest(bare, NULL, 0, NULL) == 0);
    CHECK(expect_manifest(bare, COCOIMG_MT_OCI_MANIFEST, 0, NULL) == 0);
    /* size limits: 0 and 2^53 */
    _cleanup_free_ char *big = oci_manifest("", "\"x\":0,");
    CHECK(big);
    char *p = strstr(big, "\"size\":20");
    CHECK(p);
    _cleanup_free_ char *max = NULL;
    CHECK(asprintf(&max, "%.*s\"size\":9007199254740992%s", (int)(p - big), big, p + 9) > 0);
    CHECK(expect_manifest(max, NULL, 0, NULL) == 0);
    _cleanup_free_ char *over = NULL;
    CHECK(asprintf(&over, "%.*s\"size\":9007199254740993%s", (int)(p - big), big, p + 9) > 0);
    CHECK(expect_manifest(over, NULL, COCOIMG_EFORMAT, "invalid size") == 0);
    return 0;
}

static int
test_descriptor_data(void)
{
    /* "hello" = sha256:2cf24dba... */
    const char *hello = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    char *good = NULL, *badsize = NULL, *baddigest = NULL, *badb64 = NULL;
    CHECK(asprintf(&good,
                   "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
                   "\",\"digest\":\"%s\",\"size\":5,\"data\":\"aGVsbG8=\"},\"layers\":[]}",
                   hello) > 0);
    CHECK(asprintf(&badsize,
                   "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
                   "\",\"digest\":\"%s\",\"size\":6,\"data\":\"aGVsbG8=\"},\"layers\":[]}",
                   hello) > 0);
    CHECK(asprintf(&baddigest,
                   "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
                   "\",\"digest\":\"" D1
                   "\",\"size\":5,\"data\":\"aGVsbG8=\"},\"layers\":[]}") > 0);
    CHECK(asprintf(&badb64,
                   "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
                   "\",\"digest\":\"%s\",\"size\":5,\"data\":\"aGVsbG8\"},\"layers\":[]}",
                   hello) > 0);
    int r = expect_manifest(good, NULL, 0, NULL);
    r |= expect_manifest(badsize, NULL, COCOIMG_EFORMAT, "'data' holds 5 bytes");
    r |= expect_manifest(baddigest, NULL, COCOIMG_EDIGEST, "does not match");
    r |= expect_manifest(badb64, NULL, COCOIMG_EFORMAT, "config");
    free(good);
    free(badsize);
    free(baddigest);
    free(badb64);
    CHECK(r == 0);
    return 0;
}

static int
test_manifest_rejects(void)
{
    static const struct {
        const char *extra, *layer_extra;
        int code;
        const char *msg;
    } v[] = {
        /* later duplicate keys are rejected by the loader, so "extra" members replace
         * nothing; instead they add members the manifest must not have in that form */
        {"\"annotations\":{\"a\":1},", "", COCOIMG_EFORMAT, "annotations['a'] must be a string"},
        {"\"annotations\":[],", "", COCOIMG_EFORMAT, "'annotations' must be an object"},
        {"\"artifactType\":5,", "", COCOIMG_EFORMAT, "'artifactType' must be a string"},
        {"\"artifactType\":\"nope\",", "", COCOIMG_EFORMAT, "invalid artifactType"},
        {"\"subject\":{},", "", COCOIMG_EFORMAT, "subject: missing 'mediaType'"},
        {"\"subject\":\"x\",", "", COCOIMG_EFORMAT, "subject: not an object"},
        {"", "\"urls\":\"http://x\",", COCOIMG_EFORMAT, "layer 0: 'urls' must be an array"},
        {"", "\"urls\":[1],", COCOIMG_EFORMAT, "urls[0] must be a string"},
        {"", "\"annotations\":{\"k\":null},", COCOIMG_EFORMAT, "annotations['k']"},
        {"", "\"platform\":[],", COCOIMG_EFORMAT, "'platform' must be an object"},
        {"", "\"platform\":{\"os\":\"linux\"},", COCOIMG_EFORMAT, "missing 'architecture'"},
        {"", "\"platform\":{\"os\":\"linux\",\"architecture\":1},", COCOIMG_EFORMAT,
         "'architecture' must be a string"},
        {"", "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":7},",
         COCOIMG_EFORMAT, "'variant' must be a string"},
        {"", "\"platform\":{\"os\":\"l\",\"architecture\":\"a\",\"features\":[2]},",
         COCOIMG_EFORMAT, "features[0]"},
        {"", "\"data\":5,", COCOIMG_EFORMAT, "'data' must be a string"},
        {"", "\"artifactType\":[],", COCOIMG_EFORMAT, "'artifactType' must be a string"},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(v); i++) {
        _cleanup_free_ char *doc = oci_manifest(v[i].extra, v[i].layer_extra);
        CHECK(doc);
        CHECK(expect_manifest(doc, NULL, v[i].code, v[i].msg) == 0);
    }

    static const struct {
        const char *doc, *hint;
        int code;
        const char *msg;
    } w[] = {
        {"{\"schemaVersion\":1,\"config\":{},\"layers\":[]}", NULL, COCOIMG_ENOTSUP, "schema1"},
        {"{\"schemaVersion\":1,\"mediaType\":\"" COCOIMG_MT_OCI_MANIFEST
         "\",\"config\":{},\"layers\":[]}",
         NULL, COCOIMG_ENOTSUP, "schemaVersion 1"},
        {"{\"schemaVersion\":3,\"config\":{},\"layers\":[]}", NULL, COCOIMG_ENOTSUP,
         "schemaVersion 3"},
        {"{\"schemaVersion\":\"2\",\"config\":{},\"layers\":[]}", NULL, COCOIMG_EFORMAT,
         "'schemaVersion' must be an integer"},
        {"{\"schemaVersion\":2.0,\"config\":{},\"layers\":[]}", NULL, COCOIMG_EFORMAT,
         "'schemaVersion' must be an integer"},
        {"{\"config\":{},\"layers\":[]}", NULL, COCOIMG_EFORMAT, "missing 'schemaVersion'"},
        {"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.foo+json\",\"layers\":[]}", NULL,
         COCOIMG_ENOTSUP, "unsupported media type"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_OCI_INDEX "\",\"manifests\":[]}", NULL,
         COCOIMG_EFORMAT, "got an index"},
        {"{\"schemaVersion\":2,\"layers\":[]}", NULL, COCOIMG_EFORMAT, "missing 'config'"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":1}}",
         NULL, COCOIMG_EFORMAT, "missing 'layers'"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}",
         NULL, COCOIMG_EFORMAT, "'layers' must be an array"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[5]}",
         NULL, COCOIMG_EFORMAT, "layer 0: not an object"},
        /* config descriptor problems */
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "config: invalid size -1"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "'size' must be an integer"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "'size' must be an integer"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\"},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "missing 'size'"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "missing 'digest'"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "config"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"SHA256:0123\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "config"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"md5:0123456789abcdef0123456789abcdef\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_ENOTSUP, "config"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":7,\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "'digest' must be a string"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":null,\"digest\":\"" D1
         "\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "'mediaType' must be a string"},
        {"{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", NULL,
         COCOIMG_EFORMAT, "missing 'mediaType'"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"text\",\"digest\":\"" D1
         "\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "invalid mediaType"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\\u0000c\",\"digest\":\"" D1
         "\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "'mediaType' must be a string"},
        /* Docker schema2 */
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_DOCKER_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
         COCOIMG_MT_DOCKER_MANIFEST, COCOIMG_EFORMAT, "missing 'mediaType'"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_DOCKER_MANIFEST
         "\",\"config\":{\"mediaType\":\"application/vnd.example\",\"digest\":\"" D1
         "\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_ENOTSUP, "unsupported config media type"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_DOCKER_MANIFEST
         "\",\"config\":{\"mediaType\":\"" COCOIMG_MT_DOCKER_CONFIG "\",\"digest\":\"" D1
         "\",\"size\":1},\"layers\":[]}",
         COCOIMG_MT_OCI_MANIFEST, COCOIMG_EFORMAT, "contradicts"},
        {"{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_OCI_MANIFEST
         "; x=y\",\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG "\",\"digest\":\"" D1
         "\",\"size\":1},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "expected"},
        {"not json", NULL, COCOIMG_EFORMAT, "malformed JSON"},
        {"[1]", NULL, COCOIMG_EFORMAT, "not a JSON object"},
        {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" COCOIMG_MT_OCI_CONFIG
         "\",\"digest\":\"" D1 "\",\"size\":99999999999999999999999},\"layers\":[]}",
         NULL, COCOIMG_EFORMAT, "malformed JSON"},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(w); i++)
        CHECK(expect_manifest(w[i].doc, w[i].hint, w[i].code, w[i].msg) == 0);

    /* size cap: a valid document padded beyond COCOIMG_JSON_MAX_SIZE */
    size_t n = COCOIMG_JSON_MAX_SIZE + 16;
    _cleanup_free_ char *huge = malloc(n + 1);
    CHECK(huge);
    _cleanup_free_ char *base = oci_manifest("", "");
    CHECK(base);
    memset(huge, ' ', n);
    memcpy(huge, base, strlen(base));
    huge[n] = '\0';
    CHECK(expect_manifest(huge, NULL, COCOIMG_ELIMIT, "exceeds the limit") == 0);
    /* at the limit it parses */
    huge[COCOIMG_JSON_MAX_SIZE] = '\0';
    CHECK(expect_manifest(huge, NULL, 0, NULL) == 0);
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    CHECK(cocoimg__index_parse(&ix, huge, n, NULL, NULL) == COCOIMG_ELIMIT);
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    CHECK(cocoimg__config_parse(&c, huge, n, NULL) == COCOIMG_ELIMIT);
    cocoimg__doc_kind k;
    CHECK(cocoimg__doc_detect(&k, huge, n, NULL, NULL) == COCOIMG_ELIMIT);
    return 0;
}

static int
expect_index(const char *doc, const char *hint, int code, const char *msg)
{
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = cocoimg__index_parse(&ix, doc, strlen(doc), hint, &err);
    if (r != code || (msg && (!err || !strstr(cocoimg_error_message(err), msg))))
        printf("# index %.300s\n#   -> %d '%s'\n", doc, r, err ? cocoimg_error_message(err) : "");
    CHECK(r == code);
    if (msg)
        CHECK(strstr(cocoimg_error_message(err), msg) != NULL);
    return 0;
}

#define ENTRY(plat)                                                                                \
    "{\"mediaType\":\"" COCOIMG_MT_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":528" plat "}"

static int
test_index(void)
{
    const char *list = "{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_DOCKER_LIST
                       "\",\"manifests\":[" ENTRY(",\"platform\":{\"architecture\":\"arm\","
                                                  "\"os\":\"linux\",\"variant\":\"v7\"}") "]}";
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
    CHECK_OK(cocoimg__index_parse(&ix, list, strlen(list), COCOIMG_MT_DOCKER_LIST, NULL));
    CHECK(ix->kind == COCOIMG_DOC_DOCKER_LIST);
    CHECK(ix->n_manifests == 1);
    CHECK(strcmp(ix->manifests[0].variant, "v7") == 0);
    CHECK(ix->manifests[0].size == 528);
    /* modify and refresh */
    json_array_clear(json_object_get(ix->root, "manifests"));
    CHECK_OK(cocoimg__index_refresh(ix, NULL));
    CHECK(ix->n_manifests == 0 && ix->manifests == NULL);

    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":[]}", NULL, 0, NULL) == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":[" ENTRY("") "]}", NULL, 0, NULL) == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_DOCKER_LIST
                       "\",\"manifests\":[" ENTRY("") "]}",
                       NULL, COCOIMG_EFORMAT, "manifest 0: missing 'platform'") == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":{}}", NULL, COCOIMG_EFORMAT,
                       "'manifests' must be an array") == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":[" ENTRY("") ",3]}", NULL,
                       COCOIMG_EFORMAT, "manifest 1: not an object") == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":[]}}", NULL,
                       COCOIMG_EFORMAT, "annotations['a']") == 0);
    CHECK(expect_index("{\"schemaVersion\":1,\"manifests\":[]}", NULL, COCOIMG_ENOTSUP, NULL) == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"mediaType\":\"" COCOIMG_MT_OCI_MANIFEST
                       "\",\"layers\":[]}",
                       NULL, COCOIMG_EFORMAT, "got an image manifest") == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":[]}", COCOIMG_MT_DOCKER_LIST,
                       COCOIMG_EFORMAT, "missing 'mediaType'") == 0);
    CHECK(expect_index("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                       "\"" COCOIMG_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":-3}]}",
                       NULL, COCOIMG_EFORMAT, "invalid size") == 0);
    return 0;
}

static int
expect_config(const char *doc, int code, const char *msg)
{
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    _cleanup_error_ cocoimg_error *err = NULL;
    int r = cocoimg__config_parse(&c, doc, strlen(doc), &err);
    if (r != code || (msg && (!err || !strstr(cocoimg_error_message(err), msg))))
        printf("# config %.300s\n#   -> %d '%s'\n", doc, r, err ? cocoimg_error_message(err) : "");
    CHECK(r == code);
    if (msg)
        CHECK(strstr(cocoimg_error_message(err), msg) != NULL);
    return 0;
}

#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}"
#define CFG(extra) "{\"architecture\":\"arm64\",\"os\":\"linux\"," extra ROOTFS "}"

static int
test_config(void)
{
    /* Docker-style config: nulls for nil slices/maps, unknown members */
    const char *docker =
        "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"created\":\"2024-01-"
        "01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":null,\"Entrypoint\":[\"/e\"],"
        "\"Labels\":null,\"WorkingDir\":\"/\",\"User\":\"1000:1000\",\"ExposedPorts\":{\"80/"
        "tcp\":{}},\"Volumes\":null,\"OnBuild\":null,\"ArgsEscaped\":true},\"container_config\":{"
        "\"Hostname\":\"x\"},\"docker_version\":\"20.10\",\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},\"history\":[{\"created\":\"x\","
        "\"created_by\":\"y\","
        "\"empty_layer\":true},{\"comment\":\"c\",\"author\":\"a\"}]}";
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    CHECK_OK(cocoimg__config_parse(&c, docker, strlen(docker), NULL));
    CHECK(strcmp(c->architecture, "arm64") == 0 && strcmp(c->variant, "v8") == 0);
    CHECK(strcmp(c->created, "2024-01-01T00:00:00Z") == 0);
    CHECK(c->n_diff_ids == 2);
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&c->diff_ids[1], ds);
    CHECK(strcmp(ds, D2) == 0);
    CHECK(json_is_object(c->config));
    CHECK(strcmp(cocoimg__json_str(c->config, "User"), "1000:1000") == 0);
    _cleanup_free_ char *dump = NULL;
    CHECK_OK(cocoimg__json_dump(&dump, NULL, c->root, NULL));
    CHECK(strcmp(dump, docker) == 0);

    CHECK(expect_config(CFG(""), 0, NULL) == 0);
    CHECK(expect_config("{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"type\":\"layers\","
                        "\"diff_ids\":[]},\"config\":null}",
                        0, NULL) == 0);
    static const struct {
        const char *doc;
        int code;
        const char *msg;
    } bad[] = {
        {"{\"os\":\"linux\"," ROOTFS "}", COCOIMG_EFORMAT, "missing 'architecture'"},
        {"{\"architecture\":\"amd64\"," ROOTFS "}", COCOIMG_EFORMAT, "missing 'os'"},
        {"{\"architecture\":\"\",\"os\":\"linux\"," ROOTFS "}", COCOIMG_EFORMAT, "empty"},
        {"{\"architecture\":1,\"os\":\"linux\"," ROOTFS "}", COCOIMG_EFORMAT,
         "'architecture' must be a string"},
        {CFG("\"variant\":8,"), COCOIMG_EFORMAT, "'variant' must be a string"},
        {CFG("\"created\":0,"), COCOIMG_EFORMAT, "'created' must be a string"},
        {CFG("\"os.features\":\"x\","), COCOIMG_EFORMAT, "'os.features' must be an array"},
        {"{\"architecture\":\"a\",\"os\":\"l\"}", COCOIMG_EFORMAT, "missing 'rootfs'"},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":[]}", COCOIMG_EFORMAT,
         "'rootfs' must be an object"},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"diff_ids\":[]}}", COCOIMG_EFORMAT,
         "missing 'type'"},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"type\":\"tree\",\"diff_ids\":[]}}",
         COCOIMG_EFORMAT, "'tree' is not \"layers\""},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"type\":\"layers\"}}", COCOIMG_EFORMAT,
         "missing 'rootfs.diff_ids'"},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}}",
         COCOIMG_EFORMAT, "'rootfs.diff_ids' must be an array"},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}",
         COCOIMG_EFORMAT, "diff_ids[0] must be a string"},
        {"{\"architecture\":\"a\",\"os\":\"l\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1
         "\",\"sha256:xyz\"]}}",
         COCOIMG_EFORMAT, "rootfs.diff_ids[1]"},
        {CFG("\"history\":{},"), COCOIMG_EFORMAT, "'history' must be an array"},
        {CFG("\"history\":[1],"), COCOIMG_EFORMAT, "history[0]: not an object"},
        {CFG("\"history\":[{\"created_by\":[]}],"), COCOIMG_EFORMAT, "'created_by' must be"},
        {CFG("\"history\":[{},{\"empty_layer\":\"true\"}],"), COCOIMG_EFORMAT,
         "history[1]: 'empty_layer' must be a boolean"},
        {CFG("\"config\":[],"), COCOIMG_EFORMAT, "'config' must be an object"},
        {CFG("\"config\":{\"Env\":\"A=B\"},"), COCOIMG_EFORMAT, "'Env' must be an array"},
        {CFG("\"config\":{\"Cmd\":[\"a\",1]},"), COCOIMG_EFORMAT, "Cmd[1] must be a string"},
        {CFG("\"config\":{\"Entrypoint\":{}},"), COCOIMG_EFORMAT, "'Entrypoint' must be"},
        {CFG("\"config\":{\"Labels\":{\"a\":1}},"), COCOIMG_EFORMAT, "Labels['a']"},
        {CFG("\"config\":{\"Labels\":[]},"), COCOIMG_EFORMAT, "'Labels' must be an object"},
        {CFG("\"config\":{\"WorkingDir\":null},"), COCOIMG_EFORMAT, "'WorkingDir' must be"},
        {CFG("\"config\":{\"User\":0},"), COCOIMG_EFORMAT, "'User' must be a string"},
        {CFG("\"config\":{\"ExposedPorts\":[]},"), COCOIMG_EFORMAT,
         "'ExposedPorts' must be an object"},
        {"[]", COCOIMG_EFORMAT, "not a JSON object"},
        {"{\"architecture\":\"a\\u0000b\",\"os\":\"l\"," ROOTFS "}", COCOIMG_EFORMAT,
         "'architecture' must be a string"},
    };
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(bad); i++)
        CHECK(expect_config(bad[i].doc, bad[i].code, bad[i].msg) == 0);
    return 0;
}

static const struct tap_test tests[] = {
    TAP_TEST(test_vectors),          TAP_TEST(test_docker_dir),
    TAP_TEST(test_layer_types),      TAP_TEST(test_detect),
    TAP_TEST(test_manifest_valid),   TAP_TEST(test_descriptor_data),
    TAP_TEST(test_manifest_rejects), TAP_TEST(test_index),
    TAP_TEST(test_config),           {0},
};

int
main(void)
{
    return tap_run(tests);
}
