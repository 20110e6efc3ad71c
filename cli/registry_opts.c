/* SPDX-License-Identifier: Apache-2.0 */
/* Registry flags shared by the commands (skopeo conventions). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define PASSWORD_ENV "COCOIMG_REGISTRY_PASSWORD"
#define STALL_ENV "COCOIMG_REGISTRY_STALL_TIMEOUT"
/* Upper bound of $COCOIMG_REGISTRY_STALL_TIMEOUT (one day). */
#define STALL_MAX 86400

/* $COCOIMG_REGISTRY_STALL_TIMEOUT: seconds (1 to STALL_MAX); unset or empty: 0 (default). */
static int
stall_timeout(unsigned int *out, const char *cmd)
{
    const char *v = getenv(STALL_ENV);
    *out = 0;
    if (!v || !*v)
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || n == 0 || n > STALL_MAX)
        return cli_usage_error(cmd, "$%s: expected seconds from 1 to %d, not '%s'", STALL_ENV,
                               STALL_MAX, v);
    *out = (unsigned int)n;
    return 0;
}

static int
parse_bool(int *out, const char *cmd, const char *flag, const char *arg)
{
    if (!arg || strcasecmp(arg, "true") == 0 || strcmp(arg, "1") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(arg, "false") == 0 || strcmp(arg, "0") == 0) {
        *out = 0;
        return 0;
    }
    return cli_usage_error(cmd, "--%s: expected true or false, not '%s'", flag, arg);
}

int
cli_registry_parse(struct cli_registry *r, const char *cmd, int c, const char *arg)
{
    static const char *const prefix[3] = {"", "src-", "dest-"};
    if (c == CLI_OPT_REGISTRIES_CONF) {
        if (!*arg)
            return cli_usage_error(cmd, "--registries-conf: empty value");
        r->registries_conf = arg;
        return 1;
    }
    if (c < CLI_OPT_CREDS || c > CLI_OPT_DEST_TLS_VERIFY)
        return 0;
    int side = (c - CLI_OPT_CREDS) / 4;
    char flag[32];
    switch ((c - CLI_OPT_CREDS) % 4) {
    case 0:
        if (!*arg)
            return cli_usage_error(cmd, "--%screds: empty value", prefix[side]);
        r->creds[side] = arg;
        break;
    case 1:
        r->authfile[side] = arg;
        break;
    case 2:
        r->cert_dir[side] = arg;
        break;
    default:
        snprintf(flag, sizeof(flag), "%stls-verify", prefix[side]);
        if (parse_bool(&r->tls_verify[side], cmd, flag, arg) != 0)
            return CLI_EXIT_USAGE;
        break;
    }
    return 1;
}

/* The value for @p side: its own flag, else the flag for every registry. */
static const char *
pick(const char *const v[3], int side)
{
    return v[side] ? v[side] : v[0];
}

static int
apply_side(const struct cli_registry *r, const char *cmd, cocoimg_context *ctx, int side)
{
    cocoimg_registry_options ro = COCOIMG_REGISTRY_OPTIONS_INIT;
    ro.authfile = pick(r->authfile, side);
    ro.cert_dir = pick(r->cert_dir, side);
    int verify = r->tls_verify[side] >= 0 ? r->tls_verify[side]
                 : r->tls_verify[0] >= 0  ? r->tls_verify[0]
                                          : 1;
    ro.insecure = !verify;
    if (stall_timeout(&ro.stall_timeout, cmd) != 0)
        return CLI_EXIT_USAGE;
    const char *creds = pick(r->creds, side);
    char *user = NULL;
    if (creds) {
        const char *colon = strchr(creds, ':');
        if (colon) {
            user = strndup(creds, (size_t)(colon - creds));
            ro.password = colon + 1;
        } else {
            user = strdup(creds);
            ro.password = cli_env_registry_password();
            if (!ro.password) {
                free(user);
                return cli_usage_error(cmd,
                                       "--%screds %s: no password (give USER:PASSWORD or set %s)",
                                       !r->creds[side] ? ""
                                       : side == 1     ? "src-"
                                                       : "dest-",
                                       creds, PASSWORD_ENV);
            }
        }
        if (!user) {
            fprintf(stderr, "coco-img: out of memory\n");
            return CLI_EXIT_FAIL;
        }
        if (!*user) {
            free(user);
            return cli_usage_error(cmd, "--creds: empty user name");
        }
        ro.username = user;
    }
    cocoimg_error *err = NULL;
    int rc = cocoimg_context_set_registry(ctx, side == 1 ? COCOIMG_SIDE_SRC : COCOIMG_SIDE_DST, &ro,
                                          &err);
    free(user);
    return rc < 0 ? cli_error(err) : CLI_EXIT_OK;
}

int
cli_registry_apply(const struct cli_registry *r, const char *cmd, cocoimg_context *ctx)
{
    int rc = apply_side(r, cmd, ctx, 1);
    if (rc == CLI_EXIT_OK)
        rc = apply_side(r, cmd, ctx, 2);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *conf = r->registries_conf;
    if (!conf) {
        conf = getenv("CONTAINERS_REGISTRIES_CONF");
        if (conf && !*conf)
            conf = NULL;
    }
    cocoimg_error *err = NULL;
    if (cocoimg_context_set_registries_conf(ctx, conf, 0, &err) < 0)
        return cli_error(err);
    return CLI_EXIT_OK;
}

void
cli_registry_usage(FILE *out, bool src_dest)
{
    fprintf(out,
            "\nRegistry options (docker:// references; they apply to every registry):\n"
            "      --creds USER[:PASS]   credentials; without :PASS the password is read from\n"
            "                            $" PASSWORD_ENV "\n"
            "      --authfile FILE       containers auth.json (default: $REGISTRY_AUTH_FILE,\n"
            "                            $XDG_RUNTIME_DIR/containers/auth.json,\n"
            "                            ~/.config/containers/auth.json, ~/.docker/config.json)\n"
            "      --cert-dir DIR        CA certificates (*.crt) and client certificate\n"
            "                            (*.cert + *.key) (default: the certs.d directories\n"
            "                            /etc/containers/certs.d/HOST[:PORT] ...)\n"
            "      --tls-verify=BOOL     false: no TLS verification, plain HTTP allowed\n"
            "                            (default true)\n"
            "      --registries-conf FILE  containers-registries.conf(5): mirrors, prefix\n"
            "                            rewrites, blocked and insecure registries, short-name\n"
            "                            aliases (default: $CONTAINERS_REGISTRIES_CONF, else\n"
            "                            ~/.config/containers/registries.conf or\n"
            "                            /etc/containers/registries.conf, plus the\n"
            "                            registries.conf.d drop-ins)\n");
    if (src_dest)
        fprintf(out,
                "      --src-creds, --src-authfile, --src-cert-dir, --src-tls-verify=BOOL\n"
                "      --dest-creds, --dest-authfile, --dest-cert-dir, --dest-tls-verify=BOOL\n"
                "                            the same for the source or the destination\n"
                "                            only (they override the options above)\n");
}
