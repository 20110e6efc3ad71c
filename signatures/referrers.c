/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI 1.1 referrers (and the referrers tag schema) for Sigstore bundles:
 * see referrers.h.  Written from the OCI distribution spec 1.1 ("Listing
 * Referrers", "Referrers Tag Schema") and cosign's BUNDLE_SPEC.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/model.h"
#include "registry/registry.h"
#include "signatures/bundle.h"
#include "signatures/cosign.h"
#include "signatures/referrers.h"
#include "transport/transport.h"
#include "util/context.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

void
cocoimg__bundle_list_clear(cocoimg__bundle_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    memset(l, 0, sizeof(*l));
}

/* Is descriptor @p d (of a referrers index) a bundle manifest?  0 no, 1 yes, < 0 malformed. */
static int
index_entry(cocoimg__descriptor *d, json_t *e, size_t i, cocoimg_error **err)
{
    char what[64];
    snprintf(what, sizeof(what), "referrers index: manifests[%zu]", i);
    int r = cocoimg__descriptor_parse(d, e, what, err);
    if (r < 0)
        return r;
    const char *at = cocoimg__json_str(e, "artifactType");
    /* the API may ignore the artifactType filter: filter here too */
    if (!at || strcmp(at, COCOIMG__BUNDLE_MEDIA_TYPE) != 0)
        return 0;
    if (!d->media_type || strcmp(d->media_type, COCOIMG_MT_OCI_MANIFEST) != 0)
        return 0;
    return 1;
}

static int
index_manifests(json_t **out, const json_t *j, cocoimg_error **err)
{
    json_t *m = json_is_object(j) ? json_object_get(j, "manifests") : NULL;
    if (!json_is_array(m))
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "referrers index: 'manifests' is not an array");
    *out = m;
    return 0;
}

int
cocoimg__referrers_index_check(const void *buf, size_t len, size_t *n_bundles, cocoimg_error **err)
{
    *n_bundles = 0;
    _cleanup_json_ json_t *j = NULL;
    json_t *m;
    int r = cocoimg__json_loadb(&j, buf, len, COCOIMG_REGISTRY_MANIFEST_MAX, true,
                                "referrers index", err);
    if (r < 0 || (r = index_manifests(&m, j, err)) < 0)
        return r;
    size_t i;
    json_t *e;
    json_array_foreach(m, i, e)
    {
        cocoimg__descriptor d;
        if ((r = index_entry(&d, e, i, err)) < 0)
            return r;
        if (r == 1 && ++*n_bundles > COCOIMG__REFERRERS_MAX)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "more than %d sigstore bundles",
                                      COCOIMG__REFERRERS_MAX);
    }
    return 0;
}

/* the bundle layers of the referrer manifest @p d */
static int
read_referrer(cocoimg__bundle_list *out, cocoimg__source *src, const cocoimg__descriptor *d,
              cocoimg_error **err)
{
    _cleanup_free_ uint8_t *mbuf = NULL;
    _cleanup_free_ char *mt = NULL;
    size_t mlen = 0;
    /* by digest and size: the registry client verifies the bytes */
    int r = cocoimg__source_get_manifest(src, &d->digest, d->size, &mbuf, &mlen, &mt, err);
    if (r < 0)
        return r;
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    if ((r = cocoimg__manifest_parse(&m, mbuf, mlen, COCOIMG_MT_OCI_MANIFEST, err)) < 0)
        return r;
    for (size_t i = 0; i < m->n_layers; i++) {
        const cocoimg__descriptor *l = &m->layers[i];
        if (!l->media_type || strcmp(l->media_type, COCOIMG__BUNDLE_MEDIA_TYPE) != 0)
            continue;
        if (out->n == COCOIMG__REFERRERS_MAX)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "more than %d sigstore bundles",
                                      COCOIMG__REFERRERS_MAX);
        if ((r = cocoimg__cosign_read_blob(&out->v[out->n], &out->len[out->n], src, l, err)) < 0)
            return r;
        out->n++;
    }
    return 0;
}

int
cocoimg__referrers_fetch(cocoimg__bundle_list *out, const cocoimg_context *ctx,
                         const cocoimg_reference *ref, const cocoimg__digest *digest,
                         cocoimg_error **err)
{
    memset(out, 0, sizeof(*out));
    if (cocoimg_reference_transport(ref) != COCOIMG_TRANSPORT_DOCKER)
        return 0;
    /* the tag of the referrers tag schema: ALG-HEX */
    _cleanup_source_ cocoimg__source *src = NULL;
    int r = cocoimg__cosign_open_tag(&src, ctx, ref, digest, "", err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "sigstore bundles");
    _cleanup_json_ json_t *ix = NULL;
    _cleanup_error_ cocoimg_error *aerr = NULL;
    r = cocoimg__docker_source_referrers(&ix, src, digest, COCOIMG__BUNDLE_MEDIA_TYPE, &aerr);
    if (r == COCOIMG_EHTTP) {
        /* a registry without the API that answers other than 404 (400,
         * 405, ...): the tag schema, as for 404 (ignoring a source of
         * signatures can only refuse more) */
        cocoimg__log(ctx, COCOIMG_LOG_DEBUG, "referrers API: %s; trying the referrers tag",
                     cocoimg_error_message(aerr));
        r = 0;
    }
    if (r < 0) {
        if (err && !*err)
            *err = TAKE_PTR(aerr);
        return cocoimg__error_wrap(err, r, "sigstore bundles: referrers API");
    }
    out->api = ix != NULL;
    if (!ix) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *mt = NULL;
        size_t len = 0;
        _cleanup_error_ cocoimg_error *merr = NULL;
        r = cocoimg__source_get_manifest(src, NULL, -1, &buf, &len, &mt, &merr);
        if (r == COCOIMG_ENOTFOUND)
            return 0; /* no referrers */
        if (r < 0) {
            if (err && !*err)
                *err = TAKE_PTR(merr);
            char ds[COCOIMG_DIGEST_STRMAX];
            cocoimg__digest_format(digest, ds);
            return cocoimg__error_wrap(err, r, "sigstore bundles: referrers tag of %s", ds);
        }
        if ((r = cocoimg__json_loadb(&ix, buf, len, COCOIMG_REGISTRY_MANIFEST_MAX, true,
                                     "referrers index", err)) < 0)
            return cocoimg__error_wrap(err, r, "sigstore bundles");
    }
    json_t *m;
    if ((r = index_manifests(&m, ix, err)) < 0)
        return cocoimg__error_wrap(err, r, "sigstore bundles");
    size_t i, listed = 0;
    json_t *e;
    json_array_foreach(m, i, e)
    {
        cocoimg__descriptor d;
        if ((r = index_entry(&d, e, i, err)) < 0)
            goto fail;
        if (r == 0)
            continue;
        if (++listed > COCOIMG__REFERRERS_MAX) {
            r = cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "more than %d sigstore bundles",
                                   COCOIMG__REFERRERS_MAX);
            goto fail;
        }
        if ((r = read_referrer(out, src, &d, err)) < 0)
            goto fail;
    }
    return 0;
fail:
    cocoimg__bundle_list_clear(out);
    return cocoimg__error_wrap(err, r, "sigstore bundles");
}
