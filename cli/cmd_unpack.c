/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
usage_unpack(FILE *out)
{
    fprintf(out,
            "Usage: coco-img unpack [OPTIONS] SRC BUNDLE\n\n"
            "Unpack the image SRC into the OCI runtime bundle directory BUNDLE: BUNDLE/rootfs\n"
            "and BUNDLE/config.json (like 'umoci unpack').  Every blob is verified against\n"
            "its digest and every layer against its diffID; encrypted layers are decrypted\n"
            "with the given keys.  The bundle is built next to BUNDLE and renamed only on\n"
            "success: on failure nothing is left.  BUNDLE must not exist or be empty.\n\n"
            "Options:\n"
            "  -p, --platform P        from an index, unpack the manifest for P (default: host)\n"
            "      --key FILE[:PASS]   private key for encrypted layers (repeatable)\n"
            "      --dec-recipient R   PKCS7 recipient certificate for decryption (repeatable)\n"
            "      --gpg-homedir DIR   GnuPG home for OpenPGP-wrapped keys\n"
            "  -h, --help              show this help\n");
}

static int
cmd_unpack(int argc, char **argv)
{
    enum { OPT_KEY = 256, OPT_DEC_RCPT, OPT_GPG_HOME };
    static const struct option opts[] = {{"platform", required_argument, NULL, 'p'},
                                         {"key", required_argument, NULL, OPT_KEY},
                                         {"dec-recipient", required_argument, NULL, OPT_DEC_RCPT},
                                         {"gpg-homedir", required_argument, NULL, OPT_GPG_HOME},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
    /* crypt.h's INIT leaves fields implicit (-Wmissing-field-initializers) */
    cocoimg_crypt_options co;
    memset(&co, 0, sizeof(co));
    co.version = COCOIMG_CRYPT_OPTIONS_VERSION;
    /* at most one value per argument */
    const char **keys = calloc((size_t)argc, sizeof(*keys));
    const char **rcpts = calloc((size_t)argc, sizeof(*rcpts));
    int rc = CLI_EXIT_OK;
    if (!keys || !rcpts) {
        fprintf(stderr, "coco-img: out of memory\n");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    int c;
    while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            uo.platform = optarg;
            break;
        case OPT_KEY:
            keys[co.n_keys++] = optarg;
            break;
        case OPT_DEC_RCPT:
            rcpts[co.n_dec_recipients++] = optarg;
            break;
        case OPT_GPG_HOME:
            co.gpg_homedir = optarg;
            co.use_gpg_keys = 1;
            break;
        case 'h':
            usage_unpack(stdout);
            goto out;
        default:
            rc = cli_usage_error("unpack", "invalid option");
            goto out;
        }
    }
    if (argc - optind != 2) {
        rc = cli_usage_error("unpack", "expected SRC and BUNDLE");
        goto out;
    }
    co.keys = keys;
    co.dec_recipients = rcpts;
    co.platform = uo.platform;
    uo.crypt = &co;
    cocoimg_context *ctx = cli_context();
    cocoimg_error *err = NULL;
    int r = cocoimg_unpack(ctx, argv[optind], argv[optind + 1], &uo, &err);
    cocoimg_context_free(ctx);
    if (r < 0)
        rc = cli_error(err);
out:
    free(keys);
    free(rcpts);
    return rc;
}

const struct cli_command cli_cmd_unpack = {"unpack", cmd_unpack,
                                           "unpack an image into a runtime bundle", usage_unpack};
