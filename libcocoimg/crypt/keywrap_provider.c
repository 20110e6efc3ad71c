/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key-provider wrapper (ocicrypt "provider", keys.provider.NAME): the layer
 * key is wrapped and unwrapped by the caller's cocoimg_keyprovider (a guest
 * agent's attestation, a key service).  Recipients are
 * "provider:NAME[:PARAMS]"; each NAME gets its own annotation
 * org.opencontainers.image.enc.keys.provider.NAME, as ocicrypt writes it.
 *
 * The callbacks run on the caller's thread: wrap and unwrap are only called
 * from the layer hooks of encrypt/decrypt and from unpack's applier, which
 * all run on the thread that called the library.
 *
 * The ocicrypt keyprovider client (OCICRYPT_KEYPROVIDER_CONFIG: a binary or
 * gRPC per provider name) will plug in as another cocoimg_keyprovider held
 * by this state.
 */
#include <string.h>

#include "crypt/keywrap.h"

#define PROVIDER_ANNOTATION COCOIMG_ENC_KEYS_PREFIX "provider"
/* Largest blob a key provider may hand back (real ones are ~200 bytes to a few KiB). */
#define PROVIDER_OUT_MAX (64u * 1024)

static int
provider_state_new(void **out, cocoimg_error **err)
{
    *out = calloc(1, sizeof(struct cocoimg__provider_state));
    return *out ? 0 : cocoimg__error_oom(err);
}

static void
provider_state_free(void *state)
{
    struct cocoimg__provider_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_recipients; i++) {
        free(st->recipients[i].name);
        free(st->recipients[i].params);
    }
    free(st->recipients);
    free(st);
}

/* "provider:NAME[:PARAMS]": NAME as in an annotation key, PARAMS passed through */
static int
provider_add_recipient(void *state, const char *value, cocoimg_error **err)
{
    struct cocoimg__provider_state *st = state;
    const char *colon = strchr(value, ':');
    size_t n = colon ? (size_t)(colon - value) : strlen(value);
    if (n == 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "provider recipient needs a name (provider:NAME[:PARAMS])");
    for (size_t i = 0; i < n; i++) {
        char c = value[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                      "provider name '%.*s': only letters, digits, '-', '_', '.'",
                                      (int)n, value);
    }
    struct cocoimg__provider_recipient *np =
        realloc(st->recipients, (st->n_recipients + 1) * sizeof(*np));
    if (!np)
        return cocoimg__error_oom(err);
    st->recipients = np;
    struct cocoimg__provider_recipient *rc = &np[st->n_recipients];
    rc->name = strndup(value, n);
    rc->params = colon ? strdup(colon + 1) : NULL;
    if (!rc->name || (colon && !rc->params)) {
        free(rc->name);
        free(rc->params);
        return cocoimg__error_oom(err);
    }
    st->n_recipients++;
    return 0;
}

static bool
provider_has_recipients(const void *state)
{
    const struct cocoimg__provider_state *st = state;
    return st && st->n_recipients > 0;
}

static bool
provider_has_keys(const cocoimg__crypt_config *cfg, const void *state)
{
    (void)cfg;
    const struct cocoimg__provider_state *st = state;
    return st && st->kp && st->kp->unwrap;
}

/* The callback's result: checked, copied, the callback's buffer wiped and freed. */
static void
wipe_free(uint8_t *p, size_t len)
{
    if (p) {
        cocoimg__wipe(p, len);
        free(p);
    }
}

static int
provider_wrap(const void *state, const cocoimg__secret *opts, json_t *annotations,
              cocoimg_error **err)
{
    const struct cocoimg__provider_state *st = state;
    if (!st || !st->n_recipients)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "no provider recipients");
    if (!st->kp || !st->kp->wrap)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                  "provider '%s': no key provider that can wrap was given",
                                  st->recipients[0].name);
    for (size_t i = 0; i < st->n_recipients; i++) {
        const struct cocoimg__provider_recipient *rc = &st->recipients[i];
        uint8_t *blob = NULL;
        size_t len = 0;
        cocoimg_error *e = NULL;
        int r = st->kp->wrap(&blob, &len, rc->name, rc->params, opts->ptr, opts->len, &e,
                             st->kp->payload);
        if (r > 0)
            r = COCOIMG_EUSER;
        if (r == 0 && (!blob || len == 0 || len > PROVIDER_OUT_MAX))
            r = cocoimg__error_set(&e, COCOIMG_EFORMAT, 0, "returned %zu bytes", len);
        if (r == 0) {
            _cleanup_free_ char *key = NULL;
            if (asprintf(&key, "%s.%s", PROVIDER_ANNOTATION, rc->name) < 0)
                r = cocoimg__error_oom(&e);
            else
                r = cocoimg__keywrap_append(annotations, key, blob, len, &e);
        }
        free(blob); /* wrapped, not secret */
        if (r < 0) {
            if (err && !*err)
                *err = e;
            else
                cocoimg_error_free(e);
            return cocoimg__error_wrap(err, r, "key provider '%s'", rc->name);
        }
    }
    return 0;
}

static int
provider_unwrap(const cocoimg__crypt_config *cfg, const void *state, const char *annotation,
                const uint8_t *blob, size_t len, cocoimg__secret **out, cocoimg_error **err)
{
    (void)cfg;
    const struct cocoimg__provider_state *st = state;
    const char *name = annotation + strlen(PROVIDER_ANNOTATION) + 1;
    if (!st || !st->kp || !st->kp->unwrap)
        return cocoimg__error_set(err, COCOIMG_ENOKEY, 0, "no key provider for '%s'", name);
    uint8_t *opts = NULL;
    size_t opts_len = 0;
    cocoimg_error *e = NULL;
    int r = st->kp->unwrap(&opts, &opts_len, name, blob, len, &e, st->kp->payload);
    if (r > 0)
        r = COCOIMG_EUSER;
    if (r == 0 && (!opts || opts_len == 0 || opts_len > PROVIDER_OUT_MAX))
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                               "key provider '%s' returned %zu bytes of layer options", name,
                               opts_len);
    else if (r == 0)
        r = cocoimg__secret_dup(out, opts, opts_len, err);
    else if (e) {
        /* the provider's own reason reaches the user */
        if (err && !*err)
            *err = TAKE_PTR(e);
        r = cocoimg__error_wrap(err, r, "key provider '%s'", name);
    } else if (r == COCOIMG_ENOKEY)
        r = cocoimg__error_set(err, COCOIMG_ENOKEY, 0, "key provider '%s' has no key for it", name);
    else
        r = cocoimg__error_set(err, r, 0, "key provider '%s' failed to unwrap the layer key", name);
    cocoimg_error_free(e);
    wipe_free(opts, opts_len);
    return r;
}

const struct cocoimg__keywrapper cocoimg__keywrap_provider = {
    .id = COCOIMG__KW_provider,
    .scheme = "provider",
    .annotation = PROVIDER_ANNOTATION,
    .named = true,
    .state_new = provider_state_new,
    .state_free = provider_state_free,
    .add_recipient = provider_add_recipient,
    .has_recipients = provider_has_recipients,
    .has_keys = provider_has_keys,
    .wrap = provider_wrap,
    .unwrap = provider_unwrap,
};
