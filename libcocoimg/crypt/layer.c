/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "crypt/layer.h"
#include "oci/model.h"
#include "util/base64.h"
#include "util/json.h"

/* Upper bound on one wrapped-key annotation value (all comma items). */
#define WRAPPED_ANNOTATION_MAX (1u * 1024 * 1024)

struct cocoimg__layer_crypt {
    const cocoimg_context *ctx;
    const cocoimg__crypt_config *cfg;
    bool encrypt;
    bool add_recipients;             /* encrypt: layer was already encrypted */
    cocoimg__layer_options *opts;    /* encrypt: fresh options; decrypt: unwrapped */
    uint8_t hmac[COCOIMG__HMAC_LEN]; /* encrypt: filled by the stage at EOF */
    cocoimg__secret *privjson;       /* add_recipients: the unwrapped privopts */
};

void
cocoimg__layer_crypt_free(cocoimg__layer_crypt *lc)
{
    if (!lc)
        return;
    cocoimg__layer_options_free(lc->opts);
    cocoimg__secret_free(lc->privjson);
    cocoimg__wipe(lc->hmac, sizeof(lc->hmac));
    free(lc);
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int
cocoimg__encrypted_media_type(char **out, const char *media_type, cocoimg_error **err)
{
    cocoimg__layer_type lt;
    int r = cocoimg__layer_type_parse(&lt, media_type, err);
    if (r < 0)
        return r;
    if (lt.encrypted)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "layer type '%s' is already encrypted",
                                  media_type);
    const char *base = media_type;
    /* Docker layers only appear in OCI manifests converted from schema2. */
    if (strcmp(media_type, COCOIMG_MT_DOCKER_LAYER_GZIP) == 0)
        base = COCOIMG_MT_OCI_LAYER_GZIP;
    else if (lt.docker)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "layer type '%s' cannot be encrypted",
                                  media_type);
    if (asprintf(out, "%s" COCOIMG_ENCRYPTED_SUFFIX, base) < 0)
        return cocoimg__error_oom(err);
    return 0;
}

int
cocoimg__decrypted_media_type(char **out, const char *media_type, cocoimg_error **err)
{
    if (!has_suffix(media_type, COCOIMG_ENCRYPTED_SUFFIX))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "layer type '%s' is not encrypted",
                                  media_type);
    *out = strndup(media_type, strlen(media_type) - strlen(COCOIMG_ENCRYPTED_SUFFIX));
    return *out ? 0 : cocoimg__error_oom(err);
}

static const char *
desc_digest(const json_t *desc)
{
    const char *d = cocoimg__json_str(desc, "digest");
    return d ? d : "?";
}

/* The annotations object of @p desc, created if absent. */
static int
annotations_of(json_t **out, json_t *desc, cocoimg_error **err)
{
    json_t *a = json_object_get(desc, "annotations");
    if (!a) {
        a = json_object();
        if (!a || json_object_set_new(desc, "annotations", a) < 0)
            return cocoimg__error_oom(err);
    } else if (!json_is_object(a)) {
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                  "layer %s: annotations must be an object", desc_digest(desc));
    }
    *out = a;
    return 0;
}

/* Remove every org.opencontainers.image.enc.* annotation (ocicrypt's FilterOutAnnotations). */
static void
drop_enc_annotations(json_t *ann)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(ann, tmp, k, v)
    {
        if (strncmp(k, COCOIMG_ENC_ANNOTATION_PREFIX, strlen(COCOIMG_ENC_ANNOTATION_PREFIX)) == 0)
            json_object_del(ann, k);
    }
}

/* Wrap @p privjson for every scheme that has recipients; append to existing values. */
static int
wrap_all(const cocoimg__crypt_config *cfg, const cocoimg__secret *privjson, json_t *annotations,
         cocoimg_error **err)
{
    int wrapped = 0;
    for (size_t i = 0; i < COCOIMG__KW_COUNT; i++) {
        const struct cocoimg__keywrapper *w = cocoimg__keywrappers[i];
        if (!w->has_recipients(cfg->state[i]))
            continue;
        int r = w->wrap(cfg->state[i], privjson, annotations, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "%s", w->scheme);
        wrapped++;
    }
    if (!wrapped)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no recipients to encrypt for");
    return 0;
}

