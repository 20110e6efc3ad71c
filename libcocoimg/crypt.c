/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cocoimg_encrypt / cocoimg_decrypt / cocoimg_layerinfo: the copy engine
 * with hooks that encrypt or decrypt the selected layers (crypt/layer.c).
 */
#include <stddef.h>
#include <string.h>

#include <cocoimg/crypt.h>
#include <cocoimg/image.h>
#include <cocoimg/reference.h>

#include "registry/regconf.h"
#include "copy.h"
#include "crypt/config.h"
#include "crypt/layer.h"
#include "oci/model.h"
#include "resolve.h"
#include "transport/transport.h"
#include "util/json.h"

COCOIMG_DEFINE_CLEANUP(cocoimg_reference, cocoimg_reference_free)

int
cocoimg_crypt_options_init(cocoimg_crypt_options *opts, unsigned int version)
{
    if (!COCOIMG__VERSION_OK(version, COCOIMG_CRYPT_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    /* only the prefix a caller of @p version has */
    size_t n =
        version >= 2 ? sizeof(*opts) : offsetof(cocoimg_crypt_options, pkcs7_allow_unauthenticated);
    memset(opts, 0, n);
    opts->version = version;
    return 0;
}

struct crypt_run {
    cocoimg_context *ctx;
    const cocoimg_crypt_options *opts;
    cocoimg__crypt_config *cfg;
    bool encrypt;
    size_t processed;    /* layers encrypted/decrypted or re-wrapped */
    bool convert_docker; /* the current manifest is Docker schema2 */
};

/* Is layer @p idx of @p n selected by opts->layers (none = all)? */
static int
layer_selected(bool *out, const cocoimg_crypt_options *o, size_t idx, size_t n, cocoimg_error **err)
{
    if (!o->n_layers) {
        *out = true;
        return 0;
    }
    *out = false;
    for (size_t i = 0; i < o->n_layers; i++) {
        long want = o->layers[i];
        if (want < 0)
            want += (long)n;
        if (want < 0 || want >= (long)n)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "layer index %d is out of range: the image has %zu layers",
                                      o->layers[i], n);
        if ((size_t)want == idx)
            *out = true;
    }
    return 0;
}

/* Decide per layer, before any blob is opened: stream it through the cipher or not. */
static int
hook_plan(void *payload, const cocoimg__manifest *m, size_t idx, json_t *desc, bool *stream,
          cocoimg_error **err)
{
    struct crypt_run *run = payload;
    *stream = false;
    bool sel;
    int r = layer_selected(&sel, run->opts, idx, m->n_layers, err);
    if (r < 0)
        return r;
    run->convert_docker = m->kind == COCOIMG_DOC_DOCKER_MANIFEST;
    const char *mt = cocoimg__json_str(desc, "mediaType");
    cocoimg__layer_type lt;
    if ((r = cocoimg__layer_type_parse(&lt, mt ? mt : "", err)) < 0)
        return cocoimg__error_wrap(err, r, "layer %zu", idx);
    if (!sel || (!run->encrypt && !lt.encrypted))
        return 0; /* copied unchanged */
    if (run->encrypt && lt.docker && lt.nondistributable) {
        cocoimg__log(run->ctx, COCOIMG_LOG_INFO, "layer %zu: foreign layers are not encrypted",
                     idx);
        return 0;
    }
    if (run->encrypt && lt.encrypted) {
        /* recipients added to the wrapped keys; the blob is copied unchanged */
        _cleanup_(cocoimg__layer_crypt_freep) cocoimg__layer_crypt *lc = NULL;
        cocoimg__reader *none = NULL;
        r = cocoimg__layer_encrypt_begin(&lc, run->ctx, run->cfg, desc, &none, err);
        if (r == 0)
            r = cocoimg__layer_encrypt_finish(lc, desc, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "layer %zu", idx);
        run->processed++;
        return 0;
    }
    *stream = true;
    return 0;
}

/* Swap the layer stream for an encrypting or decrypting one (planned by hook_plan). */
static int
hook_layer(void *payload, const cocoimg__manifest *m, size_t idx, json_t *desc,
           cocoimg__reader **in, cocoimg__reader **out, void **layer_state, cocoimg_error **err)
{
    struct crypt_run *run = payload;
    (void)m;
    cocoimg__layer_crypt *lc = NULL;
    cocoimg__reader *io = TAKE_PTR(*in);
    int r = run->encrypt ? cocoimg__layer_encrypt_begin(&lc, run->ctx, run->cfg, desc, &io, err)
                         : cocoimg__layer_decrypt_begin(&lc, run->ctx, run->cfg, desc, &io, err);
    if (r < 0) {
        cocoimg__reader_free(io);
        return cocoimg__error_wrap(err, r, "layer %zu", idx);
    }
    *layer_state = lc;
    *out = io;
    return 0;
}

static int
hook_layer_done(void *payload, void *layer_state, json_t *desc, cocoimg_error **err)
{
    struct crypt_run *run = payload;
    cocoimg__layer_crypt *lc = layer_state;
    if (!lc)
        return 0;
    int r = run->encrypt ? cocoimg__layer_encrypt_finish(lc, desc, err)
                         : cocoimg__layer_decrypt_finish(lc, desc, err);
    run->processed++;
    return r;
}

static void
hook_layer_free(void *payload, void *layer_state)
{
    (void)payload;
    cocoimg__layer_crypt_free(layer_state);
}

/* Docker schema2 -> OCI, as containers/image does when it encrypts (spec 4.2). */
static int
convert_docker_manifest(json_t *root, cocoimg_error **err)
{
    if (json_object_set_new(root, "mediaType", json_string(COCOIMG_MT_OCI_MANIFEST)) < 0)
        return cocoimg__error_oom(err);
    json_t *config = json_object_get(root, "config");
    if (json_is_object(config) &&
        json_object_set_new(config, "mediaType", json_string(COCOIMG_MT_OCI_CONFIG)) < 0)
        return cocoimg__error_oom(err);
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(root, "layers"), i, l)
    {
        const char *mt = cocoimg__json_str(l, "mediaType");
        const char *to = NULL;
        if (!mt)
            continue;
        if (strcmp(mt, COCOIMG_MT_DOCKER_LAYER_GZIP) == 0)
            to = COCOIMG_MT_OCI_LAYER_GZIP;
        else if (strcmp(mt, COCOIMG_MT_DOCKER_LAYER_FOREIGN) == 0)
            to = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
        if (to && json_object_set_new(l, "mediaType", json_string(to)) < 0)
            return cocoimg__error_oom(err);
    }
    return 0;
}

