/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Descriptors, manifests, indexes and image configs.  The views borrow
 * from the json_t tree, which is kept whole so that documents are rewritten
 * losslessly.  Validation is strict on the types of every member we know
 * and leaves unknown members alone.
 */
#include <stdlib.h>
#include <string.h>

#include "oci/model.h"
#include "util/base64.h"
#include "util/json.h"

/* Largest size a descriptor may state: JSON numbers are exact up to 2^53. */
#define MAX_DESCRIPTOR_SIZE (INT64_C(1) << 53)

/* --- small typed accessors ---------------------------------------------- */

/*
 * The string value of @p v, or NULL if it contains a NUL byte (the
 * document is loaded with JSON_ALLOW_NUL; a C string view would silently
 * truncate it).
 */
static const char *
cstr(const json_t *v)
{
    const char *s = json_string_value(v);
    if (s && strlen(s) != json_string_length(v))
        return NULL;
    return s;
}

/* Optional string member: *out = its value or NULL when absent. */
static int
opt_str(const char **out, const json_t *obj, const char *key, const char *what, cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || !(*out = cstr(v)))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be a string", what, key);
    return 0;
}

static int
req_str(const char **out, const json_t *obj, const char *key, const char *what, cocoimg_error **err)
{
    int r = opt_str(out, obj, key, what, err);
    if (r < 0)
        return r;
    if (!*out)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing '%s'", what, key);
    return 0;
}

/* Optional array of strings (@p null_ok: JSON null counts as absent). */
static int
opt_str_array(const json_t *obj, const char *key, bool null_ok, const char *what,
              cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || (null_ok && json_is_null(v)))
        return 0;
    if (!json_is_array(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be an array", what, key);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !cstr(e))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: %s[%zu] must be a string", what,
                                      key, i);
    }
    return 0;
}

/* Optional object whose members are all strings (annotations, labels). */
static int
opt_str_map(const json_t *obj, const char *key, bool null_ok, const char *what, cocoimg_error **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || (null_ok && json_is_null(v)))
        return 0;
    if (!json_is_object(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be an object", what, key);
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
    {
        if (!json_is_string(e) || !cstr(e))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: %s['%.100s'] must be a string",
                                      what, key, k);
    }
    return 0;
}

static int
opt_typed(const json_t *obj, const char *key, json_type type, bool null_ok, const char *what,
          cocoimg_error **err)
{
    static const char *const names[] = {
        [JSON_OBJECT] = "an object",   [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number",  [JSON_TRUE] = "a boolean",
        [JSON_FALSE] = "a boolean",    [JSON_NULL] = "null",
    };
    json_t *v = json_object_get(obj, key);
    if (!v || (null_ok && json_is_null(v)))
        return 0;
    bool ok = type == JSON_TRUE || type == JSON_FALSE ? json_is_boolean(v) : json_typeof(v) == type;
    if (!ok)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be %s", what, key,
                                  names[type]);
    return 0;
}

/*
 * RFC 6838 restricted-name "/" restricted-name: a letter or digit, then up
 * to 126 of [A-Za-z0-9!#$&^_.+-].
 */
static bool
restricted_name(const char *s, size_t n)
{
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum)
            continue;
        if (i == 0 || !strchr("!#$&^_.+-", c))
            return false;
    }
    return true;
}

static bool
valid_media_type(const char *s)
{
    const char *slash = strchr(s, '/');
    return slash && restricted_name(s, (size_t)(slash - s)) &&
           restricted_name(slash + 1, strlen(slash + 1));
}

static int
media_type_member(const char **out, const json_t *obj, const char *key, bool required,
                  const char *what, cocoimg_error **err)
{
    int r = required ? req_str(out, obj, key, what, err) : opt_str(out, obj, key, what, err);
    if (r < 0)
        return r;
    if (*out && !valid_media_type(*out))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: invalid %s '%.200s'", what, key,
                                  *out);
    return 0;
}

/* --- descriptors -------------------------------------------------------- */

