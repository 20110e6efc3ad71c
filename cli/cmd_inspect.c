/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void
usage_inspect(FILE *out)
{
    fprintf(out,
            "Usage: coco-img inspect [--raw] [--config] [--no-tags] [--platform OS/ARCH[/VARIANT]] "
            "IMAGE\n\n"
            "Describe IMAGE (oci:DIR[:REF], oci-archive:FILE[:REF],\n"
            "docker://HOST[:PORT]/REPO[:TAG][@DIGEST]) as JSON, with the\n"
            "fields of 'skopeo inspect'.  For an index, the manifest for the platform\n"
            "(default: the host) is described.\n\n"
            "Options:\n"
            "      --raw             print the top-level manifest or index bytes unchanged\n"
            "      --config          print the image config (with --raw: its exact bytes)\n"
            "      --no-tags         registries: do not list the repository's tags (RepoTags)\n"
            "  -p, --platform P      pick this platform from an index\n"
            "      --json            the output is JSON already; errors become\n"
            "                        {\"error\":{\"code\",\"message\"}} on stderr\n"
            "  -h, --help            show this help\n");
    cli_registry_usage(out, false);
}

static int
cmd_inspect(int argc, char **argv)
{
    enum { OPT_RAW = 256, OPT_CONFIG, OPT_NO_TAGS };
    static const struct option opts[] = {{"raw", no_argument, NULL, OPT_RAW},
                                         {"config", no_argument, NULL, OPT_CONFIG},
                                         {"no-tags", no_argument, NULL, OPT_NO_TAGS},
                                         {"platform", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, CLI_OPT_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         CLI_REGISTRY_LONGOPTS,
                                         {NULL, 0, NULL, 0}};
    struct cli_registry reg = CLI_REGISTRY_INIT;
    cocoimg_inspect_options io = COCOIMG_INSPECT_OPTIONS_INIT;
    int c;
    while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_RAW:
            io.flags |= COCOIMG_INSPECT_RAW;
            break;
        case OPT_CONFIG:
            io.flags |= COCOIMG_INSPECT_CONFIG;
            break;
        case OPT_NO_TAGS:
            io.flags |= COCOIMG_INSPECT_NO_TAGS;
            break;
        case 'p':
            io.platform = optarg;
            break;
        case CLI_OPT_JSON:
            cli_json_errors = true;
            break;
        case 'h':
            usage_inspect(stdout);
            return CLI_EXIT_OK;
        default: {
            int rr = cli_registry_parse(&reg, "inspect", c, optarg);
            if (rr == 1)
                break;
            return rr ? rr : cli_usage_error("inspect", "invalid option");
        }
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("inspect", "expected one IMAGE");
    cocoimg_context *ctx = cli_context();
    int rc = cli_registry_apply(&reg, "inspect", ctx);
    if (rc != CLI_EXIT_OK) {
        cocoimg_context_free(ctx);
        return rc;
    }
    cocoimg_error *err = NULL;
    char *out = NULL;
    size_t len = 0;
    int r = cocoimg_inspect(&out, &len, ctx, argv[optind], &io, &err);
    cocoimg_context_free(ctx);
    if (r < 0)
        return cli_error(err);
    bool raw = io.flags & COCOIMG_INSPECT_RAW;
    if (fwrite(out, 1, len, stdout) != len || (!raw && putchar('\n') == EOF) || fflush(stdout))
        rc = CLI_EXIT_FAIL;
    cocoimg_free(out);
    if (rc)
        fprintf(stderr, "coco-img: inspect: write error\n");
    return rc;
}

const struct cli_command cli_cmd_inspect = {
    "inspect", cmd_inspect, "show an image's summary, manifest or config", usage_inspect};
