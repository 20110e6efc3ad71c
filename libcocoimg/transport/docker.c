/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "oci/model.h"
#include "registry/regconf.h"
#include "registry/registry.h"
#include "registry/settings.h"
#include "transport/transport.h"
#include "util/context.h"
#include "util/json.h"

/*
 * docker://HOST[:PORT]/REPO[:TAG][@DIGEST] on the registry client.
 *
 * Source: the top-level document is fetched by digest when the reference
 * has one (the client verifies the bytes), else by tag; manifests named by
 * a descriptor are always fetched by digest.  Blobs are the client's
 * streaming readers, which verify digest and size.
 *
 * Destination: blobs and manifests are pushed content-addressed (manifests
 * by digest), the tag is written only by commit().  A registry offers no
 * way to take a pushed blob back, so abort() does nothing: blobs left
 * behind are unreferenced (garbage for the registry's GC) and no tag ever
 * points at a half-pushed image.  A blob whose digest is known is streamed
 * from its source in one PUT (or PATCH chunks); one the copy engine makes
 * (an encrypted or decrypted layer) is streamed up as it is produced and
 * committed under the digest computed on the way, never staged on disk.
 * When the source is another repository of the same registry, a missing
 * blob is mounted from it by has_blob(), so it is never downloaded.
 *
 * Each source and destination owns a registry client per endpoint, set
 * up from the context's settings of its side (cocoimg_context_set_registry).
 * registries.conf (registry/regconf.c) decides the endpoints: a source
 * tries the mirrors that apply to its reference, then the registry, for the
 * top-level document, and stays with the first that serves it for every
 * manifest and blob after that; a destination pushes to the registry's
 * location.  The name handed to the policy is always the reference's own.
 */

struct docker_source {
    cocoimg__source base;
    cocoimg__regconf_endpoints eps;
    cocoimg__registry **clients; /* one per endpoint */
    size_t pinned;               /* the endpoint in use, eps.n while none */
    cocoimg__registry *reg;      /* clients[pinned] */
    const char *host;            /* of eps.v[pinned], or of the registry before */
    const char *repo;
    char *tag;    /* NULL when the reference has only a digest */
    char *digest; /* NULL when none */
    char *name;   /* HOST/REPO as written, as skopeo inspect prints it */
};

struct docker_dest {
    cocoimg__dest base;
    cocoimg__regconf_endpoint ep;
    cocoimg__registry *reg;
    const char *host; /* ep's */
    const char *repo;
    char *tag;
    char *digest;
    char *mount_from; /* repository of a source on the same registry, else NULL */
};

static int
new_client(cocoimg__registry **out, const cocoimg_context *ctx, const cocoimg__regconf_endpoint *ep,
           cocoimg_side side, cocoimg_error **err)
{
    const struct cocoimg__registry_settings *rs = cocoimg__registry_settings_get(ctx, side);
    bool insecure = rs->insecure || ep->insecure;
    struct cocoimg__registry_options o = {
        .username = rs->username,
        .password = rs->password,
        .authfile = rs->authfile,
        .cert_dir = rs->cert_dir,
        .insecure = insecure,
        .stall_timeout_s = rs->stall_timeout,
    };
    int r = cocoimg__registry_new(out, ctx, ep->host, &o, err);
    if (r < 0)
        return r;
    cocoimg__log(ctx, COCOIMG_LOG_DEBUG, "docker: %s %s '%s'%s%s",
                 side == COCOIMG_SIDE_SRC ? "source" : "destination",
                 ep->mirror ? "mirror" : "registry", ep->host,
                 insecure ? " (TLS verification off, plain HTTP allowed)" : "",
                 ep->insecure ? " (insecure in registries.conf)" : "");
    return 0;
}

/* Check and copy the tag and digest of @p ref. */
static int
ref_parts(const cocoimg_reference *ref, char **tag, char **digest, cocoimg_error **err)
{
    const char *h = cocoimg_reference_registry(ref), *rp = cocoimg_reference_repository(ref);
    const char *t = cocoimg_reference_tag(ref), *d = cocoimg_reference_digest(ref);
    if (!h || !rp)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "'%s': not a registry reference",
                                  cocoimg_reference_string(ref));
    if (!t && !d)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "'%s': no tag or digest",
                                  cocoimg_reference_string(ref));
    *tag = t ? strdup(t) : NULL;
    *digest = d ? strdup(d) : NULL;
    if ((t && !*tag) || (d && !*digest))
        return cocoimg__error_oom(err);
    return 0;
}