int
cocoimg__layer_encrypt_begin(cocoimg__layer_crypt **lc_out, const cocoimg_context *ctx,
                             const cocoimg__crypt_config *cfg, const json_t *desc,
                             cocoimg__reader **io, cocoimg_error **err)
{
    *lc_out = NULL;
    const char *mt = cocoimg__json_str(desc, "mediaType");
    cocoimg__layer_type lt;
    int r = cocoimg__layer_type_parse(&lt, mt ? mt : "", err);
    if (r < 0)
        return cocoimg__error_wrap(err, r, "layer %s", desc_digest(desc));
    if (lt.docker && lt.nondistributable) {
        cocoimg__log(ctx, COCOIMG_LOG_INFO, "layer %s: foreign layers are not encrypted",
                     desc_digest(desc));
        return 0;
    }
    _cleanup_(cocoimg__layer_crypt_freep) cocoimg__layer_crypt *lc = calloc(1, sizeof(*lc));
    if (!lc)
        return cocoimg__error_oom(err);
    lc->ctx = ctx;
    lc->cfg = cfg;
    lc->encrypt = true;
    if (lt.encrypted) {
        lc->add_recipients = true;
        r = cocoimg__layer_unwrap(&lc->opts, &lc->privjson, ctx, cfg, desc, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "adding recipients");
        *lc_out = TAKE_PTR(lc);
        return 0;
    }
    if ((r = cocoimg__layer_options_generate(&lc->opts, err)) < 0)
        return r;
    /* privopts.digest names exactly the bytes we encrypt: the source blob (spec 2.3) */
    if ((r = cocoimg__layer_options_set_digest(lc->opts, desc_digest(desc), err)) < 0)
        return r;
    /* the stage takes over *io, also when it fails */
    if ((r = cocoimg__reader_encrypt(io, TAKE_PTR(*io), lc->opts, lc->hmac, err)) < 0)
        return r;
    *lc_out = TAKE_PTR(lc);
    return 0;
}

int
cocoimg__layer_encrypt_finish(cocoimg__layer_crypt *lc, json_t *desc, cocoimg_error **err)
{
    json_t *ann = NULL;
    int r = annotations_of(&ann, desc, err);
    if (r < 0)
        return r;
    if (lc->add_recipients)
        return wrap_all(lc->cfg, lc->privjson, ann, err);

    memcpy(lc->opts->hmac, lc->hmac, COCOIMG__HMAC_LEN);
    lc->opts->has_hmac = true;
    /* a re-encrypted layer must not keep stale wrapped keys */
    drop_enc_annotations(ann);
    _cleanup_secret_ cocoimg__secret *priv = NULL;
    if ((r = cocoimg__privopts_json(&priv, lc->opts, err)) < 0)
        return r;
    if ((r = wrap_all(lc->cfg, priv, ann, err)) < 0)
        return r;
    _cleanup_free_ char *pub = NULL;
    if ((r = cocoimg__pubopts_annotation(&pub, lc->opts, err)) < 0)
        return r;
    if (json_object_set_new(ann, COCOIMG_ENC_PUBOPTS, json_string(pub)) < 0)
        return cocoimg__error_oom(err);
    _cleanup_free_ char *mt = NULL;
    if ((r = cocoimg__encrypted_media_type(&mt, cocoimg__json_str(desc, "mediaType"), err)) < 0)
        return r;
    if (json_object_set_new(desc, "mediaType", json_string(mt)) < 0)
        return cocoimg__error_oom(err);
    /* containers/image drops urls: they point at the plaintext blob */
    json_object_del(desc, "urls");
    return 0;
}

/*
 * Every failure to unwrap or parse wrapped key material ends here: one
 * message, one code, no parser context, nothing of the decrypted bytes.
 */
static int
unwrap_failed(cocoimg_error **err)
{
    return cocoimg__error_set(err, COCOIMG_ENOKEY, 0, COCOIMG__UNWRAP_FAILED_MSG);
}

/*
 * One attempt per comma item of one scheme's annotation.  An item the
 * user's policy refuses (w->refuse) is skipped and the first such refusal
 * kept in *refusal: it depends on public bytes only and may be told.
 */
static int
try_scheme(cocoimg__secret **out, const struct cocoimg__keywrapper *w, const void *state,
           const cocoimg__crypt_config *cfg, const char *annotation, const char *value,
           cocoimg_error **first_err, cocoimg_error **refusal)
{
    const char *scheme = annotation + strlen(COCOIMG_ENC_KEYS_PREFIX);
    int result = COCOIMG_ENOKEY;
    const char *p = value;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        /* trim ASCII whitespace around items (spec 3.2) */
        while (n && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
            n--;
        _cleanup_free_ uint8_t *blob = NULL;
        size_t blob_len = 0;
        cocoimg_error *e = NULL;
        int r = cocoimg__b64_decode(&blob, &blob_len, p, n, COCOIMG_B64_STD, annotation, &e);
        if (r == 0 && w->refuse && w->refuse(state, blob, blob_len, &e) < 0) {
            /* refused whatever the keys: not tried */
            if (!*refusal)
                *refusal = TAKE_PTR(e);
            cocoimg_error_free(e);
            if (!comma)
                break;
            p = comma + 1;
            continue;
        }
        if (r == 0)
            r = w->unwrap(cfg, state, annotation, blob, blob_len, out, &e);
        cocoimg__wipe(blob, blob_len);
        if (r == 0) {
            cocoimg_error_free(e);
            return 0;
        }
        /* keep the most telling failure: anything beats "no key" */
        if (r != COCOIMG_ENOKEY || result == COCOIMG_ENOKEY) {
            if (r != COCOIMG_ENOKEY || !*first_err) {
                cocoimg_error_free(*first_err);
                *first_err = e;
                e = NULL;
                cocoimg__error_wrap(first_err, r, "%s", scheme);
            }
            if (r != COCOIMG_ENOKEY)
                result = r;
        }
        cocoimg_error_free(e);
        if (!comma)
            break;
        p = comma + 1;
    }
    return result;
}

