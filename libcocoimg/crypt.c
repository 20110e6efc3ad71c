/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cocoimg_encrypt / cocoimg_decrypt / cocoimg_layerinfo: the copy engine
 * with hooks that encrypt or decrypt the selected layers (crypt/layer.c).
 */
#include <string.h>

#include <cocoimg/crypt.h>
#include <cocoimg/image.h>
#include <cocoimg/reference.h>

#include "copy.h"
#include "crypt/keys.h"
#include "crypt/layer.h"
#include "oci/model.h"
#include "transport/transport.h"
#include "util/json.h"

int
cocoimg_crypt_options_init(cocoimg_crypt_options *opts, unsigned int version)
{
    if (!COCOIMG__VERSION_OK(version, COCOIMG_CRYPT_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return 0;
}

struct crypt_run {
    cocoimg_context *ctx;
    const cocoimg_crypt_options *opts;
    cocoimg__crypt_config *cfg;
    bool encrypt;
    cocoimg__layer_crypt *current; /* the layer being streamed */
    size_t processed;              /* layers encrypted/decrypted or re-wrapped */
    bool convert_docker;           /* the current manifest is Docker schema2 */
};

static int
check_options(const cocoimg_crypt_options *o, cocoimg_error **err)
{
    if (!o || !COCOIMG__VERSION_OK(o->version, COCOIMG_CRYPT_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "unsupported crypt options version");
    return 0;
}

int
cocoimg__crypt_config_from_options(cocoimg__crypt_config **out, const cocoimg_crypt_options *o,
                                   bool encrypt, cocoimg_error **err)
{
    _cleanup_(cocoimg__crypt_config_freep) cocoimg__crypt_config *cfg = NULL;
    int r = cocoimg__crypt_config_new(&cfg, err);
    if (r < 0)
        return r;
    if (!o) {
        *out = TAKE_PTR(cfg);
        return 0;
    }
    if ((r = check_options(o, err)) < 0)
        return r;
    if (o->gpg_homedir && !(cfg->gpg_homedir = strdup(o->gpg_homedir)))
        return cocoimg__error_oom(err);
    cfg->pgp_decrypt = o->use_gpg_keys || o->gpg_homedir;
    cfg->unwrap_cb = o->unwrap_cb;
    cfg->unwrap_payload = o->unwrap_payload;
    if (encrypt) {
        for (size_t i = 0; i < o->n_recipients; i++)
            if ((r = cocoimg__crypt_config_add_recipient(cfg, o->recipients[i], err)) < 0)
                return r;
    } else if (o->n_recipients) {
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "recipients are for encryption only");
    }
    for (size_t i = 0; i < o->n_keys; i++)
        if ((r = cocoimg__crypt_config_add_key(cfg, o->keys[i], err)) < 0)
            return r;
    for (size_t i = 0; i < o->n_dec_recipients; i++) {
        const char *c = o->dec_recipients[i];
        if (strncmp(c, "pkcs7:", 6) == 0)
            c += 6;
        else if (strchr(c, ':') && access(c, F_OK) != 0)
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "decryption recipient '%s': only pkcs7:CERT is supported",
                                      o->dec_recipients[i]);
        if ((r = cocoimg__crypt_config_add_dec_cert(cfg, c, err)) < 0)
            return r;
    }
    *out = TAKE_PTR(cfg);
    return 0;
}

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
           cocoimg__reader **in, cocoimg__reader **out, cocoimg_error **err)
{
    struct crypt_run *run = payload;
    (void)m;
    cocoimg__layer_crypt_free(run->current);
    run->current = NULL;
    cocoimg__reader *io = TAKE_PTR(*in);
    int r = run->encrypt
                ? cocoimg__layer_encrypt_begin(&run->current, run->ctx, run->cfg, desc, &io, err)
                : cocoimg__layer_decrypt_begin(&run->current, run->ctx, run->cfg, desc, &io, err);
    if (r < 0) {
        cocoimg__reader_free(io);
        return cocoimg__error_wrap(err, r, "layer %zu", idx);
    }
    *out = io;
    return 0;
}

static int
hook_layer_done(void *payload, json_t *desc, cocoimg_error **err)
{
    struct crypt_run *run = payload;
    if (!run->current)
        return 0;
    int r = run->encrypt ? cocoimg__layer_encrypt_finish(run->current, desc, err)
                         : cocoimg__layer_decrypt_finish(run->current, desc, err);
    cocoimg__layer_crypt_free(TAKE_PTR(run->current));
    run->processed++;
    return r;
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
    int r = check_options(opts, err);
    if (r < 0)
        return r;
    if (encrypt && !opts->n_recipients)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "no recipients given: nothing to encrypt for");
    if (!encrypt && !opts->n_keys && !opts->use_gpg_keys && !opts->gpg_homedir && !opts->unwrap_cb)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no decryption keys given");
    struct crypt_run run = {.ctx = ctx, .opts = opts, .encrypt = encrypt};
    if ((r = cocoimg__crypt_config_from_options(&run.cfg, opts, encrypt, err)) < 0)
        return r;
    struct cocoimg__copy_hooks hooks = {.payload = &run,
                                        .plan = hook_plan,
                                        .layer = hook_layer,
                                        .layer_done = hook_layer_done,
                                        .manifest = hook_manifest};
    cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
    co.all = opts->all;
    co.platform = opts->platform;
    r = cocoimg__copy_internal(ctx, src, dst, &co, &hooks, err);
    cocoimg__layer_crypt_free(run.current);
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