static int
hook_manifest(void *payload, json_t *root, cocoimg_error **err)
{
    struct crypt_run *run = payload;
    if (run->encrypt && run->convert_docker)
        return convert_docker_manifest(root, err);
    return 0;
}

static int
run_crypt(cocoimg_context *ctx, const char *src, const char *dst, const cocoimg_crypt_options *opts,
          bool encrypt, cocoimg_error **err)
{
    enum cocoimg__crypt_op op = encrypt ? COCOIMG__CRYPT_ENCRYPT : COCOIMG__CRYPT_DECRYPT;
    int r = cocoimg__crypt_options_check(opts, op, err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "%s", encrypt ? "encrypt" : "decrypt");
    if (encrypt && !opts->n_recipients)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "no recipients given: nothing to encrypt for");
    if (!encrypt && !opts->n_keys && !opts->use_gpg_keys && !opts->gpg_homedir &&
        !opts->keyprovider)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no decryption keys given");
    struct crypt_run run = {.ctx = ctx, .opts = opts, .encrypt = encrypt};
    if ((r = cocoimg__crypt_config_from_options(&run.cfg, opts, op, err)) < 0)
        return r;
    struct cocoimg__copy_hooks hooks = {.payload = &run,
                                        .plan = hook_plan,
                                        .layer = hook_layer,
                                        .layer_done = hook_layer_done,
                                        .layer_free = hook_layer_free,
                                        .manifest = hook_manifest,
                                        .name = encrypt ? "encrypt" : "decrypt"};
    cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
    co.all = opts->all;
    co.platform = opts->platform;
    r = cocoimg__copy_internal(ctx, src, dst, &co, &hooks, err);
    cocoimg__crypt_config_free(run.cfg);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "%s", encrypt ? "encrypt" : "decrypt");
    if (!run.processed)
        cocoimg__log(ctx, COCOIMG_LOG_WARNING, "%s: no layer was %s",
                     encrypt ? "encrypt" : "decrypt", encrypt ? "encrypted" : "decrypted");
    return 0;
}

int
cocoimg_encrypt(cocoimg_context *ctx, const char *src, const char *dst,
                const cocoimg_crypt_options *opts, cocoimg_error **err)
{
    return run_crypt(ctx, src, dst, opts, true, err);
}

int
cocoimg_decrypt(cocoimg_context *ctx, const char *src, const char *dst,
                const cocoimg_crypt_options *opts, cocoimg_error **err)
{
    return run_crypt(ctx, src, dst, opts, false, err);
}

/* --- layerinfo --------------------------------------------------------- */

