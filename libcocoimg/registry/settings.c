/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry settings of a context: cocoimg_context_set_registry() and the
 * per-side copies it keeps in the context's registry slot.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "registry/settings.h"
#include "util/context.h"
#include "util/error.h"
#include "util/secret.h"

static const struct cocoimg__registry_settings settings_default = {.insecure = false};

static void
settings_clear(struct cocoimg__registry_settings *rs)
{
    free(rs->username);
    if (rs->password)
        cocoimg__free_wipe_str(rs->password);
    free(rs->authfile);
    free(rs->cert_dir);
    *rs = settings_default;
}

/* The slot holds struct cocoimg__registry_settings[2]: [0] source, [1] destination. */
static void
settings_free(void *data)
{
    struct cocoimg__registry_settings *rs = data;
    settings_clear(&rs[0]);
    settings_clear(&rs[1]);
    free(rs);
}

int
cocoimg_registry_options_init(cocoimg_registry_options *opts, unsigned int version)
{
    if (!COCOIMG__VERSION_OK(version, COCOIMG_REGISTRY_OPTIONS_VERSION))
        return COCOIMG_EINVAL;
    cocoimg_registry_options def = COCOIMG_REGISTRY_OPTIONS_INIT;
    def.version = version;
    /* version 1: the last field was tls_verify, default 1, and the struct ends there */
    if (version == 1) {
        def.insecure = 1;
        memcpy(opts, &def, offsetof(cocoimg_registry_options, stall_timeout));
        return 0;
    }
    *opts = def;
    return 0;
}

static int
dup_opt(char **out, const char *s)
{
    *out = NULL;
    return s && !(*out = strdup(s)) ? -1 : 0;
}

/*
 * The insecure setting of @p opts: version 1 had `int tls_verify` in the
 * place of `insecure` (1: verify), version 2 has insecure (0: verify).
 */
static bool
insecure_of(const cocoimg_registry_options *opts)
{
    return opts->version == 1 ? opts->insecure == 0 : opts->insecure != 0;
}

int
cocoimg_context_set_registry(cocoimg_context *ctx, unsigned int sides,
                             const cocoimg_registry_options *opts, cocoimg_error **err)
{
    if (!sides || (sides & ~(unsigned int)(COCOIMG_SIDE_SRC | COCOIMG_SIDE_DST)))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registry settings: invalid sides 0x%x",
                                  sides);
    if (opts && !COCOIMG__VERSION_OK(opts->version, COCOIMG_REGISTRY_OPTIONS_VERSION))
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "registry settings: unsupported options version %u",
                                  opts->version);
    if (opts && opts->username && !*opts->username)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "registry settings: empty user name");
    if (opts && opts->password && !opts->username)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "registry settings: a password needs a user name");
    struct cocoimg__registry_settings *cur =
        cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_REGISTRY);
    if (!cur) {
        if (!(cur = malloc(2 * sizeof(*cur))))
            return cocoimg__error_oom(err);
        cur[0] = cur[1] = settings_default;
        cocoimg__context_slot_set(ctx, COCOIMG__CONTEXT_SLOT_REGISTRY, cur, settings_free);
    }
    /* build both copies first so a failure changes nothing */
    struct cocoimg__registry_settings n[2] = {settings_default, settings_default};
    int r = 0;
    for (int i = 0; i < 2 && opts && r == 0; i++) {
        if (!(sides & (1u << i)))
            continue;
        n[i].insecure = insecure_of(opts);
        n[i].stall_timeout = opts->version >= 2 ? opts->stall_timeout : 0;
        if (dup_opt(&n[i].username, opts->username) < 0 ||
            dup_opt(&n[i].password, opts->password) < 0 ||
            dup_opt(&n[i].authfile, opts->authfile) < 0 ||
            dup_opt(&n[i].cert_dir, opts->cert_dir) < 0)
            r = -1;
    }
    for (int i = 0; i < 2; i++) {
        if (!(sides & (1u << i)))
            continue;
        if (r < 0) {
            settings_clear(&n[i]);
        } else {
            settings_clear(&cur[i]);
            cur[i] = n[i];
        }
    }
    return r < 0 ? cocoimg__error_oom(err) : 0;
}

const struct cocoimg__registry_settings *
cocoimg__registry_settings_get(const cocoimg_context *ctx, cocoimg_side side)
{
    const struct cocoimg__registry_settings *rs =
        cocoimg__context_slot(ctx, COCOIMG__CONTEXT_SLOT_REGISTRY);
    if (!rs)
        return &settings_default;
    return &rs[side == COCOIMG_SIDE_DST ? 1 : 0];
}