static int
platform_parse_json(cocoimg__descriptor *out, const json_t *p, const char *what,
                    cocoimg_error **err)
{
    if (!json_is_object(p))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'platform' must be an object",
                                  what);
    char pwhat[160];
    snprintf(pwhat, sizeof(pwhat), "%s: platform", what);
    const char *osver;
    int r;
    if ((r = req_str(&out->architecture, p, "architecture", pwhat, err)) < 0 ||
        (r = req_str(&out->os, p, "os", pwhat, err)) < 0 ||
        (r = opt_str(&out->variant, p, "variant", pwhat, err)) < 0 ||
        (r = opt_str(&osver, p, "os.version", pwhat, err)) < 0 ||
        (r = opt_str_array(p, "os.features", false, pwhat, err)) < 0 ||
        (r = opt_str_array(p, "features", false, pwhat, err)) < 0)
        return r;
    return 0;
}

/* Embedded data (OCI 1.1): base64 whose decoded bytes match size and digest. */
static int
check_data(const cocoimg__descriptor *d, const json_t *obj, const char *what, cocoimg_error **err)
{
    const char *b64;
    int r = opt_str(&b64, obj, "data", what, err);
    if (r < 0 || !b64)
        return r;
    _cleanup_free_ uint8_t *raw = NULL;
    size_t n = 0;
    r = cocoimg__b64_decode(&raw, &n, b64, strlen(b64), COCOIMG_B64_STD, "data", err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "%s", what);
    if ((uint64_t)n != (uint64_t)d->size)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: 'data' holds %zu bytes, the descriptor says %lld", what, n,
                                  (long long)d->size);
    cocoimg__digest got;
    r = cocoimg__digest_buffer(&got, d->digest.alg, raw, n, err);
    if (r < 0)
        return r;
    if (!cocoimg__digest_equal(&got, &d->digest))
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0, "%s: 'data' does not match the digest",
                                  what);
    return 0;
}

int
cocoimg__descriptor_parse(cocoimg__descriptor *out, json_t *obj, const char *what,
                          cocoimg_error **err)
{
    cocoimg__descriptor d = {.json = obj};
    if (!json_is_object(obj))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: not an object", what);
    int r = media_type_member(&d.media_type, obj, "mediaType", true, what, err);
    if (r < 0)
        return r;
    const char *digest;
    if ((r = req_str(&digest, obj, "digest", what, err)) < 0)
        return r;
    if ((r = cocoimg__digest_parse(&d.digest, digest, err)) < 0)
        return cocoimg__error_wrap(err, r, "%s", what);
    json_t *size = json_object_get(obj, "size");
    if (!size)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing 'size'", what);
    if (!json_is_integer(size))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'size' must be an integer", what);
    d.size = json_integer_value(size);
    if (d.size < 0 || d.size > MAX_DESCRIPTOR_SIZE)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: invalid size %lld", what,
                                  (long long)d.size);
    const char *artifact_type;
    if ((r = opt_str_array(obj, "urls", false, what, err)) < 0 ||
        (r = opt_str_map(obj, "annotations", false, what, err)) < 0 ||
        (r = media_type_member(&artifact_type, obj, "artifactType", false, what, err)) < 0)
        return r;
    json_t *platform = json_object_get(obj, "platform");
    if (platform && (r = platform_parse_json(&d, platform, what, err)) < 0)
        return r;
    if ((r = check_data(&d, obj, what, err)) < 0)
        return r;
    *out = d;
    return 0;
}

int
cocoimg__descriptor_new(json_t **out, const char *media_type, const cocoimg__digest *d,
                        int64_t size, cocoimg_error **err)
{
    if (!media_type || !valid_media_type(media_type))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "descriptor: invalid media type");
    if (size < 0 || size > MAX_DESCRIPTOR_SIZE)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "descriptor: invalid size %lld",
                                  (long long)size);
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(d, ds);
    json_t *j = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", ds, "size",
                          (json_int_t)size);
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

/* --- shared document checks --------------------------------------------- */

static int
check_schema_version(const json_t *root, const char *what, cocoimg_error **err)
{
    json_t *v = json_object_get(root, "schemaVersion");
    if (!v)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing 'schemaVersion'", what);
    if (!json_is_integer(v))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'schemaVersion' must be an integer",
                                  what);
    if (json_integer_value(v) != 2)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "%s: schemaVersion %lld is not supported", what,
                                  (long long)json_integer_value(v));
    return 0;
}

