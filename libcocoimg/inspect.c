/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <cocoimg/image.h>
#include <cocoimg/reference.h>

#include "registry/regconf.h"
#include "oci/model.h"
#include "resolve.h"
#include "transport/transport.h"
#include "util/json.h"

/*
 * `skopeo inspect` for local images.  The summary mirrors skopeo's output
 * struct (cmd/skopeo/inspect/output.go): same names, same order, same null
 * vs empty conventions (RepoTags is always an array; Labels, Env, Created
 * and Annotations are null when absent; Name and Variant are omitted when
 * empty).
 */

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

int
cocoimg_inspect_options_init(cocoimg_inspect_options *opts, unsigned int version)
{
    if (!COCOIMG__VERSION_OK(version, COCOIMG_INSPECT_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    cocoimg_inspect_options def = COCOIMG_INSPECT_OPTIONS_INIT;
    *opts = def;
    return 0;
}

static int
give_bytes(char **out, size_t *len_out, const void *buf, size_t len, cocoimg_error **err)
{
    char *s = malloc(len + 1);
    if (!s)
        return cocoimg__error_oom(err);
    memcpy(s, buf, len);
    s[len] = '\0';
    *out = s;
    if (len_out)
        *len_out = len;
    return 0;
}

/* Go's time.Time marshals RFC 3339 with the fraction's trailing zeros dropped. */
static json_t *
created_json(const char *created)
{
    if (!created)
        return json_null();
    _cleanup_free_ char *s = strdup(created);
    if (!s)
        return NULL;
    char *dot = strchr(s, '.');
    if (dot && strchr(s, 'T') && dot > strchr(s, 'T')) {
        char *end = dot + 1;
        while (*end >= '0' && *end <= '9')
            end++;
        char *last = end;
        while (last > dot + 1 && last[-1] == '0')
            last--;
        if (last == dot + 1)
            last = dot;
        memmove(last, end, strlen(end) + 1);
    }
    return json_string(s);
}

static json_t *
copy_or_null(json_t *v)
{
    return v ? json_deep_copy(v) : json_null();
}

static int
summary(char **out, size_t *len_out, const char *name, json_t *tags,
        const cocoimg__digest *top_digest, const cocoimg__manifest *m, const cocoimg__config *c,
        cocoimg_error **err)
{
    char ds[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(top_digest, ds);
    _cleanup_json_ json_t *o = json_object();
    json_t *layers = json_array(), *data = json_array();
    if (!o || !layers || !data) {
        json_decref(layers);
        json_decref(data);
        return cocoimg__error_oom(err);
    }
    const char *docker_version = cocoimg__json_str(c->root, "docker_version");
    int fail = 0;
    if (name)
        fail |= json_object_set_new(o, "Name", json_string(name));
    fail |= json_object_set_new(o, "Digest", json_string(ds));
    fail |= json_object_set_new(o, "RepoTags", tags ? json_incref(tags) : json_array());
    fail |= json_object_set_new(o, "Created", created_json(c->created));
    fail |=
        json_object_set_new(o, "DockerVersion", json_string(docker_version ? docker_version : ""));
    fail |= json_object_set_new(o, "Labels", copy_or_null(json_object_get(c->config, "Labels")));
    fail |=
        json_object_set_new(o, "Architecture", json_string(c->architecture ? c->architecture : ""));
    if (c->variant && *c->variant)
        fail |= json_object_set_new(o, "Variant", json_string(c->variant));
    fail |= json_object_set_new(o, "Os", json_string(c->os ? c->os : ""));
    for (size_t i = 0; i < m->n_layers; i++) {
        const cocoimg__descriptor *l = &m->layers[i];
        cocoimg__digest_format(&l->digest, ds);
        fail |= json_array_append_new(layers, json_string(ds));
        json_t *ld = json_object();
        if (!ld) {
            fail = -1;
            continue;
        }
        fail |=
            json_object_set_new(ld, "MIMEType", json_string(l->media_type ? l->media_type : ""));
        fail |= json_object_set_new(ld, "Digest", json_string(ds));
        fail |= json_object_set_new(ld, "Size", json_integer(l->size));
        fail |= json_object_set_new(ld, "Annotations",
                                    copy_or_null(json_object_get(l->json, "annotations")));
        fail |= json_array_append_new(data, ld);
    }
    fail |= json_object_set_new(o, "Layers", layers);
    fail |= json_object_set_new(o, "LayersData", data);
    fail |= json_object_set_new(o, "Env", copy_or_null(json_object_get(c->config, "Env")));
    if (fail)
        return cocoimg__error_oom(err);
    char *s = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    if (!s)
        return cocoimg__error_oom(err);
    *out = s;
    if (len_out)
        *len_out = strlen(s);
    return 0;
}

static int
inspect_source(cocoimg__source *s, const cocoimg_reference *ref,
               const cocoimg_inspect_options *opts, char **out, size_t *len_out,
               cocoimg_error **err)
{
    cocoimg__resolve_options ro;
    int r = cocoimg__resolve_options_init(&ro, opts->platform, false, err);
    if (r < 0)
        return r;
    bool top_only = (opts->flags & COCOIMG_INSPECT_RAW) && !(opts->flags & COCOIMG_INSPECT_CONFIG);
    if (top_only)
        ro.mode = COCOIMG__RESOLVE_TOP;
    _cleanup_resolve_ cocoimg__resolve *res = NULL;
    if ((r = cocoimg__resolve_open(&res, s, ref, &ro, err)) < 0)
        return r;
    const cocoimg__resolve_doc *top = cocoimg__resolve_top(res);
    if (top_only)
        return give_bytes(out, len_out, top->bytes, top->len, err);
    const cocoimg__resolve_image *img = cocoimg__resolve_next(res);

    _cleanup_free_ uint8_t *cbuf = NULL;
    size_t clen = 0;
    if ((r = cocoimg__resolve_config(NULL, &cbuf, &clen, res, img, err)) < 0)
        return r;
    if (opts->flags & COCOIMG_INSPECT_CONFIG) {
        if (opts->flags & COCOIMG_INSPECT_RAW)
            return give_bytes(out, len_out, cbuf, clen, err);
        _cleanup_json_ json_t *j = NULL;
        if ((r = cocoimg__json_loadb(&j, cbuf, clen, COCOIMG_JSON_MAX_SIZE, true, "config", err)) <
            0)
            return r;
        char *sj = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        if (!sj)
            return cocoimg__error_oom(err);
        *out = sj;
        if (len_out)
            *len_out = strlen(sj);
        return 0;
    }
    char cs[COCOIMG_DIGEST_STRMAX];
    cocoimg__digest_format(&img->manifest->config.digest, cs);
    _cleanup_(cocoimg__config_freep) cocoimg__config *c = NULL;
    if ((r = cocoimg__config_parse(&c, cbuf, clen, err)) < 0)
        return cocoimg__error_wrap(err, r, "config %s", cs);
    /* registries: the repository name and its tags, as skopeo prints them */
    const char *name = NULL;
    _cleanup_json_ json_t *tags = NULL;
    bool want_tags = !(opts->flags & COCOIMG_INSPECT_NO_TAGS);
    if (s->ops->list_tags &&
        (r = cocoimg__source_list_tags(s, &name, want_tags ? &tags : NULL, err)) < 0)
        return cocoimg__error_wrap(err, r, "listing tags (--no-tags skips this)");
    return summary(out, len_out, name, tags, &top->digest, img->manifest, c, err);
}

int
cocoimg_inspect(char **out, size_t *len_out, cocoimg_context *ctx, const char *ref,
                const cocoimg_inspect_options *opts, cocoimg_error **err)
{
    cocoimg_inspect_options def = COCOIMG_INSPECT_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    if (!COCOIMG__VERSION_OK(opts->version, COCOIMG_INSPECT_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "inspect: unsupported options version %u",
                                  opts->version);
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *r = NULL;
    int rc = cocoimg__reference_parse_ctx(&r, ctx, ref, err);
    if (rc < 0)
        return cocoimg__error_wrap(err, rc, "inspect");
    _cleanup_source_ cocoimg__source *s = NULL;
    if ((rc = cocoimg__source_open(&s, ctx, r, err)) < 0)
        return cocoimg__error_wrap(err, rc, "inspect");
    if ((rc = inspect_source(s, r, opts, out, len_out, err)) < 0)
        return cocoimg__error_wrap(err, rc, "inspect '%s'", ref);
    return 0;
}
