/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <strings.h>

#include "oci/model.h"
#include "util/json.h"

#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/*
 * Does media type @p mt name @p want?  Hints come from HTTP Content-Type
 * headers, so parameters (";charset=...") and surrounding blanks are
 * ignored and the comparison is case-insensitive (RFC 6838 section 4.2).
 */
static bool
mt_is(const char *mt, const char *want)
{
    while (*mt == ' ' || *mt == '\t')
        mt++;
    size_t n = strlen(want);
    if (strncasecmp(mt, want, n) != 0)
        return false;
    mt += n;
    while (*mt == ' ' || *mt == '\t')
        mt++;
    return *mt == '\0' || *mt == ';';
}

static bool
is_schema1(const char *mt)
{
    return mt_is(mt, MT_DOCKER_SCHEMA1) || mt_is(mt, MT_DOCKER_SCHEMA1_SIGNED);
}

cocoimg__doc_kind
cocoimg__doc_kind_of(const char *media_type)
{
    if (!media_type)
        return COCOIMG_DOC_UNKNOWN;
    if (mt_is(media_type, COCOIMG_MT_OCI_MANIFEST))
        return COCOIMG_DOC_OCI_MANIFEST;
    if (mt_is(media_type, COCOIMG_MT_OCI_INDEX))
        return COCOIMG_DOC_OCI_INDEX;
    if (mt_is(media_type, COCOIMG_MT_DOCKER_MANIFEST))
        return COCOIMG_DOC_DOCKER_MANIFEST;
    if (mt_is(media_type, COCOIMG_MT_DOCKER_LIST))
        return COCOIMG_DOC_DOCKER_LIST;
    return COCOIMG_DOC_UNKNOWN;
}

static const char *
kind_name(cocoimg__doc_kind k)
{
    const char *mt = cocoimg__doc_media_type(k);
    return mt ? mt : "unknown";
}

const char *
cocoimg__doc_media_type(cocoimg__doc_kind k)
{
    switch (k) {
    case COCOIMG_DOC_OCI_MANIFEST:
        return COCOIMG_MT_OCI_MANIFEST;
    case COCOIMG_DOC_OCI_INDEX:
        return COCOIMG_MT_OCI_INDEX;
    case COCOIMG_DOC_DOCKER_MANIFEST:
        return COCOIMG_MT_DOCKER_MANIFEST;
    case COCOIMG_DOC_DOCKER_LIST:
        return COCOIMG_MT_DOCKER_LIST;
    default:
        return NULL;
    }
}

int
cocoimg__doc_detect_json(cocoimg__doc_kind *out, const json_t *root, const char *hint,
                         cocoimg_error **err)
{
    if (!json_is_object(root))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "manifest: not a JSON object");
    cocoimg__doc_kind hint_kind = cocoimg__doc_kind_of(hint);
    json_t *mtv = json_object_get(root, "mediaType");
    if (mtv) {
        if (!json_is_string(mtv))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "manifest: 'mediaType' must be a string");
        const char *mt = json_string_value(mtv);
        cocoimg__doc_kind k = cocoimg__doc_kind_of(mt);
        if (k == COCOIMG_DOC_UNKNOWN) {
            if (is_schema1(mt))
                return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                          "manifest: Docker schema1 manifests are not supported");
            return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                      "manifest: unsupported media type '%.200s'", mt);
        }
        if (hint_kind != COCOIMG_DOC_UNKNOWN && hint_kind != k)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "manifest: mediaType '%s' contradicts the expected '%s'",
                                      kind_name(k), kind_name(hint_kind));
        *out = k;
        return 0;
    }
    if (hint_kind != COCOIMG_DOC_UNKNOWN) {
        *out = hint_kind;
        return 0;
    }
    json_t *sv = json_object_get(root, "schemaVersion");
    if ((json_is_integer(sv) && json_integer_value(sv) == 1) || (hint && is_schema1(hint)))
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "manifest: Docker schema1 manifests are not supported");
    bool has_manifests = json_object_get(root, "manifests") != NULL;
    bool has_layers =
        json_object_get(root, "layers") != NULL || json_object_get(root, "config") != NULL;
    if (has_manifests && !has_layers) {
        *out = COCOIMG_DOC_OCI_INDEX;
        return 0;
    }
    if (has_layers && !has_manifests) {
        *out = COCOIMG_DOC_OCI_MANIFEST;
        return 0;
    }
    return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                              "manifest: cannot tell whether the document is a manifest or an "
                              "index");
}

int
cocoimg__doc_detect(cocoimg__doc_kind *out, const void *buf, size_t len, const char *hint,
                    cocoimg_error **err)
{
    _cleanup_json_ json_t *root = NULL;
    int r = cocoimg__json_loadb(&root, buf, len, COCOIMG_JSON_MAX_SIZE, true, "manifest", err);
    if (r < 0)
        return r;
    return cocoimg__doc_detect_json(out, root, hint, err);
}

/* Layer media types, before the optional "+encrypted" suffix. */
static const struct {
    const char *mt;
    cocoimg__compression compression;
    bool docker;
    bool nondistributable;
} layer_types[] = {
    {COCOIMG_MT_OCI_LAYER, COCOIMG_COMPRESSION_NONE, false, false},
    {COCOIMG_MT_OCI_LAYER_GZIP, COCOIMG_COMPRESSION_GZIP, false, false},
    {COCOIMG_MT_OCI_LAYER_ZSTD, COCOIMG_COMPRESSION_ZSTD, false, false},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", COCOIMG_COMPRESSION_NONE, false,
     true},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", COCOIMG_COMPRESSION_GZIP,
     false, true},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", COCOIMG_COMPRESSION_ZSTD,
     false, true},
    {COCOIMG_MT_DOCKER_LAYER_GZIP, COCOIMG_COMPRESSION_GZIP, true, false},
    {COCOIMG_MT_DOCKER_LAYER_FOREIGN, COCOIMG_COMPRESSION_GZIP, true, true},
    /* uncompressed Docker types: imgcrypt writes them when decrypting */
    {"application/vnd.docker.image.rootfs.diff.tar", COCOIMG_COMPRESSION_NONE, true, false},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar", COCOIMG_COMPRESSION_NONE, true, true},
};

int
cocoimg__layer_type_parse(cocoimg__layer_type *out, const char *media_type, cocoimg_error **err)
{
    if (!media_type)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "layer: no media type");
    size_t n = strlen(media_type);
    const size_t sn = strlen(COCOIMG_ENCRYPTED_SUFFIX);
    bool encrypted = n > sn && memcmp(media_type + n - sn, COCOIMG_ENCRYPTED_SUFFIX, sn) == 0;
    if (encrypted)
        n -= sn;
    for (size_t i = 0; i < COCOIMG_ARRAY_SIZE(layer_types); i++) {
        if (strlen(layer_types[i].mt) == n && memcmp(layer_types[i].mt, media_type, n) == 0) {
            *out = (cocoimg__layer_type){
                .compression = layer_types[i].compression,
                .encrypted = encrypted,
                .docker = layer_types[i].docker,
                .nondistributable = layer_types[i].nondistributable,
            };
            return 0;
        }
    }
    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "unsupported layer media type '%.200s'",
                              media_type);
}