/*
 * The "mediaType" member against the document kind: required for the
 * Docker types (schema2 has no other way to tell them apart), optional
 * but exact for the OCI ones.
 */
static int
check_doc_media_type(const json_t *root, const char *want, bool required, const char *what,
                     cocoimg_error **err)
{
    const char *mt;
    int r = opt_str(&mt, root, "mediaType", what, err);
    if (r < 0)
        return r;
    if (!mt) {
        if (required)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing 'mediaType'", what);
        return 0;
    }
    if (strcmp(mt, want) != 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: 'mediaType' is '%.200s', expected '%s'", what, mt, want);
    return 0;
}

/* subject, artifactType, annotations: optional on manifests and indexes */
static int
check_common_members(json_t *root, const char *what, cocoimg_error **err)
{
    const char *artifact_type;
    int r;
    if ((r = opt_str_map(root, "annotations", false, what, err)) < 0 ||
        (r = media_type_member(&artifact_type, root, "artifactType", false, what, err)) < 0)
        return r;
    json_t *subject = json_object_get(root, "subject");
    if (subject) {
        cocoimg__descriptor d;
        char swhat[128];
        snprintf(swhat, sizeof(swhat), "%s: subject", what);
        if ((r = cocoimg__descriptor_parse(&d, subject, swhat, err)) < 0)
            return r;
    }
    return 0;
}

/*
 * Parse every element of the array @p key of @p root as a descriptor into
 * a new array (NULL when empty).
 */
static int
parse_descriptor_array(cocoimg__descriptor **out, size_t *n_out, json_t *root, const char *key,
                       const char *what, const char *elem, bool need_platform, cocoimg_error **err)
{
    json_t *arr = json_object_get(root, key);
    if (!arr)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing '%s'", what, key);
    if (!json_is_array(arr))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: '%s' must be an array", what, key);
    size_t n = json_array_size(arr);
    _cleanup_free_ cocoimg__descriptor *v = NULL;
    if (n > 0 && !(v = calloc(n, sizeof(*v))))
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < n; i++) {
        char ewhat[64];
        snprintf(ewhat, sizeof(ewhat), "%s %zu", elem, i);
        int r = cocoimg__descriptor_parse(&v[i], json_array_get(arr, i), ewhat, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "%s", what);
        if (need_platform && !v[i].os)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: %s: missing 'platform'", what,
                                      ewhat);
    }
    *out = TAKE_PTR(v);
    *n_out = n;
    return 0;
}

static int
load_doc(json_t **out, cocoimg__doc_kind *kind, const void *buf, size_t len, const char *hint,
         const char *what, cocoimg_error **err)
{
    _cleanup_json_ json_t *root = NULL;
    int r = cocoimg__json_loadb(&root, buf, len, COCOIMG_JSON_MAX_SIZE, true, what, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__doc_detect_json(kind, root, hint, err)) < 0)
        return r;
    *out = TAKE_PTR(root);
    return 0;
}

/* --- manifests ---------------------------------------------------------- */

int
cocoimg__manifest_refresh(cocoimg__manifest *m, cocoimg_error **err)
{
    static const char what[] = "manifest";
    bool docker = m->kind == COCOIMG_DOC_DOCKER_MANIFEST;
    /* drop the old views first: they may point into replaced members */
    free(m->layers);
    m->layers = NULL;
    m->n_layers = 0;
    memset(&m->config, 0, sizeof(m->config));

    if (!json_is_object(m->root))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: not a JSON object", what);
    int r = check_schema_version(m->root, what, err);
    if (r < 0)
        return r;
    r = check_doc_media_type(m->root, docker ? COCOIMG_MT_DOCKER_MANIFEST : COCOIMG_MT_OCI_MANIFEST,
                             docker, what, err);
    if (r < 0)
        return r;
    json_t *config = json_object_get(m->root, "config");
    if (!config)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing 'config'", what);
    cocoimg__descriptor cd;
    if ((r = cocoimg__descriptor_parse(&cd, config, "config", err)) < 0)
        return cocoimg__error_wrap(err, r, "%s", what);
    if (docker && strcmp(cd.media_type, COCOIMG_MT_DOCKER_CONFIG) != 0 &&
        strcmp(cd.media_type, COCOIMG_MT_OCI_CONFIG) != 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "%s: unsupported config media type '%s'",
                                  what, cd.media_type);
    if ((r = check_common_members(m->root, what, err)) < 0)
        return r;
    cocoimg__descriptor *layers = NULL;
    size_t n = 0;
    if ((r = parse_descriptor_array(&layers, &n, m->root, "layers", what, "layer", false, err)) < 0)
        return r;
    m->config = cd;
    m->layers = layers;
    m->n_layers = n;
    return 0;
}