struct cocoimg_layer_info {
    size_t index;
    char *platform; /* NULL for a lone manifest */
    char *digest;
    int64_t size;
    char *media_type;
    int encrypted;
    size_t n_schemes;
    char **schemes;
    size_t n_recipients;
    char **recipients;
};

struct cocoimg_layer_list {
    size_t n, cap;
    struct cocoimg_layer_info *items;
};

static void
strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
cocoimg_layer_list_free(cocoimg_layer_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++) {
        struct cocoimg_layer_info *l = &list->items[i];
        free(l->platform);
        free(l->digest);
        free(l->media_type);
        strv_free(l->schemes, l->n_schemes);
        strv_free(l->recipients, l->n_recipients);
    }
    free(list->items);
    free(list);
}
COCOIMG_DEFINE_CLEANUP(cocoimg_layer_list, cocoimg_layer_list_free)

static int
dup_opt(char **out, const char *s)
{
    *out = NULL;
    return s && !(*out = strdup(s)) ? -1 : 0;
}

/* The strings of the JSON array @p arr (non-strings skipped). */
static int
strv_from_json(char ***out, size_t *n_out, const json_t *arr)
{
    size_t n = json_array_size(arr), k = 0;
    char **v = n ? calloc(n, sizeof(*v)) : NULL;
    if (n && !v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *str = json_string_value(json_array_get(arr, i));
        if (str && !(v[k++] = strdup(str))) {
            strv_free(v, k);
            return -1;
        }
    }
    *out = v;
    *n_out = k;
    return 0;
}

/* Append the description of layer @p idx (cocoimg__layer_describe()) to @p list. */
static int
list_append(cocoimg_layer_list *list, size_t idx, const char *platform, const json_t *desc,
            cocoimg_error **err)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 8;
        struct cocoimg_layer_info *items = realloc(list->items, cap * sizeof(*items));
        if (!items)
            return cocoimg__error_oom(err);
        list->items = items;
        list->cap = cap;
    }
    struct cocoimg_layer_info *l = &list->items[list->n];
    memset(l, 0, sizeof(*l));
    list->n++; /* freed with the list from here on, also when half filled */
    l->index = idx;
    l->size = json_integer_value(json_object_get(desc, "size"));
    l->encrypted = json_is_true(json_object_get(desc, "encrypted"));
    if (dup_opt(&l->platform, platform) < 0 ||
        dup_opt(&l->digest, cocoimg__json_str(desc, "digest")) < 0 ||
        dup_opt(&l->media_type, cocoimg__json_str(desc, "mediaType")) < 0 ||
        strv_from_json(&l->schemes, &l->n_schemes, json_object_get(desc, "schemes")) < 0 ||
        strv_from_json(&l->recipients, &l->n_recipients, json_object_get(desc, "recipients")) < 0)
        return cocoimg__error_oom(err);
    return 0;
}

/* The selected layers of one image, appended to @p list. */
static int
describe_image(cocoimg_layer_list *list, const cocoimg__resolve_image *img,
               const cocoimg_crypt_options *o, cocoimg_error **err)
{
    const cocoimg__manifest *m = img->manifest;
    const cocoimg__descriptor *entry = img->entry;
    char plat[200] = "";
    if (entry && entry->os)
        snprintf(plat, sizeof(plat), "%s/%s%s%s", entry->os,
                 entry->architecture ? entry->architecture : "", entry->variant ? "/" : "",
                 entry->variant ? entry->variant : "");
    for (size_t i = 0; i < m->n_layers; i++) {
        bool sel;
        int r = layer_selected(&sel, o, i, m->n_layers, err);
        if (r < 0)
            return r;
        if (!sel)
            continue;
        _cleanup_json_ json_t *d = NULL;
        if ((r = cocoimg__layer_describe(&d, m->layers[i].json, err)) < 0 ||
            (r = list_append(list, i, *plat ? plat : NULL, d, err)) < 0)
            return r;
    }
    return 0;
}

