/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "cli.h"
#include "cmd_unpack.h"

static void
usage_pull(FILE *out)
{
    fprintf(out,
            "Usage: coco-img pull [OPTIONS] docker://REF BUNDLE\n\n"
            "Pull the image REF straight from its registry into the OCI runtime bundle\n"
            "directory BUNDLE (BUNDLE/rootfs and BUNDLE/config.json): the in-guest path.\n"
            "Layers download in parallel while they are applied in order; each one is\n"
            "streamed through digest verification, decryption, decompression and the diffID\n"
            "check into the rootfs, with memory bounded whatever the layer size.  The bundle\n"
            "is built next to BUNDLE and renamed only on success: on failure nothing is\n"
            "left.  BUNDLE must not exist or be empty.  For oci: and oci-archive: images use\n"
            "'coco-img unpack'.\n\n"
            "Options:\n"
            "  -p, --platform P        from an index, pull the manifest for P (default: host)\n"
            "  -j, --jobs N            download up to N layers at once (default 3; 1..64)\n"
            "      --prefetch-max SIZE staged (prefetched) layers take at most SIZE bytes of\n"
            "                          disk (suffix K, M, G; default 1G); larger layers are\n"
            "                          streamed when their turn comes\n"
            "      --max-layer-size SIZE  fail when a layer decompresses to more than SIZE\n"
            "                          bytes (suffix K, M, G; default 64 times its blob\n"
            "                          size, at least 1G)\n"
            "      --keep-setid        not as root: keep setuid/setgid bits (dropped by default)\n"
            "  -h, --help              show this help\n");
    cli_keys_usage(out, "for encrypted layers");
    cli_registry_usage(out, false);
    cli_policy_usage(out, true);
    cli_kbs_usage(out);
}

static int
cmd_pull(int argc, char **argv)
{
    return cli_unpack_run(argc, argv, "pull", true);
}

const struct cli_command cli_cmd_pull = {
    "pull", cmd_pull, "pull an image from a registry into a runtime bundle", usage_pull};
