/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signature policy flags, shared by verify, copy, encrypt, decrypt, pull
 * and unpack: --policy, --registries.d, --insecure-policy (skopeo's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define SYSTEM_POLICY "/etc/containers/policy.json"
#define SYSTEM_REGISTRIES_D "/etc/containers/registries.d"

int
cli_policy_parse(struct cli_policy *p, const char *cmd, int c, const char *arg)
{
    switch (c) {
    case CLI_OPT_POLICY:
        if (!*arg)
            return cli_usage_error(cmd, "--policy needs a file");
        p->policy = arg;
        return 1;
    case CLI_OPT_REGISTRIES_D:
        if (!*arg)
            return cli_usage_error(cmd, "--registries.d needs a directory");
        p->registries_d = arg;
        return 1;
    case CLI_OPT_INSECURE_POLICY:
        if (!p->allow_insecure)
            return cli_usage_error(cmd, "--insecure-policy makes no sense for %s", cmd);
        p->insecure = true;
        return 1;
    default:
        return 0;
    }
}

static bool
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *
cli_policy_registries_d(const struct cli_policy *p)
{
    static char user_rd[4096];
    if (p->registries_d)
        return p->registries_d;
    const char *home = getenv("HOME");
    if (home && *home) {
        snprintf(user_rd, sizeof(user_rd), "%s/.config/containers/registries.d", home);
        if (exists(user_rd))
            return user_rd;
    }
    return SYSTEM_REGISTRIES_D;
}

int
cli_policy_apply(const struct cli_policy *p, const char *cmd, cocoimg_context *ctx)
{
    if (p->insecure) {
        if (p->policy)
            return cli_usage_error(cmd, "--policy and --insecure-policy are mutually exclusive");
        return CLI_EXIT_OK;
    }
    char user_policy[4096] = "";
    const char *home = getenv("HOME");
    if (home && *home)
        snprintf(user_policy, sizeof(user_policy), "%s/.config/containers/policy.json", home);
    const char *env = getenv("COCOIMG_POLICY");
    const char *policy = p->policy;
    if (!policy && env && *env)
        policy = env;
    if (!policy && user_policy[0] && exists(user_policy))
        policy = user_policy;
    if (!policy && exists(SYSTEM_POLICY))
        policy = SYSTEM_POLICY;
    if (!policy) {
        fprintf(stderr,
                "coco-img %s: no signature policy: tried $COCOIMG_POLICY, %s and %s (give "
                "--policy FILE, or --insecure-policy to accept any image)\n",
                cmd, user_policy[0] ? user_policy : "~/.config/containers/policy.json",
                SYSTEM_POLICY);
        return CLI_EXIT_FAIL;
    }
    const char *rd = cli_policy_registries_d(p);
    cocoimg_policy_options po = COCOIMG_POLICY_OPTIONS_INIT;
    po.policy_path = policy;
    po.registries_d = rd;
    cocoimg_error *err = NULL;
    if (cocoimg_context_set_policy(ctx, &po, &err) < 0) {
        /* a missing or invalid policy is exit 1, whatever its error code */
        cli_error(err);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

void
cli_policy_usage(FILE *out, bool insecure)
{
    fprintf(out, "\nSignature policy options:\n"
                 "  --policy FILE         containers-policy.json(5) to enforce (default:\n"
                 "                        $COCOIMG_POLICY, ~/.config/containers/policy.json,\n"
                 "                        /etc/containers/policy.json; none found is an error)\n"
                 "  --registries.d DIR    containers-registries.d(5): where signatures are\n"
                 "                        (default: ~/.config/containers/registries.d if it\n"
                 "                        exists, else /etc/containers/registries.d)\n");
    if (insecure)
        fprintf(out, "  --insecure-policy     do not check the source against any policy\n");
}
