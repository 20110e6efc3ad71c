/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KBS key release flags for pull, unpack and decrypt (and the native
 * attestation-agent wrapper for encrypt).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void
cli_kbs_init(struct cli_kbs *k)
{
    memset(k, 0, sizeof(*k));
    cocoimg_kbs_options_init(&k->o, COCOIMG_KBS_OPTIONS_VERSION);
}

int
cli_kbs_parse(struct cli_kbs *k, const char *cmd, int c, const char *arg)
{
    (void)cmd;
    switch (c) {
    case CLI_OPT_KBS_URL:
        k->o.url = arg;
        break;
    case CLI_OPT_KBS_CERT:
        k->o.ca_file = arg;
        break;
    case CLI_OPT_KBS_ATTESTER:
        k->o.attester = arg;
        break;
    case CLI_OPT_KBS_PROTOCOL:
        k->o.protocol_version = arg;
        break;
    case CLI_OPT_KBS_INSECURE_HTTP:
        k->o.insecure_http = 1;
        break;
    case CLI_OPT_KBS_INIT_DATA:
        k->o.init_data_file = arg;
        break;
    default:
        return 0;
    }
    k->any = true;
    return 1;
}

#define AA "attestation-agent"

/* the NAME of a provider:NAME[:PARAMS] --key value (after "provider:") */
static size_t
name_len(const char *dparam)
{
    const char *colon = strchr(dparam, ':');
    return colon ? (size_t)(colon - dparam) : strlen(dparam);
}

int
cli_kbs_apply(struct cli_kbs *k, const char *cmd, cocoimg_context *ctx, cocoimg_crypt_options *o,
              bool encrypt)
{
    if (encrypt && k->any)
        return cli_usage_error(cmd, "the KBS options are for pull, unpack and decrypt; "
                                    "encrypt wraps with keypath=KEK-FILE");
    /* --key provider:NAME[:PARAMS]: parameters for provider NAME, not key files */
    size_t n_files = 0;
    for (size_t i = 0; i < o->n_keys && i < CLI_KEYS_MAX; i++) {
        if (strncmp(o->keys[i], "provider:", 9) == 0)
            k->dparams[k->n_dparams++] = o->keys[i] + 9;
        else
            k->file_keys[n_files++] = o->keys[i];
    }
    if (k->n_dparams) {
        o->keys = k->file_keys;
        o->n_keys = n_files;
    }
    bool aa_recipient = false;
    for (size_t i = 0; encrypt && i < o->n_recipients; i++)
        if (strncmp(o->recipients[i], "provider:" AA, 9 + strlen(AA)) == 0 &&
            (o->recipients[i][9 + strlen(AA)] == '\0' || o->recipients[i][9 + strlen(AA)] == ':'))
            aa_recipient = true;
    const char *config = getenv("OCICRYPT_KEYPROVIDER_CONFIG");
    if (config && !*config)
        config = NULL;
    if (config && access(config, F_OK) != 0) {
        /* as ocicrypt: a configuration that is not there names no providers */
        fprintf(stderr,
                "coco-img %s: warning: OCICRYPT_KEYPROVIDER_CONFIG=%s: %s (no key "
                "providers from it)\n",
                cmd, config, strerror(errno));
        config = NULL;
    }
    bool native = encrypt ? aa_recipient : k->any;
    if (!config && !native && !k->n_dparams)
        return CLI_EXIT_OK;
    cocoimg_error *err = NULL;
    if (!encrypt && k->any) {
        if (!k->o.url)
            return cli_usage_error(cmd, "the KBS options need --kbs-url");
        if (cocoimg_kbs_new(&k->kbs, ctx, &k->o, &err) < 0)
            return cli_error(err);
        cli_kbs_attester_line(k->kbs, &k->o);
        /* --policy kbs:///..., --authfile kbs:///..., kbs:// keys in the policy */
        if (cocoimg_context_set_kbs(ctx, k->kbs, &err) < 0)
            return cli_error(err);
    }
    cocoimg_kbs_keyprovider_init(&k->native, k->kbs);
    cocoimg_kp_client_options co;
    cocoimg_kp_client_options_init(&co, COCOIMG_KP_CLIENT_OPTIONS_VERSION);
    co.config_file = config;
    co.decrypt_params = k->dparams;
    co.n_decrypt_params = k->n_dparams;
    if (native) {
        co.native = &k->native;
        co.native_name = AA;
        co.native_overrides = !encrypt; /* --kbs-url was asked for */
    }
    if (cocoimg_kp_client_new(&k->client, &co, &err) < 0)
        return cli_error(err);
    for (size_t i = 0; i < k->n_dparams; i++) {
        char name[128];
        size_t n = name_len(k->dparams[i]);
        snprintf(name, sizeof(name), "%.*s", (int)(n < 100 ? n : 100), k->dparams[i]);
        if (!cocoimg_kp_client_has(k->client, name)) {
            char msg[256];
            snprintf(msg, sizeof(msg), "--key provider:%s: no such key provider (%s)", name,
                     strcmp(name, AA) == 0 ? "give --kbs-url, or name it in "
                                             "OCICRYPT_KEYPROVIDER_CONFIG"
                                           : "name it in OCICRYPT_KEYPROVIDER_CONFIG");
            return cli_usage_error(cmd, "%s", msg);
        }
    }
    cocoimg_kp_client_keyprovider(&k->kp, k->client);
    o->keyprovider = &k->kp;
    return CLI_EXIT_OK;
}

void
cli_kbs_clear(struct cli_kbs *k)
{
    cocoimg_kp_client_free(k->client);
    k->client = NULL;
    cocoimg_kbs_free(k->kbs);
    k->kbs = NULL;
}

void
cli_kbs_attester_line(const cocoimg_kbs *kbs, const cocoimg_kbs_options *o)
{
    const char *name = cocoimg_kbs_attester_name(kbs);
    /* asked for by name: nothing to explain; the sample fallback warns itself */
    if ((o->attester && strcmp(o->attester, "auto") != 0) || !name || strcmp(name, "sample") == 0)
        return;
    fprintf(stderr, "coco-img: attester %s: %s\n", name, cocoimg_kbs_attester_reason(kbs));
}

void
cli_kbs_usage(FILE *out)
{
    fprintf(out,
            "\nKey release options (layers wrapped for provider attestation-agent):\n"
            "  --kbs-url URL          attest to this Key Broker Service and fetch each layer's\n"
            "                         key-encryption key from it (one attestation per run);\n"
            "                         --policy, --authfile and the key paths of the policy\n"
            "                         may then be KBS resources: kbs:///REPO/TYPE/TAG\n"
            "  --kbs-cert FILE        PEM CA certificate of the KBS (the only one trusted)\n"
            "  --attester NAME        auto (default: detect TDX, then SNP, else sample with\n"
            "                         a warning), tdx, snp (configfs-tsm; SNP also\n"
            "                         /dev/sev-guest) or sample (no TEE, tests only)\n"
            "  --kbs-protocol-version V  protocol version to speak (default 0.4.0)\n"
            "  --kbs-insecure-http    allow an http:// KBS URL (tests only)\n"
            "  --init-data FILE       init-data TOML sent with every attestation; its digest\n"
            "                         must be the TEE's MRCONFIGID (TDX) or HOST_DATA (SNP)\n");
}