/* Use endpoint @p i of @p ds from now on (making its client). */
static int
source_pin(struct docker_source *ds, size_t i, cocoimg_error **err)
{
    if (!ds->clients[i]) {
        int r = new_client(&ds->clients[i], ds->base.ctx, &ds->eps.v[i], COCOIMG_SIDE_SRC, err);
        if (r < 0)
            return r;
    }
    ds->pinned = i;
    ds->reg = ds->clients[i];
    ds->host = ds->eps.v[i].host;
    ds->repo = ds->eps.v[i].repo;
    return 0;
}

/* Before the first document: the registry itself (the last endpoint). */
static int
source_default(struct docker_source *ds, cocoimg_error **err)
{
    return ds->pinned < ds->eps.n ? 0 : source_pin(ds, ds->eps.n - 1, err);
}

static int get_manifest_at(struct docker_source *ds, const cocoimg__digest *digest, int64_t size,
                           uint8_t **buf_out, size_t *len_out, char **media_type_out,
                           cocoimg_error **err);

/*
 * The first document: from each endpoint in turn (mirrors, then the
 * registry) until one serves it, which then serves everything else.  The
 * error of the registry (the last) is returned, after the mirrors' ones.
 */
static int
source_first(struct docker_source *ds, const cocoimg__digest *digest, int64_t size,
             uint8_t **buf_out, size_t *len_out, char **media_type_out, cocoimg_error **err)
{
    _cleanup_free_ char *tried = NULL;
    for (size_t i = 0; i < ds->eps.n; i++) {
        cocoimg_error *e = NULL;
        int r = source_pin(ds, i, &e);
        if (r == 0)
            r = get_manifest_at(ds, digest, size, buf_out, len_out, media_type_out, &e);
        if (r == 0) {
            if (ds->eps.v[i].mirror)
                cocoimg__log(ds->base.ctx, COCOIMG_LOG_INFO, "docker: %s pulled from mirror %s/%s",
                             ds->name, ds->eps.v[i].host, ds->eps.v[i].repo);
            return 0;
        }
        ds->pinned = ds->eps.n;
        ds->reg = NULL;
        if (i + 1 == ds->eps.n) {
            if (tried) {
                cocoimg__error_wrap(&e, r, "%s/%s (after mirrors: %s)", ds->eps.v[i].host,
                                    ds->eps.v[i].repo, tried);
            }
            if (err)
                *err = e;
            else
                cocoimg_error_free(e);
            return r;
        }
        cocoimg__log(ds->base.ctx, COCOIMG_LOG_INFO, "docker: mirror %s/%s: %s, trying the next",
                     ds->eps.v[i].host, ds->eps.v[i].repo, cocoimg_error_message(e));
        char *t = NULL;
        if (asprintf(&t, "%s%s%s/%s: %s", tried ? tried : "", tried ? "; " : "", ds->eps.v[i].host,
                     ds->eps.v[i].repo, cocoimg_error_message(e)) < 0)
            t = NULL;
        cocoimg_error_free(e);
        free(tried);
        tried = t;
    }
    return cocoimg__error_set(err, COCOIMG_ERROR, 0, "docker: no endpoint");
}

/* Media types the copy engine understands; anything else (text/plain, ...) is dropped. */
static char *
known_media_type(char *mt)
{
    if (mt && cocoimg__doc_kind_of(mt) == COCOIMG_DOC_UNKNOWN) {
        free(mt);
        return NULL;
    }
    return mt;
}

/* --- source ------------------------------------------------------------ */

static int
docker_get_manifest(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                    uint8_t **buf_out, size_t *len_out, char **media_type_out, cocoimg_error **err)
{
    struct docker_source *ds = (struct docker_source *)s;
    if (ds->pinned >= ds->eps.n)
        return source_first(ds, digest, size, buf_out, len_out, media_type_out, err);
    return get_manifest_at(ds, digest, size, buf_out, len_out, media_type_out, err);
}