int
cocoimg__manifest_parse(cocoimg__manifest **out, const void *buf, size_t len, const char *hint,
                        cocoimg_error **err)
{
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = calloc(1, sizeof(*m));
    if (!m)
        return cocoimg__error_oom(err);
    int r = load_doc(&m->root, &m->kind, buf, len, hint, "manifest", err);
    if (r < 0)
        return r;
    if (cocoimg__doc_is_index(m->kind))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "manifest: expected an image manifest, got an index");
    if ((r = cocoimg__manifest_refresh(m, err)) < 0)
        return r;
    *out = TAKE_PTR(m);
    return 0;
}

void
cocoimg__manifest_free(cocoimg__manifest *m)
{
    if (!m)
        return;
    json_decref(m->root);
    free(m->layers);
    free(m);
}

/* --- indexes ------------------------------------------------------------ */

int
cocoimg__index_refresh(cocoimg__index *ix, cocoimg_error **err)
{
    static const char what[] = "index";
    bool docker = ix->kind == COCOIMG_DOC_DOCKER_LIST;
    free(ix->manifests);
    ix->manifests = NULL;
    ix->n_manifests = 0;

    if (!json_is_object(ix->root))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: not a JSON object", what);
    int r = check_schema_version(ix->root, what, err);
    if (r < 0)
        return r;
    r = check_doc_media_type(ix->root, docker ? COCOIMG_MT_DOCKER_LIST : COCOIMG_MT_OCI_INDEX,
                             docker, what, err);
    if (r < 0)
        return r;
    if ((r = check_common_members(ix->root, what, err)) < 0)
        return r;
    return parse_descriptor_array(&ix->manifests, &ix->n_manifests, ix->root, "manifests", what,
                                  "manifest", docker, err);
}

int
cocoimg__index_parse(cocoimg__index **out, const void *buf, size_t len, const char *hint,
                     cocoimg_error **err)
{
    _cleanup_(cocoimg__index_freep) cocoimg__index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return cocoimg__error_oom(err);
    int r = load_doc(&ix->root, &ix->kind, buf, len, hint, "index", err);
    if (r < 0)
        return r;
    if (!cocoimg__doc_is_index(ix->kind))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "index: expected an index, got an image manifest");
    if ((r = cocoimg__index_refresh(ix, err)) < 0)
        return r;
    *out = TAKE_PTR(ix);
    return 0;
}

void
cocoimg__index_free(cocoimg__index *ix)
{
    if (!ix)
        return;
    json_decref(ix->root);
    free(ix->manifests);
    free(ix);
}

/* --- image config ------------------------------------------------------- */

/*
 * The "config" member (container defaults).  Docker writes Go nil slices
 * and maps as null ("Entrypoint": null), so null is accepted wherever a
 * list or map is.
 */
static int
check_exec_config(const json_t *c, cocoimg_error **err)
{
    static const char what[] = "config: config";
    const char *s;
    int r;
    if ((r = opt_str_array(c, "Env", true, what, err)) < 0 ||
        (r = opt_str_array(c, "Cmd", true, what, err)) < 0 ||
        (r = opt_str_array(c, "Entrypoint", true, what, err)) < 0 ||
        (r = opt_str_map(c, "Labels", true, what, err)) < 0 ||
        (r = opt_str(&s, c, "WorkingDir", what, err)) < 0 ||
        (r = opt_str(&s, c, "User", what, err)) < 0 ||
        (r = opt_str(&s, c, "StopSignal", what, err)) < 0 ||
        (r = opt_typed(c, "ExposedPorts", JSON_OBJECT, true, what, err)) < 0 ||
        (r = opt_typed(c, "Volumes", JSON_OBJECT, true, what, err)) < 0)
        return r;
    return 0;
}