int
cocoimg__layer_unwrap(cocoimg__layer_options **out, cocoimg__secret **privjson_out,
                      const cocoimg_context *ctx, const cocoimg__crypt_config *cfg,
                      const json_t *desc, cocoimg_error **err)
{
    const json_t *ann = json_object_get(desc, "annotations");
    const char *pubval = cocoimg__json_str(ann, COCOIMG_ENC_PUBOPTS);
    if (!pubval)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "encrypted layer has no '%s' annotation",
                                  COCOIMG_ENC_PUBOPTS);
    _cleanup_pubopts_ cocoimg__pubopts *pub = NULL;
    int r = cocoimg__pubopts_annotation_parse(&pub, pubval, err);
    if (r < 0)
        return r;

    bool any_scheme = false, any_keys = false;
    _cleanup_secret_ cocoimg__secret *priv = NULL;
    _cleanup_error_ cocoimg_error *first = NULL, *provider_err = NULL, *refusal = NULL;
    char schemes[256] = "";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ann, k, v)
    {
        if (strncmp(k, COCOIMG_ENC_KEYS_PREFIX, strlen(COCOIMG_ENC_KEYS_PREFIX)) != 0)
            continue;
        any_scheme = true;
        size_t used = strlen(schemes);
        snprintf(schemes + used, sizeof(schemes) - used, "%s%s", used ? ", " : "",
                 k + strlen(COCOIMG_ENC_KEYS_PREFIX));
        const struct cocoimg__keywrapper *w = cocoimg__keywrap_by_annotation(k);
        if (!w) {
            cocoimg__log(ctx, COCOIMG_LOG_DEBUG, "ignoring unknown key scheme annotation '%s'", k);
            continue;
        }
        if (!json_is_string(v))
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "annotation '%s' must be a string",
                                      k);
        if (json_string_length(v) > WRAPPED_ANNOTATION_MAX)
            return cocoimg__error_set(err, COCOIMG_ELIMIT, 0, "annotation '%s' is too large", k);
        const void *state = cfg->state[w->id];
        if (!w->has_keys(cfg, state))
            continue;
        any_keys = true;
        r = try_scheme(&priv, w, state, cfg, k, json_string_value(v), &first, &refusal);
        if (r == 0)
            break;
        /*
         * What went wrong inside a wrapper stays here: whether a key did
         * not fit, the padding or tag was bad or the JSON did not parse
         * must not be told apart from outside (issue 12).
         */
        if (w == &cocoimg__keywrap_provider && first &&
            (!provider_err || (cocoimg_error_code(provider_err) == COCOIMG_ENOKEY &&
                               cocoimg_error_code(first) != COCOIMG_ENOKEY))) {
            cocoimg_error_free(provider_err);
            provider_err = TAKE_PTR(first);
        }
        cocoimg_error_free(TAKE_PTR(first));
    }
    if (!priv) {
        if (!any_scheme)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "encrypted layer has no wrapped key annotation");
        if (!any_keys)
            return cocoimg__error_set(
                err, COCOIMG_ENOKEY, 0,
                "missing private key needed for decryption (layer key wrapped "
                "for: %s)",
                schemes);
        /* a refusal by the user's policy names the option that allows it */
        if (refusal) {
            int code = cocoimg_error_code(refusal);
            if (err && !*err)
                *err = TAKE_PTR(refusal);
            return code;
        }
        /* a key provider's own reason (the caller's words) reaches the user */
        if (provider_err && err && !*err) {
            *err = TAKE_PTR(provider_err);
            return cocoimg_error_code(*err);
        }
        return unwrap_failed(err);
    }
    _cleanup_privopts_ cocoimg__privopts *po = NULL;
    if ((r = cocoimg__privopts_parse(&po, priv->ptr, priv->len, NULL)) < 0)
        return unwrap_failed(err);
    if ((r = cocoimg__layer_options_combine(out, po, pub, err)) < 0)
        return r;
    if (privjson_out)
        *privjson_out = TAKE_PTR(priv);
    return 0;
}