static int
get_manifest_at(struct docker_source *ds, const cocoimg__digest *digest, int64_t size,
                uint8_t **buf_out, size_t *len_out, char **media_type_out, cocoimg_error **err)
{
    char dstr[COCOIMG_DIGEST_STRMAX];
    const char *ref;
    if (digest) {
        cocoimg__digest_format(digest, dstr);
        ref = dstr;
    } else {
        /* with TAG@DIGEST the digest wins (it is what was asked to be verified) */
        ref = ds->digest ? ds->digest : ds->tag;
    }
    if (size > (int64_t)COCOIMG_JSON_MAX_SIZE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "manifest '%s': %lld bytes exceeds the limit of %u", ref,
                                  (long long)size, COCOIMG_JSON_MAX_SIZE);
    _cleanup_(cocoimg__registry_manifest_freep) cocoimg__registry_manifest *m = NULL;
    int r = cocoimg__registry_get_manifest(&m, ds->reg, ds->repo, ref, err);
    if (r < 0)
        return r;
    if (size >= 0 && (uint64_t)size != m->len)
        return cocoimg__error_set(err, COCOIMG_EDIGEST, 0,
                                  "registry '%s': repository '%s': manifest '%s' has %zu bytes, "
                                  "expected %lld",
                                  ds->host, ds->repo, ref, m->len, (long long)size);
    if (m->len > COCOIMG_JSON_MAX_SIZE)
        return cocoimg__error_set(err, COCOIMG_ELIMIT, 0,
                                  "manifest '%s': %zu bytes exceeds the limit of %u", ref, m->len,
                                  COCOIMG_JSON_MAX_SIZE);
    *media_type_out = known_media_type(TAKE_PTR(m->media_type));
    *len_out = m->len;
    *buf_out = TAKE_PTR(m->data);
    return 0;
}

static int
docker_get_blob(cocoimg__source *s, const cocoimg__digest *digest, int64_t size,
                cocoimg__reader **out, cocoimg_error **err)
{
    struct docker_source *ds = (struct docker_source *)s;
    int r = source_default(ds, err);
    if (r < 0)
        return r;
    return cocoimg__registry_get_blob(out, ds->reg, ds->repo, digest, size, err);
}

static int
docker_list_tags(cocoimg__source *s, const char **name_out, json_t **tags_out, cocoimg_error **err)
{
    struct docker_source *ds = (struct docker_source *)s;
    int r = tags_out ? source_default(ds, err) : 0;
    if (r == 0 && tags_out)
        r = cocoimg__registry_list_tags(tags_out, ds->reg, ds->repo, err);
    if (r < 0)
        return r;
    *name_out = ds->name;
    return 0;
}

static void
docker_source_free(cocoimg__source *s)
{
    struct docker_source *ds = (struct docker_source *)s;
    for (size_t i = 0; ds->clients && i < ds->eps.n; i++)
        cocoimg__registry_free(ds->clients[i]);
    free(ds->clients);
    cocoimg__regconf_endpoints_clear(&ds->eps);
    free(ds->tag);
    free(ds->digest);
    free(ds->name);
    free(ds);
}

static const struct cocoimg__source_ops docker_source_ops = {
    .name = "docker",
    .parallel = 4,
    .get_manifest = docker_get_manifest,
    .get_blob = docker_get_blob,
    .free = docker_source_free,
    .list_tags = docker_list_tags,
};

int
cocoimg__docker_source_open(cocoimg__source **out, const cocoimg_context *ctx,
                            const cocoimg_reference *ref, cocoimg_error **err)
{
    struct docker_source *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return cocoimg__error_oom(err);
    ds->base.ops = &docker_source_ops;
    ds->base.ctx = ctx;
    _cleanup_source_ cocoimg__source *s = &ds->base;
    int r = ref_parts(ref, &ds->tag, &ds->digest, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__regconf_pull_sources(&ds->eps, ctx, ref, err)) < 0)
        return r;
    ds->pinned = ds->eps.n;
    if (!(ds->clients = calloc(ds->eps.n, sizeof(*ds->clients))))
        return cocoimg__error_oom(err);
    /* clients are local set-up (credentials, certificates): their errors come now */
    for (size_t i = 0; i < ds->eps.n; i++)
        if ((r = new_client(&ds->clients[i], ctx, &ds->eps.v[i], COCOIMG_SIDE_SRC, err)) < 0)
            return r;
    /* names in messages before the first document: the registry's */
    ds->host = ds->eps.v[ds->eps.n - 1].host;
    ds->repo = ds->eps.v[ds->eps.n - 1].repo;
    if (asprintf(&ds->name, "%s/%s", cocoimg_reference_registry(ref),
                 cocoimg_reference_repository(ref)) < 0) {
        ds->name = NULL;
        return cocoimg__error_oom(err);
    }
    *out = TAKE_PTR(s);
    return 0;
}

