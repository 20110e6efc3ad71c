/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KBS key release flags for pull, unpack and decrypt (and the native
 * attestation-agent wrapper for encrypt).
 */
#include <stdio.h>
#include <string.h>

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

int
cli_kbs_apply(struct cli_kbs *k, const char *cmd, cocoimg_context *ctx, cocoimg_crypt_options *o,
              bool encrypt)
{
    if (encrypt) {
        if (k->any)
            return cli_usage_error(cmd, "the KBS options are for pull, unpack and decrypt; "
                                        "encrypt wraps with keypath=KEK-FILE");
        bool aa = false;
        for (size_t i = 0; i < o->n_recipients; i++)
            if (strncmp(o->recipients[i], "provider:attestation-agent", 26) == 0)
                aa = true;
        if (aa) {
            cocoimg_kbs_keyprovider_init(&k->kp, NULL);
            o->keyprovider = &k->kp;
        }
        return CLI_EXIT_OK;
    }
    if (!k->any)
        return CLI_EXIT_OK;
    if (!k->o.url)
        return cli_usage_error(cmd, "the KBS options need --kbs-url");
    cocoimg_error *err = NULL;
    if (cocoimg_kbs_new(&k->kbs, ctx, &k->o, &err) < 0)
        return cli_error(err);
    cocoimg_kbs_keyprovider_init(&k->kp, k->kbs);
    o->keyprovider = &k->kp;
    return CLI_EXIT_OK;
}

void
cli_kbs_clear(struct cli_kbs *k)
{
    cocoimg_kbs_free(k->kbs);
    k->kbs = NULL;
}

void
cli_kbs_usage(FILE *out)
{
    fprintf(out,
            "\nKey release options (layers wrapped for provider attestation-agent):\n"
            "  --kbs-url URL          attest to this Key Broker Service and fetch each layer's\n"
            "                         key-encryption key from it (one attestation per run)\n"
            "  --kbs-cert FILE        PEM CA certificate of the KBS (the only one trusted)\n"
            "  --attester NAME        auto (default: detect the TEE, else sample with a\n"
            "                         warning) or sample (no TEE, tests only)\n"
            "  --kbs-protocol-version V  protocol version to speak (default 0.4.0)\n"
            "  --kbs-insecure-http    allow an http:// KBS URL (tests only)\n"
            "  --init-data FILE       init-data TOML sent with the attestation\n");
}
