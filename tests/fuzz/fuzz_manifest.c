/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the OCI model parsers: the same bytes go to the document detector,
 * the manifest, index and config parsers and (as a C string) to the
 * reference parser; whatever parses is walked through its accessors,
 * modified, refreshed and dumped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cocoimg/reference.h>

#include "oci/model.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
dump(const json_t *root)
{
    char *s = NULL;
    size_t len = 0;
    if (cocoimg__json_dump(&s, &len, root, NULL) == 0) {
        /* a dump of a parsed document parses again */
        json_t *again = NULL;
        if (cocoimg__json_loadb(&again, s, len, SIZE_MAX, true, "dump", NULL) == 0) {
            if (!json_equal(again, root))
                abort();
            json_decref(again);
        } else {
            abort();
        }
    }
    free(s);
}

static void
walk_descriptor(const cocoimg__descriptor *d)
{
    char buf[COCOIMG_DIGEST_STRMAX], hex[129];
    cocoimg__digest_format(&d->digest, buf);
    cocoimg__digest_hex(&d->digest, hex);
    cocoimg__layer_type lt;
    (void)cocoimg__layer_type_parse(&lt, d->media_type, NULL);
    (void)cocoimg__doc_kind_of(d->media_type);
    if (d->size < 0 || strlen(buf) < 71)
        abort();
    if (d->os) {
        cocoimg__platform host;
        cocoimg__platform_host(&host);
        (void)cocoimg__platform_matches(&host, d->os, d->architecture, d->variant);
    }
}

static void
fuzz_manifest(const uint8_t *data, size_t size, const char *hint)
{
    cocoimg__manifest *m = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg__manifest_parse(&m, data, size, hint, &err) < 0) {
        if (!cocoimg_error_message(err))
            abort();
        cocoimg_error_free(err);
        return;
    }
    walk_descriptor(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        walk_descriptor(&m->layers[i]);
    dump(m->root);
    /* modify through the tree and refresh */
    json_t *layers = json_object_get(m->root, "layers");
    json_t *d = NULL;
    if (cocoimg__descriptor_new(&d, COCOIMG_MT_OCI_LAYER_GZIP "+encrypted", &m->config.digest, 1,
                                NULL) == 0)
        json_array_append_new(layers, d);
    if (cocoimg__manifest_refresh(m, NULL) == 0)
        for (size_t i = 0; i < m->n_layers; i++)
            walk_descriptor(&m->layers[i]);
    cocoimg__manifest_free(m);
}

static void
fuzz_index(const uint8_t *data, size_t size, const char *hint)
{
    cocoimg__index *ix = NULL;
    if (cocoimg__index_parse(&ix, data, size, hint, NULL) < 0)
        return;
    for (size_t i = 0; i < ix->n_manifests; i++)
        walk_descriptor(&ix->manifests[i]);
    static const char *const wants[] = {"linux/amd64", "linux/arm/v7", "linux/arm64",
                                        "windows/amd64/v3"};
    for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
        cocoimg__platform p;
        size_t sel;
        cocoimg_error *err = NULL;
        if (cocoimg__platform_parse(&p, wants[i], NULL) < 0)
            abort();
        if (cocoimg__index_select(&sel, ix, &p, &err) == 0) {
            if (sel >= ix->n_manifests)
                abort();
        } else {
            cocoimg_error_free(err);
        }
    }
    dump(ix->root);
    (void)cocoimg__index_refresh(ix, NULL);
    cocoimg__index_free(ix);
}

static void
fuzz_config(const uint8_t *data, size_t size)
{
    cocoimg__config *c = NULL;
    if (cocoimg__config_parse(&c, data, size, NULL) < 0)
        return;
    for (size_t i = 0; i < c->n_diff_ids; i++) {
        char buf[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&c->diff_ids[i], buf);
    }
    cocoimg__platform p;
    char s[256];
    snprintf(s, sizeof(s), "%s/%s%s%s", c->os, c->architecture, c->variant ? "/" : "",
             c->variant ? c->variant : "");
    if (cocoimg__platform_parse(&p, s, NULL) == 0) {
        char f[256];
        cocoimg__platform_format(&p, f, sizeof(f));
    }
    (void)cocoimg__json_str(c->config, "User");
    dump(c->root);
    cocoimg__config_free(c);
}

static void
fuzz_reference(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    cocoimg_reference *ref = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg_reference_parse(&ref, s, &err) == 0) {
        const char *canon = cocoimg_reference_string(ref);
        (void)cocoimg_reference_path(ref);
        (void)cocoimg_reference_ref_name(ref);
        (void)cocoimg_reference_registry(ref);
        (void)cocoimg_reference_repository(ref);
        (void)cocoimg_reference_tag(ref);
        (void)cocoimg_reference_digest(ref);
        /* the canonical form is stable */
        cocoimg_reference *again = NULL;
        if (cocoimg_reference_parse(&again, canon, NULL) < 0 ||
            strcmp(cocoimg_reference_string(again), canon) != 0 ||
            cocoimg_reference_transport(again) != cocoimg_reference_transport(ref))
            abort();
        cocoimg_reference_free(again);
        cocoimg_reference_free(ref);
    } else {
        if (cocoimg_error_code(err) != COCOIMG_EINVAL && cocoimg_error_code(err) != COCOIMG_ENOMEM)
            abort();
        cocoimg_error_free(err);
    }
    /* the same bytes as a platform string */
    cocoimg__platform p;
    (void)cocoimg__platform_parse(&p, s, NULL);
    cocoimg__layer_type lt;
    (void)cocoimg__layer_type_parse(&lt, s, NULL);
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cocoimg__doc_kind k;
    const char *hint = NULL;
    if (cocoimg__doc_detect(&k, data, size, NULL, NULL) == 0) {
        static const char *const names[] = {
            [COCOIMG_DOC_OCI_MANIFEST] = COCOIMG_MT_OCI_MANIFEST,
            [COCOIMG_DOC_OCI_INDEX] = COCOIMG_MT_OCI_INDEX,
            [COCOIMG_DOC_DOCKER_MANIFEST] = COCOIMG_MT_DOCKER_MANIFEST,
            [COCOIMG_DOC_DOCKER_LIST] = COCOIMG_MT_DOCKER_LIST,
        };
        if (k == COCOIMG_DOC_UNKNOWN || (unsigned)k >= sizeof(names) / sizeof(names[0]))
            abort();
        hint = names[k];
    }
    fuzz_manifest(data, size, NULL);
    fuzz_manifest(data, size, hint);
    fuzz_manifest(data, size, COCOIMG_MT_DOCKER_MANIFEST);
    fuzz_index(data, size, NULL);
    fuzz_index(data, size, COCOIMG_MT_DOCKER_LIST);
    fuzz_config(data, size);
    fuzz_reference(data, size);
    return 0;
}
