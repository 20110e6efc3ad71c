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
                 "Blobs are verified against their digests while they are copied; manifests\n"
                 "are copied unchanged, so digests are preserved.  On failure nothing is\n"
                 "left at DST (a registry may keep blobs, but the tag is not written).\n\n"
                 "Options:\n"
                 "  -a, --all             copy every manifest of an index and the index itself\n"
                 "  -p, --platform P      from an index, copy the manifest for P (default: host)\n"
                 "  -h, --help            show this help\n");
    cli_registry_usage(out, true);
    cli_policy_usage(out, true);
}

static int
cmd_copy(int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_LONGOPTS,
                                         CLI_REGISTRY_SD_LONGOPTS,
                                         CLI_POLICY_LONGOPTS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry reg = CLI_REGISTRY_INIT;
    struct cli_policy pol = CLI_POLICY_INIT;
    cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
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
        default: {
            int rr = cli_policy_parse(&pol, "copy", c, optarg);
            if (rr == 0)
                rr = cli_registry_parse(&reg, "copy", c, optarg);
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
    cocoimg_error *err = NULL;
    int r = cocoimg_copy(ctx, argv[optind], argv[optind + 1], &co, &err);
    cocoimg_context_free(ctx);
    if (r < 0)
        return cli_error(err);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_copy = {"copy", cmd_copy, "copy an image between locations",
                                         usage_copy};