/* layerinfo of one manifest, appended to @p arr */
static int
describe_manifest(json_t *arr, cocoimg__source *s, const cocoimg__descriptor *entry,
                  const uint8_t *buf, size_t len, const char *mt, const cocoimg_crypt_options *o,
                  cocoimg_error **err)
{
    _cleanup_(cocoimg__manifest_freep) cocoimg__manifest *m = NULL;
    int r = cocoimg__manifest_parse(&m, buf, len, mt, err);
    if (r < 0)
        return r;
    char plat[200] = "";
    if (entry && entry->os)
        snprintf(plat, sizeof(plat), "%s/%s%s%s", entry->os,
                 entry->architecture ? entry->architecture : "", entry->variant ? "/" : "",
                 entry->variant ? entry->variant : "");
    for (size_t i = 0; i < m->n_layers; i++) {
        bool sel;
        if ((r = layer_selected(&sel, o, i, m->n_layers, err)) < 0)
            return r;
        if (!sel)
            continue;
        json_t *d = NULL;
        if ((r = cocoimg__layer_describe(&d, m->layers[i].json, err)) < 0)
            return r;
        json_object_set_new(d, "index", json_integer((json_int_t)i));
        if (*plat)
            json_object_set_new(d, "platform", json_string(plat));
        if (json_array_append_new(arr, d) < 0)
            return cocoimg__error_oom(err);
    }
    (void)s;
    return 0;
}

int
cocoimg_layerinfo(char **out, cocoimg_context *ctx, const char *src,
                  const cocoimg_crypt_options *opts, cocoimg_error **err)
{
    cocoimg_crypt_options defaults = COCOIMG_CRYPT_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    int r = check_options(opts, err);
    if (r < 0)
        return r;
    cocoimg_reference *ref = NULL;
    if ((r = cocoimg_reference_parse(&ref, src, err)) < 0)
        return r;
    _cleanup_source_ cocoimg__source *s = NULL;
    r = cocoimg__source_open(&s, ctx, ref, err);
    cocoimg_reference_free(ref);
    if (r < 0)
        return r;
    _cleanup_free_ uint8_t *buf = NULL;
    _cleanup_free_ char *mt = NULL;
    size_t len;
    if ((r = cocoimg__source_get_manifest(s, NULL, -1, &buf, &len, &mt, err)) < 0)
        return r;
    cocoimg__doc_kind kind;
    if ((r = cocoimg__doc_detect(&kind, buf, len, mt, err)) < 0)
        return r;
    _cleanup_json_ json_t *arr = json_array();
    if (!arr)
        return cocoimg__error_oom(err);
    if (!cocoimg__doc_is_index(kind)) {
        if ((r = describe_manifest(arr, s, NULL, buf, len, mt, opts, err)) < 0)
            return r;
    } else {
        _cleanup_(cocoimg__index_freep) cocoimg__index *ix = NULL;
        if ((r = cocoimg__index_parse(&ix, buf, len, mt, err)) < 0)
            return r;
        cocoimg__platform want;
        bool filter = !opts->all && opts->platform;
        if (filter && (r = cocoimg__platform_parse(&want, opts->platform, err)) < 0)
            return r;
        for (size_t i = 0; i < ix->n_manifests; i++) {
            const cocoimg__descriptor *e = &ix->manifests[i];
            if (cocoimg__doc_is_index(cocoimg__doc_kind_of(e->media_type)))
                continue;
            if (filter && !cocoimg__platform_matches(&want, e->os, e->architecture, e->variant))
                continue;
            _cleanup_free_ uint8_t *mbuf = NULL;
            _cleanup_free_ char *mmt = NULL;
            size_t mlen;
            if ((r = cocoimg__source_get_manifest(s, &e->digest, e->size, &mbuf, &mlen, &mmt,
                                                  err)) < 0)
                return r;
            if ((r = describe_manifest(arr, s, e, mbuf, mlen, mmt ? mmt : e->media_type, opts,
                                       err)) < 0)
                return r;
        }
    }
    size_t n;
    return cocoimg__json_dump(out, &n, arr, err);
}