int
cocoimg__layer_decrypt_begin(cocoimg__layer_crypt **lc_out, const cocoimg_context *ctx,
                             const cocoimg__crypt_config *cfg, const json_t *desc,
                             cocoimg__reader **io, cocoimg_error **err)
{
    *lc_out = NULL;
    _cleanup_(cocoimg__layer_crypt_freep) cocoimg__layer_crypt *lc = calloc(1, sizeof(*lc));
    if (!lc)
        return cocoimg__error_oom(err);
    lc->ctx = ctx;
    lc->cfg = cfg;
    /* the caller names the layer in its context */
    int r = cocoimg__layer_unwrap(&lc->opts, NULL, ctx, cfg, desc, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__reader_decrypt(io, TAKE_PTR(*io), lc->opts, err)) < 0)
        return r;
    *lc_out = TAKE_PTR(lc);
    return 0;
}

int
cocoimg__layer_decrypt_finish(cocoimg__layer_crypt *lc, json_t *desc, cocoimg_error **err)
{
    _cleanup_free_ char *mt = NULL;
    int r = cocoimg__decrypted_media_type(&mt, cocoimg__json_str(desc, "mediaType"), err);
    if (r < 0)
        return r;
    if (json_object_set_new(desc, "mediaType", json_string(mt)) < 0)
        return cocoimg__error_oom(err);
    json_t *ann = json_object_get(desc, "annotations");
    drop_enc_annotations(ann);
    if (ann && json_object_size(ann) == 0)
        json_object_del(desc, "annotations");
    /*
     * privopts.digest is not checked as an error: skopeo records the digest
     * of the plaintext it had before it recompressed it (an uncompressed tar
     * is gzipped, vectors enc-from-tar), so real images differ.  The layer
     * is authenticated by the HMAC and, since the nonce comes only from the
     * wrapped options, decrypts as the encrypter wrote it.  The recorded
     * value (decrypted bytes) is not quoted.
     */
    const char *pd = lc->opts->digest;
    const char *got = cocoimg__json_str(desc, "digest");
    if (pd && *pd && got && strcmp(pd, got) != 0)
        cocoimg__log(lc->ctx, COCOIMG_LOG_WARNING,
                     "layer %s: decrypted digest differs from the digest recorded at encryption; "
                     "the encrypter recompressed the layer",
                     got);
    return 0;
}

int
cocoimg__layer_describe(json_t **out, const json_t *desc, cocoimg_error **err)
{
    const char *mt = cocoimg__json_str(desc, "mediaType");
    _cleanup_json_ json_t *o =
        json_pack("{s:s?, s:O?, s:O?, s:b}", "digest", cocoimg__json_str(desc, "digest"), "size",
                  json_object_get(desc, "size"), "mediaType", json_object_get(desc, "mediaType"),
                  "encrypted", mt && has_suffix(mt, COCOIMG_ENCRYPTED_SUFFIX));
    json_t *schemes = json_array(), *rcpts = json_array();
    if (!o || !schemes || !rcpts || json_object_set_new(o, "schemes", schemes) < 0 ||
        json_object_set_new(o, "recipients", rcpts) < 0)
        return cocoimg__error_oom(err);
    const json_t *ann = json_object_get(desc, "annotations");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ann, k, v)
    {
        if (strncmp(k, COCOIMG_ENC_KEYS_PREFIX, strlen(COCOIMG_ENC_KEYS_PREFIX)) != 0)
            continue;
        json_array_append_new(schemes, json_string(k + strlen(COCOIMG_ENC_KEYS_PREFIX)));
        const struct cocoimg__keywrapper *w = cocoimg__keywrap_by_annotation(k);
        const char *val = json_string_value(v);
        if (!w || !w->describe || !val)
            continue;
        for (const char *p = val; *p;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            _cleanup_free_ uint8_t *blob = NULL;
            size_t blob_len;
            _cleanup_json_ json_t *d = NULL;
            if (cocoimg__b64_decode(&blob, &blob_len, p, n, COCOIMG_B64_STD, k, NULL) == 0 &&
                w->describe(blob, blob_len, &d, NULL) == 0 && json_is_array(d)) {
                size_t i;
                json_t *e;
                json_array_foreach(d, i, e)
                {
                    const char *s = json_string_value(e);
                    if (!s)
                        continue;
                    _cleanup_free_ char *tagged = NULL;
                    if (asprintf(&tagged, "%s: %s", w->scheme, s) >= 0)
                        json_array_append_new(rcpts, json_string(tagged));
                }
            } else {
                _cleanup_free_ char *tagged = NULL;
                if (asprintf(&tagged, "%s: (undecodable)", w->scheme) >= 0)
                    json_array_append_new(rcpts, json_string(tagged));
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    *out = TAKE_PTR(o);
    return 0;
}
