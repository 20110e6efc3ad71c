/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void
usage_verify(FILE *out)
{
    fprintf(out, "Usage: coco-img verify [--platform OS/ARCH[/VARIANT]] [--policy FILE]\n"
                 "                       [--registries.d DIR] [REGISTRY OPTIONS] REF\n\n"
                 "Check the image REF against the signature policy (containers-policy.json(5)),\n"
                 "fetching only its manifests and signatures, never a config or layer blob.\n"
                 "For an index, the image for --platform (default: the host) is checked, with\n"
                 "its own signatures (and, for sigstoreSigned, those on the index digest).\n"
                 "pull, unpack, copy, encrypt and decrypt run the same check before they\n"
                 "fetch anything else.\n\n"
                 "Signatures: simple signing (signedBy, GPG) from the registries.d lookaside,\n"
                 "or the registry's X-Registry-Supports-Signatures API when it has one;\n"
                 "cosign (sigstoreSigned) from the .sig tag and Sigstore bundles (OCI 1.1\n"
                 "referrers or the sha256-HEX referrers tag) when registries.d sets\n"
                 "use-sigstore-attachments: key-based, keyless (fulcio: the certificate\n"
                 "chains to the policy's Fulcio CA at the Rekor SET's integrated time, OIDC\n"
                 "issuer and email match, the SET verifies with rekorPublicKey*) and pki\n"
                 "(X.509 roots, email/hostname, at the current time); all offline.\n\n"
                 "Exit status: 0 the policy accepts REF; 3 it does not (the message says which\n"
                 "requirement refused it and why each signature failed); 1 the policy is\n"
                 "missing or invalid, or fetching failed; 4 REF does not exist.\n\n"
                 "Options:\n"
                 "  -p, --platform P      from an index, check the manifest for P (default: host)\n"
                 "      --json            print {\"reference\", \"accepted\", \"manifest\",\n"
                 "                        \"policy\"} on stdout; errors as {\"error\":{...}}\n"
                 "  -h, --help            show this help\n");
    cli_registry_usage(out, false);
    cli_policy_usage(out, false);
}

static int
cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"platform", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_LONGOPTS,
                                         CLI_POLICY_LONGOPTS,
                                         {"json", no_argument, NULL, CLI_OPT_JSON},
                                         {NULL, 0, NULL, 0}};
    struct cli_progress prog = {.cmd = "verify", .json_ok = true, .mode = CLI_PROGRESS_NONE};
    struct cli_registry reg = CLI_REGISTRY_INIT;
    struct cli_policy pol = CLI_POLICY_INIT;
    pol.allow_insecure = false;
    const char *platform = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            platform = optarg;
            break;
        case 'h':
            usage_verify(stdout);
            return CLI_EXIT_OK;
        default: {
            int rr = cli_policy_parse(&pol, "verify", c, optarg);
            if (rr == 0)
                rr = cli_registry_parse(&reg, "verify", c, optarg);
            if (rr == 0)
                rr = cli_progress_parse(&prog, "verify", c, optarg);
            if (rr == 1)
                break;
            return rr ? rr : cli_usage_error("verify", "invalid option");
        }
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("verify", "expected REF");
    cocoimg_context *ctx = cli_context();
    int rc = cli_registry_apply(&reg, "verify", ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_policy_apply(&pol, "verify", ctx);
    if (rc != CLI_EXIT_OK) {
        cocoimg_context_free(ctx);
        return rc;
    }
    cocoimg_error *err = NULL;
    cli_progress_start(&prog, ctx);
    int r = cocoimg_verify(ctx, argv[optind], platform, &err);
    cli_progress_end(&prog);
    cocoimg_context_free(ctx);
    if (r < 0) {
        cli_progress_clear(&prog);
        return cli_error(err);
    }
    if (prog.json) {
        json_t *j = json_pack("{s:s, s:b, s:s?, s:s?}", "reference", argv[optind], "accepted", 1,
                              "manifest", prog.manifest, "policy", prog.policy);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (s)
            printf("%s\n", s);
        free(s);
        cli_progress_clear(&prog);
        return s ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    cli_progress_clear(&prog);
    printf("%s: accepted by the policy\n", argv[optind]);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_verify = {
    "verify", cmd_verify, "check an image against the signature policy", usage_verify};