int
cocoimg__docker_source_referrers(json_t **out, cocoimg__source *s, const cocoimg__digest *digest,
                                 const char *artifact_type, cocoimg_error **err)
{
    *out = NULL;
    if (!s || s->ops != &docker_source_ops)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "referrers: not a docker source");
    struct docker_source *ds = (struct docker_source *)s;
    int r = source_default(ds, err);
    if (r < 0)
        return r;
    return cocoimg__registry_get_referrers(out, ds->reg, ds->repo, digest, artifact_type, err);
}

int
cocoimg__docker_source_signatures(json_t **out, cocoimg__source *s, const cocoimg__digest *digest,
                                  cocoimg_error **err)
{
    *out = NULL;
    if (!s || s->ops != &docker_source_ops)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "signatures: not a docker source");
    struct docker_source *ds = (struct docker_source *)s;
    bool yes = false;
    int r = source_default(ds, err);
    if (r == 0)
        r = cocoimg__registry_supports_signatures(&yes, ds->reg, err);
    if (r < 0 || !yes)
        return r;
    return cocoimg__registry_get_signatures(out, ds->reg, ds->repo, digest, err);
}

/* --- destination ------------------------------------------------------- */

static int
docker_has_blob(cocoimg__dest *d, const cocoimg__digest *digest, int64_t size, bool *out,
                cocoimg_error **err)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    int64_t have = -1;
    int r = cocoimg__registry_blob_exists(out, &have, dd->reg, dd->repo, digest, err);
    if (r < 0)
        return r;
    /* a registry that reports another size is not trusted to have our blob */
    if (*out && size >= 0 && have >= 0 && have != size)
        *out = false;
    if (*out || !dd->mount_from || have >= 0)
        return 0;
    /*
     * Missing, and the source is another repository of this registry: a
     * mount links its blob here, so the caller never reads the source.  A
     * mount that fails for any reason only costs the optimisation.
     */
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(digest, ds);
    cocoimg_error *e = NULL;
    bool mounted = false;
    if (cocoimg__registry_mount_blob(&mounted, dd->reg, dd->repo, digest, dd->mount_from, &e) < 0) {
        cocoimg__log(d->ctx, COCOIMG_LOG_INFO, "docker: blob %s: mount from '%s' failed: %s", ds,
                     dd->mount_from, cocoimg_error_message(e));
        cocoimg_error_free(e);
        return 0;
    }
    if (mounted) {
        cocoimg__log(d->ctx, COCOIMG_LOG_DEBUG, "docker: blob %s mounted from '%s'", ds,
                     dd->mount_from);
        *out = true;
    }
    return 0;
}

static int
docker_put_blob(cocoimg__dest *d, cocoimg__reader *in, const cocoimg__digest *expected,
                int64_t expected_size, cocoimg__digest *digest_out, int64_t *size_out,
                cocoimg_error **err)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    _cleanup_reader_ cocoimg__reader *src = in;
    cocoimg__digest dg = {0};
    int64_t size = expected_size;
    cocoimg__push_result res = COCOIMG_PUSH_UPLOADED;
    int r;
    if (expected && expected_size >= 0) {
        /* the usual case: stream straight from the source (verified while sent) */
        dg = *expected;
        r = cocoimg__registry_push_blob(&res, dd->reg, dd->repo, TAKE_PTR(src), &dg, size, NULL,
                                        err);
    } else {
        /*
         * A blob the copy engine produced (an encrypted or decrypted
         * layer): digest and size are learnt while it is streamed up, and
         * the registry commits it only after the stream's verdict.
         */
        if (expected) {
            cocoimg__reader *v = NULL;
            if ((r = cocoimg__reader_verify(&v, TAKE_PTR(src), expected, -1, err)) < 0)
                return r;
            src = v;
        }
        r = cocoimg__registry_push_blob_stream(&res, dd->reg, dd->repo, TAKE_PTR(src),
                                               expected ? expected->alg : COCOIMG_DIGEST_SHA256,
                                               &dg, &size, err);
    }
    if (r < 0)
        return r;
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&dg, ds);
    cocoimg__log(d->ctx, COCOIMG_LOG_DEBUG, "docker: blob %s %s", ds,
                 res == COCOIMG_PUSH_EXISTED ? "already present" : "uploaded");
    if (digest_out)
        *digest_out = dg;
    if (size_out)
        *size_out = size;
    return 0;
}