int
cocoimg_layer_list_load(cocoimg_layer_list **out, cocoimg_context *ctx, const char *src,
                        const cocoimg_crypt_options *opts, cocoimg_error **err)
{
    cocoimg_crypt_options defaults = COCOIMG_CRYPT_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    int r = cocoimg__crypt_options_check(opts, COCOIMG__CRYPT_LAYERINFO, err);
    if (r < 0)
        return r;
    /* layerinfo's default is every manifest of an index; a platform picks one */
    cocoimg__resolve_options ro;
    if ((r = cocoimg__resolve_options_init(&ro, opts->platform, opts->all || !opts->platform,
                                           err)) < 0)
        return cocoimg__error_wrap(err, r, "layerinfo");
    _cleanup_(cocoimg_reference_freep) cocoimg_reference *ref = NULL;
    if ((r = cocoimg__reference_parse_ctx(&ref, ctx, src, err)) < 0)
        return cocoimg__error_wrap(err, r, "layerinfo");
    _cleanup_source_ cocoimg__source *s = NULL;
    if ((r = cocoimg__source_open(&s, ctx, ref, err)) < 0)
        return cocoimg__error_wrap(err, r, "layerinfo");
    _cleanup_resolve_ cocoimg__resolve *res = NULL;
    if ((r = cocoimg__resolve_open(&res, s, ref, &ro, err)) < 0)
        return cocoimg__error_wrap(err, r, "layerinfo");
    _cleanup_(cocoimg_layer_list_freep) cocoimg_layer_list *list = calloc(1, sizeof(*list));
    if (!list)
        return cocoimg__error_oom(err);
    const cocoimg__resolve_image *img;
    while ((img = cocoimg__resolve_next(res)))
        if ((r = describe_image(list, img, opts, err)) < 0)
            return cocoimg__error_wrap(err, r, "layerinfo");
    *out = TAKE_PTR(list);
    return 0;
}

size_t
cocoimg_layer_list_count(const cocoimg_layer_list *list)
{
    return list ? list->n : 0;
}

const cocoimg_layer_info *
cocoimg_layer_list_get(const cocoimg_layer_list *list, size_t i)
{
    return list && i < list->n ? &list->items[i] : NULL;
}

size_t
cocoimg_layer_info_index(const cocoimg_layer_info *l)
{
    return l->index;
}

const char *
cocoimg_layer_info_platform(const cocoimg_layer_info *l)
{
    return l->platform;
}

const char *
cocoimg_layer_info_digest(const cocoimg_layer_info *l)
{
    return l->digest;
}

int64_t
cocoimg_layer_info_size(const cocoimg_layer_info *l)
{
    return l->size;
}

const char *
cocoimg_layer_info_media_type(const cocoimg_layer_info *l)
{
    return l->media_type;
}

int
cocoimg_layer_info_encrypted(const cocoimg_layer_info *l)
{
    return l->encrypted;
}

size_t
cocoimg_layer_info_scheme_count(const cocoimg_layer_info *l)
{
    return l->n_schemes;
}

const char *
cocoimg_layer_info_scheme(const cocoimg_layer_info *l, size_t i)
{
    return i < l->n_schemes ? l->schemes[i] : NULL;
}

size_t
cocoimg_layer_info_recipient_count(const cocoimg_layer_info *l)
{
    return l->n_recipients;
}

const char *
cocoimg_layer_info_recipient(const cocoimg_layer_info *l, size_t i)
{
    return i < l->n_recipients ? l->recipients[i] : NULL;
}

static json_t *
strv_to_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

int
cocoimg_layer_list_to_json(char **out, const cocoimg_layer_list *list, cocoimg_error **err)
{
    _cleanup_json_ json_t *arr = json_array();
    if (!arr)
        return cocoimg__error_oom(err);
    for (size_t i = 0; list && i < list->n; i++) {
        const struct cocoimg_layer_info *l = &list->items[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o) < 0)
            return cocoimg__error_oom(err);
        int fail = 0;
        if (l->digest)
            fail |= json_object_set_new(o, "digest", json_string(l->digest));
        fail |= json_object_set_new(o, "size", json_integer((json_int_t)l->size));
        if (l->media_type)
            fail |= json_object_set_new(o, "mediaType", json_string(l->media_type));
        fail |= json_object_set_new(o, "encrypted", json_boolean(l->encrypted));
        fail |= json_object_set_new(o, "schemes", strv_to_json(l->schemes, l->n_schemes));
        fail |= json_object_set_new(o, "recipients", strv_to_json(l->recipients, l->n_recipients));
        fail |= json_object_set_new(o, "index", json_integer((json_int_t)l->index));
        if (l->platform)
            fail |= json_object_set_new(o, "platform", json_string(l->platform));
        if (fail)
            return cocoimg__error_oom(err);
    }
    size_t n;
    return cocoimg__json_dump(out, &n, arr, err);
}

int
cocoimg_layerinfo(char **out, cocoimg_context *ctx, const char *src,
                  const cocoimg_crypt_options *opts, cocoimg_error **err)
{
    _cleanup_(cocoimg_layer_list_freep) cocoimg_layer_list *list = NULL;
    int r = cocoimg_layer_list_load(&list, ctx, src, opts, err);
    if (r < 0)
        return r;
    return cocoimg_layer_list_to_json(out, list, err);
}