static int
check_history(const json_t *root, cocoimg_error **err)
{
    json_t *h = json_object_get(root, "history");
    if (!h)
        return 0;
    if (!json_is_array(h))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "config: 'history' must be an array");
    size_t i;
    json_t *e;
    json_array_foreach(h, i, e)
    {
        char what[64];
        snprintf(what, sizeof(what), "config: history[%zu]", i);
        if (!json_is_object(e))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: not an object", what);
        const char *s;
        int r;
        if ((r = opt_str(&s, e, "created", what, err)) < 0 ||
            (r = opt_str(&s, e, "created_by", what, err)) < 0 ||
            (r = opt_str(&s, e, "author", what, err)) < 0 ||
            (r = opt_str(&s, e, "comment", what, err)) < 0 ||
            (r = opt_typed(e, "empty_layer", JSON_TRUE, false, what, err)) < 0)
            return r;
    }
    return 0;
}

int
cocoimg__config_parse(cocoimg__config **out, const void *buf, size_t len, cocoimg_error **err)
{
    static const char what[] = "config";
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = calloc(1, sizeof(*c));
    if (!c)
        return cocoimg__error_oom(err);
    int r = cocoimg__json_loadb(&c->root, buf, len, COCOIMG_JSON_MAX_SIZE, true, what, err);
    if (r < 0)
        return r;
    const char *s;
    if ((r = req_str(&c->architecture, c->root, "architecture", what, err)) < 0 ||
        (r = req_str(&c->os, c->root, "os", what, err)) < 0 ||
        (r = opt_str(&c->variant, c->root, "variant", what, err)) < 0 ||
        (r = opt_str(&c->created, c->root, "created", what, err)) < 0 ||
        (r = opt_str(&s, c->root, "author", what, err)) < 0 ||
        (r = opt_str(&s, c->root, "os.version", what, err)) < 0 ||
        (r = opt_str_array(c->root, "os.features", false, what, err)) < 0)
        return r;
    if (!*c->architecture || !*c->os)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: empty 'os' or 'architecture'",
                                  what);

    json_t *rootfs = json_object_get(c->root, "rootfs");
    if (!rootfs)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing 'rootfs'", what);
    if (!json_is_object(rootfs))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'rootfs' must be an object", what);
    const char *type;
    if ((r = req_str(&type, rootfs, "type", "config: rootfs", err)) < 0)
        return r;
    if (strcmp(type, "layers") != 0)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "%s: rootfs type '%.100s' is not \"layers\"", what, type);
    json_t *ids = json_object_get(rootfs, "diff_ids");
    if (!ids)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: missing 'rootfs.diff_ids'", what);
    if (!json_is_array(ids))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'rootfs.diff_ids' must be an array",
                                  what);
    c->n_diff_ids = json_array_size(ids);
    if (c->n_diff_ids > 0 && !(c->diff_ids = calloc(c->n_diff_ids, sizeof(*c->diff_ids))))
        return cocoimg__error_oom(err);
    for (size_t i = 0; i < c->n_diff_ids; i++) {
        json_t *e = json_array_get(ids, i);
        const char *ds = json_is_string(e) ? cstr(e) : NULL;
        if (!ds)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "%s: rootfs.diff_ids[%zu] must be a string", what, i);
        if ((r = cocoimg__digest_parse(&c->diff_ids[i], ds, err)) < 0)
            return cocoimg__error_wrap(err, r, "%s: rootfs.diff_ids[%zu]", what, i);
    }
    if ((r = check_history(c->root, err)) < 0)
        return r;
    json_t *cfg = json_object_get(c->root, "config");
    if (cfg && !json_is_null(cfg)) {
        if (!json_is_object(cfg))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "%s: 'config' must be an object",
                                      what);
        if ((r = check_exec_config(cfg, err)) < 0)
            return r;
        c->config = cfg;
    }
    *out = TAKE_PTR(c);
    return 0;
}

void
cocoimg__config_free(cocoimg__config *c)
{
    if (!c)
        return;
    json_decref(c->root);
    free(c->diff_ids);
    free(c);
}