static int
docker_put_manifest(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
                    cocoimg__digest *digest_out, cocoimg_error **err)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    cocoimg__digest dg;
    int r = cocoimg__digest_buffer(&dg, COCOIMG_DIGEST_SHA256, buf, len, err);
    if (r < 0)
        return r;
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&dg, ds);
    r = cocoimg__registry_put_manifest(dd->reg, dd->repo, ds, buf, len, media_type, digest_out,
                                       err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "manifest");
    return 0;
}

static int
docker_commit(cocoimg__dest *d, const uint8_t *buf, size_t len, const char *media_type,
              cocoimg_error **err)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    if (dd->digest) {
        /* the reference pins a digest: the image written must be exactly that one */
        cocoimg__digest want, got;
        int r = cocoimg__digest_parse(&want, dd->digest, err);
        if (r < 0)
            return r;
        if ((r = cocoimg__digest_buffer(&got, want.alg, buf, len, err)) < 0)
            return r;
        if (!cocoimg__digest_equal(&want, &got)) {
            char gs[COCOIMG_DIGEST_STRMAX];
            cocoimg__digest_format(&got, gs);
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "destination names digest '%s' but the image written is "
                                      "'%s'",
                                      dd->digest, gs);
        }
    }
    const char *ref = dd->tag ? dd->tag : dd->digest;
    int r = cocoimg__registry_put_manifest(dd->reg, dd->repo, ref, buf, len, media_type, NULL, err);
    if (r < 0)
        return r;
    cocoimg__log(d->ctx, COCOIMG_LOG_DEBUG, "docker: %s/%s%s%s written", dd->host, dd->repo,
                 dd->tag ? ":" : "@", ref);
    return 0;
}

static void
docker_abort(cocoimg__dest *d)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    if (!dd->reg)
        return; /* never opened */
    cocoimg__log(d->ctx, COCOIMG_LOG_DEBUG,
                 "docker: push to '%s/%s' aborted: the reference was not written (blobs already "
                 "pushed stay unreferenced)",
                 dd->host, dd->repo);
}

static void
docker_dest_free(cocoimg__dest *d)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    cocoimg__registry_free(dd->reg);
    cocoimg__regconf_endpoint_clear(&dd->ep);
    free(dd->tag);
    free(dd->digest);
    free(dd->mount_from);
    free(dd);
}

static int
docker_set_source(cocoimg__dest *d, const cocoimg__source *s, cocoimg_error **err)
{
    struct docker_dest *dd = (struct docker_dest *)d;
    if (s->ops != &docker_source_ops)
        return 0;
    const struct docker_source *ds = (const struct docker_source *)s;
    /* a mount only makes sense within one registry and across repositories */
    if (strcmp(ds->host, dd->host) != 0 || strcmp(ds->repo, dd->repo) == 0)
        return 0;
    free(dd->mount_from);
    if (!(dd->mount_from = strdup(ds->repo)))
        return cocoimg__error_oom(err);
    cocoimg__log(d->ctx, COCOIMG_LOG_DEBUG, "docker: blobs will be mounted from '%s'", ds->repo);
    return 0;
}

static const struct cocoimg__dest_ops docker_dest_ops = {
    .name = "docker",
    .parallel = 4,
    .has_blob = docker_has_blob,
    .put_blob = docker_put_blob,
    .put_manifest = docker_put_manifest,
    .commit = docker_commit,
    .abort = docker_abort,
    .free = docker_dest_free,
    .set_source = docker_set_source,
};

int
cocoimg__docker_dest_open(cocoimg__dest **out, const cocoimg_context *ctx,
                          const cocoimg_reference *ref, cocoimg_error **err)
{
    struct docker_dest *dd = calloc(1, sizeof(*dd));
    if (!dd)
        return cocoimg__error_oom(err);
    dd->base.ops = &docker_dest_ops;
    dd->base.ctx = ctx;
    /* nothing to undo before the first push */
    _cleanup_dest_ cocoimg__dest *d = &dd->base;
    int r = ref_parts(ref, &dd->tag, &dd->digest, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__regconf_push_target(&dd->ep, ctx, ref, err)) < 0)
        return r;
    dd->host = dd->ep.host;
    dd->repo = dd->ep.repo;
    if ((r = new_client(&dd->reg, ctx, &dd->ep, COCOIMG_SIDE_DST, err)) < 0)
        return r;
    *out = TAKE_PTR(d);
    return 0;
}
