/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void
usage_copy(FILE *out)
{
    fprintf(out, "Usage: coco-img copy [--all | --platform OS/ARCH[/VARIANT]] [REGISTRY OPTIONS]\n"
                 "                     SRC DST\n\n"
                 "Copy the image SRC to DST (oci:DIR[:REF], oci-archive:FILE[:REF],\n"
                 "docker://HOST[:PORT]/REPO[:TAG][@DIGEST]).\n"
                 "Blobs are verified against their digests while they are copied, up to 3\n"
                 "layers at once (4 with a registry); manifests are copied unchanged, so\n"
                 "digests are preserved.  On failure nothing is left at DST (a registry may\n"
                 "keep blobs, but the tag is not written).\n\n"
                 "Options:\n"
                 "  -a, --all             copy every manifest of an index and the index itself\n"
                 "  -p, --platform P      from an index, copy the manifest for P (default: host)\n"
                 "      --sign-by FPR     simple-sign what is written with the GPG secret key\n"
                 "                        FPR ($GNUPGHOME); the signature goes to the\n"
                 "                        lookaside-staging store registries.d names for DST\n"
                 "      --sign-to DIR     with --sign-by: write the signatures to DIR in\n"
                 "                        lookaside layout instead\n"
                 "      --sign-by-sigstore-private-key KEY  cosign-sign what is written with\n"
                 "                        KEY (cosign's encrypted key or a PEM private key);\n"
                 "                        the signature is added to DST's sha256-HEX.sig tag\n"
                 "      --sign-passphrase-file F  the key's passphrase (first line of F); for\n"
                 "                        a sigstore key else $COSIGN_PASSWORD, else asked on\n"
                 "                        the terminal\n"
                 "  -h, --help            show this help\n");
    cli_registry_usage(out, true);
    cli_policy_usage(out, true);
    cli_progress_usage(out, false);
}

enum { OPT_SIGN_BY = 0x2400, OPT_SIGN_PASSFILE, OPT_SIGN_SIGSTORE, OPT_SIGN_TO };

static int
cmd_copy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"platform", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {"sign-by", required_argument, NULL, OPT_SIGN_BY},
        {"sign-passphrase-file", required_argument, NULL, OPT_SIGN_PASSFILE},
        {"sign-by-sigstore-private-key", required_argument, NULL, OPT_SIGN_SIGSTORE},
        {"sign-to", required_argument, NULL, OPT_SIGN_TO},
        CLI_REGISTRY_LONGOPTS,
        CLI_REGISTRY_SD_LONGOPTS,
        CLI_POLICY_LONGOPTS,
        CLI_PROGRESS_LONGOPTS,
        {NULL, 0, NULL, 0}};
    struct cli_progress prog = {.cmd = "copy"};
    struct cli_registry reg = CLI_REGISTRY_INIT;
    struct cli_policy pol = CLI_POLICY_INIT;
    cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
    const char *passfile = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "ap:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            co.all = 1;
            break;
        case 'p':
            co.platform = optarg;
            break;
        case 'h':
            usage_copy(stdout);
            return CLI_EXIT_OK;
        case OPT_SIGN_BY:
            co.sign_by = optarg;
            break;
        case OPT_SIGN_PASSFILE:
            passfile = optarg;
            break;
        case OPT_SIGN_SIGSTORE:
            co.sign_by_sigstore_private_key = optarg;
            break;
        case OPT_SIGN_TO:
            co.sign_to = optarg;
            break;
        default: {
            int rr = cli_policy_parse(&pol, "copy", c, optarg);
            if (rr == 0)
                rr = cli_registry_parse(&reg, "copy", c, optarg);
            if (rr == 0)
                rr = cli_progress_parse(&prog, "copy", c, optarg);
            if (rr == 1)
                break;
            return rr ? rr : cli_usage_error("copy", "invalid option");
        }
        }
    }
    if (co.all && co.platform)
        return cli_usage_error("copy", "--all and --platform are mutually exclusive");
    if (argc - optind != 2)
        return cli_usage_error("copy", "expected SRC and DST");
    cocoimg_context *ctx = cli_context();
    int rc = cli_registry_apply(&reg, "copy", ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_policy_apply(&pol, "copy", ctx);
    if (rc != CLI_EXIT_OK) {
        cocoimg_context_free(ctx);
        return rc;
    }
    char *pass = NULL;
    if (passfile && !co.sign_by && !co.sign_by_sigstore_private_key) {
        cocoimg_context_free(ctx);
        return cli_usage_error("copy", "--sign-passphrase-file needs --sign-by or "
                                       "--sign-by-sigstore-private-key");
    }
    if (co.sign_to && !co.sign_by) {
        cocoimg_context_free(ctx);
        return cli_usage_error("copy", "--sign-to needs --sign-by");
    }
    bool refused = false;
    if (co.sign_by_sigstore_private_key)
        pass = cli_sigstore_passphrase("copy", passfile, false, &refused);
    else if (passfile)
        pass = cli_read_passphrase_file("copy", passfile);
    if (!pass && (passfile || (co.sign_by_sigstore_private_key && !refused))) {
        cocoimg_context_free(ctx);
        return CLI_EXIT_FAIL;
    }
    co.sign_passphrase = pass;
    co.registries_d = cli_policy_registries_d(&pol);
    cocoimg_error *err = NULL;
    cli_progress_start(&prog, ctx);
    int r = cocoimg_copy(ctx, argv[optind], argv[optind + 1], &co, &err);
    cli_progress_end(&prog);
    cli_progress_clear(&prog);
    cli_secret_free(pass);
    cocoimg_context_free(ctx);
    if (r < 0)
        return cli_error(err);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_copy = {"copy", cmd_copy, "copy an image between locations",
                                         usage_copy};
