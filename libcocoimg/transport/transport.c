/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "transport/transport.h"

/*
 * The transports.  A new one (say dir: or containers-storage:) is a file
 * implementing cocoimg__source_ops / cocoimg__dest_ops, its prefix in
 * oci/reference.c, and one entry here.
 */
typedef int (*source_open_fn)(cocoimg__source **out, const cocoimg_context *ctx,
                              const cocoimg_reference *ref, cocoimg_error **err);
typedef int (*dest_open_fn)(cocoimg__dest **out, const cocoimg_context *ctx,
                            const cocoimg_reference *ref, cocoimg_error **err);

static int
layout_source(cocoimg__source **out, const cocoimg_context *ctx, const cocoimg_reference *ref,
              cocoimg_error **err)
{
    return cocoimg__layout_source_open(out, ctx, cocoimg_reference_path(ref),
                                       cocoimg_reference_ref_name(ref), err);
}

static int
layout_dest(cocoimg__dest **out, const cocoimg_context *ctx, const cocoimg_reference *ref,
            cocoimg_error **err)
{
    return cocoimg__layout_dest_open(out, ctx, cocoimg_reference_path(ref),
                                     cocoimg_reference_ref_name(ref), err);
}

static int
archive_source(cocoimg__source **out, const cocoimg_context *ctx, const cocoimg_reference *ref,
               cocoimg_error **err)
{
    return cocoimg__archive_source_open(out, ctx, cocoimg_reference_path(ref),
                                        cocoimg_reference_ref_name(ref), err);
}

static int
archive_dest(cocoimg__dest **out, const cocoimg_context *ctx, const cocoimg_reference *ref,
             cocoimg_error **err)
{
    return cocoimg__archive_dest_open(out, ctx, cocoimg_reference_path(ref),
                                      cocoimg_reference_ref_name(ref), err);
}

static const struct transport_entry {
    cocoimg_transport transport;
    source_open_fn source_open;
    dest_open_fn dest_open;
} transports[] = {
    {COCOIMG_TRANSPORT_OCI, layout_source, layout_dest},
    {COCOIMG_TRANSPORT_OCI_ARCHIVE, archive_source, archive_dest},
    {COCOIMG_TRANSPORT_DOCKER, cocoimg__docker_source_open, cocoimg__docker_dest_open},
};

static const struct transport_entry *
transport_of(const cocoimg_reference *ref, cocoimg_error **err)
{
    cocoimg_transport t = cocoimg_reference_transport(ref);
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
        if (transports[i].transport == t)
            return &transports[i];
    cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "'%s': transport not supported yet",
                       cocoimg_reference_string(ref));
    return NULL;
}

int
cocoimg__source_open(cocoimg__source **out, const cocoimg_context *ctx,
                     const cocoimg_reference *ref, cocoimg_error **err)
{
    const struct transport_entry *t = transport_of(ref, err);
    return t ? t->source_open(out, ctx, ref, err) : COCOIMG_ENOTSUP;
}

int
cocoimg__dest_open(cocoimg__dest **out, const cocoimg_context *ctx, const cocoimg_reference *ref,
                   cocoimg_error **err)
{
    const struct transport_entry *t = transport_of(ref, err);
    return t ? t->dest_open(out, ctx, ref, err) : COCOIMG_ENOTSUP;
}

int
cocoimg__source_get_manifest(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                             uint8_t **buf_out, size_t *len_out, char **media_type_out,
                             cocoimg_error **err)
{
    *media_type_out = NULL;
    return s->ops->get_manifest(s, digest, size, buf_out, len_out, media_type_out, err);
}

int
cocoimg__source_get_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                         cocoimg__reader **out, cocoimg_error **err)
{
    return s->ops->get_blob(s, digest, size, out, err);
}

void
cocoimg__source_free(cocoimg__source *s)
{
    if (s)
        s->ops->free(s);
}

int
cocoimg__dest_has_blob(cocoimg__dest *d, const cocoimg__digest *digest, int64_t size, bool *out,
                       cocoimg_error **err)
{
    return d->ops->has_blob(d, digest, size, out, err);
}

int
cocoimg__dest_put_blob(cocoimg__dest *d, cocoimg__reader *in, const cocoimg__digest *expected,
                       int64_t expected_size, cocoimg__digest *digest_out, int64_t *size_out,
                       cocoimg_error **err)
{
    return d->ops->put_blob(d, in, expected, expected_size, digest_out, size_out, err);
}

int
cocoimg__dest_put_manifest(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                           cocoimg__digest *digest_out, cocoimg_error **err)
{
    return d->ops->put_manifest(d, buf, len, media_type, digest_out, err);
}

int
cocoimg__dest_commit(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                     cocoimg_error **err)
{
    int r = d->ops->commit(d, buf, len, media_type, err);
    if (r == 0)
        d->committed = true;
    return r;
}

void
cocoimg__dest_abort(cocoimg__dest *d)
{
    if (d->committed || d->aborted)
        return;
    d->aborted = true;
    d->ops->abort(d);
}

int
cocoimg__dest_set_source(cocoimg__dest *d, const cocoimg__source *s, cocoimg_error **err)
{
    return d->ops->set_source ? d->ops->set_source(d, s, err) : 0;
}

void
cocoimg__dest_free(cocoimg__dest *d)
{
    if (!d)
        return;
    cocoimg__dest_abort(d);
    d->ops->free(d);
}

int
cocoimg__source_list_tags(cocoimg__source *s, const char **name_out, json_t **tags_out,
                          cocoimg_error **err)
{
    if (!s->ops->list_tags)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "%s: no tags", s->ops->name);
    return s->ops->list_tags(s, name_out, tags_out, err);
}
