/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attester table and the sample attester.  The sample attester has no
 * TEE behind it: its evidence is the report_data itself (spec 2.1), which
 * trustee's sample verifier accepts when it matches the runtime data.  It is
 * for tests and development only; a KBS policy should never release real
 * secrets to it (trustee's default policy does not).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attester.h"
#include "tsm.h"
#include "util/base64.h"

void
cocoimg__attester_pad64(uint8_t out[64], const uint8_t *report_data, size_t len)
{
    memset(out, 0, 64);
    memcpy(out, report_data, len < 64 ? len : 64);
}

int
cocoimg__attester_exists(const struct cocoimg__attester_env *env, const char *path)
{
    char p[4096];
    struct stat st;
    if (cocoimg__attester_path(p, sizeof(p), env, path) < 0)
        return 0;
    return lstat(p, &st) == 0;
}

static int
sample_evidence(json_t **out, struct cocoimg__attester_claims *claims,
                const struct cocoimg__attester_env *env, const uint8_t *report_data, size_t len,
                cocoimg_error **err)
{
    (void)env;
    (void)claims;
    /* standard base64 with canonical padding, not zero-padded to 64 bytes */
    _cleanup_free_ char *rd = NULL;
    int r = cocoimg__b64_encode(&rd, report_data, len, COCOIMG_B64_STD, err);
    if (r < 0)
        return r;
    json_t *j = json_pack("{s:s, s:s}", "svn", "1", "report_data", rd);
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

const cocoimg__attester cocoimg__attester_sample = {
    .name = "sample",
    .tee = "sample",
    .fallback = true,
    .detect = NULL,
    .evidence = sample_evidence,
};

/* Auto-detection order (spec 1.10: TDX before SNP); fallbacks last. */
static const cocoimg__attester *const attesters[] = {
    &cocoimg__attester_tdx,
    &cocoimg__attester_snp,
    &cocoimg__attester_sample,
    NULL,
};

int
cocoimg__attester_select(const cocoimg__attester **out, const char **why_out, const char *name,
                         const struct cocoimg__attester_env *env, cocoimg_error **err)
{
    *why_out = "asked for by name";
    if (name && strcmp(name, "auto") != 0) {
        for (const cocoimg__attester *const *a = attesters; *a; a++) {
            if (strcmp((*a)->name, name) != 0)
                continue;
            /* asked for by name: this machine must have it, no fallback */
            if ((*a)->detect) {
                const char *why = NULL;
                int r = (*a)->detect(env, &why, err);
                if (r < 0)
                    return cocoimg__error_wrap(err, r, "attester %s", (*a)->name);
                if (r == 0)
                    return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0,
                                              "attester %s: this machine is not a %s guest (%s)",
                                              (*a)->name, (*a)->tee, why ? why : "not detected");
                *why_out = why ? why : "TEE detected";
            }
            *out = *a;
            return 0;
        }
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0,
                                  "unknown attester '%s' (known: auto, tdx, snp, sample)", name);
    }
    const cocoimg__attester *fallback = NULL;
    char why_all[512] = "";
    for (const cocoimg__attester *const *a = attesters; *a; a++) {
        if (!(*a)->detect) {
            if ((*a)->fallback && !fallback)
                fallback = *a;
            continue;
        }
        const char *why = NULL;
        int r = (*a)->detect(env, &why, err);
        if (r < 0)
            return cocoimg__error_wrap(err, r, "attester %s", (*a)->name);
        if (r > 0) {
            *why_out = why ? why : "TEE detected";
            *out = *a;
            return 0;
        }
        size_t l = strlen(why_all);
        snprintf(why_all + l, sizeof(why_all) - l, "%s%s: %s", l ? "; " : "", (*a)->name,
                 why ? why : "not detected");
    }
    if (!fallback)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, 0, "no TEE detected (%s)", why_all);
    cocoimg__log(env->ctx, COCOIMG_LOG_WARNING,
                 "no TEE detected%s%s%s: using the %s attester (no hardware evidence; tests only)",
                 *why_all ? " (" : "", why_all, *why_all ? ")" : "", fallback->name);
    *why_out = "no TEE detected";
    *out = fallback;
    return 0;
}
